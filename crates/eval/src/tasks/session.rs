//! A fresh virtual desktop brought into a task's starting state.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use deskhand_core::ports::{Accessibility, TreeQuery, TreeScope};
use deskhand_core::task::TaskSpec;
use deskhand_perception::AtspiReader;
use deskhand_xsession::{AppHandle, DesktopOptions, VirtualDesktop};

use super::error::TaskError;
use super::evaluator::{expand_home, parse_evaluator};
use super::setup::{parse_setup, snapshot_size, Setup};

/// Folders a person's HOME has before any task starts.
const HOME_DIRS: &[&str] = &[
    ".config",
    ".local/share",
    ".cache",
    "Desktop",
    "Documents",
    "Downloads",
];

/// Settings every task starts with, in GLib's keyfile format (the apps use the keyfile
/// backend in the task's HOME, so nothing reaches the user's own dconf). Mousepad names the
/// document alone in its title, as the task files expect ("notes.txt - Mousepad"), instead of
/// the full path of the throw-away HOME.
const GSETTINGS_KEYFILE: &str = "[org/xfce/mousepad/preferences/window]\npath-in-title=false\n";

/// Where Debian installs Xfce's settings daemon. Started by D-Bus activation it would run
/// with the bus's environment and write Thunar's settings (view mode...) into the user's own
/// `~/.config`; the session starts it itself, in the task's HOME.
const XFCONFD: &[&str] = &[
    "/usr/lib/x86_64-linux-gnu/xfce4/xfconf/xfconfd",
    "/usr/lib/aarch64-linux-gnu/xfce4/xfconf/xfconfd",
    "/usr/libexec/xfconfd",
];

/// Pause between two looks while waiting for an application.
const POLL: Duration = Duration::from_millis(100);

/// A task's desktop: Xvfb + openbox + the accessibility bus, a throw-away HOME, and the
/// applications the task's `config` started. Dropping it stops everything, newest first.
///
/// Starting one points this process's environment at the desktop (`export_env`), so that
/// in-process adapters (the AT-SPI reader, an agent's perception) use it: run one session
/// per process at a time.
pub struct TaskSession {
    task: String,
    home: PathBuf,
    reader: AtspiReader,
    apps: Vec<AppHandle>,
    // Dropped last: stops the apps, then the session.
    desktop: VirtualDesktop,
}

impl std::fmt::Debug for TaskSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TaskSession")
            .field("task", &self.task)
            .field("display", &self.desktop.display())
            .field("home", &self.home)
            .finish()
    }
}

impl TaskSession {
    /// Checks the task, starts a desktop at its snapshot's size with a fresh HOME and runs
    /// its set-up steps. Fails naming the task, step and field of a malformed step, or the
    /// step that failed in the desktop.
    pub fn start(spec: &TaskSpec) -> Result<TaskSession, TaskError> {
        let steps = parse_setup(spec)?;
        parse_evaluator(spec)?;
        let (width, height) = snapshot_size(spec)?;
        let desktop = VirtualDesktop::start(DesktopOptions {
            width,
            height,
            ..Default::default()
        })?;
        desktop.export_env();
        let home = desktop.runtime_dir().join("home");
        for d in HOME_DIRS {
            let dir = home.join(d);
            std::fs::create_dir_all(&dir).map_err(TaskError::io(dir, "create the task's HOME"))?;
        }
        let keyfile = home.join(".config/glib-2.0/settings/keyfile");
        if let Some(dir) = keyfile.parent() {
            std::fs::create_dir_all(dir).map_err(TaskError::io(dir, "create the task's HOME"))?;
        }
        std::fs::write(&keyfile, GSETTINGS_KEYFILE)
            .map_err(TaskError::io(&keyfile, "write the task's settings"))?;
        let reader = AtspiReader::connect().map_err(|e| TaskError::SetupFailed {
            task: spec.id.clone(),
            step: 0,
            kind: "session".into(),
            message: format!("cannot connect to the accessibility bus: {e}"),
        })?;
        let mut session = TaskSession {
            task: spec.id.clone(),
            home,
            reader,
            apps: Vec::new(),
            desktop,
        };
        if steps.iter().any(|s| matches!(s, Setup::Launch { .. })) {
            session
                .start_xfconfd()
                .map_err(|message| TaskError::SetupFailed {
                    task: spec.id.clone(),
                    step: 0,
                    kind: "session".into(),
                    message,
                })?;
        }
        for (i, step) in steps.iter().enumerate() {
            let kind = spec
                .config
                .get(i)
                .map(|s| s.kind.clone())
                .unwrap_or_default();
            session
                .run_step(step)
                .map_err(|message| TaskError::SetupFailed {
                    task: spec.id.clone(),
                    step: i,
                    kind,
                    message,
                })?;
        }
        Ok(session)
    }

    fn run_step(&mut self, step: &Setup) -> Result<(), String> {
        match step {
            Setup::CreateFile { path, content } => {
                let p = self.expand(path);
                if let Some(parent) = p.parent() {
                    std::fs::create_dir_all(parent)
                        .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
                }
                std::fs::write(&p, content)
                    .map_err(|e| format!("cannot write {}: {e}", p.display()))
            }
            Setup::CreateDir { path } => {
                let p = self.expand(path);
                std::fs::create_dir_all(&p)
                    .map_err(|e| format!("cannot create {}: {e}", p.display()))
            }
            Setup::Launch { argv } => {
                let argv: Vec<String> = argv
                    .iter()
                    .map(|a| expand_home(a, &self.home).to_string_lossy().into_owned())
                    .collect();
                self.launch(&argv).map(|_| ()).map_err(|e| e.to_string())
            }
            Setup::WaitWindow { pattern, timeout } => {
                let app = self.apps.last().cloned();
                self.desktop
                    .wait_window(app.as_ref(), pattern, *timeout)
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            }
            Setup::WaitAtspi { app, timeout } => self.wait_atspi(app, *timeout),
            Setup::Execute { argv, timeout } => self.execute(argv, *timeout),
            Setup::ActivateWindow { title } => self
                .desktop
                .run("wmctrl", &["-a", title])
                .map(|_| ())
                .map_err(|e| format!("no window titled {title:?}: {e}")),
            Setup::Sleep { duration } => {
                std::thread::sleep(*duration);
                Ok(())
            }
        }
    }

    /// Runs a command to completion with the task's environment, in its HOME; a non-zero
    /// exit is an error.
    fn execute(&self, argv: &[String], timeout: Duration) -> Result<(), String> {
        let (status, _, stderr) = self.run_bounded(argv, timeout)?;
        if status.success() {
            Ok(())
        } else {
            Err(format!(
                "{} failed ({status}): {}",
                argv.first().map(String::as_str).unwrap_or_default(),
                stderr.trim()
            ))
        }
    }

    /// Runs a command with the task's environment in its HOME (`~` in arguments expanded)
    /// and returns what it printed on stdout, whatever its exit status (bounded to 10 s).
    pub fn command_output(&self, argv: &[String]) -> Result<String, String> {
        self.run_bounded(argv, Duration::from_secs(10))
            .map(|(_, stdout, _)| stdout)
    }

    fn run_bounded(
        &self,
        argv: &[String],
        timeout: Duration,
    ) -> Result<(std::process::ExitStatus, String, String), String> {
        let argv: Vec<String> = argv
            .iter()
            .map(|a| expand_home(a, &self.home).to_string_lossy().into_owned())
            .collect();
        let (program, args) = argv.split_first().ok_or("empty command")?;
        let dir = self.desktop.runtime_dir();
        let (out_path, err_path) = (dir.join("command.out"), dir.join("command.err"));
        let file = |p: &Path| std::fs::File::create(p).map_err(|e| format!("{}: {e}", p.display()));
        let mut child = Command::new(program)
            .args(args)
            .env_remove("WAYLAND_DISPLAY")
            .env_remove("XDG_SESSION_TYPE")
            .envs(self.app_env())
            .current_dir(&self.home)
            .stdin(std::process::Stdio::null())
            .stdout(file(&out_path)?)
            .stderr(file(&err_path)?)
            .spawn()
            .map_err(|e| format!("cannot run {program}: {e}"))?;
        let start = Instant::now();
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if start.elapsed() >= timeout => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(format!("{program} did not finish within {timeout:?}"));
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(20)),
                Err(e) => return Err(format!("waiting for {program}: {e}")),
            }
        };
        let read = |p: &Path| std::fs::read_to_string(p).unwrap_or_default();
        Ok((status, read(&out_path), read(&err_path)))
    }

    /// Starts xfconfd (when installed) with the task's HOME and waits until it owns its bus
    /// name, so that Xfce applications keep their settings in the throw-away HOME.
    fn start_xfconfd(&mut self) -> Result<(), String> {
        let Some(path) = XFCONFD.iter().find(|p| Path::new(p).is_file()) else {
            return Ok(());
        };
        self.launch(&[path.to_string()])
            .map_err(|e| format!("cannot start xfconfd: {e}"))?;
        let start = Instant::now();
        let timeout = Duration::from_secs(10);
        loop {
            let owned = self
                .desktop
                .run(
                    "dbus-send",
                    &[
                        "--session",
                        "--print-reply",
                        "--dest=org.freedesktop.DBus",
                        "/org/freedesktop/DBus",
                        "org.freedesktop.DBus.NameHasOwner",
                        "string:org.xfce.Xfconf",
                    ],
                )
                .map(|out| out.contains("boolean true"))
                .unwrap_or(false);
            if owned {
                return Ok(());
            }
            if start.elapsed() >= timeout {
                return Err(format!(
                    "xfconfd did not take its bus name within {timeout:?}"
                ));
            }
            std::thread::sleep(POLL);
        }
    }

    /// Waits until the application shows a window (frame, dialog) on the accessibility bus.
    pub fn wait_atspi(&self, app: &str, timeout: Duration) -> Result<(), String> {
        let start = Instant::now();
        loop {
            let last = match self
                .reader
                .tree(&TreeQuery::new(TreeScope::App(app.to_string())))
            {
                Ok(tree) => {
                    if tree
                        .walk()
                        .iter()
                        .any(|(_, n)| ["frame", "window", "dialog"].contains(&n.role.as_str()))
                    {
                        return Ok(());
                    }
                    "it has no window yet".to_string()
                }
                Err(e) => e.to_string(),
            };
            if start.elapsed() >= timeout {
                return Err(format!(
                    "{app} did not appear on the accessibility bus within {timeout:?} ({last})"
                ));
            }
            std::thread::sleep(POLL);
        }
    }

    /// Starts a program in the desktop with the task's HOME as HOME and working directory.
    pub fn launch(&mut self, argv: &[String]) -> Result<AppHandle, TaskError> {
        let program = argv.first().map(String::as_str).unwrap_or_default();
        if which(program).is_none() {
            return Err(TaskError::SetupFailed {
                task: self.task.clone(),
                step: 0,
                kind: "launch".into(),
                message: format!("{program} is not installed (not on PATH)"),
            });
        }
        let mut wrapped: Vec<String> = vec!["env".into(), "-C".into(), self.home_str()];
        wrapped.extend(self.home_env().into_iter().map(|(k, v)| format!("{k}={v}")));
        wrapped.extend(argv.iter().cloned());
        let refs: Vec<&str> = wrapped.iter().map(String::as_str).collect();
        let app = self.desktop.launch(&refs)?;
        self.apps.push(app.clone());
        Ok(app)
    }

    fn home_str(&self) -> String {
        self.home.to_string_lossy().into_owned()
    }

    fn home_env(&self) -> Vec<(String, String)> {
        let h = |sub: &str| self.home.join(sub).to_string_lossy().into_owned();
        vec![
            ("HOME".into(), self.home_str()),
            ("XDG_CONFIG_HOME".into(), h(".config")),
            ("XDG_DATA_HOME".into(), h(".local/share")),
            ("XDG_CACHE_HOME".into(), h(".cache")),
            ("GSETTINGS_BACKEND".into(), "keyfile".into()),
        ]
    }

    /// The task's id.
    pub fn task(&self) -> &str {
        &self.task
    }

    /// The throw-away HOME the task's files and applications live in.
    pub fn home(&self) -> &Path {
        &self.home
    }

    /// A path of the task (`~` = [`TaskSession::home`]).
    pub fn expand(&self, path: &str) -> PathBuf {
        expand_home(path, &self.home)
    }

    /// The desktop.
    pub fn desktop(&self) -> &VirtualDesktop {
        &self.desktop
    }

    /// The desktop, mutably (to launch more applications).
    pub fn desktop_mut(&mut self) -> &mut VirtualDesktop {
        &mut self.desktop
    }

    /// The accessibility reader connected to this desktop's bus.
    pub fn reader(&self) -> &AtspiReader {
        &self.reader
    }

    /// The environment an agent (or the `deskhand` binary) needs to act in this desktop:
    /// DISPLAY, the session bus, GTK's accessibility settings. It keeps the caller's HOME,
    /// where the models and the agent's own settings are.
    pub fn env(&self) -> Vec<(String, String)> {
        self.desktop.env()
    }

    /// [`TaskSession::env`] plus the task's HOME and XDG folders: what the task's own
    /// applications run with.
    pub fn app_env(&self) -> Vec<(String, String)> {
        let mut env = self.desktop.env();
        env.extend(self.home_env());
        env
    }

    /// Points this process at the desktop (see [`VirtualDesktop::export_env`]).
    pub fn export_env(&self) {
        self.desktop.export_env();
    }

    /// A command that runs `program` in this desktop with [`TaskSession::env`].
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut cmd = Command::new(program);
        cmd.env_remove("WAYLAND_DISPLAY")
            .env_remove("XDG_SESSION_TYPE")
            .envs(self.env());
        cmd
    }
}

fn which(program: &str) -> Option<PathBuf> {
    if program.contains('/') {
        let p = PathBuf::from(program);
        return p.is_file().then_some(p);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(program))
        .find(|p| p.is_file())
}
