mod webdriver;
