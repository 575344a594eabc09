//! `deskhand run`: without a configured model a clear how-to and exit code 2, before anything
//! on the desktop is touched and without a byte sent to any endpoint, even when the
//! environment names one in the variables other tools use; with one, live progress lines or
//! JSON events and exit code 0.

use std::path::Path;
use std::process::{Command, Output};

use deskhand_core::ports::RunStatus;
use deskhand_core::Event;
use deskhand_testkit::model_server::{RecordedRequest, Reply};
use deskhand_testkit::ScriptedModelServer;
use serde_json::json;

use super::text;

/// Runs `deskhand` with a private home, no display and no DESKHAND_* model settings, but with
/// keys and the base URLs of other tools pointing at `server`.
fn unconfigured(home: &Path, server: &ScriptedModelServer, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_deskhand"));
    for (name, _) in std::env::vars() {
        if name.starts_with("DESKHAND_") {
            cmd.env_remove(name);
        }
    }
    cmd.env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_DATA_HOME", home.join("share"))
        .env_remove("DISPLAY")
        .env("RUST_LOG", "warn")
        .env("DESKHAND_API_KEY", "sk-test-not-to-be-sent")
        .env("OPENAI_API_KEY", "sk-test-not-to-be-sent")
        .env("OPENAI_BASE_URL", server.url())
        .env("OPENAI_API_BASE", server.url())
        .env("ANTHROPIC_BASE_URL", server.root_url())
        .args(args)
        .output()
        .expect("run deskhand")
}

#[test]
fn run_without_a_model_says_how_to_configure_one_and_sends_nothing() {
    let server = ScriptedModelServer::start().unwrap();
    let home = tempfile::tempdir().unwrap();

    for args in [
        &["run", "open mousepad and write hello"][..],
        &["run", "x", "--json", "--max-steps", "3"][..],
    ] {
        let out = unconfigured(home.path(), &server, args);
        let said = text(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {said}");
        for hint in [
            "no model endpoint is configured",
            "[models.default]",
            "base_url",
            "DESKHAND_MODEL_URL",
            "DESKHAND_MODEL",
            &home
                .path()
                .join("config/deskhand/config.toml")
                .display()
                .to_string(),
        ] {
            assert!(said.contains(hint), "{args:?}: missing {hint:?} in {said}");
        }
        // Nothing started: no database, no events on stdout.
        assert!(out.stdout.is_empty(), "{args:?}: {said}");
    }
    assert!(!home.path().join("share/deskhand/deskhand.db").exists());

    // A half-configured endpoint is a configuration error naming the missing key.
    let config = home.path().join("config/deskhand/config.toml");
    std::fs::create_dir_all(config.parent().unwrap()).unwrap();
    std::fs::write(
        &config,
        "[models.default]\nbase_url = \"http://127.0.0.1:9/v1\"\n",
    )
    .unwrap();
    let out = unconfigured(home.path(), &server, &["run", "x"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("has no model"), "{}", text(&out));

    // Bad usage is 2 as well, and the help documents the exit codes.
    let out = unconfigured(home.path(), &server, &["run", "x", "--max-steps", "0"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let out = unconfigured(home.path(), &server, &["run", "--help"]);
    assert!(
        text(&out).contains("Exit codes: 0 succeeded, 1 failed, 2 no model configured"),
        "{}",
        text(&out)
    );

    assert!(server.requests().is_empty(), "{:?}", server.requests());
}

/// A scripted two-step task on mousepad: type a line, then the Manager finishes.
fn script_typing(server: &ScriptedModelServer, line: &'static str) {
    let typed = |text: &str| {
        let head = "### Recent actions\n";
        text.rfind(head)
            .map(|i| &text[i + head.len()..])
            .and_then(|body| body.split("\n\n").next())
            .is_some_and(|body| body.contains("\"kind\":\"type\""))
    };
    server.responder(
        "manager",
        Box::new(move |req: &RecordedRequest, _turn| {
            let subgoal = if typed(&req.text) {
                "Finished"
            } else {
                "Type the line"
            };
            Reply::json(&json!({"thought": "t", "plan": "1. Type the line",
                "current_subgoal": subgoal, "completed_subgoals": ""}))
            .with_usage(1000, 50)
        }),
    );
    server.responder(
        "operator",
        Box::new(move |req: &RecordedRequest, _turn| {
            if typed(&req.text) {
                return Reply::json(&json!({"thought": "typed", "subgoal_complete": true}));
            }
            // The server says 512 of the prompt's tokens came from its prompt cache.
            Reply::json(&json!({"thought": "type it into the document",
                "action": {"kind": "type", "text": line}, "description": "type"}))
            .with_usage(800, 30)
            .with_cached(512)
        }),
    );
    for (role, reply) in [
        (
            "reflector",
            json!({"outcome": "A", "error_description": "", "progress": "typed", "subgoal_done": true}),
        ),
        ("notetaker", json!({"notes": ""})),
        ("tips", json!({"tips": []})),
        ("shortcuts", json!({"shortcuts": []})),
    ] {
        server.responder(
            role,
            Box::new(move |_req: &RecordedRequest, _turn| Reply::json(&reply)),
        );
    }
}

fn configured(data: &Path, server: &ScriptedModelServer, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_deskhand"));
    cmd.arg("--data-dir")
        .arg(data)
        .args(args)
        .env("RUST_LOG", "warn")
        .env("DESKHAND_MODEL_URL", server.url())
        .env("DESKHAND_MODEL", "default");
    for role in [
        "manager",
        "operator",
        "reflector",
        "notetaker",
        "tips",
        "shortcuts",
        "critic",
    ] {
        cmd.env(format!("DESKHAND_{}_MODEL", role.to_uppercase()), role);
    }
    cmd.output().expect("run deskhand")
}

/// A configured run on mousepad shows one progress line per step (step, outcome, action,
/// time, calls, tokens) and exits 0; with `--json` every line of stdout is an Event, from
/// RunStarted through the agent events to RunFinished.
#[test]
fn run_shows_progress_lines_and_streams_json_events() {
    let session = deskhand_testkit::start_mousepad().unwrap();
    let data = tempfile::tempdir().unwrap();
    let server = ScriptedModelServer::start().unwrap();
    script_typing(&server, "first line\n");
    let out = configured(data.path(), &server, &["run", "type a line"]);
    let said = text(&out);
    assert_eq!(out.status.code(), Some(0), "{said}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("subgoal: Type the line"), "{said}");
    let step = stdout
        .lines()
        .find(|l| l.starts_with("step  1  A  "))
        .unwrap_or_else(|| panic!("no progress line for step 1: {said}"));
    assert!(step.contains("\"kind\":\"type\""), "{step}");
    assert!(
        step.contains(" s, ") && step.contains(" tokens (512 cached))"),
        "{step}"
    );
    assert!(stdout.contains("succeeded"), "{said}");
    // Cached tokens are kept per call.
    let db = deskhand_memory::SqliteMemory::open(&data.path().join("deskhand.db")).unwrap();
    let run = deskhand_core::ports::MemoryStore::recent_runs(&db, 1).unwrap()[0].id;
    let calls = deskhand_core::Experience::calls(&db, run).unwrap();
    let operator = calls.iter().find(|c| c.role == "operator").unwrap();
    assert_eq!((operator.usage.prompt, operator.usage.cached), (800, 512));
    assert!(calls
        .iter()
        .filter(|c| c.role != "operator")
        .all(|c| c.usage.cached == 0));

    let out = configured(data.path(), &server, &["run", "type a line", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let events: Vec<Event> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert!(matches!(
        events.first(),
        Some(Event::Notice { .. } | Event::RunStarted { .. })
    ));
    assert!(events
        .iter()
        .any(|e| matches!(e, Event::Decided { marks: Some(_), .. })));
    assert!(events
        .iter()
        .any(|e| matches!(e, Event::AgentStep { calls, .. } if *calls >= 1)));
    assert!(matches!(
        events.last(),
        Some(Event::RunFinished {
            status: RunStatus::Succeeded,
            ..
        })
    ));
    drop(session);
}

/// The user's memory reaches the Manager of a run on this machine's endpoint (the real store
/// and embedding model find the note by meaning), and the call log names the item; the same
/// run against an endpoint on the network is not sent it, and says so.
#[test]
fn the_users_memory_reaches_a_local_manager_and_is_withheld_from_a_network_endpoint() {
    let session = deskhand_testkit::start_mousepad().unwrap();
    let data = tempfile::tempdir().unwrap();
    let note = super::deskhand(
        data.path(),
        &[
            "memory",
            "note",
            "My personal email is jo.silva@example.org",
        ],
    );
    assert!(note.status.success(), "{}", text(&note));
    // A fact the user set reaches the Manager too.
    let fact = super::deskhand(
        data.path(),
        &["memory", "facts", "set", "work email", "jo@work.example"],
    );
    assert!(fact.status.success(), "{}", text(&fact));
    let task = "type my email address";

    let agree = || -> deskhand_testkit::model_server::Responder {
        Box::new(|_: &RecordedRequest, _| Reply::json(&json!({"ok": true})))
    };
    let local = ScriptedModelServer::start().unwrap();
    script_typing(&local, "hello\n");
    local.responder("critic", agree());
    let out = configured(data.path(), &local, &["run", task]);
    let said = text(&out);
    assert_eq!(out.status.code(), Some(0), "{said}");
    assert!(
        said.contains("from your memory: 2 item(s) for the Manager"),
        "{said}"
    );
    let managers = local.requests_for("manager");
    assert!(
        managers[0]
            .text
            .contains("- work email: jo@work.example (from you)"),
        "{}",
        managers[0].text
    );
    assert!(
        managers[0]
            .text
            .contains("My personal email is jo.silva@example.org (from note:"),
        "{}",
        managers[0].text
    );
    // The Critic checked the result against the same note; the others never saw it.
    let critic = local.requests_for("critic");
    assert!(critic.len() == 1 && critic[0].text.contains("jo.silva@example.org"));
    for role in ["operator", "reflector"] {
        assert!(local
            .requests_for(role)
            .iter()
            .all(|r| !r.text.contains("jo.silva")));
    }
    let db = rusqlite::Connection::open(data.path().join("deskhand.db")).unwrap();
    let used: Vec<Option<String>> = db
        .prepare("SELECT memory_json FROM model_calls WHERE role = 'manager'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(
        !used.is_empty()
            && used
                .iter()
                .all(|u| u.as_deref().is_some_and(|j| j.contains("chunk:"))),
        "{used:?}"
    );

    let ip = ScriptedModelServer::network_ip().expect("a network address (hostname -I)");
    let remote = ScriptedModelServer::start_on(ip).unwrap();
    script_typing(&remote, "hello\n");
    remote.responder("critic", agree());
    let out = configured(data.path(), &remote, &["run", task]);
    let said = text(&out);
    assert_eq!(out.status.code(), Some(0), "{said}");
    assert!(
        said.contains("your memory was withheld from the model") && said.contains(&ip.to_string()),
        "{said}"
    );
    assert!(remote
        .requests()
        .iter()
        .all(|r| !r.text.contains("jo.silva")));
    drop(session);
}
