//! Mobile-Agent-E as published (Wang et al., 2025), on the desktop. Every step: the Manager
//! updates the plan and names the subgoal (or says Finished); the Operator picks one action
//! or one Shortcut; the action runs; the Action Reflector compares the screens before and
//! after and judges A, B or C; after an A the Notetaker updates the notes. Two failures in
//! a row put the "potentially stuck" block in front of the Manager. After the run the
//! Experience Reflectors write Tips and Shortcuts. Four model calls per step.

use deskhand_core::ports::{Outcome, RunStatus};
use deskhand_core::protocol::Judge;

use crate::runtime::call::Stop;
use crate::runtime::judge;
use crate::runtime::session::Session;

pub(super) fn run(s: &mut Session<'_, '_, '_>) -> Result<(RunStatus, String), Stop> {
    s.first_look()?;
    for index in 0..s.config.max_steps {
        let mut step = s.begin(index)?;
        let plan = s.plan(&mut step)?;
        if plan.finished() {
            return s.finished_by_manager(step, &plan.thought);
        }
        let chosen = match s.decide(&mut step)? {
            Ok(chosen) => chosen,
            Err(thought) => return s.finished_by_manager(step, &thought),
        };
        if let Some(end) = s.terminal(&step, &chosen)? {
            return Ok(end);
        }
        let acted = s.execute(&mut step, &chosen)?;
        // An action that could not be carried out left nothing to compare.
        let (verdict, by) = match judge::not_carried_out(acted.record()) {
            Some(v) => (v, Judge::Runtime),
            None => (s.reflect(&mut step, &chosen, &acted, false)?, Judge::Model),
        };
        if verdict.outcome == Outcome::A {
            s.take_notes(&mut step, &acted)?;
        }
        s.record(step, chosen, acted, &verdict, by)?;
    }
    Err(s.out_of_steps(s.config.max_steps))
}
