//! Set-of-Marks, compact text and lens images on a real capture of mousepad with its real
//! accessibility tree.

use std::path::PathBuf;
use std::time::Duration;

use deskhand_core::ports::Screen;
use deskhand_core::{Frame, LayoutTree, Point, Rect};
use deskhand_perception::capture::{encode_png, main_frame};
use deskhand_perception::render::{
    compact_text, desktop_rect_to_image, estimate_tokens, lens_global, lens_local, set_of_marks,
    Mark, MarkOptions, LENS_BOX_COLOR, POINT_COLOR,
};
use deskhand_perception::XcapScreen;
use deskhand_testkit::{find, start_mousepad, wait_for_tree};

/// Where the images go, so a person can look at them after the run.
fn out_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("deskhand-render-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn save(dir: &std::path::Path, name: &str, frame: &Frame) {
    let path = dir.join(name);
    std::fs::write(&path, encode_png(frame).unwrap()).unwrap();
    println!("wrote {}", path.display());
}

fn on_outline(r: Rect, line: u32, x: u32, y: u32) -> bool {
    let p = Point::new(f64::from(x), f64::from(y));
    let t = line.min(r.width).min(r.height) as i32;
    let inner = Rect::new(
        r.x + t,
        r.y + t,
        r.width.saturating_sub(2 * t as u32),
        r.height.saturating_sub(2 * t as u32),
    );
    r.contains(p) && !inner.contains(p)
}

/// The colour the image must have at a pixel: the last label or outline drawn over it.
fn expected_at(marks: &[Mark], line: u32, x: u32, y: u32) -> Option<[u8; 4]> {
    let p = Point::new(f64::from(x), f64::from(y));
    if marks.iter().any(|m| m.label.contains(p)) {
        return None; // label text: ink or fill, not checked per pixel
    }
    marks
        .iter()
        .rev()
        .find(|m| on_outline(m.rect, line, x, y))
        .map(|m| m.color)
}

fn capture() -> Frame {
    let frames = XcapScreen::new().capture_all().unwrap();
    main_frame(&frames).unwrap().clone()
}

fn mousepad_tree(session: &deskhand_testkit::AppSession) -> LayoutTree {
    wait_for_tree(&session.reader, "mousepad", Duration::from_secs(20), |t| {
        find(t, "menu", "File").is_some()
    })
    .unwrap()
}

#[test]
fn set_of_marks_on_mousepad_marks_every_interactive_node_and_nothing_else() {
    let session = start_mousepad().unwrap();
    let tree = mousepad_tree(&session);
    let frame = capture();
    let opts = MarkOptions::default();
    let marked = set_of_marks(&frame, &tree, &opts).unwrap();
    let image = &marked.image;
    assert_eq!((image.width, image.height), (frame.width, frame.height));

    // One mark per interactive, on-screen node that shows on this monitor, in tree order.
    let expected: Vec<_> = tree
        .walk()
        .into_iter()
        .map(|(_, n)| n)
        .filter(|n| n.is_interactive() && n.is_on_screen())
        .filter(|n| desktop_rect_to_image(n.bounds.unwrap(), &frame).is_some())
        .filter(|n| deskhand_core::visible::visible_point(&tree, &n.id).is_ok())
        .map(|n| n.id.clone())
        .collect();
    let ids: Vec<_> = marked.marks.iter().map(|m| m.id.clone()).collect();
    assert_eq!(ids, expected);
    assert!(ids.len() >= 5, "mousepad shows its menus at least: {ids:?}");
    let file = find(&tree, "menu", "File").unwrap();
    let file_mark = marked.marks.iter().find(|m| m.id == file.id).unwrap();
    assert_eq!(
        file_mark.rect,
        file.bounds.unwrap(),
        "scale 1, monitor at 0,0"
    );

    // Pixels changed exactly along the outlines and inside the labels; outline pixels have
    // their mark's colour (or a later mark's, drawn over it).
    let mut checked = 0;
    let mut centres_unchanged = 0;
    for y in 0..frame.height {
        for x in 0..frame.width {
            let before = frame.pixel(x, y).unwrap();
            let after = image.pixel(x, y).unwrap();
            let p = Point::new(f64::from(x), f64::from(y));
            let in_label = marked.marks.iter().any(|m| m.label.contains(p));
            match expected_at(&marked.marks, opts.line_width, x, y) {
                Some(color) => {
                    assert_eq!(after, color, "outline pixel ({x},{y})");
                    checked += 1;
                }
                None if !in_label => assert_eq!(after, before, "untouched pixel ({x},{y})"),
                None => {}
            }
        }
    }
    for m in &marked.marks {
        let c = m.rect.center();
        let (x, y) = (c.x as u32, c.y as u32);
        if expected_at(&marked.marks, opts.line_width, x, y).is_none()
            && !marked
                .marks
                .iter()
                .any(|o| o.label.contains(Point::new(c.x.floor(), c.y.floor())))
        {
            assert_eq!(image.pixel(x, y), frame.pixel(x, y), "centre of {}", m.id);
            centres_unchanged += 1;
        }
        assert!(
            Rect::new(0, 0, image.width, image.height).contains_rect(&m.label),
            "label of {} runs off the image: {:?}",
            m.id,
            m.label
        );
    }
    assert!(
        checked > 100 && centres_unchanged > 0,
        "{checked} {centres_unchanged}"
    );

    // Shrunk for a model: same marks, and a mark's centre maps back into its node's box.
    let small = set_of_marks(
        &frame,
        &tree,
        &MarkOptions {
            max_side: Some(800),
            ..opts.clone()
        },
    )
    .unwrap();
    assert_eq!(small.image.width.max(small.image.height), 800);
    assert_eq!(small.marks.len(), marked.marks.len());
    for m in &small.marks {
        if m.rect.width >= 4
            && m.rect.height >= 4
            && m.rect == desktop_rect_to_image(m.bounds, &small.image).unwrap()
        {
            let back = small.to_desktop(m.rect.center()).unwrap();
            let grown = Rect::new(
                m.bounds.x - 1,
                m.bounds.y - 1,
                m.bounds.width + 2,
                m.bounds.height + 2,
            );
            assert!(grown.contains(back), "{} {:?} -> {back:?}", m.id, m.bounds);
        }
    }

    let dir = out_dir();
    save(&dir, "mousepad_frame.png", &frame);
    save(&dir, "mousepad_som.png", image);
    save(&dir, "mousepad_som_800.png", &small.image);
    let text = compact_text(&tree, 400, None);
    std::fs::write(dir.join("mousepad_compact.txt"), &text).unwrap();
    assert!(estimate_tokens(&text) <= 400);
    assert!(
        text.contains(&format!("{} menu \"File\"", file.id)),
        "{text}"
    );
}

#[test]
fn lenses_on_mousepad_show_the_menu_bar_and_the_file_menu() {
    let session = start_mousepad().unwrap();
    let tree = mousepad_tree(&session);
    let frame = capture();
    let file = find(&tree, "menu", "File").unwrap();
    let local = file.bounds.unwrap();
    let bar = tree
        .walk()
        .into_iter()
        .map(|(_, n)| n)
        .find(|n| n.role == "menu bar" && n.is_on_screen())
        .expect("mousepad has a menu bar");
    let global = bar.bounds.unwrap();
    let point = local.center();

    let lens1 = lens_local(&frame, global, local, point).unwrap();
    assert_eq!(
        (lens1.image.width, lens1.image.height),
        (global.width, global.height)
    );
    assert_eq!(lens1.region, global);
    let (px, py) = lens1.point.unwrap();
    assert_eq!(
        (px as i64, py as i64),
        (
            point.x as i64 - i64::from(global.x),
            point.y as i64 - i64::from(global.y)
        )
    );
    assert_eq!(lens1.image.pixel(px, py), Some(POINT_COLOR));
    // The File menu's bottom-right corner lies on its outline.
    let corner = (
        (local.right() - i64::from(global.x) - 1) as u32,
        (local.bottom() - i64::from(global.y) - 1) as u32,
    );
    assert_eq!(lens1.image.pixel(corner.0, corner.1), Some(LENS_BOX_COLOR));

    let lens2 = lens_global(&frame, global, point).unwrap();
    assert_eq!(
        (lens2.image.width, lens2.image.height),
        (frame.width, frame.height)
    );
    let (qx, qy) = lens2.point.unwrap();
    assert_eq!((qx, qy), (point.x as u32, point.y as u32));
    assert_eq!(lens2.image.pixel(qx, qy), Some(POINT_COLOR));
    let far = ((global.right() - 1) as u32, (global.bottom() - 1) as u32);
    assert_eq!(lens2.image.pixel(far.0, far.1), Some(LENS_BOX_COLOR));
    // Away from the box and the marker, the screen is untouched.
    let away = (frame.width / 2, frame.height - 5);
    assert_eq!(
        lens2.image.pixel(away.0, away.1),
        frame.pixel(away.0, away.1)
    );

    let dir = out_dir();
    save(&dir, "mousepad_lens1.png", &lens1.image);
    save(&dir, "mousepad_lens2.png", &lens2.image);
}

#[test]
fn three_app_desktop_gets_one_readable_label_per_control() {
    let deskhand_testkit::Fixture { frame, tree, .. } =
        deskhand_testkit::fixture("desktop_3apps").unwrap();
    let marked = set_of_marks(&frame, &tree, &MarkOptions::default()).unwrap();
    let calc_keys = marked
        .marks
        .iter()
        .filter(|m| tree.get(&m.id).is_some_and(|n| n.role == "toggle button"))
        .count();
    assert!(calc_keys >= 20, "galculator's keys are marked: {calc_keys}");
    let image = Rect::new(0, 0, frame.width, frame.height);
    let mut overlapping = 0;
    for (i, m) in marked.marks.iter().enumerate() {
        assert!(image.contains_rect(&m.label), "{}", m.id);
        if marked.marks[..i]
            .iter()
            .any(|o| o.label.intersection(&m.label).is_some())
        {
            overlapping += 1;
        }
    }
    // Dense keypads leave little room; most labels still stand apart.
    assert!(
        overlapping * 10 <= marked.marks.len(),
        "{overlapping} of {} labels overlap another",
        marked.marks.len()
    );
    let dir = out_dir();
    save(&dir, "three_apps_som.png", &marked.image);
    let text = compact_text(&tree, 600, None);
    std::fs::write(dir.join("three_apps_compact.txt"), &text).unwrap();
    assert!(estimate_tokens(&text) <= 600);
}

#[test]
fn open_menu_items_are_marked_and_what_they_cover_is_not() {
    let deskhand_testkit::Fixture { frame, tree, .. } =
        deskhand_testkit::fixture("mousepad_file_menu").unwrap();
    let marked = set_of_marks(&frame, &tree, &MarkOptions::default()).unwrap();
    let marked_ids: Vec<_> = marked.marks.iter().map(|m| &m.id).collect();
    let items: Vec<_> = tree
        .walk()
        .into_iter()
        .map(|(_, n)| n)
        .filter(|n| n.role == "menu item" && n.is_on_screen())
        .collect();
    assert!(items.len() >= 8, "the File menu is open: {}", items.len());
    for item in &items {
        assert!(
            marked_ids.contains(&&item.id),
            "{} is marked",
            item.describe()
        );
    }
    // Everything marked can be reached; nothing reachable is left out.
    let all = set_of_marks(
        &frame,
        &tree,
        &MarkOptions {
            only_visible: false,
            ..Default::default()
        },
    )
    .unwrap();
    for m in &all.marks {
        let reachable = deskhand_core::visible::visible_point(&tree, &m.id).is_ok();
        assert_eq!(marked_ids.contains(&&m.id), reachable, "{}", m.id);
    }
    save(&out_dir(), "file_menu_som.png", &marked.image);
}
