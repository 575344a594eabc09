//! Typing into mousepad and saving through its Save dialog, checked in the file on disk and
//! in the run recorded in SQLite.

use deskhand_core::ports::{MemoryStore, RunStatus};
use deskhand_core::NodeState;
use deskhand_memory::SqliteMemory;

use super::{deskhand, text};

#[test]
fn text_typed_into_mousepad_is_saved_to_disk_through_the_save_dialog() {
    let session = deskhand_testkit::start_mousepad().unwrap();
    let data = tempfile::tempdir().unwrap();
    let target = data.path().join("saved note.txt");
    let out = deskhand(
        data.path(),
        &[
            "do",
            "click text ''",
            "type 'first line\\nsecond line'",
            "key ctrl+s",
            "key ctrl+a",
            &format!("type '{}'", target.display()),
            "click button 'Save'",
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    // The save happens asynchronously in mousepad; give it a moment. GTK's file chooser
    // sometimes ignores the first Save while it completes the typed path: press it again,
    // as a person (and the demo) would.
    let read = |wait_ms: u64| {
        let start = std::time::Instant::now();
        while start.elapsed() < std::time::Duration::from_millis(wait_ms) {
            if let Ok(c) = std::fs::read_to_string(&target) {
                if !c.is_empty() {
                    return c;
                }
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        String::new()
    };
    let mut content = read(3000);
    if content.is_empty() {
        let out = deskhand(data.path(), &["do", "click button 'Save'"]);
        assert!(out.status.success(), "{}", text(&out));
        content = read(10_000);
    }
    assert_eq!(content.trim_end_matches('\n'), "first line\nsecond line");

    // The run and its six steps are in the database, each with a screenshot on disk.
    let db = SqliteMemory::open(&data.path().join("deskhand.db")).unwrap();
    let runs = db.recent_runs(10).unwrap();
    let run = runs.last().unwrap();
    assert_eq!(run.status, RunStatus::Succeeded);
    let steps = db.steps(run.id).unwrap();
    assert_eq!(steps.len(), 6);
    assert!(steps.iter().all(|s| s.ok));
    // The typed lines were read back from the editor's accessible text.
    assert_eq!(steps[1].effect.as_ref().unwrap().text_verified, Some(true));
    assert!(steps[5].target.as_deref().unwrap().contains("\"Save\""));
    for s in &steps {
        let shot = s.screenshot.as_ref().unwrap();
        assert!(std::fs::metadata(shot).unwrap().len() > 1000, "{shot}");
    }
    drop(session);
}

#[test]
fn non_ascii_text_round_trips_and_apps_open_and_take_focus() {
    use deskhand_core::ports::{Accessibility, TreeQuery, TreeScope};
    let mut session = deskhand_testkit::start_mousepad().unwrap();
    let data = tempfile::tempdir().unwrap();
    // Something of the user's on the clipboard, which must survive the paste.
    let mut xclip = std::process::Command::new("xclip")
        .args(["-selection", "clipboard", "-i"])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        xclip
            .stdin
            .take()
            .unwrap()
            .write_all(b"the user's clipboard")
            .unwrap();
    }
    xclip.wait().unwrap();
    let text = "Grüße aus 東京 — ✓";
    let out = deskhand(
        data.path(),
        &["do", "click text ''", &format!("type '{text}'")],
    );
    assert!(out.status.success(), "{}", super::text(&out));
    let tree = session
        .reader
        .tree(&TreeQuery::new(TreeScope::App("mousepad".into())))
        .unwrap();
    let typed = tree
        .walk()
        .into_iter()
        .find(|(_, n)| n.role == "text" && n.has(NodeState::Editable))
        .and_then(|(_, n)| n.text.clone());
    assert_eq!(typed.as_deref(), Some(text));
    let clip = session
        .desktop
        .run("xclip", &["-selection", "clipboard", "-o"])
        .unwrap();
    assert_eq!(clip, "the user's clipboard");

    // open and focus go through the desktop entry and the window manager.
    let out = deskhand(data.path(), &["do", "open galculator"]);
    assert!(out.status.success(), "{}", super::text(&out));
    session
        .desktop
        .wait_window(None, "alculator", std::time::Duration::from_secs(15))
        .unwrap();
    let out = deskhand(data.path(), &["do", "focus 'Mousepad'"]);
    assert!(out.status.success(), "{}", super::text(&out));
    let active = session
        .desktop
        .run("xdotool", &["getactivewindow", "getwindowname"])
        .unwrap();
    assert!(active.contains("Mousepad"), "{active}");
    let out = deskhand(data.path(), &["do", "focus 'No Such Window'"]);
    // No such window: unresolvable before anything moved.
    assert_eq!(out.status.code(), Some(2));
    assert!(
        super::text(&out).contains("No Such Window"),
        "{}",
        super::text(&out)
    );
    // galculator was started by deskhand, not by the desktop: stop it ourselves.
    let _ = session
        .desktop
        .run("xdotool", &["search", "--name", "alculator", "windowkill"]);
    let _ = &mut session;
}
