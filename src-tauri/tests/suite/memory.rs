//! The window's Memory tab, driven through WebDriver on a real database: it shows the bio,
//! facts, shades and sources the store holds, finds a note by meaning with the real
//! embedding model, and the user's edits (set and delete a fact, write the bio, forget a
//! source) land in the SQLite file.

use deskhand_core::profile::{Author, ShadeProposal, SourceReading};
use deskhand_memory::SqliteMemory;
use deskhand_xsession::VirtualDesktop;
use fantoccini::Client;

use super::webdriver::{connect, find, private_home, wait_painted, wait_text, Driver};

const PAGE: &str = "/tmp/deskhand-desktop-memory.png";

#[test]
fn memory_tab_shows_searches_and_edits_the_users_memory() {
    let desktop = VirtualDesktop::start(Default::default()).unwrap();
    desktop.export_env();
    let home = private_home();
    let db = home.path().join("data/deskhand.db");
    let (email, source) = {
        let mut m = SqliteMemory::open(&db).unwrap();
        let note = m
            .add_note(
                "Dr. Alvarez, dental surgery on Baker Street. Check-up every six months.",
                None,
                None,
            )
            .unwrap();
        let chunk = m.source_chunks(note.source).unwrap()[0].id;
        m.apply_reading(
            note.source,
            &SourceReading {
                summary: "The user's dentist.".into(),
                keywords: vec!["dentist".into()],
                shades: vec![ShadeProposal {
                    existing: None,
                    name: "Dental care".into(),
                    description: "Keeps regular dental check-ups".into(),
                    confidence: 0.7,
                    chunks: vec![chunk],
                }],
                facts: vec![],
            },
        )
        .unwrap();
        m.add_note("Grocery list: oats, lemons, coffee beans.", None, None)
            .unwrap();
        m.add_bio(
            "I see my dentist twice a year.",
            "They see their dentist twice a year.",
            Author::Model,
            &[note.source],
        )
        .unwrap();
        (
            m.set_fact("email", "jo.silva@example.org").unwrap().id,
            note.source,
        )
    };
    let driver = Driver::start(&home.path().join("tauri-driver.log"));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let client = connect(&driver).await;
        let result = drive(&client, &desktop, email, source).await;
        let _ = client.close().await;
        if let Err(e) = result {
            panic!("{e}\n--- tauri-driver log ---\n{}", driver.log_text());
        }
    });

    let m = SqliteMemory::open(&db).unwrap();
    let facts = m.facts().unwrap();
    assert_eq!(facts.len(), 1, "{facts:?}");
    assert_eq!(
        (facts[0].key.as_str(), facts[0].value.as_str()),
        ("city", "Manchester")
    );
    let bio = m.bio().unwrap().unwrap();
    assert_eq!(bio.author, Author::User);
    assert_eq!(bio.first_person, "I look after my teeth.");
    assert_eq!(
        m.sources().unwrap().len(),
        1,
        "the dentist's note was forgotten"
    );
    assert!(m.shades().unwrap().is_empty(), "its shade went with it");
}

async fn click(client: &Client, css: &str) -> Result<(), String> {
    find(client, css)
        .await?
        .click()
        .await
        .map_err(|e| e.to_string())
}

async fn type_into(client: &Client, css: &str, text: &str) -> Result<(), String> {
    let el = find(client, css).await?;
    el.clear().await.map_err(|e| e.to_string())?;
    el.send_keys(text).await.map_err(|e| e.to_string())
}

async fn drive(
    client: &Client,
    desktop: &VirtualDesktop,
    email: i64,
    source: i64,
) -> Result<(), String> {
    wait_painted(desktop).await?;
    click(client, "#tab-memory").await?;
    wait_text(client, "#facts", |t| t.contains("jo.silva@example.org")).await?;
    wait_text(client, "#shades", |t| t.contains("Dental care")).await?;
    wait_text(client, "#bio-version", |t| {
        t.contains("written by the memory model")
    })
    .await?;
    wait_text(client, "#sources", |t| t.contains("note:1")).await?;

    // Found by meaning: no word in common with the note.
    type_into(client, "#memory-query", "who takes care of my teeth").await?;
    click(client, "#memory-search").await?;
    let hits = wait_text(client, "#memory-hits", |t| !t.is_empty()).await?;
    let first = hits.lines().next().unwrap_or_default();
    assert!(first.contains("Dr. Alvarez"), "{hits}");

    type_into(client, "#fact-key", "city").await?;
    type_into(client, "#fact-value", "Manchester").await?;
    click(client, "#fact-add").await?;
    wait_text(client, "#facts", |t| t.contains("Manchester")).await?;
    click(client, &format!("tr[data-fact=\"{email}\"] button")).await?;
    wait_text(client, "#facts", |t| !t.contains("jo.silva")).await?;

    type_into(client, "#bio-first", "I look after my teeth.").await?;
    click(client, "#bio-save").await?;
    wait_text(client, "#bio-version", |t| t.contains("written by you")).await?;

    // An empty fact is refused with the reason, nothing stored.
    click(client, "#fact-add").await?;
    wait_text(client, "#memory-status", |t| {
        t.contains("needs a key and a value")
    })
    .await?;

    let page = client.screenshot().await.map_err(|e| e.to_string())?;
    std::fs::write(PAGE, page).map_err(|e| e.to_string())?;

    click(client, &format!("li[data-source=\"{source}\"] button")).await?;
    wait_text(client, "#sources", |t| !t.contains("note:1")).await?;
    wait_text(client, "#shades", |t| t.contains("No shades yet")).await?;
    Ok(())
}
