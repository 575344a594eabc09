//! What each role answers: the JSON shapes, their schemas (sent as structured-output hints),
//! extraction of the JSON from a model's text, and validation against the live screen.
//! Nothing a model says is executed before it passed [`validate_operator`].

use std::collections::BTreeMap;

use deskhand_core::ports::Outcome;
use deskhand_core::{Action, LayoutTree, Monitor, Shortcut, Target};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::execute::resolve_target;

/// The Manager's answer.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ManagerReply {
    /// Its reasoning.
    #[serde(default)]
    pub thought: String,
    /// The overall plan: numbered subgoals.
    pub plan: String,
    /// The subgoal to work on now, or "Finished".
    pub current_subgoal: String,
    /// Subgoals already achieved.
    #[serde(default)]
    pub completed_subgoals: String,
    /// Whether the Notetaker should record content from the screen for later.
    #[serde(default)]
    pub needs_notes: bool,
}

impl ManagerReply {
    /// True when the Manager says the whole instruction is done.
    pub fn finished(&self) -> bool {
        let s = self.current_subgoal.trim().trim_end_matches('.');
        s.eq_ignore_ascii_case("finished")
    }
}

/// A shortcut call by the Operator.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ShortcutCall {
    /// The shortcut's name.
    pub name: String,
    /// Argument values by parameter name.
    #[serde(default)]
    pub arguments: BTreeMap<String, Value>,
}

/// The Operator's answer, as sent.
#[derive(Debug, Clone, PartialEq, Deserialize)]
struct RawOperatorReply {
    #[serde(default)]
    thought: String,
    #[serde(default)]
    action: Option<Value>,
    #[serde(default)]
    shortcut: Option<ShortcutCall>,
    #[serde(default)]
    description: String,
    #[serde(default)]
    subgoal_complete: bool,
}

/// What the Operator decided, validated.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// One action.
    Act(Action),
    /// One shortcut with its arguments (as strings), checked against its parameters.
    Shortcut(Shortcut, BTreeMap<String, String>),
    /// The current subgoal is already achieved: ask the Manager for the next one.
    SubgoalComplete,
}

/// The Operator's answer, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct OperatorReply {
    /// Its reasoning.
    pub thought: String,
    /// What it expects the step to do.
    pub description: String,
    /// The decision.
    pub decision: Decision,
}

/// The Action Reflector's answer.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ReflectorReply {
    /// A, B or C.
    pub outcome: Outcome,
    /// What went wrong, for B and C.
    #[serde(default)]
    pub error_description: String,
    /// Progress towards the subgoal and the instruction.
    #[serde(default)]
    pub progress: String,
    /// Whether the current subgoal is now achieved.
    #[serde(default)]
    pub subgoal_done: bool,
}

/// The Notetaker's answer.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct NotetakerReply {
    /// All notes so far, updated.
    pub notes: String,
}

/// A lesson proposed by the tips reflector.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ProposedTip {
    /// The application, lower case, or empty for any.
    #[serde(default)]
    pub app: String,
    /// The lesson.
    pub text: String,
}

/// The tips reflector's answer.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct TipsReply {
    /// New lessons.
    #[serde(default)]
    pub tips: Vec<ProposedTip>,
}

/// The shortcuts reflector's answer.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ShortcutsReply {
    /// New shortcuts.
    #[serde(default)]
    pub shortcuts: Vec<Shortcut>,
}

/// Finds the JSON object in a model's text: the whole text, a fenced block, or the first
/// balanced `{...}` in prose.
pub fn extract_json(text: &str) -> Result<Value, String> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err("the answer is empty".into());
    }
    if let Ok(v) = serde_json::from_str::<Value>(trimmed) {
        return object(v);
    }
    let mut last_error = String::from("no JSON object found in the answer");
    let bytes = trimmed.as_bytes();
    let mut start = 0;
    while let Some(offset) = trimmed[start..].find('{') {
        let open = start + offset;
        match balanced_end(&bytes[open..]) {
            Some(len) => {
                let candidate = &trimmed[open..open + len];
                match serde_json::from_str::<Value>(candidate) {
                    Ok(v) => return object(v),
                    Err(e) => last_error = format!("invalid JSON: {e}"),
                }
            }
            None => {
                last_error = "the JSON object is not closed".into();
            }
        }
        start = open + 1;
    }
    Err(last_error)
}

fn object(v: Value) -> Result<Value, String> {
    if v.is_object() {
        Ok(v)
    } else {
        Err(format!("expected a JSON object, got {}", kind(&v)))
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Length of the balanced object starting at `s[0] == b'{'`, strings and escapes respected.
fn balanced_end(s: &[u8]) -> Option<usize> {
    let (mut depth, mut in_str, mut esc) = (0usize, false, false);
    for (i, &c) in s.iter().enumerate() {
        if in_str {
            match (esc, c) {
                (true, _) => esc = false,
                (false, b'\\') => esc = true,
                (false, b'"') => in_str = false,
                _ => {}
            }
            continue;
        }
        match c {
            b'"' => in_str = true,
            b'{' => depth += 1,
            b'}' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            _ => {}
        }
    }
    None
}

/// Parses a reply into a role's shape.
pub fn parse<T: for<'de> Deserialize<'de>>(text: &str) -> Result<T, String> {
    let v = extract_json(text)?;
    serde_json::from_value(v).map_err(|e| format!("the JSON does not match the schema: {e}"))
}

/// Parses and validates the Operator's answer against the screen it was given: the action
/// must be well formed and valid, its node ids must exist in `tree`, its points must be on a
/// monitor, and a shortcut must be one of `offered` with exactly its parameters.
pub fn validate_operator(
    text: &str,
    tree: &LayoutTree,
    monitors: &[Monitor],
    offered: &[Shortcut],
) -> Result<OperatorReply, String> {
    let v = extract_json(text)?;
    let raw: RawOperatorReply = serde_json::from_value(v)
        .map_err(|e| format!("the JSON does not match the schema: {e}"))?;
    let decision = match (raw.action, raw.shortcut, raw.subgoal_complete) {
        (Some(a), None, _) if !a.is_null() => Decision::Act(validate_action(a, tree, monitors)?),
        (None | Some(Value::Null), Some(call), _) => {
            let (s, args) = validate_call(&call, offered)?;
            Decision::Shortcut(s, args)
        }
        (None | Some(Value::Null), None, true) => Decision::SubgoalComplete,
        (Some(a), Some(_), _) if !a.is_null() => {
            return Err("give either an action or a shortcut, not both".into())
        }
        _ => {
            return Err(
                "missing \"action\": give one action (or a \"shortcut\" call, or \
                 \"subgoal_complete\": true)"
                    .into(),
            )
        }
    };
    Ok(OperatorReply {
        thought: raw.thought,
        description: raw.description,
        decision,
    })
}

fn validate_action(a: Value, tree: &LayoutTree, monitors: &[Monitor]) -> Result<Action, String> {
    let action: Action =
        serde_json::from_value(a).map_err(|e| format!("the action is not valid: {e}"))?;
    action.validate().map_err(|e| e.to_string())?;
    if let Action::AskUser { .. } = action {
        return Err(
            "ask_user is not available in this run: nobody can answer; decide, or \
                    use fail with the reason"
                .into(),
        );
    }
    for target in action.targets() {
        if let Target::Node { id } = target {
            if tree.get(id).is_none() {
                return Err(format!(
                    "node id {id:?} is not on the current screen: use an id from the tree"
                ));
            }
        }
        resolve_target(target, Some(tree), monitors).map_err(|e| e.to_string())?;
    }
    Ok(action)
}

fn validate_call(
    call: &ShortcutCall,
    offered: &[Shortcut],
) -> Result<(Shortcut, BTreeMap<String, String>), String> {
    let s = offered
        .iter()
        .find(|s| s.name == call.name)
        .ok_or_else(|| {
            let names: Vec<&str> = offered.iter().map(|s| s.name.as_str()).collect();
            format!(
                "there is no shortcut {:?} (available: {})",
                call.name,
                if names.is_empty() {
                    "none".to_string()
                } else {
                    names.join(", ")
                }
            )
        })?;
    let mut args = BTreeMap::new();
    for p in &s.parameters {
        let v = call
            .arguments
            .get(&p.name)
            .ok_or_else(|| format!("shortcut {} needs the argument {:?}", s.name, p.name))?;
        let text = match v {
            Value::String(t) => t.clone(),
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            other => {
                return Err(format!(
                    "argument {:?} of {} must be text, got {}",
                    p.name,
                    s.name,
                    kind(other)
                ))
            }
        };
        args.insert(p.name.clone(), text);
    }
    if let Some(extra) = call
        .arguments
        .keys()
        .find(|k| !s.parameters.iter().any(|p| &p.name == *k))
    {
        return Err(format!("shortcut {} has no parameter {extra:?}", s.name));
    }
    Ok((s.clone(), args))
}

/// JSON schema of the Manager's answer.
pub fn manager_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "thought": {"type": "string"},
            "plan": {"type": "string"},
            "current_subgoal": {"type": "string"},
            "completed_subgoals": {"type": "string"},
            "needs_notes": {"type": "boolean"}
        },
        "required": ["thought", "plan", "current_subgoal"]
    })
}

/// JSON schema of the Operator's answer.
pub fn operator_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "thought": {"type": "string"},
            "action": Action::json_schema(),
            "shortcut": {
                "type": "object",
                "properties": {
                    "name": {"type": "string"},
                    "arguments": {"type": "object"}
                },
                "required": ["name"]
            },
            "description": {"type": "string"},
            "subgoal_complete": {"type": "boolean"}
        },
        "required": ["thought"]
    })
}

/// JSON schema of the Action Reflector's answer.
pub fn reflector_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "outcome": {"type": "string", "enum": ["A", "B", "C"]},
            "error_description": {"type": "string"},
            "progress": {"type": "string"},
            "subgoal_done": {"type": "boolean"}
        },
        "required": ["outcome", "error_description", "progress", "subgoal_done"]
    })
}

/// JSON schema of the Notetaker's answer.
pub fn notetaker_schema() -> Value {
    json!({
        "type": "object",
        "properties": {"notes": {"type": "string"}},
        "required": ["notes"]
    })
}

/// JSON schema of the tips reflector's answer.
pub fn tips_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "tips": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"app": {"type": "string"}, "text": {"type": "string"}},
                    "required": ["text"]
                }
            }
        },
        "required": ["tips"]
    })
}

/// JSON schema of the shortcuts reflector's answer.
pub fn shortcuts_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "shortcuts": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "name": {"type": "string"},
                        "app": {"type": "string"},
                        "description": {"type": "string"},
                        "parameters": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "properties": {
                                    "name": {"type": "string"},
                                    "description": {"type": "string"}
                                },
                                "required": ["name"]
                            }
                        },
                        "precondition": {"type": "string"},
                        "requires": {"type": "string"},
                        "steps": {"type": "array", "items": {"type": "string"}}
                    },
                    "required": ["name", "description", "steps"]
                }
            }
        },
        "required": ["shortcuts"]
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use deskhand_core::{LayoutNode, NodeSource, NodeState, Rect, ShortcutParam};

    fn screen() -> (LayoutTree, Vec<Monitor>) {
        let mut window = LayoutNode::new("w1", "frame", NodeSource::Accessibility);
        window.name = "notes.txt - Mousepad".into();
        window.bounds = Some(Rect::new(0, 0, 800, 600));
        window.states = vec![NodeState::Showing, NodeState::Visible, NodeState::Active];
        let mut save = LayoutNode::new("a7", "push button", NodeSource::Accessibility);
        save.name = "Save".into();
        save.bounds = Some(Rect::new(10, 40, 60, 24));
        save.states = vec![NodeState::Showing, NodeState::Visible, NodeState::Enabled];
        window.children.push(save);
        let mut root = LayoutNode::new("screen", "screen", NodeSource::Display);
        root.bounds = Some(Rect::new(0, 0, 1280, 800));
        root.children.push(window);
        let monitor = Monitor {
            index: 0,
            name: "screen".into(),
            bounds: Rect::new(0, 0, 1280, 800),
            scale: 1.0,
            primary: false,
        };
        (LayoutTree { root }, vec![monitor])
    }

    fn offered() -> Vec<Shortcut> {
        vec![Shortcut {
            id: 1,
            name: "save_as".into(),
            app: "mousepad".into(),
            description: "Save under a name".into(),
            parameters: vec![ShortcutParam {
                name: "filename".into(),
                description: String::new(),
            }],
            precondition: String::new(),
            requires: None,
            steps: vec!["key ctrl+shift+s".into(), "type \"{filename}\"".into()],
            source_run: None,
            uses: 0,
            successes: 0,
        }]
    }

    fn check(text: &str) -> Result<OperatorReply, String> {
        let (tree, monitors) = screen();
        validate_operator(text, &tree, &monitors, &offered())
    }

    #[test]
    fn valid_answers_pass_with_prose_and_fences_around_them() {
        let plain =
            r#"{"thought":"save","action":{"kind":"click","target":{"by":"node","id":"a7"}}}"#;
        assert!(matches!(
            check(plain).unwrap().decision,
            Decision::Act(Action::Click { .. })
        ));
        let fenced = format!("Sure! Here is my answer:\n```json\n{plain}\n```\nGood luck.");
        assert!(check(&fenced).is_ok());
        let key = r#"{"thought":"t","action":{"kind":"key","chord":"ctrl+s"}}"#;
        assert!(check(key).is_ok());
        let call =
            r#"{"thought":"t","shortcut":{"name":"save_as","arguments":{"filename":"a.txt"}}}"#;
        match check(call).unwrap().decision {
            Decision::Shortcut(s, args) => {
                assert_eq!(s.name, "save_as");
                assert_eq!(args["filename"], "a.txt");
            }
            other => panic!("{other:?}"),
        }
        let done = r#"{"thought":"t","subgoal_complete":true}"#;
        assert_eq!(check(done).unwrap().decision, Decision::SubgoalComplete);
        let point =
            r#"{"thought":"t","action":{"kind":"click","target":{"by":"point","x":100,"y":200}}}"#;
        assert!(check(point).is_ok());
    }

    /// The corpus of malformed answers: none of them may validate, so none can execute.
    #[test]
    fn malformed_operator_answers_never_validate() {
        let corpus: &[(&str, &str)] = &[
            ("empty", ""),
            ("prose only", "I would click the Save button."),
            (
                "truncated JSON",
                r#"{"thought":"x","action":{"kind":"click","target":{"by":"node","id":"a7"}"#,
            ),
            ("JSON array", r#"[{"kind":"click"}]"#),
            ("a bare string", r#""click a7""#),
            (
                "trailing comma",
                r#"{"thought":"x","action":{"kind":"key","chord":"ctrl+s",}}"#,
            ),
            (
                "single quotes",
                r#"{'thought':'x','action':{'kind':'key','chord':'ctrl+s'}}"#,
            ),
            (
                "unknown action kind",
                r#"{"thought":"x","action":{"kind":"teleport","target":{"by":"node","id":"a7"}}}"#,
            ),
            ("missing action", r#"{"thought":"I am thinking"}"#),
            ("action null", r#"{"thought":"x","action":null}"#),
            (
                "node id not on screen",
                r#"{"thought":"x","action":{"kind":"click","target":{"by":"node","id":"a99"}}}"#,
            ),
            (
                "point off screen",
                r#"{"thought":"x","action":{"kind":"click","target":{"by":"point","x":5000,"y":10}}}"#,
            ),
            (
                "negative point",
                r#"{"thought":"x","action":{"kind":"click","target":{"by":"point","x":-3,"y":10}}}"#,
            ),
            (
                "missing target",
                r#"{"thought":"x","action":{"kind":"click"}}"#,
            ),
            (
                "target as text",
                r#"{"thought":"x","action":{"kind":"click","target":"Save"}}"#,
            ),
            (
                "unknown field in action",
                r#"{"thought":"x","action":{"kind":"key","chord":"ctrl+s","times":3}}"#,
            ),
            (
                "bad key chord",
                r#"{"thought":"x","action":{"kind":"key","chord":"ctrl+nosuchkey"}}"#,
            ),
            (
                "empty text",
                r#"{"thought":"x","action":{"kind":"type","text":""}}"#,
            ),
            (
                "wait too long",
                r#"{"thought":"x","action":{"kind":"wait","ms":3600000}}"#,
            ),
            (
                "zero scroll",
                r#"{"thought":"x","action":{"kind":"scroll","target":{"by":"node","id":"a7"},"amount":{"dx":0,"dy":0}}}"#,
            ),
            (
                "ask_user in a run",
                r#"{"thought":"x","action":{"kind":"ask_user","question":"which file?"}}"#,
            ),
            (
                "action and shortcut",
                r#"{"thought":"x","action":{"kind":"key","chord":"ctrl+s"},"shortcut":{"name":"save_as","arguments":{"filename":"a"}}}"#,
            ),
            (
                "unknown shortcut",
                r#"{"thought":"x","shortcut":{"name":"format_disk","arguments":{}}}"#,
            ),
            (
                "shortcut missing argument",
                r#"{"thought":"x","shortcut":{"name":"save_as","arguments":{}}}"#,
            ),
            (
                "shortcut extra argument",
                r#"{"thought":"x","shortcut":{"name":"save_as","arguments":{"filename":"a","mode":"w"}}}"#,
            ),
            (
                "shortcut argument object",
                r#"{"thought":"x","shortcut":{"name":"save_as","arguments":{"filename":{"a":1}}}}"#,
            ),
            (
                "drag to a missing node",
                r#"{"thought":"x","action":{"kind":"drag","from":{"by":"node","id":"a7"},"to":{"by":"node","id":"zz"}}}"#,
            ),
            (
                "thought is a number",
                r#"{"thought":5,"action":{"kind":"key","chord":"ctrl+s"}}"#,
            ),
        ];
        assert!(corpus.len() >= 20);
        for (name, text) in corpus {
            match check(text) {
                Err(why) => assert!(!why.is_empty(), "{name}: empty error"),
                Ok(reply) => panic!("{name}: validated as {reply:?}"),
            }
        }
    }

    #[test]
    fn other_roles_reject_what_does_not_fit_their_schema() {
        assert!(parse::<ReflectorReply>(
            r#"{"outcome":"D","error_description":"","progress":"","subgoal_done":false}"#
        )
        .is_err());
        assert!(parse::<ReflectorReply>(r#"{"error_description":"x"}"#).is_err());
        let r: ReflectorReply = parse(r#"Verdict: {"outcome":"B","error_description":"menu closed","progress":"","subgoal_done":false}"#).unwrap();
        assert_eq!(r.outcome, Outcome::B);
        assert!(parse::<ManagerReply>(r#"{"thought":"x"}"#).is_err());
        let m: ManagerReply =
            parse(r#"{"thought":"x","plan":"1. a","current_subgoal":"Finished."}"#).unwrap();
        assert!(m.finished());
    }
}
