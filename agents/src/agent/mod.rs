//! The Mobile-Agent-E hierarchy on the desktop: a Manager plans subgoals, an Operator picks one
//! action (or one shortcut) per step on the Set-of-Marks screen, an Action Reflector judges
//! each step A/B/C, a Notetaker keeps what later subgoals need, and after the run Experience
//! Reflectors write Tips and Shortcuts that later runs retrieve.
//!
//! Where the data allows, work is overlapped or skipped (the LLM-Compiler idea): perception
//! runs while memory is read; the Reflector and the Notetaker are asked together; the Manager
//! is skipped while the subgoal is in progress and the last outcome was A; an outcome the
//! runtime can see for itself (nothing changed on screen; typed text verified in the focused
//! field) needs no model call.

mod prompts;
pub mod reply;
pub mod shortcut;
mod state;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use deskhand_core::command::Command;
use deskhand_core::ports::{
    Accessibility, ActionGate, Apps, Clock, Confirmer, Input, MemoryStore, ModelBackend, Resumer,
    Screen, UserPresence,
};
use deskhand_core::ports::{
    AgentStepInfo, Message, MessagePart, MessageRole, ModelReply, ModelRequest, ModuleTimes,
    Outcome, RunStatus, StepRecord, TokenUsage,
};
use deskhand_core::{
    Action, Event, Experience, Frame, ModelCallRecord, Monitor, NodeState, Observation,
    ObserveOptions, Perceptor, PortError, Shortcut, Tip,
};
use serde_json::Value;

use crate::effect::{target_window, FocusSnapshot};
use crate::runner::{Artifacts, DirectRunner, Ports, RunError};
use crate::settle::SettlePolicy;
use reply::{Decision, ManagerReply, NotetakerReply, OperatorReply, ReflectorReply};
pub use state::{Attempt, RunState};

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
    fn direct_ports(&mut self) -> Ports<'_> {
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

/// Runs instructions with the Manager / Operator / Reflector / Notetaker hierarchy.
#[derive(Debug, Clone)]
pub struct AgentRunner {
    /// Limits and switches.
    pub config: AgentConfig,
    /// Set to stop the run at once (checked before every model call and action).
    pub cancel: Arc<AtomicBool>,
}

/// Why the loop stopped early.
enum Stop {
    /// The run ends with this status and summary.
    End(RunStatus, String),
    /// The run log could not be written.
    Storage(PortError),
}

impl From<PortError> for Stop {
    fn from(e: PortError) -> Self {
        Stop::Storage(e)
    }
}

/// Counters of one step.
#[derive(Debug, Default, Clone)]
struct StepStats {
    calls: u32,
    usage: TokenUsage,
    times: ModuleTimes,
}

impl StepStats {
    fn add(&mut self, usage: TokenUsage) {
        self.calls += 1;
        self.usage.prompt += usage.prompt;
        self.usage.completion += usage.completion;
    }
}

/// One model call's raw result and time.
type Answer = (Result<ModelReply, PortError>, u64);

/// One model call on its own thread, given up at once when `cancel` is set (the call then
/// ends in the background; its answer is dropped).
fn complete(model: &Arc<dyn ModelBackend>, request: &ModelRequest, cancel: &AtomicBool) -> Answer {
    let t = Instant::now();
    let (tx, rx) = std::sync::mpsc::channel();
    let (model, request) = (model.clone(), request.clone());
    let spawned = std::thread::Builder::new()
        .name("model-call".into())
        .spawn(move || {
            let _ = tx.send(model.complete(&request));
        });
    if let Err(e) = spawned {
        return (
            Err(PortError::failed(format!("cannot start a model call: {e}"))),
            0,
        );
    }
    loop {
        match rx.recv_timeout(std::time::Duration::from_millis(25)) {
            Ok(r) => return (r, t.elapsed().as_millis() as u64),
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) if cancel.load(Ordering::SeqCst) => {
                return (
                    Err(PortError::failed("cancelled while waiting for the model")),
                    t.elapsed().as_millis() as u64,
                )
            }
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                return (
                    Err(PortError::failed("the model call ended without an answer")),
                    t.elapsed().as_millis() as u64,
                )
            }
        }
    }
}

fn max_tokens(role: &str) -> u32 {
    match role {
        "manager" | "shortcuts" => 1_024,
        "notetaker" | "tips" => 512,
        _ => 768,
    }
}

fn monitors_of(obs: &Observation) -> Vec<Monitor> {
    obs.frames.iter().map(|f| f.monitor.clone()).collect()
}

/// A one-line description of an action for history and progress.
fn describe_action(action: &Action, obs: &Observation) -> String {
    let target = action.targets().first().and_then(|t| match t {
        deskhand_core::Target::Node { id } => obs.tree.get(id).map(|n| n.describe()),
        deskhand_core::Target::Point { x, y, .. } => Some(format!("point ({x:.0}, {y:.0})")),
    });
    let mut v = serde_json::to_value(action).unwrap_or(Value::Null);
    if let Some(o) = v.as_object_mut() {
        o.remove("target");
        o.remove("from");
        o.remove("to");
    }
    match target {
        Some(t) => format!("{} on {t}", compact_json(&v)),
        None => compact_json(&v),
    }
}

fn compact_json(v: &Value) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

fn describe_call(s: &Shortcut, args: &BTreeMap<String, String>) -> String {
    let args: Vec<String> = args.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
    format!("shortcut {}({})", s.name, args.join(", "))
}

fn effect_text(step: &StepRecord) -> String {
    let Some(e) = &step.effect else {
        return step
            .error
            .clone()
            .unwrap_or_else(|| "no effect recorded".into());
    };
    let mut parts = Vec::new();
    match e.changed {
        Some(r) => parts.push(format!(
            "pixels changed in a {}x{} area at ({}, {})",
            r.width, r.height, r.x, r.y
        )),
        None => parts.push("no pixel changed".into()),
    }
    parts.push(format!("settled in {} ms", e.settle_ms));
    if e.focus_moved {
        parts.push("the focus or active window changed".into());
    }
    match e.text_verified {
        Some(true) => parts.push("the typed text is in the focused field".into()),
        Some(false) => parts.push("the typed text is NOT in the focused field".into()),
        None => {}
    }
    if e.target_in_front == Some(false) {
        parts.push("the target's window is no longer in front".into());
    }
    parts.join("; ")
}

impl AgentRunner {
    /// A runner with its own cancel flag.
    pub fn new(config: AgentConfig) -> Self {
        Self {
            config,
            cancel: Arc::new(AtomicBool::new(false)),
        }
    }

    fn cancelled(&self) -> bool {
        self.cancel.load(Ordering::SeqCst)
    }

    fn direct(&self) -> DirectRunner {
        DirectRunner {
            settle: self.config.settle,
            cancel: self.cancel.clone(),
            read_after: false,
            ..DirectRunner::default()
        }
    }

    fn observe_options(&self, marks: bool) -> ObserveOptions {
        ObserveOptions {
            budget_tokens: self.config.budget_tokens,
            marks: marks && self.config.images,
            max_side: self.config.max_image_side,
        }
    }

    /// Runs one instruction to its end: success, failure, infeasible or cancelled.
    pub fn run(
        &self,
        ports: AgentPorts<'_>,
        instruction: &str,
        on_event: &mut dyn FnMut(Event),
    ) -> Result<AgentOutcome, RunError> {
        let mut p = ports;
        let run = p
            .memory
            .store()
            .start_run(instruction, p.clock.now_ms())
            .map_err(RunError::Storage)?;
        on_event(Event::RunStarted {
            run,
            task: instruction.to_string(),
        });
        let mut state = RunState {
            instruction: instruction.to_string(),
            escalate_after: self.config.escalate_after,
            ..RunState::default()
        };
        let mut outcome = AgentOutcome {
            run,
            status: RunStatus::Running,
            summary: String::new(),
            steps: 0,
            calls: 0,
            usage: TokenUsage::default(),
            tips_learned: 0,
            shortcuts_learned: Vec::new(),
        };
        let result = self.steps(&mut p, run, &mut state, &mut outcome, on_event);
        let (status, summary) = match result {
            Ok(end) => end,
            Err(Stop::End(status, summary)) => (status, summary),
            Err(Stop::Storage(e)) => {
                // Try to close the run; the storage error is what the caller needs to know.
                let _ = p.memory.store().finish_run(
                    run,
                    RunStatus::Failed,
                    &format!("cannot record the run: {e}"),
                    p.clock.now_ms(),
                );
                return Err(RunError::Storage(e));
            }
        };
        outcome.status = status;
        outcome.summary = summary.clone();
        if self.config.learn && status != RunStatus::Cancelled && !state.history.is_empty() {
            self.learn(&mut p, run, &state, &mut outcome, on_event);
        }
        p.memory
            .store()
            .finish_run(run, status, &summary, p.clock.now_ms())
            .map_err(RunError::Storage)?;
        on_event(Event::RunFinished {
            run,
            status,
            summary,
        });
        Ok(outcome)
    }

    /// The step loop; returns how the run ended.
    fn steps(
        &self,
        p: &mut AgentPorts<'_>,
        run: i64,
        state: &mut RunState,
        outcome: &mut AgentOutcome,
        on_event: &mut dyn FnMut(Event),
    ) -> Result<(RunStatus, String), Stop> {
        // Perception and memory retrieval together.
        let t0 = Instant::now();
        let opts = self.observe_options(true);
        let (k_tips, k_shortcuts) = (self.config.tips, self.config.shortcuts);
        let instruction = state.instruction.clone();
        let perceptor = &mut *p.perceptor;
        let memory = &mut *p.memory;
        let (observed, generic) = std::thread::scope(|s| {
            let seen = s.spawn(|| perceptor.observe(&opts));
            let t = Instant::now();
            let tips = memory.relevant_tips("", &instruction, k_tips);
            let shortcuts = memory.relevant_shortcuts("", &instruction, k_shortcuts);
            let retrieve_ms = t.elapsed().as_millis() as u64;
            let seen = seen
                .join()
                .unwrap_or_else(|_| Err(PortError::failed("perception panicked")));
            (seen, (tips, shortcuts, retrieve_ms))
        });
        let mut obs = observed
            .map_err(|e| Stop::End(RunStatus::Failed, format!("cannot see the screen: {e}")))?;
        let (tips, shortcuts, mut retrieve_ms) = generic;
        state.tips = tips.unwrap_or_default();
        state.shortcuts = shortcuts.unwrap_or_default();
        let mut retrieved_for: Option<String> = None;
        for note in &obs.notes {
            on_event(Event::Notice {
                message: note.clone(),
            });
        }
        let mut perceive_ms = t0.elapsed().as_millis() as u64;
        let mut need_manager = true;
        let mut reflector_said_done = false;

        for index in 0..self.config.max_steps {
            // Tips and shortcuts of the app in front, once per app.
            if let Some(app) = obs
                .app
                .clone()
                .filter(|a| retrieved_for.as_ref() != Some(a))
            {
                let t = Instant::now();
                self.retrieve_for_app(p, state, &app);
                retrieve_ms += t.elapsed().as_millis() as u64;
                state.app = app.clone();
                retrieved_for = Some(app);
            }
            self.check_go_on(p, on_event)?;
            let step_start = Instant::now();
            let started_ms = p.clock.now_ms();
            let mut stats = StepStats::default();
            stats.times.perceive = perceive_ms;
            stats.times.retrieve = retrieve_ms;
            on_event(Event::Perceived {
                step: index,
                nodes: obs.tree.len(),
                ms: perceive_ms,
            });

            // Manager: planning, unless the subgoal is in progress after an A.
            let escalated = state.stuck_block().is_some();
            if need_manager || reflector_said_done || escalated || state.plan.is_empty() {
                let t = Instant::now();
                let m = self.manage(p, run, index, state, &obs, &mut stats, on_event)?;
                stats.times.manager = t.elapsed().as_millis() as u64;
                if m.finished() {
                    self.record_plan_only(
                        p, run, index, &m.thought, &stats, started_ms, step_start,
                    )?;
                    outcome.calls += stats.calls;
                    add_usage(&mut outcome.usage, stats.usage);
                    let summary = if m.thought.trim().is_empty() {
                        "the Manager found the instruction done".to_string()
                    } else {
                        m.thought.clone()
                    };
                    return Ok((RunStatus::Succeeded, summary));
                }
                reflector_said_done = false;
            }

            // Operator: one action or one shortcut.
            let t = Instant::now();
            let mut op = self.operate(p, run, index, state, &obs, &mut stats, on_event)?;
            if op.decision == Decision::SubgoalComplete {
                // Ask the Manager for the next subgoal now, then the Operator again.
                let m = self.manage(p, run, index, state, &obs, &mut stats, on_event)?;
                if m.finished() {
                    self.record_plan_only(
                        p, run, index, &m.thought, &stats, started_ms, step_start,
                    )?;
                    outcome.calls += stats.calls;
                    add_usage(&mut outcome.usage, stats.usage);
                    return Ok((RunStatus::Succeeded, m.thought.clone()));
                }
                op = self.operate(p, run, index, state, &obs, &mut stats, on_event)?;
                if op.decision == Decision::SubgoalComplete {
                    return Err(Stop::End(
                        RunStatus::Failed,
                        "the Operator found every subgoal already complete but the Manager \
                         did not finish"
                            .into(),
                    ));
                }
            }
            stats.times.operator = t.elapsed().as_millis() as u64;
            let (action_text, command) = match &op.decision {
                Decision::Act(a) => (describe_action(a, &obs), shortcut::as_command(a, &obs.tree)),
                Decision::Shortcut(s, args) => (describe_call(s, args), None),
                Decision::SubgoalComplete => ("(none)".into(), None),
            };
            let marks = match &obs.marks {
                Some(m) if self.config.images => p.artifacts.save_marks(run, index, m).ok(),
                _ => None,
            };
            on_event(Event::Decided {
                step: index,
                thought: op.thought.clone(),
                action: action_text.clone(),
                marks: marks.clone(),
            });
            self.check_repeats(state, &action_text)?;

            // Terminal decisions end the run here.
            if let Decision::Act(a @ (Action::Done { .. } | Action::Fail { .. })) = &op.decision {
                let (status, summary) = match a {
                    Action::Fail { reason } => (RunStatus::Infeasible, reason.clone()),
                    Action::Done { summary } if !summary.is_empty() => {
                        (RunStatus::Succeeded, summary.clone())
                    }
                    _ => (
                        RunStatus::Succeeded,
                        "the Operator reported the task done".into(),
                    ),
                };
                let mut step = self.new_step(index, &action_text, started_ms);
                step.action = Some(a.clone());
                step.ok = true;
                let info = self.info(state, &op, None, &stats, marks, step_start);
                let ms = info.times.total;
                step.agent = Some(info);
                p.memory.store().record_step(run, &step)?;
                on_event(Event::AgentStep {
                    step: index,
                    subgoal: state.subgoal.clone(),
                    action: action_text.clone(),
                    outcome: None,
                    calls: stats.calls,
                    usage: stats.usage,
                    ms,
                });
                outcome.steps += 1;
                outcome.calls += stats.calls;
                add_usage(&mut outcome.usage, stats.usage);
                return Ok((status, summary));
            }

            // Act.
            self.check_go_on(p, on_event)?;
            let t = Instant::now();
            let mut step = self.new_step(index, &action_text, started_ms);
            let acted = match &op.decision {
                Decision::Act(a) => self.act(p, &mut step, a, &obs, on_event),
                Decision::Shortcut(s, args) => {
                    step.agent = None;
                    let r = self.run_shortcut(p, &mut step, s, args, &obs, on_event);
                    if s.id != 0 {
                        p.memory.shortcut_used(s.id, r.is_ok())?;
                    }
                    r
                }
                Decision::SubgoalComplete => Ok(Vec::new()),
            };
            stats.times.act = t.elapsed().as_millis() as u64;
            if self.cancelled() {
                step.error.get_or_insert_with(|| "cancelled".into());
                p.memory.store().record_step(run, &step)?;
                return Err(Stop::End(
                    RunStatus::Cancelled,
                    format!("cancelled during step {index}"),
                ));
            }
            match &acted {
                Ok(frames) => {
                    step.ok = true;
                    if let Ok(path) = p.artifacts.save_screenshot(run, index, frames) {
                        step.screenshot = Some(path);
                    }
                }
                Err(e) => step.error = Some(e.clone()),
            }
            on_event(Event::StepFinished {
                step: index,
                ok: step.ok,
                error: step.error.clone(),
                screenshot: step.screenshot.clone(),
                ms: step.act_ms,
                effect: step.effect.clone(),
            });

            // Perceive the result; it is also the next step's screen.
            let t = Instant::now();
            let after = p
                .perceptor
                .observe(&self.observe_options(true))
                .map_err(|e| Stop::End(RunStatus::Failed, format!("cannot see the screen: {e}")))?;
            perceive_ms = t.elapsed().as_millis() as u64;
            // This step's perception: the look after its action (and, for the first step,
            // the look before it too).
            stats.times.perceive = if index == 0 {
                stats.times.perceive + perceive_ms
            } else {
                perceive_ms
            };
            retrieve_ms = 0;
            if let Decision::Act(a) = &op.decision {
                observe_effect(&mut step, a, &obs, &after);
            }

            // Reflect (and take notes) on what happened.
            let t = Instant::now();
            let judged = self.reflect(
                p,
                run,
                index,
                state,
                &op,
                &action_text,
                &step,
                &obs,
                &after,
                &mut stats,
                on_event,
            )?;
            stats.times.reflect = t.elapsed().as_millis() as u64;
            on_event(Event::Reflected {
                step: index,
                outcome: judged.outcome,
                error: judged.error_description.clone(),
                progress: judged.progress.clone(),
            });
            if !judged.progress.is_empty() {
                state.progress = judged.progress.clone();
            }
            state.history.push(Attempt {
                step: index,
                action: action_text.clone(),
                command: command.filter(|_| judged.outcome == Outcome::A),
                outcome: Some(judged.outcome),
                error: judged.error_description.clone(),
            });
            if judged.outcome == Outcome::A {
                state.failures_in_row = 0;
                need_manager = false;
                reflector_said_done = judged.subgoal_done;
            } else {
                state.failures_in_row += 1;
                need_manager = true;
            }

            let mut info = self.info(state, &op, Some(&judged), &stats, marks, step_start);
            if let Decision::Shortcut(s, _) = &op.decision {
                info.shortcut = Some(s.name.clone());
            }
            stats.times.total = step_start.elapsed().as_millis() as u64;
            info.times.total = stats.times.total;
            step.agent = Some(info);
            step.perceive_ms = stats.times.perceive;
            p.memory.store().record_step(run, &step)?;
            outcome.steps += 1;
            outcome.calls += stats.calls;
            add_usage(&mut outcome.usage, stats.usage);
            on_event(Event::AgentStep {
                step: index,
                subgoal: state.subgoal.clone(),
                action: action_text,
                outcome: Some(judged.outcome),
                calls: stats.calls,
                usage: stats.usage,
                ms: stats.times.total,
            });
            obs = after;

            if state.failures_in_row >= self.config.max_failures {
                return Err(Stop::End(
                    RunStatus::Failed,
                    format!(
                        "{} failed steps in a row; last: {}",
                        state.failures_in_row, judged.error_description
                    ),
                ));
            }
        }
        Err(Stop::End(
            RunStatus::Failed,
            format!(
                "the step budget of {} was used up before the instruction was done",
                self.config.max_steps
            ),
        ))
    }

    fn new_step(&self, index: u32, request: &str, started_ms: i64) -> StepRecord {
        StepRecord {
            index,
            request: request.to_string(),
            action: None,
            point: None,
            target: None,
            ok: false,
            error: None,
            screenshot: None,
            effect: None,
            policy: None,
            perceive_ms: 0,
            act_ms: 0,
            started_ms,
            agent: None,
        }
    }

    fn info(
        &self,
        state: &RunState,
        op: &OperatorReply,
        judged: Option<&ReflectorReply>,
        stats: &StepStats,
        marks: Option<String>,
        step_start: Instant,
    ) -> AgentStepInfo {
        let mut times = stats.times;
        times.total = step_start.elapsed().as_millis() as u64;
        AgentStepInfo {
            subgoal: state.subgoal.clone(),
            thought: op.thought.clone(),
            shortcut: None,
            outcome: judged.map(|j| j.outcome),
            error_description: judged
                .map(|j| j.error_description.clone())
                .unwrap_or_default(),
            progress: judged.map(|j| j.progress.clone()).unwrap_or_default(),
            calls: stats.calls,
            usage: stats.usage,
            times,
            marks_screenshot: marks,
        }
    }

    /// A step in which only the Manager spoke (it found the instruction done).
    #[allow(clippy::too_many_arguments)]
    fn record_plan_only(
        &self,
        p: &mut AgentPorts<'_>,
        run: i64,
        index: u32,
        thought: &str,
        stats: &StepStats,
        started_ms: i64,
        step_start: Instant,
    ) -> Result<(), Stop> {
        let mut step = self.new_step(index, "finished", started_ms);
        step.ok = true;
        let mut times = stats.times;
        times.total = step_start.elapsed().as_millis() as u64;
        step.agent = Some(AgentStepInfo {
            subgoal: "Finished".into(),
            thought: thought.to_string(),
            calls: stats.calls,
            usage: stats.usage,
            times,
            ..AgentStepInfo::default()
        });
        p.memory.store().record_step(run, &step)?;
        Ok(())
    }

    fn retrieve_for_app(&self, p: &mut AgentPorts<'_>, state: &mut RunState, app: &str) {
        let query = format!("{} {}", state.instruction, state.subgoal);
        if let Ok(tips) = p.memory.relevant_tips(app, &query, self.config.tips) {
            let mut merged: Vec<Tip> = tips;
            for t in state.tips.drain(..) {
                if !merged.iter().any(|m| m.id == t.id) {
                    merged.push(t);
                }
            }
            merged.truncate(self.config.tips);
            state.tips = merged;
        }
        if let Ok(found) = p
            .memory
            .relevant_shortcuts(app, &query, self.config.shortcuts)
        {
            let mut merged: Vec<Shortcut> = found;
            for s in state.shortcuts.drain(..) {
                if !merged.iter().any(|m| m.id == s.id) {
                    merged.push(s);
                }
            }
            merged.truncate(self.config.shortcuts);
            state.shortcuts = merged;
        }
        let ids: Vec<i64> = state
            .tips
            .iter()
            .map(|t| t.id)
            .filter(|id| *id != 0)
            .collect();
        if !ids.is_empty() {
            let _ = p.memory.tips_used(&ids);
        }
    }

    /// Stops at once when cancelled, and waits while the user has taken over.
    fn check_go_on(
        &self,
        p: &mut AgentPorts<'_>,
        on_event: &mut dyn FnMut(Event),
    ) -> Result<(), Stop> {
        if self.cancelled() {
            return Err(Stop::End(
                RunStatus::Cancelled,
                "cancelled by the user".into(),
            ));
        }
        let ports = p.direct_ports();
        if !self.direct().wait_while_user_acts(&ports, on_event) || self.cancelled() {
            return Err(Stop::End(
                RunStatus::Cancelled,
                "cancelled by the user".into(),
            ));
        }
        Ok(())
    }

    fn check_repeats(&self, state: &RunState, action_text: &str) -> Result<(), Stop> {
        let n = self.config.max_repeats as usize;
        if n < 2 {
            return Ok(());
        }
        let same = state
            .history
            .iter()
            .rev()
            .take(n - 1)
            .filter(|a| a.action == action_text)
            .count();
        if same == n - 1 {
            return Err(Stop::End(
                RunStatus::Failed,
                format!("the same action was chosen {n} times in a row: {action_text}"),
            ));
        }
        Ok(())
    }

    /// Sends a request, validates the answer, and on an invalid answer asks once more with
    /// the validation error; every call is logged and shown. `first` is an answer already
    /// obtained (calls made in parallel).
    #[allow(clippy::too_many_arguments)]
    fn ask<T>(
        &self,
        p: &mut AgentPorts<'_>,
        run: i64,
        index: u32,
        role: &str,
        messages: Vec<Message>,
        schema: Value,
        stats: &mut StepStats,
        on_event: &mut dyn FnMut(Event),
        first: Option<Answer>,
        validate: &dyn Fn(&str) -> Result<T, String>,
    ) -> Result<T, Stop> {
        let mut request = ModelRequest {
            agent_role: role.to_string(),
            messages,
            json_schema: Some(schema),
            max_tokens: max_tokens(role),
        };
        let mut first = first;
        for attempt in 0..2 {
            if self.cancelled() {
                return Err(Stop::End(
                    RunStatus::Cancelled,
                    "cancelled by the user".into(),
                ));
            }
            let (answer, ms) = match first.take() {
                Some(a) => a,
                None => complete(&p.model, &request, &self.cancel),
            };
            let prompt = prompts::for_log(&request.messages);
            let (reply, usage, error) = match &answer {
                Ok(r) => (r.text.clone(), r.usage, None),
                Err(e) => (String::new(), TokenUsage::default(), Some(e.to_string())),
            };
            stats.add(usage);
            let checked = match &answer {
                Ok(r) => validate(&r.text).map_err(Some),
                Err(_) => Err(None),
            };
            let error = error.or_else(|| checked.as_ref().err().cloned().flatten());
            p.memory.record_call(
                run,
                &ModelCallRecord {
                    step: index,
                    role: role.to_string(),
                    prompt,
                    reply: reply.clone(),
                    usage,
                    ms,
                    error: error.clone(),
                },
            )?;
            on_event(Event::ModelCalled {
                step: index,
                role: role.to_string(),
                ms,
                usage,
                error: error.clone(),
            });
            if self.cancelled() {
                return Err(Stop::End(
                    RunStatus::Cancelled,
                    "cancelled by the user".into(),
                ));
            }
            match (answer, checked) {
                (Err(e), _) => {
                    return Err(Stop::End(
                        RunStatus::Failed,
                        format!("the {role} model call failed: {e}"),
                    ))
                }
                (Ok(_), Ok(value)) => return Ok(value),
                (Ok(_), Err(why)) if attempt == 0 => {
                    let why = why.unwrap_or_default();
                    request.messages.push(Message {
                        role: MessageRole::Assistant,
                        parts: vec![MessagePart::Text { text: reply }],
                    });
                    request.messages.push(Message {
                        role: MessageRole::User,
                        parts: vec![MessagePart::Text {
                            text: format!(
                                "Your answer was invalid: {why}. Nothing was executed. Answer \
                                 again with one JSON object only, in the format asked for."
                            ),
                        }],
                    });
                }
                (Ok(_), Err(why)) => {
                    return Err(Stop::End(
                        RunStatus::Failed,
                        format!(
                            "the {role}'s answer was invalid twice; nothing was executed: {}",
                            why.unwrap_or_default()
                        ),
                    ))
                }
            }
        }
        Err(Stop::End(
            RunStatus::Failed,
            format!("no valid answer from the {role}"),
        ))
    }

    #[allow(clippy::too_many_arguments)]
    fn manage(
        &self,
        p: &mut AgentPorts<'_>,
        run: i64,
        index: u32,
        state: &mut RunState,
        obs: &Observation,
        stats: &mut StepStats,
        on_event: &mut dyn FnMut(Event),
    ) -> Result<ManagerReply, Stop> {
        let messages = prompts::manager(state, obs, self.config.images);
        let m: ManagerReply = self.ask(
            p,
            run,
            index,
            "manager",
            messages,
            reply::manager_schema(),
            stats,
            on_event,
            None,
            &|t| {
                let m: ManagerReply = reply::parse(t)?;
                if m.current_subgoal.trim().is_empty() {
                    return Err("current_subgoal is empty".into());
                }
                Ok(m)
            },
        )?;
        if state.subgoal != m.current_subgoal {
            state.progress.clear();
        }
        state.plan = m.plan.clone();
        state.subgoal = m.current_subgoal.clone();
        state.completed = m.completed_subgoals.clone();
        state.needs_notes = m.needs_notes;
        on_event(Event::Planned {
            step: index,
            plan: m.plan.clone(),
            subgoal: m.current_subgoal.clone(),
        });
        Ok(m)
    }

    #[allow(clippy::too_many_arguments)]
    fn operate(
        &self,
        p: &mut AgentPorts<'_>,
        run: i64,
        index: u32,
        state: &RunState,
        obs: &Observation,
        stats: &mut StepStats,
        on_event: &mut dyn FnMut(Event),
    ) -> Result<OperatorReply, Stop> {
        let messages = prompts::operator(state, obs, self.config.images);
        let monitors = monitors_of(obs);
        let offered = state.shortcuts.clone();
        self.ask(
            p,
            run,
            index,
            "operator",
            messages,
            reply::operator_schema(),
            stats,
            on_event,
            None,
            &|t| reply::validate_operator(t, &obs.tree, &monitors, &offered),
        )
    }

    fn act(
        &self,
        p: &mut AgentPorts<'_>,
        step: &mut StepRecord,
        action: &Action,
        obs: &Observation,
        on_event: &mut dyn FnMut(Event),
    ) -> Result<Vec<Frame>, String> {
        let mut ports = p.direct_ports();
        self.direct()
            .act(&mut ports, step, action, Some(&obs.tree), on_event)
            .map_err(|e| e.message)
    }

    /// Runs a shortcut's steps with its precondition checked first and perception between
    /// steps; stops at the first step that fails and says which.
    fn run_shortcut(
        &self,
        p: &mut AgentPorts<'_>,
        step: &mut StepRecord,
        s: &Shortcut,
        args: &BTreeMap<String, String>,
        obs: &Observation,
        on_event: &mut dyn FnMut(Event),
    ) -> Result<Vec<Frame>, String> {
        let filled = shortcut::fill(s, args)?;
        if let Some(req) = s.requires.as_deref().filter(|r| !r.trim().is_empty()) {
            deskhand_core::grounding::ground(&obs.tree, req)
                .map_err(|e| format!("shortcut {}: precondition not met ({req}): {e}", s.name))?;
        }
        let total = filled.len();
        let mut current: Option<Observation> = None;
        let mut frames = Vec::new();
        for (i, text) in filled.iter().enumerate() {
            if self.cancelled() {
                return Err("cancelled".into());
            }
            let fail = |e: String| {
                format!(
                    "shortcut {} stopped at step {} of {total} ({text}): {e}",
                    s.name,
                    i + 1
                )
            };
            if i > 0 {
                current = Some(
                    p.perceptor
                        .observe(&self.observe_options(false))
                        .map_err(|e| fail(e.to_string()))?,
                );
            }
            let seen = current.as_ref().unwrap_or(obs);
            let command = Command::parse(text).map_err(|e| fail(e.to_string()))?;
            let action = command
                .resolve(&seen.tree)
                .map_err(|e| fail(e.to_string()))?;
            let mut sub = step.clone();
            frames = self
                .act(p, &mut sub, &action, seen, on_event)
                .map_err(fail)?;
            step.action = sub.action;
            step.point = sub.point;
            step.target = sub.target;
            step.effect = sub.effect;
            step.policy = sub.policy;
            step.act_ms += sub.act_ms;
        }
        Ok(frames)
    }

    /// Judges the step: locally when the evidence is plain, else with the Action Reflector
    /// (and the Notetaker, asked at the same time, when the Manager wants notes).
    #[allow(clippy::too_many_arguments)]
    fn reflect(
        &self,
        p: &mut AgentPorts<'_>,
        run: i64,
        index: u32,
        state: &mut RunState,
        op: &OperatorReply,
        action_text: &str,
        step: &StepRecord,
        before: &Observation,
        after: &Observation,
        stats: &mut StepStats,
        on_event: &mut dyn FnMut(Event),
    ) -> Result<ReflectorReply, Stop> {
        if let Some(e) = &step.error {
            return Ok(ReflectorReply {
                outcome: Outcome::C,
                error_description: format!("the action could not be carried out: {e}"),
                progress: String::new(),
                subgoal_done: false,
            });
        }
        let waited = matches!(&op.decision, Decision::Act(Action::Wait { .. }));
        if let Some(effect) = &step.effect {
            if effect.changed.is_none() && !effect.focus_moved && !waited && after.unchanged {
                return Ok(ReflectorReply {
                    outcome: Outcome::C,
                    error_description: "the action changed nothing on the screen".into(),
                    progress: String::new(),
                    subgoal_done: false,
                });
            }
            // Keys go to the focused window and cannot miss a target: a visible change with
            // focus where it was (or, for a chord that opens a dialog, a new active window)
            // is the expected result.
            if let Decision::Act(a @ Action::Key { .. }) = &op.decision {
                let opener = crate::settle::opens_something(a, Some(&before.tree));
                let expected = match (opener, effect.focus_moved) {
                    (true, moved) => moved,
                    (false, moved) => !moved && effect.target_in_front != Some(false),
                };
                if effect.changed.is_some() && expected && !state.needs_notes {
                    return Ok(ReflectorReply {
                        outcome: Outcome::A,
                        error_description: String::new(),
                        progress: String::new(),
                        subgoal_done: false,
                    });
                }
            }
            let typed = matches!(&op.decision, Decision::Act(Action::Type { .. }));
            if typed && effect.text_verified == Some(true) && !state.needs_notes {
                return Ok(ReflectorReply {
                    outcome: Outcome::A,
                    error_description: String::new(),
                    progress: String::new(),
                    subgoal_done: false,
                });
            }
        }
        let expectation = if op.description.is_empty() {
            op.thought.clone()
        } else {
            op.description.clone()
        };
        let effect = effect_text(step);
        let reflect_messages = prompts::reflector(
            state,
            action_text,
            &expectation,
            &effect,
            before,
            after,
            self.config.images,
        );
        let note_messages = state.needs_notes.then(|| prompts::notetaker(state, after));
        let reflect_request = ModelRequest {
            agent_role: "reflector".into(),
            messages: reflect_messages.clone(),
            json_schema: Some(reply::reflector_schema()),
            max_tokens: max_tokens("reflector"),
        };
        let note_request = note_messages.as_ref().map(|m| ModelRequest {
            agent_role: "notetaker".into(),
            messages: m.clone(),
            json_schema: Some(reply::notetaker_schema()),
            max_tokens: max_tokens("notetaker"),
        });
        let model = &p.model;
        let cancel = &*self.cancel;
        let (reflected, noted) = std::thread::scope(|s| {
            let notes = note_request
                .as_ref()
                .map(|r| s.spawn(move || complete(model, r, cancel)));
            let reflected = complete(model, &reflect_request, cancel);
            let noted = notes.map(|h| {
                h.join()
                    .unwrap_or_else(|_| (Err(PortError::failed("the notetaker call panicked")), 0))
            });
            (reflected, noted)
        });
        let judged: ReflectorReply = self.ask(
            p,
            run,
            index,
            "reflector",
            reflect_messages,
            reply::reflector_schema(),
            stats,
            on_event,
            Some(reflected),
            &|t| reply::parse(t),
        )?;
        if let (Some(messages), Some(answer)) = (note_messages, noted) {
            // Notes count only after A; a failed note call does not stop the run.
            let notes: Result<NotetakerReply, Stop> = self.ask(
                p,
                run,
                index,
                "notetaker",
                messages,
                reply::notetaker_schema(),
                stats,
                on_event,
                Some(answer),
                &|t| reply::parse(t),
            );
            match notes {
                Ok(n) if judged.outcome == Outcome::A => state.notes = n.notes,
                Ok(_) => {}
                Err(Stop::Storage(e)) => return Err(Stop::Storage(e)),
                Err(Stop::End(_, why)) => on_event(Event::Notice {
                    message: format!("notes not updated: {why}"),
                }),
            }
        }
        Ok(judged)
    }

    /// The Experience Reflectors: tips from every finished run, shortcuts from successful
    /// ones. A bad proposal is skipped with a notice; learning never fails a run.
    fn learn(
        &self,
        p: &mut AgentPorts<'_>,
        run: i64,
        state: &RunState,
        outcome: &mut AgentOutcome,
        on_event: &mut dyn FnMut(Event),
    ) {
        let index = outcome.steps;
        let app = state.app.clone();
        let mut stats = StepStats::default();
        let existing = p
            .memory
            .relevant_tips(&app, &state.instruction, 20)
            .unwrap_or_default();
        let messages = prompts::tips(state, outcome.status.as_str(), &outcome.summary, &existing);
        let tips = self.ask(
            p,
            run,
            index,
            "tips",
            messages,
            reply::tips_schema(),
            &mut stats,
            on_event,
            None,
            &|t| reply::parse::<reply::TipsReply>(t),
        );
        match tips {
            Ok(t) => {
                for tip in t.tips.into_iter().take(3) {
                    let tip = Tip {
                        id: 0,
                        app: tip.app.trim().to_lowercase(),
                        text: tip.text.trim().to_string(),
                        source_run: Some(run),
                        uses: 0,
                        created_ms: p.clock.now_ms(),
                    };
                    if tip.text.is_empty() {
                        continue;
                    }
                    match p.memory.add_tip(&tip) {
                        Ok(_) => outcome.tips_learned += 1,
                        Err(e) => on_event(Event::Notice {
                            message: format!("tip not kept: {e}"),
                        }),
                    }
                }
            }
            Err(Stop::End(_, why)) | Err(Stop::Storage(PortError { message: why, .. })) => {
                on_event(Event::Notice {
                    message: format!("no tips learned: {why}"),
                })
            }
        }
        let commands: Vec<String> = state
            .history
            .iter()
            .filter_map(|a| a.command.clone())
            .collect();
        if outcome.status == RunStatus::Succeeded && commands.len() >= 2 {
            let existing = p
                .memory
                .relevant_shortcuts(&app, &state.instruction, 20)
                .unwrap_or_default();
            let messages = prompts::shortcuts(state, &commands, &existing);
            let proposed = self.ask(
                p,
                run,
                index,
                "shortcuts",
                messages,
                reply::shortcuts_schema(),
                &mut stats,
                on_event,
                None,
                &|t| reply::parse::<reply::ShortcutsReply>(t),
            );
            match proposed {
                Ok(r) => {
                    for mut s in r.shortcuts.into_iter().take(2) {
                        s.app = s.app.trim().to_lowercase();
                        s.source_run = Some(run);
                        s.id = 0;
                        s.uses = 0;
                        s.successes = 0;
                        let kept = shortcut::check(&s)
                            .map_err(|e| e.to_string())
                            .and_then(|()| p.memory.save_shortcut(&s).map_err(|e| e.to_string()));
                        match kept {
                            Ok(_) => outcome.shortcuts_learned.push(s.name.clone()),
                            Err(e) => on_event(Event::Notice {
                                message: format!("shortcut {} not kept: {e}", s.name),
                            }),
                        }
                    }
                }
                Err(Stop::End(_, why)) | Err(Stop::Storage(PortError { message: why, .. })) => {
                    on_event(Event::Notice {
                        message: format!("no shortcuts learned: {why}"),
                    })
                }
            }
        }
        add_usage(&mut outcome.usage, stats.usage);
    }
}

/// Fills in what the action did to focus and typed text, from the looks before and after it
/// (both fused trees, so windows compare like with like).
fn observe_effect(
    step: &mut StepRecord,
    action: &Action,
    before: &Observation,
    after: &Observation,
) {
    let Some(effect) = step.effect.as_mut() else {
        return;
    };
    let focus_before = FocusSnapshot::of(&before.tree);
    let focus_after = FocusSnapshot::of(&after.tree);
    effect.focus_moved = focus_before.moved_to(&focus_after);
    effect.target_in_front = target_window(action, Some(&before.tree), &focus_before).map(|t| {
        focus_after
            .active
            .as_ref()
            .is_some_and(|w| w.same_window(&t))
    });
    if let Action::Type { text } = action {
        if text.contains("{{secret:") {
            return;
        }
        let typed = text.replace('\r', "");
        let field = after
            .tree
            .walk()
            .into_iter()
            .map(|(_, n)| n)
            .find(|n| n.has(NodeState::Focused) && n.has(NodeState::Editable));
        effect.text_verified = field
            .and_then(|f| f.text.as_ref())
            .filter(|shown| shown.chars().count() < 2_000)
            .map(|shown| shown.contains(&typed));
    }
}

fn add_usage(total: &mut TokenUsage, more: TokenUsage) {
    total.prompt += more.prompt;
    total.completion += more.completion;
}
