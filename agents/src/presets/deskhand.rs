//! Deskhand's fast loop: Mobile-Agent-E's roles where they add something. Per step the
//! Operator acts; the Manager plans only when there is no plan, after a failure, when the
//! Reflector says the subgoal is done, or when the run looks stuck; an outcome the runtime
//! can see for itself (nothing changed, a key's plain effect, typed text in the field) needs
//! no Reflector; the Notetaker is asked beside the Reflector when the Manager wants notes.
//! When the user's memory was recalled, a Critic checks a "Finished" against it (Second Me),
//! sending the Manager back at most twice.

use deskhand_core::ports::{Outcome, RunStatus};
use deskhand_core::protocol::Judge;

use crate::runtime::call::Stop;
use crate::runtime::judge;
use crate::runtime::session::Session;

pub(super) fn run(s: &mut Session<'_, '_, '_>) -> Result<(RunStatus, String), Stop> {
    s.first_look()?;
    steps(s, s.config.max_steps)
}

/// The loop on the current screen and pool, for at most `budget` steps numbered on from
/// the session's next step (the Steward's staff agents run one per subtask).
pub(super) fn steps(s: &mut Session<'_, '_, '_>, budget: u32) -> Result<(RunStatus, String), Stop> {
    let (mut need_manager, mut subgoal_done) = (true, false);
    let first = s.next_step;
    for index in first..first + budget {
        let mut step = s.begin(index)?;
        let stuck = s.state.stuck_block().is_some();
        if need_manager || subgoal_done || stuck || s.state.plan.is_empty() {
            let mut plan = s.plan(&mut step)?;
            // A "Finished" the Critic finds wrong against the user's memory is planned again.
            while plan.finished() {
                if !s.criticize(&mut step)? {
                    return s.finished_by_manager(step, &plan.thought);
                }
                plan = s.plan(&mut step)?;
            }
        }
        let chosen = match s.decide(&mut step)? {
            Ok(chosen) => chosen,
            Err(thought) => {
                if !s.criticize(&mut step)? {
                    return s.finished_by_manager(step, &thought);
                }
                need_manager = true;
                s.set_aside(step);
                continue;
            }
        };
        if let Some(end) = s.terminal(&step, &chosen)? {
            return Ok(end);
        }
        let acted = s.execute(&mut step, &chosen)?;
        let plain = judge::plainly(
            &chosen.op.decision,
            acted.record(),
            &s.obs,
            &acted.after,
            s.state.needs_notes,
        );
        let (verdict, by) = match plain {
            Some(v) => (v, Judge::Runtime),
            None => (s.reflect(&mut step, &chosen, &acted, true)?, Judge::Model),
        };
        need_manager = verdict.outcome != Outcome::A;
        subgoal_done = verdict.outcome == Outcome::A && verdict.subgoal_done;
        s.record(step, chosen, acted, &verdict, by)?;
    }
    Err(s.out_of_steps(budget))
}
