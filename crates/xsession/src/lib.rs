//! Private X11 desktops: Xvfb on a display number the X server picks itself (so parallel
//! sessions never collide), a session D-Bus, the AT-SPI bus, openbox and optionally xcompmgr.
//! Everything started here is stopped by process group id when the [`VirtualDesktop`] drops,
//! also when a test panics.
#![deny(clippy::print_stdout, clippy::print_stderr)]

mod desktop;
mod process;

pub use desktop::{AppHandle, DesktopOptions, VirtualDesktop};
pub use process::SessionError;
