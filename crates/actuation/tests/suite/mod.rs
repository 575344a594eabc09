mod apps;
mod clipboard;
mod policy;
mod safety;
mod secrets;
