//! Bad input gets a clear error, nothing is executed, and the failure is recorded.

use deskhand_core::ports::{MemoryStore, RunStatus};
use deskhand_memory::SqliteMemory;
use deskhand_testkit::{find, start_app};

use super::{deskhand, text};

#[test]
fn typos_unknown_elements_and_off_screen_points_fail_before_anything_moves() {
    let session = start_app(&["galculator"], "alculator", "galculator", |t| {
        find(t, "toggle button", "7").is_some()
    })
    .unwrap();
    let data = tempfile::tempdir().unwrap();
    for (command, says) in [
        ("clik '7'", "unknown verb \"clik\""),
        (
            "click 'No Such Button'",
            "no element matches \"No Such Button\"",
        ),
        ("click 5000,5000", "outside every monitor"),
        ("key ctrl+hyper", "unknown key name"),
        ("click '7", "unclosed quote"),
    ] {
        let out = deskhand(data.path(), &["do", command]);
        // Refused before anything moved: a usage error, like `find` with no match.
        assert_eq!(out.status.code(), Some(2), "{command}: {}", text(&out));
        assert!(text(&out).contains(says), "{command}: {}", text(&out));
    }
    let db = SqliteMemory::open(&data.path().join("deskhand.db")).unwrap();
    let runs = db.recent_runs(10).unwrap();
    assert_eq!(runs.len(), 5);
    for run in runs {
        assert_eq!(run.status, RunStatus::Failed);
        let steps = db.steps(run.id).unwrap();
        assert_eq!(steps.len(), 1);
        // Refused before execution: no resolved point, no screenshot.
        assert!(!steps[0].ok && steps[0].point.is_none() && steps[0].screenshot.is_none());
    }
    // Actions as JSON: malformed ones never run; a valid one on a node id does.
    for (json, says) in [
        (r#"{"kind":"teleport"}"#, "unknown variant `teleport`"),
        (r#"{"kind":"click"}"#, "missing field `target`"),
        (r#"click the 7"#, "malformed action"),
        (r#"{"kind":"type","text":""}"#, "text is empty"),
        (
            r#"{"kind":"click","target":{"by":"node","id":"a1"},"speed":9}"#,
            "unknown field `speed`",
        ),
    ] {
        let out = deskhand(data.path(), &["act", json]);
        assert_eq!(out.status.code(), Some(2), "{json}: {}", text(&out));
        assert!(text(&out).contains(says), "{json}: {}", text(&out));
    }
    for (json, says) in [
        (
            r#"{"kind":"click","target":{"by":"point","x":-5,"y":3}}"#,
            "outside every monitor",
        ),
        (
            r#"{"kind":"click","target":{"by":"node","id":"a99999"}}"#,
            "a99999 is not on the current screen",
        ),
    ] {
        let out = deskhand(data.path(), &["act", json]);
        assert_eq!(out.status.code(), Some(2), "{json}: {}", text(&out));
        assert!(text(&out).contains(says), "{json}: {}", text(&out));
    }

    // A later command in a failing run never runs: galculator's display still shows 0.
    let out = deskhand(data.path(), &["do", "click 'Nope'", "click '7'"]);
    assert_eq!(out.status.code(), Some(2));
    let tree = deskhand_testkit::wait_for_tree(
        &session.reader,
        "galculator",
        std::time::Duration::from_secs(5),
        |_| true,
    )
    .unwrap();
    let display: Vec<String> = tree
        .walk()
        .iter()
        .filter(|(_, n)| n.role == "text")
        .filter_map(|(_, n)| n.text.clone())
        .collect();
    assert!(display.iter().any(|t| t.trim() == "0"), "{display:?}");
}

#[test]
fn no_display_is_a_clear_error_naming_the_fix() {
    std::env::remove_var("DISPLAY");
    let data = tempfile::tempdir().unwrap();
    let out = deskhand(data.path(), &["do", "key ctrl+s"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out).contains("no X display") && text(&out).contains("./x demo"),
        "{}",
        text(&out)
    );
}

#[test]
fn doctor_names_missing_models_and_the_setup_command() {
    std::env::remove_var("DISPLAY");
    let data = tempfile::tempdir().unwrap();
    let empty_cache = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_deskhand"))
        .args(["--data-dir", data.path().to_str().unwrap(), "doctor"])
        .env("DESKHAND_CACHE", empty_cache.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let t = text(&out);
    assert!(
        t.contains("FAIL onnx runtime") && t.contains("fix: ./x setup"),
        "{t}"
    );
    assert!(
        t.contains("FAIL model models/ocr/PP-OCRv6_rec_small.onnx"),
        "{t}"
    );
    assert!(
        t.contains("FAIL display") && t.contains("DISPLAY is not set"),
        "{t}"
    );

    // With the cache `./x setup` filled, the runtime and every model check out.
    let out = deskhand(data.path(), &["--json", "doctor"]);
    let checks: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for c in checks.as_array().unwrap() {
        let name = c["name"].as_str().unwrap();
        if name.starts_with("model ")
            || name == "onnx runtime"
            || name == "database"
            || name == "config"
        {
            assert_eq!(c["verdict"], "ok", "{c}");
        }
    }
}
