//! The Manager: breaks the instruction into subgoals, tracks which are done, names the one to
//! work on now, and says "Finished" when the instruction is done.

use deskhand_core::experience::Recollection;
use deskhand_core::ports::{Message, ModelRequest};
use deskhand_core::{Observation, Role, Shortcut, Tip};
use serde::Deserialize;
use serde_json::{json, Value};

use super::parse::parse;
use super::prompt::{
    history_text, knowledge_text, screen_parts, section, shortcuts_text, system, text, tips_text,
    user, FACTS_TITLE,
};
use crate::state::Attempt;

/// What the Manager is shown.
#[derive(Debug, Clone, Copy)]
pub struct Input<'a> {
    /// The user's instruction.
    pub instruction: &'a str,
    /// Facts found by earlier subtasks (a Steward run), fenced as screen text.
    pub facts: &'a str,
    /// What the user's own memory holds about it.
    pub knowledge: &'a [Recollection],
    /// The Critic's objection to the last "Finished".
    pub critique: Option<&'a str>,
    /// Tips from earlier runs.
    pub tips: &'a [Tip],
    /// Shortcuts the Operator can call.
    pub shortcuts: &'a [Shortcut],
    /// The plan so far (empty before the first plan).
    pub plan: &'a str,
    /// The current subgoal.
    pub subgoal: &'a str,
    /// Subgoals done.
    pub completed: &'a str,
    /// The Reflector's latest progress note.
    pub progress: &'a str,
    /// Every attempt so far (the last five are shown).
    pub history: &'a [Attempt],
    /// The Notetaker's notes.
    pub notes: &'a str,
    /// The "potentially stuck" block after repeated failures.
    pub stuck: Option<&'a str>,
    /// The screen now.
    pub screen: &'a Observation,
    /// Whether the Set-of-Marks image is sent.
    pub images: bool,
}

/// The Manager's answer.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Reply {
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

impl Reply {
    /// True when the Manager says the whole instruction is done.
    pub fn finished(&self) -> bool {
        let s = self.current_subgoal.trim().trim_end_matches('.');
        s.eq_ignore_ascii_case("finished")
    }
}

const SYSTEM: &str =
    "You are the Manager of Deskhand, an agent that operates a Linux desktop with \
mouse and keyboard for a user. You plan: break the user's instruction into a short list of \
subgoals, track which are done, and name the subgoal the Operator should work on now. When \
the whole instruction is done, set current_subgoal to \"Finished\". Prefer keyboard \
shortcuts and the listed Shortcuts when they fit. Answer with one JSON object only: \
{\"thought\": \"...\", \"plan\": \"1. ... 2. ...\", \"current_subgoal\": \"...\", \
\"completed_subgoals\": \"...\", \"needs_notes\": false}. Set needs_notes to true only when \
the current subgoal requires remembering something shown on screen for a later subgoal.";

/// The Manager's messages.
pub fn messages(input: &Input<'_>) -> Vec<Message> {
    let mut body = section("User instruction", input.instruction);
    body += &section(FACTS_TITLE, input.facts);
    if !input.knowledge.is_empty() {
        body += &section(
            "Reference knowledge from the user's own memory (use it where the instruction \
             needs the user's details; do not guess them)",
            &knowledge_text(input.knowledge),
        );
    }
    body += &section("Tips from earlier runs", &tips_text(input.tips));
    body += &section(
        "Shortcuts the Operator can call",
        &shortcuts_text(input.shortcuts),
    );
    if !input.plan.is_empty() {
        body += &section("Current plan", input.plan);
        body += &section("Current subgoal", input.subgoal);
        body += &section("Completed subgoals", input.completed);
        body += &section("Progress", input.progress);
        body += &section("Recent actions", &history_text(input.history, 5));
        body += &section("Important notes", input.notes);
    }
    if let Some(stuck) = input.stuck {
        body += &section("Potentially stuck", stuck);
    }
    if let Some(problem) = input.critique {
        body += &section(
            "Not finished: the Critic checked the result against the user's memory",
            problem,
        );
    }
    body += if input.plan.is_empty() {
        "Make the plan and name the first subgoal.\n\n"
    } else {
        "Update the plan if needed and name the subgoal to work on now (or \"Finished\").\n\n"
    };
    let mut parts = vec![text(body)];
    parts.extend(screen_parts(input.screen, input.images, "Current screen"));
    vec![system(SYSTEM), user(parts)]
}

/// JSON schema of the Manager's answer.
pub fn schema() -> Value {
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

/// The Manager's request.
pub fn request(input: &Input<'_>) -> ModelRequest {
    let mut r = super::request(Role::Manager, messages(input), schema());
    r.memory_used = input.knowledge.iter().map(|k| k.id.clone()).collect();
    r
}

/// Parses the answer; a plan without a current subgoal is invalid.
pub fn validate(text: &str) -> Result<Reply, String> {
    let m: Reply = parse(text)?;
    if m.current_subgoal.trim().is_empty() {
        return Err("current_subgoal is empty".into());
    }
    Ok(m)
}

/// The numbered subgoals of a plan ("1. open the file 2. save it"), in order.
pub fn subgoals(plan: &str) -> Vec<String> {
    let mut items = Vec::new();
    let mut current = String::new();
    let words: Vec<&str> = plan.split_whitespace().collect();
    for w in words {
        let numbered = w
            .strip_suffix(['.', ')'])
            .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()));
        if numbered {
            if !current.trim().is_empty() {
                items.push(current.trim().to_string());
            }
            current.clear();
        } else {
            current.push_str(w);
            current.push(' ');
        }
    }
    if !current.trim().is_empty() {
        items.push(current.trim().to_string());
    }
    items
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_without_a_subgoal_are_refused_and_finished_is_read_loosely() {
        assert!(validate(r#"{"thought":"x"}"#).is_err());
        assert!(validate(r#"{"thought":"x","plan":"1. a","current_subgoal":"  "}"#).is_err());
        let m = validate(r#"{"thought":"x","plan":"1. a","current_subgoal":"Finished."}"#).unwrap();
        assert!(m.finished());
        let m = validate(r#"{"plan":"1. a","current_subgoal":"finish the letter"}"#).unwrap();
        assert!(!m.finished());
    }

    #[test]
    fn plans_split_into_numbered_subgoals() {
        assert_eq!(
            subgoals("1. Open mousepad. 2) Type hello\n3. Save as 2.txt"),
            vec!["Open mousepad.", "Type hello", "Save as 2.txt"]
        );
        assert_eq!(subgoals("just do it"), vec!["just do it"]);
        assert!(subgoals("  ").is_empty());
    }
}
