mod experience;
mod kill;
