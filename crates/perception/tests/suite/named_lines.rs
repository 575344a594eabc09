//! Text lines accessibility already names are found but not read, and the fused tree is the
//! same as when every line is read.

use std::collections::{BTreeMap, BTreeSet};
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

    // A word typed in the editor and the galculator's keypad redrawn: only the changed
    // areas are found and read again, with the same outcome as reading every line.
    let changed = {
        let mut f = fx.frame.clone();
        let w = f.width as usize;
        let copy = |f: &mut deskhand_core::Frame,
                    (sx, sy): (usize, usize),
                    (dx, dy): (usize, usize),
                    size: (usize, usize)| {
            for y in 0..size.1 {
                for x in 0..size.0 {
                    let src = ((sy + y) * w + sx + x) * 4;
                    let dst = ((dy + y) * w + dx + x) * 4;
                    let px: [u8; 4] = [
                        f.rgba[src],
                        f.rgba[src + 1],
                        f.rgba[src + 2],
                        f.rgba[src + 3],
                    ];
                    f.rgba[dst..dst + 4].copy_from_slice(&px);
                }
            }
        };
        copy(&mut f, (44, 114), (44, 168), (72, 18));
        // One pixel row darkened across the keypad: its lines are found again.
        for x in 1210..1520usize {
            let i = (300 * w + x) * 4;
            f.rgba[i] = f.rgba[i].saturating_sub(1);
        }
        f
    };
    let frames2 = std::slice::from_ref(&changed);
    let all2 = every.perceive_frames(frames2, &fx.windows, Some(fx.tree.clone()));
    let some2 = named.perceive_frames(frames2, &fx.windows, Some(fx.tree.clone()));
    assert!(!some2.unchanged && !some2.changed.is_empty());
    assert!(some2.text_lines_named > 0);
    // An unread box may hold nothing readable (every perceiver drops such a line).
    assert!(some2.text_lines + some2.text_lines_named >= all2.text_lines);
    let every2: Vec<_> = every.text_lines().iter().map(key).collect();
    assert!(named.text_lines().iter().all(|l| every2.contains(&key(l))));
    assert_eq!(names(&some2.tree), names(&all2.tree));

    // Accessibility gone, same pixels: the lines left unread are read now, not taken for
    // empty screen.
    let vision = named.perceive_frames(frames2, &fx.windows, None);
    assert_eq!(vision.text_lines_named, 0);
    assert!(vision.text_lines_read > 0 && vision.text_lines_read <= some2.text_lines_named);
    let now: BTreeSet<_> = named.text_lines().iter().map(key).collect();
    let want: BTreeSet<_> = every2.into_iter().collect();
    assert_eq!(
        now.symmetric_difference(&want).collect::<Vec<_>>(),
        Vec::<&(i32, i32, u32, u32, String)>::new(),
        "lines read once accessibility is gone differ from reading every line"
    );
}
