mod task;
mod webdriver;
