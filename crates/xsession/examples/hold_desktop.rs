//! Starts a virtual desktop with an xterm, prints "ready <display> <runtime dir>", and holds
//! it until killed: the process the watchdog test kills to see the session torn down.
#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::io::Write;

use deskhand_xsession::{DesktopOptions, VirtualDesktop};

fn main() {
    let mut d = VirtualDesktop::start(DesktopOptions::default()).unwrap();
    let app = d.launch(&["xterm", "-T", "held"]).unwrap();
    d.wait_window(Some(&app), "^held$", std::time::Duration::from_secs(20))
        .unwrap();
    println!("ready {} {}", d.display(), d.runtime_dir().display());
    std::io::stdout().flush().unwrap();
    loop {
        std::thread::park();
    }
}
