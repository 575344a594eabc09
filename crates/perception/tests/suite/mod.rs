mod accessibility;
mod capture;
mod windows;
mod render;
mod perceiver;
mod diff;
mod segment;
