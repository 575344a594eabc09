//! `deskhand fill`: finds the form on screen (labels and their inputs in the layout tree),
//! asks the Memory role which remembered values go where (only when its endpoint is on this
//! machine or trusted), and, once the user agrees, types them through the same resolver as
//! `deskhand do`. Fields memory does not know are left as they are and listed.

use std::sync::Arc;

use deskhand_agents::roles::memory::{fill_request, validate_fill, FillInput};
use deskhand_agents::runtime::ask_role;
use deskhand_agents::RunOutcome;
use deskhand_core::experience::{PersonalMemory, Recollection};
use deskhand_core::form::fields_in;
use deskhand_core::ports::{Clock, MemoryStore, RunStatus, SystemClock};
use deskhand_core::{Event, NodeId, Role};
use serde::Serialize;

use crate::look::LookOptions;
use crate::session::{Deskhand, HostError};

/// Items recalled per field label.
const PER_FIELD: usize = 3;

/// One field of the form and what memory proposes for it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FillProposal {
    /// The field's label.
    pub label: String,
    /// The input's node id (as `look` prints it).
    pub input: NodeId,
    /// What the field holds now.
    pub current: String,
    /// The value to type; empty when memory does not know it.
    pub value: String,
    /// The memory item it came from.
    pub source: String,
    /// The model's confidence.
    pub confidence: f32,
}

/// Escapes a value for `type '...'` of the `deskhand do` grammar.
fn quoted(value: &str) -> String {
    let mut out = String::from("'");
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

impl Deskhand {
    /// Proposes values for the form in the active window (or in `app`'s window) from the
    /// user's memory. Errors: no form on screen, no model configured, or an endpoint that is
    /// not trusted with the user's memory (then nothing is sent).
    pub fn propose_fill(
        &self,
        app: Option<&str>,
        on_event: &mut dyn FnMut(Event),
    ) -> Result<Vec<FillProposal>, HostError> {
        let router = self.model_router()?;
        let endpoint = router
            .endpoint(Role::Memory.as_str())
            .map(|e| e.base_url.clone())
            .unwrap_or_default();
        if let Some(why) = crate::recall::withheld_from(
            &endpoint,
            self.config()
                .memory
                .trusted_endpoints
                .as_deref()
                .unwrap_or(&[]),
        ) {
            return Err(HostError::Other(format!(
                "your memory was not sent to fill the form: {why}"
            )));
        }
        let (perception, _) = self.look(LookOptions::default())?;
        let tree = perception.tree;
        let scope = match app {
            Some(a) => {
                let want = a.to_lowercase();
                tree.root
                    .children
                    .iter()
                    .find(|w| {
                        w.description
                            .as_deref()
                            .and_then(|d| d.strip_prefix("application "))
                            .is_some_and(|d| d.to_lowercase() == want)
                    })
                    .ok_or_else(|| HostError::Other(format!("no window of {a} is on the screen")))?
            }
            None => tree.active_window().unwrap_or(&tree.root),
        };
        let fields = fields_in(scope);
        if fields.is_empty() {
            return Err(HostError::Other(format!(
                "no form fields (a label with an input beside or under it) in {}",
                if scope.name.is_empty() {
                    "the active window"
                } else {
                    scope.name.as_str()
                }
            )));
        }
        let labels: Vec<String> = fields.iter().map(|f| f.label.clone()).collect();
        on_event(Event::Notice {
            message: format!("form fields: {}", labels.join(", ")),
        });
        let knowledge = self.recall_for(&labels, on_event)?;
        let input = FillInput {
            labels: &labels,
            knowledge: &knowledge,
        };
        // The call (and its retry with the error) is recorded under a run of its own.
        let values = {
            let mut memory = self
                .memory
                .lock()
                .map_err(|_| HostError::Other("database lock poisoned".into()))?;
            let run = memory.start_run(
                "propose values for a form from memory",
                SystemClock.now_ms(),
            )?;
            let answer = ask_role(
                Arc::new(router),
                self.cancel_flag(),
                &mut *memory,
                run,
                1,
                fill_request(&input),
                &|text| validate_fill(text, &labels, &knowledge),
                on_event,
            );
            let (status, summary) = match &answer {
                Ok(v) => (
                    RunStatus::Succeeded,
                    format!(
                        "{} of {} field(s) known",
                        v.iter().filter(|f| !f.value.is_empty()).count(),
                        v.len()
                    ),
                ),
                Err(why) => (RunStatus::Failed, why.clone()),
            };
            memory.finish_run(run, status, &summary, SystemClock.now_ms())?;
            answer
                .map_err(|why| HostError::Other(format!("no usable values for the form: {why}")))?
        };
        Ok(fields
            .into_iter()
            .zip(values)
            .map(|(f, v)| FillProposal {
                label: f.label,
                input: f.input,
                current: f.value,
                value: v.value,
                source: v.source,
                confidence: v.confidence,
            })
            .collect())
    }

    /// What the user's memory holds about each label, each item once.
    fn recall_for(
        &self,
        labels: &[String],
        on_event: &mut dyn FnMut(Event),
    ) -> Result<Vec<Recollection>, HostError> {
        let mut memory = self
            .memory
            .lock()
            .map_err(|_| HostError::Other("database lock poisoned".into()))?;
        match crate::recall::embedder(self.config()) {
            Ok(e) => memory.set_embedder(Arc::new(e)),
            Err(e) => on_event(Event::Notice {
                message: format!("your memory is searched by keywords only: {e}"),
            }),
        }
        let mut items: Vec<Recollection> = Vec::new();
        for label in labels {
            for item in memory.recall(label, PER_FIELD)? {
                if !items.iter().any(|k| k.id == item.id) {
                    items.push(item);
                }
            }
        }
        Ok(items)
    }

    /// Types the proposed values into their fields (replacing what they hold), as one
    /// recorded command run; fields without a value are left alone.
    pub fn fill(
        &self,
        proposals: &[FillProposal],
        on_event: &mut dyn FnMut(Event),
    ) -> Result<RunOutcome, HostError> {
        let mut commands = Vec::new();
        for p in proposals.iter().filter(|p| !p.value.is_empty()) {
            commands.push(format!("click {}", p.input));
            commands.push("key ctrl+a".to_string());
            commands.push(format!("type {}", quoted(&p.value)));
        }
        if commands.is_empty() {
            return Err(HostError::Other(
                "memory knows none of the fields: nothing to fill".into(),
            ));
        }
        self.run_commands("fill the form from memory", &commands, on_event)
    }
}

#[cfg(test)]
mod tests {
    use super::quoted;

    #[test]
    fn values_are_quoted_for_the_do_grammar() {
        assert_eq!(quoted("Jo's \"x\"\\n"), "'Jo\\'s \"x\"\\\\n'");
        assert_eq!(quoted("a\nb"), "'a\\nb'");
    }
}
