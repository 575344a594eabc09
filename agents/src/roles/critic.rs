//! The Critic (Second Me): before a run is reported done, checks the result on screen against
//! what the user's own memory says (a wrong recipient, date, address, name or number) and may
//! send the Manager back with the problem.

use deskhand_core::experience::Recollection;
use deskhand_core::ports::{Message, ModelRequest};
use deskhand_core::{Observation, Role};
use serde::Deserialize;
use serde_json::{json, Value};

use super::parse::parse;
use super::prompt::{knowledge_text, screen_parts, section, system, text, user};

/// What the Critic is shown.
#[derive(Debug, Clone, Copy)]
pub struct Input<'a> {
    /// The user's instruction.
    pub instruction: &'a str,
    /// What the user's memory holds about it.
    pub knowledge: &'a [Recollection],
    /// The subgoals the Manager says are done.
    pub completed: &'a str,
    /// The screen now.
    pub screen: &'a Observation,
    /// Whether the Set-of-Marks image is sent.
    pub images: bool,
}

/// The Critic's answer.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Reply {
    /// True when nothing on screen contradicts the user's memory.
    pub ok: bool,
    /// What is wrong, when not ok.
    #[serde(default)]
    pub problem: String,
}

const SYSTEM: &str = "You are the Critic of Deskhand. The agent says the user's instruction \
is done. Check the result on the screen against the user's own memory: a wrong recipient, \
date, time, address, name, number or other detail that the memory contradicts. Judge only \
what the memory states; do not invent requirements. Answer with one JSON object only: \
{\"ok\": true} or {\"ok\": false, \"problem\": \"what is wrong and what the memory says\"}.";

/// The Critic's messages.
pub fn messages(input: &Input<'_>) -> Vec<Message> {
    let mut body = section("User instruction", input.instruction);
    body += &section("The user's memory", &knowledge_text(input.knowledge));
    body += &section("Completed subgoals", input.completed);
    let mut parts = vec![text(body)];
    parts.extend(screen_parts(input.screen, input.images, "Current screen"));
    vec![system(SYSTEM), user(parts)]
}

/// JSON schema of the answer.
pub fn schema() -> Value {
    json!({
        "type": "object",
        "properties": {"ok": {"type": "boolean"}, "problem": {"type": "string"}},
        "required": ["ok"]
    })
}

/// The Critic's request; the call records the memory items its prompt holds.
pub fn request(input: &Input<'_>) -> ModelRequest {
    let mut r = super::request(Role::Critic, messages(input), schema());
    r.memory_used = input.knowledge.iter().map(|k| k.id.clone()).collect();
    r
}

/// Parses the answer; a "not ok" without a problem is invalid (the Manager needs to know
/// what to fix).
pub fn validate(text: &str) -> Result<Reply, String> {
    let r: Reply = parse(text)?;
    if !r.ok && r.problem.trim().is_empty() {
        return Err("ok is false but problem is empty: say what is wrong".into());
    }
    Ok(r)
}
