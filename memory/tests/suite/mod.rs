mod experience;
mod kill;
pub(crate) mod records;
mod user;
