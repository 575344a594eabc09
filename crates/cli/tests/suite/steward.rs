//! `deskhand run --preset steward` on the cross-app tasks of `eval/tasks`, each in its own
//! fresh desktop with real apps and judged by the task's own evaluator, against the scripted
//! model server. The scripted model knows each task's decomposition and steps
//! (`eval/steward/<id>.json`) but reads everything else from what it is sent: the evaluator
//! finds a fact's value on the screen in its prompt, and the next app's Operator types the
//! value it finds in its own prompt's facts, so a fact that does not travel fails the task.
//! Ctrl-C and SIGTERM on a run leave it cancelled with nothing held.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use deskhand_core::graph::NodeState;
use deskhand_core::ports::{Accessibility, MemoryStore, RunStatus, TreeQuery, TreeScope};
use deskhand_eval::tasks::{
    evaluate_within, load_task, repo_eval_dir, verdict_of, AgentVerdict, TaskSession, SETTLE,
};
use deskhand_memory::SqliteMemory;
use deskhand_testkit::model_server::{
    prompt_section as section, RecordedRequest, Reply, ScriptedModelServer,
};
use serde::Deserialize;
use serde_json::{json, Value};

use super::agent::agent_command;
use super::agent_tasks::action_for;
use super::text;

/// How the scripted evaluator reads a fact off the screen it is shown.
#[derive(Debug, Clone, Deserialize)]
struct Read {
    pattern: String,
    /// The capture group holding the value.
    #[serde(default = "one")]
    value: usize,
    /// The capture group holding the source text (0: the whole match).
    #[serde(default)]
    source: usize,
}

fn one() -> usize {
    1
}

/// A cross-app task as the scripted Steward and staff know it.
#[derive(Debug, Clone, Deserialize)]
struct Fixture {
    nodes: Vec<Value>,
    steps: BTreeMap<String, Vec<String>>,
    read: BTreeMap<String, Read>,
}

/// The value of fact `name` in a prompt's facts (`- name = "value" ...`).
fn fact_in(prompt: &str, name: &str) -> Option<String> {
    let key = format!("- {name} = \"");
    let at = prompt.rfind(&key)? + key.len();
    Some(prompt[at..].split('"').next()?.to_string())
}

/// The roles every scripted run answers alike: the Reflector sees success, the learners
/// learn nothing.
fn plain_roles(server: &ScriptedModelServer) {
    server.responder(
        "reflector",
        Box::new(|_: &RecordedRequest, _| {
            Reply::json(
                &json!({"outcome": "A", "error_description": "", "progress": "",
                "subgoal_done": false}),
            )
        }),
    );
    for role in ["tips", "shortcuts"] {
        server.responder(
            role,
            Box::new(move |_: &RecordedRequest, _| Reply::json(&json!({role: []}))),
        );
    }
}

/// A step's `{name}` placeholders filled with the facts the prompt was given.
fn fill(step: &str, prompt: &str) -> String {
    let mut command = step.to_string();
    while let Some(open) = command.find('{') {
        let Some(len) = command[open..].find('}') else {
            break;
        };
        let name = command[open + 1..open + len].to_string();
        let value = fact_in(prompt, &name).unwrap_or_else(|| format!("<no {name}>"));
        command.replace_range(open..open + len + 1, &value);
    }
    command
}

fn script(server: &ScriptedModelServer, task: &str, fx: &Fixture) {
    let (task, nodes) = (task.to_string(), fx.nodes.clone());
    server.responder(
        "steward",
        Box::new(move |req: &RecordedRequest, _| {
            // Not shown the task, the Steward plans nothing (which is invalid).
            let nodes = if section(&req.text, "User task") == task {
                nodes.clone()
            } else {
                Vec::new()
            };
            Reply::json(&json!({"thought": "one node per app", "nodes": nodes}))
        }),
    );
    server.responder(
        "manager",
        Box::new(|req: &RecordedRequest, _| {
            let subtask = section(&req.text, "User instruction");
            Reply::json(
                &json!({"thought": "one subgoal", "plan": format!("1. {subtask}"),
                "current_subgoal": subtask}),
            )
        }),
    );
    let by_instruction: BTreeMap<String, (String, Vec<String>)> = fx
        .nodes
        .iter()
        .map(|n| {
            let id = n["id"].as_str().unwrap().to_string();
            let steps = fx.steps.get(&id).cloned().unwrap_or_default();
            (n["instruction"].as_str().unwrap().to_string(), (id, steps))
        })
        .collect();
    let taken: Arc<Mutex<BTreeMap<String, usize>>> = Arc::default();
    server.responder(
        "operator",
        Box::new(move |req: &RecordedRequest, _| {
            let instruction = section(&req.text, "User instruction");
            let Some((id, steps)) = by_instruction.get(&instruction) else {
                return Reply::json(&json!({"thought": "unknown subtask",
                    "action": {"kind": "fail", "reason": format!("no subtask {instruction:?}")}}));
            };
            let i = {
                let mut taken = taken.lock().unwrap();
                let n = taken.entry(id.clone()).or_default();
                *n += 1;
                *n - 1
            };
            let action = match steps.get(i) {
                Some(step) => {
                    // Placeholders are filled from the facts this prompt was given.
                    action_for(&fill(step, &req.text), &req.text)
                }
                None => json!({"kind": "done", "summary": format!("{id} done")}),
            };
            Reply::json(&json!({"thought": format!("{id} step {i}"), "action": action}))
        }),
    );
    plain_roles(server);
    let reads = fx.read.clone();
    server.responder(
        "evaluator",
        Box::new(move |req: &RecordedRequest, _| {
            if req.text.contains("### Why it stopped") {
                return Reply::json(&json!({"tip": "Look at the whole window before acting."}));
            }
            let wanted = section(&req.text, "Facts to read");
            let screen = req
                .text
                .rfind("### Current screen\n")
                .map_or("", |i| &req.text[i..]);
            let (mut facts, mut missing) = (Vec::new(), Vec::new());
            for (name, read) in &reads {
                if !wanted.contains(&format!("- {name}")) {
                    continue;
                }
                let re = regex::Regex::new(&read.pattern).unwrap();
                match re.captures(screen) {
                    Some(c) => facts.push(json!({"name": name,
                        "value": c.get(read.value).map_or("", |m| m.as_str()),
                        "source": c.get(read.source).map_or("", |m| m.as_str())})),
                    None => missing.push(json!({"name": name, "why": "not on the screen"})),
                }
            }
            Reply::json(&json!({"facts": facts, "missing": missing}))
        }),
    );
}

fn cross_app_task(id: &str) {
    cross_app_task_after(id, &|_| {});
}

/// A cross-app task, with `before` done to its desktop before the run starts.
fn cross_app_task_after(id: &str, before: &dyn Fn(&TaskSession)) {
    let dir = repo_eval_dir();
    let spec = load_task(&dir.join("tasks").join(format!("{id}.json"))).unwrap();
    assert!(spec.related_apps.len() >= 2, "{id} is not a cross-app task");
    let fx: Fixture = serde_json::from_str(
        &std::fs::read_to_string(dir.join("steward").join(format!("{id}.json"))).unwrap(),
    )
    .unwrap();
    let session = TaskSession::start(&spec).unwrap();
    before(&session);
    let server = ScriptedModelServer::start().unwrap();
    script(&server, &spec.instruction, &fx);

    let data = session.desktop().runtime_dir().join("agent-data");
    let mut cmd = agent_command(Path::new(&data), &server, &spec.instruction);
    cmd.args(["--preset", "steward", "--max-steps", "8"]);
    for (k, v) in session.env() {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run deskhand");
    let said = text(&out);
    let verdict = verdict_of(out.status.code());
    let last_read = server
        .requests_for("evaluator")
        .last()
        .map(|r| r.text.clone())
        .unwrap_or_default();
    assert_eq!(
        verdict,
        AgentVerdict::Done,
        "{said}\nthe evaluator was last shown:\n{last_read}"
    );
    let score = evaluate_within(&spec, &session, verdict, SETTLE);
    assert!(score.passed(), "{id}: {:?}\n{said}", score.details);
    assert!(
        said.contains(&format!("graph: {} subtask(s)", fx.nodes.len())),
        "{said}"
    );

    // Text on the screen reaches the models only inside its fence, whatever it says (one
    // task's invoice tells "the AI assistant" to ignore its instructions).
    let planted = std::fs::read_to_string(dir.join("tasks").join(format!("{id}.json")))
        .unwrap()
        .to_lowercase()
        .contains("ignore previous instructions");
    let mut seen = 0;
    for r in server.requests() {
        let mut inside = false;
        for line in r.text.lines() {
            match line {
                "<untrusted-screen-text>" => inside = true,
                "</untrusted-screen-text>" => inside = false,
                _ if line.to_lowercase().contains("ignore previous instructions") => {
                    assert!(
                        inside,
                        "screen text outside its fence for {}:\n{}",
                        r.role, r.text
                    );
                    seen += 1;
                }
                _ => {}
            }
        }
    }

    assert_eq!(
        planted,
        seen > 0,
        "the planted text reached {seen} prompt line(s)"
    );

    // Each node is stored done; the facts the first found reached the next one's prompt.
    let db = SqliteMemory::open(&data.join("deskhand.db")).unwrap();
    let run = db.recent_runs(1).unwrap()[0].clone();
    assert_eq!(run.status, RunStatus::Succeeded);
    // Figures for the notes (printed, never asserted): calls, tokens, and the time per node
    // spent outside model calls.
    let calls = deskhand_core::Experience::calls(&db, run.id).unwrap();
    let model_ms: u64 = calls.iter().map(|c| c.ms).sum();
    let tokens: u32 = calls
        .iter()
        .map(|c| c.usage.prompt + c.usage.completion)
        .sum();
    let wall = run.finished_ms.unwrap_or(run.started_ms) - run.started_ms;
    eprintln!(
        "figures {id}: {} model calls, {tokens} tokens, {wall} ms wall, {model_ms} ms in model \
         calls, {} ms per node outside them",
        calls.len(),
        (wall - model_ms as i64) / fx.nodes.len() as i64
    );
    let nodes = db.nodes(run.id).unwrap();
    assert_eq!(nodes.len(), fx.nodes.len());
    assert!(
        nodes.iter().all(|n| n.state == NodeState::Done),
        "{nodes:#?}"
    );
    let facts: Vec<_> = nodes.iter().flat_map(|n| n.facts.clone()).collect();
    assert_eq!(facts.len(), fx.read.len(), "{nodes:#?}");
    for f in &facts {
        assert!(
            said.contains(&format!("{} = {:?}", f.name, f.value)),
            "{f:?} not shown\n{said}"
        );
        let told = server.requests_for("operator").iter().any(|r| {
            fact_in(&r.text, &f.name).as_deref() == Some(f.value.as_str())
                && r.text.contains("<untrusted-screen-text>")
        });
        assert!(told, "{f:?} never reached an Operator");
    }
    // The decomposition is kept as a guideline the user can see.
    let listed = std::process::Command::new(env!("CARGO_BIN_EXE_deskhand"))
        .arg("--data-dir")
        .arg(&data)
        .args(["memory", "guidelines"])
        .output()
        .unwrap();
    let listed = text(&listed);
    assert!(
        listed.contains(&spec.instruction) && listed.contains("  1. ["),
        "{listed}"
    );
    if std::env::var_os("DESKHAND_FIGURES").is_some() {
        mobile_agent_e_figures(id, &spec, &fx);
    }
}

/// The same task with `--preset mobile-agent-e`, for the figures: one Manager over all the
/// apps (the nodes are its subgoals), an Operator that brings each app to the front itself,
/// and the Notetaker keeping the facts it reads off the screen, which the Operator then uses.
fn mobile_agent_e_figures(id: &str, spec: &deskhand_core::task::TaskSpec, fx: &Fixture) {
    let session = TaskSession::start(spec).unwrap();
    let server = ScriptedModelServer::start().unwrap();
    let nodes: Vec<(String, String, Vec<String>)> = fx
        .nodes
        .iter()
        .map(|n| {
            let id = n["id"].as_str().unwrap().to_string();
            (
                n["app"].as_str().unwrap().to_string(),
                n["instruction"].as_str().unwrap().to_string(),
                fx.steps.get(&id).cloned().unwrap_or_default(),
            )
        })
        .collect();
    // (node, step) the Operator is at.
    let at: Arc<Mutex<(usize, usize)>> = Arc::default();
    let (plan_nodes, plan_at) = (nodes.clone(), at.clone());
    server.responder(
        "manager",
        Box::new(move |_: &RecordedRequest, _| {
            let (node, _) = *plan_at.lock().unwrap();
            let plan: Vec<String> = plan_nodes
                .iter()
                .enumerate()
                .map(|(i, (app, what, _))| format!("{}. in {app}: {what}", i + 1))
                .collect();
            let subgoal = plan_nodes
                .get(node)
                .map_or("Finished".to_string(), |(app, what, _)| {
                    format!("in {app}: {what}")
                });
            Reply::json(&json!({"thought": "next app", "plan": plan.join(" "),
                "current_subgoal": subgoal}))
        }),
    );
    server.responder(
        "operator",
        Box::new(move |req: &RecordedRequest, _| {
            let mut at = at.lock().unwrap();
            let Some((app, _, steps)) = nodes.get(at.0) else {
                return Reply::json(&json!({"thought": "all done", "subgoal_complete": true}));
            };
            let action = if at.1 == 0 {
                json!({"kind": "focus_window", "title": app})
            } else if let Some(step) = steps.get(at.1 - 1) {
                action_for(&fill(step, &req.text), &req.text)
            } else {
                *at = (at.0 + 1, 0);
                return Reply::json(&json!({"thought": "this app is done",
                    "subgoal_complete": true}));
            };
            at.1 += 1;
            Reply::json(&json!({"thought": "next step", "action": action}))
        }),
    );
    plain_roles(&server);
    let reads = fx.read.clone();
    server.responder(
        "notetaker",
        Box::new(move |req: &RecordedRequest, _| {
            let screen = req
                .text
                .rfind("### Screen now\n")
                .map_or("", |i| &req.text[i..]);
            let mut notes = Vec::new();
            for (name, read) in &reads {
                let found = regex::Regex::new(&read.pattern)
                    .unwrap()
                    .captures(screen)
                    .and_then(|c| c.get(read.value).map(|m| m.as_str().to_string()))
                    .or_else(|| fact_in(&section(&req.text, "Notes so far"), name));
                if let Some(v) = found {
                    notes.push(format!("- {name} = \"{v}\""));
                }
            }
            Reply::json(&json!({"notes": notes.join("\n")}))
        }),
    );
    let data = session.desktop().runtime_dir().join("agent-data");
    let mut cmd = agent_command(Path::new(&data), &server, &spec.instruction);
    cmd.args(["--preset", "mobile-agent-e", "--max-steps", "20"]);
    for (k, v) in session.env() {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run deskhand");
    let verdict = verdict_of(out.status.code());
    let score = evaluate_within(spec, &session, verdict, SETTLE);
    let db = SqliteMemory::open(&data.join("deskhand.db")).unwrap();
    let run = db.recent_runs(1).unwrap()[0].clone();
    let calls = deskhand_core::Experience::calls(&db, run.id).unwrap();
    let tokens: u32 = calls
        .iter()
        .map(|c| c.usage.prompt + c.usage.completion)
        .sum();
    eprintln!(
        "figures {id} mobile-agent-e: {} model calls, {tokens} tokens, {} ({})",
        calls.len(),
        run.status.as_str(),
        if score.passed() {
            "task done"
        } else {
            "task not done"
        }
    );
}

macro_rules! cross_app {
    ($($name:ident => $id:literal),* $(,)?) => {$(
        #[test]
        fn $name() {
            cross_app_task($id);
        }
    )*};
}

cross_app! {
    steward_counts_in_the_terminal_and_notes_it_in_the_editor => "cross-terminal-count-to-note",
    steward_takes_the_editors_total_to_the_calculator => "cross-note-total-to-calculator",
    steward_names_the_file_managers_pdf_in_the_editor => "cross-files-to-note",
    steward_counts_in_the_terminal_and_multiplies_in_the_calculator => "cross-terminal-to-calculator",
    steward_computes_in_the_calculator_and_notes_it_in_the_editor => "cross-calculator-to-note",
}

/// The calculator's window is closed before the run: its staff agent starts it again.
#[test]
fn steward_starts_again_an_app_whose_window_was_closed() {
    cross_app_task_after("cross-terminal-to-calculator", &|session| {
        let closed = std::process::Command::new("wmctrl")
            .args(["-c", "galculator"])
            .envs(session.env())
            .status()
            .unwrap();
        assert!(closed.success());
        let start = Instant::now();
        while session
            .desktop()
            .windows()
            .unwrap()
            .iter()
            .any(|(_, t)| t.to_lowercase().contains("galculator"))
        {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "galculator did not close"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    });
}

/// The first Ctrl-C (SIGINT) or SIGTERM during a run stops it at the next safe point: the
/// key it held is released, the run is kept as cancelled, the process says where it stopped
/// and exits 4.
fn stopped_by(signal: &str) {
    let spec = load_task(
        &repo_eval_dir()
            .join("tasks")
            .join("cross-terminal-count-to-note.json"),
    )
    .unwrap();
    let session = TaskSession::start(&spec).unwrap();
    let server = ScriptedModelServer::start().unwrap();
    server.responder(
        "steward",
        Box::new(|_: &RecordedRequest, _| {
            Reply::json(&json!({"nodes": [{"id": "n1", "app": "mousepad",
                "instruction": "select the text"}]}))
        }),
    );
    server.responder(
        "manager",
        Box::new(|_: &RecordedRequest, _| {
            Reply::json(&json!({"plan": "1. select", "current_subgoal": "select the text"}))
        }),
    );
    // The Operator holds shift; its next answer takes long enough to be interrupted.
    let asked_again = Arc::new(AtomicBool::new(false));
    let asked = asked_again.clone();
    server.responder(
        "operator",
        Box::new(move |_: &RecordedRequest, turn| {
            let hold = Reply::json(&json!({"thought": "hold shift",
                "action": {"kind": "hold", "chord": "shift"}}));
            if turn == 0 {
                hold
            } else {
                asked.store(true, Ordering::SeqCst);
                Reply::delayed(20_000, hold)
            }
        }),
    );
    plain_roles(&server);
    let data = session.desktop().runtime_dir().join("agent-data");
    let mut cmd = agent_command(Path::new(&data), &server, "select the text");
    cmd.args(["--preset", "steward"]);
    for (k, v) in session.env() {
        cmd.env(k, v);
    }
    cmd.stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let child = cmd.spawn().unwrap();
    let start = Instant::now();
    while !asked_again.load(Ordering::SeqCst) {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the run never got going"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let kill = std::process::Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let out = child.wait_with_output().unwrap();
    let said = text(&out);
    assert_eq!(out.status.code(), Some(4), "{said}");
    assert!(said.contains("stopping"), "{said}");
    assert!(said.contains("cancelled"), "{said}");
    let db = SqliteMemory::open(&data.join("deskhand.db")).unwrap();
    let run = db.recent_runs(1).unwrap()[0].clone();
    assert_eq!(run.status, RunStatus::Cancelled, "{said}");
    // Shift is up again: a letter typed now is lower case in the editor.
    let typed = std::process::Command::new("xdotool")
        .args(["type", "--delay", "20", "q"])
        .envs(session.env())
        .status()
        .unwrap();
    assert!(typed.success());
    let tree = session
        .reader()
        .tree(&TreeQuery::new(TreeScope::App("mousepad".into())))
        .unwrap();
    let shown: String = tree
        .walk()
        .into_iter()
        .filter(|(_, n)| n.role == "text" && n.has(deskhand_core::NodeState::Showing))
        .filter_map(|(_, n)| n.text.clone())
        .collect();
    assert!(
        shown.contains('q') && !shown.contains('Q'),
        "shift was left held: the editor shows {shown:?}"
    );
}

#[test]
fn ctrl_c_stops_a_run_cleanly_releasing_held_keys() {
    stopped_by("-INT");
}

#[test]
fn sigterm_stops_a_run_cleanly_releasing_held_keys() {
    stopped_by("-TERM");
}
