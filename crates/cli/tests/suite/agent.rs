//! End-to-end agent runs: the real `deskhand run` binary on real mousepad under a virtual
//! desktop, with perception, actuation and SQLite all real. The model is the scripted server
//! (real HTTP, OpenAI wire format): its replies are computed from what the agents actually
//! sent, like a model reading the screen tree in its prompt.

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use deskhand_core::ports::{Accessibility, MemoryStore, Outcome, RunStatus, TreeQuery, TreeScope};
use deskhand_core::{Experience, NodeState};
use deskhand_memory::SqliteMemory;
use deskhand_testkit::model_server::{
    node_id, prompt_section as section, RecordedRequest, Reply, ScriptedModelServer,
};
use serde_json::json;

use super::text;

use deskhand_host::ROLES;

/// `deskhand run` against the scripted server: every role's model is named after the role.
pub fn agent_command(data: &Path, server: &ScriptedModelServer, instruction: &str) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_deskhand"));
    cmd.arg("--data-dir")
        .arg(data)
        .args(["run", instruction])
        .env("RUST_LOG", "warn")
        .env("DESKHAND_MODEL_URL", server.url())
        .env("DESKHAND_MODEL", "default");
    for role in ROLES {
        cmd.env(
            format!("DESKHAND_{}_MODEL", role.as_str().to_uppercase()),
            role.as_str(),
        );
    }
    cmd
}

fn run_agent(data: &Path, server: &ScriptedModelServer, instruction: &str) -> Output {
    agent_command(data, server, instruction)
        .output()
        .expect("run deskhand")
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
        .with_usage(900, 40)
}

fn reflector_always_a() -> deskhand_testkit::model_server::Responder {
    Box::new(|_req: &RecordedRequest, _turn| {
        Reply::json(&json!({
            "outcome": "A", "error_description": "", "progress": "as expected",
            "subgoal_done": false
        }))
        .with_usage(1200, 30)
    })
}

/// The write-a-line-and-save task: a Manager that plans two subgoals and finishes when the
/// window title shows the file; an Operator that types, opens Save As, selects the name,
/// types the path and presses Save (again, when GTK ignored the first press), and calls a
/// `save_as` shortcut when one is offered.
fn script_save_task(server: &ScriptedModelServer, line: &str, path: &Path) {
    let file = path.file_name().unwrap().to_string_lossy().to_string();
    let shown = file.clone();
    server.responder(
        "manager",
        Box::new(move |req: &RecordedRequest, turn| {
            let title = active_window(&req.text);
            let (subgoal, plan) = if title.contains(&shown) {
                (
                    "Finished".to_string(),
                    "1. Type the line 2. Save the document",
                )
            } else if turn == 0 {
                (
                    "Type the line into the document".to_string(),
                    "1. Type the line 2. Save the document",
                )
            } else {
                (
                    "Save the document under the given name".to_string(),
                    "1. Type the line 2. Save the document",
                )
            };
            Reply::json(
                &json!({"thought": format!("window is {title}"), "plan": plan,
                "current_subgoal": subgoal, "completed_subgoals": ""}),
            )
            .with_usage(1500, 60)
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
            let dialog = title.contains("Save As");
            if !dialog {
                if section(t, "Shortcuts").contains("save_as(") {
                    return Reply::json(&json!({"thought": "use the learned shortcut",
                        "shortcut": {"name": "save_as", "arguments": {"path": target}}}))
                    .with_usage(900, 40);
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
    server.responder("reflector", reflector_always_a());
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

fn wait_for_file(path: &Path, timeout: Duration) -> String {
    let start = Instant::now();
    while start.elapsed() < timeout {
        if let Ok(c) = std::fs::read_to_string(path) {
            if !c.is_empty() {
                return c;
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    String::new()
}

fn last_run(db: &SqliteMemory) -> deskhand_core::ports::RunRecord {
    db.recent_runs(1)
        .unwrap()
        .into_iter()
        .next()
        .expect("a run")
}

/// (a) and (c): the task completes through Manager -> Operator -> Reflector and the file is
/// saved; tips and a shortcut are learned; a second, similar run uses the shortcut and needs
/// fewer model calls.
#[test]
fn a_mousepad_task_completes_then_a_similar_task_reuses_the_learned_shortcut() {
    let data = tempfile::tempdir().unwrap();
    let files = tempfile::tempdir().unwrap();

    // First run.
    let first_calls;
    {
        let _session = deskhand_testkit::start_mousepad().unwrap();
        let path = files.path().join("agent-note.txt");
        let server = ScriptedModelServer::start().unwrap();
        script_save_task(&server, "hello from the agent", &path);
        let out = run_agent(
            data.path(),
            &server,
            &format!(
                "Write the line 'hello from the agent' and save it as {}",
                path.display()
            ),
        );
        assert!(out.status.success(), "{}", text(&out));
        assert_eq!(
            wait_for_file(&path, Duration::from_secs(5)).trim_end(),
            "hello from the agent"
        );
        // Manager -> Operator -> Reflector all took part; every request carried the screen.
        for role in ["manager", "operator", "reflector"] {
            assert!(server.count(role) > 0, "{role} was never asked");
        }
        let op = &server.requests_for("operator")[0];
        assert!(op.images >= 1, "the Operator saw no Set-of-Marks image");
        assert!(
            op.text.contains("push button") || op.text.contains("menu"),
            "{}",
            op.text
        );

        let db = SqliteMemory::open(&data.path().join("deskhand.db")).unwrap();
        let run = last_run(&db);
        assert_eq!(run.status, RunStatus::Succeeded, "{}", run.summary);
        let steps = db.steps(run.id).unwrap();
        assert!(steps.len() >= 5, "{steps:?}");
        let acted: Vec<_> = steps.iter().filter(|s| s.action.is_some()).collect();
        assert!(acted.iter().all(|s| s.ok), "{acted:?}");
        assert!(steps
            .iter()
            .filter_map(|s| s.agent.as_ref())
            .any(|a| a.outcome == Some(Outcome::A)));
        // Every model call is in the log with its prompt and reply.
        let calls = db.calls(run.id).unwrap();
        assert_eq!(calls.len(), server.requests().len());
        assert!(calls
            .iter()
            .all(|c| !c.prompt.is_empty() && !c.reply.is_empty()));
        first_calls = server.requests().len() - server.count("tips") - server.count("shortcuts");

        // (c) learned: tips and the shortcut are in SQLite, tied to this run.
        let tips = db.relevant_tips("mousepad", "save a document", 10).unwrap();
        assert_eq!(tips.len(), 2, "{tips:?}");
        assert!(tips.iter().all(|t| t.source_run == Some(run.id)));
        let shortcuts = db.relevant_shortcuts("mousepad", "save", 10).unwrap();
        assert_eq!(shortcuts.len(), 1);
        assert_eq!(shortcuts[0].name, "save_as");
        assert_eq!(shortcuts[0].steps.len(), 4);
    }

    // Second, similar run in a fresh desktop: the shortcut is offered and used.
    let session = deskhand_testkit::start_mousepad().unwrap();
    let path = files.path().join("second-note.txt");
    let server = ScriptedModelServer::start().unwrap();
    script_save_task(&server, "a second line", &path);
    let out = run_agent(
        data.path(),
        &server,
        &format!(
            "Write the line 'a second line' and save it as {}",
            path.display()
        ),
    );
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        wait_for_file(&path, Duration::from_secs(5)).trim_end(),
        "a second line"
    );
    let ops = server.requests_for("operator");
    assert!(ops[0].text.contains("save_as(path"), "shortcut not offered");
    assert!(
        ops[0].text.contains("select the name with ctrl+a"),
        "tip not given"
    );
    let second_calls = server.requests().len() - server.count("tips") - server.count("shortcuts");
    assert!(
        second_calls < first_calls,
        "second run made {second_calls} calls, first {first_calls}"
    );
    let db = SqliteMemory::open(&data.path().join("deskhand.db")).unwrap();
    let run = last_run(&db);
    assert_eq!(run.status, RunStatus::Succeeded, "{}", run.summary);
    let used = db.relevant_shortcuts("mousepad", "save", 10).unwrap();
    assert!(used[0].uses >= 1 && used[0].successes >= 1, "{used:?}");
    let steps = db.steps(run.id).unwrap();
    assert!(steps
        .iter()
        .filter_map(|s| s.agent.as_ref())
        .any(|a| a.shortcut.as_deref() == Some("save_as")));
    drop(session);
}

/// (b): a click on empty space changes nothing (outcome C); after two of them the Manager's
/// request carries the "potentially stuck" block with both failed attempts.
#[test]
fn two_failed_clicks_escalate_to_the_manager_with_the_stuck_block() {
    let session = deskhand_testkit::start_mousepad().unwrap();
    let data = tempfile::tempdir().unwrap();
    let server = ScriptedModelServer::start().unwrap();
    server.responder(
        "manager",
        Box::new(|req: &RecordedRequest, _turn| {
            let stuck = req.text.contains("### Potentially stuck");
            Reply::json(&json!({"thought": "t", "plan": "1. Open the File menu",
                "current_subgoal": if stuck { "Finished" } else { "Open the File menu" }}))
        }),
    );
    // A wrong click: empty menu-bar space right of the last menu.
    server.responder(
        "operator",
        Box::new(|req: &RecordedRequest, _turn| {
            let t = &req.text;
            let line = t
                .lines()
                .find(|l| l.contains("menu \"Help\""))
                .unwrap_or_default();
            let nums: Vec<i64> = line
                .split('[')
                .nth(1)
                .and_then(|s| s.split(']').next())
                .unwrap_or("0,0,0,0")
                .split(',')
                .map(|n| n.trim().parse().unwrap_or(0))
                .collect();
            let (x, y) = (nums[0] + nums[2] + 200, nums[1] + nums[3] / 2);
            operator_says(
                "open the menu",
                json!({"kind": "click", "target": {"by": "point", "x": x, "y": y}}),
            )
        }),
    );
    server.responder(
        "reflector",
        Box::new(|_req: &RecordedRequest, _turn| {
            Reply::json(
                &json!({"outcome": "C", "error_description": "nothing opened",
                "progress": "", "subgoal_done": false}),
            )
        }),
    );
    server.script("tips", vec![Reply::json(&json!({"tips": []}))]);
    let out = run_agent(data.path(), &server, "Open the File menu");
    let shown = text(&out);

    let managers = server.requests_for("manager");
    assert_eq!(managers.len(), 3, "{shown}");
    assert!(!managers[1].text.contains("### Potentially stuck"));
    let stuck = section(&managers[2].text, "Potentially stuck");
    assert!(stuck.contains("The last 2 attempts failed"), "{stuck}");
    assert_eq!(stuck.matches("outcome C").count(), 2, "{stuck}");

    let db = SqliteMemory::open(&data.path().join("deskhand.db")).unwrap();
    let run = last_run(&db);
    let outcomes: Vec<_> = db
        .steps(run.id)
        .unwrap()
        .iter()
        .filter_map(|s| s.agent.as_ref().and_then(|a| a.outcome))
        .collect();
    assert_eq!(outcomes, vec![Outcome::C, Outcome::C], "{shown}");
    drop(session);
}

/// (d) end to end: malformed Operator answers are retried once with the validation error and
/// never executed; a repaired answer is executed; two bad ones fail the run cleanly.
#[test]
fn malformed_model_answers_are_retried_once_and_never_executed() {
    let session = deskhand_testkit::start_mousepad().unwrap();
    let data = tempfile::tempdir().unwrap();
    let plan = || {
        Reply::json(&json!({"thought": "t", "plan": "1. Type", "current_subgoal": "Type the word"}))
    };
    let document_text = || {
        let tree = session
            .reader
            .tree(&TreeQuery::new(TreeScope::App("mousepad".into())))
            .unwrap();
        tree.walk()
            .into_iter()
            .find(|(_, n)| n.role == "text" && n.has(NodeState::Editable))
            .and_then(|(_, n)| n.text.clone())
            .unwrap_or_default()
    };

    // Two bad answers: prose, then a node id that is not on screen. Nothing runs.
    let server = ScriptedModelServer::start().unwrap();
    server.script("manager", vec![plan()]);
    server.script(
        "operator",
        vec![
            Reply::text("I think I should type the word now."),
            Reply::json(&json!({"thought": "t", "action":
                {"kind": "click", "target": {"by": "node", "id": "zz999"}}})),
        ],
    );
    server.script("tips", vec![Reply::json(&json!({"tips": []}))]);
    let out = run_agent(data.path(), &server, "Type the word banana");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let ops = server.requests_for("operator");
    assert_eq!(ops.len(), 2);
    assert!(
        ops[1].text.contains("Your answer was invalid"),
        "{}",
        ops[1].text
    );
    let db = SqliteMemory::open(&data.path().join("deskhand.db")).unwrap();
    let run = last_run(&db);
    assert_eq!(run.status, RunStatus::Failed);
    assert!(run.summary.contains("invalid twice"), "{}", run.summary);
    assert!(db.steps(run.id).unwrap().iter().all(|s| s.action.is_none()));
    assert_eq!(document_text(), "");
    drop(db);

    // An unknown action, then a valid one: the repaired answer runs.
    let server = ScriptedModelServer::start().unwrap();
    server.script(
        "manager",
        vec![
            plan(),
            Reply::json(&json!({"thought": "done",
        "plan": "1. Type", "current_subgoal": "Finished"})),
        ],
    );
    server.script(
        "operator",
        vec![
            Reply::json(&json!({"thought": "t", "action": {"kind": "teleport"}})),
            operator_says("type", json!({"kind": "type", "text": "banana"})),
            Reply::json(&json!({"thought": "typed", "subgoal_complete": true})),
        ],
    );
    server.responder("reflector", reflector_always_a());
    server.script("tips", vec![Reply::json(&json!({"tips": []}))]);
    let out = run_agent(data.path(), &server, "Type the word banana");
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(document_text(), "banana");
    drop(session);
}

/// (e): a run killed with SIGKILL mid-step leaves a consistent database: its finished steps
/// and model calls are complete, the run is marked interrupted at the next start, and the
/// next run works.
#[test]
fn a_run_killed_mid_step_leaves_a_consistent_database() {
    let session = deskhand_testkit::start_mousepad().unwrap();
    let data = tempfile::tempdir().unwrap();
    let server = ScriptedModelServer::start().unwrap();
    server.script(
        "manager",
        vec![Reply::json(
            &json!({"thought": "t", "plan": "1. Type", "current_subgoal": "Type"}),
        )],
    );
    // The process is killed while it waits for the Operator's second answer.
    let waiting = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = waiting.clone();
    server.responder(
        "operator",
        Box::new(move |_req: &RecordedRequest, turn| {
            let reply = operator_says("type", json!({"kind": "type", "text": "one"}));
            if turn == 0 {
                return reply;
            }
            flag.store(true, std::sync::atomic::Ordering::SeqCst);
            Reply::delayed(60_000, reply)
        }),
    );
    server.responder("reflector", reflector_always_a());
    let mut child = agent_command(data.path(), &server, "Type one and two")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while !waiting.load(std::sync::atomic::Ordering::SeqCst) {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the run never reached step 2"
        );
        assert!(child.try_wait().unwrap().is_none(), "the run ended early");
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();

    let db = SqliteMemory::open(&data.path().join("deskhand.db")).unwrap();
    assert_eq!(db.interrupted_on_open(), 1);
    let run = last_run(&db);
    assert_eq!(run.status, RunStatus::Interrupted);
    let steps = db.steps(run.id).unwrap();
    assert_eq!(steps.len(), 1, "{steps:?}");
    assert!(steps[0].ok && steps[0].agent.is_some());
    // Manager and Operator of step 0, all complete; the call in flight was never logged.
    let calls = db.calls(run.id).unwrap();
    assert!(calls.iter().any(|c| c.role == "operator" && c.step == 0));
    assert!(calls.iter().all(|c| c.step == 0));
    let conn = rusqlite_check(&data.path().join("deskhand.db"));
    assert_eq!(conn, "ok");
    drop(db);

    // The next run starts cleanly on the same database.
    let server = ScriptedModelServer::start().unwrap();
    server.script(
        "manager",
        vec![Reply::json(&json!({"thought": "t", "plan": "1",
        "current_subgoal": "Finished"}))],
    );
    let out = run_agent(data.path(), &server, "Nothing left to do");
    assert!(out.status.success(), "{}", text(&out));
    let db = SqliteMemory::open(&data.path().join("deskhand.db")).unwrap();
    assert_eq!(db.recent_runs(10).unwrap().len(), 2);
    drop(session);
}

/// `PRAGMA integrity_check` on the file.
fn rusqlite_check(path: &Path) -> String {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap()
}

/// Shortcuts run step by step with perception between steps: a step that cannot be found
/// stops the shortcut and names it; an unmet precondition stops it before anything moves.
/// Both count as a use without success.
#[test]
fn a_failing_shortcut_stops_at_its_failing_step_and_a_precondition_is_checked_first() {
    let session = deskhand_testkit::start_mousepad().unwrap();
    let data = tempfile::tempdir().unwrap();
    let file = data.path().join("experience.json");
    std::fs::write(
        &file,
        json!({"version": 1, "tips": [], "shortcuts": [
            {"name": "broken_save", "app": "mousepad", "description": "Save, then press a button that is not there",
             "parameters": [], "precondition": "", "steps": ["key ctrl+s", "click button 'No Such Button'"]},
            {"name": "needs_menu", "app": "mousepad", "description": "Only works with a menu that is not there",
             "parameters": [], "precondition": "", "requires": "menu 'Nope'", "steps": ["key ctrl+a"]}
        ]})
        .to_string(),
    )
    .unwrap();
    let out = super::deskhand(data.path(), &["memory", "import", file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out));

    for (name, expected) in [
        ("needs_menu", "precondition not met (menu 'Nope')"),
        (
            "broken_save",
            "stopped at step 2 of 2 (click button 'No Such Button')",
        ),
    ] {
        let server = ScriptedModelServer::start().unwrap();
        server.responder(
            "manager",
            Box::new(|req: &RecordedRequest, _turn| {
                let failed = req.text.contains("outcome C");
                Reply::json(&json!({"thought": "t", "plan": "1. Save",
                    "current_subgoal": if failed { "Finished" } else { "Save the document" }}))
            }),
        );
        server.script(
            "operator",
            vec![Reply::json(&json!({"thought": "use it",
                "shortcut": {"name": name, "arguments": {}}}))],
        );
        server.script("tips", vec![Reply::json(&json!({"tips": []}))]);
        let out = run_agent(data.path(), &server, "Save the document with a shortcut");
        let shown = text(&out);
        assert!(server.requests_for("operator")[0]
            .text
            .contains(&format!("{name}(")));

        let db = SqliteMemory::open(&data.path().join("deskhand.db")).unwrap();
        let run = last_run(&db);
        let steps = db.steps(run.id).unwrap();
        let step = steps
            .iter()
            .find(|s| s.error.is_some())
            .unwrap_or_else(|| panic!("{shown}"));
        let error = step.error.clone().unwrap();
        assert!(error.contains(expected), "{error}");
        let agent = step.agent.as_ref().unwrap();
        assert_eq!(agent.shortcut.as_deref(), Some(name));
        assert_eq!(agent.outcome, Some(Outcome::C));
        if name == "needs_menu" {
            // Nothing moved: no action was executed.
            assert!(step.action.is_none() && step.effect.is_none(), "{step:?}");
        } else {
            // The first step ran (ctrl+s opened the dialog) before the second failed.
            assert!(step.action.is_some(), "{step:?}");
        }
        let s = db.get_shortcut(name).unwrap();
        assert_eq!((s.uses, s.successes), (1, 0));
    }
    drop(session);
}

/// The kill switch stops an agent run at once, even while it waits for a model: the run ends
/// cancelled (exit 4) long before the model would have answered, and nothing more runs.
#[test]
fn the_kill_switch_stops_an_agent_run_while_it_waits_for_the_model() {
    let session = deskhand_testkit::start_mousepad().unwrap();
    let data = tempfile::tempdir().unwrap();
    let server = ScriptedModelServer::start().unwrap();
    server.script(
        "manager",
        vec![Reply::json(
            &json!({"thought": "t", "plan": "1. Type", "current_subgoal": "Type"}),
        )],
    );
    let waiting = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = waiting.clone();
    server.responder(
        "operator",
        Box::new(move |_req: &RecordedRequest, _turn| {
            flag.store(true, std::sync::atomic::Ordering::SeqCst);
            Reply::delayed(
                60_000,
                operator_says("type", json!({"kind": "type", "text": "late"})),
            )
        }),
    );
    let child = agent_command(data.path(), &server, "Type something")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while !waiting.load(std::sync::atomic::Ordering::SeqCst) {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the Operator was never asked"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let pressed = Instant::now();
    session
        .desktop
        .run("xdotool", &["key", "ctrl+alt+Escape"])
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(4), "{}", text(&out));
    // Far sooner than the model's 60 s answer (a generous bound for a loaded machine).
    assert!(pressed.elapsed() < Duration::from_secs(30));
    let db = SqliteMemory::open(&data.path().join("deskhand.db")).unwrap();
    let run = last_run(&db);
    assert_eq!(run.status, RunStatus::Cancelled, "{}", run.summary);
    assert!(db.steps(run.id).unwrap().iter().all(|s| s.action.is_none()));
    drop(session);
}

/// The same action chosen three times in a row stops the run (and two failures in a row
/// already put the stuck block before the Manager).
#[test]
fn the_same_failing_action_three_times_stops_the_run() {
    let session = deskhand_testkit::start_mousepad().unwrap();
    let data = tempfile::tempdir().unwrap();
    let server = ScriptedModelServer::start().unwrap();
    server.responder(
        "manager",
        Box::new(|_req: &RecordedRequest, _turn| {
            Reply::json(&json!({"thought": "t", "plan": "1. Click", "current_subgoal": "Click the empty corner"}))
        }),
    );
    server.responder(
        "operator",
        Box::new(|_req: &RecordedRequest, _turn| {
            operator_says(
                "click the corner",
                json!({"kind": "click", "target": {"by": "point", "x": 1270, "y": 790}}),
            )
        }),
    );
    server.responder(
        "reflector",
        Box::new(|_req: &RecordedRequest, _turn| {
            Reply::json(
                &json!({"outcome": "C", "error_description": "nothing happened",
                "progress": "", "subgoal_done": false}),
            )
        }),
    );
    server.script(
        "tips",
        vec![Reply::json(
            &json!({"tips": [{"app": "", "text": "Clicking an empty corner does nothing."}]}),
        )],
    );
    let out = run_agent(
        data.path(),
        &server,
        "Click the empty corner until something happens",
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let db = SqliteMemory::open(&data.path().join("deskhand.db")).unwrap();
    let run = last_run(&db);
    assert_eq!(run.status, RunStatus::Failed);
    assert!(
        run.summary.contains("same action was chosen 3 times"),
        "{}",
        run.summary
    );
    assert_eq!(db.steps(run.id).unwrap().len(), 2);
    // Failures teach lessons too: the tip from this failed run is kept.
    let tips = db.relevant_tips("mousepad", "click corner", 5).unwrap();
    assert!(
        tips.iter().any(|t| t.source_run == Some(run.id)),
        "{tips:?}"
    );
    drop(session);
}
