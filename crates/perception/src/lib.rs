//! Deskhand's eyes: capture of every monitor and the AT-SPI accessibility reader, both behind
//! the ports of `deskhand-core`.
#![deny(clippy::print_stdout, clippy::print_stderr)]

pub mod accessibility;
pub mod capture;
pub mod desktop;
pub use deskhand_core::diff;
pub mod fusion;
pub mod perceiver;
pub mod render;
pub mod segment;
pub mod tol;
pub mod windows;

pub use accessibility::AtspiReader;
pub use capture::XcapScreen;
pub use desktop::DesktopPerceptor;
pub use windows::{list_windows, WindowInfo, WindowLister};
