//! Test fixtures: a virtual desktop with a real application in it, and waits on the
//! application's accessibility tree. Everything here is real; nothing is mocked.
#![deny(clippy::print_stdout, clippy::print_stderr)]

use std::time::{Duration, Instant};

use deskhand_core::ports::{Accessibility, TreeQuery, TreeScope};
use deskhand_core::{LayoutNode, LayoutTree};
use deskhand_perception::AtspiReader;
pub use deskhand_xsession::{AppHandle, DesktopOptions, SessionError, VirtualDesktop};

pub mod model_server;
pub use model_server::{node_id, prompt_section, RecordedRequest, Reply, ScriptedModelServer};

/// A desktop with one application started and its tree on the accessibility bus.
pub struct AppSession {
    /// The desktop (dropping it stops everything).
    pub desktop: VirtualDesktop,
    /// The application.
    pub app: AppHandle,
    /// A reader connected to the desktop's accessibility bus.
    pub reader: AtspiReader,
}

impl std::fmt::Debug for AppSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppSession")
            .field("display", &self.desktop.display())
            .finish_non_exhaustive()
    }
}

/// Starts a desktop, points this process at it, launches `argv`, and waits until the window
/// titled like `title_regex` is up and the app `atspi_name` shows a node satisfying `ready`.
pub fn start_app(
    argv: &[&str],
    title_regex: &str,
    atspi_name: &str,
    ready: impl Fn(&LayoutTree) -> bool,
) -> Result<AppSession, String> {
    let mut desktop =
        VirtualDesktop::start(DesktopOptions::default()).map_err(|e| e.to_string())?;
    desktop.export_env();
    let app = desktop.launch(argv).map_err(|e| e.to_string())?;
    desktop
        .wait_window(Some(&app), title_regex, Duration::from_secs(20))
        .map_err(|e| e.to_string())?;
    let reader = AtspiReader::connect().map_err(|e| e.to_string())?;
    wait_for_tree(&reader, atspi_name, Duration::from_secs(20), ready)?;
    Ok(AppSession {
        desktop,
        app,
        reader,
    })
}

/// A desktop with mousepad up and its editable text area on the accessibility bus.
pub fn start_mousepad() -> Result<AppSession, String> {
    start_app(&["mousepad"], "Mousepad", "mousepad", |t| {
        t.walk()
            .iter()
            .any(|(_, n)| n.role == "text" && n.has(deskhand_core::NodeState::Editable))
    })
}

/// Polls the app's tree until `ready` holds; the error carries the last thing seen.
pub fn wait_for_tree(
    reader: &AtspiReader,
    app: &str,
    timeout: Duration,
    ready: impl Fn(&LayoutTree) -> bool,
) -> Result<LayoutTree, String> {
    let start = Instant::now();
    let mut last = String::from("nothing read yet");
    while start.elapsed() < timeout {
        match reader.tree(&TreeQuery::new(TreeScope::App(app.to_string()))) {
            Ok(tree) if ready(&tree) => return Ok(tree),
            Ok(tree) => last = format!("tree of {} nodes, not ready", tree.len()),
            Err(e) => last = e.message,
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Err(format!(
        "{app}'s accessibility tree was not ready within {timeout:?}: {last}"
    ))
}

/// The first on-screen node with this role and name.
pub fn find<'t>(tree: &'t LayoutTree, role: &str, name: &str) -> Option<&'t LayoutNode> {
    tree.walk()
        .into_iter()
        .map(|(_, n)| n)
        .find(|n| n.role == role && n.name == name && n.is_on_screen())
}

/// A committed screenshot fixture (`benches/fixtures/<name>.*`): the frame, the AT-SPI tree
/// captured with it, and the window list.
#[derive(Debug, Clone)]
pub struct Fixture {
    /// The screenshot, on a monitor at 0,0 with scale 1.
    pub frame: deskhand_core::Frame,
    /// The accessibility tree of all apps at capture time.
    pub tree: LayoutTree,
    /// The windows, bottom of the stack first.
    pub windows: Vec<deskhand_perception::fusion::WindowBox>,
}

/// The directory of the committed fixtures.
pub fn fixtures_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../benches/fixtures")
}

/// Loads a committed fixture by name ("desktop_3apps", "mousepad_file_menu", "galculator").
pub fn fixture(name: &str) -> Result<Fixture, String> {
    let dir = fixtures_dir();
    let image = image::open(dir.join(format!("{name}.png")))
        .map_err(|e| format!("fixture {name}.png: {e}"))?
        .to_rgba8();
    let read = |ext: &str| {
        std::fs::read(dir.join(format!("{name}.{ext}")))
            .map_err(|e| format!("fixture {name}.{ext}: {e}"))
    };
    let tree: LayoutTree =
        serde_json::from_slice(&read("json")?).map_err(|e| format!("fixture {name}.json: {e}"))?;
    let windows = serde_json::from_slice(&read("windows.json")?)
        .map_err(|e| format!("fixture {name}.windows.json: {e}"))?;
    let (width, height) = image.dimensions();
    let frame = deskhand_core::Frame {
        monitor: deskhand_core::Monitor {
            index: 0,
            name: "fixture".into(),
            bounds: deskhand_core::Rect::new(0, 0, width, height),
            scale: 1.0,
            primary: false,
        },
        width,
        height,
        rgba: image.into_raw(),
    };
    Ok(Fixture {
        frame,
        tree,
        windows,
    })
}
