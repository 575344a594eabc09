//! Descriptions, actions and values from AT-SPI, every application at once, GTK4's
//! window-relative extents placed on the desktop, and a snapshot of mousepad's menu bar.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use deskhand_core::layout::{LayoutNode, LayoutTree, NodeState};
use deskhand_core::ports::{Accessibility, TreeQuery, TreeScope};
use deskhand_perception::{AtspiReader, WindowLister};
use deskhand_xsession::VirtualDesktop;

/// Polls a tree read until `ready` holds.
fn wait_tree(
    reader: &AtspiReader,
    scope: TreeScope,
    ready: impl Fn(&LayoutTree) -> bool,
) -> LayoutTree {
    let started = Instant::now();
    let mut last = String::new();
    while started.elapsed() < Duration::from_secs(20) {
        match reader.tree(&TreeQuery::new(scope.clone())) {
            Ok(tree) if ready(&tree) => return tree,
            Ok(tree) => last = format!("{} nodes, not ready yet", tree.len()),
            Err(e) => last = e.to_string(),
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("the tree ({scope:?}) never became ready: {last}");
}

fn nodes<'t>(tree: &'t LayoutTree, role: &str) -> Vec<&'t LayoutNode> {
    tree.walk()
        .into_iter()
        .map(|(_, n)| n)
        .filter(|n| n.role == role)
        .collect()
}

fn node<'t>(tree: &'t LayoutTree, role: &str, name: &str) -> &'t LayoutNode {
    let found: Vec<_> = nodes(tree, role)
        .into_iter()
        .filter(|n| n.name == name)
        .collect();
    assert_eq!(found.len(), 1, "one {role} {name:?}");
    found[0]
}

fn desktop_with(apps: &[(&str, &str)]) -> VirtualDesktop {
    let mut d = VirtualDesktop::start(Default::default()).unwrap();
    d.export_env();
    for (program, title) in apps {
        let app = d.launch(&[program]).unwrap();
        d.wait_window(Some(&app), title, Duration::from_secs(20))
            .unwrap();
    }
    d
}

#[test]
fn all_apps_come_with_descriptions_actions_and_values() {
    let _d = desktop_with(&[("mousepad", "Mousepad"), ("galculator", "galculator")]);
    let reader = AtspiReader::connect().unwrap();
    let tree = wait_tree(&reader, TreeScope::AllApps, |t| {
        nodes(t, "menu").iter().any(|n| n.name == "File")
            && nodes(t, "toggle button").iter().any(|n| n.name == "7")
    });
    // Both applications are in one read.
    let frames: Vec<&str> = tree.root.children.iter().map(|w| w.name.as_str()).collect();
    assert!(
        frames.iter().any(|f| f.ends_with("- Mousepad")),
        "{frames:?}"
    );
    assert!(frames.contains(&"galculator"), "{frames:?}");

    // Every key of galculator offers its "click" action.
    let keys: Vec<_> = nodes(&tree, "toggle button")
        .into_iter()
        .filter(|n| n.is_on_screen())
        .collect();
    assert!(keys.len() >= 20, "{} keys", keys.len());
    for key in &keys {
        assert_eq!(key.actions, vec!["click".to_string()], "{}", key.describe());
    }
    // galculator's tooltips are the keys' descriptions.
    assert_eq!(
        node(&tree, "toggle button", "7").description.as_deref(),
        Some("Seven    7")
    );
    // Mousepad describes its menus and items; a separator has neither description nor action.
    let quits: Vec<_> = nodes(&tree, "menu item")
        .into_iter()
        .filter(|n| n.name == "Quit")
        .map(|n| n.description.as_deref())
        .collect();
    assert!(quits.contains(&Some("Quit Mousepad")), "{quits:?}");
    let file_menus: Vec<_> = nodes(&tree, "menu")
        .into_iter()
        .filter(|n| n.name == "File" && n.description.as_deref() == Some("File menu"))
        .collect();
    assert_eq!(file_menus.len(), 1, "mousepad's File menu");
    assert_eq!(file_menus[0].actions, vec!["click".to_string()]);
    assert!(nodes(&tree, "separator")
        .iter()
        .all(|n| n.description.is_none() && n.actions.is_empty()));
    // A scroll bar has no text of its own: its Value (the scroll position) stands in.
    assert!(nodes(&tree, "scroll bar")
        .iter()
        .any(|n| n.text.as_deref() == Some("0")));
}

/// Builds a small GTK4 program (a label, a button, a slider at 42) with the system's GTK4
/// development files, which `./x setup` installs (libgtk-4-dev): without them this fails.
fn build_gtk4_probe(dir: &Path) -> PathBuf {
    let source = dir.join("gtk4probe.c");
    std::fs::write(&source, GTK4_PROBE).unwrap();
    let flags = Command::new("pkg-config")
        .args(["--cflags", "--libs", "gtk4"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .expect("no GTK4 development files (pkg-config gtk4): run ./x setup (libgtk-4-dev)");
    let flags = String::from_utf8(flags.stdout).unwrap();
    let binary = dir.join("gtk4probe");
    let status = Command::new("cc")
        .arg(&source)
        .arg("-o")
        .arg(&binary)
        .args(flags.split_whitespace())
        .status()
        .unwrap();
    assert!(status.success(), "the GTK4 probe does not compile");
    binary
}

const GTK4_PROBE: &str = r#"
#include <gtk/gtk.h>
static void activate(GtkApplication *app, gpointer data) {
  GtkWidget *win = gtk_application_window_new(app);
  gtk_window_set_title(GTK_WINDOW(win), "GTK4 Probe");
  gtk_window_set_default_size(GTK_WINDOW(win), 400, 300);
  GtkWidget *box = gtk_box_new(GTK_ORIENTATION_VERTICAL, 6);
  GtkWidget *button = gtk_button_new_with_label("Press me");
  gtk_widget_set_tooltip_text(button, "Does nothing");
  GtkWidget *scale = gtk_scale_new_with_range(GTK_ORIENTATION_HORIZONTAL, 0, 100, 1);
  gtk_range_set_value(GTK_RANGE(scale), 42);
  gtk_box_append(GTK_BOX(box), gtk_label_new("Hello"));
  gtk_box_append(GTK_BOX(box), button);
  gtk_box_append(GTK_BOX(box), scale);
  gtk_window_set_child(GTK_WINDOW(win), box);
  gtk_window_present(GTK_WINDOW(win));
}
int main(int argc, char **argv) {
  GtkApplication *app = gtk_application_new(NULL, G_APPLICATION_NON_UNIQUE);
  g_signal_connect(app, "activate", G_CALLBACK(activate), NULL);
  return g_application_run(G_APPLICATION(app), argc, argv);
}
"#;

fn slider(tree: &LayoutTree) -> Option<&LayoutNode> {
    nodes(tree, "slider").into_iter().next()
}

#[test]
fn gtk4_extents_are_placed_on_the_desktop_and_its_slider_value_is_read() {
    let build = tempfile::tempdir().unwrap();
    let binary = build_gtk4_probe(build.path());
    // The desktop starts programs found on PATH.
    let path = std::env::var("PATH").unwrap_or_default();
    std::env::set_var("PATH", format!("{}:{path}", build.path().display()));
    let mut d = VirtualDesktop::start(Default::default()).unwrap();
    d.export_env();
    let app = d.launch(&["gtk4probe"]).unwrap();
    assert!(binary.is_file());
    d.wait_window(Some(&app), "^GTK4 Probe$", Duration::from_secs(20))
        .unwrap();
    let reader = AtspiReader::connect().unwrap();
    let tree = wait_tree(&reader, TreeScope::App("gtk4probe".into()), |t| {
        slider(t).is_some() && nodes(t, "push button").len() == 1
    });

    let window = WindowLister::connect()
        .unwrap()
        .list()
        .unwrap()
        .into_iter()
        .find(|w| w.pid == Some(app.pid))
        .unwrap();
    assert_ne!(
        (window.client_bounds.x, window.client_bounds.y),
        (0, 0),
        "the window manager placed the window away from the origin"
    );
    // The accessible window is the X client area, and everything in it lies inside it and
    // counts as on screen.
    let frame = &tree.root.children[0];
    assert_eq!(frame.name, "GTK4 Probe");
    assert_eq!(frame.bounds, Some(window.client_bounds));
    let button = node(&tree, "push button", "Press me");
    assert_eq!(button.actions, vec!["click".to_string()]);
    assert_eq!(button.description.as_deref(), Some("Does nothing"));
    for n in [button, slider(&tree).unwrap()] {
        let b = n.bounds.unwrap();
        assert_eq!(window.client_bounds.intersection(&b), Some(b), "{n:?}");
        assert!(n.is_on_screen() && n.has(NodeState::Showing), "{n:?}");
    }

    // The slider's value is its text; a click near its right end, aimed with the fixed-up
    // box, moves it there.
    let s = slider(&tree).unwrap();
    assert_eq!(s.text.as_deref(), Some("42"));
    let b = s.bounds.unwrap();
    let x = b.x + b.width as i32 - 3;
    let y = b.y + b.height as i32 / 2;
    d.run(
        "xdotool",
        &["mousemove", &x.to_string(), &y.to_string(), "click", "1"],
    )
    .unwrap();
    let moved = wait_tree(&reader, TreeScope::App("gtk4probe".into()), |t| {
        slider(t).is_some_and(|s| s.text.as_deref() != Some("42"))
    });
    let value: f64 = slider(&moved)
        .unwrap()
        .text
        .as_deref()
        .unwrap()
        .parse()
        .unwrap();
    assert!(value >= 90.0, "the click landed at value {value}");
}

/// One line per node, indented by depth, without the fields that vary between runs and
/// machines: ids, boxes, and sensitivity ("enabled") with the actions GTK offers only on
/// sensitive items, both of which follow focus, selection and clipboard (the actions are
/// checked by the test above).
fn outline(node: &LayoutNode, depth: usize, out: &mut String) {
    use std::fmt::Write;
    let states: Vec<String> = node
        .states
        .iter()
        .filter(|s| **s != NodeState::Enabled)
        .map(|s| format!("{s:?}").to_lowercase())
        .collect();
    let _ = write!(
        out,
        "{}{} {:?} [{}]",
        "  ".repeat(depth),
        node.role,
        node.name,
        states.join(" ")
    );
    if let Some(d) = &node.description {
        let _ = write!(out, " desc={d:?}");
    }
    if let Some(t) = &node.text {
        let _ = write!(out, " text={t:?}");
    }
    out.push('\n');
    for child in &node.children {
        outline(child, depth + 1, out);
    }
}

#[test]
fn mousepad_menu_bar_snapshot() {
    let _d = desktop_with(&[("mousepad", "Mousepad")]);
    let reader = AtspiReader::connect().unwrap();
    let tree = wait_tree(&reader, TreeScope::App("mousepad".into()), |t| {
        nodes(t, "menu").iter().any(|n| n.name == "Help")
    });
    let bars = nodes(&tree, "menu bar");
    assert_eq!(bars.len(), 1);
    let mut text = String::new();
    outline(bars[0], 0, &mut text);
    insta::assert_snapshot!("mousepad_menu_bar", text);
}
