mod experience;
mod kill;
mod profile;
pub(crate) mod records;
mod steward;
pub(crate) mod user;
