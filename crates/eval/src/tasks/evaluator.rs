//! A task's evaluator: getters of real state and metrics over them, parsed strictly and run
//! against a live [`TaskSession`].

use std::path::Path;
use std::time::{Duration, Instant};

use deskhand_core::ports::{Accessibility, TreeQuery, TreeScope};
use deskhand_core::task::TaskSpec;
use deskhand_core::NodeState;
use serde::Serialize;
use serde_json::Value;

use super::error::TaskError;
use super::session::TaskSession;
use super::setup::Params;

/// The getter types the harness knows.
pub const GETTERS: &[&str] = &[
    "file_content",
    "file_exists",
    "list_directory",
    "clipboard",
    "window_title",
    "window_titles",
    "atspi_find",
    "command_output",
    "dir_exists",
];

/// The metric names the harness knows.
pub const METRICS: &[&str] = &[
    "exact_match",
    "contains",
    "regex_match",
    "float_close",
    "text_last_line",
    "is_true",
    "is_false",
    "literal_match",
    "is_in_list",
    "check_include_exclude",
    "fuzzy_match",
    "infeasible",
];

/// How the agent ended its run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AgentVerdict {
    /// It said the task is done.
    Done,
    /// It gave up or declared the task infeasible.
    Fail,
    /// No verdict (no agent ran, or it stopped without one).
    None,
}

/// The result of evaluating a task: 1.0 or 0.0, and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Score {
    /// 1.0 when the task is judged done, else 0.0.
    pub score: f64,
    /// One line per metric (what was read, what was expected), and any failure.
    pub details: Vec<String>,
}

impl Score {
    fn zero(reason: impl Into<String>) -> Score {
        Score {
            score: 0.0,
            details: vec![reason.into()],
        }
    }

    /// True when the score is 1.
    pub fn passed(&self) -> bool {
        self.score >= 1.0
    }
}

/// Where a getter reads real state.
#[derive(Debug, Clone, PartialEq)]
pub enum Getter {
    /// A file's text (`~` = the session's HOME); fails when it does not exist.
    FileContent {
        /// The path.
        path: String,
    },
    /// Whether a file exists.
    FileExists {
        /// The path.
        path: String,
    },
    /// The names in a directory, sorted.
    ListDirectory {
        /// The path.
        path: String,
    },
    /// The clipboard's text (xclip); fails when it is empty.
    Clipboard {
        /// "clipboard" or "primary".
        selection: String,
    },
    /// The title of the active window.
    WindowTitle,
    /// The titles of every top-level window.
    WindowTitles,
    /// What a command prints (run in the task's HOME with its environment; `~` expanded).
    CommandOutput {
        /// The command line.
        argv: Vec<String>,
    },
    /// Whether a directory exists.
    DirExists {
        /// The path.
        path: String,
    },
    /// An attribute of the first node of an application's accessibility tree with this role
    /// (and name, when given); showing nodes are preferred.
    AtspiFind {
        /// The application's name on the bus.
        app: String,
        /// The role ("text", "push button").
        role: String,
        /// The node's name, when it must match.
        name: Option<String>,
        /// "text", "name" or "description".
        attr: String,
    },
}

/// A value a getter read.
#[derive(Debug, Clone, PartialEq)]
pub enum StateValue {
    /// Text.
    Text(String),
    /// A list of texts.
    List(Vec<String>),
    /// A yes/no.
    Bool(bool),
}

impl std::fmt::Display for StateValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StateValue::Text(t) => write!(f, "{}", short(t)),
            StateValue::List(l) => write!(
                f,
                "[{}]",
                l.iter().map(|s| short(s)).collect::<Vec<_>>().join(", ")
            ),
            StateValue::Bool(b) => write!(f, "{b}"),
        }
    }
}

fn short(s: &str) -> String {
    let q = format!("{s:?}");
    if q.chars().count() > 120 {
        format!("{}...\"", q.chars().take(117).collect::<String>())
    } else {
        q
    }
}

/// What a metric expects.
#[derive(Debug, Clone)]
pub enum Metric {
    /// The value equals the text (or, for a list, the same items in any order).
    ExactMatch {
        /// Expected text or items.
        expected: Expected,
        /// Trim whitespace on both sides first (default true).
        strip: bool,
        /// Compare case-insensitively (default false).
        ignore_case: bool,
    },
    /// The text contains this text (for a list: one item does).
    Contains {
        /// The needle.
        expected: String,
        /// Trim whitespace first (default true).
        strip: bool,
        /// Compare case-insensitively (default false).
        ignore_case: bool,
    },
    /// The text matches the regular expression (for a list: one item does).
    RegexMatch {
        /// The compiled expression.
        pattern: regex::Regex,
    },
    /// The text is a number within `tol` of `expected`.
    FloatClose {
        /// The expected number.
        expected: f64,
        /// Allowed absolute difference (default 1e-6).
        tol: f64,
    },
    /// The last non-empty line of the text equals this text.
    TextLastLine {
        /// The expected line.
        expected: String,
        /// Trim whitespace first (default true).
        strip: bool,
        /// Compare case-insensitively (default false).
        ignore_case: bool,
    },
    /// The value is `true`.
    IsTrue,
    /// The value is `false`.
    IsFalse,
    /// The text is one of these (after trimming).
    IsInList {
        /// The accepted texts.
        expected: Vec<String>,
    },
    /// The text contains every `include` and no `exclude` text.
    IncludeExclude {
        /// Texts that must be there.
        include: Vec<String>,
        /// Texts that must not.
        exclude: Vec<String>,
    },
    /// The text is at least `threshold` similar to `expected` (1 - edit distance / length).
    FuzzyMatch {
        /// The expected text.
        expected: String,
        /// Least similarity (default 0.9).
        threshold: f64,
    },
    /// Scores 1 only when the agent ended with a Fail (infeasible) verdict.
    Infeasible,
}

/// The expected side of an exact match.
#[derive(Debug, Clone, PartialEq)]
pub enum Expected {
    /// One text.
    Text(String),
    /// Items, in any order.
    List(Vec<String>),
}

/// One metric with the getter it reads.
#[derive(Debug, Clone)]
pub struct Check {
    /// The metric's name as written.
    pub func: String,
    /// What it expects.
    pub metric: Metric,
    /// Where it reads (none for `infeasible`).
    pub getter: Option<Getter>,
}

/// How the checks combine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conj {
    /// Every check must pass (the default).
    And,
    /// One check must pass.
    Or,
}

/// A parsed evaluator.
#[derive(Debug, Clone)]
pub struct Evaluator {
    /// The checks, in order.
    pub checks: Vec<Check>,
    /// How they combine.
    pub conj: Conj,
}

impl Evaluator {
    /// True when the task is infeasible (a Fail verdict is the right answer).
    pub fn infeasible(&self) -> bool {
        self.checks
            .iter()
            .any(|c| matches!(c.metric, Metric::Infeasible))
    }
}

/// `x` or `[x, y]` -> a list, with the index to name in errors (None for a single value).
fn arity(value: Option<&Value>, n: usize) -> Result<Vec<Option<Value>>, String> {
    match value {
        None | Some(Value::Null) => Ok(vec![None; n]),
        Some(Value::Array(items)) if n != 1 || items.len() == 1 => {
            if items.len() != n {
                return Err(format!("has {} entries but func has {n}", items.len()));
            }
            Ok(items
                .iter()
                .map(|v| (!v.is_null()).then(|| v.clone()))
                .collect())
        }
        Some(v) if n == 1 => Ok(vec![Some(v.clone())]),
        Some(_) => Err(format!("must be a list of {n} entries, like func")),
    }
}

/// Parses a task's evaluator; every unknown name or missing field is an error naming it.
pub fn parse_evaluator(spec: &TaskSpec) -> Result<Evaluator, TaskError> {
    let task = spec.id.as_str();
    let err = |field: &str, message: String| TaskError::Field {
        task: task.to_string(),
        field: format!("evaluator.{field}"),
        message,
    };
    let Value::Object(map) = &spec.evaluator else {
        return Err(err("", "must be an object".into()));
    };
    if let Some(k) = map
        .keys()
        .find(|k| !["func", "conj", "result", "expected", "options"].contains(&k.as_str()))
    {
        return Err(err(
            k,
            "unknown field (known: func, conj, result, expected, options)".into(),
        ));
    }
    let funcs: Vec<String> = match map.get("func") {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(items)) if !items.is_empty() => items
            .iter()
            .enumerate()
            .map(|(i, v)| {
                v.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| err(&format!("func[{i}]"), "must be a metric name".into()))
            })
            .collect::<Result<_, _>>()?,
        Some(_) => {
            return Err(err(
                "func",
                "must be a metric name or a list of them".into(),
            ))
        }
        None => return Err(err("func", "is missing".into())),
    };
    let single = matches!(map.get("func"), Some(Value::String(_)));
    let at = |field: &str, i: usize| {
        if single {
            field.to_string()
        } else {
            format!("{field}[{i}]")
        }
    };
    let conj = match map.get("conj") {
        None => Conj::And,
        Some(Value::String(s)) if s == "and" => Conj::And,
        Some(Value::String(s)) if s == "or" => Conj::Or,
        Some(other) => {
            return Err(err(
                "conj",
                format!("must be \"and\" or \"or\", not {other}"),
            ))
        }
    };
    let n = funcs.len();
    let results = arity(map.get("result"), n).map_err(|m| err("result", m))?;
    let expected = arity(map.get("expected"), n).map_err(|m| err("expected", m))?;
    let options = arity(map.get("options"), n).map_err(|m| err("options", m))?;
    let mut checks = Vec::new();
    for (i, func) in funcs.iter().enumerate() {
        let getter = match &results[i] {
            Some(v) => Some(parse_getter(v, &at("result", i), &err)?),
            None => None,
        };
        let metric = parse_metric(
            func,
            expected[i].as_ref(),
            options[i].as_ref(),
            &|field: &str, message: String| {
                let f = match field {
                    "func" => at("func", i),
                    f if f.starts_with("options") => {
                        format!("{}{}", at("options", i), &f["options".len()..])
                    }
                    f => format!("{}{}", at("expected", i), &f["expected".len()..]),
                };
                err(&f, message)
            },
        )?;
        match (&metric, &getter) {
            (Metric::Infeasible, Some(_)) => {
                return Err(err(&at("result", i), "infeasible reads no state".into()))
            }
            (Metric::Infeasible, None) | (_, Some(_)) => {}
            (_, None) => return Err(err(&at("result", i), "is missing (a getter)".into())),
        }
        checks.push(Check {
            func: func.clone(),
            metric,
            getter,
        });
    }
    Ok(Evaluator { checks, conj })
}

fn parse_getter(
    value: &Value,
    field: &str,
    err: &dyn Fn(&str, String) -> TaskError,
) -> Result<Getter, TaskError> {
    let sub = |key: &str, message: String| err(&format!("{field}.{key}"), message);
    let mut p = Params::new(value, field, &sub)?;
    let kind = p.string("type")?;
    let known: &[&str] = match kind.as_str() {
        "file_content" | "file_exists" | "list_directory" => &["path"],
        "clipboard" => &["selection"],
        "atspi_find" => &["app", "role", "name", "attr"],
        "command_output" => &["command"],
        "dir_exists" => &["path"],
        _ => &[],
    };
    if GETTERS.contains(&kind.as_str()) {
        p.check_known(known)?;
    }
    let getter = match kind.as_str() {
        "file_content" => Getter::FileContent {
            path: p.string("path")?,
        },
        "file_exists" => Getter::FileExists {
            path: p.string("path")?,
        },
        "list_directory" => Getter::ListDirectory {
            path: p.string("path")?,
        },
        "clipboard" => {
            let selection = p
                .opt_string("selection")?
                .unwrap_or_else(|| "clipboard".into());
            if !["clipboard", "primary"].contains(&selection.as_str()) {
                return Err(p.fail("selection", "must be clipboard or primary"));
            }
            Getter::Clipboard { selection }
        }
        "window_title" => Getter::WindowTitle,
        "window_titles" => Getter::WindowTitles,
        "dir_exists" => Getter::DirExists {
            path: p.string("path")?,
        },
        "command_output" => {
            let argv = match p.take("command") {
                Some(Value::Array(items)) if !items.is_empty() => items
                    .iter()
                    .map(|v| v.as_str().map(str::to_string))
                    .collect::<Option<Vec<_>>>()
                    .ok_or_else(|| p.fail("command", "must be a list of strings"))?,
                _ => return Err(p.fail("command", "must be a non-empty list of strings")),
            };
            Getter::CommandOutput { argv }
        }
        "atspi_find" => {
            let app = p.string("app")?;
            let role = p.string("role")?;
            let name = p.opt_string("name")?;
            let attr = p.opt_string("attr")?.unwrap_or_else(|| "text".into());
            if !["text", "name", "description"].contains(&attr.as_str()) {
                return Err(p.fail("attr", "must be text, name or description"));
            }
            Getter::AtspiFind {
                app,
                role,
                name,
                attr,
            }
        }
        other => {
            return Err(p.fail(
                "type",
                format!("unknown getter {other:?} (known: {})", GETTERS.join(", ")),
            ))
        }
    };
    let known: &[&str] = match getter {
        Getter::FileContent { .. }
        | Getter::FileExists { .. }
        | Getter::ListDirectory { .. }
        | Getter::DirExists { .. } => &["type", "path"],
        Getter::CommandOutput { .. } => &["type", "command"],
        Getter::Clipboard { .. } => &["type", "selection"],
        Getter::WindowTitle | Getter::WindowTitles => &["type"],
        Getter::AtspiFind { .. } => &["type", "app", "role", "name", "attr"],
    };
    p.finish(known)?;
    Ok(getter)
}

/// The rules of an `expected` entry: `{"type": "rule", "rules": {...}}`.
fn rules<'a>(
    expected: Option<&'a Value>,
    err: &dyn Fn(&str, String) -> TaskError,
) -> Result<&'a serde_json::Map<String, Value>, TaskError> {
    let Some(Value::Object(e)) = expected else {
        return Err(err(
            "expected",
            "is missing: write {\"type\": \"rule\", \"rules\": {...}}".into(),
        ));
    };
    if let Some(k) = e.keys().find(|k| *k != "type" && *k != "rules") {
        return Err(err(
            &format!("expected.{k}"),
            "unknown field (known: type, rules)".into(),
        ));
    }
    match e.get("type") {
        Some(Value::String(t)) if t == "rule" => {}
        other => {
            return Err(err(
                "expected.type",
                format!("must be \"rule\", not {}", other.unwrap_or(&Value::Null)),
            ))
        }
    }
    match e.get("rules") {
        Some(Value::Object(r)) => Ok(r),
        _ => Err(err("expected.rules", "must be an object".into())),
    }
}

fn rule_string(
    r: &serde_json::Map<String, Value>,
    key: &str,
    err: &dyn Fn(&str, String) -> TaskError,
) -> Result<String, TaskError> {
    match r.get(key) {
        Some(Value::String(s)) => Ok(s.clone()),
        Some(Value::Number(n)) => Ok(n.to_string()),
        Some(other) => Err(err(
            &format!("expected.rules.{key}"),
            format!("must be a string, not {other}"),
        )),
        None => Err(err(&format!("expected.rules.{key}"), "is missing".into())),
    }
}

fn rule_strings(
    r: &serde_json::Map<String, Value>,
    key: &str,
    err: &dyn Fn(&str, String) -> TaskError,
) -> Result<Vec<String>, TaskError> {
    let field = format!("expected.rules.{key}");
    match r.get(key) {
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| match v {
                Value::String(s) => Ok(s.clone()),
                Value::Number(n) => Ok(n.to_string()),
                other => Err(err(&field, format!("items must be strings, not {other}"))),
            })
            .collect(),
        Some(other) => Err(err(
            &field,
            format!("must be a list of strings, not {other}"),
        )),
        None => Err(err(&field, "is missing".into())),
    }
}

fn only_rules(
    r: &serde_json::Map<String, Value>,
    known: &[&str],
    err: &dyn Fn(&str, String) -> TaskError,
) -> Result<(), TaskError> {
    match r.keys().find(|k| !known.contains(&k.as_str())) {
        Some(k) => Err(err(
            &format!("expected.rules.{k}"),
            format!("unknown rule (known: {})", known.join(", ")),
        )),
        None => Ok(()),
    }
}

fn parse_metric(
    func: &str,
    expected: Option<&Value>,
    options: Option<&Value>,
    err: &dyn Fn(&str, String) -> TaskError,
) -> Result<Metric, TaskError> {
    let opt_err = |key: &str, message: String| {
        let key = if key == "options" {
            "options".to_string()
        } else {
            format!("options.{key}")
        };
        err(&key, message)
    };
    let mut o = Params::new(options.unwrap_or(&Value::Null), "options", &opt_err)?;
    let metric = match func {
        "exact_match" | "contains" | "text_last_line" => {
            o.check_known(&["strip", "ignore_case"])?;
            let r = rules(expected, err)?;
            only_rules(r, &["expected"], err)?;
            let strip = o.opt_bool("strip")?.unwrap_or(true);
            let ignore_case = o.opt_bool("ignore_case")?.unwrap_or(false);
            o.finish(&["strip", "ignore_case"])?;
            match func {
                "exact_match" => {
                    let expected = match r.get("expected") {
                        Some(Value::Array(items)) => Expected::List(
                            items
                                .iter()
                                .map(|v| match v {
                                    Value::String(s) => Ok(s.clone()),
                                    other => Err(err(
                                        "expected.rules.expected",
                                        format!("list items must be strings, not {other}"),
                                    )),
                                })
                                .collect::<Result<_, _>>()?,
                        ),
                        _ => Expected::Text(rule_string(r, "expected", err)?),
                    };
                    Metric::ExactMatch {
                        expected,
                        strip,
                        ignore_case,
                    }
                }
                "contains" => Metric::Contains {
                    expected: rule_string(r, "expected", err)?,
                    strip,
                    ignore_case,
                },
                _ => Metric::TextLastLine {
                    expected: rule_string(r, "expected", err)?,
                    strip,
                    ignore_case,
                },
            }
        }
        "regex_match" => {
            o.check_known(&["ignore_case"])?;
            let r = rules(expected, err)?;
            only_rules(r, &["pattern"], err)?;
            let ignore_case = o.opt_bool("ignore_case")?.unwrap_or(false);
            o.finish(&["ignore_case"])?;
            let pattern = rule_string(r, "pattern", err)?;
            let pattern = regex::RegexBuilder::new(&pattern)
                .case_insensitive(ignore_case)
                .build()
                .map_err(|e| {
                    err(
                        "expected.rules.pattern",
                        format!("bad regular expression: {e}"),
                    )
                })?;
            Metric::RegexMatch { pattern }
        }
        "float_close" => {
            o.check_known(&["tol"])?;
            let r = rules(expected, err)?;
            only_rules(r, &["expected"], err)?;
            let expected = match r.get("expected") {
                Some(Value::Number(n)) => n.as_f64(),
                Some(Value::String(s)) => s.trim().parse().ok(),
                _ => None,
            }
            .ok_or_else(|| err("expected.rules.expected", "must be a number".into()))?;
            let tol = o.opt_f64("tol")?.unwrap_or(1e-6);
            o.finish(&["tol"])?;
            Metric::FloatClose { expected, tol }
        }
        "is_true" | "is_false" | "infeasible" => {
            if expected.is_some() {
                return Err(err("expected", format!("{func} takes no expected value")));
            }
            o.check_known(&[])?;
            match func {
                "is_true" => Metric::IsTrue,
                "is_false" => Metric::IsFalse,
                _ => Metric::Infeasible,
            }
        }
        "literal_match" => {
            o.check_known(&[])?;
            let r = rules(expected, err)?;
            only_rules(r, &["expected"], err)?;
            Metric::ExactMatch {
                expected: Expected::Text(rule_string(r, "expected", err)?),
                strip: false,
                ignore_case: false,
            }
        }
        "is_in_list" => {
            o.check_known(&[])?;
            let r = rules(expected, err)?;
            only_rules(r, &["expected"], err)?;
            Metric::IsInList {
                expected: rule_strings(r, "expected", err)?,
            }
        }
        "check_include_exclude" => {
            o.check_known(&[])?;
            let r = rules(expected, err)?;
            only_rules(r, &["include", "exclude"], err)?;
            let include = match r.get("include") {
                Some(_) => rule_strings(r, "include", err)?,
                None => Vec::new(),
            };
            let exclude = match r.get("exclude") {
                Some(_) => rule_strings(r, "exclude", err)?,
                None => Vec::new(),
            };
            if include.is_empty() && exclude.is_empty() {
                return Err(err("expected.rules", "give include and/or exclude".into()));
            }
            Metric::IncludeExclude { include, exclude }
        }
        "fuzzy_match" => {
            o.check_known(&["threshold"])?;
            let r = rules(expected, err)?;
            only_rules(r, &["expected"], err)?;
            let threshold = o.opt_f64("threshold")?.unwrap_or(0.9);
            if threshold > 1.0 {
                return Err(err("options.threshold", "must be between 0 and 1".into()));
            }
            Metric::FuzzyMatch {
                expected: rule_string(r, "expected", err)?,
                threshold,
            }
        }
        other => {
            return Err(err(
                "func",
                format!("unknown metric {other:?} (known: {})", METRICS.join(", ")),
            ))
        }
    };
    Ok(metric)
}

/// Checks that a task can be set up and evaluated (every step and check parses).
pub fn validate(spec: &TaskSpec) -> Result<(), TaskError> {
    super::setup::parse_setup(spec)?;
    super::setup::snapshot_size(spec)?;
    parse_evaluator(spec)?;
    Ok(())
}

/// Reads real state from the session.
pub fn get(getter: &Getter, session: &TaskSession) -> Result<StateValue, String> {
    match getter {
        Getter::FileContent { path } => {
            let p = session.expand(path);
            std::fs::read_to_string(&p)
                .map(StateValue::Text)
                .map_err(|e| format!("cannot read {}: {e}", p.display()))
        }
        Getter::FileExists { path } => Ok(StateValue::Bool(session.expand(path).is_file())),
        Getter::DirExists { path } => Ok(StateValue::Bool(session.expand(path).is_dir())),
        Getter::CommandOutput { argv } => session.command_output(argv).map(StateValue::Text),
        Getter::ListDirectory { path } => {
            let p = session.expand(path);
            let mut names: Vec<String> = std::fs::read_dir(&p)
                .map_err(|e| format!("cannot list {}: {e}", p.display()))?
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect();
            names.sort();
            Ok(StateValue::List(names))
        }
        Getter::Clipboard { selection } => {
            let text = session
                .desktop()
                .run("xclip", &["-selection", selection, "-o"])
                .map_err(|e| format!("the {selection} is empty or unreadable: {e}"))?;
            Ok(StateValue::Text(text))
        }
        Getter::WindowTitle => {
            let title = session
                .desktop()
                .run("xdotool", &["getactivewindow", "getwindowname"])
                .map_err(|e| format!("no active window: {e}"))?;
            Ok(StateValue::Text(title.trim_end_matches('\n').to_string()))
        }
        Getter::WindowTitles => Ok(StateValue::List(
            session
                .desktop()
                .windows()
                .map_err(|e| format!("cannot list windows: {e}"))?
                .into_iter()
                .map(|(_, t)| t)
                .collect(),
        )),
        Getter::AtspiFind {
            app,
            role,
            name,
            attr,
        } => {
            let reader = session.reader();
            let tree = reader
                .tree(&TreeQuery::new(TreeScope::App(app.clone())))
                .map_err(|e| format!("cannot read {app}'s accessibility tree: {e}"))?;
            let walk = tree.walk();
            let matching: Vec<_> = walk
                .iter()
                .map(|(_, n)| *n)
                .filter(|n| n.role == *role && name.as_ref().is_none_or(|want| n.name == *want))
                .collect();
            let node = matching
                .iter()
                .find(|n| n.has(NodeState::Showing))
                .or_else(|| matching.first())
                .ok_or_else(|| {
                    format!(
                        "{app} has no {role:?} node{}",
                        name.as_ref()
                            .map(|n| format!(" named {n:?}"))
                            .unwrap_or_default()
                    )
                })?;
            Ok(StateValue::Text(match attr.as_str() {
                "name" => node.name.clone(),
                "description" => node.description.clone().unwrap_or_default(),
                _ => node.text.clone().unwrap_or_default(),
            }))
        }
    }
}

fn norm(s: &str, strip: bool, ignore_case: bool) -> String {
    let s = if strip { s.trim() } else { s };
    if ignore_case {
        s.to_lowercase()
    } else {
        s.to_string()
    }
}

fn text_of<'a>(value: &'a StateValue, func: &str) -> Result<&'a str, String> {
    match value {
        StateValue::Text(t) => Ok(t),
        other => Err(format!("{func} needs text, the getter gave {other}")),
    }
}

/// Applies a metric to a value read (not `infeasible`, which depends on the verdict).
pub fn apply(metric: &Metric, value: &StateValue) -> Result<bool, String> {
    match metric {
        Metric::ExactMatch {
            expected,
            strip,
            ignore_case,
        } => match (value, expected) {
            (StateValue::List(items), Expected::List(want)) => {
                let mut got: Vec<String> = items
                    .iter()
                    .map(|s| norm(s, *strip, *ignore_case))
                    .collect();
                let mut want: Vec<String> =
                    want.iter().map(|s| norm(s, *strip, *ignore_case)).collect();
                got.sort();
                want.sort();
                Ok(got == want)
            }
            (StateValue::Text(t), Expected::Text(want)) => {
                Ok(norm(t, *strip, *ignore_case) == norm(want, *strip, *ignore_case))
            }
            (StateValue::Bool(b), Expected::Text(want)) => Ok(b.to_string() == want.trim()),
            (v, e) => Err(format!("exact_match cannot compare {v} with {e:?}")),
        },
        Metric::Contains {
            expected,
            strip,
            ignore_case,
        } => {
            let want = norm(expected, *strip, *ignore_case);
            match value {
                StateValue::Text(t) => Ok(norm(t, *strip, *ignore_case).contains(&want)),
                StateValue::List(items) => {
                    Ok(items.iter().any(|s| norm(s, *strip, *ignore_case) == want))
                }
                StateValue::Bool(_) => Err(format!("contains needs text, got {value}")),
            }
        }
        Metric::RegexMatch { pattern } => match value {
            StateValue::Text(t) => Ok(pattern.is_match(t)),
            StateValue::List(items) => Ok(items.iter().any(|s| pattern.is_match(s))),
            StateValue::Bool(_) => Err(format!("regex_match needs text, got {value}")),
        },
        Metric::FloatClose { expected, tol } => {
            let t = text_of(value, "float_close")?;
            let cleaned: String = t
                .chars()
                .filter(|c| !c.is_whitespace() && *c != ',' && *c != '\u{a0}')
                .collect();
            let got: f64 = cleaned
                .parse()
                .map_err(|_| format!("{} is not a number", short(t)))?;
            Ok((got - expected).abs() <= *tol)
        }
        Metric::TextLastLine {
            expected,
            strip,
            ignore_case,
        } => {
            let t = text_of(value, "text_last_line")?;
            let last = t.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("");
            Ok(norm(last, *strip, *ignore_case) == norm(expected, *strip, *ignore_case))
        }
        Metric::IsTrue => match value {
            StateValue::Bool(b) => Ok(*b),
            other => Err(format!("is_true needs a yes/no, got {other}")),
        },
        Metric::IsFalse => match value {
            StateValue::Bool(b) => Ok(!*b),
            other => Err(format!("is_false needs a yes/no, got {other}")),
        },
        Metric::IsInList { expected } => {
            let t = text_of(value, "is_in_list")?.trim();
            Ok(expected.iter().any(|e| e.trim() == t))
        }
        Metric::IncludeExclude { include, exclude } => {
            let t = text_of(value, "check_include_exclude")?;
            Ok(include.iter().all(|i| t.contains(i.as_str()))
                && !exclude.iter().any(|e| t.contains(e.as_str())))
        }
        Metric::FuzzyMatch {
            expected,
            threshold,
        } => {
            let t = text_of(value, "fuzzy_match")?;
            Ok(similarity(t.trim(), expected.trim()) >= *threshold)
        }
        Metric::Infeasible => Err("infeasible is judged by the verdict".into()),
    }
}

/// 1 - (edit distance / length of the longer text), over characters.
fn similarity(a: &str, b: &str) -> f64 {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let longest = a.len().max(b.len());
    if longest == 0 {
        return 1.0;
    }
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    1.0 - row[b.len()] as f64 / longest as f64
}

fn describe(getter: &Getter) -> String {
    match getter {
        Getter::FileContent { path } => format!("file_content {path}"),
        Getter::FileExists { path } => format!("file_exists {path}"),
        Getter::ListDirectory { path } => format!("list_directory {path}"),
        Getter::Clipboard { selection } => format!("clipboard ({selection})"),
        Getter::WindowTitle => "window_title".into(),
        Getter::WindowTitles => "window_titles".into(),
        Getter::CommandOutput { argv } => format!("command_output {}", argv.join(" ")),
        Getter::DirExists { path } => format!("dir_exists {path}"),
        Getter::AtspiFind {
            app, role, attr, ..
        } => format!("atspi_find {app} {role:?}.{attr}"),
    }
}

fn want(metric: &Metric) -> String {
    match metric {
        Metric::ExactMatch { expected, .. } => match expected {
            Expected::Text(t) => short(t),
            Expected::List(l) => format!("{l:?}"),
        },
        Metric::Contains { expected, .. } | Metric::TextLastLine { expected, .. } => {
            short(expected)
        }
        Metric::RegexMatch { pattern } => format!("/{}/", pattern.as_str()),
        Metric::FloatClose { expected, tol } => format!("{expected} ± {tol}"),
        Metric::IsTrue => "true".into(),
        Metric::IsFalse => "false".into(),
        Metric::IsInList { expected } => format!("one of {expected:?}"),
        Metric::IncludeExclude { include, exclude } => {
            format!("including {include:?}, excluding {exclude:?}")
        }
        Metric::FuzzyMatch {
            expected,
            threshold,
        } => format!("{} (similarity >= {threshold})", short(expected)),
        Metric::Infeasible => "a fail verdict".into(),
    }
}

/// Judges the task in its session: 1.0 when every check passes (or one, with `conj: or`).
/// A Fail verdict scores 1 only on an infeasible task, and 0 on a feasible one; a getter
/// that fails scores 0 with its reason in the details.
pub fn evaluate(spec: &TaskSpec, session: &TaskSession, verdict: AgentVerdict) -> Score {
    let evaluator = match parse_evaluator(spec) {
        Ok(e) => e,
        Err(e) => return Score::zero(e.to_string()),
    };
    if verdict == AgentVerdict::Fail && !evaluator.infeasible() {
        return Score::zero("the agent gave up (fail verdict) on a feasible task");
    }
    let mut details = Vec::new();
    let mut passes = Vec::new();
    for check in &evaluator.checks {
        let ok = match (&check.metric, &check.getter) {
            (Metric::Infeasible, _) => {
                let ok = verdict == AgentVerdict::Fail;
                details.push(format!(
                    "infeasible: verdict {verdict:?}, expected Fail -> {}",
                    u8::from(ok)
                ));
                ok
            }
            (metric, Some(getter)) => match get(getter, session) {
                Ok(value) => match apply(metric, &value) {
                    Ok(ok) => {
                        details.push(format!(
                            "{}({}): got {value}, expected {} -> {}",
                            check.func,
                            describe(getter),
                            want(metric),
                            u8::from(ok)
                        ));
                        ok
                    }
                    Err(e) => {
                        details.push(format!("{}({}): {e} -> 0", check.func, describe(getter)));
                        false
                    }
                },
                Err(e) => {
                    details.push(format!("{}({}): {e} -> 0", check.func, describe(getter)));
                    false
                }
            },
            (_, None) => false,
        };
        passes.push(ok);
    }
    let ok = match evaluator.conj {
        Conj::And => passes.iter().all(|p| *p),
        Conj::Or => passes.iter().any(|p| *p),
    };
    Score {
        score: if ok { 1.0 } else { 0.0 },
        details,
    }
}

/// Like [`evaluate`], but waits up to `timeout` for the state to reach a score of 1 (a save
/// or a copy lands a moment after the keystroke); returns the last score.
pub fn evaluate_within(
    spec: &TaskSpec,
    session: &TaskSession,
    verdict: AgentVerdict,
    timeout: Duration,
) -> Score {
    let start = Instant::now();
    loop {
        let score = evaluate(spec, session, verdict);
        if score.passed() || start.elapsed() >= timeout || verdict == AgentVerdict::Fail {
            return score;
        }
        std::thread::sleep(Duration::from_millis(150));
    }
}

/// Expands `~` and `~/...` to `home`.
pub fn expand_home(path: &str, home: &Path) -> std::path::PathBuf {
    if path == "~" {
        home.to_path_buf()
    } else if let Some(rest) = path.strip_prefix("~/") {
        home.join(rest)
    } else {
        std::path::PathBuf::from(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(evaluator: Value) -> TaskSpec {
        TaskSpec::from_json(
            &serde_json::json!({"id": "t", "instruction": "x", "evaluator": evaluator}).to_string(),
        )
        .unwrap()
    }

    fn text(s: &str) -> StateValue {
        StateValue::Text(s.into())
    }

    #[test]
    fn metrics_follow_their_options() {
        let ev = parse_evaluator(&spec(serde_json::json!({
            "func": ["exact_match", "exact_match", "contains", "regex_match", "float_close", "text_last_line"],
            "conj": "or",
            "result": [{"type": "clipboard"}, {"type": "file_content", "path": "~/a"},
                       {"type": "window_titles"}, {"type": "window_titles"},
                       {"type": "atspi_find", "app": "galculator", "role": "text"},
                       {"type": "clipboard", "selection": "primary"}],
            "expected": [{"type": "rule", "rules": {"expected": "Hello"}},
                         {"type": "rule", "rules": {"expected": "a\n"}},
                         {"type": "rule", "rules": {"expected": "notes.txt - Mousepad"}},
                         {"type": "rule", "rules": {"pattern": "^notes"}},
                         {"type": "rule", "rules": {"expected": 7006652}},
                         {"type": "rule", "rules": {"expected": "last"}}],
            "options": [{"ignore_case": true}, {"strip": false}, {}, {}, {"tol": 0.5}, {}]
        })))
        .unwrap();
        assert_eq!(ev.conj, Conj::Or);
        let m: Vec<&Metric> = ev.checks.iter().map(|c| &c.metric).collect();
        assert_eq!(apply(m[0], &text("  hello\n")), Ok(true));
        assert_eq!(apply(m[0], &text("hello world")), Ok(false));
        assert_eq!(apply(m[1], &text("a\n")), Ok(true));
        assert_eq!(apply(m[1], &text("a")), Ok(false));
        let titles = StateValue::List(vec!["xterm".into(), "notes.txt - Mousepad".into()]);
        assert_eq!(apply(m[2], &titles), Ok(true));
        assert_eq!(
            apply(
                m[2],
                &StateValue::List(vec!["*notes.txt - Mousepad".into()])
            ),
            Ok(false)
        );
        assert_eq!(apply(m[3], &titles), Ok(true));
        assert_eq!(apply(m[4], &text("7006652.2")), Ok(true));
        assert_eq!(apply(m[4], &text("7,006,653")), Ok(false));
        assert!(apply(m[4], &text("Error"))
            .unwrap_err()
            .contains("not a number"));
        assert_eq!(apply(m[5], &text("first\nlast\n\n")), Ok(true));
        assert_eq!(apply(m[5], &text("last\nfirst")), Ok(false));
        assert!(apply(m[3], &StateValue::Bool(true)).is_err());
    }

    #[test]
    fn lists_compare_in_any_order_and_infeasible_needs_no_getter() {
        let ev = parse_evaluator(&spec(serde_json::json!({
            "func": "exact_match",
            "result": {"type": "list_directory", "path": "~/Documents"},
            "expected": {"type": "rule", "rules": {"expected": ["b", "a"]}}
        })))
        .unwrap();
        let m = &ev.checks[0].metric;
        assert_eq!(
            apply(m, &StateValue::List(vec!["a".into(), "b".into()])),
            Ok(true)
        );
        assert_eq!(apply(m, &StateValue::List(vec!["a".into()])), Ok(false));
        let ev = parse_evaluator(&spec(serde_json::json!({"func": "infeasible"}))).unwrap();
        assert!(ev.infeasible());
        let e = parse_evaluator(&spec(serde_json::json!({
            "func": "exact_match",
            "expected": {"type": "rule", "rules": {"expected": "x"}}
        })))
        .unwrap_err();
        assert!(
            e.to_string().contains("evaluator.result: is missing"),
            "{e}"
        );
        let e = parse_evaluator(&spec(serde_json::json!({
            "func": ["is_true", "exact_match"], "result": {"type": "clipboard"}
        })))
        .unwrap_err();
        assert!(
            e.to_string()
                .contains("evaluator.result: must be a list of 2"),
            "{e}"
        );
    }

    #[test]
    fn list_include_exclude_and_fuzzy_metrics() {
        let ev = parse_evaluator(&spec(serde_json::json!({
            "func": ["is_in_list", "check_include_exclude", "fuzzy_match", "literal_match", "is_false"],
            "result": [{"type": "clipboard"}, {"type": "command_output", "command": ["ls", "-A", "~"]},
                       {"type": "clipboard"}, {"type": "clipboard"}, {"type": "dir_exists", "path": "~/x"}],
            "expected": [{"type": "rule", "rules": {"expected": ["7", "seven"]}},
                         {"type": "rule", "rules": {"include": [".env"], "exclude": ["core"]}},
                         {"type": "rule", "rules": {"expected": "Meeting moved to 10:30"}},
                         {"type": "rule", "rules": {"expected": "a\n"}},
                         null],
            "options": [{}, {}, {"threshold": 0.9}, {}, {}]
        })))
        .unwrap();
        let m: Vec<&Metric> = ev.checks.iter().map(|c| &c.metric).collect();
        assert_eq!(apply(m[0], &text(" seven\n")), Ok(true));
        assert_eq!(apply(m[0], &text("8")), Ok(false));
        assert_eq!(apply(m[1], &text(".env\nmain.rs\n")), Ok(true));
        assert_eq!(apply(m[1], &text(".env\ncore\n")), Ok(false));
        assert_eq!(apply(m[1], &text("main.rs")), Ok(false));
        assert_eq!(apply(m[2], &text("Meeting moved to 10:30")), Ok(true));
        assert_eq!(apply(m[2], &text("Meeting moved to 10.30")), Ok(true));
        assert_eq!(apply(m[2], &text("Meeting at 9")), Ok(false));
        assert_eq!(apply(m[3], &text("a\n")), Ok(true));
        assert_eq!(apply(m[3], &text("a")), Ok(false));
        assert_eq!(apply(m[4], &StateValue::Bool(false)), Ok(true));
        assert_eq!(similarity("", ""), 1.0);
        assert_eq!(similarity("kitten", "sitting"), 1.0 - 3.0 / 7.0);
        let e = parse_evaluator(&spec(serde_json::json!({
            "func": "check_include_exclude", "result": {"type": "clipboard"},
            "expected": {"type": "rule", "rules": {"includes": ["a"]}}
        })))
        .unwrap_err();
        assert!(
            e.to_string()
                .contains("expected.rules.includes: unknown rule"),
            "{e}"
        );
    }

    #[test]
    fn home_is_expanded_only_at_the_start() {
        let home = Path::new("/h");
        assert_eq!(expand_home("~/a/b", home), Path::new("/h/a/b"));
        assert_eq!(expand_home("~", home), Path::new("/h"));
        assert_eq!(expand_home("/x/~/y", home), Path::new("/x/~/y"));
    }
}
