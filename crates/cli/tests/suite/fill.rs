//! `deskhand fill` on a real GTK form (zenity --forms): the fields are found on screen, the
//! user's memory (real store, real embedding model) reaches the Memory role's prompt, the
//! values it computes from that prompt are typed, an unknown field is left empty, and zenity
//! prints what was entered on OK. Memory is never sent to an endpoint on the network.

use std::process::{Command, Output};
use std::time::{Duration, Instant};

use deskhand_testkit::model_server::{RecordedRequest, Reply};
use deskhand_testkit::ScriptedModelServer;
use serde_json::json;

use super::{deskhand, text};

/// The Memory role as a model would answer: each field's value read from the memory lines
/// of the prompt ("[chunk:N] ... (from ...)"), or empty when no line states it.
fn memory_role(req: &RecordedRequest, _turn: usize) -> Reply {
    let t = &req.text;
    let section = |title: &str| -> Vec<String> {
        let head = format!("### {title}\n");
        t.find(&head)
            .map(|i| &t[i + head.len()..])
            .and_then(|b| b.split("\n\n").next())
            .map(|b| b.lines().map(str::to_string).collect())
            .unwrap_or_default()
    };
    let labels = section("Form fields");
    let lines = section("The user's memory");
    let find = |needle: &str, take: &dyn Fn(&str) -> Option<String>| {
        lines.iter().find(|l| l.contains(needle)).and_then(|l| {
            let id = l.trim_start_matches('[').split(']').next()?.to_string();
            Some((take(l)?, id))
        })
    };
    let fields: Vec<serde_json::Value> = labels
        .iter()
        .map(|label| {
            let got = match label.as_str() {
                "Name" => find("name is ", &|l| {
                    let v = l.split("name is ").nth(1)?;
                    Some(v.split(" (from").next()?.trim_end_matches('.').to_string())
                }),
                "Email" => find("@", &|l| {
                    l.split_whitespace()
                        .find(|w| w.contains('@'))
                        .map(str::to_string)
                }),
                "City" => find("live in ", &|l| {
                    Some(l.split("live in ").nth(1)?.split(',').next()?.to_string())
                }),
                _ => None,
            };
            match got {
                Some((value, id)) => {
                    json!({"label": label, "value": value, "source": id, "confidence": 0.9})
                }
                None => json!({"label": label, "value": "", "source": "", "confidence": 0.0}),
            }
        })
        .collect();
    Reply::json(&json!({ "fields": fields }))
}

fn fill(data: &std::path::Path, server: &ScriptedModelServer, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_deskhand"))
        .arg("--data-dir")
        .arg(data)
        .arg("fill")
        .args(args)
        .env("RUST_LOG", "warn")
        .env("DESKHAND_MODEL_URL", server.url())
        .env("DESKHAND_MODEL", "default")
        .env("DESKHAND_MEMORY_MODEL", "memory")
        .output()
        .expect("run deskhand")
}

#[test]
fn a_zenity_form_is_filled_from_memory_and_an_unknown_field_stays_empty() {
    let session = deskhand_testkit::start_app(
        &[
            "zenity",
            "--forms",
            "--title=Contact",
            "--text=Your details",
            "--add-entry=Name",
            "--add-entry=Email",
            "--add-entry=Phone",
            "--add-entry=City",
        ],
        "Contact",
        "zenity",
        |t| {
            t.walk()
                .iter()
                .filter(|(_, n)| n.role == "text" && n.has(deskhand_core::NodeState::Editable))
                .count()
                >= 4
        },
    )
    .unwrap();
    let data = tempfile::tempdir().unwrap();
    for note in [
        "My name is Jo Silva",
        "My personal email is jo.silva@example.org",
        "I live in Manchester, at 42 Elm Road",
        "I take my coffee black",
    ] {
        let out = deskhand(data.path(), &["memory", "note", note]);
        assert!(out.status.success(), "{}", text(&out));
    }

    // An endpoint on the network gets nothing, and nothing is typed.
    let ip = ScriptedModelServer::network_ip().expect("a network address (hostname -I)");
    let remote = ScriptedModelServer::start_on(ip).unwrap();
    remote.responder("memory", Box::new(memory_role));
    let out = fill(data.path(), &remote, &["--yes"]);
    assert!(!out.status.success());
    assert!(
        text(&out).contains("not sent") && text(&out).contains("trusted_endpoints"),
        "{}",
        text(&out)
    );
    assert!(remote.requests().is_empty());

    let server = ScriptedModelServer::start().unwrap();
    server.responder("memory", Box::new(memory_role));
    let out = fill(data.path(), &server, &["--yes"]);
    let said = text(&out);
    assert_eq!(out.status.code(), Some(0), "{said}");
    assert!(
        said.contains("form fields: Name, Email, Phone, City"),
        "{said}"
    );
    assert!(
        said.contains("Phone") && said.contains("memory does not say"),
        "{said}"
    );
    let prompt = &server.requests_for("memory")[0].text;
    assert!(
        prompt.contains("jo.silva@example.org") && prompt.contains("Manchester"),
        "{prompt}"
    );

    // For a person to look at: the filled form.
    let shot = std::env::temp_dir().join("deskhand-fill-zenity.png");
    let _ = deskhand(
        data.path(),
        &["perceive", "--screenshot", shot.to_str().unwrap()],
    );

    // OK: zenity prints the fields, separated by |.
    let ok = deskhand(data.path(), &["do", "click 'OK'"]);
    assert!(ok.status.success(), "{}", text(&ok));
    let deadline = Instant::now() + Duration::from_secs(10);
    let printed = loop {
        let log = std::fs::read_to_string(&session.app.log).unwrap_or_default();
        if let Some(line) = log.lines().find(|l| l.contains('|')) {
            break line.to_string();
        }
        assert!(Instant::now() < deadline, "zenity printed nothing: {log}");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(printed, "Jo Silva|jo.silva@example.org||Manchester");
    drop(session);
}
