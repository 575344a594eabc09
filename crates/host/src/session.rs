//! A Deskhand instance: the adapters behind the ports, wired for one display.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use deskhand_actuation::apps::DesktopApps;
use deskhand_actuation::clipboard::Clipboard;
use deskhand_actuation::policy::Policy;
use deskhand_actuation::safety::{KillSwitch, TakeoverWatch};
use deskhand_actuation::secrets::SecretStore;
use deskhand_actuation::EnigoInput;
use deskhand_agents::runner::RunError;
use deskhand_agents::{Artifacts, DirectRunner, Ports, RunOutcome, StepRequest};
use deskhand_core::ports::{
    Accessibility, Confirmer, MemoryStore, Resumer, RunRecord, Screen, StepRecord, SystemClock,
    TreeQuery, TreeScope, UserPresence,
};
use deskhand_core::{Event, Frame, KeyChord, LayoutTree, MarkedImage, Monitor, Op, PortError};
use deskhand_memory::SqliteMemory;
use deskhand_models::ModelError;
use deskhand_perception::capture::{encode_png, encode_png_fast, main_frame};
use deskhand_perception::{AtspiReader, XcapScreen};

use crate::config::Config;
use crate::confirm::{OpConfirmer, OpResumer};

mod agent;

pub use agent::{agent_config, model_router};

/// Why the host could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum HostError {
    /// A port failed (display, accessibility, input).
    #[error(transparent)]
    Port(#[from] PortError),
    /// The database could not be opened.
    #[error(transparent)]
    Memory(#[from] deskhand_memory::MemoryError),
    /// The run could not be recorded.
    #[error(transparent)]
    Run(#[from] RunError),
    /// Writing a file failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The error.
        source: std::io::Error,
    },
    /// A desktop session could not be started.
    #[error(transparent)]
    Session(#[from] deskhand_xsession::SessionError),
    /// No model endpoint is configured, so an agent run cannot start; nothing was sent
    /// anywhere. The message says where and how to configure one.
    #[error("{0}")]
    ModelsNotConfigured(String),
    /// The model configuration is invalid (the message names the setting).
    #[error(transparent)]
    Models(ModelError),
    /// Something else that stops the request, with what to do about it.
    #[error("{0}")]
    Other(String),
}

/// What one raw capture saw, before any fusion: the frames of every monitor and the
/// accessibility tree (`deskhand perceive`; the fused tree comes from [`Deskhand::look`]).
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// Monitors.
    pub monitors: Vec<Monitor>,
    /// Frames of every monitor.
    pub frames: Vec<Frame>,
    /// The accessibility tree of every app, when the bus is available.
    pub tree: Option<LayoutTree>,
    /// Why there is no tree, when there is none.
    pub tree_error: Option<String>,
    /// Capture time.
    pub capture_ms: u64,
    /// Tree read time.
    pub tree_ms: u64,
}

/// Saves step screenshots as PNG files under the data directory.
struct PngArtifacts {
    dir: PathBuf,
}

impl Artifacts for PngArtifacts {
    fn save_screenshot(&self, run: i64, step: u32, frames: &[Frame]) -> Result<String, PortError> {
        let frame = main_frame(frames).ok_or_else(|| PortError::invalid("no frame to save"))?;
        let dir = self.dir.join(format!("run-{run}"));
        std::fs::create_dir_all(&dir)
            .map_err(|e| PortError::failed(format!("create {}: {e}", dir.display())))?;
        let path = dir.join(format!("step-{step}.png"));
        std::fs::write(&path, encode_png_fast(frame)?)
            .map_err(|e| PortError::failed(format!("write {}: {e}", path.display())))?;
        Ok(path.display().to_string())
    }

    fn save_marks(&self, run: i64, step: u32, image: &MarkedImage) -> Result<String, PortError> {
        let png = base64::engine::general_purpose::STANDARD
            .decode(&image.png_base64)
            .map_err(|e| PortError::invalid(format!("Set-of-Marks image is not base64: {e}")))?;
        let dir = self.dir.join(format!("run-{run}"));
        std::fs::create_dir_all(&dir)
            .map_err(|e| PortError::failed(format!("create {}: {e}", dir.display())))?;
        let path = dir.join(format!("marks-{step}.png"));
        std::fs::write(&path, png)
            .map_err(|e| PortError::failed(format!("write {}: {e}", path.display())))?;
        Ok(path.display().to_string())
    }
}

/// The borrowed adapters of one run, shared by command runs and agent runs.
struct RunKit<'a> {
    input: &'a mut EnigoInput,
    memory: &'a mut SqliteMemory,
    apps: &'a DesktopApps,
    watch: Option<&'a TakeoverWatch>,
    artifacts: &'a PngArtifacts,
}

/// One Deskhand: screen, accessibility, input and memory for the current display.
pub struct Deskhand {
    config: Config,
    screen: XcapScreen,
    accessibility: Option<AtspiReader>,
    accessibility_error: Option<String>,
    input: Mutex<Option<EnigoInput>>,
    pub(crate) memory: Mutex<SqliteMemory>,
    cancel: Arc<AtomicBool>,
    policy: Policy,
    confirmer: Arc<dyn Confirmer>,
    op_confirmer: Arc<OpConfirmer>,
    resumer: Arc<dyn Resumer>,
    op_resumer: Arc<OpResumer>,
    watch: Mutex<Option<Arc<TakeoverWatch>>>,
    eyes: crate::look::Eyes,
}

impl std::fmt::Debug for Deskhand {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Deskhand")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Deskhand {
    /// Opens the database and connects to the display's accessibility bus. A missing bus is
    /// not fatal: the instance works without element names and says why.
    pub fn open(config: Config) -> Result<Deskhand, HostError> {
        if config.display.is_none() {
            return Err(HostError::Other(
                "no X display: DISPLAY is not set. Run inside a desktop session, or use \
                 `./x demo`, which starts a virtual one"
                    .into(),
            ));
        }
        // A policy file that does not load stops everything: never "allow all" instead.
        let policy = match &config.policy_file {
            Some(path) => Policy::load(path).map_err(|e| HostError::Other(e.to_string()))?,
            None => Policy::builtin(),
        };
        let memory = SqliteMemory::open(&config.database())?;
        let (accessibility, accessibility_error) = match AtspiReader::connect() {
            Ok(r) => (Some(r), None),
            Err(e) => (None, Some(e.message)),
        };
        let op_confirmer = Arc::new(OpConfirmer::new(Duration::from_millis(
            config.confirm_timeout_ms,
        )));
        let cancel = Arc::new(AtomicBool::new(false));
        let op_resumer = Arc::new(OpResumer::new(cancel.clone()));
        Ok(Deskhand {
            confirmer: op_confirmer.clone(),
            op_confirmer,
            resumer: op_resumer.clone(),
            op_resumer,
            watch: Mutex::new(None),
            eyes: crate::look::Eyes::new(&config),
            config,
            screen: XcapScreen::new(),
            accessibility,
            accessibility_error,
            input: Mutex::new(None),
            memory: Mutex::new(memory),
            cancel,
            policy,
        })
    }

    /// Sets who answers confirmation requests (e.g. the CLI's terminal). By default they are
    /// answered with `Op::Confirm`, and refused when no answer comes in time.
    pub fn set_confirmer(&mut self, confirmer: Arc<dyn Confirmer>) {
        self.confirmer = confirmer;
    }

    /// Sets who decides to go on after the user took over (e.g. the CLI's terminal). By
    /// default `Op::Resume` does.
    pub fn set_resumer(&mut self, resumer: Arc<dyn Resumer>) {
        self.resumer = resumer;
    }

    /// The flag that stops a run before its next step (for the kill switch).
    pub fn cancel_flag(&self) -> Arc<AtomicBool> {
        self.cancel.clone()
    }

    /// The fused perceiver and its OCR engine.
    pub(crate) fn eyes(&self) -> &crate::look::Eyes {
        &self.eyes
    }

    /// The screen port.
    pub(crate) fn screen_port(&self) -> &dyn Screen {
        &self.screen
    }

    /// The accessibility port, when the bus is available.
    pub(crate) fn accessibility_port(&self) -> Option<&dyn Accessibility> {
        self.accessibility.as_ref().map(|a| a as &dyn Accessibility)
    }

    /// Why there is no accessibility, when there is none.
    pub(crate) fn accessibility_problem(&self) -> Option<&str> {
        self.accessibility_error.as_deref()
    }

    /// The configuration in use.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Captures every monitor and reads the accessibility tree of every app.
    pub fn snapshot(&self) -> Result<Snapshot, HostError> {
        let t = Instant::now();
        let monitors = self.screen.monitors()?;
        let frames = self.screen.capture_all()?;
        let capture_ms = t.elapsed().as_millis() as u64;
        let t = Instant::now();
        let (tree, tree_error) = match &self.accessibility {
            Some(a) => match a.tree(&TreeQuery::new(TreeScope::AllApps)) {
                Ok(tree) => (Some(tree), None),
                Err(e) => (None, Some(e.message)),
            },
            None => (None, self.accessibility_error.clone()),
        };
        Ok(Snapshot {
            monitors,
            frames,
            tree,
            tree_error,
            capture_ms,
            tree_ms: t.elapsed().as_millis() as u64,
        })
    }

    /// The accessibility tree for a scope.
    pub fn tree(&self, scope: TreeScope) -> Result<LayoutTree, HostError> {
        let a11y = self.accessibility.as_ref().ok_or_else(|| {
            HostError::Other(self.accessibility_error.clone().unwrap_or_default())
        })?;
        Ok(a11y.tree(&TreeQuery::new(scope))?)
    }

    /// A PNG of the main monitor, with its size.
    pub fn screenshot_png(&self) -> Result<(Vec<u8>, u32, u32), HostError> {
        let frames = self.screen.capture_all()?;
        let frame = main_frame(&frames).ok_or_else(|| HostError::Other("no monitor".into()))?;
        Ok((encode_png(frame)?, frame.width, frame.height))
    }

    /// Asks the current run to stop before its next step.
    pub fn cancel(&self) {
        self.cancel.store(true, Ordering::SeqCst);
    }

    /// Handles one operation from a front end. `Do` and `Act` run as one recorded run whose
    /// progress arrives as events; `Cancel` stops a run in progress before its next step.
    pub fn submit(
        &self,
        op: Op,
        on_event: &mut dyn FnMut(Event),
    ) -> Result<Option<RunOutcome>, HostError> {
        match op {
            Op::Do { commands } => {
                let task = commands.join("; ");
                let requests: Vec<StepRequest> =
                    commands.into_iter().map(StepRequest::Command).collect();
                self.run(&task, &requests, on_event).map(Some)
            }
            Op::Act { action } => {
                let request = StepRequest::Action(action);
                self.run(&request.describe(), &[request], on_event)
                    .map(Some)
            }
            Op::Run {
                instruction,
                max_steps,
                preset,
            } => {
                let outcome =
                    self.run_agent(&instruction, max_steps, preset.as_deref(), on_event)?;
                Ok(Some(RunOutcome {
                    run: outcome.run,
                    status: outcome.status,
                    steps: self.steps(outcome.run)?,
                    failure: None,
                    agent: Some(outcome),
                }))
            }
            Op::Cancel => {
                self.cancel();
                Ok(None)
            }
            Op::Resume => {
                self.op_resumer.resume();
                Ok(None)
            }
            Op::Confirm { allow } => {
                if !self.op_confirmer.answer(allow) {
                    on_event(Event::Notice {
                        message: "no confirmation is waiting".into(),
                    });
                }
                Ok(None)
            }
        }
    }

    /// Runs `deskhand do` commands as one recorded run.
    pub fn run_commands(
        &self,
        task: &str,
        commands: &[String],
        on_event: &mut dyn FnMut(Event),
    ) -> Result<RunOutcome, HostError> {
        let requests: Vec<StepRequest> =
            commands.iter().cloned().map(StepRequest::Command).collect();
        self.run(task, &requests, on_event)
    }

    fn run(
        &self,
        task: &str,
        requests: &[StepRequest],
        on_event: &mut dyn FnMut(Event),
    ) -> Result<RunOutcome, HostError> {
        let mut runner = DirectRunner {
            cancel: self.cancel.clone(),
            ..DirectRunner::default()
        };
        runner.settle.max = Duration::from_millis(self.config.settle_max_ms);
        self.with_run_kit(on_event, |kit, on_event| {
            // Commands are resolved against what `look` sees, with its saved ids.
            let mut eyes = self.perceptor(crate::LookOptions::default());
            let ports = Ports {
                perceptor: Some(&mut eyes),
                screen: &self.screen,
                accessibility: self.accessibility_port(),
                input: kit.input,
                memory: kit.memory,
                artifacts: kit.artifacts,
                clock: &SystemClock,
                gate: Some(&self.policy),
                confirmer: Some(self.confirmer.as_ref()),
                apps: Some(kit.apps),
                presence: kit.watch.map(|w| w as &dyn UserPresence),
                resumer: Some(self.resumer.as_ref()),
                model: None,
            };
            Ok(runner.run(ports, task, requests, on_event)?)
        })
    }

    /// Prepares what every run needs (input with its takeover watch, secrets and clipboard;
    /// the kill switch for the run's length; the database) and calls `f` with it.
    fn with_run_kit<T>(
        &self,
        on_event: &mut dyn FnMut(Event),
        f: impl FnOnce(RunKit<'_>, &mut dyn FnMut(Event)) -> Result<T, HostError>,
    ) -> Result<T, HostError> {
        self.cancel.store(false, Ordering::SeqCst);
        let mut input_slot = self
            .input
            .lock()
            .map_err(|_| HostError::Other("input lock poisoned".into()))?;
        if input_slot.is_none() {
            let mut input = EnigoInput::open(self.config.display.as_deref())?;
            input.set_cancel(self.cancel.clone());
            // The takeover watch sees input the agent did not send; without one (no XInput 2)
            // the agent still runs, and says so.
            match TakeoverWatch::start(
                self.config.display.as_deref(),
                Box::new(|t| tracing::info!(%t, "user took over")),
            ) {
                Ok(w) => {
                    let w = Arc::new(w);
                    input.set_watch(w.clone());
                    if let Ok(mut slot) = self.watch.lock() {
                        *slot = Some(w);
                    }
                }
                Err(e) => on_event(Event::Notice {
                    message: format!("takeover detection not available: {e}"),
                }),
            }
            let secrets = SecretStore::open(&self.config.secrets())
                .map_err(|e| HostError::Other(e.to_string()))?;
            input.set_secrets(secrets);
            match Clipboard::open(self.config.display.as_deref()) {
                Ok(c) => input.set_clipboard(c),
                Err(e) => on_event(Event::Notice {
                    message: format!(
                        "clipboard not available, non-ASCII text is typed as keys: {e}"
                    ),
                }),
            }
            *input_slot = Some(input);
        }
        // The kill switch lives as long as the run: its chord stops input at once.
        let _kill_switch = match KeyChord::parse(&self.config.kill_chord)
            .map_err(PortError::invalid)
            .and_then(|chord| {
                KillSwitch::start(
                    self.config.display.as_deref(),
                    &chord,
                    self.cancel.clone(),
                    Box::new(|| tracing::warn!("kill switch pressed: run cancelled")),
                )
            }) {
            Ok(k) => {
                on_event(Event::Notice {
                    message: format!("press {} to stop at once", self.config.kill_chord),
                });
                Some(k)
            }
            Err(e) => {
                on_event(Event::Notice {
                    message: format!("kill switch not available: {e}"),
                });
                None
            }
        };
        let input = input_slot
            .as_mut()
            .ok_or_else(|| HostError::Other("input unavailable".into()))?;
        let mut memory = self
            .memory
            .lock()
            .map_err(|_| HostError::Other("database lock poisoned".into()))?;
        let apps = DesktopApps {
            display: self.config.display.clone(),
        };
        let watch = self.watch.lock().ok().and_then(|w| w.clone());
        // Input before this run (e.g. the click that started it) is not a takeover of it.
        if let Some(w) = &watch {
            UserPresence::resume(w.as_ref());
        }
        let artifacts = PngArtifacts {
            dir: self.config.screenshots(),
        };
        let kit = RunKit {
            input,
            memory: &mut memory,
            apps: &apps,
            watch: watch.as_deref(),
            artifacts: &artifacts,
        };
        f(kit, on_event)
    }

    /// The most recent runs.
    pub fn recent_runs(&self, limit: usize) -> Result<Vec<RunRecord>, HostError> {
        let memory = self
            .memory
            .lock()
            .map_err(|_| HostError::Other("database lock poisoned".into()))?;
        Ok(memory.recent_runs(limit)?)
    }

    /// The steps of a run.
    pub fn steps(&self, run: i64) -> Result<Vec<StepRecord>, HostError> {
        let memory = self
            .memory
            .lock()
            .map_err(|_| HostError::Other("database lock poisoned".into()))?;
        Ok(memory.steps(run)?)
    }
}
