//! One private desktop session.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::process::{poll, require, Managed, SessionError};

/// How to set up a desktop.
#[derive(Debug, Clone)]
pub struct DesktopOptions {
    /// Screen width in pixels.
    pub width: u32,
    /// Screen height in pixels.
    pub height: u32,
    /// Start openbox (needed for per-window capture and window focus).
    pub window_manager: bool,
    /// Start `xcompmgr -n` so overlapped windows capture correctly.
    pub compositor: bool,
    /// Start the session D-Bus and the AT-SPI bus.
    pub accessibility: bool,
    /// Longest wait for any one part to come up.
    pub timeout: Duration,
}

impl Default for DesktopOptions {
    fn default() -> Self {
        Self {
            width: 1280,
            height: 800,
            window_manager: true,
            compositor: false,
            accessibility: true,
            timeout: Duration::from_secs(10),
        }
    }
}

/// A running application started in a desktop.
#[derive(Debug, Clone)]
pub struct AppHandle {
    /// Process id (also its process group id).
    pub pid: u32,
    /// The throw-away HOME it runs with.
    pub home: PathBuf,
    /// Where its stdout and stderr go.
    pub log: PathBuf,
}

/// A running private desktop. Dropping it stops every process it started, newest first.
#[derive(Debug)]
pub struct VirtualDesktop {
    display: String,
    runtime_dir: tempfile::TempDir,
    bus_address: Option<String>,
    width: u32,
    height: u32,
    // Newest last; stopped in reverse order.
    processes: Vec<Managed>,
    apps: Vec<AppHandle>,
    timeout: Duration,
}

impl VirtualDesktop {
    /// Starts Xvfb and the rest of the session as the options say.
    pub fn start(options: DesktopOptions) -> Result<VirtualDesktop, SessionError> {
        let started = Instant::now();
        let xvfb = require("Xvfb")?;
        let runtime_dir = tempfile::Builder::new()
            .prefix("deskhand-session-")
            .tempdir()
            .map_err(SessionError::io("create the session's runtime directory"))?;
        set_private(runtime_dir.path())?;

        // -displayfd makes the server pick a free display and write its number once it
        // accepts connections: no guessing, no races between parallel sessions.
        let (mut reader, writer) = std::io::pipe().map_err(SessionError::io("create a pipe"))?;
        let log = runtime_dir.path().join("xvfb.log");
        let mut cmd = Command::new(xvfb);
        cmd.args(["-displayfd", "1", "-screen", "0"])
            .arg(format!("{}x{}x24", options.width, options.height))
            .args([
                "-nolisten",
                "tcp",
                "-dpi",
                "96",
                "+extension",
                "RANDR",
                "-noreset",
            ]);
        let mut x = spawn_with_stdout("Xvfb", cmd, writer, &log)?;
        let number = read_display_number(&mut reader, &mut x, options.timeout)?;
        let display = format!(":{number}");
        let mut desktop = VirtualDesktop {
            display,
            runtime_dir,
            bus_address: None,
            width: options.width,
            height: options.height,
            processes: Vec::new(),
            apps: Vec::new(),
            timeout: options.timeout,
        };
        desktop.start_watchdog()?;
        desktop.adopt(x)?;
        if options.accessibility {
            desktop.start_bus()?;
        }
        if options.window_manager {
            desktop.start_window_manager()?;
        }
        if options.compositor {
            let mut cmd = Command::new(require("xcompmgr")?);
            cmd.arg("-n");
            desktop.spawn_session_process("xcompmgr", cmd)?;
        }
        tracing::info!(display = %desktop.display, ms = started.elapsed().as_millis() as u64, "virtual desktop up");
        Ok(desktop)
    }

    /// The X display name, e.g. ":7".
    pub fn display(&self) -> &str {
        &self.display
    }

    /// Screen size.
    pub fn size(&self) -> (u32, u32) {
        (self.width, self.height)
    }

    /// The session's private runtime directory (mode 700).
    pub fn runtime_dir(&self) -> &Path {
        self.runtime_dir.path()
    }

    /// The session D-Bus address, when accessibility was started.
    pub fn bus_address(&self) -> Option<&str> {
        self.bus_address.as_deref()
    }

    /// The throw-away HOME of the session D-Bus and of every service it starts on demand
    /// (xfconfd, dconf-service, ...), inside the runtime directory and removed with it.
    /// Exists when accessibility was started.
    pub fn bus_home(&self) -> PathBuf {
        self.runtime_dir.path().join("bus-home")
    }

    /// The environment a program needs to live in this desktop.
    pub fn env(&self) -> Vec<(String, String)> {
        let mut env = vec![
            ("DISPLAY".to_string(), self.display.clone()),
            (
                "XDG_RUNTIME_DIR".to_string(),
                self.runtime_dir.path().display().to_string(),
            ),
            ("GDK_BACKEND".to_string(), "x11".to_string()),
            ("GTK_MODULES".to_string(), "gail:atk-bridge".to_string()),
            ("NO_AT_BRIDGE".to_string(), "0".to_string()),
            ("GTK_A11Y".to_string(), "atspi".to_string()),
        ];
        if let Some(bus) = &self.bus_address {
            env.push(("DBUS_SESSION_BUS_ADDRESS".to_string(), bus.clone()));
        }
        env
    }

    /// Points this process at the desktop (DISPLAY, bus, ...) so in-process adapters use it.
    /// Call it before starting threads: the environment is process-wide, which is why each
    /// test runs in a process of its own.
    pub fn export_env(&self) {
        std::env::remove_var("WAYLAND_DISPLAY");
        std::env::remove_var("XDG_SESSION_TYPE");
        for (k, v) in self.env() {
            std::env::set_var(k, v);
        }
    }

    fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut cmd = Command::new(program);
        cmd.env_remove("WAYLAND_DISPLAY")
            .env_remove("XDG_SESSION_TYPE")
            .envs(self.env());
        cmd
    }

    fn spawn_session_process(&mut self, name: &str, cmd: Command) -> Result<(), SessionError> {
        let log = self.runtime_dir.path().join(format!("{name}.log"));
        let mut cmd = cmd;
        cmd.env_remove("WAYLAND_DISPLAY")
            .env_remove("XDG_SESSION_TYPE")
            .envs(self.env());
        let p = Managed::spawn(name, cmd, Some(&log))?;
        self.adopt(p)
    }

    /// Keeps a started process: it is stopped with the desktop, and its process group is
    /// listed for the watchdog.
    fn adopt(&mut self, p: Managed) -> Result<(), SessionError> {
        use std::io::Write;
        let list = self.runtime_dir.path().join(GROUPS);
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&list)
            .map_err(SessionError::io(format!("write {}", list.display())))?;
        writeln!(f, "{}", p.pid())
            .map_err(SessionError::io(format!("write {}", list.display())))?;
        self.processes.push(p);
        Ok(())
    }

    /// A watchdog that tears the session down when this process ends without doing so
    /// itself (Ctrl-C, SIGTERM, SIGKILL, a crash): it waits for this process to go, then
    /// stops every process group the desktop started (listed in its runtime directory) and
    /// removes the directory. Normal teardown stops the watchdog first.
    fn start_watchdog(&mut self) -> Result<(), SessionError> {
        let mut cmd = Command::new(require("sh")?);
        cmd.arg("-c")
            .arg(WATCHDOG)
            .arg("deskhand-watchdog")
            .arg(std::process::id().to_string())
            .arg(self.runtime_dir.path());
        let p = Managed::spawn("watchdog", cmd, None)?;
        // Not listed among the groups it stops; stopped last in the list order, i.e. first.
        self.processes.push(p);
        Ok(())
    }

    fn start_bus(&mut self) -> Result<(), SessionError> {
        let socket = self.runtime_dir.path().join("bus");
        let address = format!("unix:path={}", socket.display());
        // Services the bus starts on demand (xfconfd, dconf-service, ...) inherit its
        // environment: give it a throw-away HOME so their settings stay in this desktop.
        let home = self.bus_home();
        make_home(&home)?;
        let mut cmd = Command::new(require("dbus-daemon")?);
        cmd.args(["--session", "--nofork", "--nopidfile"])
            .arg(format!("--address={address}"));
        with_home(&mut cmd, &home);
        self.spawn_session_process("dbus-daemon", cmd)?;
        let timeout = self.timeout;
        // The socket file appears when the daemon binds it, a moment before it listens:
        // wait until a connection is accepted, or dbus-send below is refused.
        poll("the session D-Bus socket", timeout, || {
            self.last_process_alive()?;
            Ok(std::os::unix::net::UnixStream::connect(&socket)
                .is_ok()
                .then_some(()))
        })?;
        self.bus_address = Some(address);
        // Starts at-spi-bus-launcher through D-Bus activation.
        self.dbus_send(&[
            "--dest=org.a11y.Bus",
            "/org/a11y/bus",
            "org.a11y.Bus.GetAddress",
        ])?;
        poll("the AT-SPI bus (org.a11y.Bus)", timeout, || {
            let out = self.dbus_send(&[
                "--dest=org.freedesktop.DBus",
                "/org/freedesktop/DBus",
                "org.freedesktop.DBus.NameHasOwner",
                "string:org.a11y.Bus",
            ])?;
            Ok(out.contains("boolean true").then_some(()))
        })?;
        self.dbus_send(&[
            "--dest=org.a11y.Bus",
            "/org/a11y/bus",
            "org.freedesktop.DBus.Properties.Set",
            "string:org.a11y.Status",
            "string:IsEnabled",
            "variant:boolean:true",
        ])?;
        Ok(())
    }

    fn dbus_send(&self, args: &[&str]) -> Result<String, SessionError> {
        let out = self
            .command(require("dbus-send")?)
            .args(["--session", "--print-reply", "--reply-timeout=5000"])
            .args(args)
            .output()
            .map_err(SessionError::io("run dbus-send"))?;
        if !out.status.success() {
            return Err(SessionError::Exited {
                program: format!("dbus-send {}", args.join(" ")),
                status: out.status.to_string(),
                log: String::from_utf8_lossy(&out.stderr).trim().to_string(),
            });
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    fn start_window_manager(&mut self) -> Result<(), SessionError> {
        let mut cmd = Command::new(require("openbox")?);
        cmd.arg("--sm-disable");
        self.spawn_session_process("openbox", cmd)?;
        let wmctrl = require("wmctrl")?;
        let timeout = self.timeout;
        poll("openbox to manage the screen (wmctrl -m)", timeout, || {
            self.last_process_alive()?;
            let ok = self
                .command(&wmctrl)
                .arg("-m")
                .output()
                .map(|o| o.status.success())
                .unwrap_or(false);
            Ok(ok.then_some(()))
        })
    }

    fn last_process_alive(&mut self) -> Result<(), SessionError> {
        match self.processes.last_mut() {
            Some(p) => p.check_alive(),
            None => Ok(()),
        }
    }

    /// Starts an application in this desktop with a fresh throw-away HOME.
    pub fn launch(&mut self, argv: &[&str]) -> Result<AppHandle, SessionError> {
        let (program, args) = argv
            .split_first()
            .ok_or_else(|| SessionError::MissingProgram {
                program: "(empty command)".into(),
                package: "matching".into(),
            })?;
        let path = require(program)?;
        let home = self
            .runtime_dir
            .path()
            .join(format!("home-{}", self.apps.len()));
        make_home(&home)?;
        let mut cmd = self.command(path);
        cmd.args(args).current_dir(&home);
        with_home(&mut cmd, &home);
        let log = self
            .runtime_dir
            .path()
            .join(format!("app-{}-{}.log", self.apps.len(), program));
        let p = Managed::spawn(program, cmd, Some(&log))?;
        let handle = AppHandle {
            pid: p.pid(),
            home,
            log,
        };
        self.adopt(p)?;
        self.apps.push(handle.clone());
        Ok(handle)
    }

    /// Waits until a visible window whose title matches the regex exists; returns its X id.
    /// Fails early if the app exits.
    pub fn wait_window(
        &mut self,
        app: Option<&AppHandle>,
        title_regex: &str,
        timeout: Duration,
    ) -> Result<u64, SessionError> {
        let re = regex::Regex::new(title_regex).map_err(|e| SessionError::Io {
            context: format!("title pattern {title_regex:?}"),
            source: std::io::Error::new(std::io::ErrorKind::InvalidInput, e.to_string()),
        })?;
        let what = format!("a window titled /{title_regex}/ on {}", self.display);
        poll(&what, timeout, || {
            if let Some(app) = app {
                if let Some(p) = self.processes.iter_mut().find(|p| p.pid() == app.pid) {
                    p.check_alive()?;
                }
            }
            Ok(self
                .windows()?
                .into_iter()
                .find(|(_, t)| re.is_match(t))
                .map(|(id, _)| id))
        })
    }

    /// Top-level windows managed by the window manager: (X id, title).
    pub fn windows(&self) -> Result<Vec<(u64, String)>, SessionError> {
        let out = self
            .command(require("wmctrl")?)
            .arg("-l")
            .output()
            .map_err(SessionError::io("run wmctrl -l"))?;
        let text = String::from_utf8_lossy(&out.stdout);
        Ok(text
            .lines()
            .filter_map(|line| {
                // "0x00a00003  0 host Title words"
                let mut parts = line.split_whitespace();
                let id = u64::from_str_radix(parts.next()?.trim_start_matches("0x"), 16).ok()?;
                let title: Vec<&str> = parts.skip(2).collect();
                Some((id, title.join(" ")))
            })
            .collect())
    }

    /// Runs a helper program (xdotool, xclip, ...) inside the desktop and returns its stdout.
    pub fn run(&self, program: &str, args: &[&str]) -> Result<String, SessionError> {
        let out = self
            .command(require(program)?)
            .args(args)
            .output()
            .map_err(SessionError::io(format!("run {program}")))?;
        if !out.status.success() {
            return Err(SessionError::Exited {
                program: format!("{program} {}", args.join(" ")),
                status: out.status.to_string(),
                log: String::from_utf8_lossy(&out.stderr).trim().to_string(),
            });
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Process ids of everything this desktop started (Xvfb first).
    pub fn pids(&self) -> Vec<u32> {
        self.processes.iter().map(|p| p.pid()).collect()
    }

    /// Applications started with [`VirtualDesktop::launch`].
    pub fn apps(&self) -> &[AppHandle] {
        &self.apps
    }

    /// Stops one application (its whole process group).
    pub fn stop_app(&mut self, app: &AppHandle) {
        if let Some(i) = self.processes.iter().position(|p| p.pid() == app.pid) {
            let mut p = self.processes.remove(i);
            p.stop();
        }
        self.apps.retain(|a| a.pid != app.pid);
    }
}

impl Drop for VirtualDesktop {
    fn drop(&mut self) {
        // The watchdog (the first process) goes first: it must not act on a teardown in
        // progress; then the rest, newest first.
        if !self.processes.is_empty() {
            self.processes.remove(0).stop();
        }
        while let Some(mut p) = self.processes.pop() {
            p.stop();
        }
    }
}

/// The file in the runtime directory listing the process groups the desktop started.
const GROUPS: &str = "groups";

/// The watchdog's shell script: $1 is the pid to outlive, $2 the runtime directory. It polls
/// five times a second, stops the listed groups newest first (TERM, then KILL after a
/// second), and removes the directory.
const WATCHDOG: &str = r#"parent=$1; dir=$2
while kill -0 "$parent" 2>/dev/null; do sleep 0.2; done
[ -f "$dir/groups" ] || exit 0
groups=$(tac "$dir/groups")
for g in $groups; do kill -s TERM -- "-$g" 2>/dev/null; done
sleep 1
for g in $groups; do kill -s KILL -- "-$g" 2>/dev/null; done
rm -rf "$dir"
"#;

fn set_private(dir: &Path) -> Result<(), SessionError> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
        .map_err(SessionError::io("make the runtime directory private"))
}

/// Creates a throw-away HOME (mode 700) with its XDG config, data and cache directories.
fn make_home(home: &Path) -> Result<(), SessionError> {
    for sub in [".config", ".local/share", ".cache"] {
        std::fs::create_dir_all(home.join(sub)).map_err(SessionError::io("create HOME"))?;
    }
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(home, std::fs::Permissions::from_mode(0o700))
        .map_err(SessionError::io("make HOME private"))
}

/// Points a command's HOME and XDG config, data and cache directories at `home`.
fn with_home(cmd: &mut Command, home: &Path) {
    cmd.env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .env("XDG_DATA_HOME", home.join(".local/share"))
        .env("XDG_CACHE_HOME", home.join(".cache"));
}

fn spawn_with_stdout(
    name: &str,
    mut cmd: Command,
    stdout: std::io::PipeWriter,
    log: &Path,
) -> Result<Managed, SessionError> {
    use std::os::unix::process::CommandExt;
    let err = std::fs::File::create(log).map_err(SessionError::io("create the Xvfb log"))?;
    cmd.process_group(0)
        .stdin(std::process::Stdio::null())
        .stdout(stdout)
        .stderr(err);
    let child = cmd
        .spawn()
        .map_err(SessionError::io(format!("start {name}")))?;
    Ok(Managed {
        name: name.to_string(),
        child,
        log: Some(log.to_path_buf()),
    })
}

/// Reads the display number Xvfb writes once it is ready, bounded by a timeout.
fn read_display_number(
    reader: &mut std::io::PipeReader,
    xvfb: &mut Managed,
    timeout: Duration,
) -> Result<u32, SessionError> {
    let (tx, rx) = std::sync::mpsc::channel();
    let mut reader = reader
        .try_clone()
        .map_err(SessionError::io("clone the Xvfb pipe"))?;
    std::thread::spawn(move || {
        let mut buf = String::new();
        let mut byte = [0u8; 1];
        while let Ok(1) = reader.read(&mut byte) {
            if byte[0] == b'\n' {
                break;
            }
            buf.push(byte[0] as char);
        }
        let _ = tx.send(buf);
    });
    match rx.recv_timeout(timeout) {
        Ok(s) => match s.trim().parse() {
            Ok(n) => Ok(n),
            Err(_) => {
                xvfb.check_alive()?;
                Err(SessionError::Exited {
                    program: "Xvfb".into(),
                    status: format!("wrote {s:?} instead of a display number"),
                    log: xvfb.log_tail(),
                })
            }
        },
        Err(_) => {
            xvfb.check_alive()?;
            Err(SessionError::Timeout {
                what: "Xvfb to accept connections".into(),
                waited: timeout,
            })
        }
    }
}
