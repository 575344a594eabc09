mod apps;
mod clipboard;
mod policy;
mod safety;
mod secrets;
mod repeat_probe;
