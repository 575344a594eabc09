mod accessibility;
mod capture;
mod windows;
