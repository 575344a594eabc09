//! Text lines accessibility already names are found but not read, and the fused tree is the
//! same as when every line is read.

use std::collections::BTreeMap;
use std::sync::Arc;

use deskhand_core::ports::{Ocr, TextLine};
use deskhand_core::{LayoutNode, LayoutTree, NodeSource, Rect};
use deskhand_perception::perceiver::{Perceiver, PerceiverOptions};
use deskhand_testkit::fixture;

fn engine() -> Arc<dyn Ocr> {
    let paths =
        deskhand_inference::ModelPaths::from_cache_dir(deskhand_inference::default_cache_dir());
    Arc::new(
        deskhand_inference::OcrEngine::new(&paths, deskhand_inference::OcrOptions::default())
            .unwrap(),
    )
}

/// (role, name) of every node some source other than OCR alone describes, with counts.
fn names(tree: &LayoutTree) -> BTreeMap<(String, String), usize> {
    let mut out = BTreeMap::new();
    for (_, n) in tree.walk() {
        if n.source != NodeSource::Ocr {
            *out.entry((n.role.clone(), n.name.clone())).or_insert(0) += 1;
        }
    }
    out
}

/// A named, on-screen accessible node of the tree that holds `line` (4 px slack).
fn named_holder<'t>(tree: &'t LayoutTree, line: &Rect) -> Option<&'t LayoutNode> {
    tree.walk().into_iter().map(|(_, n)| n).find(|n| {
        n.source == NodeSource::Accessibility
            && n.is_on_screen()
            && !n.name.trim().is_empty()
            && n.bounds.is_some_and(|b| {
                Rect::new(b.x - 4, b.y - 4, b.width + 8, b.height + 8).intersection(line)
                    == Some(*line)
            })
    })
}

fn key(l: &TextLine) -> (i32, i32, u32, u32, String) {
    let b = l.bounds;
    (b.x, b.y, b.width, b.height, l.text.clone())
}

#[test]
fn lines_named_by_accessibility_are_not_read_and_the_fused_tree_is_unchanged() {
    let fx = fixture("desktop_3apps").unwrap();
    let ocr = engine();
    let frames = std::slice::from_ref(&fx.frame);

    // Everything read (skipping needs `accessibility`), the same tree fused.
    let mut every = Perceiver::new(
        PerceiverOptions {
            accessibility: false,
            ..PerceiverOptions::default()
        },
        Some(ocr.clone()),
    );
    let all = every.perceive_frames(frames, &fx.windows, Some(fx.tree.clone()));
    assert_eq!(all.text_lines_named, 0);

    let mut named = Perceiver::new(PerceiverOptions::default(), Some(ocr.clone()));
    let some = named.perceive_frames(frames, &fx.windows, Some(fx.tree.clone()));
    assert!(
        some.text_lines_named >= 20,
        "only {} of {} lines left unread",
        some.text_lines_named,
        all.text_lines
    );
    assert_eq!(some.text_lines + some.text_lines_named, all.text_lines);

    let read: Vec<_> = named.text_lines().iter().map(key).collect();
    let skipped: Vec<TextLine> = every
        .text_lines()
        .into_iter()
        .filter(|l| !read.contains(&key(l)))
        .collect();
    assert_eq!(skipped.len(), some.text_lines_named);
    eprintln!(
        "{} of {} lines left unread: {:?}",
        skipped.len(),
        all.text_lines,
        skipped.iter().map(|l| l.text.as_str()).collect::<Vec<_>>()
    );
    // Every line left unread lies in a named accessible node on screen, and what was read
    // is what the other perceiver read too.
    for l in &skipped {
        assert!(
            named_holder(&fx.tree, &l.bounds).is_some(),
            "{:?} at {:?} skipped outside a named node",
            l.text,
            l.bounds
        );
    }
    let every_keys: Vec<_> = every.text_lines().iter().map(key).collect();
    assert!(read.iter().all(|k| every_keys.contains(k)));
    // A line in the xterm (no accessibility) is read.
    let xterm = fx.windows.iter().find(|w| w.app == "XTerm").unwrap();
    assert!(named
        .text_lines()
        .iter()
        .any(|l| xterm.bounds.contains(l.bounds.center())));
    assert!(skipped
        .iter()
        .all(|l| !xterm.bounds.contains(l.bounds.center())));

    // The fused trees name the same things.
    assert_eq!(names(&some.tree), names(&all.tree));

    // Accessibility gone, same pixels: the lines left unread are read now, not taken for
    // empty screen.
    let vision = named.perceive_frames(frames, &fx.windows, None);
    assert_eq!(vision.text_lines_named, 0);
    assert_eq!(vision.text_lines_read, skipped.len());
    let mut now: Vec<_> = named.text_lines().iter().map(key).collect();
    let mut want = every_keys.clone();
    now.sort();
    want.sort();
    assert_eq!(now, want);
}
