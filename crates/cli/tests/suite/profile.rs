//! What memory says about the user (level 1), through the real `deskhand` binary on a real
//! SQLite file with the real embedding model: the scripted Memory role answers from what its
//! prompt holds, so each assertion proves that a source's text reached the model and that
//! what came back was stored (facts citing their chunk, shades, a bio version). The user's
//! edits and deletions win over a later update, an invalid reading keeps what was there,
//! `ask` answers citing its source, `export` holds it all and `forget` takes it away.

use std::path::Path;
use std::process::Output;

use deskhand_testkit::model_server::{RecordedRequest, Reply};
use deskhand_testkit::ScriptedModelServer;
use serde_json::{json, Value};

use super::text;

/// The lines of a `### title` section of the prompt.
fn section(t: &str, title: &str) -> Vec<String> {
    let head = format!("### {title}\n");
    t.find(&head)
        .map(|i| &t[i + head.len()..])
        .map(|b| b.split("\n### ").next().unwrap_or(b))
        .map(|b| b.trim_end().lines().map(str::to_string).collect())
        .unwrap_or_default()
}

/// The text after `marker` in `line`, up to the next full stop or comma.
fn after(line: &str, marker: &str) -> Option<String> {
    let rest = line.split(marker).nth(1)?;
    Some(
        rest.split(['.', ','])
            .next()?
            .split(" (from")
            .next()?
            .trim()
            .to_string(),
    )
}

/// The Memory role as a model would answer, from its prompt only.
fn memory_role(req: &RecordedRequest, _turn: usize) -> Reply {
    let t = &req.text;
    if t.contains("### Chunks") {
        let lines = section(t, "Chunks");
        if lines.iter().any(|l| l.contains("GARBLED")) {
            return Reply::text("I could not make sense of this one, sorry.");
        }
        let mut chunk = 0i64;
        let (mut facts, mut shades, mut summary) = (vec![], vec![], String::new());
        for l in &lines {
            if let Some(id) = l.strip_prefix("[chunk ").and_then(|r| r.strip_suffix(']')) {
                chunk = id.parse().unwrap();
                continue;
            }
            if summary.is_empty() && !l.trim().is_empty() {
                summary = l.trim().to_string();
            }
            if let Some(v) = l.split_whitespace().find(|w| w.contains('@')) {
                let v = v.trim_end_matches(['.', ',']);
                facts.push(json!({"key": "email", "value": v, "chunk": chunk, "confidence": 0.95}));
            }
            if let Some(v) = after(l, "live in ") {
                facts.push(json!({"key": "city", "value": v, "chunk": chunk, "confidence": 0.9}));
            }
            if l.contains("climb") {
                shades.push(json!({"existing": null, "name": "Climbing",
                    "description": "climbs on Saturdays", "confidence": 0.8, "chunks": [chunk]}));
            }
        }
        return Reply::json(&json!({"summary": summary, "keywords": ["self"],
            "shades": shades, "facts": facts}));
    }
    if t.contains("### Question") {
        let question = section(t, "Question").join(" ");
        let items = section(t, "The user's memory");
        let hit = items
            .iter()
            .find(|l| question.contains("email") && l.contains('@'));
        return Reply::json(&match hit {
            Some(l) => {
                let id = l.trim_start_matches('[').split(']').next().unwrap();
                let email = l.split_whitespace().find(|w| w.contains('@')).unwrap();
                json!({"known": true, "answer": format!("It is {email}"), "sources": [id]})
            }
            None => json!({"known": false, "answer": "", "sources": []}),
        });
    }
    // The bio: from the facts section.
    let facts = section(t, "Facts").join("; ");
    Reply::json(&json!({
        "first_person": format!("About me: {facts}"),
        "third_person": format!("About them: {facts}"),
    }))
}

fn memory(data: &Path, server: &ScriptedModelServer, args: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_deskhand"))
        .arg("--data-dir")
        .arg(data)
        .arg("memory")
        .args(args)
        .env("RUST_LOG", "warn")
        .env("DESKHAND_MODEL_URL", server.url())
        .env("DESKHAND_MODEL", "default")
        .env("DESKHAND_MEMORY_MODEL", "memory")
        .output()
        .expect("run deskhand")
}

fn json_of(out: &Output) -> Value {
    assert!(out.status.success(), "{}", text(out));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(out)))
}

fn fact<'a>(facts: &'a Value, key: &str) -> Option<&'a Value> {
    facts.as_array().unwrap().iter().find(|f| f["key"] == key)
}

#[test]
fn memory_update_writes_facts_shades_and_a_bio_from_the_sources_and_the_users_edits_win() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let about = dir.path().join("about.md");
    std::fs::write(
        &about,
        "# Home\n\nI live in Manchester, near the canal.\n\n# Weekends\n\nI climb at the Northern Wall most Saturdays.\n",
    )
    .unwrap();
    let server = ScriptedModelServer::start().unwrap();
    server.map_model("memory", "memory");
    server.responder("memory", Box::new(memory_role));

    let out = memory(
        &data,
        &server,
        &["note", "My email is jo.silva@example.org."],
    );
    assert!(out.status.success(), "{}", text(&out));
    let out = memory(&data, &server, &["add", about.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out));

    let out = memory(&data, &server, &["update"]);
    let said = text(&out);
    assert!(out.status.success(), "{said}");
    assert!(
        said.contains("reading 1/2") && said.contains("reading 2/2"),
        "{said}"
    );
    assert!(
        said.contains("read 2 source(s)") && said.contains("bio version 1"),
        "{said}"
    );
    // Each source's text reached the model; the bio was written from the stored facts.
    let reads: Vec<String> = server
        .requests_for("memory")
        .into_iter()
        .map(|r| r.text)
        .collect();
    assert_eq!(reads.len(), 3, "two readings and the bio");
    assert!(reads
        .iter()
        .any(|r| r.contains("jo.silva@example.org") && r.contains("### Chunks")));
    assert!(
        reads[2].contains("- email: jo.silva@example.org")
            && reads[2].contains("- city: Manchester")
    );

    let facts = json_of(&memory(&data, &server, &["facts", "--json"]));
    let email = fact(&facts, "email").expect("the email fact");
    assert_eq!(email["value"], "jo.silva@example.org");
    assert_eq!(email["author"], "model");
    assert!(email["support"]["chunk"].as_i64().is_some(), "{email}");
    assert_eq!(fact(&facts, "city").unwrap()["value"], "Manchester");
    let shades = json_of(&memory(&data, &server, &["shades", "--json"]));
    assert_eq!(shades.as_array().unwrap().len(), 1, "{shades}");
    assert_eq!(shades[0]["name"], "Climbing");
    let bio = memory(&data, &server, &["bio"]);
    assert!(
        text(&bio).starts_with("About me:") && text(&bio).contains("- email: jo.silva@example.org"),
        "{}",
        text(&bio)
    );

    // Every call is in SQLite with the memory items its prompt held.
    let db = rusqlite::Connection::open(data.join("deskhand.db")).unwrap();
    let calls: Vec<String> = db
        .prepare("SELECT memory_json FROM model_calls WHERE role = 'memory' ORDER BY run_id, seq")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(calls.len(), 3);
    assert!(
        calls[0].contains("chunk:") && calls[2].contains("fact:"),
        "{calls:?}"
    );

    // Nothing changed: nothing is sent.
    server.clear_requests();
    let out = memory(&data, &server, &["update"]);
    assert!(text(&out).contains("nothing to update"), "{}", text(&out));
    assert_eq!(server.count("memory"), 0);

    // The user's edits win: a city they set and a shade they deleted survive a re-read.
    let out = memory(&data, &server, &["facts", "set", "City", "Leeds"]);
    assert!(out.status.success(), "{}", text(&out));
    let shade_id = shades[0]["id"].to_string();
    let out = memory(&data, &server, &["shades", "delete", &shade_id]);
    assert!(out.status.success(), "{}", text(&out));
    std::fs::write(
        &about,
        "# Home\n\nI live in Manchester, near the canal.\n\n# Weekends\n\nI climb at the Northern Wall most Saturdays.\n\n# Work\n\nI work nights at the hospital.\n",
    )
    .unwrap();
    let out = memory(&data, &server, &["add", about.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out));
    let out = memory(&data, &server, &["update"]);
    let said = text(&out);
    assert!(
        said.contains("read 1 source(s)") && said.contains("kept 2 of your own edits"),
        "{said}"
    );
    let facts = json_of(&memory(&data, &server, &["facts", "--json"]));
    // Set as "City", it is the model's "city" fact, now the user's.
    assert_eq!(fact(&facts, "City").unwrap()["value"], "Leeds");
    assert_eq!(fact(&facts, "City").unwrap()["author"], "user");
    assert!(fact(&facts, "city").is_none(), "{facts}");
    assert_eq!(
        fact(&facts, "email").unwrap()["value"],
        "jo.silva@example.org"
    );
    let shades = json_of(&memory(&data, &server, &["shades", "--json"]));
    assert_eq!(shades, json!([]), "a deleted shade stays deleted");
    let versions = json_of(&memory(&data, &server, &["bio", "--versions", "--json"]));
    assert_eq!(
        versions.as_array().unwrap().len(),
        2,
        "each version is kept"
    );

    // An invalid reading is kept out with the reason; what was there stays.
    let out = memory(&data, &server, &["note", "GARBLED notes from a bad day"]);
    assert!(out.status.success(), "{}", text(&out));
    let out = memory(&data, &server, &["update"]);
    let said = text(&out);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(
        said.contains("not read") && said.contains("invalid twice"),
        "{said}"
    );
    let facts_after = json_of(&memory(&data, &server, &["facts", "--json"]));
    assert_eq!(facts_after, facts);
}

#[test]
fn memory_ask_answers_with_its_source_export_holds_it_all_and_forget_removes_it() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = ScriptedModelServer::start().unwrap();
    server.map_model("memory", "memory");
    server.responder("memory", Box::new(memory_role));
    let out = memory(
        &data,
        &server,
        &["note", "My email is jo.silva@example.org."],
    );
    assert!(out.status.success(), "{}", text(&out));
    let out = memory(&data, &server, &["update"]);
    assert!(out.status.success(), "{}", text(&out));

    let out = memory(&data, &server, &["ask", "what is my email address?"]);
    let said = text(&out);
    assert!(out.status.success(), "{said}");
    assert!(
        said.contains("It is jo.silva@example.org") && said.contains("from note:"),
        "{said}"
    );
    let asked = server.requests_for("memory").pop().unwrap().text;
    assert!(
        asked.contains("### Question") && asked.contains("[fact:"),
        "{asked}"
    );
    let out = memory(
        &data,
        &server,
        &["ask", "which football team do I support?"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("does not say") || text(&out).contains("holds nothing"),
        "{}",
        text(&out)
    );

    let export = dir.path().join("all.json");
    let out = memory(&data, &server, &["export", export.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out));
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&export).unwrap()).unwrap();
    let personal = &doc["personal"];
    assert_eq!(
        personal["sources"][0]["chunks"][0]["text"],
        "My email is jo.silva@example.org."
    );
    assert_eq!(personal["facts"][0]["value"], "jo.silva@example.org");
    assert_eq!(personal["bios"].as_array().unwrap().len(), 1);
    assert!(!personal["digests"][0]["summary"]
        .as_str()
        .unwrap()
        .is_empty());

    let sources = json_of(&memory(&data, &server, &["sources", "--json"]));
    let id = sources[0]["id"].to_string();
    let out = memory(&data, &server, &["forget", &id]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        json_of(&memory(&data, &server, &["facts", "--json"])),
        json!([])
    );
    assert_eq!(
        json_of(&memory(&data, &server, &["bio", "--versions", "--json"])),
        json!([])
    );
    let db = rusqlite::Connection::open(data.join("deskhand.db")).unwrap();
    for table in ["digests", "facts", "item_vectors", "vectors", "chunks"] {
        let n: i64 = db
            .query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 0, "{table} still holds what the forgotten note gave");
    }
}

#[test]
fn memory_update_sends_nothing_to_an_untrusted_network_endpoint() {
    let Some(ip) = ScriptedModelServer::network_ip() else {
        eprintln!("skipped: this machine has no non-loopback address");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = ScriptedModelServer::start_on(ip).unwrap();
    server.map_model("memory", "memory");
    server.responder("memory", Box::new(memory_role));
    let out = memory(
        &data,
        &server,
        &["note", "My email is jo.silva@example.org."],
    );
    assert!(out.status.success(), "{}", text(&out));
    let out = memory(&data, &server, &["update"]);
    let said = text(&out);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(
        said.contains("not sent") && said.contains("trusted_endpoints"),
        "{said}"
    );
    assert_eq!(server.requests().len(), 0, "nothing reached the endpoint");
}
