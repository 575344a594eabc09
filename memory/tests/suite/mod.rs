mod experience;
mod kill;
mod user;
pub(crate) mod records;
