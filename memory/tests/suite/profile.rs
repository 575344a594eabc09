//! Level 1 of the user's memory in a real SQLite file: readings applied per source (the
//! source's old items replaced, others kept, similar shades merged, the user's edits and
//! deletions kept), supports that outlive an unchanged chunk, forgetting that removes all a
//! source gave; and, with the real embedding model, facts recalled by meaning and tips and
//! shortcuts found by meaning as well as by words.

use std::sync::Arc;

use deskhand_core::experience::{Experience, PersonalMemory, Shortcut, ShortcutParam, Tip};
use deskhand_core::profile::{Author, FactProposal, ShadeProposal, SourceReading};
use deskhand_memory::SqliteMemory;

use super::user::Counting;

fn reading(facts: &[(&str, &str, i64)], shades: &[(&str, i64)]) -> SourceReading {
    SourceReading {
        summary: "about the user".into(),
        keywords: vec!["self".into()],
        facts: facts
            .iter()
            .map(|(k, v, c)| FactProposal {
                key: k.to_string(),
                value: v.to_string(),
                chunk: *c,
                confidence: 0.9,
            })
            .collect(),
        shades: shades
            .iter()
            .map(|(n, c)| ShadeProposal {
                existing: None,
                name: n.to_string(),
                description: format!("{n} matters to them"),
                confidence: 0.7,
                chunks: vec![*c],
            })
            .collect(),
    }
}

#[test]
fn readings_replace_what_their_source_gave_merge_shades_and_keep_the_users_edits() {
    let dir = tempfile::tempdir().unwrap();
    let mut db = SqliteMemory::open(&dir.path().join("m.db")).unwrap();
    let file = dir.path().join("me.md");
    std::fs::write(
        &file,
        "# Home\n\nI live in Manchester.\n\n# Sport\n\nI climb on Saturdays.\n",
    )
    .unwrap();
    let a = db.add_file(&file, None, None, &mut |_, _| {}).unwrap();
    let b = db
        .add_note("I also go bouldering with Sam.", None, None)
        .unwrap();
    assert_eq!(db.unread_sources().unwrap().len(), 2);
    let chunks = db.source_chunks(a.source).unwrap();
    let (home, sport) = (chunks[0].id, chunks[1].id);
    let note_chunk = db.source_chunks(b.source).unwrap()[0].id;

    let r = db
        .apply_reading(
            a.source,
            &reading(&[("City", "Manchester", home)], &[("Climbing", sport)]),
        )
        .unwrap();
    assert_eq!((r.facts, r.new_shades), (1, 1));
    // A chunk id of another source is not taken as support.
    let r = db
        .apply_reading(
            b.source,
            &reading(
                &[("friend", "Sam", note_chunk), ("pet", "cat", home)],
                &[("climbing", note_chunk)],
            ),
        )
        .unwrap();
    assert_eq!(
        (r.facts, r.new_shades, r.merged_shades),
        (1, 0, 1),
        "same shade, merged"
    );
    assert!(db.unread_sources().unwrap().is_empty());
    let shades = db.shades().unwrap();
    assert_eq!(shades.len(), 1);
    assert_eq!(shades[0].support.len(), 2);
    assert_eq!(db.facts().unwrap().len(), 2);

    // The user's edits win; deletions stay deleted.
    db.set_fact("city", "Leeds").unwrap();
    db.delete_fact("friend").unwrap();
    let r = db
        .apply_reading(
            b.source,
            &reading(
                &[("friend", "Sam", note_chunk)],
                &[("climbing", note_chunk)],
            ),
        )
        .unwrap();
    assert_eq!(r.kept_yours, 1);
    let facts = db.facts().unwrap();
    assert_eq!(facts.len(), 1);
    assert_eq!(
        (facts[0].value.as_str(), facts[0].author),
        ("Leeds", Author::User)
    );
    db.edit_shade(shades[0].id, None, Some("climbs most weekends"))
        .unwrap();
    db.apply_reading(a.source, &reading(&[], &[("Climbing", sport)]))
        .unwrap();
    assert_eq!(db.shades().unwrap()[0].description, "climbs most weekends");

    // A changed file: its unchanged chunk keeps supporting the shade under a new id.
    std::fs::write(
        &file,
        "# Home\n\nI live in Leeds now.\n\n# Sport\n\nI climb on Saturdays.\n",
    )
    .unwrap();
    db.add_file(&file, None, None, &mut |_, _| {}).unwrap();
    assert_eq!(
        db.unread_sources().unwrap().len(),
        1,
        "only the changed file is unread"
    );
    let shade = &db.shades().unwrap()[0];
    let new_sport = db.source_chunks(a.source).unwrap()[1].id;
    assert!(
        shade.support.iter().any(|s| s.chunk == Some(new_sport)),
        "{shade:?}"
    );

    // Bio versions: the user's wins over a later one from the model.
    db.add_bio(
        "I climb.",
        "They climb.",
        Author::Model,
        &[a.source, b.source],
    )
    .unwrap();
    db.add_bio(
        "I climb and live in Leeds.",
        "They climb.",
        Author::User,
        &[],
    )
    .unwrap();
    db.add_bio(
        "I climb a lot.",
        "They climb a lot.",
        Author::Model,
        &[b.source],
    )
    .unwrap();
    assert_eq!(
        db.bio().unwrap().unwrap().first_person,
        "I climb and live in Leeds."
    );
    assert_eq!(db.bios().unwrap().len(), 3);

    // Forgetting the note takes its supports and the model's bio versions written from it.
    db.forget(&b.source.to_string()).unwrap();
    let bios = db.bios().unwrap();
    assert_eq!(bios.len(), 1, "{bios:?}");
    assert_eq!(bios[0].author, Author::User);
    let shade = &db.shades().unwrap()[0];
    assert!(shade.support.iter().all(|s| s.source == a.source));
    let export = db.export_personal().unwrap();
    assert_eq!(export.sources.len(), 1);
    assert_eq!(export.sources[0].chunks.len(), 2);
}

#[test]
fn facts_are_recalled_and_tips_and_shortcuts_found_by_meaning() {
    let dir = tempfile::tempdir().unwrap();
    let mut db = SqliteMemory::open(&dir.path().join("m.db")).unwrap();
    let embedder = Arc::new(Counting::new());
    db.set_embedder(embedder.clone());
    db.set_fact("dentist", "Dr. Alvarez, Baker Street").unwrap();
    db.set_fact("favourite colour", "teal").unwrap();
    let got = db.recall("who takes care of my teeth", 5).unwrap();
    assert_eq!(
        got.first().map(|r| r.text.as_str()),
        Some("dentist: Dr. Alvarez, Baker Street"),
        "{got:?}"
    );
    assert!(got.iter().all(|r| !r.text.contains("teal")), "{got:?}");
    // Vectors of facts are kept: a second recall embeds no fact again.
    embedder.taken();
    db.recall("who takes care of my teeth", 5).unwrap();
    assert_eq!(embedder.taken(), 0);

    for text in [
        "Press ctrl+s to save the file before closing the window.",
        "The search bar opens with ctrl+f.",
        "Zoom in with ctrl+plus when the text is small.",
        "Undo the last change with ctrl+z.",
        "Use the tab key to move between form fields.",
        "Select all text with ctrl+a before replacing it.",
    ] {
        db.add_tip(&Tip {
            id: 0,
            app: "mousepad".into(),
            text: text.into(),
            source_run: None,
            uses: 0,
            created_ms: 0,
        })
        .unwrap();
    }
    // No word in common with the saving tip, yet it comes first.
    let tips = db
        .relevant_tips("mousepad", "store the document on disk", 2)
        .unwrap();
    assert!(tips[0].text.starts_with("Press ctrl+s to save"), "{tips:?}");
    let tips = db
        .relevant_tips("mousepad", "search for a phrase", 1)
        .unwrap();
    assert!(tips[0].text.contains("search bar"), "{tips:?}");

    for (name, description) in [
        ("save_as", "Save the current document under a new file name"),
        ("new_window", "Open a second editor window"),
        ("print_page", "Send the document to the printer"),
    ] {
        db.save_shortcut(&Shortcut {
            id: 0,
            app: "mousepad".into(),
            name: name.into(),
            description: description.into(),
            parameters: vec![ShortcutParam {
                name: "x".into(),
                description: "a value".into(),
            }],
            precondition: String::new(),
            requires: None,
            steps: vec!["type '{x}'".into()],
            source_run: None,
            uses: 0,
            successes: 0,
        })
        .unwrap();
    }
    let found = db
        .relevant_shortcuts("mousepad", "store it with another name", 1)
        .unwrap();
    assert_eq!(found[0].name, "save_as", "{found:?}");
}
