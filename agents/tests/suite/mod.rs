mod fakes;
mod loops;
