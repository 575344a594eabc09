//! Set-up steps of a task file, checked strictly before anything starts.

use std::time::Duration;

use deskhand_core::task::{SetupStep, TaskSpec};
use serde_json::{Map, Value};

use super::error::TaskError;

/// The set-up step types the harness knows.
pub const SETUP_TYPES: &[&str] = &[
    "create_file",
    "create_dir",
    "launch",
    "wait_window",
    "wait_atspi",
    "execute",
    "activate_window",
    "sleep",
];

/// Default wait for a window or an application on the accessibility bus.
const DEFAULT_WAIT: Duration = Duration::from_secs(20);

/// One set-up step, parsed.
#[derive(Debug, Clone, PartialEq)]
pub enum Setup {
    /// Write a file (parent directories are created). `path` may start with `~`.
    CreateFile {
        /// Where.
        path: String,
        /// The whole content (`lines` are joined with newlines and end with one).
        content: String,
    },
    /// Create a directory and its parents.
    CreateDir {
        /// Where (`~` allowed).
        path: String,
    },
    /// Start a program in the desktop with the task's HOME (`~` in arguments expanded).
    Launch {
        /// The command line.
        argv: Vec<String>,
    },
    /// Wait for a top-level window whose title contains `title` (or matches it as a regular
    /// expression).
    WaitWindow {
        /// The regular expression actually used.
        pattern: String,
        /// Longest wait.
        timeout: Duration,
    },
    /// Run a command to completion in the task's HOME (`~` in arguments expanded); a non-zero
    /// exit fails the set-up.
    Execute {
        /// The command line.
        argv: Vec<String>,
        /// Longest wait for it to finish.
        timeout: Duration,
    },
    /// Raise and focus the first window whose title contains this text.
    ActivateWindow {
        /// Part of the title.
        title: String,
    },
    /// Wait a fixed time (for set-ups with nothing to wait on).
    Sleep {
        /// How long.
        duration: Duration,
    },
    /// Wait until an application shows a window on the accessibility bus.
    WaitAtspi {
        /// Its name on the bus.
        app: String,
        /// Longest wait.
        timeout: Duration,
    },
}

/// Reads a step's parameters strictly: unknown keys and wrong types are errors.
pub(crate) struct Params<'a> {
    map: Map<String, Value>,
    err: &'a dyn Fn(&str, String) -> TaskError,
}

impl<'a> Params<'a> {
    pub(crate) fn new(
        value: &Value,
        prefix: &str,
        err: &'a dyn Fn(&str, String) -> TaskError,
    ) -> Result<Params<'a>, TaskError> {
        match value {
            Value::Object(m) => Ok(Params {
                map: m.clone(),
                err,
            }),
            Value::Null => Ok(Params {
                map: Map::new(),
                err,
            }),
            other => Err(err(prefix, format!("must be an object, not {other}"))),
        }
    }

    pub(crate) fn fail(&self, field: &str, message: impl Into<String>) -> TaskError {
        (self.err)(field, message.into())
    }

    pub(crate) fn take(&mut self, key: &str) -> Option<Value> {
        self.map.remove(key)
    }

    pub(crate) fn string(&mut self, key: &str) -> Result<String, TaskError> {
        match self.take(key) {
            Some(Value::String(s)) => Ok(s),
            Some(other) => Err(self.fail(key, format!("must be a string, not {other}"))),
            None => Err(self.fail(key, "is missing")),
        }
    }

    pub(crate) fn opt_string(&mut self, key: &str) -> Result<Option<String>, TaskError> {
        match self.take(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(other) => Err(self.fail(key, format!("must be a string, not {other}"))),
        }
    }

    pub(crate) fn opt_bool(&mut self, key: &str) -> Result<Option<bool>, TaskError> {
        match self.take(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(b)),
            Some(other) => Err(self.fail(key, format!("must be true or false, not {other}"))),
        }
    }

    pub(crate) fn opt_f64(&mut self, key: &str) -> Result<Option<f64>, TaskError> {
        match self.take(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => match n.as_f64() {
                Some(f) if f.is_finite() && f >= 0.0 => Ok(Some(f)),
                _ => Err(self.fail(key, format!("must be a non-negative number, not {n}"))),
            },
            Some(other) => Err(self.fail(key, format!("must be a number, not {other}"))),
        }
    }

    fn strings(&mut self, key: &str) -> Result<Option<Vec<String>>, TaskError> {
        match self.take(key) {
            None => Ok(None),
            Some(Value::Array(items)) => items
                .into_iter()
                .enumerate()
                .map(|(i, v)| match v {
                    Value::String(s) => Ok(s),
                    other => Err(self.fail(
                        &format!("{key}[{i}]"),
                        format!("must be a string, not {other}"),
                    )),
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            Some(other) => Err(self.fail(key, format!("must be a list of strings, not {other}"))),
        }
    }

    /// Fails on the first key that is not known (a typo), before anything is read.
    pub(crate) fn check_known(&self, known: &[&str]) -> Result<(), TaskError> {
        match self.map.keys().find(|k| !known.contains(&k.as_str())) {
            Some(k) => Err(self.fail(
                k,
                format!("unknown parameter (known: {})", known.join(", ")),
            )),
            None => Ok(()),
        }
    }

    /// Fails on the first key nobody took (a typo).
    pub(crate) fn finish(self, known: &[&str]) -> Result<(), TaskError> {
        match self.map.keys().next() {
            Some(k) => Err(self.fail(
                k,
                format!("unknown parameter (known: {})", known.join(", ")),
            )),
            None => Ok(()),
        }
    }
}

fn timeout(p: &mut Params<'_>) -> Result<Duration, TaskError> {
    Ok(p.opt_f64("timeout")?
        .map(Duration::from_secs_f64)
        .unwrap_or(DEFAULT_WAIT))
}

/// Parses one step of a task.
pub fn parse_step(task: &str, index: usize, step: &SetupStep) -> Result<Setup, TaskError> {
    let kind = step.kind.clone();
    let err = |field: &str, message: String| TaskError::Setup {
        task: task.to_string(),
        step: index,
        kind: kind.clone(),
        field: if field == "type" || field == "parameters" {
            field.to_string()
        } else {
            format!("parameters.{field}")
        },
        message,
    };
    let mut p = Params::new(&step.parameters, "parameters", &err)?;
    let known: &[&str] = match step.kind.as_str() {
        "create_file" => &["path", "content", "lines"],
        "create_dir" => &["path"],
        "launch" => &["command"],
        "wait_window" => &["title", "regex", "timeout"],
        "wait_atspi" => &["app", "timeout"],
        "execute" => &["command", "timeout"],
        "activate_window" => &["window_name", "title"],
        "sleep" => &["seconds"],
        _ => &[],
    };
    if SETUP_TYPES.contains(&step.kind.as_str()) {
        p.check_known(known)?;
    }
    let setup = match step.kind.as_str() {
        "create_file" => {
            let path = p.string("path")?;
            let content = p.opt_string("content")?;
            let lines = p.strings("lines")?;
            let content = match (content, lines) {
                (Some(c), None) => c,
                (None, Some(lines)) => lines.iter().map(|l| format!("{l}\n")).collect(),
                (Some(_), Some(_)) => {
                    return Err(p.fail("lines", "give either content or lines, not both"))
                }
                (None, None) => return Err(p.fail("content", "is missing (or give lines)")),
            };
            p.finish(&["path", "content", "lines"])?;
            Setup::CreateFile { path, content }
        }
        "create_dir" => {
            let path = p.string("path")?;
            p.finish(&["path"])?;
            Setup::CreateDir { path }
        }
        "launch" => {
            let argv = p
                .strings("command")?
                .ok_or_else(|| p.fail("command", "is missing"))?;
            if argv.is_empty() || argv[0].trim().is_empty() {
                return Err(p.fail("command", "is empty"));
            }
            p.finish(&["command"])?;
            Setup::Launch { argv }
        }
        "wait_window" => {
            let title = p.string("title")?;
            let regex = p.opt_bool("regex")?.unwrap_or(false);
            let timeout = timeout(&mut p)?;
            let pattern = if regex {
                regex::Regex::new(&title)
                    .map_err(|e| p.fail("title", format!("bad regular expression: {e}")))?;
                title
            } else {
                regex::escape(&title)
            };
            p.finish(&["title", "regex", "timeout"])?;
            Setup::WaitWindow { pattern, timeout }
        }
        "execute" => {
            let argv = p
                .strings("command")?
                .ok_or_else(|| p.fail("command", "is missing"))?;
            if argv.is_empty() || argv[0].trim().is_empty() {
                return Err(p.fail("command", "is empty"));
            }
            let timeout = timeout(&mut p)?;
            p.finish(&["command", "timeout"])?;
            Setup::Execute { argv, timeout }
        }
        "activate_window" => {
            let title = match (p.opt_string("window_name")?, p.opt_string("title")?) {
                (Some(t), None) | (None, Some(t)) => t,
                (Some(_), Some(_)) => {
                    return Err(p.fail("title", "give either window_name or title, not both"))
                }
                (None, None) => return Err(p.fail("title", "is missing")),
            };
            p.finish(&["window_name", "title"])?;
            Setup::ActivateWindow { title }
        }
        "sleep" => {
            let seconds = p
                .opt_f64("seconds")?
                .ok_or_else(|| p.fail("seconds", "is missing"))?;
            if seconds > 60.0 {
                return Err(p.fail("seconds", "must be at most 60"));
            }
            p.finish(&["seconds"])?;
            Setup::Sleep {
                duration: Duration::from_secs_f64(seconds),
            }
        }
        "wait_atspi" => {
            let app = p.string("app")?;
            let timeout = timeout(&mut p)?;
            p.finish(&["app", "timeout"])?;
            Setup::WaitAtspi { app, timeout }
        }
        other => {
            return Err(err(
                "type",
                format!(
                    "unknown set-up type {other:?} (known: {})",
                    SETUP_TYPES.join(", ")
                ),
            ))
        }
    };
    Ok(setup)
}

/// Parses every set-up step of a task.
pub fn parse_setup(spec: &TaskSpec) -> Result<Vec<Setup>, TaskError> {
    spec.config
        .iter()
        .enumerate()
        .map(|(i, s)| parse_step(&spec.id, i, s))
        .collect()
}

/// The screen size a task's snapshot names ("xvfb-openbox-1280x800"), 1280x800 by default.
pub fn snapshot_size(spec: &TaskSpec) -> Result<(u32, u32), TaskError> {
    let Some(snapshot) = spec.snapshot.as_deref() else {
        return Ok((1280, 800));
    };
    let bad = || TaskError::Field {
        task: spec.id.clone(),
        field: "snapshot".into(),
        message: format!("{snapshot:?} does not end in a screen size such as 1280x800"),
    };
    let size = snapshot.rsplit('-').next().ok_or_else(bad)?;
    let r = crate::Resolution::parse(size).map_err(|_| bad())?;
    Ok((r.width, r.height))
}
