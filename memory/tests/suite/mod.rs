mod experience;
mod kill;
mod profile;
pub(crate) mod records;
pub(crate) mod user;
