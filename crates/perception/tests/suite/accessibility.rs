//! The AT-SPI reader against real GTK applications in a private desktop.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed test should panic

use std::time::{Duration, Instant};

use deskhand_core::error::PortErrorKind;
use deskhand_core::geometry::Rect;
use deskhand_core::layout::{LayoutNode, LayoutTree, NodeSource, NodeState};
use deskhand_core::ports::{Accessibility, TreeQuery, TreeScope};
use deskhand_perception::AtspiReader;
use deskhand_xsession::VirtualDesktop;

/// A desktop with the app running and its window mapped; the environment points at it.
fn desktop_with(argv: &[&str], title: &str) -> VirtualDesktop {
    let mut d = VirtualDesktop::start(Default::default()).unwrap();
    d.export_env();
    let app = d.launch(argv).unwrap();
    d.wait_window(Some(&app), title, Duration::from_secs(15))
        .unwrap();
    d
}

/// Polls until the app's tree satisfies `ready` (apps register on the bus after they map).
fn wait_tree(reader: &AtspiReader, app: &str, ready: impl Fn(&LayoutTree) -> bool) -> LayoutTree {
    let started = Instant::now();
    let mut last = String::new();
    while started.elapsed() < Duration::from_secs(20) {
        match reader.tree(&TreeQuery::new(TreeScope::App(app.into()))) {
            Ok(tree) if ready(&tree) => return tree,
            Ok(tree) => last = format!("{} nodes, not ready yet", tree.len()),
            Err(e) => last = e.to_string(),
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("the tree of {app} never became ready: {last}");
}

fn find<'a>(tree: &'a LayoutTree, role: &str, name: &str) -> Vec<&'a LayoutNode> {
    tree.walk()
        .into_iter()
        .map(|(_, n)| n)
        .filter(|n| n.role == role && n.name == name)
        .collect()
}

fn inside_screen(b: Rect) -> bool {
    !b.is_empty() && b.x >= 0 && b.y >= 0 && b.right() <= 1280 && b.bottom() <= 800
}

fn has_file_menu(tree: &LayoutTree) -> bool {
    !find(tree, "menu", "File").is_empty()
}

#[test]
fn mousepad_tree_has_its_menus_and_an_editable_text_on_screen() {
    let _d = desktop_with(&["mousepad"], "Mousepad");
    let reader = AtspiReader::connect().unwrap();
    let tree = wait_tree(&reader, "mousepad", has_file_menu);

    assert_eq!(tree.root.role, "screen");
    assert_eq!(tree.root.source, NodeSource::Display);
    let window = &tree.root.children[0];
    assert_eq!(window.role, "frame");
    assert!(window.name.contains("Mousepad"), "{}", window.name);
    assert!(
        window.bounds.is_some_and(inside_screen),
        "{:?}",
        window.bounds
    );

    let file = find(&tree, "menu", "File")[0];
    let b = file.bounds.unwrap();
    assert!(inside_screen(b), "{b:?}");
    assert!(file.has(NodeState::Showing) && file.is_on_screen());
    assert!(
        window.bounds.unwrap().intersection(&b) == Some(b),
        "the menu lies in its window"
    );

    let text = tree
        .walk()
        .into_iter()
        .map(|(_, n)| n)
        .find(|n| n.role == "text" && n.has(NodeState::Editable))
        .expect("an editable text node");
    assert!(text.bounds.is_some_and(inside_screen));
    assert_eq!(text.text.as_deref(), Some(""));

    // Every node comes from AT-SPI and has an id of its own.
    let mut ids: Vec<_> = tree
        .walk()
        .into_iter()
        .map(|(_, n)| n.id.0.clone())
        .collect();
    assert!(tree
        .walk()
        .iter()
        .skip(1)
        .all(|(_, n)| n.source == NodeSource::Accessibility));
    let count = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), count);
    // Closed menus keep their items but not the items' own submenus.
    // Names are trimmed (GTK pads menu item names with spaces).
    assert_eq!(find(&tree, "menu item", "Quit").len(), 1);

    // The focused application is mousepad, and the port works from inside a tokio runtime
    // and from other threads.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let focused = rt
        .block_on(async { reader.tree(&TreeQuery::new(TreeScope::FocusedApp)) })
        .unwrap();
    assert!(has_file_menu(&focused));
    let apps = std::thread::scope(|s| s.spawn(|| reader.applications()).join().unwrap()).unwrap();
    let app = apps.iter().find(|a| a.name == "mousepad").unwrap();
    assert!(app.active && app.pid.is_some());
    assert!(
        app.windows.iter().any(|w| w.contains("Mousepad")),
        "{:?}",
        app.windows
    );

    // A full read is fast enough to run every step.
    let started = Instant::now();
    let again = reader
        .tree(&TreeQuery::new(TreeScope::App("Mousepad".into())))
        .unwrap();
    let elapsed = started.elapsed();
    assert!(has_file_menu(&again));
    assert!(
        elapsed < Duration::from_secs(1),
        "{} nodes took {elapsed:?}",
        again.len()
    );
}

#[test]
fn galculator_keys_and_display_are_read_with_distinct_bounds() {
    let _d = desktop_with(&["galculator"], "galculator");
    let reader = AtspiReader::connect().unwrap();
    // galculator's keys are GtkToggleButtons: AT-SPI role "toggle button".
    let tree = wait_tree(&reader, "galculator", |t| {
        !find(t, "toggle button", "=").is_empty()
    });
    let mut boxes = Vec::new();
    for label in ["7", "8", "+", "="] {
        let buttons: Vec<_> = find(&tree, "toggle button", label)
            .into_iter()
            .filter(|n| n.is_on_screen())
            .collect();
        assert_eq!(buttons.len(), 1, "toggle button {label:?}");
        assert!(buttons[0].is_interactive());
        let b = buttons[0].bounds.unwrap();
        assert!(inside_screen(b), "{label}: {b:?}");
        assert!(buttons[0].has(NodeState::Enabled));
        boxes.push(b);
    }
    for (i, a) in boxes.iter().enumerate() {
        for b in &boxes[i + 1..] {
            assert!(a.intersection(b).is_none(), "{a:?} overlaps {b:?}");
        }
    }
    // The display is a text node whose content is the current value.
    let display = tree
        .walk()
        .into_iter()
        .map(|(_, n)| n)
        .find(|n| n.role == "text")
        .unwrap();
    assert_eq!(display.text.as_deref(), Some("0"));
    assert!(display.bounds.is_some_and(inside_screen));
}

#[test]
fn unknown_app_is_not_found_and_an_impossible_deadline_times_out() {
    let _d = desktop_with(&["mousepad"], "Mousepad");
    let reader = AtspiReader::connect().unwrap();
    wait_tree(&reader, "mousepad", has_file_menu);

    let err = reader
        .tree(&TreeQuery::new(TreeScope::App("nonexistent".into())))
        .unwrap_err();
    assert_eq!(err.kind, PortErrorKind::NotFound, "{err}");
    assert!(
        err.message.contains("mousepad"),
        "the message lists the apps present: {err}"
    );

    let query = TreeQuery {
        timeout: Duration::from_micros(1),
        ..TreeQuery::new(TreeScope::AllApps)
    };
    let err = reader.tree(&query).unwrap_err();
    assert_eq!(err.kind, PortErrorKind::Timeout, "{err}");
    // The reader still works afterwards.
    assert!(has_file_menu(
        &reader.tree(&TreeQuery::new(TreeScope::AllApps)).unwrap()
    ));
}

#[test]
fn node_and_depth_caps_are_respected() {
    let _d = desktop_with(&["mousepad"], "Mousepad");
    let reader = AtspiReader::connect().unwrap();
    wait_tree(&reader, "mousepad", has_file_menu);
    let scope = TreeScope::App("mousepad".into());

    let capped = reader
        .tree(&TreeQuery {
            max_nodes: 10,
            ..TreeQuery::new(scope.clone())
        })
        .unwrap();
    assert!(capped.len() <= 11, "{} nodes", capped.len());
    assert_eq!(
        capped.root.children[0].role, "frame",
        "the cap keeps the top of the tree"
    );

    let shallow = reader
        .tree(&TreeQuery {
            max_depth: 2,
            ..TreeQuery::new(scope)
        })
        .unwrap();
    let depth = shallow.walk().into_iter().map(|(d, _)| d).max().unwrap();
    assert_eq!(depth, 2);
}

#[test]
fn a_missing_session_bus_is_unavailable_and_names_the_fix() {
    let dir = std::env::temp_dir().join(format!("deskhand-no-bus-{}", std::process::id()));
    std::env::set_var(
        "DBUS_SESSION_BUS_ADDRESS",
        format!("unix:path={}", dir.join("no-such-socket").display()),
    );
    let err = AtspiReader::connect().unwrap_err();
    assert_eq!(err.kind, PortErrorKind::Unavailable, "{err}");
    assert!(err.message.contains("D-Bus"), "{err}");
}
