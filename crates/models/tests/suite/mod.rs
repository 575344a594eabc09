mod anthropic;
mod common;
mod openai;
mod routing;
mod settings;
