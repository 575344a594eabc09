//! After the run, the Experience Reflectors: tips from every finished run, shortcuts from
//! successful ones. A bad proposal is skipped with a notice; learning never fails a run.

use deskhand_core::ports::RunStatus;
use deskhand_core::{PortError, Tip};

use super::call::{add_usage, StepStats, Stop, Turn};
use super::session::Session;
use crate::roles::experience::{self, ShortcutsInput};
use crate::shortcut;

impl Session<'_, '_, '_> {
    /// Tips from the pool's attempts, and shortcuts when they succeeded (`status`): after a
    /// run, or after each of the Steward's subtasks.
    pub(crate) fn learn(&mut self, status: RunStatus, summary: &str) {
        let mut stats = StepStats::default();
        let tips = self.learn_tips(&mut stats, status, summary);
        self.say_unlearned("tips", tips);
        if status == RunStatus::Succeeded && self.state.commands().len() >= 2 {
            let shortcuts = self.learn_shortcuts(&mut stats);
            self.say_unlearned("shortcuts", shortcuts);
        }
        add_usage(&mut self.outcome.usage, stats.usage);
    }

    fn say_unlearned(&mut self, what: &str, result: Result<(), Stop>) {
        if let Err(Stop::End(_, why) | Stop::Storage(PortError { message: why, .. })) = result {
            self.notice(format!("no {what} learned: {why}"));
        }
    }

    fn learn_turn<'t>(&'t mut self, stats: &'t mut StepStats) -> Turn<'t> {
        let (run, step) = (self.run, self.outcome.steps);
        let (_, log, events) = self.parts();
        Turn {
            run,
            step,
            stats,
            log,
            events,
        }
    }

    fn learn_tips(
        &mut self,
        stats: &mut StepStats,
        status: RunStatus,
        summary: &str,
    ) -> Result<(), Stop> {
        let app = self.state.app.clone();
        let instruction = self.state.instruction.clone();
        let existing = self
            .memory()
            .relevant_tips(&app, &instruction, 20)
            .unwrap_or_default();
        let status = status.as_str().to_string();
        let summary = summary.to_string();
        let request =
            experience::tips_request(&self.state.tips_input(&status, &summary, &existing));
        let caller = self.caller().clone();
        let reply = caller.ask(
            &mut self.learn_turn(stats),
            request,
            None,
            &experience::validate_tips,
        )?;
        for proposed in reply.tips.into_iter().take(3) {
            let tip = Tip {
                id: 0,
                app: proposed.app.trim().to_lowercase(),
                text: proposed.text.trim().to_string(),
                source_run: Some(self.run),
                uses: 0,
                created_ms: self.now_ms(),
            };
            if tip.text.is_empty() {
                continue;
            }
            match self.memory().add_tip(&tip) {
                Ok(_) => self.outcome.tips_learned += 1,
                Err(e) => self.notice(format!("tip not kept: {e}")),
            }
        }
        Ok(())
    }

    fn learn_shortcuts(&mut self, stats: &mut StepStats) -> Result<(), Stop> {
        let app = self.state.app.clone();
        let commands = self.state.commands();
        let instruction = self.state.instruction.clone();
        let existing = self
            .memory()
            .relevant_shortcuts(&app, &instruction, 20)
            .unwrap_or_default();
        let request = experience::shortcuts_request(&ShortcutsInput {
            instruction: &self.state.instruction,
            commands: &commands,
            existing: &existing,
        });
        let caller = self.caller().clone();
        let reply = caller.ask(
            &mut self.learn_turn(stats),
            request,
            None,
            &experience::validate_shortcuts,
        )?;
        for mut s in reply.shortcuts.into_iter().take(2) {
            s.app = s.app.trim().to_lowercase();
            s.source_run = Some(self.run);
            s.id = 0;
            s.uses = 0;
            s.successes = 0;
            let kept = shortcut::check(&s)
                .and_then(|()| self.memory().save_shortcut(&s).map_err(|e| e.to_string()));
            match kept {
                Ok(_) => self.outcome.shortcuts_learned.push(s.name.clone()),
                Err(e) => self.notice(format!("shortcut {} not kept: {e}", s.name)),
            }
        }
        Ok(())
    }
}
