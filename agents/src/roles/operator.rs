//! The Operator: one action (or one shortcut call) per step, aimed at an element id from the
//! screen tree. Its answer is validated against the screen it was given before anything runs.

use std::collections::BTreeMap;

use deskhand_core::ports::{Message, ModelRequest};
use deskhand_core::{Action, LayoutTree, Monitor, Observation, Role, Shortcut, Target, Tip};
use serde::Deserialize;
use serde_json::{json, Value};

use super::parse::{extract_json, kind};
use super::prompt::{
    history_text, screen_parts, section, shortcuts_text, system, text, tips_text, user, ACTIONS,
    FACTS_TITLE,
};
use crate::execute::resolve_target;
use crate::state::Attempt;

/// What the Operator is shown.
#[derive(Debug, Clone, Copy)]
pub struct Input<'a> {
    /// The user's instruction.
    pub instruction: &'a str,
    /// Facts found by earlier subtasks (a Steward run), fenced as screen text.
    pub facts: &'a str,
    /// The Manager's plan.
    pub plan: &'a str,
    /// The subgoal to make progress on.
    pub subgoal: &'a str,
    /// The Reflector's latest progress note.
    pub progress: &'a str,
    /// Tips that apply.
    pub tips: &'a [Tip],
    /// Shortcuts it may call (and the only ones a call may name).
    pub shortcuts: &'a [Shortcut],
    /// The Notetaker's notes.
    pub notes: &'a str,
    /// Every attempt so far (the last five are shown, and the last error).
    pub history: &'a [Attempt],
    /// The screen now.
    pub screen: &'a Observation,
    /// Whether the Set-of-Marks image is sent.
    pub images: bool,
}

/// The Operator's messages.
pub fn messages(input: &Input<'_>) -> Vec<Message> {
    let sys = format!(
        "You are the Operator of Deskhand, an agent that operates a Linux desktop with mouse \
and keyboard. Choose exactly ONE next action that makes progress on the current subgoal, \
aimed at an element id from the screen tree, or call ONE of the listed shortcuts. If the \
current subgoal is already achieved on screen, answer with \"subgoal_complete\": true and no \
action.\n{ACTIONS}\nShortcut call: \"shortcut\": {{\"name\": \"...\", \"arguments\": \
{{\"param\": \"value\"}}}}.\nAnswer with one JSON object only: {{\"thought\": \"...\", \
\"action\": {{...}}, \"description\": \"what you expect to happen\"}}."
    );
    // What stays the same for the whole run comes first (a provider's prefix cache reuses
    // it); what changes every step follows.
    let mut body = section("User instruction", input.instruction);
    body += &section(FACTS_TITLE, input.facts);
    body += &section("Tips", &tips_text(input.tips));
    body += &section("Shortcuts", &shortcuts_text(input.shortcuts));
    body += &section("Overall plan", input.plan);
    body += &section("Current subgoal", input.subgoal);
    body += &section("Progress", input.progress);
    body += &section("Important notes", input.notes);
    body += &section("Recent actions", &history_text(input.history, 5));
    if let Some(last) = input.history.last() {
        if !last.error.is_empty() {
            body += &section(
                "The last action did not work",
                &format!("{} -> {}", last.action, last.error),
            );
        }
    }
    let mut parts = vec![text(body)];
    parts.extend(screen_parts(input.screen, input.images, "Current screen"));
    vec![system(&sys), user(parts)]
}

/// The Operator's request.
pub fn request(input: &Input<'_>) -> ModelRequest {
    super::request(Role::Operator, messages(input), schema())
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
struct RawReply {
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
pub struct Reply {
    /// Its reasoning.
    pub thought: String,
    /// What it expects the step to do.
    pub description: String,
    /// The decision.
    pub decision: Decision,
}

/// Parses and validates the Operator's answer against the screen it was given: the action
/// must be well formed and valid, its node ids must exist in `tree`, its points must be on a
/// monitor, and a shortcut must be one of `offered` with exactly its parameters.
pub fn validate(
    text: &str,
    tree: &LayoutTree,
    monitors: &[Monitor],
    offered: &[Shortcut],
) -> Result<Reply, String> {
    let v = extract_json(text)?;
    let raw: RawReply = serde_json::from_value(v)
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
    Ok(Reply {
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

/// JSON schema of the Operator's answer.
pub fn schema() -> Value {
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

    fn check(text: &str) -> Result<Reply, String> {
        let (tree, monitors) = screen();
        validate(text, &tree, &monitors, &offered())
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
}
