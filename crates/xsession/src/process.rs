//! Spawning and stopping the processes of a session.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Why a desktop session could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// A program the session needs is not installed.
    #[error("{program} is not installed: run `./x setup` (it installs the {package} package)")]
    MissingProgram {
        /// The program.
        program: String,
        /// The Debian package that provides it.
        package: String,
    },
    /// Something did not happen in time.
    #[error("timed out after {waited:?} waiting for {what}")]
    Timeout {
        /// What was awaited.
        what: String,
        /// How long.
        waited: Duration,
    },
    /// A process exited when it should have kept running.
    #[error("{program} exited early ({status}); its log: {log}")]
    Exited {
        /// The program.
        program: String,
        /// Its exit status.
        status: String,
        /// The end of its log.
        log: String,
    },
    /// An I/O error.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The error.
        source: std::io::Error,
    },
}

impl SessionError {
    pub(crate) fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> SessionError {
        let context = context.into();
        move |source| SessionError::Io { context, source }
    }
}

/// The Debian package that provides each program we start.
fn package_of(program: &str) -> &'static str {
    match program {
        "Xvfb" => "xvfb",
        "dbus-daemon" | "dbus-send" => "dbus",
        "openbox" => "openbox",
        "xcompmgr" => "xcompmgr",
        "wmctrl" => "wmctrl",
        "xdotool" => "xdotool",
        "mousepad" => "mousepad",
        "galculator" => "galculator",
        "xterm" => "xterm",
        _ => "matching",
    }
}

/// Finds a program on PATH or says which package provides it.
pub(crate) fn require(program: &str) -> Result<PathBuf, SessionError> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
        .ok_or_else(|| SessionError::MissingProgram {
            program: program.to_string(),
            package: package_of(program).to_string(),
        })
}

/// A child in its own process group, stopped (group-wide) on drop.
#[derive(Debug)]
pub(crate) struct Managed {
    pub(crate) name: String,
    pub(crate) child: Child,
    pub(crate) log: Option<PathBuf>,
}

impl Managed {
    pub(crate) fn spawn(
        name: &str,
        mut command: Command,
        log: Option<&Path>,
    ) -> Result<Managed, SessionError> {
        use std::os::unix::process::CommandExt;
        command.process_group(0).stdin(Stdio::null());
        if let Some(log) = log {
            let out = std::fs::File::create(log)
                .map_err(SessionError::io(format!("create {}", log.display())))?;
            let err = out
                .try_clone()
                .map_err(SessionError::io("clone log handle"))?;
            command.stdout(out).stderr(err);
        } else {
            command.stdout(Stdio::null()).stderr(Stdio::null());
        }
        let child = command
            .spawn()
            .map_err(SessionError::io(format!("start {name}")))?;
        tracing::debug!(name, pid = child.id(), "started");
        Ok(Managed {
            name: name.to_string(),
            child,
            log: log.map(Path::to_path_buf),
        })
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Fails when the process has already exited, with the end of its log.
    pub(crate) fn check_alive(&mut self) -> Result<(), SessionError> {
        match self.child.try_wait() {
            Ok(Some(status)) => Err(SessionError::Exited {
                program: self.name.clone(),
                status: status.to_string(),
                log: self.log_tail(),
            }),
            Ok(None) => Ok(()),
            Err(e) => Err(SessionError::Io {
                context: format!("poll {}", self.name),
                source: e,
            }),
        }
    }

    pub(crate) fn log_tail(&self) -> String {
        let text = self
            .log
            .as_ref()
            .and_then(|p| std::fs::read_to_string(p).ok())
            .unwrap_or_default();
        let start = text.len().saturating_sub(600);
        text.get(start..).unwrap_or_default().trim().to_string()
    }

    /// SIGTERM to the process group, then SIGKILL if it is still there after a grace period.
    pub(crate) fn stop(&mut self) {
        if matches!(self.child.try_wait(), Ok(Some(_))) {
            signal_group(self.child.id(), libc::SIGKILL); // stray children of an exited leader
            return;
        }
        signal_group(self.child.id(), libc::SIGTERM);
        let deadline = Instant::now() + Duration::from_millis(1500);
        while Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                signal_group(self.child.id(), libc::SIGKILL);
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        signal_group(self.child.id(), libc::SIGKILL);
        let _ = self.child.wait();
    }
}

impl Drop for Managed {
    fn drop(&mut self) {
        self.stop();
    }
}

#[allow(unsafe_code)]
fn signal_group(pgid: u32, signal: i32) {
    // SAFETY: kill(2) with a negative pid signals the process group we created for this
    // child (process_group(0) made its pid the group id); it touches no memory.
    unsafe {
        libc::kill(-(pgid as i32), signal);
    }
}

/// Polls `check` every few milliseconds until it returns `Some`, or times out.
pub(crate) fn poll<T>(
    what: &str,
    timeout: Duration,
    mut check: impl FnMut() -> Result<Option<T>, SessionError>,
) -> Result<T, SessionError> {
    let start = Instant::now();
    let mut delay = Duration::from_millis(2);
    loop {
        if let Some(v) = check()? {
            return Ok(v);
        }
        if start.elapsed() >= timeout {
            return Err(SessionError::Timeout {
                what: what.to_string(),
                waited: start.elapsed(),
            });
        }
        std::thread::sleep(delay);
        delay = (delay * 2).min(Duration::from_millis(50));
    }
}
