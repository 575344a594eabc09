//! Change-driven perception and fusion on the committed real screenshots, and on a live
//! desktop with mousepad and an xterm.

use std::time::Duration;

use deskhand_core::ports::{Accessibility, TreeQuery, TreeScope};
use deskhand_core::{LayoutTree, NodeSource, Point, Rect};
use deskhand_perception::perceiver::{window_boxes, Perceiver, PerceiverOptions};
use deskhand_perception::tol::{read_at, target_path};
use deskhand_perception::{list_windows, AtspiReader, XcapScreen};
use deskhand_testkit::{fixture, start_mousepad, wait_for_tree};

fn no_ocr() -> PerceiverOptions {
    PerceiverOptions {
        ocr: false,
        ..PerceiverOptions::default()
    }
}

fn window<'t>(tree: &'t LayoutTree, title: &str) -> &'t deskhand_core::LayoutNode {
    tree.root
        .children
        .iter()
        .find(|w| w.name == title)
        .unwrap_or_else(|| panic!("no window {title:?} in {:?}", tree.root.children))
}

#[test]
fn fused_tree_has_every_window_with_accessibility_merged_and_vision_for_the_xterm() {
    let fx = fixture("desktop_3apps").unwrap();
    let mut perceiver = Perceiver::new(no_ocr(), None);
    let p = perceiver.perceive_frames(
        std::slice::from_ref(&fx.frame),
        &fx.windows,
        Some(fx.tree.clone()),
    );
    assert!(!p.unchanged);
    let titles: Vec<&str> = p
        .tree
        .root
        .children
        .iter()
        .map(|w| w.name.as_str())
        .collect();
    assert_eq!(
        titles,
        ["terminal", "galculator", "*Untitled 1 - Mousepad"],
        "front first"
    );
    let mousepad = window(&p.tree, "*Untitled 1 - Mousepad");
    assert!(mousepad.sources().contains(&NodeSource::Accessibility));
    let file = p.tree.find_unique("File", Some("menu")).unwrap_err();
    // galculator and mousepad both have a File menu: grounding must say so, not guess.
    assert!(file.to_string().contains("ambiguous"), "{file}");
    let xterm = window(&p.tree, "terminal");
    let vision: Vec<_> = xterm
        .children
        .iter()
        .flat_map(|c| std::iter::once(c).chain(c.children.iter()))
        .filter(|n| n.source == NodeSource::Segmentation)
        .collect();
    assert!(
        !vision.is_empty(),
        "the xterm has no accessibility: segmentation fills it"
    );
    // The xterm's second text row ("warning: unused variable count") lies in a control.
    let row = Point::new(1100.0, 689.0);
    let path = target_path(&p.tree, row);
    assert_eq!(path.window.as_ref(), Some(&xterm.id));
    let local = p.tree.get(path.local.as_ref().unwrap()).unwrap();
    assert_eq!(local.source, NodeSource::Segmentation, "{local:?}");
    // Every id is unique.
    let ids: Vec<_> = p.tree.walk().iter().map(|(_, n)| n.id.clone()).collect();
    let unique: std::collections::HashSet<_> = ids.iter().collect();
    assert_eq!(ids.len(), unique.len());
}

#[test]
fn an_unchanged_frame_is_reported_and_a_small_change_keeps_other_ids() {
    let fx = fixture("desktop_3apps").unwrap();
    let mut perceiver = Perceiver::new(no_ocr(), None);
    let first = perceiver.perceive_frames(
        std::slice::from_ref(&fx.frame),
        &fx.windows,
        Some(fx.tree.clone()),
    );
    let again = perceiver.perceive_frames(
        std::slice::from_ref(&fx.frame),
        &fx.windows,
        Some(fx.tree.clone()),
    );
    assert!(again.unchanged);
    assert_eq!(again.tree, first.tree);
    assert!(again.changed.is_empty());

    // Paint a "word" into the xterm's empty area: only that area changes.
    let mut frame = fx.frame.clone();
    for y in 760..776u32 {
        for x in 1080..1160u32 {
            let i = ((y * frame.width + x) * 4) as usize;
            frame.rgba[i..i + 3].copy_from_slice(&[0, 0, 0]);
        }
    }
    let after = perceiver.perceive_frames(
        std::slice::from_ref(&frame),
        &fx.windows,
        Some(fx.tree.clone()),
    );
    assert!(!after.unchanged);
    let area: u64 = after.changed.iter().map(Rect::area).sum();
    assert!(
        area > 0 && area < 64 * 64 * 4,
        "changed {:?}",
        after.changed
    );
    assert!(after
        .changed
        .iter()
        .all(|r| r.intersection(&Rect::new(1080, 760, 80, 16)).is_some()));
    let painted = target_path(&after.tree, Point::new(1120.0, 768.0));
    let node = after.tree.get(painted.local.as_ref().unwrap()).unwrap();
    assert_eq!(
        node.source,
        NodeSource::Segmentation,
        "the new blob is a control: {node:?}"
    );
    // Accessible nodes away from the change keep their ids.
    for name in ["Edit", "Search", "View"] {
        let before = first.tree.find_unique(name, None);
        let now = after.tree.find_unique(name, None);
        if let (Ok(b), Ok(n)) = (before, now) {
            assert_eq!(b.id, n.id, "{name}");
        }
    }
    let search = after.tree.find_unique("Search", Some("menu")).unwrap();
    assert_eq!(
        search.id,
        first.tree.find_unique("Search", Some("menu")).unwrap().id
    );
}

#[test]
fn vision_only_perception_still_gives_windows_panels_and_controls() {
    let fx = fixture("desktop_3apps").unwrap();
    let mut perceiver = Perceiver::new(no_ocr(), None);
    let p = perceiver.perceive_frames(std::slice::from_ref(&fx.frame), &fx.windows, None);
    assert_eq!(p.tree.root.children.len(), 3);
    for w in &p.tree.root.children {
        assert!(
            w.children
                .iter()
                .any(|c| c.role == "panel" || c.role == "control"),
            "{} has no regions",
            w.name
        );
    }
    // galculator's "7" key is covered by a control.
    let seven = fx.tree.find_unique("7", None).unwrap().bounds.unwrap();
    let path = target_path(&p.tree, seven.center());
    let local = p.tree.get(path.local.as_ref().unwrap()).unwrap();
    let b = local.bounds.unwrap();
    assert!(b.iou(&seven) > 0.4, "control {b:?} vs key {seven:?}");
}

#[test]
fn empty_and_tiny_frames_do_not_panic() {
    let fx = fixture("galculator").unwrap();
    let mut tiny = fx.frame.clone();
    tiny.width = 1;
    tiny.height = 1;
    tiny.monitor.bounds = Rect::new(0, 0, 1, 1);
    tiny.rgba = vec![0, 0, 0, 255];
    let mut perceiver = Perceiver::new(no_ocr(), None);
    let p = perceiver.perceive_frames(std::slice::from_ref(&tiny), &[], None);
    assert!(p.tree.root.children.iter().all(|w| w.children.is_empty()));
    let p = perceiver.perceive_frames(&[], &[], None);
    assert!(p.tree.root.children.is_empty());
}

#[test]
fn live_desktop_perception_reads_mousepad_and_points_at_its_menu() {
    let session = start_mousepad().unwrap();
    session.desktop.export_env();
    wait_for_tree(&session.reader, "mousepad", Duration::from_secs(20), |t| {
        deskhand_testkit::find(t, "menu", "File").is_some()
    })
    .unwrap();
    let reader = AtspiReader::connect().unwrap();
    let mut perceiver = Perceiver::new(
        PerceiverOptions {
            tree_query: TreeQuery::new(TreeScope::App("mousepad".into())),
            ..no_ocr()
        },
        None,
    );
    let windows = || list_windows().map(|w| window_boxes(&w));
    let (p, frames) = perceiver
        .perceive(
            &XcapScreen::new(),
            &windows,
            Some(&reader as &dyn Accessibility),
        )
        .unwrap();
    assert_eq!(frames.len(), 1);
    assert!(
        p.notes.iter().all(|n| !n.contains("accessibility")),
        "{:?}",
        p.notes
    );
    let file = p.tree.find_unique("File", Some("menu")).unwrap();
    let reading = read_at(&p.tree, file.bounds.unwrap().center());
    assert!(
        reading.description.starts_with("menu \"File\""),
        "{}",
        reading.description
    );
    assert!(
        reading.description.contains("Mousepad"),
        "{}",
        reading.description
    );
    assert!(
        reading.description.contains("menu bar"),
        "{}",
        reading.description
    );
    // Nothing moved: the second call is cheap and unchanged, but for the caret blinking in
    // the focused text view (one tile of it, seen under load in CI).
    let (again, _) = perceiver
        .perceive(
            &XcapScreen::new(),
            &windows,
            Some(&reader as &dyn Accessibility),
        )
        .unwrap();
    let caret_area = p.tree.focused_editable().and_then(|n| n.bounds);
    let only_the_caret = again.changed.iter().all(|r| {
        r.width <= 64 && r.height <= 64 && caret_area.is_some_and(|t| t.intersection(r).is_some())
    });
    assert!(
        again.unchanged || only_the_caret,
        "changed: {:?} (text view at {caret_area:?})",
        again.changed
    );
}

/// OCR exact-match of the fixtures' UI strings (AT-SPI ground truth: menus, menu items,
/// buttons, labels) through vision-only perception: the detected lines plus the lone
/// glyphs read in small controls. A truth string counts when a text line whose centre lies
/// in its box (3 px slack) reads exactly it.
///
/// Target (issue 3): >= 0.95. The OCR engine alone reads 0.911 (112/123): the detector
/// does not see galculator's "." and "-" keys at all; perception reads them as lone
/// glyphs.
#[test]
fn fixture_ui_strings_are_read_back_exactly_by_vision_perception() {
    #[derive(serde::Deserialize)]
    struct Truth {
        name: String,
        bounds: Rect,
    }
    let paths =
        deskhand_inference::ModelPaths::from_cache_dir(deskhand_inference::default_cache_dir());
    let engine = deskhand_inference::OcrEngine::new(
        &paths,
        deskhand_inference::OcrOptions {
            latin_only: true,
            ..deskhand_inference::OcrOptions::default()
        },
    )
    .unwrap();
    let ocr: std::sync::Arc<dyn deskhand_core::ports::Ocr> = std::sync::Arc::new(engine);
    let (mut total, mut exact) = (0usize, 0usize);
    let mut misses = Vec::new();
    for name in ["desktop_3apps", "mousepad_file_menu", "galculator"] {
        let fx = fixture(name).unwrap();
        let mut perceiver = Perceiver::new(PerceiverOptions::default(), Some(ocr.clone()));
        perceiver.perceive_frames(std::slice::from_ref(&fx.frame), &fx.windows, None);
        let lines = perceiver.text_lines();
        let text = std::fs::read_to_string(
            deskhand_testkit::fixtures_dir().join(format!("{name}.lines.json")),
        )
        .unwrap();
        let truth: Vec<Truth> = serde_json::from_str(&text).unwrap();
        for t in truth {
            let b = t.bounds;
            let slack = Rect::new(b.x - 3, b.y - 3, b.width + 6, b.height + 6);
            let read: Vec<&str> = lines
                .iter()
                .filter(|l| slack.contains(l.bounds.center()))
                .map(|l| l.text.as_str())
                .collect();
            total += 1;
            if read.contains(&t.name.as_str()) {
                exact += 1;
            } else {
                misses.push(format!("{name}: {:?} read {read:?}", t.name));
            }
        }
    }
    let rate = exact as f64 / total as f64;
    let report = format!(
        "vision perception exact-match {rate:.3} ({exact}/{total}); misses:\n{}",
        misses.join("\n")
    );
    eprintln!("{report}");
    assert!(rate >= 0.95, "{report}");
}
