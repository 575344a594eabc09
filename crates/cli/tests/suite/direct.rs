//! `deskhand do` sees what `look` sees, on applications whose content only vision reads:
//! file names in Thunar's icon view, words inside an editor's text. Each test proves the
//! outcome from outside (the file system, the app's accessible text, its windows).

use std::path::Path;
use std::time::Duration;

use deskhand_core::ports::{MemoryStore, RunStatus};
use deskhand_memory::SqliteMemory;
use deskhand_testkit::{start_app, AppSession};

use super::policy::editor_text;
use super::{deskhand, text};

/// Thunar showing `dir` (icon view: its file names are not on the accessibility bus).
fn thunar(dir: &Path) -> AppSession {
    start_app(
        &["thunar", dir.to_str().unwrap()],
        " - Thunar",
        "thunar",
        |t| t.walk().iter().any(|(_, n)| n.role == "directory pane"),
    )
    .unwrap()
}

fn files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// The id `look` printed for the label with exactly this name.
fn id_of(listing: &str, name: &str) -> String {
    let wanted = format!("label {name:?}");
    listing
        .lines()
        .map(str::trim_start)
        .find(|l| {
            l.split_once(' ')
                .is_some_and(|(_, rest)| rest.starts_with(&wanted))
        })
        .and_then(|l| l.split_once(' '))
        .map(|(id, _)| id.to_string())
        .unwrap_or_else(|| panic!("no {wanted} in\n{listing}"))
}

#[test]
fn ids_that_look_printed_open_files_and_a_typo_anywhere_moves_nothing() {
    let home = tempfile::tempdir().unwrap();
    let work = home.path().join("Work");
    std::fs::create_dir_all(work.join("Projects")).unwrap();
    for name in ["report.txt", "notes.txt", "cats.txt"] {
        std::fs::write(work.join(name), format!("{name}\n")).unwrap();
    }
    let mut session = thunar(&work);
    let data = tempfile::tempdir().unwrap();

    // A list whose third command has a typo: nothing runs, not even the Delete of the first two.
    let out = deskhand(
        data.path(),
        &["do", "click 'notes.txt'", "key Delete", "clik 'cats.txt'"],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("in command 3 of 3; nothing was run"),
        "{}",
        text(&out)
    );
    std::thread::sleep(Duration::from_millis(300));
    assert!(files(&work).contains(&"notes.txt".to_string()));
    let db = SqliteMemory::open(&data.path().join("deskhand.db")).unwrap();
    let run = db.recent_runs(1).unwrap().remove(0);
    assert_eq!(run.status, RunStatus::Failed);
    assert!(db.steps(run.id).unwrap().iter().all(|s| s.point.is_none()));

    // A name a letter off is refused with what is there instead, ids included.
    let out = deskhand(data.path(), &["do", "click 'reprot.txt'"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("nearest on screen: label \"report.txt\" (o"),
        "{}",
        text(&out)
    );

    // The id `look` printed for report.txt opens it in the next process.
    let out = deskhand(data.path(), &["look"]);
    assert!(out.status.success(), "{}", text(&out));
    let listing = String::from_utf8_lossy(&out.stdout).into_owned();
    let report = id_of(&listing, "report.txt");
    let out = deskhand(data.path(), &["do", &format!("double click {report}")]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains(&format!("label \"report.txt\" ({report})")),
        "{}",
        text(&out)
    );
    session
        .desktop
        .wait_window(None, "^report.txt", Duration::from_secs(20))
        .unwrap();
}

#[test]
fn files_are_dragged_into_folders_and_picked_with_ctrl_click() {
    let home = tempfile::tempdir().unwrap();
    let work = home.path().join("Work");
    std::fs::create_dir_all(work.join("Archive")).unwrap();
    std::fs::create_dir_all(work.join("Backup")).unwrap();
    for name in ["alpha.txt", "beta.txt", "gamma.txt", "old.log"] {
        std::fs::write(work.join(name), format!("{name}\n")).unwrap();
    }
    let _session = thunar(&work);
    let data = tempfile::tempdir().unwrap();
    let out = deskhand(data.path(), &["look"]);
    let listing = String::from_utf8_lossy(&out.stdout).into_owned();
    let old_log = id_of(&listing, "old.log");

    // A paced drag that GTK takes as a drop: the file moves on disk.
    let out = deskhand(data.path(), &["do", "drag 'old.log' to the Archive folder"]);
    assert!(out.status.success(), "{}", text(&out));
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while files(&work.join("Archive")).is_empty() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(files(&work.join("Archive")), ["old.log"]);

    // Its old id names something gone: refused, never another element under that id.
    let out = deskhand(data.path(), &["do", &format!("click {old_log}")]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains(&format!("node {old_log} is not on the current screen")),
        "{}",
        text(&out)
    );

    // ctrl+click adds gamma to alpha (beta stays out); the copy lands in Backup.
    let out = deskhand(
        data.path(),
        &[
            "do",
            "click 'alpha.txt'",
            "ctrl+click 'gamma.txt'",
            "key ctrl+c",
            "double click the Backup folder",
            "key ctrl+v",
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while files(&work.join("Backup")).len() < 2 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(files(&work.join("Backup")), ["alpha.txt", "gamma.txt"]);
    assert_eq!(
        files(&work),
        ["Archive", "Backup", "alpha.txt", "beta.txt", "gamma.txt"]
    );
}

#[test]
fn a_word_inside_a_text_is_aimed_at_and_held_keys_select() {
    let session = deskhand_testkit::start_mousepad().unwrap();
    let data = tempfile::tempdir().unwrap();
    let out = deskhand(
        data.path(),
        &["do", "click text ''", "type 'the quick brown fox jumps\\n'"],
    );
    assert!(out.status.success(), "{}", text(&out));
    // The word, not the centre of the line or of the text area: a double click selects
    // it and typing replaces it.
    let out = deskhand(data.path(), &["do", "double click 'brown'", "type 'red'"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(editor_text(&session), "the quick red fox jumps\n");
    // `find` aims at each word where it is on the line.
    let point = |word: &str| {
        let out = deskhand(data.path(), &["--json", "find", word]);
        assert!(out.status.success(), "{}", text(&out));
        let found: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        (
            found["point"]["x"].as_f64().unwrap(),
            found["point"]["y"].as_f64().unwrap(),
        )
    };
    let (quick, jumps) = (point("quick"), point("jumps"));
    assert!(jumps.0 - quick.0 > 80.0, "{quick:?} {jumps:?}");
    assert!((jumps.1 - quick.1).abs() < 4.0, "{quick:?} {jumps:?}");

    // hold/release in one list: shift held across End selects to the end of the line.
    let out = deskhand(
        data.path(),
        &[
            "do",
            "key ctrl+Home",
            "hold shift",
            "key End",
            "release shift",
            "type 'gone'",
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(editor_text(&session), "gone\n");
    // An unknown role word is refused with the known ones.
    let out = deskhand(data.path(), &["do", "click buton 'Save'"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("unknown role word \"buton\": use button"),
        "{}",
        text(&out)
    );
}
