//! Brings real desktops up and down.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::print_stderr
)]

use std::time::{Duration, Instant};

use deskhand_xsession::{DesktopOptions, VirtualDesktop};

#[test]
fn two_desktops_get_distinct_displays_and_run_real_apps_and_tear_down() {
    let started = Instant::now();
    let mut a = VirtualDesktop::start(DesktopOptions::default()).unwrap();
    let b = VirtualDesktop::start(DesktopOptions {
        compositor: true,
        ..Default::default()
    })
    .unwrap();
    assert_ne!(a.display(), b.display());
    assert!(started.elapsed() < Duration::from_secs(10));
    // The server answers with the size we asked for.
    let info = a.run("xdpyinfo", &[]).unwrap();
    assert!(info.contains("1280x800 pixels"), "{info}");
    // The AT-SPI bus is up on the session bus.
    assert!(a.bus_address().unwrap().starts_with("unix:path="));

    let app = a.launch(&["xterm", "-T", "probe-term"]).unwrap();
    let id = a
        .wait_window(Some(&app), "^probe-term$", Duration::from_secs(10))
        .unwrap();
    assert!(id > 0);
    let pid = app.pid;
    let socket_dir = a.runtime_dir().to_path_buf();
    drop(a);
    // Every process we started is gone, and so is the runtime directory.
    assert!(!std::path::Path::new(&format!("/proc/{pid}")).exists());
    assert!(!socket_dir.exists());
    drop(b);
}

#[test]
fn an_app_that_never_shows_its_window_is_a_timeout_not_a_hang() {
    let mut d = VirtualDesktop::start(DesktopOptions {
        accessibility: false,
        ..Default::default()
    })
    .unwrap();
    let app = d.launch(&["sleep", "30"]).unwrap();
    let t = Instant::now();
    let err = d
        .wait_window(Some(&app), "^never$", Duration::from_millis(500))
        .unwrap_err();
    assert!(err.to_string().contains("timed out"), "{err}");
    assert!(t.elapsed() < Duration::from_secs(3));
    // An app that exits at once is reported as exited, with its status.
    let gone = d.launch(&["false"]).unwrap();
    let err = d
        .wait_window(Some(&gone), "^never$", Duration::from_secs(5))
        .unwrap_err();
    assert!(err.to_string().contains("exited early"), "{err}");
    let err = d.launch(&["no-such-program-xyz"]).unwrap_err();
    assert!(err.to_string().contains("./x setup"), "{err}");
}

#[test]
fn a_panicking_test_still_tears_its_desktop_down() {
    let pids = std::sync::Mutex::new(Vec::new());
    let result = std::panic::catch_unwind(|| {
        let mut d = VirtualDesktop::start(DesktopOptions::default()).unwrap();
        d.launch(&["xterm"]).unwrap();
        *pids.lock().unwrap() = d.pids();
        panic!("test failure while the desktop is up");
    });
    assert!(result.is_err());
    let pids = pids.into_inner().unwrap();
    assert!(pids.len() >= 4, "{pids:?}"); // Xvfb, dbus-daemon, openbox, xterm
    for pid in pids {
        assert!(
            !std::path::Path::new(&format!("/proc/{pid}")).exists(),
            "pid {pid} survived"
        );
    }
}
