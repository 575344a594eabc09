//! The agent runtime: the ports a run uses, its limits, and the runner that opens the run,
//! hands it to the configured preset's loop and closes it. The parts the loops share are in
//! [`session`]; the call kernel every role call goes through is in [`call`].

pub(crate) mod call;
pub(crate) mod judge;
mod learn;
pub(crate) mod session;

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use deskhand_core::ports::{
    Accessibility, ActionGate, Apps, Clock, Confirmer, Input, MemoryStore, ModelBackend, Resumer,
    RunStatus, Screen, TokenUsage, UserPresence,
};
use deskhand_core::{Event, Experience, Perceptor};

use crate::presets::Preset;
use crate::runner::{Artifacts, Ports, RunError};
use crate::settle::SettlePolicy;
use session::Session;

/// Memory an agent run needs: runs and steps, plus tips, shortcuts and the model-call log.
pub trait AgentMemory: MemoryStore + Experience {
    /// The same store seen as a run log.
    fn store(&mut self) -> &mut dyn MemoryStore;
}

impl<T: MemoryStore + Experience> AgentMemory for T {
    fn store(&mut self) -> &mut dyn MemoryStore {
        self
    }
}

/// The ports one agent run uses.
pub struct AgentPorts<'a> {
    /// Perception (the fused layout tree, compact text and Set-of-Marks image).
    pub perceptor: &'a mut dyn Perceptor,
    /// The model endpoint(s), routed by role. Shared so that a call in flight can be left
    /// behind at once when the run is cancelled.
    pub model: Arc<dyn ModelBackend>,
    /// Runs, steps, model calls, tips and shortcuts.
    pub memory: &'a mut dyn AgentMemory,
    /// Screen capture.
    pub screen: &'a dyn Screen,
    /// The accessibility tree, when a bus is available.
    pub accessibility: Option<&'a dyn Accessibility>,
    /// Input injection.
    pub input: &'a mut dyn Input,
    /// Screenshots.
    pub artifacts: &'a dyn Artifacts,
    /// Time.
    pub clock: &'a dyn Clock,
    /// The policy checked before every action.
    pub gate: Option<&'a dyn ActionGate>,
    /// Who answers confirmation requests.
    pub confirmer: Option<&'a dyn Confirmer>,
    /// Starting apps and focusing windows.
    pub apps: Option<&'a dyn Apps>,
    /// Notices the user taking over.
    pub presence: Option<&'a dyn UserPresence>,
    /// Asks the user whether to go on after a takeover.
    pub resumer: Option<&'a dyn Resumer>,
}

impl AgentPorts<'_> {
    /// The ports the direct runner executes actions with.
    pub(crate) fn direct_ports(&mut self) -> Ports<'_> {
        Ports {
            screen: self.screen,
            accessibility: self.accessibility,
            input: &mut *self.input,
            memory: self.memory.store(),
            artifacts: self.artifacts,
            clock: self.clock,
            gate: self.gate,
            confirmer: self.confirmer,
            apps: self.apps,
            presence: self.presence,
            resumer: self.resumer,
            // The agent hands the runner the tree its Operator chose from.
            perceptor: None,
        }
    }
}

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
    pub fn run(
        &self,
        ports: AgentPorts<'_>,
        instruction: &str,
        on_event: &mut dyn FnMut(Event),
    ) -> Result<AgentOutcome, RunError> {
        let mut session =
            Session::start(self, ports, instruction, on_event).map_err(RunError::Storage)?;
        let ended = self.config.preset.run(&mut session);
        session.finish(ended).map_err(RunError::Storage)
    }
}
