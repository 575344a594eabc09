//! The direct runner: executes commands of the `deskhand do` language, one recorded step each.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use deskhand_core::command::Command;
use deskhand_core::experience::PersonalMemory;
use deskhand_core::ports::{
    Accessibility, ActionEffect, Clock, Input, MemoryStore, RunStatus, Screen, StepRecord,
    TreeQuery, TreeScope,
};
use deskhand_core::ports::{
    ActionGate, Apps, Confirmer, GateContext, ModelBackend, Resumer, UserPresence, Verdict,
};
use deskhand_core::{
    Action, Event, Experience, Frame, LayoutNode, LayoutTree, MarkedImage, NodeId, ObserveOptions,
    Perceptor, PortError, PortErrorKind, Target,
};

use crate::effect::{active_window, focused_tree, read_focus, target_window, FocusSnapshot};
use crate::execute::{input_events, resolve_target};
use crate::settle::{
    changed_region, opens_something, wait_for_settle_since, SettlePolicy, WindowWatch,
};

/// Where screenshots of steps are kept.
pub trait Artifacts {
    /// Saves the frames shown after a step; returns where.
    fn save_screenshot(&self, run: i64, step: u32, frames: &[Frame]) -> Result<String, PortError>;
    /// Saves the Set-of-Marks image an agent step was decided on; returns where. Stores that
    /// keep no images say so with an `Unavailable` error, and the run goes on without it.
    fn save_marks(&self, run: i64, step: u32, image: &MarkedImage) -> Result<String, PortError> {
        let _ = (run, step, image);
        Err(PortError::unavailable(
            "this store keeps no Set-of-Marks images",
        ))
    }
}

/// Memory a run needs: runs and steps, plus (for agent runs) tips, shortcuts and the
/// model-call log.
pub trait AgentMemory: MemoryStore + Experience + PersonalMemory {
    /// The same store seen as a run log.
    fn store(&mut self) -> &mut dyn MemoryStore;
}

impl<T: MemoryStore + Experience + PersonalMemory> AgentMemory for T {
    fn store(&mut self) -> &mut dyn MemoryStore {
        self
    }
}

/// The ports a run uses: a command run (`deskhand do`) or an agent run, which also needs the
/// perceptor and a model.
pub struct Ports<'a> {
    /// Screen capture.
    pub screen: &'a dyn Screen,
    /// The accessibility tree, when a bus is available.
    pub accessibility: Option<&'a dyn Accessibility>,
    /// Input injection.
    pub input: &'a mut dyn Input,
    /// Runs, steps, model calls, tips and shortcuts.
    pub memory: &'a mut dyn AgentMemory,
    /// Screenshots.
    pub artifacts: &'a dyn Artifacts,
    /// Time.
    pub clock: &'a dyn Clock,
    /// The policy checked before every action; none means every valid action runs.
    pub gate: Option<&'a dyn ActionGate>,
    /// Who answers when the policy asks for confirmation; none means such actions are refused.
    pub confirmer: Option<&'a dyn Confirmer>,
    /// Starting apps and focusing windows, when available.
    pub apps: Option<&'a dyn Apps>,
    /// Notices the user taking over, when available.
    pub presence: Option<&'a dyn UserPresence>,
    /// Asks the user whether to go on after a takeover; none means the run stops.
    pub resumer: Option<&'a dyn Resumer>,
    /// The fused view of the screen (accessibility, OCR text, pixel segments) that commands
    /// are resolved against, the one `look` and `find` show; without it commands see the
    /// accessibility tree only.
    pub perceptor: Option<&'a mut dyn Perceptor>,
    /// The model endpoint(s), routed by role, for agent runs. Shared so that a call in flight
    /// can be left behind at once when the run is cancelled.
    pub model: Option<std::sync::Arc<dyn ModelBackend>>,
}

/// Why a run could not go on at all (step failures are recorded, not returned).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The run log could not be written; nothing more is executed unrecorded.
    #[error("cannot record the run: {0}")]
    Storage(PortError),
    /// A port the run needs was not given (a programming error of the front end).
    #[error("an agent run needs {0}; nothing was started")]
    MissingPort(&'static str),
}

/// How a run ended.
#[derive(Debug, Clone)]
pub struct RunOutcome {
    /// Run id.
    pub run: i64,
    /// Final status.
    pub status: RunStatus,
    /// The recorded steps.
    pub steps: Vec<StepRecord>,
    /// Why the failing step failed, when one did.
    pub failure: Option<StepFailure>,
    /// For an agent run: its summary, model calls, tokens and what it learned.
    pub agent: Option<crate::AgentOutcome>,
}

/// Why a step failed, for the caller's exit code: the user fixes a command, a policy, or
/// looks at what the action did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepFailure {
    /// The command could not be parsed, validated or resolved against the screen; nothing of
    /// this step moved.
    Unresolved,
    /// The policy denied the action, or it needed a confirmation that did not come.
    Refused,
    /// The action was sent and its effect failed (typed text missing, a drop not taken, an
    /// app that did not start).
    Effect,
}

/// A failed step: what kind of failure and the message for people.
#[derive(Debug, Clone, PartialEq)]
pub struct StepError {
    /// The kind.
    pub kind: StepFailure,
    /// What happened and what to do.
    pub message: String,
}

impl StepError {
    fn unresolved(e: impl std::fmt::Display) -> Self {
        Self {
            kind: StepFailure::Unresolved,
            message: e.to_string(),
        }
    }

    /// An adapter's error: a thing that is not there (no such window or app) or a bad
    /// request is unresolved, anything else a failed effect.
    fn from_port(e: PortError) -> Self {
        match e.kind {
            PortErrorKind::NotFound | PortErrorKind::InvalidInput => Self::unresolved(e),
            PortErrorKind::Unavailable | PortErrorKind::Timeout | PortErrorKind::Failed => {
                Self::effect(e)
            }
        }
    }

    fn effect(e: impl std::fmt::Display) -> Self {
        Self {
            kind: StepFailure::Effect,
            message: e.to_string(),
        }
    }
}

impl std::fmt::Display for StepError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// Executes `deskhand do` commands.
#[derive(Debug, Clone)]
pub struct DirectRunner {
    /// How long to wait for the screen after each action.
    pub settle: SettlePolicy,
    /// Set to stop the run before its next step.
    pub cancel: Arc<AtomicBool>,
    /// Limits on accessibility reads.
    pub tree_limits: TreeQuery,
    /// Read the focused app's tree after each action to tell whether focus moved and typed
    /// text arrived. Agent runs perceive right after acting anyway and take both from that
    /// look instead.
    pub read_after: bool,
}

impl Default for DirectRunner {
    fn default() -> Self {
        Self {
            settle: SettlePolicy::default(),
            cancel: Arc::new(AtomicBool::new(false)),
            tree_limits: TreeQuery::new(TreeScope::FocusedApp),
            read_after: true,
        }
    }
}

/// What one step is asked to do.
#[derive(Debug, Clone, PartialEq)]
pub enum StepRequest {
    /// A command of the `deskhand do` language, resolved against the live tree.
    Command(String),
    /// An action; node targets refer to the current accessibility tree.
    Action(Action),
}

impl StepRequest {
    /// How the request is shown and stored.
    pub fn describe(&self) -> String {
        match self {
            StepRequest::Command(text) => text.clone(),
            StepRequest::Action(a) => {
                serde_json::to_string(a).unwrap_or_else(|_| a.kind().to_string())
            }
        }
    }
}

impl DirectRunner {
    /// Resolves a command against the screen: the fused tree of the perceptor when there
    /// is one (what `look` and `find` see), else the accessibility tree of the focused app
    /// first and of every app when the target is not there (a dialog can belong to another
    /// client).
    fn resolve(
        &self,
        ports: &mut Ports<'_>,
        command: &Command,
    ) -> Result<(Action, Option<LayoutTree>), StepError> {
        if !command.needs_tree() {
            return command
                .resolve(&empty_tree())
                .map(|a| (a, None))
                .map_err(StepError::unresolved);
        }
        let tree = self.screen_tree(ports)?;
        let action = command.resolve(&tree).map_err(StepError::unresolved)?;
        Ok((action, Some(tree)))
    }

    /// The tree node targets are resolved against: the perceptor's fused tree, else every
    /// app's accessibility tree.
    fn screen_tree(&self, ports: &mut Ports<'_>) -> Result<LayoutTree, StepError> {
        if let Some(perceptor) = ports.perceptor.as_deref_mut() {
            let options = ObserveOptions {
                budget_tokens: 200,
                marks: false,
                ..ObserveOptions::default()
            };
            return perceptor
                .observe(&options)
                .map(|o| o.tree)
                .map_err(|e| StepError::unresolved(format!("cannot see the screen: {e}")));
        }
        let a11y = ports.accessibility.ok_or_else(|| {
            StepError::unresolved(
                "finding elements by name needs the accessibility bus or OCR, and neither is \
                 available (start apps after the session D-Bus; `./x demo` does this for you)",
            )
        })?;
        let mut query = self.tree_limits.clone();
        query.scope = TreeScope::AllApps;
        a11y.tree(&query).map_err(StepError::unresolved)
    }

    /// Runs commands in order, one step each, stopping at the first failure.
    pub fn run(
        &self,
        ports: Ports<'_>,
        task: &str,
        requests: &[StepRequest],
        on_event: &mut dyn FnMut(Event),
    ) -> Result<RunOutcome, RunError> {
        let mut ports = ports;
        let clock = ports.clock;
        let run = ports
            .memory
            .start_run(task, clock.now_ms())
            .map_err(RunError::Storage)?;
        on_event(Event::RunStarted {
            run,
            task: task.to_string(),
        });
        // Every command is parsed before anything moves: a typo in the last one stops the
        // whole list.
        if let Some(refusal) = self.refuse_unparsable(ports.memory.store(), run, requests, clock)? {
            let (step, summary) = refusal;
            on_event(Event::StepFinished {
                step: step.index,
                ok: false,
                error: step.error.clone(),
                screenshot: None,
                ms: 0,
                effect: None,
            });
            ports
                .memory
                .finish_run(run, RunStatus::Failed, &summary, clock.now_ms())
                .map_err(RunError::Storage)?;
            on_event(Event::RunFinished {
                run,
                status: RunStatus::Failed,
                summary,
            });
            return Ok(RunOutcome {
                run,
                status: RunStatus::Failed,
                steps: vec![step],
                failure: Some(StepFailure::Unresolved),
                agent: None,
            });
        }
        let mut steps = Vec::new();
        let mut status = RunStatus::Succeeded;
        let mut failure = None;
        let mut summary = format!("{} step(s) done", requests.len());
        for (i, request) in requests.iter().enumerate() {
            let text = request.describe();
            let index = i as u32;
            if !self.wait_while_user_acts(&ports, on_event) || self.cancel.load(Ordering::SeqCst) {
                status = RunStatus::Cancelled;
                summary = format!("cancelled before step {index}");
                break;
            }
            let started_ms = clock.now_ms();
            let t0 = Instant::now();
            let mut step = StepRecord {
                index,
                request: text.clone(),
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
            };
            let result = self.step(&mut ports, &mut step, request, on_event, t0);
            match result {
                Ok(frames) => {
                    step.ok = true;
                    match ports.artifacts.save_screenshot(run, index, &frames) {
                        Ok(path) => step.screenshot = Some(path),
                        Err(e) => on_event(Event::Notice {
                            message: format!("screenshot not saved: {e}"),
                        }),
                    }
                }
                Err(e) => {
                    failure = Some(e.kind);
                    step.error = Some(if i > 0 {
                        format!("{} (steps 1-{i} of {} had run)", e.message, requests.len())
                    } else {
                        e.message
                    });
                }
            }
            ports
                .memory
                .record_step(run, &step)
                .map_err(RunError::Storage)?;
            on_event(Event::StepFinished {
                step: index,
                ok: step.ok,
                error: step.error.clone(),
                screenshot: step.screenshot.clone(),
                ms: step.act_ms,
                effect: step.effect.clone(),
            });
            let failed = step.error.clone();
            steps.push(step);
            if let Some(e) = failed {
                (status, summary) = if self.cancel.load(Ordering::SeqCst) {
                    failure = None;
                    (
                        RunStatus::Cancelled,
                        format!("cancelled during step {} ({text})", index + 1),
                    )
                } else {
                    (
                        RunStatus::Failed,
                        format!(
                            "step {} of {} ({text}) failed: {e}",
                            index + 1,
                            requests.len()
                        ),
                    )
                };
                break;
            }
        }
        // A run that did not succeed lets go of everything it held. A successful `hold`
        // stays held for the next run of this instance (the input releases all when it is
        // dropped, so it never outlives the process).
        if status != RunStatus::Succeeded {
            ports.input.release_all();
        }
        ports
            .memory
            .finish_run(run, status, &summary, clock.now_ms())
            .map_err(RunError::Storage)?;
        on_event(Event::RunFinished {
            run,
            status,
            summary,
        });
        Ok(RunOutcome {
            run,
            status,
            steps,
            failure,
            agent: None,
        })
    }

    /// The first command that does not parse, as a refused step and the run's summary; none
    /// when every command parses.
    fn refuse_unparsable(
        &self,
        memory: &mut dyn MemoryStore,
        run: i64,
        requests: &[StepRequest],
        clock: &dyn Clock,
    ) -> Result<Option<(StepRecord, String)>, RunError> {
        let bad = requests.iter().enumerate().find_map(|(i, r)| match r {
            StepRequest::Command(text) => Command::parse(text).err().map(|e| (i, e)),
            StepRequest::Action(a) => a.validate().err().map(|e| (i, e)),
        });
        let Some((i, e)) = bad else {
            return Ok(None);
        };
        let total = requests.len();
        let error = if total > 1 {
            format!("{e} (in command {} of {total}; nothing was run)", i + 1)
        } else {
            e.to_string()
        };
        let step = StepRecord {
            index: i as u32,
            request: requests[i].describe(),
            action: None,
            point: None,
            target: None,
            ok: false,
            error: Some(error.clone()),
            screenshot: None,
            effect: None,
            policy: None,
            perceive_ms: 0,
            act_ms: 0,
            started_ms: clock.now_ms(),
            agent: None,
        };
        memory.record_step(run, &step).map_err(RunError::Storage)?;
        Ok(Some((
            step,
            format!("refused before anything moved: {error}"),
        )))
    }

    fn step(
        &self,
        ports: &mut Ports<'_>,
        step: &mut StepRecord,
        request: &StepRequest,
        on_event: &mut dyn FnMut(Event),
        t0: Instant,
    ) -> Result<Vec<Frame>, StepError> {
        let (action, tree) = match request {
            StepRequest::Command(text) => {
                let command = Command::parse(text).map_err(StepError::unresolved)?;
                self.resolve(ports, &command)?
            }
            StepRequest::Action(action) => {
                action.validate().map_err(StepError::unresolved)?;
                let by_node = action
                    .targets()
                    .iter()
                    .any(|t| matches!(t, Target::Node { .. }));
                let tree = if by_node {
                    Some(self.screen_tree(ports)?)
                } else {
                    None
                };
                (action.clone(), tree)
            }
        };
        step.perceive_ms = t0.elapsed().as_millis() as u64;
        if let Some(tree) = &tree {
            on_event(Event::Perceived {
                step: step.index,
                nodes: tree.len(),
                ms: step.perceive_ms,
            });
        }
        self.act(ports, step, &action, tree.as_ref(), on_event)
    }

    /// Executes one validated action whose node targets refer to `tree`: resolves targets to
    /// desktop points, checks the policy, sends the input, waits for the screen to settle and
    /// records what changed. Returns the settled frames.
    pub(crate) fn act(
        &self,
        ports: &mut Ports<'_>,
        step: &mut StepRecord,
        action: &Action,
        tree: Option<&LayoutTree>,
        on_event: &mut dyn FnMut(Event),
    ) -> Result<Vec<Frame>, StepError> {
        let (screen, accessibility) = (ports.screen, ports.accessibility);
        action.validate().map_err(StepError::unresolved)?;
        let monitors = screen.monitors().map_err(StepError::unresolved)?;
        let resolved = action
            .targets()
            .into_iter()
            .map(|t| resolve_target(t, tree, &monitors))
            .collect::<Result<Vec<_>, _>>()
            .map_err(StepError::unresolved)?;
        let points: Vec<_> = resolved.iter().map(|r| r.point).collect();
        let events = input_events(action, &points).map_err(StepError::unresolved)?;
        step.action = Some(action.clone());
        step.point = points.first().copied();
        step.target = resolved.first().map(|r| r.description.clone());
        self.check_policy(ports, action, tree, step, on_event)
            .map_err(|message| StepError {
                kind: StepFailure::Refused,
                message,
            })?;
        on_event(Event::ActionStarted {
            step: step.index,
            action: action.clone(),
            point: step.point,
            target: step.target.clone(),
        });
        // Focus before the action, to tell whether it moved (from the tree already read).
        let focus_before = match (tree, accessibility) {
            (Some(t), _) => Some(FocusSnapshot::of(t)),
            (None, Some(a11y)) => read_focus(a11y, &self.tree_limits),
            (None, None) => None,
        };
        let aimed_at = focus_before
            .as_ref()
            .and_then(|f| target_window(action, tree, f));
        let opener = opens_something(action, tree);
        // The frame before the action, to tell what the action changed.
        let before = screen.capture_all().map_err(StepError::unresolved)?;
        let t_act = Instant::now();
        match action {
            Action::Wait { ms } => std::thread::sleep(Duration::from_millis(*ms)),
            Action::OpenApp { name } => {
                let apps = ports
                    .apps
                    .ok_or_else(|| StepError::unresolved("starting apps is not available here"))?;
                apps.open(name).map_err(StepError::from_port)?;
            }
            Action::FocusWindow { title } => {
                let apps = ports.apps.ok_or_else(|| {
                    StepError::unresolved("focusing windows is not available here")
                })?;
                apps.focus(title).map_err(StepError::from_port)?;
            }
            Action::AskUser { .. } => {
                return Err(StepError::unresolved(
                    "ask_user needs an agent run with a front end to answer",
                ))
            }
            _ => ports.input.send(&events).map_err(StepError::effect)?,
        }
        // The opener watch compares two reads of the same kind: the accessible active window
        // now and after the action (the tree given may be a fused one, whose windows are
        // described differently).
        let window_before = accessibility.filter(|_| opener).and_then(active_window);
        let mut read_window = || accessibility.and_then(active_window);
        let watch = accessibility.filter(|_| opener).map(|_| WindowWatch {
            before: window_before,
            read: &mut read_window,
        });
        let settled = wait_for_settle_since(screen, self.settle, watch, opener, Some(&before))
            .map_err(StepError::effect)?;
        step.act_ms = t_act.elapsed().as_millis() as u64;
        // One read after the action serves focus and the typed-text check.
        let after = accessibility
            .filter(|_| self.read_after)
            .and_then(|a11y| focused_tree(a11y, &self.tree_limits));
        let focus_after = after.as_ref().map(FocusSnapshot::of);
        let text_verified = match action {
            Action::Type { text } if self.read_after => {
                self.verify_typed(accessibility, text, after)
            }
            _ => None,
        };
        step.effect = Some(ActionEffect {
            changed: changed_region(&before, &settled.frames),
            settle_ms: settled.elapsed.as_millis() as u64,
            stable: settled.stable,
            text_verified,
            focus_moved: focus_before
                .as_ref()
                .zip(focus_after.as_ref())
                .is_some_and(|(b, a)| b.moved_to(a)),
            target_in_front: aimed_at
                .zip(focus_after.as_ref())
                .map(|(t, after)| after.active.as_ref().is_some_and(|w| w.same_window(&t))),
        });
        if matches!(action, Action::Drag { .. })
            && step.effect.as_ref().is_some_and(|e| e.changed.is_none())
        {
            return Err(StepError::effect(
                "the drop was not accepted: nothing on screen changed after the drag (is the \
                 target a place that takes this item?)",
            ));
        }
        if text_verified == Some(false) {
            return Err(StepError::effect(
                "the typed text did not arrive: the focused field does not contain it",
            ));
        }
        Ok(settled.frames)
    }
}

impl DirectRunner {
    /// Whether the focused field's accessible text contains what was typed. None when that
    /// cannot be known: no accessibility, no focused field exposing text, a secret
    /// placeholder (the runtime never sees its value), or text past the reader's cap.
    fn verify_typed(
        &self,
        accessibility: Option<&dyn Accessibility>,
        typed: &str,
        mut first: Option<LayoutTree>,
    ) -> Option<bool> {
        if typed.contains("{{secret:") || typed.chars().count() > 1_500 {
            return None;
        }
        let typed = typed.replace('\r', "");
        let mut query = self.tree_limits.clone();
        query.scope = TreeScope::FocusedApp;
        // The app may still be working through queued key events after the screen settled:
        // look again for a short while before calling the text lost.
        let deadline = Instant::now() + Duration::from_millis(1_500);
        loop {
            let tree = match first.take() {
                Some(tree) => tree,
                None => accessibility?.tree(&query).ok()?,
            };
            let field = tree.focused_editable()?;
            let shown = field.text.as_ref()?;
            if shown.chars().count() >= 2_000 {
                return None;
            }
            if shown.contains(&typed) {
                return Some(true);
            }
            if Instant::now() >= deadline || self.cancel.load(Ordering::SeqCst) {
                return Some(false);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// When the user has taken over, pauses until they say to go on. False means stop.
    pub(crate) fn wait_while_user_acts(
        &self,
        ports: &Ports<'_>,
        on_event: &mut dyn FnMut(Event),
    ) -> bool {
        let Some(presence) = ports.presence else {
            return true;
        };
        let Some(reason) = presence.takeover() else {
            return true;
        };
        on_event(Event::Paused {
            reason: reason.clone(),
        });
        let go_on = ports.resumer.is_some_and(|r| r.wait_for_resume(&reason));
        if go_on && !self.cancel.load(Ordering::SeqCst) {
            presence.resume();
            on_event(Event::Resumed);
            true
        } else {
            false
        }
    }

    /// Asks the policy about an action; refuses it on deny, or on confirm without a yes.
    fn check_policy(
        &self,
        ports: &Ports<'_>,
        action: &Action,
        tree: Option<&LayoutTree>,
        step: &mut StepRecord,
        on_event: &mut dyn FnMut(Event),
    ) -> Result<(), String> {
        let Some(gate) = ports.gate else {
            return Ok(());
        };
        let target = action.targets().first().and_then(|t| match t {
            Target::Node { id } => tree.and_then(|tr| tr.get(id)),
            Target::Point { .. } => None,
        });
        let window = tree.and_then(|t| window_of(t, target.map(|n| &n.id)));
        let ctx = GateContext {
            action,
            app: None,
            window_title: window.map(|w| w.name.as_str()),
            target_label: target.map(|n| n.name.as_str()),
            target_role: target.map(|n| n.role.as_str()),
        };
        let decision = gate.check(&ctx);
        step.policy = Some(decision.clone());
        let refuse = |reason: String, on_event: &mut dyn FnMut(Event)| {
            on_event(Event::ActionRefused {
                step: step.index,
                reason: reason.clone(),
            });
            Err(reason)
        };
        match decision.verdict {
            Verdict::Allow => Ok(()),
            Verdict::Deny => refuse(
                format!(
                    "refused by policy ({}): {}: {}",
                    decision.rule, decision.reason, decision.shown
                ),
                on_event,
            ),
            Verdict::Confirm => {
                let request = Event::ConfirmationRequested {
                    step: step.index,
                    shown: decision.shown.clone(),
                    reason: decision.reason.clone(),
                    rule: decision.rule.clone(),
                };
                // The confirmer announces the request itself, once it is ready for the answer:
                // a fast answer can then never arrive before anyone is listening.
                let mut announce = || on_event(request.clone());
                let confirmed = ports.confirmer.map(|c| c.confirm(&decision, &mut announce));
                match confirmed {
                    Some(true) => Ok(()),
                    Some(_) => refuse(
                        format!("not confirmed: {}: {}", decision.reason, decision.shown),
                        on_event,
                    ),
                    None => refuse(
                        format!(
                            "needs confirmation but nobody can answer here: {}: {}",
                            decision.reason, decision.shown
                        ),
                        on_event,
                    ),
                }
            }
        }
    }
}

/// The window a node is in, or the active window when no node is given.
fn window_of<'t>(tree: &'t LayoutTree, node: Option<&NodeId>) -> Option<&'t LayoutNode> {
    match node {
        Some(id) => tree.root.children.iter().find(|w| w.find(id).is_some()),
        None => tree.active_window(),
    }
}

fn empty_tree() -> LayoutTree {
    LayoutTree {
        root: deskhand_core::LayoutNode::new(
            "screen",
            "screen",
            deskhand_core::NodeSource::Display,
        ),
    }
}
