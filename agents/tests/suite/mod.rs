mod fakes;
mod loops;
mod steward;
