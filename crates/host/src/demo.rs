//! `deskhand demo`: the main job on the built-in local default. On a virtual desktop when
//! there is no display (or when asked), it opens mousepad and, through the real pipeline
//! (accessibility tree -> resolved targets -> input -> settle -> recorded steps), writes a
//! note and saves it through the Save dialog.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use deskhand_core::ports::{StepRecord, TreeScope};
use deskhand_core::{Event, LayoutTree, NodeState};
use deskhand_xsession::{DesktopOptions, VirtualDesktop};

use crate::config::{Config, Env, Overrides};
use crate::session::{Deskhand, HostError};

/// What the demo did.
#[derive(Debug, Clone)]
pub struct DemoReport {
    /// The display it ran on.
    pub display: String,
    /// True when the demo started its own virtual desktop.
    pub virtual_desktop: bool,
    /// The run id in the database.
    pub run: i64,
    /// The database file.
    pub database: PathBuf,
    /// The file mousepad saved.
    pub saved_file: PathBuf,
    /// Its content as read back from disk.
    pub content: String,
    /// The screenshot after the last step.
    pub screenshot: Option<String>,
    /// The recorded steps.
    pub steps: Vec<StepRecord>,
}

/// The note the demo types.
pub const DEMO_TEXT: &str = "Hello from Deskhand.\nThis note was typed and saved by the agent.\n";

/// Kills a process we started on the user's own display when the demo ends.
struct OwnApp(std::process::Child);

impl Drop for OwnApp {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Where the demo keeps a desktop and app alive until it returns.
enum Stage {
    Virtual {
        _desktop: VirtualDesktop,
    },
    Own {
        _app: OwnApp,
        _home: tempfile::TempDir,
    },
}

/// Runs the demo. `force_virtual` starts a virtual desktop even when DISPLAY is set.
pub fn run(
    cli: &Overrides,
    force_virtual: bool,
    on_event: &mut dyn FnMut(Event),
) -> Result<DemoReport, HostError> {
    let env = Env::from_process();
    let virtual_desktop = force_virtual || env.display.is_none();
    let stage = if virtual_desktop {
        let mut desktop = VirtualDesktop::start(DesktopOptions::default())?;
        desktop.export_env();
        on_event(Event::Notice {
            message: format!(
                "started a virtual desktop on {} (no display was set)",
                desktop.display()
            ),
        });
        let app = desktop.launch(&["mousepad"])?;
        desktop.wait_window(Some(&app), "Mousepad", Duration::from_secs(20))?;
        Stage::Virtual { _desktop: desktop }
    } else {
        let home = tempfile::tempdir().map_err(|source| HostError::Io {
            context: "create a HOME for mousepad".into(),
            source,
        })?;
        let child = Command::new("mousepad")
            .env("HOME", home.path())
            .env("XDG_CONFIG_HOME", home.path().join(".config"))
            .env("GTK_MODULES", "gail:atk-bridge")
            .env("NO_AT_BRIDGE", "0")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .map_err(|source| HostError::Io {
                context: "start mousepad (install it with `./x setup`)".into(),
                source,
            })?;
        Stage::Own {
            _app: OwnApp(child),
            _home: home,
        }
    };
    let config = Config::load(cli).map_err(|e| HostError::Other(e.to_string()))?;
    let display = config.display.clone().unwrap_or_default();
    let deskhand = Deskhand::open(config)?;
    let editor = wait_for_editor(&deskhand, Duration::from_secs(20))?;
    on_event(Event::Notice {
        message: format!("mousepad is up: {} accessible nodes", editor.len()),
    });

    let out_dir = deskhand.config().data_dir.join("demo");
    std::fs::create_dir_all(&out_dir).map_err(|source| HostError::Io {
        context: format!("create {}", out_dir.display()),
        source,
    })?;
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or_default();
    let saved_file = out_dir.join(format!("note-{stamp}.txt"));
    let commands = demo_commands(&saved_file);
    let outcome = deskhand.run_commands(
        "demo: write a note in mousepad and save it",
        &commands,
        on_event,
    )?;
    if outcome.status != deskhand_core::ports::RunStatus::Succeeded {
        let why = outcome
            .steps
            .iter()
            .find_map(|s| s.error.clone())
            .unwrap_or_default();
        return Err(HostError::Other(format!("the demo run failed: {why}")));
    }
    // GTK's file chooser sometimes ignores the first press of Save (it is still completing
    // the typed path). A person would look and press it again; so does the demo, recorded as
    // a run of its own.
    let content = match wait_for_file(&saved_file, Duration::from_secs(3)) {
        Ok(text) => text,
        Err(_) if save_button_showing(&deskhand) => {
            on_event(Event::Notice {
                message: "the Save dialog is still open: pressing Save again".into(),
            });
            deskhand.run_commands(
                "demo: press Save again",
                &["click button 'Save'".to_string()],
                on_event,
            )?;
            wait_for_file(&saved_file, Duration::from_secs(10))?
        }
        Err(e) => return Err(e),
    };
    let report = DemoReport {
        display,
        virtual_desktop,
        run: outcome.run,
        database: deskhand.config().database(),
        screenshot: outcome.steps.last().and_then(|s| s.screenshot.clone()),
        saved_file,
        content,
        steps: outcome.steps,
    };
    // Input and accessibility connections close before the desktop they talk to goes away.
    drop(deskhand);
    drop(stage);
    Ok(report)
}

/// The scripted task, in the `deskhand do` language: every target found by its accessible
/// name or role in the live tree.
pub fn demo_commands(saved_file: &Path) -> Vec<String> {
    let quoted = saved_file
        .display()
        .to_string()
        .replace('\\', "\\\\")
        .replace('\'', "\\'");
    vec![
        "click text ''".to_string(),
        format!("type '{}'", DEMO_TEXT.replace('\n', "\\n")),
        "click 'File'".to_string(),
        "click 'Save As…'".to_string(),
        "key ctrl+a".to_string(),
        format!("type '{quoted}'"),
        "click button 'Save'".to_string(),
    ]
}

/// Waits until mousepad's tree shows an editable text area.
fn wait_for_editor(deskhand: &Deskhand, timeout: Duration) -> Result<LayoutTree, HostError> {
    let start = Instant::now();
    let mut last = String::from("no tree yet");
    while start.elapsed() < timeout {
        match deskhand.tree(TreeScope::App("mousepad".into())) {
            Ok(tree)
                if tree
                    .walk()
                    .iter()
                    .any(|(_, n)| n.role == "text" && n.has(NodeState::Editable)) =>
            {
                return Ok(tree)
            }
            Ok(_) => last = "the tree has no editable text yet".into(),
            Err(e) => last = e.to_string(),
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Err(HostError::Other(format!(
        "mousepad's accessibility tree did not appear within {timeout:?} ({last}); \
         is at-spi2-core installed (`./x setup`)?"
    )))
}

fn save_button_showing(deskhand: &Deskhand) -> bool {
    deskhand
        .tree(TreeScope::App("mousepad".into()))
        .is_ok_and(|t| t.find_unique("Save", Some("push button")).is_ok())
}

fn wait_for_file(path: &Path, timeout: Duration) -> Result<String, HostError> {
    let start = Instant::now();
    while start.elapsed() < timeout {
        if let Ok(text) = std::fs::read_to_string(path) {
            if !text.is_empty() {
                return Ok(text);
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Err(HostError::Other(format!(
        "mousepad did not save {} within {timeout:?}",
        path.display()
    )))
}
