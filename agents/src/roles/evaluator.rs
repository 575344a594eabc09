//! MobileSteward's adjusted evaluation, after each node: on success it reads the facts the
//! node promised off the screen (each value with the screen text it came from, checked
//! against the screen before it is forwarded); on failure it writes the reflection tip the
//! node's retry is given.

use deskhand_core::graph::{fact_is_on_screen, NodeFact, TaskNode};
use deskhand_core::ports::{Message, ModelRequest};
use deskhand_core::{Observation, Role};
use serde::Deserialize;
use serde_json::json;

use super::parse::parse;
use super::prompt::{history_text, screen_parts, section, system, text, user};
use crate::state::Attempt;

/// What the evaluator is shown to read a node's facts.
#[derive(Debug, Clone, Copy)]
pub struct FactsInput<'a> {
    /// The node that succeeded.
    pub node: &'a TaskNode,
    /// The staff agent's notes.
    pub notes: &'a str,
    /// The screen after the node.
    pub screen: &'a Observation,
}

/// One fact as the model reports it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct FoundFact {
    /// The promised output's name.
    pub name: String,
    /// Its value, exactly as shown.
    pub value: String,
    /// The text on the screen it was read from.
    pub source: String,
}

/// A promised fact the model could not find.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Missing {
    /// The promised output's name.
    pub name: String,
    /// Why it is not on the screen.
    #[serde(default)]
    pub why: String,
}

/// The facts answer.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct FactsReply {
    /// Facts found.
    #[serde(default)]
    pub facts: Vec<FoundFact>,
    /// Facts not found.
    #[serde(default)]
    pub missing: Vec<Missing>,
}

const FACTS_SYSTEM: &str = "You are the evaluator of Deskhand's Steward. A subtask in one \
application has just been done. Read the facts it promised off the current screen: for each, \
its value exactly as shown and the text on the screen it was read from (copy that text \
exactly). Do not compute or guess values: a fact that is not on the screen goes under \
\"missing\" with the reason. Answer with one JSON object only: {\"facts\": [{\"name\": \
\"...\", \"value\": \"...\", \"source\": \"...\"}], \"missing\": [{\"name\": \"...\", \"why\": \
\"...\"}]}.";

/// The messages asking for a node's facts.
pub fn facts_messages(input: &FactsInput<'_>) -> Vec<Message> {
    let mut body = section("Subtask", &input.node.describe());
    let wanted: Vec<String> = input
        .node
        .outputs
        .iter()
        .map(|o| {
            if o.description.is_empty() {
                format!("- {}", o.name)
            } else {
                format!("- {}: {}", o.name, o.description)
            }
        })
        .collect();
    body += &section("Facts to read", &wanted.join("\n"));
    body += &section("Notes of the staff agent", input.notes);
    let mut parts = vec![text(body)];
    parts.extend(screen_parts(input.screen, false, "Current screen"));
    vec![system(FACTS_SYSTEM), user(parts)]
}

/// The request for a node's facts.
pub fn facts_request(input: &FactsInput<'_>) -> ModelRequest {
    let schema = json!({
        "type": "object",
        "properties": {
            "facts": {"type": "array", "items": {"type": "object", "properties": {
                "name": {"type": "string"}, "value": {"type": "string"},
                "source": {"type": "string"}}, "required": ["name", "value", "source"]}},
            "missing": {"type": "array", "items": {"type": "object", "properties": {
                "name": {"type": "string"}, "why": {"type": "string"}},
                "required": ["name"]}}
        },
        "required": ["facts"]
    });
    super::request(Role::Evaluator, facts_messages(input), schema)
}

/// All the text of the screen a fact may be read from: every node's name and text (the
/// compact text the model saw is cut to a budget; the tree is not).
pub fn screen_text(screen: &Observation) -> String {
    let mut out = String::new();
    for (_, n) in screen.tree.walk() {
        out.push_str(&n.name);
        out.push('\n');
        if let Some(t) = &n.text {
            out.push_str(t);
            out.push('\n');
        }
    }
    if let Some(t) = &screen.window_title {
        out.push_str(t);
    }
    out
}

/// Checks the facts answer against the node and the screen: each promised output is found
/// (its value inside its source text, the source on the screen) or said missing; nothing
/// else is taken. Returns the facts, and the missing ones with their reasons.
pub fn validate_facts(
    text: &str,
    node: &TaskNode,
    screen_text: &str,
) -> Result<(Vec<NodeFact>, Vec<Missing>), String> {
    let reply: FactsReply = parse(text)?;
    let key = |s: &str| s.trim().to_lowercase().replace([' ', '-'], "_");
    let mut facts = Vec::new();
    let mut missing = Vec::new();
    let mut problems = Vec::new();
    for o in &node.outputs {
        let found = reply.facts.iter().find(|f| key(&f.name) == key(&o.name));
        let said_missing = reply.missing.iter().find(|m| key(&m.name) == key(&o.name));
        match (found, said_missing) {
            (Some(f), _) => match fact_is_on_screen(&f.value, &f.source, screen_text) {
                Ok(()) => facts.push(NodeFact {
                    name: o.name.clone(),
                    value: f.value.trim().to_string(),
                    source: f.source.trim().to_string(),
                    node: node.id.clone(),
                }),
                Err(why) => problems.push(format!("fact {:?}: {why}", o.name)),
            },
            (None, Some(m)) => missing.push(m.clone()),
            (None, None) => problems.push(format!(
                "fact {:?} is neither in \"facts\" nor in \"missing\"",
                o.name
            )),
        }
    }
    for f in &reply.facts {
        if !node.outputs.iter().any(|o| key(&o.name) == key(&f.name)) {
            problems.push(format!(
                "fact {:?} was not promised (promised: {})",
                f.name,
                node.outputs
                    .iter()
                    .map(|o| o.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
    }
    if problems.is_empty() {
        Ok((facts, missing))
    } else {
        Err(problems.join("; "))
    }
}

/// What the evaluator is shown to reflect on a failed node.
#[derive(Debug, Clone, Copy)]
pub struct ReflectInput<'a> {
    /// The node that failed.
    pub node: &'a TaskNode,
    /// Why the staff agent stopped.
    pub why: &'a str,
    /// Its attempts.
    pub history: &'a [Attempt],
    /// The screen after it stopped.
    pub screen: &'a Observation,
}

/// The reflection answer.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ReflectReply {
    /// What went wrong, briefly.
    #[serde(default)]
    pub analysis: String,
    /// The lesson for the retry, as an imperative sentence.
    pub tip: String,
}

const REFLECT_SYSTEM: &str = "You are the evaluator of Deskhand's Steward. A subtask in one \
application failed. Say briefly what went wrong and write one tip, an imperative sentence \
specific to this application, that would make the next attempt succeed. Answer with one JSON \
object only: {\"analysis\": \"...\", \"tip\": \"...\"}.";

/// The request for a failed node's reflection tip.
pub fn reflect_request(input: &ReflectInput<'_>) -> ModelRequest {
    let mut body = section("Subtask", &input.node.describe());
    body += &section("Why it stopped", input.why);
    body += &section("Attempts", &history_text(input.history, 8));
    let mut parts = vec![text(body)];
    parts.extend(screen_parts(input.screen, false, "Screen after"));
    let schema = json!({
        "type": "object",
        "properties": {"analysis": {"type": "string"}, "tip": {"type": "string"}},
        "required": ["tip"]
    });
    super::request(
        Role::Evaluator,
        vec![system(REFLECT_SYSTEM), user(parts)],
        schema,
    )
}

/// Parses the reflection; an empty tip is invalid.
pub fn validate_reflection(text: &str) -> Result<ReflectReply, String> {
    let r: ReflectReply = parse(text)?;
    if r.tip.trim().is_empty() {
        return Err("tip is empty".into());
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;
    use deskhand_core::graph::FactSpec;

    fn node() -> TaskNode {
        TaskNode {
            id: "n1".into(),
            app: "galculator".into(),
            instruction: "compute".into(),
            inputs: vec![],
            outputs: vec![
                FactSpec {
                    name: "result".into(),
                    description: "the display".into(),
                },
                FactSpec {
                    name: "unit".into(),
                    description: String::new(),
                },
            ],
        }
    }

    #[test]
    fn facts_are_checked_against_the_screen_and_the_promise() {
        let screen = "Display\n409.5\n";
        let (facts, missing) = validate_facts(
            r#"{"facts":[{"name":"result","value":"409.5","source":"409.5"}],
               "missing":[{"name":"unit","why":"no unit shown"}]}"#,
            &node(),
            screen,
        )
        .unwrap();
        assert_eq!(facts[0].value, "409.5");
        assert_eq!(facts[0].node, "n1");
        assert_eq!(missing[0].why, "no unit shown");

        let err = validate_facts(
            r#"{"facts":[{"name":"result","value":"410","source":"410"}]}"#,
            &node(),
            screen,
        )
        .unwrap_err();
        assert!(err.contains("fact \"result\": its source text \"410\" is not on the screen"));
        assert!(err.contains("fact \"unit\" is neither"));
        let err = validate_facts(
            r#"{"facts":[{"name":"result","value":"409.5","source":"409.5"},
                {"name":"unit","value":"x","source":"Display"}]}"#,
            &node(),
            screen,
        )
        .unwrap_err();
        assert!(
            err.contains("its value \"x\" is not in its source text"),
            "{err}"
        );
        let err = validate_facts(
            r#"{"facts":[{"name":"other","value":"1","source":"1"}],"missing":[
                {"name":"result"},{"name":"unit"}]}"#,
            &node(),
            screen,
        )
        .unwrap_err();
        assert!(err.contains("fact \"other\" was not promised (promised: result, unit)"));
    }

    #[test]
    fn a_reflection_needs_a_tip() {
        assert!(validate_reflection(r#"{"analysis":"x","tip":" "}"#).is_err());
        let r = validate_reflection(r#"{"tip":"Press Escape first."}"#).unwrap();
        assert_eq!(r.tip, "Press Escape first.");
    }
}
