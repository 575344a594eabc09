mod memory;
mod task;
mod webdriver;
