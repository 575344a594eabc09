//! Capture on a real X server.

use std::time::Duration;

use deskhand_core::ports::Screen;
use deskhand_perception::capture::{encode_png, main_frame};
use deskhand_perception::XcapScreen;
use deskhand_xsession::{DesktopOptions, VirtualDesktop};

#[test]
fn captures_the_virtual_monitor_with_a_window_on_it() {
    let mut d = VirtualDesktop::start(DesktopOptions {
        accessibility: false,
        ..Default::default()
    })
    .unwrap();
    d.export_env();
    // A solid red xterm so the frame has known content at a known place.
    let app = d
        .launch(&[
            "xterm",
            "-T",
            "red",
            "-bg",
            "red",
            "-geometry",
            "40x10+100+100",
        ])
        .unwrap();
    d.wait_window(Some(&app), "^red$", Duration::from_secs(10))
        .unwrap();
    let screen = XcapScreen::new();
    let monitors = screen.monitors().unwrap();
    assert_eq!(monitors.len(), 1);
    assert_eq!(
        (monitors[0].bounds.width, monitors[0].bounds.height),
        (1280, 800)
    );
    // The window may take a moment to paint after it maps.
    let mut red = false;
    for _ in 0..50 {
        let frames = screen.capture_all().unwrap();
        let f = main_frame(&frames).unwrap();
        assert_eq!((f.width, f.height), (1280, 800));
        let p = f.pixel(150, 150).unwrap();
        if p[0] > 200 && p[1] < 50 && p[2] < 50 {
            red = true;
            let png = encode_png(f).unwrap();
            assert_eq!(&png[1..4], b"PNG");
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(red, "the red xterm never showed in the capture");
}

#[test]
fn no_display_is_a_clear_error() {
    std::env::set_var("DISPLAY", ":9999");
    let err = XcapScreen::new().capture_all().unwrap_err();
    assert!(!err.message.is_empty());
    std::env::remove_var("DISPLAY");
    let err = XcapScreen::new().monitors().unwrap_err();
    assert!(err.message.contains("DISPLAY"), "{err}");
}
