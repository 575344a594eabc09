//! What the roles share during a run (Mobile-Agent-E's information pool).

use deskhand_core::experience::Recollection;
use deskhand_core::ports::Outcome;
use deskhand_core::{Observation, Shortcut, Tip};

use crate::roles::{experience, manager, notetaker, operator};

/// One attempted step, for the history the roles see.
#[derive(Debug, Clone, PartialEq)]
pub struct Attempt {
    /// Step index.
    pub step: u32,
    /// The action (or shortcut call) in words.
    pub action: String,
    /// The `deskhand do` command equivalent, when there is one (for learning shortcuts).
    pub command: Option<String>,
    /// The outcome.
    pub outcome: Option<Outcome>,
    /// What went wrong, for B and C.
    pub error: String,
}

/// The information pool of one run.
#[derive(Debug, Clone, Default)]
pub struct RunState {
    /// The user's instruction.
    pub instruction: String,
    /// Facts found by earlier subtasks of a Steward run, fenced as screen text (empty
    /// otherwise).
    pub facts: String,
    /// The application the run works in (the app in front when last seen).
    pub app: String,
    /// The Manager's plan.
    pub plan: String,
    /// The current subgoal.
    pub subgoal: String,
    /// Subgoals done.
    pub completed: String,
    /// The Reflector's latest progress note.
    pub progress: String,
    /// The Notetaker's notes.
    pub notes: String,
    /// Whether the Manager asked for notes on the current subgoal.
    pub needs_notes: bool,
    /// Tips retrieved for this run.
    pub tips: Vec<Tip>,
    /// Shortcuts retrieved for this run.
    pub shortcuts: Vec<Shortcut>,
    /// What the user's own memory holds about the instruction (for the Manager).
    pub knowledge: Vec<Recollection>,
    /// The Critic's objection to a "Finished", for the Manager's next plan.
    pub critique: Option<String>,
    /// Times the Critic sent the Manager back.
    pub critic_rounds: u32,
    /// Every attempt so far.
    pub history: Vec<Attempt>,
    /// Failed (B/C) outcomes in a row.
    pub failures_in_row: u32,
    /// Escalate to the Manager after this many failures in a row.
    pub escalate_after: u32,
}

impl RunState {
    /// The "potentially stuck" block for the Manager: the failed attempts in a row, when
    /// there are at least `escalate_after` of them.
    pub fn stuck_block(&self) -> Option<String> {
        if self.escalate_after == 0 || self.failures_in_row < self.escalate_after {
            return None;
        }
        let failed: Vec<String> = self
            .history
            .iter()
            .rev()
            .take(self.failures_in_row as usize)
            .rev()
            .map(|a| {
                format!(
                    "- step {}: {} -> outcome {}: {}",
                    a.step,
                    a.action,
                    a.outcome.map(|o| o.as_str()).unwrap_or("?"),
                    a.error
                )
            })
            .collect();
        Some(format!(
            "The last {} attempts failed. Rethink the current subgoal or how to reach it; do not \
             repeat these:\n{}",
            self.failures_in_row,
            failed.join("\n")
        ))
    }

    /// What the Manager is shown of the pool (with the stuck block, when there is one).
    pub fn manager_input<'a>(
        &'a self,
        stuck: Option<&'a str>,
        screen: &'a Observation,
        images: bool,
    ) -> manager::Input<'a> {
        manager::Input {
            instruction: &self.instruction,
            facts: &self.facts,
            knowledge: &self.knowledge,
            critique: self.critique.as_deref(),
            tips: &self.tips,
            shortcuts: &self.shortcuts,
            plan: &self.plan,
            subgoal: &self.subgoal,
            completed: &self.completed,
            progress: &self.progress,
            history: &self.history,
            notes: &self.notes,
            stuck,
            screen,
            images,
        }
    }

    /// What the Operator is shown of the pool.
    pub fn operator_input<'a>(
        &'a self,
        screen: &'a Observation,
        images: bool,
    ) -> operator::Input<'a> {
        operator::Input {
            instruction: &self.instruction,
            facts: &self.facts,
            plan: &self.plan,
            subgoal: &self.subgoal,
            progress: &self.progress,
            tips: &self.tips,
            shortcuts: &self.shortcuts,
            notes: &self.notes,
            history: &self.history,
            screen,
            images,
        }
    }

    /// What the Notetaker is shown of the pool.
    pub fn notetaker_input<'a>(&'a self, screen: &'a Observation) -> notetaker::Input<'a> {
        notetaker::Input {
            instruction: &self.instruction,
            plan: &self.plan,
            subgoal: &self.subgoal,
            notes: &self.notes,
            screen,
        }
    }

    /// What the tips reflector is shown of the pool after the run.
    pub fn tips_input<'a>(
        &'a self,
        status: &'a str,
        summary: &'a str,
        existing: &'a [Tip],
    ) -> experience::TipsInput<'a> {
        experience::TipsInput {
            instruction: &self.instruction,
            status,
            summary,
            history: &self.history,
            existing,
        }
    }

    /// The commands of the steps judged A, in order (what a shortcut could repeat).
    pub fn commands(&self) -> Vec<String> {
        self.history
            .iter()
            .filter_map(|a| a.command.clone())
            .collect()
    }
}
