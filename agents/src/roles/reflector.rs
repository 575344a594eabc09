//! The Action Reflector: compares the screen before and after a step and judges it A
//! (as expected), B (a wrong screen or state) or C (nothing changed).

use deskhand_core::ports::{Message, ModelRequest, Outcome};
use deskhand_core::{Observation, Role};
use serde::Deserialize;
use serde_json::{json, Value};

use super::parse::parse;
use super::prompt::{screen_parts, section, system, text, untrusted, user, TREE_LEGEND};

/// What the Reflector is shown.
#[derive(Debug, Clone, Copy)]
pub struct Input<'a> {
    /// The user's instruction.
    pub instruction: &'a str,
    /// The current subgoal.
    pub subgoal: &'a str,
    /// Progress so far.
    pub progress: &'a str,
    /// The action taken, in words.
    pub action: &'a str,
    /// What the Operator expected.
    pub expectation: &'a str,
    /// What the runtime measured (pixels changed, focus, typed text).
    pub effect: &'a str,
    /// The screen before the action.
    pub before: &'a Observation,
    /// The screen after it.
    pub after: &'a Observation,
    /// Whether the Set-of-Marks image of the screen after is sent.
    pub images: bool,
}

/// The Action Reflector's answer.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Reply {
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

impl Reply {
    /// A verdict with no progress note (the runtime's own judgements).
    pub fn verdict(outcome: Outcome, error: impl Into<String>) -> Reply {
        Reply {
            outcome,
            error_description: error.into(),
            progress: String::new(),
            subgoal_done: false,
        }
    }
}

const SYSTEM: &str =
    "You are the Action Reflector of Deskhand. Compare the screen before and after \
the last action and judge its outcome: A = successful or partially successful (the result \
is as expected), B = failed: it led to a wrong screen or state, C = failed: it changed \
nothing. For B and C describe what went wrong. Also say whether the current subgoal is now \
achieved. Answer with one JSON object only: {\"outcome\": \"A\", \"error_description\": \"\", \
\"progress\": \"...\", \"subgoal_done\": false}.";

/// The Reflector's messages.
pub fn messages(input: &Input<'_>) -> Vec<Message> {
    let mut body = section("User instruction", input.instruction);
    body += &section("Current subgoal", input.subgoal);
    body += &section("Progress so far", input.progress);
    body += &section("Action taken", input.action);
    body += &section("Expected", input.expectation);
    body += &section("Observed effect", input.effect);
    let mut parts = vec![text(body)];
    parts.push(text(format!(
        "### Screen before\n{TREE_LEGEND}\n{}",
        untrusted(&input.before.compact)
    )));
    parts.extend(screen_parts(input.after, input.images, "Screen after"));
    vec![system(SYSTEM), user(parts)]
}

/// JSON schema of the Action Reflector's answer.
pub fn schema() -> Value {
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

/// The Reflector's request.
pub fn request(input: &Input<'_>) -> ModelRequest {
    super::request(Role::Reflector, messages(input), schema())
}

/// Parses the answer.
pub fn validate(text: &str) -> Result<Reply, String> {
    parse(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_b_and_c_with_an_outcome_are_verdicts() {
        assert!(validate(
            r#"{"outcome":"D","error_description":"","progress":"","subgoal_done":false}"#
        )
        .is_err());
        assert!(validate(r#"{"error_description":"x"}"#).is_err());
        let r = validate(r#"Verdict: {"outcome":"B","error_description":"menu closed","progress":"","subgoal_done":false}"#).unwrap();
        assert_eq!(r.outcome, Outcome::B);
        assert_eq!(r.error_description, "menu closed");
    }
}
