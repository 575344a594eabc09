//! What agents see each step (the [`Perceptor`] port) and what they learn across runs: Tips,
//! Shortcuts and the record of every model call (the [`Experience`] port).

use serde::{Deserialize, Serialize};

use crate::error::PortError;
use crate::geometry::{CoordSpace, Frame};
use crate::layout::LayoutTree;
use crate::ports::TokenUsage;

/// The Set-of-Marks screenshot sent to models: numbered boxes that match the tree's node ids.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MarkedImage {
    /// PNG bytes, base64.
    pub png_base64: String,
    /// Image width.
    pub width: u32,
    /// Image height.
    pub height: u32,
    /// The space of the image's pixels; a point picked on it maps back to the desktop exactly.
    pub space: CoordSpace,
}

/// One look at the desktop, as the agents use it.
#[derive(Debug, Clone, Default)]
pub struct Observation {
    /// The fused layout tree; node ids are what the Operator targets.
    pub tree: LayoutTree,
    /// The captured frames (all monitors).
    pub frames: Vec<Frame>,
    /// The tree as compact text within the token budget asked for.
    pub compact: String,
    /// The Set-of-Marks image of the monitor with the active window, when asked for.
    pub marks: Option<MarkedImage>,
    /// The application of the active window ("mousepad"), when known.
    pub app: Option<String>,
    /// The title of the active window, when known.
    pub window_title: Option<String>,
    /// True when nothing changed since the previous observation.
    pub unchanged: bool,
    /// What perception fell back from ("accessibility unavailable: vision only").
    pub notes: Vec<String>,
    /// Time it took.
    pub ms: u64,
}

/// What an observation should include.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ObserveOptions {
    /// Token budget of the compact text.
    pub budget_tokens: usize,
    /// Render the Set-of-Marks image.
    pub marks: bool,
    /// Longest side of the Set-of-Marks image, in pixels (it is downscaled beyond that).
    pub max_side: u32,
}

impl Default for ObserveOptions {
    fn default() -> Self {
        Self {
            budget_tokens: 1_500,
            marks: true,
            max_side: 1_280,
        }
    }
}

/// Perceives the desktop for the agents (the perception crate, wired by the host).
pub trait Perceptor: Send {
    /// Looks at the desktop now.
    fn observe(&mut self, options: &ObserveOptions) -> Result<Observation, PortError>;
}

/// A lesson learned from a run ("In Mousepad, Save As is ctrl+shift+s").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tip {
    /// Id in the store (0 before it is stored).
    #[serde(default)]
    pub id: i64,
    /// The application it applies to, lower case ("mousepad"); empty for any.
    #[serde(default)]
    pub app: String,
    /// The lesson.
    pub text: String,
    /// The run that taught it.
    #[serde(default)]
    pub source_run: Option<i64>,
    /// How many later runs were given it.
    #[serde(default)]
    pub uses: u32,
    /// When it was learned, ms since the Unix epoch.
    #[serde(default)]
    pub created_ms: i64,
}

/// A parameter of a shortcut.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShortcutParam {
    /// Name, used as `{name}` in the steps.
    pub name: String,
    /// What to pass.
    #[serde(default)]
    pub description: String,
}

/// A reusable, parameterised sequence of atomic steps.
///
/// Each step is a command of the `deskhand do` language (`key ctrl+s`, `type "{text}"`,
/// `click button 'Save'`) in which `{param}` is replaced by the argument; targets are found
/// on the live screen before each step, so a shortcut adapts to where things are.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Shortcut {
    /// Id in the store (0 before it is stored).
    #[serde(default)]
    pub id: i64,
    /// Unique name within its app, snake_case ("save_as").
    pub name: String,
    /// The application it works in, lower case; empty for any.
    #[serde(default)]
    pub app: String,
    /// What it does.
    pub description: String,
    /// Its parameters.
    #[serde(default)]
    pub parameters: Vec<ShortcutParam>,
    /// When it can be used, in words, for the models.
    #[serde(default)]
    pub precondition: String,
    /// A description that must be found on screen before the first step (checked, e.g.
    /// "menu 'File'"); none when anything goes.
    #[serde(default)]
    pub requires: Option<String>,
    /// The steps: `deskhand do` commands with `{param}` placeholders.
    pub steps: Vec<String>,
    /// The run that created it.
    #[serde(default)]
    pub source_run: Option<i64>,
    /// Times it was run.
    #[serde(default)]
    pub uses: u32,
    /// Times it ran to the end.
    #[serde(default)]
    pub successes: u32,
}

/// One model call made during a run, as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelCallRecord {
    /// Step index (the step the call belongs to).
    pub step: u32,
    /// The agent role ("manager", "operator", "reflector", "notetaker", "tips", "shortcuts").
    pub role: String,
    /// The request as sent (messages; images replaced by their size).
    pub prompt: String,
    /// The reply text, or empty when the call failed.
    pub reply: String,
    /// Tokens used.
    pub usage: TokenUsage,
    /// Time the call took.
    pub ms: u64,
    /// The error, when the call or its validation failed.
    pub error: Option<String>,
    /// The items of the user's memory its prompt held ("chunk:12").
    #[serde(default)]
    pub memory_used: Vec<String>,
}

/// Something the user's own memory holds that bears on a task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Recollection {
    /// Names the item for the call log ("chunk:12").
    pub id: String,
    /// Where it came from (a file path, a note).
    pub source: String,
    /// What it says.
    pub text: String,
    /// Its cosine similarity to the task, when it was found by meaning.
    pub similarity: Option<f32>,
}

/// The user's own memory, as the agents read it.
pub trait PersonalMemory: Send {
    /// What the memory holds about `query` above its similarity threshold, best first; empty
    /// when it knows nothing relevant.
    fn recall(&mut self, query: &str, limit: usize) -> Result<Vec<Recollection>, PortError>;
}

fn is_snake_case(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !name.ends_with('_')
        && !name.contains("__")
}

fn is_identifier(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The `{param}` placeholders of a step, in order.
pub fn placeholders(step: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = step;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else { break };
        let name = &after[..close];
        if is_identifier(name) {
            out.push(name);
            rest = &after[close + 1..];
        } else {
            rest = after;
        }
    }
    out
}

impl Shortcut {
    /// The one rule set for a shortcut, used before it is stored and before it is offered: a
    /// snake_case name; at least one step and none empty; parameters that are identifiers,
    /// declared once, and exactly the `{placeholders}` the steps use; and every step, filled
    /// with sample values, a `deskhand do` command. All problems are named at once.
    pub fn check(&self) -> Result<(), String> {
        use std::collections::BTreeSet;
        let mut problems = Vec::new();
        if !is_snake_case(&self.name) {
            problems.push("the name must be snake_case (like \"save_as\")".to_string());
        }
        if self.steps.is_empty() {
            problems.push("it has no steps".to_string());
        }
        let mut declared = BTreeSet::new();
        for p in &self.parameters {
            if !is_identifier(&p.name) {
                problems.push(format!("parameter name {:?} is not an identifier", p.name));
            } else if !declared.insert(p.name.as_str()) {
                problems.push(format!("parameter {:?} is declared twice", p.name));
            }
        }
        let used: BTreeSet<&str> = self.steps.iter().flat_map(|s| placeholders(s)).collect();
        for u in used.difference(&declared) {
            problems.push(format!(
                "{{{u}}} is used in the steps but not declared as a parameter"
            ));
        }
        for d in declared.difference(&used) {
            problems.push(format!(
                "parameter {d:?} is declared but no step uses {{{d}}}"
            ));
        }
        for (i, step) in self.steps.iter().enumerate() {
            if step.trim().is_empty() {
                problems.push(format!("step {} is empty", i + 1));
                continue;
            }
            let mut sample = step.clone();
            for d in &declared {
                sample = sample.replace(&format!("{{{d}}}"), "x");
            }
            // The command language has no verb for done, fail or ask_user: a step that parses
            // is an action a shortcut may take.
            if let Err(e) = crate::command::Command::parse(&sample) {
                problems.push(format!("step {} ({step:?}): {e}", i + 1));
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(format!("shortcut {:?}: {}", self.name, problems.join("; ")))
        }
    }
}

/// Tips, shortcuts and the model-call log.
pub trait Experience: Send {
    /// Tips for an app (and app-independent ones) most relevant to a query, best first.
    fn relevant_tips(&self, app: &str, query: &str, limit: usize) -> Result<Vec<Tip>, PortError>;
    /// Shortcuts for an app (and app-independent ones) most relevant to a query, best first.
    fn relevant_shortcuts(
        &self,
        app: &str,
        query: &str,
        limit: usize,
    ) -> Result<Vec<Shortcut>, PortError>;
    /// Stores a tip unless an equivalent one exists; returns the id of the stored or existing
    /// tip.
    fn add_tip(&mut self, tip: &Tip) -> Result<i64, PortError>;
    /// Stores a shortcut; one with the same app and name is replaced (keeping its counts).
    fn save_shortcut(&mut self, shortcut: &Shortcut) -> Result<i64, PortError>;
    /// Counts a run of a shortcut.
    fn shortcut_used(&mut self, id: i64, succeeded: bool) -> Result<(), PortError>;
    /// Counts tips given to a run.
    fn tips_used(&mut self, ids: &[i64]) -> Result<(), PortError>;
    /// The Steward's guidelines most relevant to a task, best first.
    fn relevant_guidelines(
        &self,
        task: &str,
        limit: usize,
    ) -> Result<Vec<crate::graph::Guideline>, PortError>;
    /// Stores a guideline; one learned from the same task replaces it. Returns its id.
    fn add_guideline(&mut self, guideline: &crate::graph::Guideline) -> Result<i64, PortError>;
    /// Counts guidelines given to a run.
    fn guidelines_used(&mut self, ids: &[i64]) -> Result<(), PortError>;
    /// Appends a model call to a run's log; durable once this returns.
    fn record_call(&mut self, run: i64, call: &ModelCallRecord) -> Result<(), PortError>;
    /// The model calls of a run, in order.
    fn calls(&self, run: i64) -> Result<Vec<ModelCallRecord>, PortError>;
}

#[cfg(test)]
mod shortcut_rules {
    use super::*;

    fn save_as() -> Shortcut {
        Shortcut {
            id: 0,
            name: "save_as".into(),
            app: "mousepad".into(),
            description: "save under a name".into(),
            parameters: vec![ShortcutParam {
                name: "file".into(),
                description: String::new(),
            }],
            precondition: String::new(),
            requires: None,
            steps: vec!["key ctrl+shift+s".into(), "type \"{file}\"".into()],
            source_run: None,
            uses: 0,
            successes: 0,
        }
    }

    #[test]
    fn names_placeholders_and_steps_follow_one_rule_set() {
        assert_eq!(
            placeholders("type \"{text}\" then {x1} {not a param} {}"),
            vec!["text", "x1"]
        );
        assert!(
            is_snake_case("save_as2")
                && !is_snake_case("SaveAs")
                && !is_snake_case("save_")
                && !is_snake_case("")
        );
        assert_eq!(save_as().check(), Ok(()));
        let mut bad = save_as();
        bad.name = "Save As".into();
        bad.steps.push("explode 'x'".into());
        bad.steps.push("type '{other}'".into());
        let err = bad.check().unwrap_err();
        for says in [
            "snake_case",
            "step 3 (\"explode 'x'\")",
            "{other} is used in the steps but not declared",
        ] {
            assert!(err.contains(says), "{says}: {err}");
        }
    }
}
