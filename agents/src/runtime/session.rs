//! The parts a preset's loop is made of: the first look (with memory retrieval beside it),
//! a step's start, each role's call on the run's information pool, execution through the
//! direct runner, the look after, and the record of the step. A preset strings them
//! together in the order its paper gives.

use std::collections::BTreeMap;
use std::time::Instant;

use deskhand_core::command::Command;
use deskhand_core::ports::{AgentStepInfo, Outcome, RunStatus, StepRecord};
use deskhand_core::{
    Action, Event, Frame, Monitor, Observation, ObserveOptions, PortError, Shortcut, Tip,
};
use serde_json::Value;

use super::call::{add_usage, Caller, StepStats, Stop, Turn};
use super::judge::{effect_text, observe_effect};
use super::{AgentConfig, AgentOutcome, AgentRunner};
use crate::roles::operator::{Decision, Reply as OperatorReply};
use crate::roles::reflector::{self, Reply as Verdict};
use crate::roles::{critic, manager, notetaker, operator};

/// Times a run's "Finished" may be sent back by the Critic.
pub const MAX_CRITIC_ROUNDS: u32 = 2;
use crate::runner::{DirectRunner, Ports, RunError};
use crate::shortcut;
use crate::state::{Attempt, RunState};

/// One step in progress.
pub(crate) struct Step {
    pub index: u32,
    start: Instant,
    started_ms: i64,
    stats: StepStats,
    marks: Option<String>,
}

/// The Operator's choice as the rest of the step sees it.
pub(crate) struct Chosen {
    pub op: OperatorReply,
    /// The action (or shortcut call) in words.
    pub text: String,
    /// The `deskhand do` command that does it again, when there is one.
    command: Option<String>,
}

/// A step whose action ran: its record and the screen after it.
pub(crate) struct Acted {
    record: StepRecord,
    /// The screen after the action (the next step's screen).
    pub after: Observation,
}

impl Acted {
    /// The step's record (its error, effect, timings).
    pub fn record(&self) -> &StepRecord {
        &self.record
    }
}

/// One agent run in progress: its ports, the information pool and what it has counted.
pub(crate) struct Session<'r, 'p, 'e> {
    runner: &'r AgentRunner,
    pub config: &'r AgentConfig,
    /// The ports actions are executed with (their perceptor taken out: the runner is handed
    /// the tree the Operator chose from).
    p: Ports<'p>,
    perceptor: &'p mut dyn deskhand_core::Perceptor,
    caller: Caller,
    pub run: i64,
    /// The user's instruction for the whole run (the pool's may be a subtask's).
    pub task: String,
    pub state: RunState,
    pub outcome: AgentOutcome,
    events: &'e mut dyn FnMut(Event),
    /// The screen the next step decides on.
    pub obs: Observation,
    retrieved_for: Option<String>,
    perceive_ms: u64,
    retrieve_ms: u64,
    /// The index the next step gets (steps of all a run's subtasks are numbered on).
    pub next_step: u32,
    /// Set by a preset that learned as it went (the Steward's staff, per node): the run's end
    /// then learns nothing more.
    pub learned: bool,
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
    let json = serde_json::to_string(&v).unwrap_or_default();
    match target {
        Some(t) => format!("{json} on {t}"),
        None => json,
    }
}

fn describe_call(s: &Shortcut, args: &BTreeMap<String, String>) -> String {
    let args: Vec<String> = args.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
    format!("shortcut {}({})", s.name, args.join(", "))
}

fn new_record(index: u32, request: &str, started_ms: i64) -> StepRecord {
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

/// Merges freshly retrieved items ahead of those already held, without repeats.
fn merge<T>(found: Vec<T>, held: &mut Vec<T>, id: impl Fn(&T) -> i64, limit: usize) {
    let mut merged = found;
    for t in held.drain(..) {
        if !merged.iter().any(|m| id(m) == id(&t)) {
            merged.push(t);
        }
    }
    merged.truncate(limit);
    *held = merged;
}

impl<'r, 'p, 'e> Session<'r, 'p, 'e> {
    /// Opens the run in the log and says so.
    pub fn start(
        runner: &'r AgentRunner,
        mut p: Ports<'p>,
        instruction: &str,
        events: &'e mut dyn FnMut(Event),
    ) -> Result<Self, RunError> {
        let perceptor = p
            .perceptor
            .take()
            .ok_or(RunError::MissingPort("a perceptor"))?;
        let model = p.model.clone().ok_or(RunError::MissingPort("a model"))?;
        let run = p
            .memory
            .store()
            .start_run(instruction, p.clock.now_ms())
            .map_err(RunError::Storage)?;
        events(Event::RunStarted {
            run,
            task: instruction.to_string(),
        });
        let caller = Caller {
            model,
            cancel: runner.cancel.clone(),
        };
        Ok(Session {
            runner,
            config: &runner.config,
            p,
            perceptor,
            caller,
            run,
            task: instruction.to_string(),
            state: RunState {
                instruction: instruction.to_string(),
                escalate_after: runner.config.escalate_after,
                ..RunState::default()
            },
            outcome: AgentOutcome {
                run,
                status: RunStatus::Running,
                summary: String::new(),
                steps: 0,
                calls: 0,
                usage: Default::default(),
                tips_learned: 0,
                shortcuts_learned: Vec::new(),
            },
            events,
            obs: Observation::default(),
            retrieved_for: None,
            perceive_ms: 0,
            retrieve_ms: 0,
            next_step: 0,
            learned: false,
        })
    }

    fn event(&mut self, e: Event) {
        (self.events)(e);
    }

    pub(crate) fn notice(&mut self, message: String) {
        self.event(Event::Notice { message });
    }

    pub(crate) fn caller(&self) -> &Caller {
        &self.caller
    }

    pub(crate) fn memory(&mut self) -> &mut dyn super::AgentMemory {
        &mut *self.p.memory
    }

    pub(crate) fn now_ms(&self) -> i64 {
        self.p.clock.now_ms()
    }

    /// The caller, the log and the event sink, borrowed together.
    pub(crate) fn parts(
        &mut self,
    ) -> (&Caller, &mut dyn super::AgentMemory, &mut dyn FnMut(Event)) {
        (&self.caller, &mut *self.p.memory, &mut *self.events)
    }

    fn cancelled(&self) -> bool {
        self.runner.cancel.load(std::sync::atomic::Ordering::SeqCst)
    }

    fn direct(&self) -> DirectRunner {
        DirectRunner {
            settle: self.config.settle,
            cancel: self.runner.cancel.clone(),
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

    pub(crate) fn turn<'t>(&'t mut self, step: &'t mut Step) -> (&'t Caller, Turn<'t>) {
        (
            &self.caller,
            Turn {
                run: self.run,
                step: step.index,
                stats: &mut step.stats,
                log: &mut *self.p.memory,
                events: &mut *self.events,
            },
        )
    }

    /// The first look at the screen, with the instruction's tips and shortcuts retrieved at
    /// the same time.
    pub fn first_look(&mut self) -> Result<(), Stop> {
        let t0 = Instant::now();
        let opts = self.observe_options(true);
        let (k_tips, k_shortcuts) = (self.config.tips, self.config.shortcuts);
        let instruction = self.state.instruction.clone();
        let perceptor = &mut *self.perceptor;
        let memory = &mut *self.p.memory;
        let (observed, (tips, shortcuts, retrieve_ms)) = std::thread::scope(|s| {
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
        self.obs = observed.map_err(|e| Stop::failed(format!("cannot see the screen: {e}")))?;
        self.state.tips = tips.unwrap_or_default();
        self.state.shortcuts = shortcuts.unwrap_or_default();
        self.retrieve_ms = retrieve_ms;
        self.recall();
        for note in self.obs.notes.clone() {
            self.event(Event::Notice { message: note });
        }
        self.perceive_ms = t0.elapsed().as_millis() as u64;
        Ok(())
    }

    /// What the user's own memory holds about the instruction, for the Manager; nothing
    /// when the model endpoint is not trusted with it (the run says so).
    fn recall(&mut self) {
        if self.config.recall == 0 {
            return;
        }
        if let Some(why) = self.config.recall_withheld.clone() {
            self.event(Event::Notice {
                message: format!("your memory was withheld from the model: {why}"),
            });
            return;
        }
        let t = Instant::now();
        let instruction = self.state.instruction.clone();
        match self.p.memory.recall(&instruction, self.config.recall) {
            Ok(items) => {
                if !items.is_empty() {
                    self.event(Event::Notice {
                        message: format!(
                            "from your memory: {} item(s) for the Manager ({})",
                            items.len(),
                            items
                                .iter()
                                .map(|k| k.id.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    });
                }
                self.state.knowledge = items;
            }
            Err(e) => self.event(Event::Notice {
                message: format!("your memory could not be read: {e}"),
            }),
        }
        self.retrieve_ms += t.elapsed().as_millis() as u64;
    }

    /// Tips and shortcuts of the app in front, once per app.
    fn retrieve_for_app(&mut self, app: &str) {
        let query = format!("{} {}", self.state.instruction, self.state.subgoal);
        let (k_tips, k_shortcuts) = (self.config.tips, self.config.shortcuts);
        if let Ok(tips) = self.p.memory.relevant_tips(app, &query, k_tips) {
            merge(tips, &mut self.state.tips, |t: &Tip| t.id, k_tips);
        }
        if let Ok(found) = self.p.memory.relevant_shortcuts(app, &query, k_shortcuts) {
            merge(
                found,
                &mut self.state.shortcuts,
                |s: &Shortcut| s.id,
                k_shortcuts,
            );
        }
        let ids: Vec<i64> = self
            .state
            .tips
            .iter()
            .map(|t| t.id)
            .filter(|id| *id != 0)
            .collect();
        if !ids.is_empty() {
            let _ = self.p.memory.tips_used(&ids);
        }
    }

    /// Stops at once when cancelled, and waits while the user has taken over.
    fn check_go_on(&mut self) -> Result<(), Stop> {
        if self.cancelled() {
            return Err(Stop::cancelled());
        }
        let direct = self.direct();
        if !direct.wait_while_user_acts(&self.p, &mut *self.events) || self.cancelled() {
            return Err(Stop::cancelled());
        }
        Ok(())
    }

    /// The ports that start apps and focus windows, when the front end gave them.
    pub(crate) fn apps(&self) -> Option<&'p dyn deskhand_core::ports::Apps> {
        self.p.apps
    }

    /// Whether the user has stopped the run.
    pub(crate) fn is_cancelled(&self) -> bool {
        self.cancelled()
    }

    /// A fresh look at the screen, which the next step decides on.
    pub(crate) fn look_again(&mut self) -> Result<(), Stop> {
        let t = Instant::now();
        let options = self.observe_options(true);
        self.obs = self
            .perceptor
            .observe(&options)
            .map_err(|e| Stop::failed(format!("cannot see the screen: {e}")))?;
        self.perceive_ms = t.elapsed().as_millis() as u64;
        Ok(())
    }

    /// Starts a new subtask in `app` with its own information pool; the app's tips and
    /// shortcuts (its expertise memory) are retrieved for the subtask and `first_tips` put
    /// in front of them.
    pub(crate) fn start_subtask(
        &mut self,
        instruction: &str,
        facts: String,
        app: &str,
        first_tips: Vec<Tip>,
    ) {
        let knowledge = std::mem::take(&mut self.state.knowledge);
        self.state = RunState {
            instruction: instruction.to_string(),
            facts,
            app: app.to_string(),
            escalate_after: self.config.escalate_after,
            tips: first_tips,
            knowledge,
            ..RunState::default()
        };
        let t = Instant::now();
        self.retrieve_for_app(app);
        self.retrieve_ms = t.elapsed().as_millis() as u64;
        self.retrieved_for = Some(app.to_string());
    }

    /// A step for calls made outside any action (the Steward's plan, an evaluation): it
    /// takes the next index, and its calls count once it is set aside.
    pub(crate) fn side_step(&mut self) -> Step {
        let index = self.next_step;
        self.next_step += 1;
        Step {
            index,
            start: Instant::now(),
            started_ms: self.p.clock.now_ms(),
            stats: StepStats::default(),
            marks: None,
        }
    }

    /// Starts step `index`: retrieval for a new app, the stop and takeover checks, and the
    /// `Perceived` event for the screen it decides on.
    pub fn begin(&mut self, index: u32) -> Result<Step, Stop> {
        self.next_step = self.next_step.max(index + 1);
        if let Some(app) = self
            .obs
            .app
            .clone()
            .filter(|a| self.retrieved_for.as_ref() != Some(a))
        {
            let t = Instant::now();
            self.retrieve_for_app(&app);
            self.retrieve_ms += t.elapsed().as_millis() as u64;
            self.state.app = app.clone();
            self.retrieved_for = Some(app);
        }
        self.check_go_on()?;
        let mut stats = StepStats::default();
        stats.times.perceive = self.perceive_ms;
        stats.times.retrieve = self.retrieve_ms;
        self.event(Event::Perceived {
            step: index,
            nodes: self.obs.tree.len(),
            ms: self.perceive_ms,
        });
        Ok(Step {
            index,
            start: Instant::now(),
            started_ms: self.p.clock.now_ms(),
            stats,
            marks: None,
        })
    }

    /// The Manager plans on the current screen; the pool takes its plan.
    pub fn plan(&mut self, step: &mut Step) -> Result<manager::Reply, Stop> {
        let t = Instant::now();
        let stuck = self.state.stuck_block();
        let request = manager::request(&self.state.manager_input(
            stuck.as_deref(),
            &self.obs,
            self.config.images,
        ));
        let (caller, mut turn) = self.turn(step);
        let m = caller.ask(&mut turn, request, None, &manager::validate)?;
        step.stats.times.manager += t.elapsed().as_millis() as u64;
        self.state.critique = None;
        if self.state.subgoal != m.current_subgoal {
            self.state.progress.clear();
        }
        self.state.plan = m.plan.clone();
        self.state.subgoal = m.current_subgoal.clone();
        self.state.completed = m.completed_subgoals.clone();
        self.state.needs_notes = m.needs_notes;
        let subtasks = manager::subgoals(&m.plan);
        self.event(Event::Planned {
            step: step.index,
            plan: m.plan.clone(),
            subgoal: m.current_subgoal.clone(),
            subtasks,
        });
        Ok(m)
    }

    /// Ends a step that acted on nothing (its calls and tokens still count).
    pub fn set_aside(&mut self, step: Step) {
        self.outcome.calls += step.stats.calls;
        add_usage(&mut self.outcome.usage, step.stats.usage);
    }

    /// Before a "Finished" is taken, the Critic checks the result against the user's memory;
    /// true when it found a problem and the Manager must plan again (at most
    /// [`MAX_CRITIC_ROUNDS`] times a run, and only when memory was recalled).
    pub fn criticize(&mut self, step: &mut Step) -> Result<bool, Stop> {
        if self.state.knowledge.is_empty() || self.state.critic_rounds >= MAX_CRITIC_ROUNDS {
            return Ok(false);
        }
        let t = Instant::now();
        let request = critic::request(&critic::Input {
            instruction: &self.state.instruction,
            knowledge: &self.state.knowledge,
            completed: &self.state.completed,
            screen: &self.obs,
            images: self.config.images,
        });
        let (caller, mut turn) = self.turn(step);
        let verdict = caller.ask(&mut turn, request, None, &critic::validate)?;
        step.stats.times.manager += t.elapsed().as_millis() as u64;
        if verdict.ok {
            return Ok(false);
        }
        self.state.critic_rounds += 1;
        self.event(Event::Notice {
            message: format!("the Critic sent the Manager back: {}", verdict.problem),
        });
        self.state.critique = Some(verdict.problem);
        Ok(true)
    }

    /// The Operator picks one action (or shortcut) for the current subgoal. When it finds
    /// the subgoal already achieved, the Manager names the next one and the Operator is
    /// asked again; `Ok(None)` means the Manager found the instruction done (with its word).
    pub fn decide(&mut self, step: &mut Step) -> Result<Result<Chosen, String>, Stop> {
        let t = Instant::now();
        let mut op = self.operate(step)?;
        if op.decision == Decision::SubgoalComplete {
            let m = self.plan(step)?;
            if m.finished() {
                return Ok(Err(m.thought));
            }
            op = self.operate(step)?;
            if op.decision == Decision::SubgoalComplete {
                return Err(Stop::failed(
                    "the Operator found every subgoal already complete but the Manager did \
                     not finish",
                ));
            }
        }
        step.stats.times.operator = t.elapsed().as_millis() as u64;
        let (text, command) = match &op.decision {
            Decision::Act(a) => (
                describe_action(a, &self.obs),
                shortcut::as_command(a, &self.obs.tree),
            ),
            Decision::Shortcut(s, args) => (describe_call(s, args), None),
            Decision::SubgoalComplete => ("(none)".into(), None),
        };
        step.marks = match &self.obs.marks {
            Some(m) if self.config.images => {
                self.p.artifacts.save_marks(self.run, step.index, m).ok()
            }
            _ => None,
        };
        self.event(Event::Decided {
            step: step.index,
            thought: op.thought.clone(),
            action: text.clone(),
            marks: step.marks.clone(),
        });
        self.check_repeats(&text)?;
        Ok(Ok(Chosen { op, text, command }))
    }

    fn operate(&mut self, step: &mut Step) -> Result<OperatorReply, Stop> {
        let request = operator::request(&self.state.operator_input(&self.obs, self.config.images));
        let monitors = monitors_of(&self.obs);
        let offered = self.state.shortcuts.clone();
        let tree = self.obs.tree.clone();
        let (caller, mut turn) = self.turn(step);
        caller.ask(&mut turn, request, None, &|t| {
            operator::validate(t, &tree, &monitors, &offered)
        })
    }

    fn check_repeats(&self, action_text: &str) -> Result<(), Stop> {
        let n = self.config.max_repeats as usize;
        if n < 2 {
            return Ok(());
        }
        let same = self
            .state
            .history
            .iter()
            .rev()
            .take(n - 1)
            .filter(|a| a.action == action_text)
            .count();
        if same == n - 1 {
            return Err(Stop::failed(format!(
                "the same action was chosen {n} times in a row: {action_text}"
            )));
        }
        Ok(())
    }

    /// A step in which only the Manager spoke: it found the instruction done.
    pub fn finished_by_manager(
        &mut self,
        step: Step,
        thought: &str,
    ) -> Result<(RunStatus, String), Stop> {
        let mut record = new_record(step.index, "finished", step.started_ms);
        record.ok = true;
        let mut times = step.stats.times;
        times.total = step.start.elapsed().as_millis() as u64;
        record.agent = Some(AgentStepInfo {
            subgoal: "Finished".into(),
            thought: thought.to_string(),
            calls: step.stats.calls,
            usage: step.stats.usage,
            times,
            ..AgentStepInfo::default()
        });
        self.p.memory.store().record_step(self.run, &record)?;
        self.outcome.calls += step.stats.calls;
        add_usage(&mut self.outcome.usage, step.stats.usage);
        let summary = if thought.trim().is_empty() {
            "the Manager found the instruction done".to_string()
        } else {
            thought.to_string()
        };
        Ok((RunStatus::Succeeded, summary))
    }

    fn info(&self, step: &Step, op: &OperatorReply, judged: Option<&Verdict>) -> AgentStepInfo {
        let mut times = step.stats.times;
        times.total = step.start.elapsed().as_millis() as u64;
        AgentStepInfo {
            subgoal: self.state.subgoal.clone(),
            thought: op.thought.clone(),
            shortcut: match &op.decision {
                Decision::Shortcut(s, _) => Some(s.name.clone()),
                _ => None,
            },
            outcome: judged.map(|j| j.outcome),
            error_description: judged
                .map(|j| j.error_description.clone())
                .unwrap_or_default(),
            progress: judged.map(|j| j.progress.clone()).unwrap_or_default(),
            calls: step.stats.calls,
            usage: step.stats.usage,
            times,
            marks_screenshot: step.marks.clone(),
        }
    }

    /// A `done` or `fail` from the Operator ends the run here, recorded as its last step.
    pub fn terminal(
        &mut self,
        step: &Step,
        chosen: &Chosen,
    ) -> Result<Option<(RunStatus, String)>, Stop> {
        let Decision::Act(a @ (Action::Done { .. } | Action::Fail { .. })) = &chosen.op.decision
        else {
            return Ok(None);
        };
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
        let mut record = new_record(step.index, &chosen.text, step.started_ms);
        record.action = Some(a.clone());
        record.ok = true;
        let mut info = self.info(step, &chosen.op, None);
        info.shortcut = None;
        let ms = info.times.total;
        record.agent = Some(info);
        self.p.memory.store().record_step(self.run, &record)?;
        self.event(Event::AgentStep {
            step: step.index,
            subgoal: self.state.subgoal.clone(),
            action: chosen.text.clone(),
            outcome: None,
            calls: step.stats.calls,
            usage: step.stats.usage,
            ms,
        });
        self.outcome.steps += 1;
        self.outcome.calls += step.stats.calls;
        add_usage(&mut self.outcome.usage, step.stats.usage);
        Ok(Some((status, summary)))
    }

    /// Carries the choice out (one action through the direct runner, or a shortcut's steps),
    /// then looks at the screen after it and measures the effect.
    pub fn execute(&mut self, step: &mut Step, chosen: &Chosen) -> Result<Acted, Stop> {
        self.check_go_on()?;
        let t = Instant::now();
        let mut record = new_record(step.index, &chosen.text, step.started_ms);
        let acted = match &chosen.op.decision {
            Decision::Act(a) => {
                let obs = std::mem::take(&mut self.obs);
                let r = self.act(&mut record, a, &obs);
                self.obs = obs;
                r
            }
            Decision::Shortcut(s, args) => {
                let r = self.run_shortcut(&mut record, s, args);
                if s.id != 0 {
                    self.p.memory.shortcut_used(s.id, r.is_ok())?;
                }
                r
            }
            Decision::SubgoalComplete => Ok(Vec::new()),
        };
        step.stats.times.act = t.elapsed().as_millis() as u64;
        if self.cancelled() {
            record.error.get_or_insert_with(|| "cancelled".into());
            self.p.memory.store().record_step(self.run, &record)?;
            return Err(Stop::End(
                RunStatus::Cancelled,
                format!("cancelled during step {}", step.index),
            ));
        }
        match &acted {
            Ok(frames) => {
                record.ok = true;
                if let Ok(path) = self
                    .p
                    .artifacts
                    .save_screenshot(self.run, step.index, frames)
                {
                    record.screenshot = Some(path);
                }
            }
            Err(e) => record.error = Some(e.clone()),
        }
        self.event(Event::StepFinished {
            step: step.index,
            ok: record.ok,
            error: record.error.clone(),
            screenshot: record.screenshot.clone(),
            ms: record.act_ms,
            effect: record.effect.clone(),
        });

        // Perceive the result; it is also the next step's screen.
        let t = Instant::now();
        let options = self.observe_options(true);
        let after = self
            .perceptor
            .observe(&options)
            .map_err(|e| Stop::failed(format!("cannot see the screen: {e}")))?;
        self.perceive_ms = t.elapsed().as_millis() as u64;
        // This step's perception: the look after its action (and, for the first step, the
        // look before it too).
        step.stats.times.perceive = if step.index == 0 {
            step.stats.times.perceive + self.perceive_ms
        } else {
            self.perceive_ms
        };
        self.retrieve_ms = 0;
        if let Decision::Act(a) = &chosen.op.decision {
            observe_effect(&mut record, a, &self.obs, &after);
        }
        Ok(Acted { record, after })
    }

    fn act(
        &mut self,
        record: &mut StepRecord,
        action: &Action,
        obs: &Observation,
    ) -> Result<Vec<Frame>, String> {
        let direct = self.direct();
        direct
            .act(
                &mut self.p,
                record,
                action,
                Some(&obs.tree),
                &mut *self.events,
            )
            .map_err(|e| e.message)
    }

    /// Runs a shortcut's steps with its precondition checked first and perception between
    /// steps; stops at the first step that fails and says which.
    fn run_shortcut(
        &mut self,
        record: &mut StepRecord,
        s: &Shortcut,
        args: &BTreeMap<String, String>,
    ) -> Result<Vec<Frame>, String> {
        let filled = shortcut::fill(s, args)?;
        if let Some(req) = s.requires.as_deref().filter(|r| !r.trim().is_empty()) {
            deskhand_core::grounding::ground(&self.obs.tree, req)
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
                let opts = self.observe_options(false);
                current = Some(
                    self.perceptor
                        .observe(&opts)
                        .map_err(|e| fail(e.to_string()))?,
                );
            }
            let seen = match current.take() {
                Some(o) => o,
                None => self.obs.clone(),
            };
            let command = Command::parse(text).map_err(|e| fail(e.to_string()))?;
            let action = command
                .resolve(&seen.tree)
                .map_err(|e| fail(e.to_string()))?;
            let mut sub = record.clone();
            frames = self.act(&mut sub, &action, &seen).map_err(fail)?;
            current = Some(seen);
            record.action = sub.action;
            record.point = sub.point;
            record.target = sub.target;
            record.effect = sub.effect;
            record.policy = sub.policy;
            record.act_ms += sub.act_ms;
        }
        Ok(frames)
    }

    /// The Action Reflector judges the step from the screens before and after it. With
    /// `notes`, and when the Manager asked for notes, the Notetaker is asked at the same
    /// time; its notes count only after an A.
    pub fn reflect(
        &mut self,
        step: &mut Step,
        chosen: &Chosen,
        acted: &Acted,
        notes: bool,
    ) -> Result<Verdict, Stop> {
        let t = Instant::now();
        let expectation = if chosen.op.description.is_empty() {
            chosen.op.thought.clone()
        } else {
            chosen.op.description.clone()
        };
        let effect = effect_text(&acted.record);
        let reflect_request = reflector::request(&reflector::Input {
            instruction: &self.state.instruction,
            subgoal: &self.state.subgoal,
            progress: &self.state.progress,
            action: &chosen.text,
            expectation: &expectation,
            effect: &effect,
            before: &self.obs,
            after: &acted.after,
            images: self.config.images,
        });
        let note_request = (notes && self.state.needs_notes)
            .then(|| notetaker::request(&self.state.notetaker_input(&acted.after)));
        let caller = &self.caller;
        let (reflected, noted) = std::thread::scope(|s| {
            let noted = note_request
                .as_ref()
                .map(|r| s.spawn(move || caller.complete(r)));
            let reflected = caller.complete(&reflect_request);
            let noted = noted.map(|h| {
                h.join()
                    .unwrap_or_else(|_| (Err(PortError::failed("the notetaker call panicked")), 0))
            });
            (reflected, noted)
        });
        let (caller, mut turn) = self.turn(step);
        let judged = caller.ask(
            &mut turn,
            reflect_request,
            Some(reflected),
            &reflector::validate,
        )?;
        if let (Some(request), Some(answer)) = (note_request, noted) {
            let notes = caller.ask(&mut turn, request, Some(answer), &notetaker::validate);
            self.keep_notes(notes, judged.outcome)?;
        }
        step.stats.times.reflect += t.elapsed().as_millis() as u64;
        Ok(judged)
    }

    /// The Notetaker on the screen after a step (asked on its own, after the verdict).
    pub fn take_notes(&mut self, step: &mut Step, acted: &Acted) -> Result<(), Stop> {
        let t = Instant::now();
        let request = notetaker::request(&self.state.notetaker_input(&acted.after));
        let (caller, mut turn) = self.turn(step);
        let notes = caller.ask(&mut turn, request, None, &notetaker::validate);
        self.keep_notes(notes, Outcome::A)?;
        step.stats.times.reflect += t.elapsed().as_millis() as u64;
        Ok(())
    }

    /// Notes count only after A; a failed note call does not stop the run.
    fn keep_notes(
        &mut self,
        notes: Result<notetaker::Reply, Stop>,
        outcome: Outcome,
    ) -> Result<(), Stop> {
        match notes {
            Ok(n) if outcome == Outcome::A => self.state.notes = n.notes,
            Ok(_) => {}
            Err(Stop::Storage(e)) => return Err(Stop::Storage(e)),
            Err(Stop::End(_, why)) => self.event(Event::Notice {
                message: format!("notes not updated: {why}"),
            }),
        }
        Ok(())
    }

    /// Records the judged step: the `Reflected` event, the history the roles see, the step
    /// in the log, the `AgentStep` event; the screen after becomes the current one. Stops
    /// the run after too many failures in a row.
    pub fn record(
        &mut self,
        mut step: Step,
        chosen: Chosen,
        acted: Acted,
        judged: &Verdict,
        by: deskhand_core::protocol::Judge,
    ) -> Result<(), Stop> {
        self.event(Event::Reflected {
            step: step.index,
            outcome: judged.outcome,
            error: judged.error_description.clone(),
            progress: judged.progress.clone(),
            by,
        });
        if !judged.progress.is_empty() {
            self.state.progress = judged.progress.clone();
        }
        self.state.history.push(Attempt {
            step: step.index,
            action: chosen.text.clone(),
            command: chosen
                .command
                .clone()
                .filter(|_| judged.outcome == Outcome::A),
            outcome: Some(judged.outcome),
            error: judged.error_description.clone(),
        });
        if judged.outcome == Outcome::A {
            self.state.failures_in_row = 0;
        } else {
            self.state.failures_in_row += 1;
        }
        let Acted { mut record, after } = acted;
        step.stats.times.total = step.start.elapsed().as_millis() as u64;
        let info = self.info(&step, &chosen.op, Some(judged));
        record.agent = Some(info);
        record.perceive_ms = step.stats.times.perceive;
        self.p.memory.store().record_step(self.run, &record)?;
        self.outcome.steps += 1;
        self.outcome.calls += step.stats.calls;
        add_usage(&mut self.outcome.usage, step.stats.usage);
        self.event(Event::AgentStep {
            step: step.index,
            subgoal: self.state.subgoal.clone(),
            action: chosen.text,
            outcome: Some(judged.outcome),
            calls: step.stats.calls,
            usage: step.stats.usage,
            ms: step.stats.times.total,
        });
        self.obs = after;
        if self.state.failures_in_row >= self.config.max_failures {
            return Err(Stop::failed(format!(
                "{} failed steps in a row; last: {}",
                self.state.failures_in_row, judged.error_description
            )));
        }
        Ok(())
    }

    /// How a loop that used up its steps ends.
    pub fn out_of_steps(&self, budget: u32) -> Stop {
        Stop::failed(format!(
            "the step budget of {budget} was used up before the instruction was done"
        ))
    }

    /// Ends the run: learning (unless cancelled or nothing was tried), the log closed, the
    /// `RunFinished` event.
    pub fn finish(
        mut self,
        ended: Result<(RunStatus, String), Stop>,
    ) -> Result<AgentOutcome, PortError> {
        let (status, summary) = match ended {
            Ok(end) => end,
            Err(Stop::End(status, summary)) => (status, summary),
            Err(Stop::Storage(e)) => {
                // Try to close the run; the storage error is what the caller needs to know.
                let _ = self.p.memory.store().finish_run(
                    self.run,
                    RunStatus::Failed,
                    &format!("cannot record the run: {e}"),
                    self.p.clock.now_ms(),
                );
                return Err(e);
            }
        };
        // A cancelled run says where it stopped.
        let summary = match self.state.history.last() {
            Some(last) if status == RunStatus::Cancelled => {
                let mut at = format!(
                    "{summary}; stopped after {} step(s), the last: {}",
                    self.outcome.steps, last.action
                );
                if self.state.instruction != self.task {
                    at.push_str(&format!(" (in the subtask {:?})", self.state.instruction));
                }
                at
            }
            _ => summary,
        };
        self.outcome.status = status;
        self.outcome.summary = summary.clone();
        // A run that did not succeed (cancelled by Ctrl-C or the kill switch, failed) lets go
        // of every key and button it held.
        if status != RunStatus::Succeeded {
            self.p.input.release_all();
        }
        if self.config.learn
            && !self.learned
            && status != RunStatus::Cancelled
            && !self.state.history.is_empty()
        {
            self.learn(status, &summary);
        }
        let now = self.p.clock.now_ms();
        self.p
            .memory
            .store()
            .finish_run(self.run, status, &summary, now)?;
        self.event(Event::RunFinished {
            run: self.run,
            status,
            summary,
        });
        Ok(self.outcome)
    }
}
