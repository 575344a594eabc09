//! The agent runtime: the ports a run uses, its limits, and the runner that opens the run,
//! hands it to the configured preset's loop and closes it. The parts the loops share are in
//! [`session`]; the call kernel every role call goes through is in [`call`].

pub(crate) mod call;
pub(crate) mod judge;
mod learn;
pub(crate) mod session;
mod steward;

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use deskhand_core::ports::{RunStatus, TokenUsage};
use deskhand_core::Event;

use crate::presets::Preset;
pub use crate::runner::AgentMemory;
use crate::runner::{Ports, RunError};
use crate::settle::SettlePolicy;
pub use call::ask_role;
use session::Session;

/// Limits and switches of an agent run.
#[derive(Debug, Clone)]
pub struct AgentConfig {
    /// Stop (failed) after this many steps.
    pub max_steps: u32,
    /// Stop (failed) after this many B/C outcomes in a row.
    pub max_failures: u32,
    /// Stop (failed) when the same action is chosen this many times in a row.
    pub max_repeats: u32,
    /// Show the Manager the "potentially stuck" block after this many B/C in a row.
    pub escalate_after: u32,
    /// Token budget of the compact tree in prompts.
    pub budget_tokens: usize,
    /// Longest side of the Set-of-Marks image sent to models.
    pub max_image_side: u32,
    /// Tips retrieved per run.
    pub tips: usize,
    /// Shortcuts retrieved per run.
    pub shortcuts: usize,
    /// Write tips and shortcuts after the run.
    pub learn: bool,
    /// Send Set-of-Marks images to the models (text-only models: false).
    pub images: bool,
    /// How long to wait for the screen after each action.
    pub settle: SettlePolicy,
    /// Which loop strings the roles together.
    pub preset: Preset,
    /// Items of the user's own memory given to the Manager (0: none).
    pub recall: usize,
    /// Why the user's memory must not reach the model (an endpoint the user has not
    /// trusted); when set nothing is recalled and the run says so.
    pub recall_withheld: Option<String>,
}

impl Default for AgentConfig {
    fn default() -> Self {
        Self {
            max_steps: 15,
            max_failures: 4,
            max_repeats: 3,
            escalate_after: 2,
            budget_tokens: 1_500,
            max_image_side: 1_280,
            tips: 5,
            shortcuts: 5,
            learn: true,
            images: true,
            settle: SettlePolicy::default(),
            preset: Preset::default(),
            recall: 5,
            recall_withheld: None,
        }
    }
}

/// How an agent run ended.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentOutcome {
    /// Run id.
    pub run: i64,
    /// Final status.
    pub status: RunStatus,
    /// Summary or error.
    pub summary: String,
    /// Steps taken (actions or shortcut calls attempted).
    pub steps: u32,
    /// Model calls made during the steps (learning after the run not included).
    pub calls: u32,
    /// Tokens used, learning included.
    pub usage: TokenUsage,
    /// Tips stored after the run.
    pub tips_learned: usize,
    /// Names of shortcuts stored after the run.
    pub shortcuts_learned: Vec<String>,
}

/// Runs instructions with the roles, in the loop of the configured preset.
#[derive(Debug, Clone)]
pub struct AgentRunner {
    /// Limits and switches.
    pub config: AgentConfig,
    /// Set to stop the run at once (checked before every model call and action).
    pub cancel: Arc<AtomicBool>,
}

impl AgentRunner {
    /// A runner with its own cancel flag.
    pub fn new(config: AgentConfig) -> Self {
        Self {
            config,
            cancel: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Runs one instruction to its end: success, failure, infeasible or cancelled.
    /// `ports` must carry a perceptor and a model; without them the run is refused before it
    /// starts.
    pub fn run(
        &self,
        ports: Ports<'_>,
        instruction: &str,
        on_event: &mut dyn FnMut(Event),
    ) -> Result<AgentOutcome, RunError> {
        let mut session = Session::start(self, ports, instruction, on_event)?;
        let ended = self.config.preset.run(&mut session);
        session.finish(ended).map_err(RunError::Storage)
    }
}
