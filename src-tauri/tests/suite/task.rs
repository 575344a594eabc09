//! A task run from the window, end to end: the instruction goes through `Op::Run` to the real
//! agents, which perceive the real desktop, act on a real mousepad and record the run in
//! SQLite; the only fake is the model, a scripted HTTP server. The window shows each step as
//! it happens (Set-of-Marks thumbnail, thought, action, outcome, tokens) and Stop cancels a
//! second task while it waits for the model.

use std::time::{Duration, Instant};

use deskhand_core::ports::{Accessibility, MemoryStore, RunStatus, TreeQuery, TreeScope};
use deskhand_memory::SqliteMemory;
use deskhand_testkit::model_server::{
    prompt_section as section, RecordedRequest, Reply, ScriptedModelServer,
};
use fantoccini::{Client, Locator};
use serde_json::json;

use super::webdriver::{
    connect, find, private_home, wait_enabled, wait_painted, wait_text, Driver, TIMEOUT,
};

use deskhand_host::ROLES;
const LINE: &str = "hello from the window";
/// The Steward's two subtasks in the window test.
const READ: &str = "read the line in the editor";
const AGAIN: &str = "type {line} once more";
const SCREENSHOT: &str = "/tmp/deskhand-desktop-task.png";
const PAGE: &str = "/tmp/deskhand-desktop-task-page.png";
const GRAPH_PAGE: &str = "/tmp/deskhand-desktop-graph-page.png";

/// Two tasks: "write" focuses mousepad and types a line, then the Manager finishes; "keep
/// waiting" waits once, then its Operator takes a minute to answer.
fn script(server: &ScriptedModelServer) {
    server.responder(
        "manager",
        Box::new(|req: &RecordedRequest, _turn| {
            let done = section(&req.text, "Recent actions").contains("\"kind\":\"type\"");
            let (plan, subgoal) = if req.text.contains("keep waiting") {
                ("1. Wait", "Keep waiting")
            } else if done {
                ("1. Focus Mousepad 2. Type the line", "Finished")
            } else {
                (
                    "1. Focus Mousepad 2. Type the line",
                    "Type the line into Mousepad",
                )
            };
            Reply::json(&json!({"thought": "planning", "plan": plan,
                "current_subgoal": subgoal, "completed_subgoals": ""}))
            .with_usage(1500, 60)
        }),
    );
    server.responder(
        "operator",
        Box::new(|req: &RecordedRequest, _turn| {
            let t = &req.text;
            let recent = section(t, "Recent actions");
            let act = |thought: &str, action: serde_json::Value| {
                Reply::json(&json!({"thought": thought, "action": action,
                    "description": thought}))
                .with_usage(900, 40)
            };
            // The Steward's subtasks: the line is on screen; then type the fact given.
            let subtask = section(t, "User instruction");
            if subtask == READ {
                return act(
                    "the line is on screen",
                    json!({"kind": "done", "summary": "read"}),
                );
            }
            if subtask == AGAIN {
                let key = "- line = \"";
                let Some(at) = t.find(key) else {
                    return act(
                        "no line given",
                        json!({"kind": "fail", "reason": "no line"}),
                    );
                };
                let line = t[at + key.len()..].split('"').next().unwrap_or_default();
                return if recent.contains("\"kind\":\"type\"") {
                    act("typed it", json!({"kind": "done", "summary": "typed"}))
                } else {
                    act(
                        "type the line again",
                        json!({"kind": "type", "text": format!(" {line}")}),
                    )
                };
            }
            if section(t, "Current subgoal").starts_with("Keep") {
                let wait = act("still waiting", json!({"kind": "wait", "ms": 300}));
                // After the first step the model "thinks" for a minute: Stop must not wait.
                return if recent.contains("wait") {
                    Reply::delayed(60_000, wait)
                } else {
                    wait
                };
            }
            if recent.contains("\"kind\":\"type\"") {
                Reply::json(&json!({"thought": "typed", "subgoal_complete": true}))
            } else if recent.contains("focus_window") {
                act(
                    "Mousepad is in front: type the line",
                    json!({"kind": "type", "text": LINE}),
                )
            } else {
                act(
                    "The Deskhand window has the focus: bring Mousepad to the front",
                    json!({"kind": "focus_window", "title": "Mousepad"}),
                )
            }
        }),
    );
    server.responder(
        "reflector",
        Box::new(|_req: &RecordedRequest, _turn| {
            Reply::json(&json!({"outcome": "A", "error_description": "",
                "progress": "as expected", "subgoal_done": false}))
            .with_usage(1200, 30)
        }),
    );
    server.responder(
        "steward",
        Box::new(|_req: &RecordedRequest, _turn| {
            Reply::json(&json!({"thought": "read, then type", "nodes": [
                {"id": "n1", "app": "mousepad", "instruction": READ,
                 "outputs": [{"name": "line", "description": "the line in the editor"}]},
                {"id": "n2", "app": "mousepad", "instruction": AGAIN, "inputs": ["line"]}]}))
        }),
    );
    server.responder(
        "evaluator",
        Box::new(|req: &RecordedRequest, _turn| {
            let shown = req.text.contains(LINE);
            Reply::json(&if shown {
                json!({"facts": [{"name": "line", "value": LINE, "source": LINE}]})
            } else {
                json!({"facts": [], "missing": [{"name": "line", "why": "not shown"}]})
            })
        }),
    );
    server.responder(
        "notetaker",
        Box::new(|_req: &RecordedRequest, _turn| Reply::json(&json!({"notes": ""}))),
    );
    server.responder(
        "tips",
        Box::new(|_req: &RecordedRequest, _turn| Reply::json(&json!({"tips": []}))),
    );
    server.responder(
        "shortcuts",
        Box::new(|_req: &RecordedRequest, _turn| Reply::json(&json!({"shortcuts": []}))),
    );
}

#[test]
fn window_runs_a_task_live_and_stops_another() {
    let session = deskhand_testkit::start_mousepad().unwrap();
    let home = private_home();
    let data = home.path().join("data");
    let server = ScriptedModelServer::start().unwrap();
    script(&server);
    std::env::set_var("DESKHAND_MODEL_URL", server.url());
    std::env::set_var("DESKHAND_MODEL", "default");
    for role in ROLES {
        std::env::set_var(
            format!("DESKHAND_{}_MODEL", role.as_str().to_uppercase()),
            role.as_str(),
        );
    }
    let driver = Driver::start(&home.path().join("tauri-driver.log"));

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let client = connect(&driver).await;
        let result = async {
            wait_painted(&session.desktop).await?;
            write_a_line(&client).await?;
            // The page as WebKit renders it (mousepad covers part of the window on screen).
            let page = client.screenshot().await.map_err(|e| e.to_string())?;
            std::fs::write(PAGE, page).map_err(|e| e.to_string())?;
            session
                .desktop
                .run("import", &["-window", "root", SCREENSHOT])
                .map_err(|e| e.to_string())?;
            steward_graph(&client).await?;
            stop_a_task(&client).await
        }
        .await;
        let _ = client.close().await;
        if let Err(e) = result {
            panic!("{e}\n--- tauri-driver log ---\n{}", driver.log_text());
        }
    });

    // Mousepad has the line, as its accessibility tree says.
    let tree = session
        .reader
        .tree(&TreeQuery::new(TreeScope::App("mousepad".into())))
        .unwrap();
    // Once typed by the first task, once more by the Steward's second subtask.
    let shown: Vec<&str> = tree
        .walk()
        .iter()
        .filter_map(|(_, n)| n.text.as_deref())
        .filter(|t| t.contains(LINE))
        .collect();
    assert!(
        shown.iter().any(|t| t.matches(LINE).count() == 2),
        "mousepad does not show {LINE:?} twice: {shown:?}"
    );
    // Both runs are recorded as they ended; the models were asked as the window showed.
    let memory = SqliteMemory::open(&data.join("deskhand.db")).unwrap();
    let runs = memory.recent_runs(2).unwrap();
    assert_eq!(runs.len(), 2, "{runs:?}");
    assert_eq!(runs[1].status, RunStatus::Succeeded, "{runs:?}");
    assert_eq!(runs[0].status, RunStatus::Cancelled, "{runs:?}");
    assert!(server.count("operator") >= 3, "{:?}", server.remaining());
}

/// Types a task into the window, runs it and waits for it to succeed.
async fn run_to_success(client: &Client, instruction: &str) -> Result<(), String> {
    let task = find(client, "#task").await?;
    task.clear().await.map_err(|e| e.to_string())?;
    task.send_keys(instruction)
        .await
        .map_err(|e| e.to_string())?;
    click(client, "#task-run").await?;
    let status = wait_text(client, "#task-status", |t| {
        t.contains("succeeded") || t.contains("failed")
    })
    .await?;
    assert!(status.contains("succeeded"), "{status}");
    Ok(())
}

async fn write_a_line(client: &Client) -> Result<(), String> {
    run_to_success(client, "write a line in mousepad").await?;

    // One card per step, each with the Set-of-Marks image the Operator saw.
    let cards = client
        .find_all(Locator::Css("#agent-steps li"))
        .await
        .map_err(|e| e.to_string())?;
    assert!(cards.len() >= 2, "{} steps shown", cards.len());
    let first = &cards[0];
    let text = first.text().await.map_err(|e| e.to_string())?;
    for part in [
        "Step 1",
        "bring Mousepad to the front",
        "focus_window",
        "tokens",
    ] {
        assert!(text.contains(part), "{part:?} missing in step 1: {text}");
    }
    let second = cards[1].text().await.map_err(|e| e.to_string())?;
    assert!(second.contains(LINE), "{second}");
    let src = wait_attr(first, "img", "src").await?;
    assert!(src.starts_with("data:image/png;base64,iVBOR"), "{src:.40}");
    let totals = find(client, "#task-totals")
        .await?
        .text()
        .await
        .map_err(|e| e.to_string())?;
    assert!(
        totals.contains("calls") && totals.contains("tokens"),
        "{totals}"
    );
    Ok(())
}

/// A Steward run from the window: the graph is drawn as cards, each ending done, the first
/// with the fact it read.
async fn steward_graph(client: &Client) -> Result<(), String> {
    click(client, "#task-preset option[value='steward']").await?;
    run_to_success(client, "write the line once more with the steward").await?;
    let cards = client
        .find_all(Locator::Css("#task-graph li.node"))
        .await
        .map_err(|e| e.to_string())?;
    assert_eq!(cards.len(), 2);
    // The state is shown in capitals (CSS): compared in lower case.
    let first = cards[0]
        .text()
        .await
        .map_err(|e| e.to_string())?
        .to_lowercase();
    let second = cards[1]
        .text()
        .await
        .map_err(|e| e.to_string())?
        .to_lowercase();
    for part in ["n1", "mousepad", "done", &format!("line = {LINE}")] {
        assert!(first.contains(part), "{part:?} missing in {first:?}");
    }
    assert!(second.contains("n2") && second.contains("done"), "{second}");
    let page = client.screenshot().await.map_err(|e| e.to_string())?;
    std::fs::write(GRAPH_PAGE, page).map_err(|e| e.to_string())?;
    click(client, "#task-preset option[value='']").await
}

async fn stop_a_task(client: &Client) -> Result<(), String> {
    let task = find(client, "#task").await?;
    task.clear().await.map_err(|e| e.to_string())?;
    task.send_keys("keep waiting")
        .await
        .map_err(|e| e.to_string())?;
    click(client, "#task-run").await?;
    // Once a step is shown the run is under way, and the next Operator call takes a minute:
    // Stop ends the run long before that (the waits below give up after 30 s).
    wait_text(client, "#agent-steps li .stats", |t| t.contains("tokens")).await?;
    click(client, "#task-stop").await?;
    let status = wait_text(client, "#task-status", |t| t.contains("cancelled")).await?;
    assert!(status.starts_with("run "), "{status}");
    wait_enabled(client, "#task-run").await?;
    Ok(())
}

async fn click(client: &Client, css: &str) -> Result<(), String> {
    find(client, css)
        .await?
        .click()
        .await
        .map_err(|e| e.to_string())
}

/// Waits for an attribute of a child element to be set (images arrive after the step).
async fn wait_attr(
    parent: &fantoccini::elements::Element,
    css: &str,
    name: &str,
) -> Result<String, String> {
    let started = Instant::now();
    while started.elapsed() < TIMEOUT {
        if let Ok(el) = parent.find(Locator::Css(css)).await {
            if let Ok(Some(v)) = el.attr(name).await {
                if !v.is_empty() {
                    return Ok(v);
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(format!("{css} never got a {name}"))
}
