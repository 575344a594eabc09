//! `deskhand memory`: import, list, show, edit, delete and export tips and shortcuts in the
//! real binary's database; bad input is a clear error that changes nothing.

use deskhand_core::experience::{Shortcut, Tip};
use deskhand_memory::{ExperienceExport, ImportReport};

use super::{deskhand, text};

const IMPORT: &str = r#"{
  "version": 1,
  "tips": [
    {"app": "Mousepad", "text": "Save As is ctrl+shift+s", "source_run": 3},
    {"app": "mousepad", "text": "save as is  CTRL+SHIFT+S."},
    {"app": "", "text": "Dialogs close with Escape"},
    {"app": "galculator", "text": "Clear the display with Escape"}
  ],
  "shortcuts": [
    {
      "name": "save_as",
      "app": "mousepad",
      "description": "Save the document under a new name",
      "parameters": [{"name": "file", "description": "the file name"}],
      "precondition": "a document is open",
      "requires": "menu 'File'",
      "steps": ["key ctrl+shift+s", "type \"{file}\"", "key Return"]
    },
    {
      "name": "clear_all",
      "app": "galculator",
      "description": "Clear everything",
      "steps": ["key Escape"]
    }
  ]
}
"#;

fn ok(out: &std::process::Output) -> String {
    assert!(out.status.success(), "{}", text(out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn tips_and_shortcuts_are_imported_listed_shown_edited_deleted_and_exported() {
    let data = tempfile::tempdir().unwrap();
    let d = data.path();
    let file = d.join("import.json");
    std::fs::write(&file, IMPORT).unwrap();
    let report: ImportReport = serde_json::from_str(&ok(&deskhand(
        d,
        &["--json", "memory", "import", file.to_str().unwrap()],
    )))
    .unwrap();
    assert_eq!((report.tips_added, report.tips_skipped), (3, 1));
    assert_eq!((report.shortcuts_added, report.shortcuts_updated), (2, 0));

    // Lists, as text and JSON, all or one app.
    let listed = ok(&deskhand(d, &["memory", "tips"]));
    for t in [
        "Save As is ctrl+shift+s",
        "Dialogs close with Escape",
        "Clear the display",
    ] {
        assert!(listed.contains(t), "{listed}");
    }
    let tips: Vec<Tip> = serde_json::from_str(&ok(&deskhand(
        d,
        &["--json", "memory", "tips", "--app", "mousepad"],
    )))
    .unwrap();
    assert_eq!(tips.len(), 1);
    assert_eq!(tips[0].source_run, Some(3));
    let id = tips[0].id.to_string();
    let shown = ok(&deskhand(d, &["memory", "tips", "show", &id]));
    assert!(
        shown.contains("Save As is ctrl+shift+s") && shown.contains("mousepad"),
        "{shown}"
    );

    // Edit, then the tip reads the new text.
    ok(&deskhand(
        d,
        &[
            "memory",
            "tips",
            "edit",
            &id,
            "Save As is ctrl+shift+s; type the full path",
        ],
    ));
    let edited: Tip = serde_json::from_str(&ok(&deskhand(
        d,
        &["--json", "memory", "tips", "show", &id],
    )))
    .unwrap();
    assert_eq!(edited.text, "Save As is ctrl+shift+s; type the full path");

    // Shortcuts: list, show with steps and parameters, delete by name.
    let listed = ok(&deskhand(d, &["memory", "shortcuts"]));
    assert!(
        listed.contains("save_as(file)") && listed.contains("clear_all()"),
        "{listed}"
    );
    let shown = ok(&deskhand(d, &["memory", "shortcuts", "show", "save_as"]));
    for part in [
        "{file}  the file name",
        "1. key ctrl+shift+s",
        "2. type \"{file}\"",
        "3. key Return",
        "requires:     menu 'File'",
    ] {
        assert!(shown.contains(part), "{part}: {shown}");
    }
    let shortcuts: Vec<Shortcut> = serde_json::from_str(&ok(&deskhand(
        d,
        &["--json", "memory", "shortcuts", "--app", "galculator"],
    )))
    .unwrap();
    assert_eq!(shortcuts.len(), 1);
    ok(&deskhand(
        d,
        &["memory", "shortcuts", "delete", "clear_all"],
    ));
    let gone = deskhand(d, &["memory", "shortcuts", "show", "clear_all"]);
    assert!(!gone.status.success());
    assert!(
        text(&gone).contains("there is no shortcut clear_all"),
        "{}",
        text(&gone)
    );

    // Delete a tip; an unknown id is a clear error.
    let all: Vec<Tip> =
        serde_json::from_str(&ok(&deskhand(d, &["--json", "memory", "tips"]))).unwrap();
    let calc = all.iter().find(|t| t.app == "galculator").unwrap().id;
    ok(&deskhand(
        d,
        &["memory", "tips", "delete", &calc.to_string()],
    ));
    for args in [
        ["memory", "tips", "delete", &calc.to_string()],
        ["memory", "tips", "show", "9999"],
    ] {
        let out = deskhand(d, &args);
        assert!(!out.status.success());
        assert!(text(&out).contains("there is no tip"), "{}", text(&out));
    }

    // Export: what is left, with the edit; it imports into a new data dir unchanged.
    let exported = d.join("export.json");
    ok(&deskhand(
        d,
        &["memory", "export", exported.to_str().unwrap()],
    ));
    let doc: ExperienceExport =
        serde_json::from_str(&std::fs::read_to_string(&exported).unwrap()).unwrap();
    let texts: Vec<&str> = doc.tips.iter().map(|t| t.text.as_str()).collect();
    assert_eq!(
        texts,
        [
            "Save As is ctrl+shift+s; type the full path",
            "Dialogs close with Escape"
        ]
    );
    assert_eq!(doc.shortcuts.len(), 1);
    assert_eq!(doc.shortcuts[0].name, "save_as");
    assert_eq!(doc.shortcuts[0].steps.len(), 3);
    let other = tempfile::tempdir().unwrap();
    ok(&deskhand(
        other.path(),
        &["memory", "import", exported.to_str().unwrap()],
    ));
    let again = ok(&deskhand(other.path(), &["memory", "export"]));
    assert_eq!(
        serde_json::from_str::<ExperienceExport>(&again).unwrap(),
        doc
    );
    let only_mousepad = ok(&deskhand(d, &["memory", "export", "--app", "mousepad"]));
    let only: ExperienceExport = serde_json::from_str(&only_mousepad).unwrap();
    assert_eq!((only.tips.len(), only.shortcuts.len()), (1, 1));
}

#[test]
fn a_malformed_import_file_is_a_clear_error_and_changes_nothing() {
    let data = tempfile::tempdir().unwrap();
    let d = data.path();
    let good = d.join("good.json");
    std::fs::write(&good, IMPORT).unwrap();
    ok(&deskhand(d, &["memory", "import", good.to_str().unwrap()]));
    let before = ok(&deskhand(d, &["memory", "export"]));

    // A missing comma on line 4.
    let bad = d.join("bad.json");
    std::fs::write(
        &bad,
        "{\n  \"version\": 1,\n  \"tips\": [\n    {\"app\": \"xterm\" \"text\": \"Paste with shift+insert\"}\n  ]\n}\n",
    )
    .unwrap();
    let out = deskhand(d, &["memory", "import", bad.to_str().unwrap()]);
    assert!(!out.status.success());
    let said = text(&out);
    assert!(
        said.contains("bad.json") && said.contains("line 4"),
        "{said}"
    );
    // A field that does not belong there.
    std::fs::write(&bad, "{\"version\": 1, \"tipz\": []}").unwrap();
    let out = deskhand(d, &["memory", "import", bad.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(
        text(&out).contains("unknown field `tipz`"),
        "{}",
        text(&out)
    );
    // An invalid shortcut is named; the valid entries are still imported.
    std::fs::write(
        &bad,
        r#"{"version": 1, "shortcuts": [{"name": "Bad Name", "description": "x", "steps": ["key a"]}]}"#,
    )
    .unwrap();
    let out = deskhand(d, &["memory", "import", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("Bad Name") && text(&out).contains("snake_case"),
        "{}",
        text(&out)
    );
    assert_eq!(ok(&deskhand(d, &["memory", "export"])), before);
    // A file that does not exist.
    let out = deskhand(d, &["memory", "import", "/nonexistent/x.json"]);
    assert!(!out.status.success());
    assert!(
        text(&out).contains("cannot read /nonexistent/x.json"),
        "{}",
        text(&out)
    );
}

/// Your own memory through the real binary and model: a folder is added (the binary file in
/// it skipped with the reason), a question that shares no word with its answer finds it,
/// adding again embeds nothing, and forgetting removes the source from search.
#[test]
fn files_and_notes_are_added_searched_by_meaning_and_forgotten() {
    let data = tempfile::tempdir().unwrap();
    let d = data.path();
    let docs = tempfile::tempdir().unwrap();
    let life = docs.path().join("life.md");
    std::fs::write(
        &life,
        "# Health\n\nDr. Alvarez, dental surgery on Baker Street. Check-up every six months.\n\n\
         # Travel\n\nPassport X4471203, issued in Lisbon, expires in August 2031.\n",
    )
    .unwrap();
    std::fs::write(docs.path().join("photo.jpg"), [0xffu8, 0xd8, 0, 0, 7]).unwrap();
    let out = deskhand(
        d,
        &[
            "memory",
            "add",
            docs.path().to_str().unwrap(),
            "--tag",
            "me",
        ],
    );
    let shown = ok(&out);
    assert!(
        shown.contains("new") && shown.contains("2 chunks, 2 embedded"),
        "{shown}"
    );
    assert!(shown.contains("photo.jpg: binary content"), "{shown}");
    let again = ok(&deskhand(d, &["memory", "add", life.to_str().unwrap()]));
    assert!(
        again.contains("unchanged") && again.contains("0 embedded"),
        "{again}"
    );
    ok(&deskhand(
        d,
        &["memory", "note", "I take my coffee black, no sugar"],
    ));

    let out = ok(&deskhand(
        d,
        &[
            "--json",
            "memory",
            "search",
            "who takes care of my teeth",
            "-k",
            "2",
        ],
    ));
    let hits: Vec<serde_json::Value> = serde_json::from_str(out.trim()).unwrap();
    assert!(hits.len() <= 2, "{out}");
    assert!(
        hits[0]["text"].as_str().unwrap().contains("Alvarez"),
        "{out}"
    );
    assert_eq!(hits[0]["why"], "vector", "{out}");
    assert_eq!(hits[0]["heading"], "Health");
    // Words only: the same question finds nothing of the dentist.
    let out = ok(&deskhand(
        d,
        &[
            "memory",
            "search",
            "who takes care of my teeth",
            "--keywords",
        ],
    ));
    assert!(!out.contains("Alvarez"), "{out}");
    let sources = ok(&deskhand(d, &["memory", "sources"]));
    assert!(
        sources.contains("life.md") && sources.contains("[me]") && sources.contains("note"),
        "{sources}"
    );

    let out = ok(&deskhand(d, &["memory", "forget", life.to_str().unwrap()]));
    assert!(out.contains("forgot"), "{out}");
    let out = ok(&deskhand(d, &["memory", "search", "Alvarez dentist"]));
    assert!(!out.contains("Alvarez"), "{out}");
    let out = deskhand(d, &["memory", "search", " "]);
    assert!(!out.status.success());
    assert!(text(&out).contains("query is empty"), "{}", text(&out));
}
