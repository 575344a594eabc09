//! The parts of the Steward's loop (MobileSteward): the scheduling graph written and checked,
//! each node's state told and stored, a node's staff agent (the app brought to the front,
//! its expertise memory retrieved, the upstream facts given), the adjusted evaluation after
//! it (facts read off the screen on success, a reflection tip on failure), and the guideline
//! learned from a run that succeeded.

use std::time::{Duration, Instant};

use deskhand_core::graph::{guideline_steps, Guideline, NodeFact, NodeRecord, NodeState, TaskNode};
use deskhand_core::ports::RunStatus;
use deskhand_core::{Event, Tip};

use super::call::Stop;
use super::session::Session;
use crate::roles::evaluator::{self, FactsInput, ReflectInput};
use crate::roles::prompt::untrusted;
use crate::roles::steward::{self, facts_text, Replan};

/// Guidelines shown to the Steward.
const GUIDELINES: usize = 3;

/// Longest wait for a started app's window to come up.
const LAUNCH_TIMEOUT: Duration = Duration::from_secs(15);

/// How a node's attempt ended when the run goes on.
pub(crate) type Attempted = Result<Vec<NodeFact>, String>;

/// How a staff agent's loop ended: as a run's loop ends.
pub(crate) type Ended = Result<(RunStatus, String), Stop>;

impl Session<'_, '_, '_> {
    /// Tells and stores a node's state.
    pub(crate) fn node_state(
        &mut self,
        revision: u32,
        node: &TaskNode,
        state: NodeState,
        facts: &[NodeFact],
        reason: &str,
    ) -> Result<(), Stop> {
        let record = NodeRecord {
            revision,
            node: node.clone(),
            state,
            facts: facts.to_vec(),
            reason: reason.to_string(),
            updated_ms: self.now_ms(),
        };
        let run = self.run;
        self.memory().store().record_node(run, &record)?;
        let (_, _, events) = self.parts();
        events(Event::Node {
            node: node.id.clone(),
            app: node.app.clone(),
            state,
            facts: facts.to_vec(),
            reason: reason.to_string(),
        });
        Ok(())
    }

    /// The Steward writes the graph (or, with `replan`, the rest of it); an invalid graph
    /// goes back once with its errors. The nodes come back in the order they will run, told
    /// as revision `revision` and stored as waiting.
    pub(crate) fn schedule(
        &mut self,
        revision: u32,
        replan: Option<Replan<'_>>,
    ) -> Result<Vec<TaskNode>, Stop> {
        let task = self.task.clone();
        let guidelines = if replan.is_none() {
            let found = self
                .memory()
                .relevant_guidelines(&task, GUIDELINES)
                .unwrap_or_default();
            let ids: Vec<i64> = found.iter().map(|g| g.id).collect();
            if !ids.is_empty() {
                let _ = self.memory().guidelines_used(&ids);
                self.notice(format!(
                    "the Steward is given {} guideline(s) from earlier runs",
                    ids.len()
                ));
            }
            found
        } else {
            Vec::new()
        };
        let windows: Vec<String> = self
            .obs
            .tree
            .root
            .children
            .iter()
            .filter(|w| !w.name.is_empty())
            .map(|w| w.name.clone())
            .collect();
        let known: Vec<String> = replan
            .map(|r| r.facts.iter().map(|f| f.name.clone()).collect())
            .unwrap_or_default();
        let request = steward::request(&steward::Input {
            task: &task,
            guidelines: &guidelines,
            windows: &windows,
            replan,
        });
        let apps = self.apps();
        let app_ok = |name: &str| -> Result<(), String> {
            match apps {
                Some(a) => a.available(name).map_err(|e| e.message),
                None => Err("this front end cannot start or focus applications".into()),
            }
        };
        let mut step = self.side_step();
        let (caller, mut turn) = self.turn(&mut step);
        let answer = caller.ask(&mut turn, request, None, &|t| {
            steward::validate(t, &known, &app_ok)
        });
        self.set_aside(step);
        let (reply, order) = answer?;
        let nodes: Vec<TaskNode> = order.into_iter().map(|i| reply.nodes[i].clone()).collect();
        self.notice(format!(
            "the Steward's graph{}: {} node(s)",
            if revision == 0 {
                String::new()
            } else {
                format!(" (re-plan {revision})")
            },
            nodes.len()
        ));
        let (_, _, events) = self.parts();
        events(Event::Graph {
            revision,
            nodes: nodes.clone(),
        });
        for n in &nodes {
            self.node_state(revision, n, NodeState::Waiting, &[], "")?;
        }
        Ok(nodes)
    }

    /// Brings the node's app to the front: its window focused, else the app started and its
    /// window waited for. The error says why the node cannot run there.
    fn bring_up(&mut self, app: &str) -> Result<(), String> {
        let Some(apps) = self.apps() else {
            return Err("this front end cannot start or focus applications".into());
        };
        if apps.focus(app).is_ok() {
            return Ok(());
        }
        apps.open(app)
            .map_err(|e| format!("app {app:?} cannot be started: {e}"))?;
        let start = Instant::now();
        loop {
            match apps.focus(app) {
                Ok(_) => return Ok(()),
                Err(e) if start.elapsed() > LAUNCH_TIMEOUT => {
                    return Err(format!(
                        "app {app:?} was started but no window of it came up within \
                         {LAUNCH_TIMEOUT:?}: {e}"
                    ))
                }
                Err(_) if self.is_cancelled() => return Err("cancelled".into()),
                Err(_) => std::thread::sleep(Duration::from_millis(100)),
            }
        }
    }

    /// One attempt at a node: the app in front, a staff agent with the node's own pool (its
    /// expertise memory, the upstream facts, `tip` first), then the promised facts read.
    pub(crate) fn attempt_node(
        &mut self,
        node: &TaskNode,
        facts: &[NodeFact],
        tip: Option<&Tip>,
        staff: &dyn Fn(&mut Self) -> Ended,
    ) -> Result<Attempted, Stop> {
        if let Err(why) = self.bring_up(&node.app) {
            if self.is_cancelled() {
                return Err(Stop::cancelled());
            }
            return Ok(Err(why));
        }
        let given: Vec<NodeFact> = facts
            .iter()
            .filter(|f| {
                node.inputs
                    .iter()
                    .any(|i| i.trim().eq_ignore_ascii_case(f.name.trim()))
            })
            .cloned()
            .collect();
        let facts_block = if given.is_empty() {
            String::new()
        } else {
            untrusted(&facts_text(&given))
        };
        self.start_subtask(
            &node.instruction,
            facts_block,
            &node.app.to_lowercase(),
            tip.cloned().into_iter().collect(),
        );
        self.look_again()?;
        let ended = match staff(self) {
            Ok(end) => end,
            Err(Stop::End(RunStatus::Cancelled, why)) => {
                return Err(Stop::End(RunStatus::Cancelled, why))
            }
            Err(Stop::End(_, why)) => (RunStatus::Failed, why),
            Err(Stop::Storage(e)) => return Err(Stop::Storage(e)),
        };
        let (status, summary) = ended;
        if self.config.learn && !self.state.history.is_empty() {
            self.learn(status, &summary);
        }
        if status != RunStatus::Succeeded {
            return Ok(Err(summary));
        }
        if node.outputs.is_empty() {
            return Ok(Ok(Vec::new()));
        }
        self.read_facts(node)
    }

    /// The adjusted evaluation of a node that succeeded: its promised facts read off the
    /// screen, each checked against it.
    fn read_facts(&mut self, node: &TaskNode) -> Result<Attempted, Stop> {
        let request = evaluator::facts_request(&FactsInput {
            node,
            notes: &self.state.notes,
            screen: &self.obs,
        });
        let screen = evaluator::screen_text(&self.obs);
        let mut step = self.side_step();
        let (caller, mut turn) = self.turn(&mut step);
        let answer = caller.ask(&mut turn, request, None, &|t| {
            evaluator::validate_facts(t, node, &screen)
        });
        self.set_aside(step);
        match answer {
            Ok((facts, missing)) if missing.is_empty() => Ok(Ok(facts)),
            Ok((_, missing)) => Ok(Err(missing
                .iter()
                .map(|m| format!("the fact {:?} could not be found: {}", m.name, m.why))
                .collect::<Vec<_>>()
                .join("; "))),
            Err(Stop::End(RunStatus::Failed, why)) => Ok(Err(why)),
            Err(other) => Err(other),
        }
    }

    /// The adjusted evaluation of a node that failed: a reflection tip for its retry, kept
    /// as a tip of its app. `None` when the evaluator gave no valid tip (the retry runs
    /// without one).
    pub(crate) fn reflect_on_node(
        &mut self,
        node: &TaskNode,
        why: &str,
    ) -> Result<Option<Tip>, Stop> {
        let request = evaluator::reflect_request(&ReflectInput {
            node,
            why,
            history: &self.state.history,
            screen: &self.obs,
        });
        let mut step = self.side_step();
        let (caller, mut turn) = self.turn(&mut step);
        let answer = caller.ask(&mut turn, request, None, &evaluator::validate_reflection);
        self.set_aside(step);
        let reply = match answer {
            Ok(r) => r,
            Err(Stop::End(RunStatus::Failed, e)) => {
                self.notice(format!("no reflection tip for node {}: {e}", node.id));
                return Ok(None);
            }
            Err(other) => return Err(other),
        };
        let mut tip = Tip {
            id: 0,
            app: node.app.trim().to_lowercase(),
            text: reply.tip.trim().to_string(),
            source_run: Some(self.run),
            uses: 0,
            created_ms: self.now_ms(),
        };
        match self.memory().add_tip(&tip) {
            Ok(id) => {
                tip.id = id;
                self.outcome.tips_learned += 1;
            }
            Err(e) => self.notice(format!("reflection tip not kept: {e}")),
        }
        Ok(Some(tip))
    }

    /// After a run that succeeded, how its task was decomposed, for similar tasks later.
    pub(crate) fn learn_guideline(&mut self, nodes: &[TaskNode]) {
        if !self.config.learn || nodes.is_empty() {
            return;
        }
        let mut apps: Vec<String> = nodes.iter().map(|n| n.app.to_lowercase()).collect();
        apps.dedup();
        let guideline = Guideline {
            id: 0,
            task: self.task.clone(),
            steps: guideline_steps(nodes),
            apps,
            source_run: Some(self.run),
            uses: 0,
            created_ms: self.now_ms(),
        };
        if let Err(e) = self.memory().add_guideline(&guideline) {
            self.notice(format!("guideline not kept: {e}"));
        }
    }
}
