//! The ports: small traits the agent runtime calls and adapters implement.
//! They are synchronous so they stay object-safe; adapters that need an async runtime keep
//! one of their own, and callers run ports on threads when they want parallelism.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::PortError;
use crate::geometry::{Frame, Monitor, Rect};
use crate::input::InputEvent;
use crate::layout::LayoutTree;

/// Captures the screen.
pub trait Screen: Send + Sync {
    /// The connected monitors, in display-server order.
    fn monitors(&self) -> Result<Vec<Monitor>, PortError>;
    /// A frame of every monitor.
    fn capture_all(&self) -> Result<Vec<Frame>, PortError>;
}

/// Which part of the accessibility tree to read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "scope", content = "app")]
pub enum TreeScope {
    /// The application that owns the active window.
    FocusedApp,
    /// The application with this name (as AT-SPI reports it, e.g. "mousepad").
    App(String),
    /// Every application.
    AllApps,
}

/// Limits on one tree read, so that no application can stall a step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeQuery {
    /// What to read.
    pub scope: TreeScope,
    /// Stop after this many nodes.
    pub max_nodes: usize,
    /// Do not descend deeper than this.
    pub max_depth: usize,
    /// Give up after this long.
    pub timeout: Duration,
}

impl TreeQuery {
    /// A query with default limits (5,000 nodes, depth 40, 3 s).
    pub fn new(scope: TreeScope) -> Self {
        Self {
            scope,
            max_nodes: 5_000,
            max_depth: 40,
            timeout: Duration::from_secs(3),
        }
    }
}

/// An application registered with the accessibility bus.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AppSummary {
    /// Name as the application reports it.
    pub name: String,
    /// Process id, when known.
    pub pid: Option<u32>,
    /// Titles of its top-level windows.
    pub windows: Vec<String>,
    /// True when one of its windows is active.
    pub active: bool,
}

/// Reads the accessibility tree.
pub trait Accessibility: Send + Sync {
    /// Applications on the accessibility bus.
    fn applications(&self) -> Result<Vec<AppSummary>, PortError>;
    /// The tree for a scope, rooted at a "screen" node whose children are windows.
    fn tree(&self, query: &TreeQuery) -> Result<LayoutTree, PortError>;
}

/// Injects input events.
pub trait Input: Send {
    /// Sends events in order; stops at the first failure.
    fn send(&mut self, events: &[InputEvent]) -> Result<(), PortError>;

    /// Lets go of every key and button this input holds down: after a failed or cancelled
    /// step and at the end of every run, so nothing stays held once Deskhand stops.
    fn release_all(&mut self) {}
}

/// A line of recognised text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TextLine {
    /// The text.
    pub text: String,
    /// Mean character confidence in [0,1].
    pub confidence: f32,
    /// Where it is, in desktop coordinates.
    pub bounds: Rect,
    /// Its words with their boxes, when the engine knows where its characters are.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub words: Vec<crate::layout::WordBox>,
}

/// Recognises text on the screen.
pub trait Ocr: Send + Sync {
    /// Reads the text line inside each region of the frame (desktop coordinates).
    fn recognize(&self, frame: &Frame, regions: &[Rect]) -> Result<Vec<TextLine>, PortError>;

    /// Finds and reads every text line inside the areas (desktop coordinates) of the frame;
    /// an empty `areas` means the whole frame. Engines without text detection (a bare
    /// recogniser) answer with an `Unavailable` error.
    fn read_text(&self, frame: &Frame, areas: &[Rect]) -> Result<Vec<TextLine>, PortError> {
        let _ = (frame, areas);
        Err(PortError::new(
            crate::error::PortErrorKind::Unavailable,
            "this OCR engine cannot find text lines by itself (no detection model)",
        ))
    }

    /// Finds the text lines inside the areas like [`Ocr::read_text`] but does not read them:
    /// their boxes, desktop coordinates. Engines without text detection answer with an
    /// `Unavailable` error.
    fn find_text(&self, frame: &Frame, areas: &[Rect]) -> Result<Vec<Rect>, PortError> {
        let _ = (frame, areas);
        Err(PortError::new(
            crate::error::PortErrorKind::Unavailable,
            "this OCR engine cannot find text lines by itself (no detection model)",
        ))
    }

    /// Reads the lines `found` by one [`Ocr::find_text`] call on this frame whose `wanted`
    /// flag is set, each cropped as `read_text` would crop it among all of `found`; lines
    /// without text are left out, the rest come in reading order.
    fn read_found(
        &self,
        frame: &Frame,
        found: &[Rect],
        wanted: &[bool],
    ) -> Result<Vec<TextLine>, PortError> {
        let regions: Vec<Rect> = found
            .iter()
            .zip(wanted)
            .filter(|(_, w)| **w)
            .map(|(r, _)| *r)
            .collect();
        Ok(self
            .recognize(frame, &regions)?
            .into_iter()
            .filter(|l| !l.text.trim().is_empty())
            .collect())
    }
}

/// One text's vector, and whether the text was cut to fit the model.
#[derive(Debug, Clone, PartialEq)]
pub struct Embedding {
    /// L2-normalised, [`Embedder::dimensions`] long.
    pub vector: Vec<f32>,
    /// Tokens of the text the model read (at most [`Embedder::max_tokens`]).
    pub tokens: usize,
    /// Tokens cut from the end because the text was longer than the model reads.
    pub cut_tokens: usize,
}

/// Turns text into vectors for similarity search. Stores keep [`Embedder::model_id`] with
/// each vector, so vectors of different models are never compared.
pub trait Embedder: Send + Sync {
    /// Names the model and its settings: vectors with another id live in another space.
    fn model_id(&self) -> &str;
    /// Length of every vector.
    fn dimensions(&self) -> usize;
    /// The longest input the model reads, in its tokens; callers chunk longer texts.
    fn max_tokens(&self) -> usize;
    /// Roughly how many tokens `text` is, for chunking without running the model.
    fn count_tokens(&self, text: &str) -> Result<usize, PortError>;
    /// One vector per stored text (documents, chunks, tips).
    fn embed_documents(&self, texts: &[&str]) -> Result<Vec<Embedding>, PortError>;
    /// The vector of a search query (asymmetric models embed queries differently; symmetric
    /// ones answer as for a document).
    fn embed_query(&self, text: &str) -> Result<Embedding, PortError> {
        self.embed_documents(&[text])?
            .pop()
            .ok_or_else(|| PortError::failed("the embedder returned no vector"))
    }
}

/// Cosine similarity of two L2-normalised vectors (their dot product); 0 when the lengths
/// differ.
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    if a.len() != b.len() {
        return 0.0;
    }
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Who speaks in a model message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageRole {
    /// Instructions.
    System,
    /// The agent's side.
    User,
    /// The model's earlier replies.
    Assistant,
}

/// One part of a message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum MessagePart {
    /// Plain text.
    Text {
        /// The text.
        text: String,
    },
    /// A PNG image.
    Png {
        /// Encoded PNG bytes, base64.
        base64: String,
        /// Image width.
        width: u32,
        /// Image height.
        height: u32,
    },
}

/// One message to a model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// Who speaks.
    pub role: MessageRole,
    /// What is said.
    pub parts: Vec<MessagePart>,
}

/// A request for one completion.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelRequest {
    /// The agent role asking, used to pick the endpoint.
    pub agent_role: crate::Role,
    /// The conversation.
    pub messages: Vec<Message>,
    /// A JSON schema the reply must satisfy, when structured output is wanted.
    pub json_schema: Option<serde_json::Value>,
    /// Upper bound on generated tokens.
    pub max_tokens: u32,
    /// Which items of the user's memory the prompt holds ("chunk:12"), recorded with the
    /// call; never sent to the endpoint as such.
    pub memory_used: Vec<String>,
}

/// Tokens used by one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TokenUsage {
    /// Prompt tokens (those read from the provider's prompt cache included).
    pub prompt: u32,
    /// Completion tokens.
    pub completion: u32,
    /// Prompt tokens the provider read from its prompt cache (a part of `prompt`).
    #[serde(default)]
    pub cached: u32,
}

/// A model's answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelReply {
    /// The text of the reply.
    pub text: String,
    /// Tokens used.
    pub usage: TokenUsage,
    /// The model that answered.
    pub model: String,
}

/// A language or vision-language model endpoint.
pub trait ModelBackend: Send + Sync {
    /// Sends one request and waits for the reply.
    fn complete(&self, request: &ModelRequest) -> Result<ModelReply, PortError>;
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// Still going (or killed before it could say otherwise).
    Running,
    /// Completed.
    Succeeded,
    /// Gave up or hit an error.
    Failed,
    /// The task cannot be done.
    Infeasible,
    /// Stopped by the user.
    Cancelled,
    /// Found still running at the next start: the process died.
    Interrupted,
}

impl RunStatus {
    /// Name as stored.
    pub fn as_str(&self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Succeeded => "succeeded",
            RunStatus::Failed => "failed",
            RunStatus::Infeasible => "infeasible",
            RunStatus::Cancelled => "cancelled",
            RunStatus::Interrupted => "interrupted",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<RunStatus> {
        [
            RunStatus::Running,
            RunStatus::Succeeded,
            RunStatus::Failed,
            RunStatus::Infeasible,
            RunStatus::Cancelled,
            RunStatus::Interrupted,
        ]
        .into_iter()
        .find(|s2| s2.as_str() == s)
    }
}

/// A run as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    /// Run id.
    pub id: i64,
    /// The task text.
    pub task: String,
    /// Status.
    pub status: RunStatus,
    /// Start, ms since the Unix epoch.
    pub started_ms: i64,
    /// End, when finished.
    pub finished_ms: Option<i64>,
    /// Summary or error.
    pub summary: String,
}

/// What an action did to the screen, observed after it settled.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ActionEffect {
    /// Box around every pixel that changed (desktop coordinates); none when nothing did.
    pub changed: Option<Rect>,
    /// Time from the last injected event until the screen stopped changing.
    pub settle_ms: u64,
    /// False when the screen was still changing at the settle bound.
    pub stable: bool,
    /// For typed text: whether the focused field's accessible text now contains it (none when
    /// the field does not expose its text).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text_verified: Option<bool>,
    /// True when the active window or the focused element changed (false when that could not
    /// be observed: no accessibility, or records from before this was kept).
    #[serde(default)]
    pub focus_moved: bool,
    /// Whether the window the action was aimed at (the target's window, or the active one for
    /// keys and text) is still the active window; none when unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_in_front: Option<bool>,
}

/// One executed (or refused) step as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepRecord {
    /// Step index within the run, from 0.
    pub index: u32,
    /// What was asked (command text or the model's choice).
    pub request: String,
    /// The validated action, when there was one.
    pub action: Option<crate::action::Action>,
    /// The desktop point the action was aimed at, when it had a target.
    pub point: Option<crate::geometry::Point>,
    /// A description of the target ("push button \"7\" (a12)").
    pub target: Option<String>,
    /// True when the action ran without error.
    pub ok: bool,
    /// The error, when it did not.
    pub error: Option<String>,
    /// Screenshot taken after the step, when saved.
    pub screenshot: Option<String>,
    /// What the action did, when it ran.
    #[serde(default)]
    pub effect: Option<ActionEffect>,
    /// What the policy said about the action, when one was checked.
    #[serde(default)]
    pub policy: Option<GateDecision>,
    /// Time spent perceiving.
    pub perceive_ms: u64,
    /// Time spent acting.
    pub act_ms: u64,
    /// Start, ms since the Unix epoch.
    pub started_ms: i64,
    /// For steps of an agent run: subgoal, reasoning, outcome, time per module.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<AgentStepInfo>,
}

/// How the Action Reflector judged a step (Mobile-Agent-E's A/B/C).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Outcome {
    /// Successful or partially successful: the result is as expected.
    A,
    /// Failed: the action led to a wrong screen.
    B,
    /// Failed: the action changed nothing.
    C,
}

impl Outcome {
    /// The letter.
    pub fn as_str(&self) -> &'static str {
        match self {
            Outcome::A => "A",
            Outcome::B => "B",
            Outcome::C => "C",
        }
    }
}

/// Time spent per module in one agent step, in ms.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModuleTimes {
    /// Perception (overlapped with retrieval).
    pub perceive: u64,
    /// Retrieving tips and shortcuts.
    pub retrieve: u64,
    /// The Manager's call(s).
    pub manager: u64,
    /// The Operator's call(s).
    pub operator: u64,
    /// Executing and settling.
    pub act: u64,
    /// The Action Reflector and Notetaker (run together).
    pub reflect: u64,
    /// The whole step.
    pub total: u64,
}

/// What an agent step adds to its record.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AgentStepInfo {
    /// The Manager's current subgoal.
    pub subgoal: String,
    /// The Operator's thought.
    pub thought: String,
    /// The shortcut called, when the step ran one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shortcut: Option<String>,
    /// The Action Reflector's verdict, when it ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Outcome>,
    /// The Reflector's error description for B/C.
    #[serde(default)]
    pub error_description: String,
    /// The Reflector's progress status.
    #[serde(default)]
    pub progress: String,
    /// Model calls made in this step.
    pub calls: u32,
    /// Tokens used in this step.
    pub usage: TokenUsage,
    /// Time per module.
    pub times: ModuleTimes,
    /// The Set-of-Marks image the Operator saw, when saved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub marks_screenshot: Option<String>,
}

/// Where runs, steps and (later) tips, shortcuts and user memory are kept.
pub trait MemoryStore: Send {
    /// Opens a run and returns its id.
    fn start_run(&mut self, task: &str, started_ms: i64) -> Result<i64, PortError>;
    /// Appends a step; durable once this returns.
    fn record_step(&mut self, run: i64, step: &StepRecord) -> Result<(), PortError>;
    /// Closes a run.
    fn finish_run(
        &mut self,
        run: i64,
        status: RunStatus,
        summary: &str,
        finished_ms: i64,
    ) -> Result<(), PortError>;
    /// The most recent runs, newest first.
    fn recent_runs(&self, limit: usize) -> Result<Vec<RunRecord>, PortError>;
    /// The steps of a run, in order.
    fn steps(&self, run: i64) -> Result<Vec<StepRecord>, PortError>;
    /// Records a node of a Steward run's graph as it is now (replacing what was recorded of
    /// the same revision and node); durable once this returns.
    fn record_node(&mut self, run: i64, node: &crate::graph::NodeRecord) -> Result<(), PortError>;
    /// The nodes of a run's graphs, by revision and then in the order they were planned.
    fn nodes(&self, run: i64) -> Result<Vec<crate::graph::NodeRecord>, PortError>;
}

/// Wall-clock time, injectable for tests.
pub trait Clock: Send + Sync {
    /// Milliseconds since the Unix epoch.
    fn now_ms(&self) -> i64;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0)
    }
}

/// What the policy says about an action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Go ahead.
    Allow,
    /// Ask the user first; no answer in time means no.
    Confirm,
    /// Never.
    Deny,
}

/// What an action is about to touch, for the policy.
#[derive(Debug, Clone, Copy)]
pub struct GateContext<'a> {
    /// The validated action.
    pub action: &'a crate::action::Action,
    /// The application of the target (or the focused one).
    pub app: Option<&'a str>,
    /// The title of the window it happens in.
    pub window_title: Option<&'a str>,
    /// The target's label.
    pub target_label: Option<&'a str>,
    /// The target's role.
    pub target_role: Option<&'a str>,
}

impl<'a> GateContext<'a> {
    /// A context that knows nothing but the action.
    pub fn new(action: &'a crate::action::Action) -> Self {
        GateContext {
            action,
            app: None,
            window_title: None,
            target_label: None,
            target_role: None,
        }
    }
}

/// The policy's answer, with the rule that gave it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GateDecision {
    /// Allow, confirm or deny.
    pub verdict: Verdict,
    /// The rule that decided ("builtin:..." for defaults).
    pub rule: String,
    /// Why, for the user.
    pub reason: String,
    /// The action shown verbatim with invisible characters escaped.
    pub shown: String,
}

/// Decides whether an action may run. Checked before every action.
pub trait ActionGate: Send + Sync {
    /// The decision for one action.
    fn check(&self, ctx: &GateContext<'_>) -> GateDecision;
}

/// Asks the user to confirm an action; implementations time out to `false`.
pub trait Confirmer: Send + Sync {
    /// True only when the user said yes in time. Calls `announce` (which tells the front
    /// ends) once it is ready to take the answer.
    fn confirm(&self, decision: &GateDecision, announce: &mut dyn FnMut()) -> bool;
}

/// Starts applications and brings windows to the front.
pub trait Apps: Send + Sync {
    /// Starts an application by desktop-entry name or command; returns its pid.
    fn open(&self, name: &str) -> Result<u32, PortError>;
    /// Focuses the window whose title or application matches; returns its title.
    fn focus(&self, query: &str) -> Result<String, PortError>;
    /// Whether an application can be worked in: a window of it is open, or it can be
    /// started; the error says why not.
    fn available(&self, name: &str) -> Result<(), PortError>;
}

/// Notices input the agent did not produce (the user taking over).
pub trait UserPresence: Send + Sync {
    /// What the user did, once foreign input was seen; stays set until `resume`.
    fn takeover(&self) -> Option<String>;
    /// Clears the takeover so the agent may act again.
    fn resume(&self);
}

/// Asks the user whether to go on after they took over.
pub trait Resumer: Send + Sync {
    /// Blocks until the user says to resume (true) or to stop (false).
    fn wait_for_resume(&self, reason: &str) -> bool;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn effects_stored_before_focus_was_tracked_still_load() {
        let old = r#"{"changed":null,"settle_ms":80,"stable":true}"#;
        let e: ActionEffect = serde_json::from_str(old).unwrap();
        assert_eq!(
            e,
            ActionEffect {
                settle_ms: 80,
                stable: true,
                ..ActionEffect::default()
            }
        );
        let new = ActionEffect {
            focus_moved: true,
            target_in_front: Some(false),
            ..e
        };
        let back: ActionEffect =
            serde_json::from_str(&serde_json::to_string(&new).unwrap()).unwrap();
        assert_eq!(back, new);
    }
}
