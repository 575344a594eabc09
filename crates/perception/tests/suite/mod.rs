mod accessibility;
mod capture;
mod windows;
mod accessibility_extras;
mod render;
mod perceiver;
mod diff;
mod segment;
