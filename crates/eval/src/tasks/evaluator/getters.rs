//! Getters: where an evaluator reads real state, as written in a task file
//! (`{"type": "file_content", "path": "~/notes.txt"}`), and reading it from a session.

use deskhand_core::ports::{Accessibility, TreeQuery, TreeScope};
use deskhand_core::NodeState;
use serde::{Deserialize, Deserializer};

use super::super::session::TaskSession;
use super::parse::by_name_or_default;

/// Where a getter reads real state. Deserialized from the task file's
/// `{"type": "<getter>", ...}` objects; an unknown type or parameter is an error.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(
    tag = "type",
    rename_all = "snake_case",
    deny_unknown_fields,
    expecting = "an object"
)]
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
        /// Which selection (default: the clipboard).
        #[serde(default, deserialize_with = "by_name_or_default")]
        selection: Selection,
    },
    /// The title of the active window.
    WindowTitle {},
    /// The titles of every top-level window.
    WindowTitles {},
    /// An attribute of the first node of an application's accessibility tree with this role
    /// (and name, when given); showing nodes are preferred.
    AtspiFind {
        /// The application's name on the bus.
        app: String,
        /// The role ("text", "push button").
        role: String,
        /// The node's name, when it must match.
        #[serde(default)]
        name: Option<String>,
        /// Which attribute is read (default: the text).
        #[serde(default, deserialize_with = "by_name_or_default")]
        attr: NodeAttr,
    },
    /// What a command prints (run in the task's HOME with its environment; `~` expanded).
    CommandOutput {
        /// The command line (`command` in the task file).
        #[serde(rename = "command", deserialize_with = "command_line")]
        argv: Vec<String>,
    },
    /// Whether a directory exists.
    DirExists {
        /// The path.
        path: String,
    },
}

/// The X selection a [`Getter::Clipboard`] reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Selection {
    /// The clipboard (Ctrl+C), the default.
    #[default]
    Clipboard,
    /// The primary selection (the selected text).
    Primary,
}

impl Selection {
    /// The name xclip knows it by ("clipboard" or "primary").
    pub fn as_str(self) -> &'static str {
        match self {
            Selection::Clipboard => "clipboard",
            Selection::Primary => "primary",
        }
    }
}

/// The attribute of an accessibility node a [`Getter::AtspiFind`] reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NodeAttr {
    /// Its text content, the default.
    #[default]
    Text,
    /// Its accessible name.
    Name,
    /// Its accessible description.
    Description,
}

impl NodeAttr {
    /// The name a task file gives it ("text", "name" or "description").
    pub fn as_str(self) -> &'static str {
        match self {
            NodeAttr::Text => "text",
            NodeAttr::Name => "name",
            NodeAttr::Description => "description",
        }
    }
}

/// A non-empty list of strings.
fn command_line<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    let argv = Vec::<String>::deserialize(deserializer)?;
    if argv.is_empty() {
        return Err(serde::de::Error::custom(
            "must be a non-empty list of strings",
        ));
    }
    Ok(argv)
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

/// A text quoted for a detail line, cut to about 120 characters.
pub(super) fn short(s: &str) -> String {
    let q = format!("{s:?}");
    if q.chars().count() > 120 {
        format!("{}...\"", q.chars().take(117).collect::<String>())
    } else {
        q
    }
}

/// The getter in a few words, for a detail line.
pub(super) fn describe(getter: &Getter) -> String {
    match getter {
        Getter::FileContent { path } => format!("file_content {path}"),
        Getter::FileExists { path } => format!("file_exists {path}"),
        Getter::ListDirectory { path } => format!("list_directory {path}"),
        Getter::Clipboard { selection } => format!("clipboard ({})", selection.as_str()),
        Getter::WindowTitle {} => "window_title".into(),
        Getter::WindowTitles {} => "window_titles".into(),
        Getter::CommandOutput { argv } => format!("command_output {}", argv.join(" ")),
        Getter::DirExists { path } => format!("dir_exists {path}"),
        Getter::AtspiFind {
            app, role, attr, ..
        } => format!("atspi_find {app} {role:?}.{}", attr.as_str()),
    }
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
            let selection = selection.as_str();
            let text = session
                .desktop()
                .run("xclip", &["-selection", selection, "-o"])
                .map_err(|e| format!("the {selection} is empty or unreadable: {e}"))?;
            Ok(StateValue::Text(text))
        }
        Getter::WindowTitle {} => {
            let title = session
                .desktop()
                .run("xdotool", &["getactivewindow", "getwindowname"])
                .map_err(|e| format!("no active window: {e}"))?;
            Ok(StateValue::Text(title.trim_end_matches('\n').to_string()))
        }
        Getter::WindowTitles {} => Ok(StateValue::List(
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
            Ok(StateValue::Text(match attr {
                NodeAttr::Name => node.name.clone(),
                NodeAttr::Description => node.description.clone().unwrap_or_default(),
                NodeAttr::Text => node.text.clone().unwrap_or_default(),
            }))
        }
    }
}
