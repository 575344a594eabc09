//! The roles that ask models, one module each: its prompt, the shape of its answer, the
//! schema sent as a structured-output hint and the validator that every answer passes before
//! anything uses it. A role takes a narrow input of its own, never the whole run state.

pub mod critic;
pub mod evaluator;
pub mod experience;
pub mod manager;
pub mod memory;
pub mod notetaker;
pub mod operator;
pub mod parse;
pub mod profile;
pub mod prompt;
pub mod reflector;
pub mod steward;

use deskhand_core::ports::{Message, ModelRequest};
use deskhand_core::Role;
use serde_json::Value;

/// Every role the agent runtime calls, across all presets: the list per-role model
/// configuration is checked against.
pub const ROLES: &[Role] = &[
    Role::Manager,
    Role::Operator,
    Role::Reflector,
    Role::Notetaker,
    Role::Tips,
    Role::Shortcuts,
    Role::Memory,
    Role::Critic,
    Role::Steward,
    Role::Evaluator,
];

/// Upper bound on a role's answer.
fn max_tokens(role: Role) -> u32 {
    match role {
        Role::Manager | Role::Shortcuts | Role::Steward => 1_024,
        Role::Notetaker | Role::Tips | Role::Memory | Role::Critic | Role::Evaluator => 512,
        Role::Operator | Role::Reflector => 768,
    }
}

/// A role's request: its messages with its schema.
pub(crate) fn request(role: Role, messages: Vec<Message>, schema: Value) -> ModelRequest {
    ModelRequest {
        agent_role: role,
        messages,
        json_schema: Some(schema),
        max_tokens: max_tokens(role),
        memory_used: Vec::new(),
    }
}
