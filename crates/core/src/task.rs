//! Task files in the shape of OSWorld's: an instruction, set-up steps and an evaluator.

use serde::{Deserialize, Serialize};

/// One set-up step run in a fresh desktop before the agent starts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetupStep {
    /// Step type: create_file, launch, wait_window, wait_atspi, ...
    #[serde(rename = "type")]
    pub kind: String,
    /// Its parameters.
    #[serde(default)]
    pub parameters: serde_json::Value,
}

/// A task file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskSpec {
    /// Unique id.
    pub id: String,
    /// What a person would type.
    pub instruction: String,
    /// Applications the task uses.
    #[serde(default)]
    pub related_apps: Vec<String>,
    /// Step budget.
    #[serde(default = "default_max_steps")]
    pub max_steps: u32,
    /// Set-up steps.
    #[serde(default)]
    pub config: Vec<SetupStep>,
    /// How the outcome is judged.
    pub evaluator: serde_json::Value,
    /// The desktop the task starts in, e.g. "xvfb-openbox-1280x800" (default 1280x800).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot: Option<String>,
    /// Where the task comes from (free text, e.g. "local-poc").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

fn default_max_steps() -> u32 {
    15
}

impl TaskSpec {
    /// Parses a task file; unknown fields (typos) are errors naming the field and line.
    pub fn from_json(text: &str) -> Result<TaskSpec, String> {
        serde_json::from_str(text).map_err(|e| format!("invalid task file: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_typo_in_a_task_file_is_reported_with_its_line() {
        let good = r#"{"id":"t","instruction":"do it","evaluator":{"func":"exact_match"}}"#;
        assert_eq!(TaskSpec::from_json(good).unwrap().max_steps, 15);
        let bad = "{\"id\":\"t\",\n\"instrction\":\"do it\",\"evaluator\":{}}";
        let err = TaskSpec::from_json(bad).unwrap_err();
        assert!(
            err.contains("instrction") && err.contains("line 2"),
            "{err}"
        );
    }
}
