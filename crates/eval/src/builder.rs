//! Builds the grounding set live: an application in a virtual desktop, brought into each
//! state (main window, first menu open, dialogs), captured with its accessibility tree.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use deskhand_core::ports::{Accessibility, Screen, TreeQuery, TreeScope};
use deskhand_core::{Frame, LayoutNode, LayoutTree, Point};
use deskhand_perception::capture::{encode_png, main_frame};
use deskhand_perception::{AtspiReader, XcapScreen};
use deskhand_xsession::VirtualDesktop;

use crate::apps::{AppSpec, DialogTrigger};
use crate::classify::TextClassifier;
use crate::dataset::{self, instruction_for, Element, Resolution, ScreenState};
use crate::error::EvalError;
use crate::truth::{ground_truth, Candidate};

/// Longest wait for an application's window and tree.
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// Longest wait for a state (menu open, dialog up) to appear and settle.
const STATE_TIMEOUT: Duration = Duration::from_secs(15);
/// Pause between two reads when waiting for something to settle.
const POLL: Duration = Duration::from_millis(200);
/// Two frames differing in fewer pixels than this are the same picture (a caret blinks).
const STILL_PIXELS: usize = 400;

/// What to build.
#[derive(Debug, Clone)]
pub struct BuildOptions {
    /// Where the set is cached.
    pub data_dir: PathBuf,
    /// Also capture the dialog states (off for quick test sets).
    pub dialogs: bool,
}

/// Everything one application build needs from the desktop it runs in.
pub(crate) struct Env<'a> {
    pub desktop: &'a mut VirtualDesktop,
    pub reader: &'a AtspiReader,
    pub classifier: &'a TextClassifier,
    pub resolution: Resolution,
}

/// True when a program is on PATH.
fn installed(program: &str) -> bool {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path).any(|d| d.join(program).is_file())
}

/// Fails with [`EvalError::AppMissing`] when the application is not installed.
pub(crate) fn check_installed(spec: &AppSpec) -> Result<(), EvalError> {
    if installed(spec.program()) {
        Ok(())
    } else {
        Err(EvalError::AppMissing {
            app: spec.name.to_string(),
            program: spec.program().to_string(),
            package: spec.package.to_string(),
        })
    }
}

/// Starts a desktop of this size, points the process at it and connects to its
/// accessibility bus.
pub(crate) fn start_desktop(
    resolution: Resolution,
) -> Result<(VirtualDesktop, AtspiReader), EvalError> {
    let desktop = VirtualDesktop::start(deskhand_xsession::DesktopOptions {
        width: resolution.width,
        height: resolution.height,
        ..Default::default()
    })?;
    desktop.export_env();
    let reader =
        AtspiReader::connect().map_err(EvalError::port("connect to the accessibility bus"))?;
    Ok((desktop, reader))
}

/// Starts a desktop at `resolution`, builds the application's states there and saves them
/// under `options.data_dir`. The classifier is loaded by the caller (once for many apps).
pub fn build_app(
    spec: &AppSpec,
    resolution: Resolution,
    classifier: &TextClassifier,
    options: &BuildOptions,
) -> Result<Vec<ScreenState>, EvalError> {
    check_installed(spec)?;
    let (mut desktop, reader) = start_desktop(resolution)?;
    let mut env = Env {
        desktop: &mut desktop,
        reader: &reader,
        classifier,
        resolution,
    };
    build_in(&mut env, spec, options)
}

/// Builds one application's states in a running desktop, then stops the application.
pub(crate) fn build_in(
    env: &mut Env<'_>,
    spec: &AppSpec,
    options: &BuildOptions,
) -> Result<Vec<ScreenState>, EvalError> {
    check_installed(spec)?;
    let dir = dataset::app_dir(&options.data_dir, spec.name, env.resolution);
    if dir.exists() {
        std::fs::remove_dir_all(&dir).map_err(EvalError::io(&dir, "remove the old set"))?;
    }
    let started = Instant::now();
    let app = env.desktop.launch(spec.argv)?;
    let result = build_states(env, spec, options, &dir);
    env.desktop.stop_app(&app);
    let states = result?;
    dataset::save_manifest(&dir, spec.name, env.resolution, options.dialogs, &states)?;
    tracing::info!(
        app = spec.name,
        resolution = %env.resolution,
        states = states.len(),
        elements = states.iter().map(|s| s.elements.len()).sum::<usize>(),
        ms = started.elapsed().as_millis() as u64,
        "grounding set built"
    );
    Ok(states)
}

fn build_states(
    env: &mut Env<'_>,
    spec: &AppSpec,
    options: &BuildOptions,
    dir: &Path,
) -> Result<Vec<ScreenState>, EvalError> {
    let window = env.desktop.wait_window(None, spec.title, START_TIMEOUT)?;
    let id = format!("0x{window:08x}");
    if spec.maximize {
        env.desktop.run(
            "wmctrl",
            &["-i", "-r", &id, "-b", "add,maximized_vert,maximized_horz"],
        )?;
    }
    park_pointer(env)?;
    let mut states = Vec::new();
    let fail = |what: String| EvalError::State {
        app: spec.name.to_string(),
        resolution: env.resolution.to_string(),
        what,
    };
    let screen = env.resolution;
    let main = settle(env, spec, START_TIMEOUT, |t| {
        !ground_truth(t, screen).is_empty() && !t.root.children.is_empty()
    })
    .map_err(|e| fail(format!("main window: {e}")))?;
    let windows = showing_windows(&main);
    states.push(capture(env, spec, "main", dir)?);

    // A menu of the menu bar (the first unless the app says), opened with a click.
    let first = match spec.menu {
        Some(m) => m.to_string(),
        None => first_menu(&main).ok_or_else(|| fail("no menu bar with a menu".into()))?,
    };
    open_menu(env, spec, &first).map_err(|e| fail(format!("open the {first:?} menu: {e}")))?;
    states.push(capture(env, spec, "menu", dir)?);
    close_all(env, spec, windows).map_err(|e| fail(format!("close the {first:?} menu: {e}")))?;

    if options.dialogs {
        for (state, trigger) in spec.dialogs {
            match open_dialog(env, spec, *trigger, windows) {
                Ok(()) => {}
                Err(e) => {
                    tracing::warn!(app = spec.name, state, error = %e, "dialog state skipped");
                    // Leave no menu open behind.
                    close_all(env, spec, windows)
                        .map_err(|e| fail(format!("recover after {state}: {e}")))?;
                    continue;
                }
            }
            states.push(capture(env, spec, state, dir)?);
            close_all(env, spec, windows).map_err(|e| fail(format!("close {state}: {e}")))?;
        }
    }
    Ok(states)
}

fn read_tree(env: &Env<'_>, spec: &AppSpec) -> Result<LayoutTree, String> {
    env.reader
        .tree(&TreeQuery::new(TreeScope::App(spec.name.to_string())))
        .map_err(|e| e.message)
}

/// Waits until `ready` holds and the ground truth is the same in two reads in a row.
fn settle(
    env: &Env<'_>,
    spec: &AppSpec,
    timeout: Duration,
    ready: impl Fn(&LayoutTree) -> bool,
) -> Result<LayoutTree, String> {
    let start = Instant::now();
    let mut last: Option<Vec<Candidate>> = None;
    let mut seen = String::from("nothing read yet");
    while start.elapsed() < timeout {
        match read_tree(env, spec) {
            Ok(tree) if ready(&tree) => {
                let truth = ground_truth(&tree, env.resolution);
                if last.as_ref() == Some(&truth) {
                    return Ok(tree);
                }
                seen = format!("{} elements, still changing", truth.len());
                last = Some(truth);
            }
            Ok(tree) => {
                seen = format!("a tree of {} nodes, not in the state yet", tree.len());
                last = None;
            }
            Err(e) => seen = e,
        }
        std::thread::sleep(POLL);
    }
    Err(format!("not reached within {timeout:?}: {seen}"))
}

fn grab() -> Result<Frame, EvalError> {
    let frames = XcapScreen::new()
        .capture_all()
        .map_err(EvalError::port("capture the screen"))?;
    main_frame(&frames).cloned().ok_or_else(|| EvalError::Port {
        what: "capture the screen".into(),
        source: deskhand_core::PortError::unavailable("no monitor"),
    })
}

fn differing_pixels(a: &Frame, b: &Frame) -> usize {
    if a.rgba.len() != b.rgba.len() {
        return usize::MAX;
    }
    a.rgba
        .chunks_exact(4)
        .zip(b.rgba.chunks_exact(4))
        .filter(|(p, q)| p != q)
        .count()
}

/// A frame once the picture has stopped changing (bounded).
fn still_frame() -> Result<Frame, EvalError> {
    let start = Instant::now();
    let mut last = grab()?;
    while start.elapsed() < STATE_TIMEOUT {
        std::thread::sleep(POLL);
        let next = grab()?;
        let still = differing_pixels(&last, &next) < STILL_PIXELS;
        last = next;
        if still {
            break;
        }
    }
    Ok(last)
}

/// Captures the current state: a still screenshot and a tree whose ground truth did not
/// change while the screenshot was taken; classifies and saves it.
fn capture(
    env: &Env<'_>,
    spec: &AppSpec,
    state: &str,
    dir: &Path,
) -> Result<ScreenState, EvalError> {
    let fail = |what: String| EvalError::State {
        app: spec.name.to_string(),
        resolution: env.resolution.to_string(),
        what: format!("{state}: {what}"),
    };
    for _ in 0..3 {
        let before = settle(env, spec, STATE_TIMEOUT, |_| true).map_err(fail)?;
        let frame = still_frame()?;
        let after = read_tree(env, spec).map_err(fail)?;
        let truth = ground_truth(&after, env.resolution);
        if truth != ground_truth(&before, env.resolution) {
            continue;
        }
        let boxes: Vec<(&str, deskhand_core::Rect)> =
            truth.iter().map(|c| (c.name.as_str(), c.bounds)).collect();
        let kinds = env.classifier.classify(&frame, &boxes)?;
        let elements = truth
            .iter()
            .zip(kinds)
            .map(|(c, (kind, read))| Element {
                name: c.name.clone(),
                role: c.role.clone(),
                bounds: c.bounds,
                kind,
                read,
                instruction: instruction_for(&c.name, &c.role),
            })
            .collect();
        let record = ScreenState::new(spec.name, env.resolution, state, after, elements);
        let png = encode_png(&frame).map_err(EvalError::port("encode the screenshot"))?;
        dataset::save_state(dir, &record, &png)?;
        return Ok(record);
    }
    Err(fail("the screen kept changing".into()))
}

/// Moves the pointer out of the way (no hover highlight or tooltip in the main state).
fn park_pointer(env: &Env<'_>) -> Result<(), EvalError> {
    let (x, y) = (env.resolution.width - 1, env.resolution.height - 1);
    env.desktop
        .run("xdotool", &["mousemove", &x.to_string(), &y.to_string()])?;
    Ok(())
}

fn click(env: &Env<'_>, at: Point) -> Result<(), String> {
    let (x, y) = (at.x.round() as i64, at.y.round() as i64);
    env.desktop
        .run(
            "xdotool",
            &["mousemove", &x.to_string(), &y.to_string(), "click", "1"],
        )
        .map(|_| ())
        .map_err(|e| e.to_string())
}

fn menus_in_bar(tree: &LayoutTree) -> Vec<&LayoutNode> {
    tree.walk()
        .into_iter()
        .map(|(_, n)| n)
        .filter(|n| n.role == "menu bar" && n.is_on_screen())
        .flat_map(|bar| bar.children.iter())
        .filter(|m| m.role == "menu" && m.is_on_screen() && !m.name.is_empty())
        .collect()
}

/// The name of the first menu of the (first) menu bar.
fn first_menu(tree: &LayoutTree) -> Option<String> {
    menus_in_bar(tree).first().map(|m| m.name.clone())
}

/// True when the menu of the menu bar with this name has its items showing.
fn menu_open(tree: &LayoutTree, name: &str) -> bool {
    menus_in_bar(tree).iter().any(|m| {
        m.name == name
            && m.children
                .iter()
                .any(|c| c.role.contains("menu item") && c.is_on_screen())
    })
}

fn any_menu_open(tree: &LayoutTree) -> bool {
    tree.walk().into_iter().any(|(_, n)| {
        n.role == "menu"
            && n.children
                .iter()
                .any(|c| c.role.contains("menu item") && c.is_on_screen())
    })
}

fn showing_windows(tree: &LayoutTree) -> usize {
    tree.root
        .children
        .iter()
        .filter(|w| w.is_on_screen())
        .count()
}

/// Clicks a menu of the menu bar and waits until its items show.
fn open_menu(env: &Env<'_>, spec: &AppSpec, name: &str) -> Result<LayoutTree, String> {
    let tree = read_tree(env, spec)?;
    let menu = menus_in_bar(&tree)
        .into_iter()
        .find(|m| m.name == name)
        .and_then(|m| m.bounds)
        .ok_or_else(|| format!("no {name:?} menu in the menu bar"))?;
    click(env, menu.center())?;
    settle(env, spec, STATE_TIMEOUT, |t| menu_open(t, name))
}

/// Escape until no menu is open and only the main windows remain.
fn close_all(env: &Env<'_>, spec: &AppSpec, windows: usize) -> Result<(), String> {
    let start = Instant::now();
    while start.elapsed() < STATE_TIMEOUT {
        let tree = read_tree(env, spec)?;
        if !any_menu_open(&tree) && showing_windows(&tree) <= windows {
            park_pointer(env).map_err(|e| e.to_string())?;
            return Ok(());
        }
        env.desktop
            .run("xdotool", &["key", "Escape"])
            .map_err(|e| e.to_string())?;
        std::thread::sleep(Duration::from_millis(300));
    }
    Err(format!("still open after {STATE_TIMEOUT:?} of Escape"))
}

/// Opens a dialog and waits until it shows (a new top-level window).
fn open_dialog(
    env: &Env<'_>,
    spec: &AppSpec,
    trigger: DialogTrigger,
    windows: usize,
) -> Result<(), String> {
    match trigger {
        DialogTrigger::Keys(keys) => {
            env.desktop
                .run("xdotool", &["key", keys])
                .map_err(|e| e.to_string())?;
        }
        DialogTrigger::MenuItem { menu, item } => {
            let tree = open_menu(env, spec, menu)?;
            let target = menus_in_bar(&tree)
                .into_iter()
                .find(|m| m.name == menu)
                .and_then(|m| {
                    m.children
                        .iter()
                        .find(|c| c.is_on_screen() && c.name.starts_with(item))
                })
                .and_then(|c| c.bounds)
                .ok_or_else(|| format!("no item starting with {item:?} in the {menu:?} menu"))?;
            click(env, target.center())?;
        }
    }
    settle(env, spec, STATE_TIMEOUT, |t| showing_windows(t) > windows)?;
    Ok(())
}
