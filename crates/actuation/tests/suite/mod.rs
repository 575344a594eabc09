mod apps;
mod clipboard;
mod policy;
mod repeat_probe;
mod safety;
mod secrets;
