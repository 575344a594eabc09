//! Deskhand's hands: injects [`deskhand_core::InputEvent`]s on X11 through enigo's XTest
//! backend. Click delay is zero; callers wait for the screen to settle instead of sleeping.
#![deny(clippy::print_stdout, clippy::print_stderr)]

pub mod apps;
pub mod clipboard;
mod enigo_input;
pub mod policy;
pub mod safety;
pub mod secrets;
mod x11;

pub use enigo_input::EnigoInput;
