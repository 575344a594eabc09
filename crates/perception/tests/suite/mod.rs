mod accessibility;
mod accessibility_extras;
mod capture;
mod diff;
mod perceiver;
mod render;
mod segment;
mod windows;
