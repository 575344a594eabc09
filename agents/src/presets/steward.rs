//! MobileSteward (Liu et al., 2025) on the desktop. The Steward writes a scheduling graph of
//! app-scoped subtasks whose promised facts feed later ones, checked before anything runs
//! (one repair round). Each node in turn is done by a staff agent: Deskhand's loop of the
//! Mobile-Agent-E roles in that app, with the app's expertise memory and the upstream facts.
//! After each node the adjusted evaluation reads its facts off the screen; a node that failed
//! gets a reflection tip and one retry, and a second failure has the Steward re-plan the
//! rest of the graph from what was done (once). A run that succeeded leaves a guideline.

use std::collections::VecDeque;

use deskhand_core::graph::{NodeFact, NodeState, TaskNode};
use deskhand_core::ports::RunStatus;

use super::deskhand;
use crate::roles::steward::Replan;
use crate::runtime::call::Stop;
use crate::runtime::session::Session;

/// Re-plans a run may have.
const MAX_REPLANS: u32 = 1;

pub(super) fn run(s: &mut Session<'_, '_, '_>) -> Result<(RunStatus, String), Stop> {
    s.first_look()?;
    s.learned = true; // the staff learn per node
    let mut revision = 0;
    let mut queue: VecDeque<TaskNode> = s.schedule(revision, None)?.into();
    let (mut done, mut facts): (Vec<TaskNode>, Vec<NodeFact>) = (Vec::new(), Vec::new());
    let budget = s.config.max_steps;
    let staff = move |s: &mut Session<'_, '_, '_>| deskhand::steps(s, budget);
    while let Some(node) = queue.pop_front() {
        s.node_state(revision, &node, NodeState::Running, &[], "")?;
        let mut result = s.attempt_node(&node, &facts, None, &staff)?;
        if let Err(why) = &result {
            let tip = s.reflect_on_node(&node, why)?;
            s.node_state(revision, &node, NodeState::Retrying, &[], why)?;
            result = s.attempt_node(&node, &facts, tip.as_ref(), &staff)?;
        }
        match result {
            Ok(found) => {
                s.node_state(revision, &node, NodeState::Done, &found, "")?;
                facts.extend(found);
                done.push(node);
            }
            Err(why) => {
                s.node_state(revision, &node, NodeState::Failed, &[], &why)?;
                if revision >= MAX_REPLANS {
                    return Err(Stop::failed(format!(
                        "node {} ({}) failed twice after a re-plan: {why}",
                        node.id, node.app
                    )));
                }
                let remaining: Vec<TaskNode> = queue.drain(..).collect();
                for n in &remaining {
                    s.node_state(revision, n, NodeState::Replanned, &[], "re-planned")?;
                }
                revision += 1;
                let replan = Replan {
                    done: &done,
                    facts: &facts,
                    failed: &node,
                    why: &why,
                    remaining: &remaining,
                };
                queue = s.schedule(revision, Some(replan))?.into();
            }
        }
    }
    s.learn_guideline(&done);
    let found: Vec<String> = facts
        .iter()
        .map(|f| format!("{} = {}", f.name, f.value))
        .collect();
    let mut summary = format!("{} subtask(s) done", done.len());
    if !found.is_empty() {
        summary.push_str(&format!("; found {}", found.join(", ")));
    }
    Ok((RunStatus::Succeeded, summary))
}
