//! The Experience Reflectors, asked after a run: one writes tips (short lessons for the same
//! application) from every finished run, the other proposes shortcuts (reusable command
//! sequences with parameters) from successful ones.

use deskhand_core::ports::{Message, ModelRequest};
use deskhand_core::{Role, Shortcut, Tip};
use serde::Deserialize;
use serde_json::{json, Value};

use super::parse::parse;
use super::prompt::{history_text, section, shortcuts_text, system, text, tips_text, user};
use crate::state::Attempt;

/// What the tips reflector is shown.
#[derive(Debug, Clone, Copy)]
pub struct TipsInput<'a> {
    /// The instruction of the run.
    pub instruction: &'a str,
    /// How the run ended ("succeeded", ...).
    pub status: &'a str,
    /// Its summary or error.
    pub summary: &'a str,
    /// Every attempt of the run.
    pub history: &'a [Attempt],
    /// Tips already kept (not to be repeated).
    pub existing: &'a [Tip],
}

/// What the shortcuts reflector is shown.
#[derive(Debug, Clone, Copy)]
pub struct ShortcutsInput<'a> {
    /// The instruction of the run.
    pub instruction: &'a str,
    /// The steps that worked, as `deskhand do` commands.
    pub commands: &'a [String],
    /// Shortcuts already kept.
    pub existing: &'a [Shortcut],
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

/// The tips reflector's messages.
pub fn tips_messages(input: &TipsInput<'_>) -> Vec<Message> {
    let sys = "You are the Experience Reflector for tips in Deskhand. From this run, write at \
most 3 short, general lessons that would help a future run in the same application: what \
worked, what failed and why, faster ways. Do not repeat existing tips. Scope each to its \
application (lower-case name) or leave app empty when it is general. Answer with one JSON \
object only: {\"tips\": [{\"app\": \"mousepad\", \"text\": \"...\"}]}.";
    let mut body = section("Instruction", input.instruction);
    body += &section("Result", &format!("{}: {}", input.status, input.summary));
    body += &section("Actions", &history_text(input.history, 40));
    body += &section("Existing tips", &tips_text(input.existing));
    vec![system(sys), user(vec![text(body)])]
}

/// The shortcuts reflector's messages.
pub fn shortcuts_messages(input: &ShortcutsInput<'_>) -> Vec<Message> {
    let sys = "You are the Experience Reflector for shortcuts in Deskhand. A shortcut is a \
reusable sequence of atomic steps with parameters that a future run can call as one step. \
From the successful run below, propose at most 2 new shortcuts that are not already \
covered. Each step is one command: click 'Label', click button 'Label', \
double_click 'Label', right_click 'Label', type \"{param}\", key ctrl+s, scroll down 3 \
'Label', wait 500; write {name} where a parameter's value goes and declare every parameter. \
\"requires\" is an element that must be on screen before the first step (e.g. \"menu 'File'\") \
or empty. Answer with one JSON object only: {\"shortcuts\": [{\"name\": \"snake_case\", \
\"app\": \"mousepad\", \"description\": \"...\", \"parameters\": [{\"name\": \"...\", \
\"description\": \"...\"}], \"precondition\": \"...\", \"requires\": \"\", \"steps\": \
[\"...\"]}]}.";
    let mut body = section("Instruction", input.instruction);
    body += &section(
        "The steps that worked, as commands",
        &input.commands.join("\n"),
    );
    body += &section("Existing shortcuts", &shortcuts_text(input.existing));
    vec![system(sys), user(vec![text(body)])]
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

/// The tips reflector's request.
pub fn tips_request(input: &TipsInput<'_>) -> ModelRequest {
    super::request(Role::Tips, tips_messages(input), tips_schema())
}

/// The shortcuts reflector's request.
pub fn shortcuts_request(input: &ShortcutsInput<'_>) -> ModelRequest {
    super::request(
        Role::Shortcuts,
        shortcuts_messages(input),
        shortcuts_schema(),
    )
}

/// Parses the tips reflector's answer.
pub fn validate_tips(text: &str) -> Result<TipsReply, String> {
    parse(text)
}

/// Parses the shortcuts reflector's answer (each shortcut is checked again before it is kept).
pub fn validate_shortcuts(text: &str) -> Result<ShortcutsReply, String> {
    parse(text)
}
