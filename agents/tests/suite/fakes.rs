//! Fakes of the ports, each behaving by rules so that what the agents do has consequences.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use deskhand_agents::{AgentConfig, AgentOutcome, AgentRunner, Artifacts, Ports};
use deskhand_core::experience::{PersonalMemory, Recollection};
use deskhand_core::graph::{Guideline, NodeRecord};
use deskhand_core::ports::{
    Clock, Input, MemoryStore, ModelBackend, ModelReply, ModelRequest, RunRecord, RunStatus,
    Screen, StepRecord, TokenUsage,
};
use deskhand_core::{
    Event, Experience, Frame, InputEvent, Key, LayoutNode, LayoutTree, MarkedImage,
    ModelCallRecord, Monitor, MouseButton, NodeSource, NodeState, Observation, ObserveOptions,
    Perceptor, PortError, Rect, Role, Shortcut, Tip,
};

pub const SCREEN: Rect = Rect {
    x: 0,
    y: 0,
    width: 640,
    height: 400,
};
const SAVE: Rect = Rect {
    x: 10,
    y: 10,
    width: 60,
    height: 24,
};
const CLEAR: Rect = Rect {
    x: 80,
    y: 10,
    width: 60,
    height: 24,
};
const HELP: Rect = Rect {
    x: 150,
    y: 10,
    width: 60,
    height: 24,
};
const FIELD: Rect = Rect {
    x: 10,
    y: 50,
    width: 600,
    height: 300,
};

/// A note-taking window. Clicking the note focuses it and typing then goes into it; Save
/// (or ctrl+s) saves the text and marks the title; Clear empties the note and takes the focus;
/// Help does nothing at all.
#[derive(Debug, Default, Clone)]
pub struct World {
    pub pointer: (i32, i32),
    pub ctrl: bool,
    pub focused: bool,
    pub text: String,
    pub saved: Option<String>,
    /// The buttons clicked, in order.
    pub clicks: Vec<String>,
    /// Every event the agents sent.
    pub events: Vec<InputEvent>,
}

impl World {
    fn title(&self) -> String {
        match &self.saved {
            Some(_) => "note.txt (saved) - Notes".into(),
            None => "note.txt - Notes".into(),
        }
    }

    fn click(&mut self) {
        let (x, y) = self.pointer;
        let at = |r: Rect| r.contains(deskhand_core::Point::new(f64::from(x), f64::from(y)));
        if at(SAVE) {
            self.clicks.push("Save".into());
            self.saved = Some(self.text.clone());
        } else if at(CLEAR) {
            self.clicks.push("Clear".into());
            self.text.clear();
            self.focused = false;
        } else if at(HELP) {
            self.clicks.push("Help".into());
        } else if at(FIELD) {
            self.clicks.push("note".into());
            self.focused = true;
        }
    }

    /// What the screen shows, as a number: equal states draw equal frames.
    fn look(&self) -> (u8, u8) {
        let mut h: u32 = 17;
        for b in self.text.bytes() {
            h = h.wrapping_mul(31).wrapping_add(u32::from(b));
        }
        h = h.wrapping_mul(31).wrapping_add(u32::from(self.focused));
        ((h % 251) as u8, if self.saved.is_some() { 200 } else { 40 })
    }

    fn frame(&self) -> Frame {
        let (field, bar) = self.look();
        let (w, h) = (SCREEN.width, SCREEN.height);
        let mut rgba = vec![255u8; (w * h * 4) as usize];
        for y in 0..h {
            for x in 0..w {
                let i = ((y * w + x) * 4) as usize;
                let p = deskhand_core::Point::new(f64::from(x), f64::from(y));
                let v = if FIELD.contains(p) {
                    field
                } else if y < 40 {
                    bar
                } else {
                    255
                };
                rgba[i..i + 3].copy_from_slice(&[v, v, v]);
            }
        }
        Frame {
            monitor: monitor(),
            width: w,
            height: h,
            rgba,
        }
    }

    fn tree(&self) -> LayoutTree {
        let node = |id: &str, role: &str, name: &str, r: Rect| {
            let mut n = LayoutNode::new(id, role, NodeSource::Accessibility);
            n.name = name.into();
            n.bounds = Some(r);
            n.states = vec![NodeState::Showing, NodeState::Visible, NodeState::Enabled];
            n
        };
        let mut window = node("w1", "frame", &self.title(), SCREEN);
        window.states.push(NodeState::Active);
        window.description = Some("notes".into());
        let mut field = node("a4", "text", "", FIELD);
        field.states.push(NodeState::Editable);
        if self.focused {
            field.states.push(NodeState::Focused);
        }
        field.text = Some(self.text.clone());
        window.children = vec![
            node("a1", "push button", "Save", SAVE),
            node("a2", "push button", "Clear", CLEAR),
            node("a3", "push button", "Help", HELP),
            field,
        ];
        let mut root = LayoutNode::new("screen", "screen", NodeSource::Display);
        root.bounds = Some(SCREEN);
        root.children.push(window);
        LayoutTree { root }
    }
}

pub fn monitor() -> Monitor {
    Monitor {
        index: 0,
        name: "fake".into(),
        bounds: SCREEN,
        scale: 1.0,
        primary: true,
    }
}

/// The compact text perception would give: one line per element.
fn compact(tree: &LayoutTree) -> String {
    tree.walk()
        .into_iter()
        .skip(1)
        .map(|(depth, n)| {
            let b = n.bounds.unwrap_or(Rect::new(0, 0, 0, 0));
            let mut line = format!(
                "{}{} {} {:?}",
                "  ".repeat(depth.saturating_sub(1)),
                n.id,
                n.role,
                n.name
            );
            if let Some(t) = &n.text {
                line.push_str(&format!(" ={t:?}"));
            }
            line.push_str(&format!(" [{},{},{},{}]", b.x, b.y, b.width, b.height));
            let mut states = String::new();
            for (s, c) in [
                (NodeState::Focused, 'F'),
                (NodeState::Editable, 'E'),
                (NodeState::Active, 'A'),
            ] {
                if n.has(s) {
                    states.push(c);
                }
            }
            if !states.is_empty() {
                line.push(' ');
                line.push_str(&states);
            }
            line
        })
        .collect::<Vec<_>>()
        .join("\n")
}

pub type Shared = Arc<Mutex<World>>;

/// Input that changes the world.
pub struct WorldInput(pub Shared);

impl Input for WorldInput {
    fn send(&mut self, events: &[InputEvent]) -> Result<(), PortError> {
        let mut w = self.0.lock().unwrap();
        for e in events {
            w.events.push(e.clone());
            match e {
                InputEvent::MoveTo { x, y } => w.pointer = (*x, *y),
                InputEvent::Button {
                    button: MouseButton::Left,
                    press: deskhand_core::input::Press::Click | deskhand_core::input::Press::Up,
                } => w.click(),
                InputEvent::Key {
                    key: Key::Ctrl,
                    press,
                } => w.ctrl = *press == deskhand_core::input::Press::Down,
                InputEvent::Key {
                    key: Key::Char('s'),
                    ..
                } if w.ctrl => w.saved = Some(w.text.clone()),
                InputEvent::Text { text } if w.focused => w.text.push_str(text),
                _ => {}
            }
        }
        Ok(())
    }
}

/// The screen of the world.
pub struct WorldScreen(pub Shared);

impl Screen for WorldScreen {
    fn monitors(&self) -> Result<Vec<Monitor>, PortError> {
        Ok(vec![monitor()])
    }

    fn capture_all(&self) -> Result<Vec<Frame>, PortError> {
        Ok(vec![self.0.lock().unwrap().frame()])
    }
}

/// Perception of the world: its tree, compact text and frame; unchanged when it looks the
/// same as at the last look.
pub struct WorldEyes {
    pub world: Shared,
    last: Option<(u8, u8)>,
}

impl WorldEyes {
    pub fn new(world: Shared) -> Self {
        WorldEyes { world, last: None }
    }
}

impl Perceptor for WorldEyes {
    fn observe(&mut self, _options: &ObserveOptions) -> Result<Observation, PortError> {
        let w = self.world.lock().unwrap();
        let tree = w.tree();
        let look = w.look();
        let unchanged = self.last == Some(look);
        self.last = Some(look);
        Ok(Observation {
            compact: compact(&tree),
            frames: vec![w.frame()],
            marks: None,
            app: Some("notes".into()),
            window_title: Some(w.title()),
            unchanged,
            notes: Vec::new(),
            ms: 0,
            tree,
        })
    }
}

/// A role's answer, computed from the text of the prompt and the role's turn.
pub type Answerer = Box<dyn Fn(&str, usize) -> String + Send + Sync>;

/// A model that answers each role by its rules and keeps every request.
#[derive(Default)]
pub struct ScriptedModel {
    answers: Mutex<BTreeMap<Role, Arc<Answerer>>>,
    pub requests: Mutex<Vec<ModelRequest>>,
}

impl ScriptedModel {
    pub fn answer(&self, role: Role, f: impl Fn(&str, usize) -> String + Send + Sync + 'static) {
        self.answers
            .lock()
            .unwrap()
            .insert(role, Arc::new(Box::new(f)));
    }

    /// The prompts sent to a role, in order (text parts joined).
    pub fn prompts(&self, role: Role) -> Vec<String> {
        self.requests
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.agent_role == role)
            .map(prompt_text)
            .collect()
    }

    pub fn count(&self, role: Role) -> usize {
        self.prompts(role).len()
    }
}

/// Every text part of a request, in order.
pub fn prompt_text(r: &ModelRequest) -> String {
    r.messages
        .iter()
        .flat_map(|m| m.parts.iter())
        .filter_map(|p| match p {
            deskhand_core::ports::MessagePart::Text { text } => Some(text.as_str()),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

impl ModelBackend for ScriptedModel {
    fn complete(&self, request: &ModelRequest) -> Result<ModelReply, PortError> {
        let turn = self.count(request.agent_role);
        self.requests.lock().unwrap().push(request.clone());
        let answer = self
            .answers
            .lock()
            .unwrap()
            .get(&request.agent_role)
            .cloned()
            .ok_or_else(|| PortError::failed(format!("no answers for {}", request.agent_role)))?;
        let text = answer(&prompt_text(request), turn);
        Ok(ModelReply {
            usage: TokenUsage {
                prompt: (prompt_text(request).len() / 4) as u32,
                completion: (text.len() / 4) as u32,
                cached: 0,
            },
            text,
            model: request.agent_role.to_string(),
        })
    }
}

/// Runs, steps, calls, tips and shortcuts in memory.
#[derive(Default)]
pub struct Memory {
    pub runs: Vec<RunRecord>,
    pub steps: Vec<(i64, StepRecord)>,
    pub calls: Vec<(i64, ModelCallRecord)>,
    pub tips: Vec<Tip>,
    pub shortcuts: Vec<Shortcut>,
    pub shortcut_runs: Vec<(i64, bool)>,
    /// The user's own memory: items recalled when they share a word of four letters or more
    /// with the query.
    pub personal: Vec<Recollection>,
    /// The Steward's graphs as recorded: the latest record of each revision and node.
    pub nodes: Vec<(i64, NodeRecord)>,
    /// The Steward's guidelines.
    pub guidelines: Vec<Guideline>,
}

impl PersonalMemory for Memory {
    fn recall(&mut self, query: &str, limit: usize) -> Result<Vec<Recollection>, PortError> {
        let words: Vec<String> = query
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| w.len() >= 4)
            .map(str::to_lowercase)
            .collect();
        Ok(self
            .personal
            .iter()
            .filter(|k| {
                let text = k.text.to_lowercase();
                words.iter().any(|w| text.contains(w.as_str()))
            })
            .take(limit)
            .cloned()
            .collect())
    }
}

impl Memory {
    pub fn calls_of(&self, run: i64) -> Vec<ModelCallRecord> {
        self.calls
            .iter()
            .filter(|(r, _)| *r == run)
            .map(|(_, c)| c.clone())
            .collect()
    }

    pub fn steps_of(&self, run: i64) -> Vec<StepRecord> {
        self.steps
            .iter()
            .filter(|(r, _)| *r == run)
            .map(|(_, s)| s.clone())
            .collect()
    }
}

impl MemoryStore for Memory {
    fn start_run(&mut self, task: &str, started_ms: i64) -> Result<i64, PortError> {
        let id = self.runs.len() as i64 + 1;
        self.runs.push(RunRecord {
            id,
            task: task.into(),
            status: RunStatus::Running,
            started_ms,
            finished_ms: None,
            summary: String::new(),
        });
        Ok(id)
    }

    fn record_step(&mut self, run: i64, step: &StepRecord) -> Result<(), PortError> {
        self.steps.push((run, step.clone()));
        Ok(())
    }

    fn finish_run(
        &mut self,
        run: i64,
        status: RunStatus,
        summary: &str,
        finished_ms: i64,
    ) -> Result<(), PortError> {
        let r = &mut self.runs[(run - 1) as usize];
        r.status = status;
        r.summary = summary.into();
        r.finished_ms = Some(finished_ms);
        Ok(())
    }

    fn recent_runs(&self, limit: usize) -> Result<Vec<RunRecord>, PortError> {
        Ok(self.runs.iter().rev().take(limit).cloned().collect())
    }

    fn steps(&self, run: i64) -> Result<Vec<StepRecord>, PortError> {
        Ok(self.steps_of(run))
    }

    fn record_node(&mut self, run: i64, node: &NodeRecord) -> Result<(), PortError> {
        let same = |(r, n): &(i64, NodeRecord)| {
            *r == run && n.revision == node.revision && n.node.id == node.node.id
        };
        match self.nodes.iter_mut().find(|e| same(e)) {
            Some(e) => e.1 = node.clone(),
            None => self.nodes.push((run, node.clone())),
        }
        Ok(())
    }

    fn nodes(&self, run: i64) -> Result<Vec<NodeRecord>, PortError> {
        Ok(self
            .nodes
            .iter()
            .filter(|(r, _)| *r == run)
            .map(|(_, n)| n.clone())
            .collect())
    }
}

impl Experience for Memory {
    fn relevant_tips(&self, app: &str, _query: &str, limit: usize) -> Result<Vec<Tip>, PortError> {
        Ok(self
            .tips
            .iter()
            .filter(|t| app.is_empty() || t.app.is_empty() || t.app == app)
            .take(limit)
            .cloned()
            .collect())
    }

    fn relevant_shortcuts(
        &self,
        app: &str,
        _query: &str,
        limit: usize,
    ) -> Result<Vec<Shortcut>, PortError> {
        Ok(self
            .shortcuts
            .iter()
            .filter(|s| app.is_empty() || s.app.is_empty() || s.app == app)
            .take(limit)
            .cloned()
            .collect())
    }

    fn add_tip(&mut self, tip: &Tip) -> Result<i64, PortError> {
        let mut t = tip.clone();
        t.id = self.tips.len() as i64 + 1;
        self.tips.push(t);
        Ok(self.tips.len() as i64)
    }

    fn save_shortcut(&mut self, shortcut: &Shortcut) -> Result<i64, PortError> {
        let mut s = shortcut.clone();
        s.id = self.shortcuts.len() as i64 + 1;
        self.shortcuts.push(s);
        Ok(self.shortcuts.len() as i64)
    }

    fn shortcut_used(&mut self, id: i64, succeeded: bool) -> Result<(), PortError> {
        self.shortcut_runs.push((id, succeeded));
        Ok(())
    }

    fn tips_used(&mut self, _ids: &[i64]) -> Result<(), PortError> {
        Ok(())
    }

    /// Guidelines sharing a word of four letters or more with the task.
    fn relevant_guidelines(&self, task: &str, limit: usize) -> Result<Vec<Guideline>, PortError> {
        let task = task.to_lowercase();
        Ok(self
            .guidelines
            .iter()
            .filter(|g| {
                g.task
                    .to_lowercase()
                    .split(|c: char| !c.is_alphanumeric())
                    .any(|w| w.len() >= 4 && task.contains(w))
            })
            .take(limit)
            .cloned()
            .collect())
    }

    /// One per task: a later one replaces the steps and keeps the count of uses.
    fn add_guideline(&mut self, g: &Guideline) -> Result<i64, PortError> {
        if let Some(old) = self.guidelines.iter_mut().find(|o| o.task == g.task) {
            old.steps = g.steps.clone();
            return Ok(old.id);
        }
        let mut g = g.clone();
        g.id = self.guidelines.len() as i64 + 1;
        self.guidelines.push(g);
        Ok(self.guidelines.len() as i64)
    }

    fn guidelines_used(&mut self, ids: &[i64]) -> Result<(), PortError> {
        for g in self.guidelines.iter_mut().filter(|g| ids.contains(&g.id)) {
            g.uses += 1;
        }
        Ok(())
    }

    fn record_call(&mut self, run: i64, call: &ModelCallRecord) -> Result<(), PortError> {
        self.calls.push((run, call.clone()));
        Ok(())
    }

    fn calls(&self, run: i64) -> Result<Vec<ModelCallRecord>, PortError> {
        Ok(self.calls_of(run))
    }
}

/// No screenshots are kept in these tests.
pub struct NoFiles;

impl Artifacts for NoFiles {
    fn save_screenshot(&self, _: i64, _: u32, _: &[Frame]) -> Result<String, PortError> {
        Err(PortError::unavailable("no screenshots in the loop tests"))
    }

    fn save_marks(&self, _: i64, _: u32, _: &MarkedImage) -> Result<String, PortError> {
        Err(PortError::unavailable("no screenshots in the loop tests"))
    }
}

/// A clock that moves one second per reading.
#[derive(Default)]
pub struct Ticks(AtomicI64);

impl Clock for Ticks {
    fn now_ms(&self) -> i64 {
        self.0.fetch_add(1_000, Ordering::SeqCst)
    }
}

/// The desk's applications: only the note window ("notes") is there.
pub struct NotesApp;

impl deskhand_core::ports::Apps for NotesApp {
    fn open(&self, name: &str) -> Result<u32, PortError> {
        Err(PortError::not_found(format!(
            "no application named {name:?}"
        )))
    }

    fn focus(&self, query: &str) -> Result<String, PortError> {
        self.available(query).map(|()| "note.txt - Notes".into())
    }

    fn available(&self, name: &str) -> Result<(), PortError> {
        if name.eq_ignore_ascii_case("notes") {
            Ok(())
        } else {
            Err(PortError::not_found("no window of it is open"))
        }
    }
}

/// One desk: the world, the model and the memory, kept across runs.
pub struct Desk {
    pub world: Shared,
    pub model: Arc<ScriptedModel>,
    pub memory: Memory,
    pub config: AgentConfig,
    pub cancel: Arc<AtomicBool>,
}

impl Desk {
    pub fn new() -> Desk {
        let mut config = AgentConfig {
            learn: false,
            images: false,
            ..AgentConfig::default()
        };
        config.settle.min = Duration::from_millis(1);
        config.settle.max = Duration::from_millis(300);
        config.settle.opener_quiet = Duration::from_millis(5);
        Desk {
            world: Arc::new(Mutex::new(World::default())),
            model: Arc::new(ScriptedModel::default()),
            memory: Memory::default(),
            config,
            cancel: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Runs an instruction; returns the outcome and every event.
    pub fn run(&mut self, instruction: &str) -> (AgentOutcome, Vec<Event>) {
        let runner = AgentRunner {
            config: self.config.clone(),
            cancel: self.cancel.clone(),
        };
        let mut eyes = WorldEyes::new(self.world.clone());
        let screen = WorldScreen(self.world.clone());
        let mut input = WorldInput(self.world.clone());
        let clock = Ticks::default();
        let ports = Ports {
            perceptor: Some(&mut eyes),
            model: Some(self.model.clone()),
            memory: &mut self.memory,
            screen: &screen,
            accessibility: None,
            input: &mut input,
            artifacts: &NoFiles,
            clock: &clock,
            gate: None,
            confirmer: None,
            apps: Some(&NotesApp),
            presence: None,
            resumer: None,
        };
        let mut events = Vec::new();
        let outcome = runner
            .run(ports, instruction, &mut |e| events.push(e))
            .unwrap();
        (outcome, events)
    }

    pub fn world(&self) -> World {
        self.world.lock().unwrap().clone()
    }
}
