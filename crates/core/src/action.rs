//! The action space shared by every agent and front end.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::geometry::{CoordSpace, Point};
use crate::input::{Key, KeyChord};
use crate::layout::NodeId;

/// What an action points at: a node of the current layout tree, or a point as a fallback.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
// No deny_unknown_fields here: serde does not support it together with `flatten`.
#[serde(rename_all = "snake_case", tag = "by")]
pub enum Target {
    /// A node of the layout tree the action was chosen from.
    Node {
        /// The node id shown in the Set-of-Marks image and the compact tree.
        id: NodeId,
    },
    /// A point in the given coordinate space.
    Point {
        /// Horizontal coordinate.
        x: f64,
        /// Vertical coordinate.
        y: f64,
        /// The space the point is expressed in (desktop when omitted). Optional because
        /// serde's `flatten` treats a missing tagged enum as an error, not as its default.
        #[serde(default, flatten, skip_serializing_if = "Option::is_none")]
        space: Option<CoordSpace>,
    },
}

impl Target {
    /// A target by node id.
    pub fn node(id: impl Into<NodeId>) -> Self {
        Target::Node { id: id.into() }
    }

    /// A target at a desktop point.
    pub fn desktop(x: f64, y: f64) -> Self {
        Target::Point { x, y, space: None }
    }

    /// The point and its space, when the target is a point.
    pub fn as_point(&self) -> Option<(Point, CoordSpace)> {
        match self {
            Target::Point { x, y, space } => Some((Point::new(*x, *y), space.unwrap_or_default())),
            Target::Node { .. } => None,
        }
    }
}

/// A mouse button.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(rename_all = "snake_case")]
pub enum MouseButton {
    /// The primary button.
    #[default]
    Left,
    /// The secondary button.
    Right,
    /// The wheel button.
    Middle,
}

/// Scroll distance in wheel notches; positive is down / right.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
pub struct ScrollAmount {
    /// Horizontal notches (positive = right).
    #[serde(default)]
    pub dx: i32,
    /// Vertical notches (positive = down).
    #[serde(default)]
    pub dy: i32,
}

/// One action the agent can take. Every variant is checked by [`Action::validate`] before it
/// is executed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", tag = "kind", deny_unknown_fields)]
pub enum Action {
    /// Press and release a button over the target.
    Click {
        /// Where to click.
        target: Target,
        /// Which button (left when omitted).
        #[serde(default)]
        button: MouseButton,
        /// Modifier keys held during the click ("ctrl", "shift", "ctrl+shift"): ctrl+click
        /// adds to a selection, shift+click extends it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schemars(with = "Option<String>")]
        modifiers: Option<KeyChord>,
    },
    /// Two left clicks in quick succession.
    DoubleClick {
        /// Where to double click.
        target: Target,
    },
    /// Three left clicks in quick succession (selects a line or paragraph).
    TripleClick {
        /// Where to triple click.
        target: Target,
    },
    /// A right click (context menu).
    RightClick {
        /// Where to right click.
        target: Target,
    },
    /// Press at `from`, move to `to`, release.
    Drag {
        /// Where the drag starts.
        from: Target,
        /// Where it ends.
        to: Target,
    },
    /// Move the pointer over the target and turn the wheel.
    Scroll {
        /// Where to scroll.
        target: Target,
        /// How far.
        amount: ScrollAmount,
    },
    /// Move the pointer over the target without clicking.
    Hover {
        /// Where to hover.
        target: Target,
    },
    /// Type text into whatever has keyboard focus.
    Type {
        /// The text to type.
        text: String,
    },
    /// Press a key chord such as "ctrl+s" or "Return".
    Key {
        /// The chord, e.g. "ctrl+shift+s".
        #[schemars(with = "String")]
        chord: KeyChord,
    },
    /// Hold keys down until a matching `release`.
    Hold {
        /// Keys to hold.
        #[schemars(with = "String")]
        chord: KeyChord,
    },
    /// Release keys held by `hold`.
    Release {
        /// Keys to release.
        #[schemars(with = "String")]
        chord: KeyChord,
    },
    /// Start an application by desktop-entry name or command.
    OpenApp {
        /// Name of the application (e.g. "mousepad").
        name: String,
    },
    /// Bring a window to the front by (part of) its title or its application name.
    FocusWindow {
        /// Title substring or application name.
        title: String,
    },
    /// Wait for the screen to change or for a fixed time.
    Wait {
        /// Milliseconds to wait at most.
        ms: u64,
    },
    /// The task is complete.
    Done {
        /// What was achieved, for the user.
        #[serde(default)]
        summary: String,
    },
    /// The task cannot be done (infeasible or stuck).
    Fail {
        /// Why.
        reason: String,
    },
    /// Ask the user a question and wait for the answer.
    AskUser {
        /// The question.
        question: String,
    },
}

/// Longest text one `type` action may carry; longer text is a model error, not a task.
pub const MAX_TYPE_LEN: usize = 20_000;
/// Longest wait one action may ask for.
pub const MAX_WAIT_MS: u64 = 60_000;

impl Action {
    /// The action's kind as it appears in JSON (`"click"`, `"type"`, ...).
    pub fn kind(&self) -> &'static str {
        match self {
            Action::Click { .. } => "click",
            Action::DoubleClick { .. } => "double_click",
            Action::TripleClick { .. } => "triple_click",
            Action::RightClick { .. } => "right_click",
            Action::Drag { .. } => "drag",
            Action::Scroll { .. } => "scroll",
            Action::Hover { .. } => "hover",
            Action::Type { .. } => "type",
            Action::Key { .. } => "key",
            Action::Hold { .. } => "hold",
            Action::Release { .. } => "release",
            Action::OpenApp { .. } => "open_app",
            Action::FocusWindow { .. } => "focus_window",
            Action::Wait { .. } => "wait",
            Action::Done { .. } => "done",
            Action::Fail { .. } => "fail",
            Action::AskUser { .. } => "ask_user",
        }
    }

    /// The targets this action points at, in the order they are used.
    pub fn targets(&self) -> Vec<&Target> {
        match self {
            Action::Click { target, .. }
            | Action::DoubleClick { target }
            | Action::TripleClick { target }
            | Action::RightClick { target }
            | Action::Scroll { target, .. }
            | Action::Hover { target } => vec![target],
            Action::Drag { from, to } => vec![from, to],
            _ => Vec::new(),
        }
    }

    /// True for actions that end a run.
    pub fn is_terminal(&self) -> bool {
        matches!(self, Action::Done { .. } | Action::Fail { .. })
    }

    /// Checks what can be checked without a screen: text sizes, waits, empty names.
    /// Targets are checked later, against the layout tree and the monitors.
    pub fn validate(&self) -> Result<(), crate::error::ActionError> {
        use crate::error::ActionError;
        match self {
            Action::Type { text } if text.is_empty() => {
                Err(ActionError::Invalid("type: text is empty".into()))
            }
            Action::Type { text } if text.chars().count() > MAX_TYPE_LEN => {
                Err(ActionError::Invalid(format!(
                    "type: text is longer than {MAX_TYPE_LEN} characters"
                )))
            }
            Action::Wait { ms } if *ms > MAX_WAIT_MS => Err(ActionError::Invalid(format!(
                "wait: {ms} ms is longer than {MAX_WAIT_MS} ms"
            ))),
            Action::OpenApp { name } | Action::FocusWindow { title: name }
                if name.trim().is_empty() =>
            {
                Err(ActionError::Invalid(format!(
                    "{}: name is empty",
                    self.kind()
                )))
            }
            Action::Scroll { amount, .. } if amount.dx == 0 && amount.dy == 0 => Err(
                ActionError::Invalid("scroll: amount is zero on both axes".into()),
            ),
            Action::Scroll { amount, .. } if amount.dx.abs() > 100 || amount.dy.abs() > 100 => Err(
                ActionError::Invalid("scroll: more than 100 notches at once".into()),
            ),
            Action::Click {
                modifiers: Some(m), ..
            } if !m.keys().iter().all(Key::is_modifier) => Err(ActionError::Invalid(format!(
                "click: {m} is not a modifier chord (use ctrl, shift, alt, super)"
            ))),
            _ => Ok(()),
        }
    }

    /// Parses an action from model or user JSON, with an error that says what is wrong.
    pub fn from_json(text: &str) -> Result<Action, crate::error::ActionError> {
        let action: Action = serde_json::from_str(text)
            .map_err(|e| crate::error::ActionError::Malformed(e.to_string()))?;
        action.validate()?;
        Ok(action)
    }

    /// The JSON schema every model reply carrying an action must satisfy.
    pub fn json_schema() -> serde_json::Value {
        serde_json::to_value(schemars::schema_for!(Action)).unwrap_or(serde_json::Value::Null)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_round_trip_and_wire_shape() {
        let a = Action::Click {
            target: Target::node("n12"),
            button: MouseButton::Left,
            modifiers: None,
        };
        let json = serde_json::to_string(&a).unwrap();
        assert_eq!(
            json,
            r#"{"kind":"click","target":{"by":"node","id":"n12"},"button":"left"}"#
        );
        assert_eq!(Action::from_json(&json).unwrap(), a);

        let p = Action::from_json(
            r#"{"kind":"hover","target":{"by":"point","x":3,"y":4,"space":"normalized","monitor":0}}"#,
        )
        .unwrap();
        assert_eq!(
            p.targets()[0].as_point().unwrap().1,
            CoordSpace::Normalized { monitor: 0 }
        );
        let d =
            Action::from_json(r#"{"kind":"hover","target":{"by":"point","x":3,"y":4}}"#).unwrap();
        assert_eq!(d.targets()[0].as_point().unwrap().1, CoordSpace::Desktop);
        let k = Action::from_json(r#"{"kind":"key","chord":"ctrl+shift+s"}"#).unwrap();
        assert_eq!(k.kind(), "key");
    }

    #[test]
    fn malformed_actions_are_rejected_with_reasons() {
        for bad in [
            r#"{"kind":"teleport"}"#,
            r#"{"kind":"click"}"#,
            r#"{"kind":"type","text":""}"#,
            r#"{"kind":"key","chord":"ctrl+"}"#,
            r#"{"kind":"key","chord":"ctrl+bogus"}"#,
            r#"{"kind":"click","target":{"by":"node","id":"n1"},"extra":1}"#,
            r#"{"kind":"wait","ms":999999}"#,
            r#"{"kind":"scroll","target":{"by":"node","id":"n1"},"amount":{}}"#,
            "click the button",
        ] {
            assert!(Action::from_json(bad).is_err(), "accepted {bad}");
        }
    }

    /// One action of every kind, each field filled.
    fn one_of_each() -> Vec<Action> {
        let n = || Target::node("a1");
        let chord = || KeyChord::parse("ctrl+s").unwrap();
        vec![
            Action::Click {
                target: n(),
                button: MouseButton::Middle,
                modifiers: Some(KeyChord::parse("shift").unwrap()),
            },
            Action::DoubleClick { target: n() },
            Action::TripleClick { target: n() },
            Action::RightClick { target: n() },
            Action::Drag {
                from: n(),
                to: Target::Point {
                    x: 10.0,
                    y: 20.0,
                    space: Some(CoordSpace::Normalized { monitor: 0 }),
                },
            },
            Action::Scroll {
                target: n(),
                amount: ScrollAmount { dx: 1, dy: -3 },
            },
            Action::Hover { target: n() },
            Action::Type {
                text: "hello\n".into(),
            },
            Action::Key { chord: chord() },
            Action::Hold { chord: chord() },
            Action::Release { chord: chord() },
            Action::OpenApp {
                name: "mousepad".into(),
            },
            Action::FocusWindow {
                title: "Untitled".into(),
            },
            Action::Wait { ms: 500 },
            Action::Done {
                summary: "saved".into(),
            },
            Action::Fail {
                reason: "no such file".into(),
            },
            Action::AskUser {
                question: "which file?".into(),
            },
        ]
    }

    /// Every `kind` the schema offers.
    fn schema_kinds(v: &serde_json::Value, out: &mut std::collections::BTreeSet<String>) {
        match v {
            serde_json::Value::Object(o) => {
                if let Some(kind) = o.get("properties").and_then(|p| p.get("kind")) {
                    for k in [kind.get("const")].into_iter().flatten().chain(
                        kind.get("enum")
                            .and_then(|e| e.as_array())
                            .into_iter()
                            .flatten(),
                    ) {
                        out.insert(k.as_str().unwrap_or_default().to_string());
                    }
                }
                o.values().for_each(|c| schema_kinds(c, out));
            }
            serde_json::Value::Array(a) => a.iter().for_each(|c| schema_kinds(c, out)),
            _ => {}
        }
    }

    /// Every action kind is in the schema models are given, the schema has no other, and each
    /// kind round-trips through its JSON and validates.
    #[test]
    fn schema_covers_every_action_kind_and_each_round_trips() {
        let all = one_of_each();
        let kinds: std::collections::BTreeSet<String> =
            all.iter().map(|a| a.kind().to_string()).collect();
        assert_eq!(kinds.len(), all.len(), "a kind is listed twice");
        let mut offered = std::collections::BTreeSet::new();
        schema_kinds(&Action::json_schema(), &mut offered);
        assert_eq!(offered, kinds);
        for a in &all {
            let json = serde_json::to_string(a).unwrap();
            assert!(
                json.contains(&format!("\"kind\":\"{}\"", a.kind())),
                "{json}"
            );
            assert_eq!(&Action::from_json(&json).unwrap(), a, "{json}");
        }
    }
}
