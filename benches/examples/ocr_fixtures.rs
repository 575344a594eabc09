//! Regenerates the committed screenshot fixtures in `benches/fixtures/`:
//!
//! ```text
//! cargo run --release -p deskhand-benches --example ocr_fixtures [tuned | held-out]
//! ```
//!
//! `tuned` are the scenes the OCR settings were tuned on; `held-out` (files `held_*`) come
//! from apps, fonts and a theme no tuning looked at (gnumeric, abiword, thunar, mousepad in
//! Adwaita dark), so their accuracy says how the engine does on screens it has not seen.
//!
//! Each scene runs on a fresh virtual desktop with real apps. For every `<name>.png` it writes
//! `<name>.json` (the AT-SPI layout tree of all apps, `deskhand_core::LayoutTree`) and
//! `<name>.lines.json`: the ground-truth UI strings on screen, i.e. the showing accessibility
//! nodes with a visible text label (menus, menu items, push/toggle buttons, labels, page tabs)
//! and a non-empty name, inside their window and not hidden under an open menu; a square
//! button with a longer name is an icon and is left out.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::error::Error;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use deskhand_core::ports::{Accessibility, Screen, TreeQuery, TreeScope};
use deskhand_core::{Frame, LayoutNode, LayoutTree, Rect};
use deskhand_perception::capture::main_frame;
use deskhand_perception::{AtspiReader, XcapScreen};
use deskhand_testkit::{wait_for_tree, DesktopOptions, VirtualDesktop};
use image::codecs::png::{CompressionType, FilterType, PngEncoder};
use image::ImageEncoder;

type Res<T> = Result<T, Box<dyn Error>>;

/// Roles whose accessible name is drawn as text on screen.
const LABELLED_ROLES: &[&str] = &[
    "menu",
    "menu item",
    "push button",
    "label",
    "page tab",
    "toggle button",
];

fn main() -> Res<()> {
    let out = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    std::fs::create_dir_all(&out)?;
    let which = std::env::args().nth(1).unwrap_or_default();
    if which != "held-out" {
        three_apps(&out)?;
        galculator(&out)?;
    }
    if which != "tuned" {
        held_out(&out)?;
    }
    Ok(())
}

/// Waits until some app's tree (all apps read) satisfies `ok`.
fn wait_any(reader: &AtspiReader, ok: impl Fn(&LayoutTree) -> bool) -> Res<LayoutTree> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(t) = reader.tree(&TreeQuery::new(TreeScope::AllApps)) {
            if ok(&t) {
                return Ok(t);
            }
        }
        if Instant::now() > deadline {
            return Err("the app's menus never showed in its accessibility tree".into());
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// One app alone on a 1280x800 desktop, once its File menu is on the accessibility bus.
fn alone(out: &Path, name: &str, argv: &[&str], title: &str, files: Option<&Path>) -> Res<()> {
    let mut d = VirtualDesktop::start(DesktopOptions::default())?;
    d.export_env();
    let reader = AtspiReader::connect()?;
    let mut argv: Vec<String> = argv.iter().map(|a| a.to_string()).collect();
    if let Some(dir) = files {
        argv.push(dir.display().to_string());
    }
    let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
    let app = d.launch(&argv)?;
    let win = d.wait_window(Some(&app), title, Duration::from_secs(30))?;
    place(&d, win, 60, 40, 1100, 700)?;
    wait_any(&reader, |t| {
        deskhand_testkit::find(t, "menu", "File").is_some()
    })?;
    scene(out, name, &reader, None)?;
    Ok(())
}

/// The held-out scenes: other apps, another toolkit theme.
fn held_out(out: &Path) -> Res<()> {
    let dir = tempfile::tempdir()?;
    for f in [
        "budget 2026.ods",
        "holiday photos",
        "notes.txt",
        "report-final.pdf",
    ] {
        let p = dir.path().join(f);
        if f.contains('.') {
            std::fs::write(&p, "x")?;
        } else {
            std::fs::create_dir_all(&p)?;
        }
    }
    alone(out, "held_gnumeric", &["gnumeric"], "Gnumeric|Book", None)?;
    alone(out, "held_abiword", &["abiword"], "AbiWord|Untitled", None)?;
    alone(out, "held_thunar", &["thunar"], "", Some(dir.path()))?;
    alone(
        out,
        "held_mousepad_dark",
        &["env", "GTK_THEME=Adwaita:dark", "mousepad"],
        "Mousepad",
        None,
    )?;
    Ok(())
}

/// Mousepad with typed text, galculator and an xterm side by side at 1920x1080; then the
/// same desktop with mousepad's File menu open.
fn three_apps(out: &Path) -> Res<()> {
    let mut d = VirtualDesktop::start(DesktopOptions {
        width: 1920,
        height: 1080,
        ..Default::default()
    })?;
    d.export_env();
    let reader = AtspiReader::connect()?;

    let mousepad = d.launch(&["mousepad"])?;
    let win = d.wait_window(Some(&mousepad), "Mousepad", Duration::from_secs(20))?;
    wait_for_tree(&reader, "mousepad", Duration::from_secs(20), |t| {
        t.walk().iter().any(|(_, n)| n.role == "text")
    })?;
    place(&d, win, 40, 40, 1000, 640)?;

    let calc = d.launch(&["galculator"])?;
    let cwin = d.wait_window(Some(&calc), "galculator", Duration::from_secs(20))?;
    wait_for_tree(&reader, "galculator", Duration::from_secs(20), |t| {
        deskhand_testkit::find(t, "toggle button", "7").is_some()
    })?;
    place(&d, cwin, 1200, 60, -1, -1)?;

    let term = d.launch(&[
        "xterm",
        "-T",
        "terminal",
        "-fa",
        "DejaVu Sans Mono",
        "-fs",
        "11",
        "-geometry",
        "90x14+1060+640",
        "-e",
        "sh",
        "-c",
        "printf 'build finished in 42 seconds\\nwarning: unused variable count\\ntotal 128 files, 3 errors\\n$ '; exec sleep 100000",
    ])?;
    d.wait_window(Some(&term), "^terminal$", Duration::from_secs(20))?;

    d.run("wmctrl", &["-i", "-a", &format!("{win:#x}")])?;
    for line in [
        "Meeting notes for Tuesday",
        "Budget review: 1,250 EUR approved",
        "Call Anna about the invoice",
    ] {
        d.run("xdotool", &["type", "--delay", "5", line])?;
        d.run("xdotool", &["key", "Return"])?;
    }
    wait_for_tree(&reader, "mousepad", Duration::from_secs(10), |t| {
        t.walk().iter().any(|(_, n)| {
            n.role == "text"
                && n.text
                    .as_deref()
                    .is_some_and(|s| s.contains("Call Anna about the invoice"))
        })
    })?;
    scene(out, "desktop_3apps", &reader, None)?;

    let tree = reader.tree(&TreeQuery::new(TreeScope::App("mousepad".into())))?;
    let file = deskhand_testkit::find(&tree, "menu", "File")
        .ok_or("mousepad has no File menu")?
        .bounds
        .ok_or("File has no bounds")?;
    let c = file.center();
    d.run(
        "xdotool",
        &[
            "mousemove",
            &format!("{}", c.x as i32),
            &format!("{}", c.y as i32),
            "click",
            "1",
        ],
    )?;
    let open = wait_for_tree(&reader, "mousepad", Duration::from_secs(10), |t| {
        deskhand_testkit::find(t, "menu item", "Save As…").is_some()
            || deskhand_testkit::find(t, "menu item", "Save As...").is_some()
    })?;
    // Move the pointer off the menu so no item is highlighted.
    d.run("xdotool", &["mousemove", "700", "1000"])?;
    let popup = open_menu_rect(&open, "File").ok_or("the File menu shows no items")?;
    scene(out, "mousepad_file_menu", &reader, Some(("File", popup)))?;
    Ok(())
}

/// galculator alone on a 1280x800 desktop.
fn galculator(out: &Path) -> Res<()> {
    let mut d = VirtualDesktop::start(DesktopOptions::default())?;
    d.export_env();
    let reader = AtspiReader::connect()?;
    let calc = d.launch(&["galculator"])?;
    let win = d.wait_window(Some(&calc), "galculator", Duration::from_secs(20))?;
    wait_for_tree(&reader, "galculator", Duration::from_secs(20), |t| {
        deskhand_testkit::find(t, "toggle button", "7").is_some()
    })?;
    place(&d, win, 200, 100, -1, -1)?;
    scene(out, "galculator", &reader, None)?;
    Ok(())
}

fn place(d: &VirtualDesktop, win: u64, x: i32, y: i32, w: i32, h: i32) -> Res<()> {
    d.run(
        "wmctrl",
        &[
            "-i",
            "-r",
            &format!("{win:#x}"),
            "-e",
            &format!("0,{x},{y},{w},{h}"),
        ],
    )?;
    Ok(())
}

/// Captures once the screen has settled and writes the PNG, the tree and the ground truth.
fn scene(out: &Path, name: &str, reader: &AtspiReader, menu: Option<(&str, Rect)>) -> Res<()> {
    let frame = settled_frame()?;
    let tree = reader.tree(&TreeQuery::new(TreeScope::AllApps))?;
    let screen = Rect::new(0, 0, frame.width, frame.height);
    let lines = ground_truth(&tree, screen, menu);
    let mut png = Vec::new();
    PngEncoder::new_with_quality(&mut png, CompressionType::Best, FilterType::Adaptive)
        .write_image(
            &frame.rgba,
            frame.width,
            frame.height,
            image::ExtendedColorType::Rgba8,
        )?;
    std::fs::write(out.join(format!("{name}.png")), &png)?;
    std::fs::write(
        out.join(format!("{name}.json")),
        serde_json::to_string(&tree)?,
    )?;
    std::fs::write(
        out.join(format!("{name}.lines.json")),
        serde_json::to_string_pretty(&lines)?,
    )?;
    println!(
        "{name}: {}x{}, {} KB PNG, {} nodes, {} UI strings",
        frame.width,
        frame.height,
        png.len() / 1024,
        tree.len(),
        lines.len()
    );
    Ok(())
}

/// A frame once two captures 100 ms apart differ in fewer than 300 pixels (a blinking
/// caret is allowed), or after 5 s.
fn settled_frame() -> Res<Frame> {
    let screen = XcapScreen::new();
    let grab = || -> Res<Frame> {
        let frames = screen.capture_all()?;
        Ok(main_frame(&frames).ok_or("no monitor")?.clone())
    };
    let start = Instant::now();
    let mut last = grab()?;
    loop {
        std::thread::sleep(Duration::from_millis(100));
        let next = grab()?;
        let changed = last
            .rgba
            .chunks_exact(4)
            .zip(next.rgba.chunks_exact(4))
            .filter(|(a, b)| a != b)
            .count();
        if changed < 300 || start.elapsed() > Duration::from_secs(5) {
            return Ok(next);
        }
        last = next;
    }
}

/// The box around the showing items of the open menu `name`.
fn open_menu_rect(tree: &LayoutTree, name: &str) -> Option<Rect> {
    let menu = tree
        .walk()
        .into_iter()
        .map(|(_, n)| n)
        .find(|n| n.role == "menu" && n.name == name)?;
    menu.children
        .iter()
        .filter(|c| c.is_on_screen())
        .filter_map(|c| c.bounds)
        .reduce(union)
}

fn union(a: Rect, b: Rect) -> Rect {
    let x = a.x.min(b.x);
    let y = a.y.min(b.y);
    let right = a.right().max(b.right());
    let bottom = a.bottom().max(b.bottom());
    Rect::new(
        x,
        y,
        (right - i64::from(x)) as u32,
        (bottom - i64::from(y)) as u32,
    )
}

fn inside(inner: &Rect, outer: &Rect) -> bool {
    inner.x >= outer.x
        && inner.y >= outer.y
        && inner.right() <= outer.right()
        && inner.bottom() <= outer.bottom()
}

/// A toolbar button whose box is about square and whose name is longer than two characters
/// shows an icon, not its name (gnumeric's and abiword's toolbars, thunar's Back): its name
/// is not text on screen.
fn icon_button(node: &LayoutNode, b: &Rect) -> bool {
    node.role.ends_with("button")
        && node.name.trim().chars().count() > 2
        && f64::from(b.width) <= 1.2 * f64::from(b.height)
}

fn ground_truth(
    tree: &LayoutTree,
    screen: Rect,
    menu: Option<(&str, Rect)>,
) -> Vec<serde_json::Value> {
    let mut lines = Vec::new();
    for window in &tree.root.children {
        // Apps are the root's children in an all-apps read; windows may sit one level down.
        collect(window, None, screen, menu, false, &mut lines);
    }
    lines
}

fn collect(
    node: &LayoutNode,
    window: Option<Rect>,
    screen: Rect,
    menu: Option<(&str, Rect)>,
    in_menu: bool,
    out: &mut Vec<serde_json::Value>,
) {
    let is_window = matches!(node.role.as_str(), "frame" | "window" | "dialog");
    let window = if is_window && node.is_on_screen() {
        node.bounds
    } else {
        window
    };
    if let (Some(b), Some(w)) = (node.bounds, window) {
        let name = node.name.trim();
        let hidden_by_menu =
            menu.is_some_and(|(_, popup)| !in_menu && popup.intersection(&b).is_some());
        if LABELLED_ROLES.contains(&node.role.as_str())
            && !name.is_empty()
            && node.is_on_screen()
            && inside(&b, &screen)
            && (inside(&b, &w) || in_menu)
            && !hidden_by_menu
            && !icon_button(node, &b)
        {
            out.push(serde_json::json!({
                "name": name,
                "role": node.role,
                "bounds": b,
            }));
        }
    }
    let opens = menu.is_some_and(|(m, _)| node.role == "menu" && node.name == m);
    for child in &node.children {
        collect(child, window, screen, menu, in_menu || opens, out);
    }
}
