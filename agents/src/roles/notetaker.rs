//! The Notetaker: keeps the content on screen that later subgoals need (numbers, names,
//! results), with the earlier notes that still matter.

use deskhand_core::ports::{Message, ModelRequest};
use deskhand_core::{Observation, Role};
use serde::Deserialize;
use serde_json::{json, Value};

use super::parse::parse;
use super::prompt::{screen_parts, section, system, text, user};

/// What the Notetaker is shown.
#[derive(Debug, Clone, Copy)]
pub struct Input<'a> {
    /// The user's instruction.
    pub instruction: &'a str,
    /// The Manager's plan.
    pub plan: &'a str,
    /// The current subgoal.
    pub subgoal: &'a str,
    /// The notes so far.
    pub notes: &'a str,
    /// The screen now (as text only).
    pub screen: &'a Observation,
}

/// The Notetaker's answer.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Reply {
    /// All notes so far, updated.
    pub notes: String,
}

const SYSTEM: &str = "You are the Notetaker of Deskhand. Record the content on screen that is \
needed later to complete the user's instruction (numbers, names, addresses, results), and \
keep the earlier notes that still matter. Answer with one JSON object only: \
{\"notes\": \"all notes so far\"}.";

/// The Notetaker's messages.
pub fn messages(input: &Input<'_>) -> Vec<Message> {
    let mut body = section("User instruction", input.instruction);
    body += &section("Plan", input.plan);
    body += &section("Current subgoal", input.subgoal);
    body += &section("Notes so far", input.notes);
    let mut parts = vec![text(body)];
    parts.extend(screen_parts(input.screen, false, "Screen now"));
    vec![system(SYSTEM), user(parts)]
}

/// JSON schema of the Notetaker's answer.
pub fn schema() -> Value {
    json!({
        "type": "object",
        "properties": {"notes": {"type": "string"}},
        "required": ["notes"]
    })
}

/// The Notetaker's request.
pub fn request(input: &Input<'_>) -> ModelRequest {
    super::request(Role::Notetaker, messages(input), schema())
}

/// Parses the answer.
pub fn validate(text: &str) -> Result<Reply, String> {
    parse(text)
}
