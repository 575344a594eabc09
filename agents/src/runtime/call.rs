//! The call kernel every role call goes through: the model call on its own thread (left
//! behind at once on cancel), the validated ask with one retry, the model-call log, the
//! `ModelCalled` event and the step's counters. A role call needs its own request and a
//! [`Turn`], nothing more.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use deskhand_core::ports::{
    Message, MessagePart, MessageRole, ModelBackend, ModelReply, ModelRequest, ModuleTimes,
    RunStatus, TokenUsage,
};
use deskhand_core::{Event, ModelCallRecord, PortError};

use super::AgentMemory;
use crate::roles::prompt::for_log;

/// Why a run's loop stopped early.
#[derive(Debug)]
pub(crate) enum Stop {
    /// The run ends with this status and summary.
    End(RunStatus, String),
    /// The run log could not be written.
    Storage(PortError),
}

impl From<PortError> for Stop {
    fn from(e: PortError) -> Self {
        Stop::Storage(e)
    }
}

impl Stop {
    pub(crate) fn cancelled() -> Stop {
        Stop::End(RunStatus::Cancelled, "cancelled by the user".into())
    }

    pub(crate) fn failed(why: impl Into<String>) -> Stop {
        Stop::End(RunStatus::Failed, why.into())
    }
}

/// Counters of one step.
#[derive(Debug, Default, Clone)]
pub(crate) struct StepStats {
    pub calls: u32,
    pub usage: TokenUsage,
    pub times: ModuleTimes,
}

impl StepStats {
    fn add(&mut self, usage: TokenUsage) {
        self.calls += 1;
        add_usage(&mut self.usage, usage);
    }
}

pub(crate) fn add_usage(total: &mut TokenUsage, more: TokenUsage) {
    total.prompt += more.prompt;
    total.completion += more.completion;
    total.cached += more.cached;
}

/// One model call's raw result and time.
pub(crate) type Answer = (Result<ModelReply, PortError>, u64);

/// Where a role call is made: the run and step it belongs to, the counters it adds to, the
/// log it is written to and the sink its event goes to.
pub(crate) struct Turn<'t> {
    pub run: i64,
    pub step: u32,
    pub stats: &'t mut StepStats,
    pub log: &'t mut dyn AgentMemory,
    pub events: &'t mut dyn FnMut(Event),
}

/// Calls models for the roles of one run.
#[derive(Clone)]
pub(crate) struct Caller {
    pub model: Arc<dyn ModelBackend>,
    pub cancel: Arc<AtomicBool>,
}

impl Caller {
    fn cancelled(&self) -> bool {
        self.cancel.load(Ordering::SeqCst)
    }

    /// One model call on its own thread, given up at once when the run is cancelled (the call
    /// then ends in the background; its answer is dropped).
    pub fn complete(&self, request: &ModelRequest) -> Answer {
        let t = Instant::now();
        let (tx, rx) = std::sync::mpsc::channel();
        let (model, request) = (self.model.clone(), request.clone());
        let spawned = std::thread::Builder::new()
            .name("model-call".into())
            .spawn(move || {
                let _ = tx.send(model.complete(&request));
            });
        if let Err(e) = spawned {
            return (
                Err(PortError::failed(format!("cannot start a model call: {e}"))),
                0,
            );
        }
        let elapsed = || t.elapsed().as_millis() as u64;
        loop {
            match rx.recv_timeout(std::time::Duration::from_millis(25)) {
                Ok(r) => return (r, elapsed()),
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) if self.cancelled() => {
                    return (
                        Err(PortError::failed("cancelled while waiting for the model")),
                        elapsed(),
                    )
                }
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                    return (
                        Err(PortError::failed("the model call ended without an answer")),
                        elapsed(),
                    )
                }
            }
        }
    }

    /// Sends a request, validates the answer, and on an invalid answer asks once more with
    /// the validation error; every call is logged and shown. `first` is an answer already
    /// obtained (calls made in parallel).
    pub fn ask<T>(
        &self,
        turn: &mut Turn<'_>,
        mut request: ModelRequest,
        mut first: Option<Answer>,
        validate: &dyn Fn(&str) -> Result<T, String>,
    ) -> Result<T, Stop> {
        let role = request.agent_role;
        for attempt in 0..2 {
            if self.cancelled() {
                return Err(Stop::cancelled());
            }
            let (answer, ms) = match first.take() {
                Some(a) => a,
                None => self.complete(&request),
            };
            let (reply, usage, error) = match &answer {
                Ok(r) => (r.text.clone(), r.usage, None),
                Err(e) => (String::new(), TokenUsage::default(), Some(e.to_string())),
            };
            turn.stats.add(usage);
            let checked = match &answer {
                Ok(r) => validate(&r.text).map_err(Some),
                Err(_) => Err(None),
            };
            let error = error.or_else(|| checked.as_ref().err().cloned().flatten());
            turn.log.record_call(
                turn.run,
                &ModelCallRecord {
                    step: turn.step,
                    role: role.to_string(),
                    prompt: for_log(&request.messages),
                    reply: reply.clone(),
                    usage,
                    ms,
                    error: error.clone(),
                    memory_used: request.memory_used.clone(),
                },
            )?;
            (turn.events)(Event::ModelCalled {
                step: turn.step,
                role: role.to_string(),
                ms,
                usage,
                error: error.clone(),
            });
            if self.cancelled() {
                return Err(Stop::cancelled());
            }
            match (answer, checked) {
                (Err(e), _) => {
                    return Err(Stop::failed(format!("the {role} model call failed: {e}")))
                }
                (Ok(_), Ok(value)) => return Ok(value),
                (Ok(_), Err(why)) if attempt == 0 => {
                    let why = why.unwrap_or_default();
                    request.messages.push(Message {
                        role: MessageRole::Assistant,
                        parts: vec![MessagePart::Text { text: reply }],
                    });
                    request.messages.push(Message {
                        role: MessageRole::User,
                        parts: vec![MessagePart::Text {
                            text: format!(
                                "Your answer was invalid: {why}. Nothing was executed. Answer \
                                 again with one JSON object only, in the format asked for."
                            ),
                        }],
                    });
                }
                (Ok(_), Err(why)) => {
                    return Err(Stop::failed(format!(
                        "the {role}'s answer was invalid twice; nothing was executed: {}",
                        why.unwrap_or_default()
                    )))
                }
            }
        }
        Err(Stop::failed(format!("no valid answer from the {role}")))
    }
}

/// Asks one role outside an agent loop (fill a form, read a source, answer from memory):
/// the call and, on an invalid answer, one more with the error, each recorded under `run`
/// and shown as a `ModelCalled` event. The error says why no valid answer came.
#[allow(clippy::too_many_arguments)]
pub fn ask_role<T>(
    model: Arc<dyn ModelBackend>,
    cancel: Arc<AtomicBool>,
    log: &mut dyn AgentMemory,
    run: i64,
    step: u32,
    request: ModelRequest,
    validate: &dyn Fn(&str) -> Result<T, String>,
    events: &mut dyn FnMut(Event),
) -> Result<T, String> {
    let caller = Caller { model, cancel };
    let mut stats = StepStats::default();
    let mut turn = Turn {
        run,
        step,
        stats: &mut stats,
        log,
        events,
    };
    caller
        .ask(&mut turn, request, None, validate)
        .map_err(|stop| match stop {
            Stop::End(_, why) => why,
            Stop::Storage(e) => format!("the call log could not be written: {e}"),
        })
}
