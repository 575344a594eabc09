//! The agent loop on a real mousepad, with the scripted model server answering at once (real
//! HTTP on loopback), run in-process through `Deskhand::run_agent`: perception, actuation,
//! settling and SQLite all real.
//!
//! `agent_step/overhead` times what the framework does per step beyond perception and model
//! time (prompt building, validation, acting and settling, screenshots, the run log), read back
//! from SQLite: step k's `times.total` minus the perception made inside it (the after-screen,
//! which step k+1 records as its `times.perceive`) minus step k's model call times. The
//! scripted Operator types a different short word each step; the Manager speaks only at the
//! start. Medians per module are printed, so the part that is waiting for the app to redraw
//! (acting and settling) is told apart from the rest.
//!
//! A one-shot measurement (printed, not timed by criterion) runs the full save-as scenario
//! twice on a fresh mousepad each time: the second run may use the shortcut the first taught.
//! It prints steps, model calls, calls per step, and prompt and completion tokens per step
//! (Mobile-Agent-E makes 4 calls per step). Token counts are the scripted server's estimates
//! (characters / 4 of the request text, plus 85 per image).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use deskhand_agents::effect::focused_tree;
use deskhand_core::ports::{MemoryStore, Screen, StepRecord, TreeQuery, TreeScope};
use deskhand_core::{Experience, ModelCallRecord};
use deskhand_host::config::{Config, Env, Overrides};
use deskhand_host::Deskhand;
use deskhand_memory::SqliteMemory;
use deskhand_perception::XcapScreen;
use deskhand_testkit::model_server::{node_id, RecordedRequest, Reply, ScriptedModelServer};
use serde_json::json;

/// A Deskhand on the current display (the one the test desktop exported) whose every role's
/// model is named after the role on the scripted server, with data in `data`, no user config.
fn deskhand(server: &ScriptedModelServer, data: &Path) -> Deskhand {
    let mut env = Env::from_process();
    env.config = None;
    env.xdg_config = Some(data.join("config"));
    env.data = Some(data.to_path_buf());
    let mut models = BTreeMap::new();
    models.insert("DESKHAND_MODEL_URL".to_string(), server.url());
    models.insert("DESKHAND_MODEL".to_string(), "default".to_string());
    for role in deskhand_agents::ROLES {
        models.insert(
            format!("DESKHAND_{}_MODEL", role.as_str().to_uppercase()),
            role.to_string(),
        );
    }
    env.models = models;
    let config = Config::resolve(
        &env,
        &Overrides {
            config_file: None,
            data_dir: Some(data.to_path_buf()),
        },
    )
    .unwrap();
    Deskhand::open(config).unwrap()
}

/// The body of a `### title` section of a prompt (the last one when it repeats).
fn section(text: &str, title: &str) -> String {
    let head = format!("### {title}\n");
    let Some(start) = text.rfind(&head) else {
        return String::new();
    };
    let body = &text[start + head.len()..];
    let end = body.find("\n\n").unwrap_or(body.len());
    body[..end].trim().to_string()
}

/// The active window's title as the prompt states it.
fn active_window(text: &str) -> String {
    let Some(i) = text.rfind("Active window: \"") else {
        return String::new();
    };
    let rest = &text[i + "Active window: \"".len()..];
    rest[..rest.find("\".").unwrap_or(rest.len())].to_string()
}

/// The last line of the prompt's recent actions.
fn last_action(text: &str) -> String {
    section(text, "Recent actions")
        .lines()
        .last()
        .unwrap_or_default()
        .to_lowercase()
}

fn operator_says(thought: &str, action: serde_json::Value) -> Reply {
    Reply::json(&json!({"thought": thought, "action": action, "description": thought}))
}

fn reflector_always_a() -> deskhand_testkit::model_server::Responder {
    Box::new(|_req: &RecordedRequest, _turn| {
        Reply::json(&json!({
            "outcome": "A", "error_description": "", "progress": "as expected",
            "subgoal_done": false
        }))
    })
}

/// The write-a-line-and-save task (as the end-to-end test scripts it): a Manager that plans
/// two subgoals and finishes when the window title shows the file; an Operator that reads the
/// screen tree in its prompt to type, open Save As, select the name, type the path and press
/// Save, and calls a `save_as` shortcut when one is offered. Usage is estimated by the server
/// from the real request sizes. With `reflector_done` the Reflector also says when the save
/// subgoal is achieved (the after-screen's window title shows the file), as a model would;
/// the end-to-end test's Reflector never does.
fn script_save_task(server: &ScriptedModelServer, line: &str, path: &Path, reflector_done: bool) {
    let file = path.file_name().unwrap().to_string_lossy().to_string();
    let shown = file.clone();
    server.responder(
        "manager",
        Box::new(move |req: &RecordedRequest, turn| {
            let title = active_window(&req.text);
            let plan = "1. Type the line 2. Save the document";
            let subgoal = if title.contains(&shown) {
                "Finished"
            } else if turn == 0 {
                "Type the line into the document"
            } else {
                "Save the document under the given name"
            };
            Reply::json(
                &json!({"thought": format!("window is {title}"), "plan": plan,
                "current_subgoal": subgoal, "completed_subgoals": ""}),
            )
        }),
    );
    let line = line.to_string();
    let target = path.display().to_string();
    server.responder(
        "operator",
        Box::new(move |req: &RecordedRequest, _turn| {
            let t = &req.text;
            let subgoal = section(t, "Current subgoal");
            let last = last_action(t);
            let title = active_window(t);
            if subgoal.starts_with("Type") {
                if section(t, "Recent actions").contains("\"kind\":\"type\"") {
                    return Reply::json(&json!({"thought": "typed", "subgoal_complete": true}));
                }
                return operator_says("type the line", json!({"kind": "type", "text": line}));
            }
            if title.contains(&file) {
                return Reply::json(&json!({"thought": "saved", "subgoal_complete": true}));
            }
            if !title.contains("Save As") {
                if section(t, "Shortcuts").contains("save_as(") {
                    return Reply::json(&json!({"thought": "use the learned shortcut",
                        "shortcut": {"name": "save_as", "arguments": {"path": target}}}));
                }
                return operator_says("open Save As", json!({"kind": "key", "chord": "ctrl+s"}));
            }
            if last.contains("ctrl+a") {
                return operator_says("type the path", json!({"kind": "type", "text": target}));
            }
            if last.contains("\"kind\":\"type\"")
                || last.contains("\"save\"")
                || last.contains("shortcut")
            {
                let Some(id) = node_id(t, "push button", "Save") else {
                    return Reply::json(&json!({"thought": "no Save button in the tree"}));
                };
                return operator_says(
                    "press Save",
                    json!({"kind": "click", "target": {"by": "node", "id": id}}),
                );
            }
            operator_says("select the name", json!({"kind": "key", "chord": "ctrl+a"}))
        }),
    );
    let saved_as = path.file_name().unwrap().to_string_lossy().to_string();
    server.responder(
        "reflector",
        Box::new(move |req: &RecordedRequest, _turn| {
            let saving = section(&req.text, "Current subgoal").starts_with("Save");
            let done = reflector_done && saving && active_window(&req.text).contains(&saved_as);
            Reply::json(&json!({
                "outcome": "A", "error_description": "", "progress": "as expected",
                "subgoal_done": done
            }))
        }),
    );
    server.responder(
        "notetaker",
        Box::new(|_req: &RecordedRequest, _turn| {
            Reply::json(&json!({"notes": "the document holds the line"}))
        }),
    );
    server.responder(
        "tips",
        Box::new(|_req: &RecordedRequest, _turn| {
            Reply::json(&json!({"tips": [
                {"app": "mousepad", "text": "In Mousepad, ctrl+s on a new document opens Save As; select the name with ctrl+a before typing a full path."},
                {"app": "mousepad", "text": "GTK's file chooser may ignore the first Save press; press it again if the dialog stays."}
            ]}))
        }),
    );
    server.responder(
        "shortcuts",
        Box::new(|_req: &RecordedRequest, _turn| {
            Reply::json(&json!({"shortcuts": [{
                "name": "save_as", "app": "mousepad",
                "description": "Save the document under a full path",
                "parameters": [{"name": "path", "description": "absolute file path"}],
                "precondition": "A document is open in Mousepad and no dialog is open",
                "requires": "",
                "steps": ["key ctrl+s", "key ctrl+a", "type \"{path}\"", "click button 'Save'"]
            }]}))
        }),
    );
}

fn median(mut v: Vec<u64>) -> u64 {
    if v.is_empty() {
        return 0;
    }
    v.sort_unstable();
    v[v.len() / 2]
}

fn mean(v: &[u64]) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.iter().sum::<u64>() as f64 / v.len() as f64
}

/// One step's times, in ms, with the perception made inside it (the after-screen) and its
/// model time taken out.
#[derive(Debug, Clone, Copy, Default)]
struct StepTimes {
    total: u64,
    /// The perception recorded on the step itself (made before it started).
    perceive_recorded: u64,
    /// The after-screen perception made inside this step (the next step's `perceive`).
    perceive_inside: u64,
    model: u64,
    manager: u64,
    operator: u64,
    act: u64,
    /// Sending the input and settling (`StepRecord.act_ms`).
    input_settle: u64,
    /// Settling alone (`ActionEffect.settle_ms`).
    settle: u64,
    reflect: u64,
    calls: u32,
    prompt: u32,
    completion: u32,
}

impl StepTimes {
    /// Everything but perception and model time.
    fn overhead(&self) -> u64 {
        self.total
            .saturating_sub(self.perceive_inside)
            .saturating_sub(self.model)
    }

    /// The step's time without the perception inside it (model time included).
    fn beyond_perception(&self) -> u64 {
        self.total.saturating_sub(self.perceive_inside)
    }

    /// What the modules do not account for: screenshots, events, the step record.
    fn other(&self) -> u64 {
        self.beyond_perception()
            .saturating_sub(self.manager + self.operator + self.act + self.reflect)
    }
}

/// The times of steps `range` of a run (each needs the following step's record).
fn step_times(
    steps: &[StepRecord],
    calls: &[ModelCallRecord],
    range: std::ops::Range<usize>,
) -> Vec<StepTimes> {
    range
        .map(|k| {
            let a = steps[k].agent.as_ref().expect("agent step info");
            let next = steps[k + 1].agent.as_ref().expect("agent step info");
            let mine: Vec<_> = calls.iter().filter(|c| c.step == steps[k].index).collect();
            StepTimes {
                total: a.times.total,
                perceive_recorded: a.times.perceive,
                perceive_inside: next.times.perceive,
                model: mine.iter().map(|c| c.ms).sum(),
                manager: a.times.manager,
                operator: a.times.operator,
                act: a.times.act,
                input_settle: steps[k].act_ms,
                settle: steps[k].effect.as_ref().map_or(0, |e| e.settle_ms),
                reflect: a.times.reflect,
                calls: a.calls,
                prompt: a.usage.prompt,
                completion: a.usage.completion,
            }
        })
        .collect()
}

/// The typing loop: Manager once, then an Operator that types `w<turn> ` every step (a new
/// line after every tenth); the
/// Reflector (if asked) says A. Learning after the run finds nothing to keep.
fn script_typing(server: &ScriptedModelServer) {
    server.responder(
        "manager",
        Box::new(|_req: &RecordedRequest, _turn| {
            Reply::json(&json!({"thought": "type words", "plan": "1. Type words",
                "current_subgoal": "Type one short word per step", "completed_subgoals": ""}))
        }),
    );
    server.responder(
        "operator",
        Box::new(|_req: &RecordedRequest, turn| {
            // Ten words a line: a line longer than the view scrolls it sideways at every
            // key, and the overlay scrollbar's animation then holds settling at ~190 ms.
            let end = if turn % 10 == 9 { "\n" } else { " " };
            operator_says(
                "type the next word",
                json!({"kind": "type", "text": format!("w{turn}{end}")}),
            )
        }),
    );
    server.responder("reflector", reflector_always_a());
    server.responder(
        "tips",
        Box::new(|_req: &RecordedRequest, _turn| Reply::json(&json!({"tips": []}))),
    );
    server.responder(
        "shortcuts",
        Box::new(|_req: &RecordedRequest, _turn| Reply::json(&json!({"shortcuts": []}))),
    );
}

/// Steps measured per run, at least.
const MIN_STEPS: usize = 8;

/// Median ms of `f` over `n` calls.
fn time_ms<T>(n: usize, mut f: impl FnMut() -> T) -> f64 {
    let mut v: Vec<f64> = (0..n)
        .map(|_| {
            let t = Instant::now();
            std::hint::black_box(f());
            t.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    v.sort_by(f64::total_cmp);
    v[n / 2]
}

fn step_overhead(c: &mut Criterion) {
    let session = deskhand_testkit::start_mousepad().unwrap();
    let data = tempfile::tempdir().unwrap();
    let server = ScriptedModelServer::start().unwrap();
    script_typing(&server);
    let desk = deskhand(&server, data.path());
    let db = SqliteMemory::open(&desk.config().database()).unwrap();
    let mut seen: Vec<StepTimes> = Vec::new();

    let mut group = c.benchmark_group("agent_step");
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(8));
    // Every sample is one run of the same number of steps.
    group.sampling_mode(criterion::SamplingMode::Flat);
    group.bench_function("overhead", |b| {
        b.iter_custom(|iters| {
            // Step 0 has the Manager and the first look; the last step has no successor
            // to tell its after-screen perception. Both are run but not measured. A run
            // measures at least MIN_STEPS steps (criterion, timing the wall clock in its
            // warm-up, asks for few iterations); the sample is their mean times `iters`.
            let n = (iters as usize).max(MIN_STEPS);
            let out = desk
                .run_agent(
                    "Type one short word per step into the document",
                    Some(n as u32 + 2),
                    None,
                    &mut |_| {},
                )
                .unwrap();
            let steps = db.steps(out.run).unwrap();
            let calls = db.calls(out.run).unwrap();
            assert_eq!(steps.len(), n + 2, "{}", out.summary);
            assert!(steps.iter().all(|s| s.ok), "{steps:?}");
            let times = step_times(&steps, &calls, 1..n + 1);
            let total: u64 = times.iter().map(StepTimes::overhead).sum();
            seen.extend(times);
            server.clear_requests();
            Duration::from_millis(total).mul_f64(iters as f64 / n as f64)
        })
    });
    group.finish();

    let col = |f: fn(&StepTimes) -> u64| median(seen.iter().map(f).collect());
    eprintln!(
        "agent_step: {} steps measured (typing a word, Reflector judged locally or by the model)",
        seen.len()
    );
    eprintln!(
        "  median ms: overhead (total - perception inside - model) {}; beyond perception \
         (total - perception inside) {}; total {}; perception inside the step {}; perception \
         recorded on the step {}; total - recorded perception {}",
        col(StepTimes::overhead),
        col(StepTimes::beyond_perception),
        col(|s| s.total),
        col(|s| s.perceive_inside),
        col(|s| s.perceive_recorded),
        col(|s| s
            .total
            .saturating_sub(s.perceive_recorded)
            .saturating_sub(s.model)),
    );
    eprintln!(
        "  median ms by module: manager {} operator {} (model {}) act+settle {} reflect {} \
         other (screenshots, events, step record) {}",
        col(|s| s.manager),
        col(|s| s.operator),
        col(|s| s.model),
        col(|s| s.act),
        col(|s| s.reflect),
        col(StepTimes::other),
    );
    eprintln!(
        "  act+settle split, median ms: reads around the action (monitors, capture before, \
         focused tree after, typed-text check, pixel diff) {}; sending the input {}; settling {}",
        col(|s| s.act.saturating_sub(s.input_settle)),
        col(|s| s.input_settle.saturating_sub(s.settle)),
        col(|s| s.settle),
    );
    let mut settles: Vec<u64> = seen.iter().map(|s| s.settle).collect();
    settles.sort_unstable();
    let pct = |p: usize| settles[(settles.len() - 1) * p / 100];
    eprintln!(
        "  settling ms: min {} p10 {} p25 {} p50 {} p75 {} p90 {} max {}; in run order: {:?}",
        pct(0),
        pct(10),
        pct(25),
        pct(50),
        pct(75),
        pct(90),
        pct(100),
        seen.iter().map(|s| s.settle).collect::<Vec<_>>()
    );
    eprintln!(
        "  overhead without act+settle: median {} ms; without settling only: median {} ms",
        col(|s| s.overhead().saturating_sub(s.act)),
        col(|s| s.overhead().saturating_sub(s.settle)),
    );
    let calls: Vec<u64> = seen.iter().map(|s| u64::from(s.calls)).collect();
    let prompt: Vec<u64> = seen.iter().map(|s| u64::from(s.prompt)).collect();
    let completion: Vec<u64> = seen.iter().map(|s| u64::from(s.completion)).collect();
    eprintln!(
        "  per step: {:.2} model calls, {:.0} prompt tokens, {:.0} completion tokens (mean)",
        mean(&calls),
        mean(&prompt),
        mean(&completion)
    );
    // What the reads around an action cost alone on this mousepad.
    let screen = XcapScreen::new();
    let limits = TreeQuery::new(TreeScope::FocusedApp);
    eprintln!(
        "  reads around an action alone, median of 20 ms: monitors {:.1}; capture of every \
         monitor {:.1}; focused app's tree (the read after the action) {:.1}",
        time_ms(20, || screen.monitors().unwrap()),
        time_ms(20, || screen.capture_all().unwrap()),
        time_ms(20, || focused_tree(&session.reader, &limits).unwrap()),
    );
    drop(db);
    drop(desk);
    drop(session);
}

/// One run of the save-as task on a fresh mousepad; prints its figures.
fn save_as_run(
    data: &Path,
    files: &Path,
    name: &str,
    line: &str,
    reflector_done: bool,
    preset: Option<&str>,
) {
    let session = deskhand_testkit::start_mousepad().unwrap();
    let path = files.join(format!("{name}.txt"));
    let server = ScriptedModelServer::start().unwrap();
    script_save_task(&server, line, &path, reflector_done);
    let desk = deskhand(&server, data);
    let out = desk
        .run_agent(
            &format!("Write the line '{line}' and save it as {}", path.display()),
            Some(15),
            preset,
            &mut |_| {},
        )
        .unwrap();
    let db = SqliteMemory::open(&desk.config().database()).unwrap();
    let steps = db.steps(out.run).unwrap();
    let calls = db.calls(out.run).unwrap();
    let learning = |c: &&ModelCallRecord| c.role == "tips" || c.role == "shortcuts";
    let in_steps: Vec<&ModelCallRecord> = calls.iter().filter(|c| !learning(c)).collect();
    let learned: Vec<&ModelCallRecord> = calls.iter().filter(learning).collect();
    let mut by_role: BTreeMap<&str, usize> = BTreeMap::new();
    for c in &calls {
        *by_role.entry(c.role.as_str()).or_default() += 1;
    }
    let acted = out.steps.max(1) as f64;
    let prompt: u32 = in_steps.iter().map(|c| c.usage.prompt).sum();
    let completion: u32 = in_steps.iter().map(|c| c.usage.completion).sum();
    let saved = std::fs::read_to_string(&path).unwrap_or_default();
    let images: usize = server.requests().iter().map(|r| r.images).sum();
    eprintln!(
        "save_as {name} (preset {}): status {:?} ({}); file saved: {}; {} acted steps ({} step records, \
         shortcut used: {})",
        preset.unwrap_or("deskhand"),
        out.status,
        out.summary,
        saved.trim_end() == line,
        out.steps,
        steps.len(),
        steps
            .iter()
            .filter_map(|s| s.agent.as_ref())
            .any(|a| a.shortcut.is_some()),
    );
    eprintln!(
        "  model calls in steps {} = {:.2} per acted step (Mobile-Agent-E: 4); learning calls {}; \
         by role {by_role:?}; images sent {images}",
        in_steps.len(),
        in_steps.len() as f64 / acted,
        learned.len(),
    );
    eprintln!(
        "  tokens per acted step: prompt {:.0}, completion {:.0}; learning: prompt {}, \
         completion {}",
        f64::from(prompt) / acted,
        f64::from(completion) / acted,
        learned.iter().map(|c| c.usage.prompt).sum::<u32>(),
        learned.iter().map(|c| c.usage.completion).sum::<u32>(),
    );
    let mut trace: BTreeMap<u32, Vec<&str>> = BTreeMap::new();
    for c in &in_steps {
        trace.entry(c.step).or_default().push(c.role.as_str());
    }
    eprintln!("  calls by step: {trace:?}");
    let n = steps.len();
    if n >= 2 {
        let times = step_times(&steps, &calls, 0..n - 1);
        eprintln!(
            "  per step ms (total / perception inside / model / act / other): {:?}",
            times
                .iter()
                .map(|s| (s.total, s.perceive_inside, s.model, s.act, s.other()))
                .collect::<Vec<_>>()
        );
    }
    drop(db);
    drop(desk);
    drop(session);
}

fn save_as_scenario(_c: &mut Criterion) {
    let files = tempfile::tempdir().unwrap();
    // The end-to-end test's script, then a Reflector that reports the subgoal done.
    for (variant, done) in [("e2e", false), ("done", true)] {
        let data = tempfile::tempdir().unwrap();
        let first = format!("{variant}-first");
        let second = format!("{variant}-second");
        save_as_run(
            data.path(),
            files.path(),
            &first,
            "hello from the agent",
            done,
            None,
        );
        save_as_run(
            data.path(),
            files.path(),
            &second,
            "a second line",
            done,
            None,
        );
    }
    // The same task in the paper's loop: four roles every step, no learned shortcut.
    let data = tempfile::tempdir().unwrap();
    save_as_run(
        data.path(),
        files.path(),
        "paper-first",
        "hello from the agent",
        true,
        Some("mobile-agent-e"),
    );
}

criterion_group!(benches, step_overhead, save_as_scenario);
criterion_main!(benches);
