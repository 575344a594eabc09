//! The window list against a real X server, window manager and applications, checked against
//! what xwininfo and xprop say.

use std::time::{Duration, Instant};

use deskhand_core::geometry::Rect;
use deskhand_core::ports::Screen;
use deskhand_perception::{WindowInfo, WindowLister, XcapScreen};
use deskhand_xsession::{AppHandle, VirtualDesktop};

/// Polls the window list until `ready` holds; panics with the last list otherwise.
fn wait_list(
    lister: &WindowLister,
    what: &str,
    ready: impl Fn(&[WindowInfo]) -> bool,
) -> Vec<WindowInfo> {
    let started = Instant::now();
    let mut last = Vec::new();
    while started.elapsed() < Duration::from_secs(15) {
        last = lister.list().unwrap();
        if ready(&last) {
            return last;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("{what} never happened; windows: {last:#?}");
}

fn by_pid(windows: &[WindowInfo], app: &AppHandle) -> WindowInfo {
    let found: Vec<_> = windows.iter().filter(|w| w.pid == Some(app.pid)).collect();
    assert_eq!(
        found.len(),
        1,
        "one window of pid {}: {windows:#?}",
        app.pid
    );
    found[0].clone()
}

/// The client area as xwininfo reports it.
fn xwininfo(d: &VirtualDesktop, id: u32) -> Rect {
    let out = d.run("xwininfo", &["-id", &id.to_string()]).unwrap();
    let field = |name: &str| -> i64 {
        out.lines()
            .find_map(|l| l.trim().strip_prefix(name))
            .unwrap_or_else(|| panic!("no {name} in {out}"))
            .trim()
            .parse()
            .unwrap()
    };
    Rect::new(
        field("Absolute upper-left X:") as i32,
        field("Absolute upper-left Y:") as i32,
        field("Width:") as u32,
        field("Height:") as u32,
    )
}

/// `_NET_FRAME_EXTENTS` (left, right, top, bottom) as xprop reports it.
fn frame_extents(d: &VirtualDesktop, id: u32) -> [i32; 4] {
    let out = d
        .run("xprop", &["-id", &id.to_string(), "_NET_FRAME_EXTENTS"])
        .unwrap();
    let values: Vec<i32> = out
        .split('=')
        .nth(1)
        .unwrap_or_else(|| panic!("no extents: {out}"))
        .split(',')
        .map(|v| v.trim().parse().unwrap())
        .collect();
    values.try_into().unwrap()
}

#[test]
fn mousepad_and_xterm_are_listed_with_titles_apps_pids_bounds_and_focus() {
    let mut d = VirtualDesktop::start(Default::default()).unwrap();
    d.export_env();
    let mousepad = d.launch(&["mousepad"]).unwrap();
    d.wait_window(Some(&mousepad), "Mousepad", Duration::from_secs(20))
        .unwrap();
    let xterm = d
        .launch(&["xterm", "-T", "listed xterm", "-geometry", "60x15+400+300"])
        .unwrap();
    d.wait_window(Some(&xterm), "^listed xterm$", Duration::from_secs(15))
        .unwrap();

    let lister = WindowLister::connect().unwrap();
    let windows = wait_list(&lister, "both windows listed", |ws| {
        ws.iter().any(|w| w.pid == Some(mousepad.pid))
            && ws.iter().any(|w| w.pid == Some(xterm.pid))
    });
    let m = by_pid(&windows, &mousepad);
    let x = by_pid(&windows, &xterm);
    assert!(m.title.ends_with("- Mousepad"), "{m:?}");
    assert_eq!(
        (m.app.as_str(), m.instance.as_str()),
        ("Mousepad", "mousepad")
    );
    assert_eq!(x.title, "listed xterm");
    assert_eq!((x.app.as_str(), x.instance.as_str()), ("XTerm", "xterm"));
    // The titles are the ones the window manager shows.
    let wm_titles: Vec<String> = d.windows().unwrap().into_iter().map(|(_, t)| t).collect();
    assert!(
        wm_titles.contains(&m.title) && wm_titles.contains(&x.title),
        "{wm_titles:?}"
    );

    // Bounds: the client area is what xwininfo says; the outer bounds add the frame the
    // window manager drew (openbox: a title bar on top).
    let monitors = XcapScreen::new().monitors().unwrap();
    for w in [&m, &x] {
        assert_eq!(w.client_bounds, xwininfo(&d, w.id), "{w:?}");
        let [left, right, top, bottom] = frame_extents(&d, w.id);
        assert!(top > 0, "openbox draws a title bar: {w:?}");
        let c = w.client_bounds;
        assert_eq!(
            w.bounds,
            Rect::new(
                c.x - left,
                c.y - top,
                c.width + (left + right) as u32,
                c.height + (top + bottom) as u32
            )
        );
        assert_eq!(w.monitor, Some(0));
        assert_eq!(monitors[0].index, 0);
        assert!(!w.minimized);
    }
    // xterm asked for +400+300: that is where the window manager put its frame.
    assert_eq!((x.bounds.x, x.bounds.y), (400, 300));

    // Stacking order: the xterm opened last is on top, mousepad below it.
    let pos = |pid| windows.iter().position(|w| w.pid == Some(pid)).unwrap();
    assert!(pos(mousepad.pid) < pos(xterm.pid));

    // Focus follows `wmctrl -a`, in both directions, and only one window has it.
    for (target, other) in [(&m, &x), (&x, &m)] {
        d.run("wmctrl", &["-i", "-a", &format!("0x{:x}", target.id)])
            .unwrap();
        let now = wait_list(&lister, "the focus moving", |ws| {
            ws.iter().any(|w| w.id == target.id && w.focused)
        });
        assert_eq!(now.iter().filter(|w| w.focused).count(), 1);
        assert!(!now.iter().any(|w| w.id == other.id && w.focused));
        // The activated window is raised to the top.
        assert_eq!(now.last().map(|w| w.id), Some(target.id), "{now:#?}");
    }

    // Minimising is reported.
    d.run("xdotool", &["windowminimize", &x.id.to_string()])
        .unwrap();
    wait_list(&lister, "the xterm minimised", |ws| {
        ws.iter().any(|w| w.id == x.id && w.minimized)
    });
}

#[test]
fn a_closed_window_disappears_and_reads_as_gone() {
    let mut d = VirtualDesktop::start(Default::default()).unwrap();
    d.export_env();
    let keep = d
        .launch(&["xterm", "-T", "stays", "-geometry", "40x10+10+10"])
        .unwrap();
    let goes = d
        .launch(&["xterm", "-T", "goes", "-geometry", "40x10+500+10"])
        .unwrap();
    d.wait_window(Some(&keep), "^stays$", Duration::from_secs(15))
        .unwrap();
    d.wait_window(Some(&goes), "^goes$", Duration::from_secs(15))
        .unwrap();
    let lister = WindowLister::connect().unwrap();
    let before = wait_list(&lister, "both xterms listed", |ws| ws.len() == 2);
    let gone = by_pid(&before, &goes);
    assert_eq!(lister.window(gone.id).unwrap().as_ref(), Some(&gone));

    d.stop_app(&goes);
    let after = wait_list(&lister, "the closed xterm gone", |ws| {
        !ws.iter().any(|w| w.id == gone.id)
    });
    assert_eq!(after.len(), 1);
    assert_eq!(after[0].title, "stays");
    // Reading the dead window is not an error: it is simply not there.
    assert_eq!(lister.window(gone.id).unwrap(), None);
}

#[test]
fn no_display_is_unavailable() {
    std::env::remove_var("DISPLAY");
    let err = WindowLister::connect().unwrap_err();
    assert_eq!(err.kind, deskhand_core::error::PortErrorKind::Unavailable);
    assert!(err.message.contains("DISPLAY"), "{err}");
    std::env::set_var("DISPLAY", ":9998");
    let err = deskhand_perception::list_windows().unwrap_err();
    assert_eq!(err.kind, deskhand_core::error::PortErrorKind::Unavailable);
}
