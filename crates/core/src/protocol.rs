//! The one protocol between front ends (CLI, desktop app, tests) and the runtime:
//! front ends submit [`Op`]s and consume a stream of [`Event`]s.

use serde::{Deserialize, Serialize};

use crate::action::Action;
use crate::geometry::Point;
use crate::ports::RunStatus;

/// A command from a front end.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "op")]
pub enum Op {
    /// Run commands of the `deskhand do` language, one step each.
    Do {
        /// The commands, in order.
        commands: Vec<String>,
    },
    /// Execute one validated action.
    Act {
        /// The action.
        action: Action,
    },
    /// Run an instruction with the agents (needs a configured model endpoint).
    Run {
        /// What to do, in words.
        instruction: String,
        /// Step budget; the configured default when omitted.
        #[serde(default)]
        max_steps: Option<u32>,
        /// The agent loop ("deskhand", "mobile-agent-e"); the configured default when
        /// omitted. An unknown name is refused before anything moves.
        #[serde(default)]
        preset: Option<String>,
    },
    /// Stop the current run at once.
    Cancel,
    /// Resume a run paused because the user took over (a no-op when nothing is paused).
    Resume,
    /// Answer the confirmation request that is waiting (there is at most one: the run waits).
    Confirm {
        /// Yes or no.
        allow: bool,
    },
}

/// Something that happened, for front ends to show.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "event")]
pub enum Event {
    /// A run began.
    RunStarted {
        /// Run id in the database.
        run: i64,
        /// The task text.
        task: String,
    },
    /// The screen was perceived.
    Perceived {
        /// Step index.
        step: u32,
        /// Nodes in the layout tree.
        nodes: usize,
        /// Time it took.
        ms: u64,
    },
    /// An action is about to run.
    ActionStarted {
        /// Step index.
        step: u32,
        /// The validated action.
        action: Action,
        /// The desktop point it aims at, if any.
        point: Option<Point>,
        /// The target described, if any.
        target: Option<String>,
    },
    /// A step ended.
    StepFinished {
        /// Step index.
        step: u32,
        /// True when the action ran.
        ok: bool,
        /// The error, when it did not.
        error: Option<String>,
        /// Screenshot saved after the step.
        screenshot: Option<String>,
        /// Time spent acting.
        ms: u64,
        /// What the action changed on screen.
        #[serde(default)]
        effect: Option<crate::ports::ActionEffect>,
    },
    /// The policy wants the user to confirm an action before it runs.
    ConfirmationRequested {
        /// Step index.
        step: u32,
        /// The action exactly as it will run, invisible characters escaped.
        shown: String,
        /// Why confirmation is needed.
        reason: String,
        /// The rule that asked.
        rule: String,
    },
    /// The policy refused an action, or the user did not confirm it.
    ActionRefused {
        /// Step index.
        step: u32,
        /// Why.
        reason: String,
    },
    /// The user used the mouse or keyboard during a run; the run waits until resumed.
    Paused {
        /// What the user did.
        reason: String,
    },
    /// A paused run goes on.
    Resumed,
    /// A run ended.
    RunFinished {
        /// Run id.
        run: i64,
        /// How it ended.
        status: RunStatus,
        /// Summary or error.
        summary: String,
    },
    /// The Manager planned (or re-planned).
    Planned {
        /// Step index.
        step: u32,
        /// The overall plan.
        plan: String,
        /// The subgoal being worked on now.
        subgoal: String,
        /// The plan's subtasks in order, as a list a front end can show.
        #[serde(default)]
        subtasks: Vec<String>,
    },
    /// One model call ended.
    ModelCalled {
        /// Step index.
        step: u32,
        /// The agent role.
        role: String,
        /// Time it took.
        ms: u64,
        /// Tokens used.
        usage: crate::ports::TokenUsage,
        /// The error, when the call or its answer's validation failed.
        #[serde(default)]
        error: Option<String>,
    },
    /// The Operator chose what to do.
    Decided {
        /// Step index.
        step: u32,
        /// Its reasoning.
        thought: String,
        /// The action (or shortcut call) in words.
        action: String,
        /// The Set-of-Marks image it saw, when saved.
        #[serde(default)]
        marks: Option<String>,
    },
    /// The Action Reflector judged the step.
    Reflected {
        /// Step index.
        step: u32,
        /// A, B or C.
        outcome: crate::ports::Outcome,
        /// What went wrong, for B and C.
        error: String,
        /// Progress so far.
        progress: String,
        /// Who judged: a model, or the runtime from plain evidence.
        #[serde(default)]
        by: Judge,
    },
    /// An agent step ended: everything a progress line shows.
    AgentStep {
        /// Step index.
        step: u32,
        /// The subgoal.
        subgoal: String,
        /// The action in words.
        action: String,
        /// The outcome, when judged.
        outcome: Option<crate::ports::Outcome>,
        /// Model calls made in the step.
        calls: u32,
        /// Tokens used in the step.
        usage: crate::ports::TokenUsage,
        /// Time the step took.
        ms: u64,
    },
    /// The Steward's scheduling graph: revision 0 first, one more per re-plan (then the
    /// nodes are the rest of the task).
    Graph {
        /// Which graph of the run.
        revision: u32,
        /// The nodes, in the order they will run.
        nodes: Vec<crate::graph::TaskNode>,
    },
    /// A node of the Steward's graph changed state.
    Node {
        /// The node's id.
        node: String,
        /// Its app.
        app: String,
        /// Where it stands now.
        state: crate::graph::NodeState,
        /// The facts it found (when done).
        #[serde(default)]
        facts: Vec<crate::graph::NodeFact>,
        /// Why it failed or is retried.
        #[serde(default)]
        reason: String,
    },
    /// Something worth telling that is not an error.
    Notice {
        /// The message.
        message: String,
    },
}

/// Who judged a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Judge {
    /// A model (the Action Reflector).
    #[default]
    Model,
    /// The runtime, from evidence it can see for itself (nothing changed on screen; the
    /// typed text is in the field; the action could not be carried out).
    Runtime,
}
