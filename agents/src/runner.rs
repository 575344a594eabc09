//! The direct runner: executes commands of the `deskhand do` language, one recorded step each.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use deskhand_core::command::Command;
use deskhand_core::ports::{
    Accessibility, Clock, Input, MemoryStore, RunStatus, Screen, StepRecord, TreeQuery, TreeScope,
};
use deskhand_core::{Action, ActionError, Event, Frame, LayoutTree, PortError, Target};

use crate::execute::{input_events, resolve_target};
use crate::settle::{wait_for_settle, SettlePolicy};

/// Where screenshots of steps are kept.
pub trait Artifacts {
    /// Saves the frames shown after a step; returns where.
    fn save_screenshot(&self, run: i64, step: u32, frames: &[Frame]) -> Result<String, PortError>;
}

/// The ports one run uses.
pub struct Ports<'a> {
    /// Screen capture.
    pub screen: &'a dyn Screen,
    /// The accessibility tree, when a bus is available.
    pub accessibility: Option<&'a dyn Accessibility>,
    /// Input injection.
    pub input: &'a mut dyn Input,
    /// Runs and steps.
    pub memory: &'a mut dyn MemoryStore,
    /// Screenshots.
    pub artifacts: &'a dyn Artifacts,
    /// Time.
    pub clock: &'a dyn Clock,
}

/// Why a run could not go on at all (step failures are recorded, not returned).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The run log could not be written; nothing more is executed unrecorded.
    #[error("cannot record the run: {0}")]
    Storage(PortError),
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
}

impl Default for DirectRunner {
    fn default() -> Self {
        Self {
            settle: SettlePolicy::default(),
            cancel: Arc::new(AtomicBool::new(false)),
            tree_limits: TreeQuery::new(TreeScope::FocusedApp),
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

/// Why one step failed, as shown to people.
fn step_error(e: impl std::fmt::Display) -> String {
    e.to_string()
}

impl DirectRunner {
    /// Reads the tree and resolves a command: the focused app first, every app if the target
    /// is not there (a dialog can belong to another client).
    fn resolve(
        &self,
        accessibility: Option<&dyn Accessibility>,
        command: &Command,
    ) -> Result<(Action, Option<LayoutTree>), String> {
        if !command.needs_tree() {
            return command
                .resolve(&empty_tree())
                .map(|a| (a, None))
                .map_err(step_error);
        }
        let a11y = accessibility.ok_or(
            "finding elements by name needs the accessibility bus, which is not available \
             (start apps after the session D-Bus; `./x demo` does this for you)",
        )?;
        let mut query = self.tree_limits.clone();
        query.scope = TreeScope::FocusedApp;
        let focused = a11y.tree(&query).map_err(step_error);
        if let Ok(tree) = &focused {
            match command.resolve(tree) {
                Ok(action) => return Ok((action, focused.ok())),
                Err(ActionError::NotFound(_)) => {}
                Err(e) => return Err(step_error(e)),
            }
        }
        query.scope = TreeScope::AllApps;
        let tree = a11y.tree(&query).map_err(step_error)?;
        let action = command.resolve(&tree).map_err(step_error)?;
        Ok((action, Some(tree)))
    }

    /// Runs commands in order, one step each, stopping at the first failure.
    pub fn run(
        &self,
        ports: Ports<'_>,
        task: &str,
        requests: &[StepRequest],
        on_event: &mut dyn FnMut(Event),
    ) -> Result<RunOutcome, RunError> {
        let Ports {
            screen,
            accessibility,
            input,
            memory,
            artifacts,
            clock,
        } = ports;
        let run = memory
            .start_run(task, clock.now_ms())
            .map_err(RunError::Storage)?;
        on_event(Event::RunStarted {
            run,
            task: task.to_string(),
        });
        let mut steps = Vec::new();
        let mut status = RunStatus::Succeeded;
        let mut summary = format!("{} step(s) done", requests.len());
        for (i, request) in requests.iter().enumerate() {
            let text = request.describe();
            let index = i as u32;
            if self.cancel.load(Ordering::SeqCst) {
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
                perceive_ms: 0,
                act_ms: 0,
                started_ms,
            };
            let result = self.step(
                screen,
                accessibility,
                input,
                &mut step,
                request,
                on_event,
                t0,
            );
            match result {
                Ok(frames) => {
                    step.ok = true;
                    match artifacts.save_screenshot(run, index, &frames) {
                        Ok(path) => step.screenshot = Some(path),
                        Err(e) => on_event(Event::Notice {
                            message: format!("screenshot not saved: {e}"),
                        }),
                    }
                }
                Err(e) => step.error = Some(e),
            }
            memory.record_step(run, &step).map_err(RunError::Storage)?;
            on_event(Event::StepFinished {
                step: index,
                ok: step.ok,
                error: step.error.clone(),
                screenshot: step.screenshot.clone(),
                ms: step.act_ms,
            });
            let failed = step.error.clone();
            steps.push(step);
            if let Some(e) = failed {
                status = RunStatus::Failed;
                summary = format!("step {index} ({text}) failed: {e}");
                break;
            }
        }
        memory
            .finish_run(run, status, &summary, clock.now_ms())
            .map_err(RunError::Storage)?;
        on_event(Event::RunFinished {
            run,
            status,
            summary,
        });
        Ok(RunOutcome { run, status, steps })
    }

    #[allow(clippy::too_many_arguments)]
    fn step(
        &self,
        screen: &dyn Screen,
        accessibility: Option<&dyn Accessibility>,
        input: &mut dyn Input,
        step: &mut StepRecord,
        request: &StepRequest,
        on_event: &mut dyn FnMut(Event),
        t0: Instant,
    ) -> Result<Vec<Frame>, String> {
        let (action, tree) = match request {
            StepRequest::Command(text) => {
                let command = Command::parse(text).map_err(step_error)?;
                self.resolve(accessibility, &command)?
            }
            StepRequest::Action(action) => {
                action.validate().map_err(step_error)?;
                let by_node = action
                    .targets()
                    .iter()
                    .any(|t| matches!(t, Target::Node { .. }));
                let tree = match (by_node, accessibility) {
                    (false, _) => None,
                    (true, None) => {
                        return Err(
                            "node targets need the accessibility bus, which is not available"
                                .into(),
                        )
                    }
                    (true, Some(a11y)) => {
                        let mut query = self.tree_limits.clone();
                        query.scope = TreeScope::AllApps;
                        Some(a11y.tree(&query).map_err(step_error)?)
                    }
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
        let monitors = screen.monitors().map_err(step_error)?;
        let resolved = action
            .targets()
            .into_iter()
            .map(|t| resolve_target(t, tree.as_ref(), &monitors))
            .collect::<Result<Vec<_>, _>>()
            .map_err(step_error)?;
        let points: Vec<_> = resolved.iter().map(|r| r.point).collect();
        let events = input_events(&action, &points).map_err(step_error)?;
        step.action = Some(action.clone());
        step.point = points.first().copied();
        step.target = resolved.first().map(|r| r.description.clone());
        on_event(Event::ActionStarted {
            step: step.index,
            action: action.clone(),
            point: step.point,
            target: step.target.clone(),
        });
        let t_act = Instant::now();
        match &action {
            Action::Wait { ms } => std::thread::sleep(Duration::from_millis(*ms)),
            Action::OpenApp { .. } | Action::FocusWindow { .. } | Action::AskUser { .. } => {
                return Err(format!(
                    "{} is not available in `deskhand do` yet; use the agent run for it",
                    action.kind()
                ))
            }
            _ => input.send(&events).map_err(step_error)?,
        }
        let settled = wait_for_settle(screen, self.settle).map_err(step_error)?;
        step.act_ms = t_act.elapsed().as_millis() as u64;
        tracing::debug!(
            step = step.index,
            settle_ms = settled.elapsed.as_millis() as u64,
            stable = settled.stable,
            "settled"
        );
        Ok(settled.frames)
    }
}

fn empty_tree() -> LayoutTree {
    LayoutTree {
        root: deskhand_core::LayoutNode {
            id: "screen".into(),
            role: "screen".into(),
            name: String::new(),
            text: None,
            bounds: None,
            states: Vec::new(),
            source: deskhand_core::NodeSource::Display,
            children: Vec::new(),
        },
    }
}
