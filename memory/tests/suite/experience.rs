//! Tips, shortcuts, the model-call log, agent step info, migrations and export/import on real
//! SQLite files.

use deskhand_core::experience::{Experience, Shortcut, ShortcutParam, Tip};
use deskhand_core::ports::{MemoryStore, RunStatus};
use deskhand_core::PortErrorKind;
use deskhand_memory::{ExperienceExport, SqliteMemory};

use super::records::{agent_info, call};
use crate::step;

fn tip(app: &str, text: &str) -> Tip {
    Tip {
        id: 0,
        app: app.into(),
        text: text.into(),
        source_run: Some(1),
        uses: 0,
        created_ms: 0,
    }
}

fn shortcut(app: &str, name: &str, description: &str) -> Shortcut {
    Shortcut {
        id: 0,
        name: name.into(),
        app: app.into(),
        description: description.into(),
        parameters: vec![ShortcutParam {
            name: "file".into(),
            description: "file name".into(),
        }],
        precondition: "a document is open".into(),
        requires: Some("menu 'File'".into()),
        steps: vec![
            "key ctrl+shift+s".into(),
            "type \"{file}\"".into(),
            "key Return".into(),
        ],
        source_run: Some(1),
        uses: 0,
        successes: 0,
    }
}

#[test]
fn an_old_version_3_database_keeps_its_rows_and_gains_the_new_tables() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("deskhand.db");
    {
        // The schema exactly as version 3 left it, with one run and one step.
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(
            "CREATE TABLE runs (
                id INTEGER PRIMARY KEY, task TEXT NOT NULL, status TEXT NOT NULL,
                started_ms INTEGER NOT NULL, finished_ms INTEGER, summary TEXT NOT NULL DEFAULT '');
             CREATE TABLE steps (
                run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
                idx INTEGER NOT NULL, request TEXT NOT NULL, action_json TEXT, point_x REAL,
                point_y REAL, target TEXT, ok INTEGER NOT NULL, error TEXT, screenshot TEXT,
                perceive_ms INTEGER NOT NULL, act_ms INTEGER NOT NULL, started_ms INTEGER NOT NULL,
                PRIMARY KEY (run_id, idx));
             CREATE INDEX runs_by_start ON runs(started_ms);
             ALTER TABLE steps ADD COLUMN effect_json TEXT;
             ALTER TABLE steps ADD COLUMN policy_json TEXT;
             INSERT INTO runs VALUES (7, 'old task', 'succeeded', 100, 200, 'done');
             INSERT INTO steps (run_id, idx, request, ok, perceive_ms, act_ms, started_ms)
                VALUES (7, 0, 'key ctrl+s', 1, 5, 6, 150);
             PRAGMA user_version = 3;",
        )
        .unwrap();
    }
    let mut m = SqliteMemory::open(&path).unwrap();
    let runs = m.recent_runs(10).unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(
        (runs[0].id, runs[0].task.as_str(), runs[0].status),
        (7, "old task", RunStatus::Succeeded)
    );
    let steps = m.steps(7).unwrap();
    assert_eq!(steps.len(), 1);
    assert_eq!(steps[0].request, "key ctrl+s");
    assert_eq!((steps[0].perceive_ms, steps[0].act_ms), (5, 6));
    assert!(steps[0].agent.is_none());
    // The new tables work on the migrated file.
    m.record_call(7, &call(0, "manager")).unwrap();
    let id = m
        .add_tip(&tip("mousepad", "Save As is ctrl+shift+s"))
        .unwrap();
    assert_eq!(m.relevant_tips("mousepad", "save", 5).unwrap()[0].id, id);
    drop(m);
    let conn = rusqlite::Connection::open(&path).unwrap();
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert!(version > 3);
}

#[test]
fn agent_step_info_round_trips_through_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("deskhand.db");
    let mut with_agent = step(1);
    with_agent.agent = Some(agent_info(4));
    let run = {
        let mut m = SqliteMemory::open(&path).unwrap();
        let run = m.start_run("agent", 1).unwrap();
        m.record_step(run, &step(0)).unwrap();
        m.record_step(run, &with_agent).unwrap();
        run
    };
    let m = SqliteMemory::open(&path).unwrap();
    assert_eq!(m.steps(run).unwrap(), vec![step(0), with_agent]);
}

#[test]
fn equivalent_tips_are_stored_once_per_app() {
    let dir = tempfile::tempdir().unwrap();
    let mut m = SqliteMemory::open(&dir.path().join("deskhand.db")).unwrap();
    let a = m
        .add_tip(&tip("mousepad", "In Mousepad, Save As is ctrl+shift+s."))
        .unwrap();
    // Case, spacing and trailing punctuation do not make a new tip.
    assert_eq!(
        m.add_tip(&tip(
            "Mousepad",
            "  in mousepad,   SAVE AS is ctrl+shift+s!! "
        ))
        .unwrap(),
        a
    );
    // Nearly the same words (Jaccard 8/9 >= 0.8) is the same tip.
    assert_eq!(
        m.add_tip(&tip(
            "mousepad",
            "In Mousepad, Save As is ctrl+shift+s always"
        ))
        .unwrap(),
        a
    );
    // The same text for another app, or a different lesson, is a new tip.
    let b = m
        .add_tip(&tip("gedit", "In Mousepad, Save As is ctrl+shift+s."))
        .unwrap();
    let c = m
        .add_tip(&tip("mousepad", "Close the Save dialog with Escape"))
        .unwrap();
    assert!(a != b && b != c && a != c);
    assert_eq!(m.list_tips(None).unwrap().len(), 3);
    assert_eq!(m.list_tips(Some("MOUSEPAD")).unwrap().len(), 2);
    let stored = m.get_tip(a).unwrap();
    assert_eq!(stored.app, "mousepad");
    assert_eq!(stored.text, "In Mousepad, Save As is ctrl+shift+s.");
    assert_eq!(stored.source_run, Some(1));
    assert!(stored.created_ms > 0);
    let err = m.add_tip(&tip("mousepad", "  ... ")).unwrap_err();
    assert_eq!(err.kind, PortErrorKind::InvalidInput);
    assert!(err.message.contains("empty"), "{}", err.message);
}

#[test]
fn retrieval_ranks_by_words_scopes_by_app_and_survives_punctuation() {
    let dir = tempfile::tempdir().unwrap();
    let mut m = SqliteMemory::open(&dir.path().join("deskhand.db")).unwrap();
    let save = m
        .add_tip(&tip(
            "mousepad",
            "Save As is ctrl+shift+s; the file name field has focus",
        ))
        .unwrap();
    let generic_save = m
        .add_tip(&tip("", "Saving files: type the whole path"))
        .unwrap();
    let font = m
        .add_tip(&tip("mousepad", "The font dialog is under View"))
        .unwrap();
    let other_app = m
        .add_tip(&tip("galculator", "Save the result with ctrl+c"))
        .unwrap();
    let query = r#"Save the note as "report.txt" (in ~/docs) -- AND NOT: now*"#;
    let ids = |v: Vec<Tip>| v.into_iter().map(|t| t.id).collect::<Vec<_>>();
    // Word matches first (stemmed: "saving" matches "save"), other apps never, then the
    // app's other tips fill up to the limit.
    let got = ids(m.relevant_tips("Mousepad", query, 10).unwrap());
    assert_eq!(got[..2], [save, generic_save], "{got:?}");
    assert!(got.contains(&font) && !got.contains(&other_app), "{got:?}");
    assert_eq!(got.len(), 3);
    assert_eq!(ids(m.relevant_tips("mousepad", query, 1).unwrap()), [save]);
    // No word matches: the app's tips still come, app-specific first.
    let got = ids(m.relevant_tips("mousepad", "zzz qqq", 10).unwrap());
    assert_eq!(got[0], font, "{got:?}");
    assert!(got.contains(&save) && got.contains(&generic_save));
    // An empty or punctuation-only query works too.
    assert_eq!(m.relevant_tips("mousepad", "", 10).unwrap().len(), 3);
    assert_eq!(m.relevant_tips("mousepad", "\"*()'", 10).unwrap().len(), 3);
    // An unknown app gets the app-independent tips only.
    assert_eq!(
        ids(m.relevant_tips("xterm", query, 10).unwrap()),
        [generic_save]
    );
    assert!(m.relevant_tips("mousepad", query, 0).unwrap().is_empty());
    // On equal relevance the app's tip comes before the generic one.
    let dir2 = tempfile::tempdir().unwrap();
    let mut m2 = SqliteMemory::open(&dir2.path().join("deskhand.db")).unwrap();
    let generic = m2.add_tip(&tip("", "Undo with ctrl+z")).unwrap();
    let specific = m2.add_tip(&tip("mousepad", "Undo with ctrl+z")).unwrap();
    assert_eq!(
        ids(m2.relevant_tips("mousepad", "undo", 5).unwrap()),
        [specific, generic]
    );
    // Used tips are counted; the most used come first when nothing matches.
    m2.tips_used(&[generic, generic, 999]).unwrap();
    assert_eq!(m2.get_tip(generic).unwrap().uses, 1);
    let s = m2
        .save_shortcut(&shortcut(
            "mousepad",
            "save_as",
            "Save the document under a new name",
        ))
        .unwrap();
    let g = m2
        .save_shortcut(&shortcut("", "save_file", "Save a file in any dialog"))
        .unwrap();
    m2.save_shortcut(&shortcut("galculator", "save_result", "Save the result"))
        .unwrap();
    let sc = |v: Vec<Shortcut>| v.into_iter().map(|s| s.id).collect::<Vec<_>>();
    assert_eq!(
        sc(m2.relevant_shortcuts("mousepad", query, 5).unwrap()),
        [s, g]
    );
    assert_eq!(
        sc(m2.relevant_shortcuts("mousepad", "new name!", 1).unwrap()),
        [s]
    );
    assert_eq!(
        sc(m2.relevant_shortcuts("mousepad", "", 5).unwrap()),
        [s, g]
    );
}

#[test]
fn invalid_shortcuts_are_refused_with_the_problem_named() {
    let dir = tempfile::tempdir().unwrap();
    let mut m = SqliteMemory::open(&dir.path().join("deskhand.db")).unwrap();
    let mut bad_name = shortcut("mousepad", "Save As", "x");
    bad_name.name = "Save As".into();
    let mut no_steps = shortcut("mousepad", "save_as", "x");
    no_steps.steps.clear();
    no_steps.parameters.clear();
    let mut undeclared = shortcut("mousepad", "save_as", "x");
    undeclared.steps.push("type \"{folder}\"".into());
    let mut unused = shortcut("mousepad", "save_as", "x");
    unused.parameters.push(ShortcutParam {
        name: "encoding".into(),
        description: String::new(),
    });
    for (s, says) in [
        (bad_name, "snake_case"),
        (no_steps, "no steps"),
        (undeclared, "{folder} is used in the steps but not declared"),
        (
            unused,
            "\"encoding\" is declared but no step uses {encoding}",
        ),
    ] {
        let err = m.save_shortcut(&s).unwrap_err();
        assert_eq!(err.kind, PortErrorKind::InvalidInput);
        assert!(err.message.contains(says), "{}", err.message);
    }
    assert!(m.list_shortcuts(None).unwrap().is_empty());
}

#[test]
fn saving_a_shortcut_again_replaces_it_and_keeps_its_counts() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("deskhand.db");
    let id = {
        let mut m = SqliteMemory::open(&path).unwrap();
        let id = m
            .save_shortcut(&shortcut("Mousepad", "save_as", "Save under a name"))
            .unwrap();
        m.shortcut_used(id, true).unwrap();
        m.shortcut_used(id, false).unwrap();
        m.shortcut_used(id, true).unwrap();
        let mut newer = shortcut("mousepad", "save_as", "Save the document under a new name");
        newer.steps.insert(0, "key Escape".into());
        newer.uses = 99; // counts come from the store, not from the caller
        assert_eq!(m.save_shortcut(&newer).unwrap(), id);
        assert_eq!(
            m.shortcut_used(id + 100, true).unwrap_err().kind,
            PortErrorKind::NotFound
        );
        id
    };
    let m = SqliteMemory::open(&path).unwrap();
    let s = m.get_shortcut("save_as").unwrap();
    assert_eq!(s.id, id);
    assert_eq!((s.uses, s.successes), (3, 2));
    assert_eq!(s.description, "Save the document under a new name");
    assert_eq!(s.steps[0], "key Escape");
    assert_eq!(s.app, "mousepad");
    assert_eq!(s.requires.as_deref(), Some("menu 'File'"));
    assert_eq!(m.get_shortcut(&id.to_string()).unwrap(), s);
    assert_eq!(m.list_shortcuts(Some("mousepad")).unwrap(), vec![s]);
}

#[test]
fn model_calls_are_kept_in_order_and_survive_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("deskhand.db");
    let roles = ["manager", "operator", "reflector", "notetaker"];
    let (run, other) = {
        let mut m = SqliteMemory::open(&path).unwrap();
        let run = m.start_run("calls", 1).unwrap();
        let other = m.start_run("other", 2).unwrap();
        for step in 0..3 {
            for role in roles {
                m.record_call(run, &call(step, role)).unwrap();
            }
            m.record_call(other, &call(step, "operator")).unwrap();
        }
        assert_eq!(
            m.record_call(run + 100, &call(0, "x")).unwrap_err().kind,
            PortErrorKind::NotFound
        );
        // No finish_run, no clean close beyond the drop.
        (run, other)
    };
    let m = SqliteMemory::open(&path).unwrap();
    let expected: Vec<_> = (0..3)
        .flat_map(|s| roles.iter().map(move |r| call(s, r)))
        .collect();
    assert_eq!(m.calls(run).unwrap(), expected);
    assert_eq!(m.calls(other).unwrap().len(), 3);
    assert_eq!(
        m.calls(run + 100).unwrap_err().kind,
        PortErrorKind::NotFound
    );
}

#[test]
fn tips_are_edited_and_deleted_with_clear_errors_for_unknown_ids() {
    let dir = tempfile::tempdir().unwrap();
    let mut m = SqliteMemory::open(&dir.path().join("deskhand.db")).unwrap();
    let id = m
        .add_tip(&tip("mousepad", "Old lesson about menus"))
        .unwrap();
    let t = m.update_tip(id, "  Use the File menu to print ").unwrap();
    assert_eq!(t.text, "Use the File menu to print");
    // The search index follows the edit.
    assert_eq!(m.relevant_tips("other", "print", 5).unwrap().len(), 0);
    assert_eq!(m.relevant_tips("mousepad", "print", 1).unwrap()[0].id, id);
    assert_eq!(
        m.update_tip(id, " ").unwrap_err().kind,
        PortErrorKind::InvalidInput
    );
    for err in [
        m.update_tip(id + 1, "x").unwrap_err(),
        m.delete_tip(id + 1).unwrap_err(),
        m.get_tip(id + 1).unwrap_err(),
        m.delete_shortcut(5).unwrap_err(),
        m.get_shortcut("nope").unwrap_err(),
    ] {
        assert_eq!(err.kind, PortErrorKind::NotFound, "{}", err.message);
    }
    m.delete_tip(id).unwrap();
    assert!(m.list_tips(None).unwrap().is_empty());
    assert!(m.relevant_tips("mousepad", "print", 5).unwrap().is_empty());
}

#[test]
fn export_then_import_into_a_new_file_gives_the_same_experience() {
    let dir = tempfile::tempdir().unwrap();
    let mut a = SqliteMemory::open(&dir.path().join("a.db")).unwrap();
    a.add_tip(&tip("mousepad", "Save As is ctrl+shift+s"))
        .unwrap();
    a.add_tip(&tip("", "Dialogs close with Escape")).unwrap();
    a.add_tip(&tip("galculator", "Clear with Escape")).unwrap();
    let s = a
        .save_shortcut(&shortcut("mousepad", "save_as", "Save under a name"))
        .unwrap();
    a.shortcut_used(s, true).unwrap();
    a.save_shortcut(&shortcut("galculator", "save_result", "Save the result"))
        .unwrap();
    let all = a.export_experience(None).unwrap();
    assert_eq!(
        (all.version, all.tips.len(), all.shortcuts.len()),
        (1, 3, 2)
    );
    let json = serde_json::to_string_pretty(&all).unwrap();

    let mut b = SqliteMemory::open(&dir.path().join("b.db")).unwrap();
    let doc: ExperienceExport = serde_json::from_str(&json).unwrap();
    let report = b.import_experience(&doc).unwrap();
    assert_eq!(
        (report.tips_added, report.tips_skipped),
        (3, 0),
        "{report:?}"
    );
    assert_eq!((report.shortcuts_added, report.shortcuts_updated), (2, 0));
    assert!(report.invalid.is_empty());
    assert_eq!(b.export_experience(None).unwrap(), all);
    // Importing again adds nothing and keeps the counts.
    let again = b.import_experience(&doc).unwrap();
    assert_eq!((again.tips_added, again.tips_skipped), (0, 3));
    assert_eq!((again.shortcuts_added, again.shortcuts_updated), (0, 2));
    assert_eq!(b.export_experience(None).unwrap(), all);
    // One app only.
    let mp = a.export_experience(Some("mousepad")).unwrap();
    assert_eq!((mp.tips.len(), mp.shortcuts.len()), (1, 1));
    // Invalid entries are named; the rest is imported.
    let mut bad = doc.clone();
    bad.tips = vec![tip("xterm", "Paste with shift+insert"), tip("xterm", " ")];
    let mut broken = shortcut("xterm", "paste_it", "x");
    broken.steps.push("type {what}".into());
    bad.shortcuts = vec![broken, shortcut("xterm", "paste_file", "Paste a file name")];
    let report = b.import_experience(&bad).unwrap();
    assert_eq!((report.tips_added, report.shortcuts_added), (1, 1));
    assert_eq!(report.invalid.len(), 2, "{report:?}");
    assert!(report.invalid[0].contains("tip 2") && report.invalid[1].contains("paste_it"));
    // A document of another version is refused whole.
    let future = ExperienceExport { version: 2, ..doc };
    let err = b.import_experience(&future).unwrap_err();
    assert!(err.message.contains("version 2"), "{}", err.message);
}
