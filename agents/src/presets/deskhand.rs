//! Deskhand's fast loop: Mobile-Agent-E's roles where they add something. Per step the
//! Operator acts; the Manager plans only when there is no plan, after a failure, when the
//! Reflector says the subgoal is done, or when the run looks stuck; an outcome the runtime
//! can see for itself (nothing changed, a key's plain effect, typed text in the field) needs
//! no Reflector; the Notetaker is asked beside the Reflector when the Manager wants notes.

use deskhand_core::ports::{Outcome, RunStatus};
use deskhand_core::protocol::Judge;

use crate::runtime::call::Stop;
use crate::runtime::judge;
use crate::runtime::session::Session;

pub(super) fn run(s: &mut Session<'_, '_, '_>) -> Result<(RunStatus, String), Stop> {
    s.first_look()?;
    let (mut need_manager, mut subgoal_done) = (true, false);
    for index in 0..s.config.max_steps {
        let mut step = s.begin(index)?;
        let stuck = s.state.stuck_block().is_some();
        if need_manager || subgoal_done || stuck || s.state.plan.is_empty() {
            let plan = s.plan(&mut step)?;
            if plan.finished() {
                return s.finished_by_manager(step, &plan.thought);
            }
        }
        let chosen = match s.decide(&mut step)? {
            Ok(chosen) => chosen,
            Err(thought) => return s.finished_by_manager(step, &thought),
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
    Err(s.out_of_steps())
}
