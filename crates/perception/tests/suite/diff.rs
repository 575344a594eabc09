//! Frame diff on real captures: a typed word changes a few small rectangles on its line; an idle
//! desktop is reported unchanged.

use std::time::{Duration, Instant};

use deskhand_core::ports::{Accessibility, Screen, TreeQuery, TreeScope};
use deskhand_core::{Frame, NodeState, Rect};
use deskhand_perception::capture::main_frame;
use deskhand_perception::diff::{diff_frames, FrameDiff, FrameSignature, DEFAULT_TILE};
use deskhand_perception::XcapScreen;
use deskhand_testkit::{wait_for_tree, DesktopOptions, VirtualDesktop};

fn capture() -> Frame {
    let frames = XcapScreen::new().capture_all().unwrap();
    main_frame(&frames).unwrap().clone()
}

#[test]
fn typing_a_word_changes_small_rectangles_on_the_caret_line() {
    let s = deskhand_testkit::start_mousepad().unwrap();
    let query = TreeQuery::new(TreeScope::App("mousepad".into()));
    let text = |t: &deskhand_core::LayoutTree| {
        t.walk()
            .into_iter()
            .map(|(_, n)| n)
            .find(|n| n.role == "text" && n.has(NodeState::Editable))
            .cloned()
    };
    let area = text(&s.reader.tree(&query).unwrap())
        .unwrap()
        .bounds
        .unwrap();
    // Focus the text area, then wait for its caret.
    let c = area.center();
    s.desktop
        .run(
            "xdotool",
            &[
                "mousemove",
                &(c.x as i32).to_string(),
                &(c.y as i32).to_string(),
                "click",
                "1",
            ],
        )
        .unwrap();
    wait_for_tree(&s.reader, "mousepad", Duration::from_secs(10), |t| {
        text(t).is_some_and(|n| n.has(NodeState::Focused))
    })
    .unwrap();
    let before = capture();
    s.desktop
        .run("xdotool", &["type", "--delay", "20", "walrus"])
        .unwrap();
    wait_for_tree(&s.reader, "mousepad", Duration::from_secs(10), |t| {
        text(t).is_some_and(|n| n.text.as_deref() == Some("walrus"))
    })
    .unwrap();
    // The text is in the buffer; wait (bounded) until the word is painted too: its line's
    // tiles differ from the first capture.
    let line = Rect::new(area.x, area.y, 120, 24);
    let started = Instant::now();
    let change = loop {
        let change = diff_frames(&before, &capture(), DEFAULT_TILE);
        if change.touches(&line) || started.elapsed() > Duration::from_secs(10) {
            break change;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let screen = before.monitor.bounds.area();
    println!(
        "typed 'walrus': {} of {} tiles changed, {} px of {screen}; rects {:?}",
        change.changed_tiles,
        change.total_tiles,
        change.changed_area(),
        change.rects
    );
    assert!(!change.unchanged && !change.everything);
    assert!(
        change.touches(&line),
        "the caret line {line:?} did not change"
    );
    // Small: the word, the caret, the title's '*' and the toolbar/state bits - far less than
    // a tenth of the screen.
    assert!(change.changed_area() * 10 < screen, "{:?}", change.rects);
    // Disjoint rectangles inside the screen.
    for (i, a) in change.rects.iter().enumerate() {
        assert_eq!(a.intersection(&before.monitor.bounds), Some(*a));
        for b in &change.rects[i + 1..] {
            assert!(a.intersection(b).is_none(), "{a:?} overlaps {b:?}");
        }
    }
}

#[test]
fn an_idle_desktop_is_unchanged_and_a_resize_is_everything() {
    let mut d = VirtualDesktop::start(DesktopOptions {
        accessibility: false,
        ..Default::default()
    })
    .unwrap();
    d.export_env();
    // xterm's cursor does not blink, so nothing moves once it is painted.
    let app = d
        .launch(&["xterm", "-T", "idle", "-geometry", "60x10+40+40"])
        .unwrap();
    d.wait_window(Some(&app), "^idle$", Duration::from_secs(15))
        .unwrap();
    let mut differ = FrameDiff::new(DEFAULT_TILE);
    assert!(
        differ.update(&capture()).everything,
        "the first frame is all new"
    );
    // Wait (bounded) for the window to finish painting: one unchanged step.
    let started = Instant::now();
    while !differ.update(&capture()).unchanged {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the idle desktop kept changing"
        );
    }
    for _ in 0..3 {
        let c = differ.update(&capture());
        assert!(
            c.unchanged && c.rects.is_empty() && c.changed_tiles == 0,
            "{c:?}"
        );
    }
    // A frame of another size cannot be compared: everything changed.
    let frame = capture();
    let small = frame.crop_desktop(Rect::new(0, 0, 640, 400)).unwrap();
    let sig = FrameSignature::of(&small, DEFAULT_TILE);
    let c = deskhand_perception::diff::diff(differ.last().unwrap(), &sig);
    assert!(c.everything && !c.unchanged);
}
