//! The Steward (MobileSteward, Liu et al., 2025): turns a cross-app task into a scheduling
//! graph of app-scoped subtasks whose promised facts feed later nodes, and re-plans the rest
//! of the graph from what has been done when a node fails for good. Its guideline memory
//! (how similar tasks were decomposed before) is in its prompt.

use deskhand_core::graph::{self, Guideline, NodeFact, TaskNode};
use deskhand_core::ports::{Message, ModelRequest};
use deskhand_core::Role;
use serde::Deserialize;
use serde_json::{json, Value};

use super::parse::parse;
use super::prompt::{section, system, text, untrusted, user};

/// What the Steward is shown.
#[derive(Debug, Clone, Copy)]
pub struct Input<'a> {
    /// The user's task.
    pub task: &'a str,
    /// How similar tasks were decomposed before.
    pub guidelines: &'a [Guideline],
    /// The windows open now (their titles).
    pub windows: &'a [String],
    /// When re-planning: what has been done and what failed.
    pub replan: Option<Replan<'a>>,
}

/// What a re-plan starts from.
#[derive(Debug, Clone, Copy)]
pub struct Replan<'a> {
    /// The nodes done, in order.
    pub done: &'a [TaskNode],
    /// The facts found so far.
    pub facts: &'a [NodeFact],
    /// The node that failed twice.
    pub failed: &'a TaskNode,
    /// Why it failed, last time.
    pub why: &'a str,
    /// The nodes that had not run yet.
    pub remaining: &'a [TaskNode],
}

/// The Steward's answer.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Reply {
    /// Its reasoning.
    #[serde(default)]
    pub thought: String,
    /// The nodes (for a re-plan: the rest of the graph).
    pub nodes: Vec<TaskNode>,
}

const SYSTEM: &str = "You are the Steward of Deskhand, an agent that operates a Linux \
desktop for a user. Split the user's task into a scheduling graph of subtasks, each done \
inside one application by a staff agent that sees only that app and the facts it is given. \
Each node has an id, the app (a desktop application or command name such as galculator, \
mousepad, xterm, thunar), an instruction for that app only, the names of the facts it needs \
(inputs) and the facts it promises to read off the screen for later nodes (outputs, each \
with a name and a description). Refer to an input in an instruction by its name in braces, \
e.g. \"type {result}\". Every input must be promised by an earlier node; the graph must have \
no cycles. Use as few nodes as the task needs. Answer with one JSON object only: \
{\"thought\": \"...\", \"nodes\": [{\"id\": \"n1\", \"app\": \"...\", \"instruction\": \
\"...\", \"inputs\": [], \"outputs\": [{\"name\": \"...\", \"description\": \"...\"}]}]}.";

fn nodes_text(nodes: &[TaskNode]) -> String {
    nodes
        .iter()
        .map(|n| format!("- {}", n.describe()))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Facts as `name = "value"` lines; they were read from the screen, so they are fenced.
pub fn facts_text(facts: &[NodeFact]) -> String {
    facts
        .iter()
        .map(|f| {
            format!(
                "- {} = {:?} (read by {} from {:?})",
                f.name, f.value, f.node, f.source
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The Steward's messages.
pub fn messages(input: &Input<'_>) -> Vec<Message> {
    let mut body = section("User task", input.task);
    let guidelines: Vec<String> = input
        .guidelines
        .iter()
        .map(|g| format!("Task: {}\n{}", g.task, g.steps))
        .collect();
    body += &section(
        "How similar tasks were decomposed before (guidelines)",
        &guidelines.join("\n\n"),
    );
    body += &section("Open windows", &input.windows.join("\n"));
    match input.replan {
        None => body += "Write the graph.\n\n",
        Some(r) => {
            body += &section("Done", &nodes_text(r.done));
            if !r.facts.is_empty() {
                body += &section("Facts found so far", &untrusted(&facts_text(r.facts)));
            }
            body += &section(
                "Failed twice",
                &format!("{}\nLast failure: {}", r.failed.describe(), r.why),
            );
            body += &section("Not run yet", &nodes_text(r.remaining));
            body += "Re-plan the rest of the task: write only the nodes still to run, with new \
                     ids. Their inputs may use the facts found so far.\n\n";
        }
    }
    vec![system(SYSTEM), user(vec![text(body)])]
}

/// JSON schema of the answer.
pub fn schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "thought": {"type": "string"},
            "nodes": {"type": "array", "items": {
                "type": "object",
                "properties": {
                    "id": {"type": "string"},
                    "app": {"type": "string"},
                    "instruction": {"type": "string"},
                    "inputs": {"type": "array", "items": {"type": "string"}},
                    "outputs": {"type": "array", "items": {
                        "type": "object",
                        "properties": {
                            "name": {"type": "string"},
                            "description": {"type": "string"}
                        },
                        "required": ["name"]
                    }}
                },
                "required": ["id", "app", "instruction"]
            }}
        },
        "required": ["nodes"]
    })
}

/// The Steward's request.
pub fn request(input: &Input<'_>) -> ModelRequest {
    super::request(Role::Steward, messages(input), schema())
}

/// Parses the answer and checks the graph (see [`graph::validate`]); the errors, one per
/// line, go back to the Steward for its one repair round.
pub fn validate(
    text: &str,
    known: &[String],
    app_ok: &dyn Fn(&str) -> Result<(), String>,
) -> Result<(Reply, Vec<usize>), String> {
    let reply: Reply = parse(text)?;
    match graph::validate(&reply.nodes, known, app_ok) {
        Ok(order) => Ok((reply, order)),
        Err(errors) => Err(format!("the graph is invalid: {}", errors.join("; "))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_graph_with_a_cycle_is_refused_with_the_reason() {
        let text = r#"{"nodes":[
            {"id":"a","app":"mousepad","instruction":"x","inputs":["q"],"outputs":[{"name":"p"}]},
            {"id":"b","app":"galculator","instruction":"y","inputs":["p"],"outputs":[{"name":"q"}]}]}"#;
        let err = validate(text, &[], &|_| Ok(())).unwrap_err();
        assert_eq!(
            err,
            "the graph is invalid: the nodes a, b wait for each other in a cycle"
        );
        let ok = r#"{"thought":"t","nodes":[
            {"id":"a","app":"galculator","instruction":"x","outputs":[{"name":"p"}]},
            {"id":"b","app":"mousepad","instruction":"type {p}","inputs":["p"]}]}"#;
        let (reply, order) = validate(ok, &[], &|_| Ok(())).unwrap();
        assert_eq!(reply.nodes.len(), 2);
        assert_eq!(order, vec![0, 1]);
        assert!(validate(r#"{"thought":"no nodes"}"#, &[], &|_| Ok(())).is_err());
    }

    #[test]
    fn a_replan_shows_what_was_done_and_fences_the_facts() {
        let node = |id: &str| TaskNode {
            id: id.into(),
            app: "mousepad".into(),
            instruction: "type it".into(),
            inputs: vec![],
            outputs: vec![],
        };
        let done = [node("n1")];
        let facts = [NodeFact {
            name: "result".into(),
            value: "409.5".into(),
            source: "409.5".into(),
            node: "n1".into(),
        }];
        let failed = node("n2");
        let m = messages(&Input {
            task: "t",
            guidelines: &[],
            windows: &["Untitled 1 - Mousepad".into()],
            replan: Some(Replan {
                done: &done,
                facts: &facts,
                failed: &failed,
                why: "the window closed",
                remaining: &[],
            }),
        });
        let body = match &m[1].parts[0] {
            deskhand_core::ports::MessagePart::Text { text } => text.clone(),
            _ => unreachable!(),
        };
        assert!(body
            .contains("### Failed twice\nn2 [mousepad] type it\nLast failure: the window closed"));
        assert!(body.contains("result = \"409.5\""));
        assert!(body.contains("<untrusted-screen-text>"));
    }
}
