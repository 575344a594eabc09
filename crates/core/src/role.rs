//! The roles of the agent runtime that call models. A role picks the endpoint a request goes
//! to (`[models.roles.<role>]`); which roles a run uses is the agents' business (each preset
//! publishes its own), the model adapters route whatever role they are given.

use serde::{Deserialize, Serialize};

/// One role that asks a model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Plans subgoals (Mobile-Agent-E's Manager).
    Manager,
    /// Picks one action per step.
    Operator,
    /// Judges each step A/B/C (the Action Reflector).
    Reflector,
    /// Keeps what later subgoals need.
    Notetaker,
    /// Writes tips after a run (an Experience Reflector).
    Tips,
    /// Writes shortcuts after a successful run (an Experience Reflector).
    Shortcuts,
    /// Reads the user's own memory for a task: which remembered values fill a form.
    Memory,
    /// Checks a finished result against the user's own memory (Second Me's critic).
    Critic,
    /// Splits a cross-app task into a graph of app subtasks and re-plans it (MobileSteward).
    Steward,
    /// Reads a finished subtask's facts off the screen, or reflects on a failed one.
    Evaluator,
}

impl Role {
    /// Every role this vocabulary names, in a fixed order.
    pub const ALL: [Role; 10] = [
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

    /// The name used in configuration, logs and events ("manager").
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Manager => "manager",
            Role::Operator => "operator",
            Role::Reflector => "reflector",
            Role::Notetaker => "notetaker",
            Role::Tips => "tips",
            Role::Shortcuts => "shortcuts",
            Role::Memory => "memory",
            Role::Critic => "critic",
            Role::Steward => "steward",
            Role::Evaluator => "evaluator",
        }
    }

    /// The role with this name among `known`, or an error listing them.
    pub fn parse_among(name: &str, known: &[Role]) -> Result<Role, String> {
        known
            .iter()
            .copied()
            .find(|r| r.as_str() == name)
            .ok_or_else(|| format!("unknown role {name:?}: the roles are {}", names(known)))
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// "manager, operator, ..." for messages.
pub fn names(roles: &[Role]) -> String {
    roles
        .iter()
        .map(|r| r.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_names_list_the_known_ones() {
        for role in Role::ALL {
            assert_eq!(Role::parse_among(role.as_str(), &Role::ALL), Ok(role));
            let json = serde_json::to_string(&role).unwrap();
            assert_eq!(json, format!("\"{role}\""));
        }
        let err = Role::parse_among("managr", &[Role::Manager, Role::Operator]).unwrap_err();
        assert_eq!(
            err,
            "unknown role \"managr\": the roles are manager, operator"
        );
        // A role that exists but is not among those offered is unknown there.
        assert!(Role::parse_among("tips", &[Role::Manager]).is_err());
    }
}
