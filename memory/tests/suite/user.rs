//! The user's own memory on a real SQLite file with the real embedding model: hybrid search
//! finds by meaning and by words, unchanged content is never embedded twice, a new model
//! re-embeds, forgetting removes everything derived, and bad input is refused.

use std::sync::atomic::{AtomicUsize, Ordering};

use deskhand_core::ports::{Embedder, Embedding};
use deskhand_core::PortError;
use deskhand_inference::{
    default_cache_dir, init_runtime, EmbedderOptions, ModelPaths, TextEmbedder,
};
use deskhand_memory::{SearchOptions, SqliteMemory, Why};

/// The real model, counting the texts it embeds, under an id the test can change.
pub(crate) struct Counting {
    inner: TextEmbedder,
    id: String,
    texts: AtomicUsize,
}

impl Counting {
    pub(crate) fn new() -> Self {
        let paths = ModelPaths::from_cache_dir(default_cache_dir());
        init_runtime(&paths.onnxruntime).unwrap();
        let inner = TextEmbedder::from_files(
            &paths.embed_model,
            &paths.embed_tokenizer,
            EmbedderOptions::default(),
        )
        .unwrap();
        let id = inner.model_id().to_string();
        Self {
            inner,
            id,
            texts: AtomicUsize::new(0),
        }
    }

    pub(crate) fn taken(&self) -> usize {
        self.texts.swap(0, Ordering::SeqCst)
    }
}

impl Embedder for Counting {
    fn model_id(&self) -> &str {
        &self.id
    }
    fn dimensions(&self) -> usize {
        self.inner.dimensions()
    }
    fn max_tokens(&self) -> usize {
        self.inner.max_tokens()
    }
    fn count_tokens(&self, text: &str) -> Result<usize, PortError> {
        self.inner.count_tokens(text)
    }
    fn embed_documents(&self, texts: &[&str]) -> Result<Vec<Embedding>, PortError> {
        self.texts.fetch_add(texts.len(), Ordering::SeqCst);
        self.inner.embed_documents(texts)
    }
    fn embed_query(&self, text: &str) -> Result<Embedding, PortError> {
        self.inner.embed_query(text)
    }
}

const NOTES: &str =
    "# Health\n\nDr. Alvarez, dental surgery on Baker Street. Check-up every six months.\n\n\
# Home\n\nHome router: network name Larkspur-5G, password tulip-orbit-92.\n\n\
# Family\n\nMaria's birthday is 3 June; she likes botanical prints and dark chocolate.\n";

fn count(db: &SqliteMemory, sql: &str) -> i64 {
    // The tests read the file through a second connection, as a user's sqlite3 would.
    let conn = rusqlite::Connection::open(db.path()).unwrap();
    conn.query_row(sql, [], |r| r.get(0)).unwrap()
}

#[test]
fn search_finds_by_meaning_and_words_and_unchanged_content_is_not_embedded_again() {
    let dir = tempfile::tempdir().unwrap();
    let e = Counting::new();
    let mut db = SqliteMemory::open(&dir.path().join("memory.db")).unwrap();
    let file = dir.path().join("notes.md");
    std::fs::write(&file, NOTES).unwrap();
    let mut progress = Vec::new();
    let r = db
        .add_file(&file, Some("personal"), Some(&e), &mut |d, t| {
            progress.push((d, t))
        })
        .unwrap();
    assert_eq!(
        (r.status.as_str(), r.chunks, r.embedded),
        ("new", 3, 3),
        "{r:?}"
    );
    assert_eq!(progress.last(), Some(&(3, 3)));
    assert_eq!(e.taken(), 3);
    db.add_note("I take my coffee black, no sugar.", None, Some(&e))
        .unwrap();
    assert_eq!(e.taken(), 1);

    // No word in common with the answer: found by its meaning.
    let hits = db
        .search_memory(
            "who takes care of my teeth",
            Some(&e),
            SearchOptions::default(),
        )
        .unwrap();
    assert!(hits[0].text.contains("Alvarez"), "{hits:?}");
    assert_eq!(hits[0].heading, "Health");
    assert_eq!(hits[0].why, Why::Vector);
    assert!(hits[0].source.ends_with("notes.md"));
    let keywords = db
        .search_memory(
            "who takes care of my teeth",
            Some(&e),
            SearchOptions {
                keywords_only: true,
                ..SearchOptions::default()
            },
        )
        .unwrap();
    assert!(
        keywords.iter().all(|h| !h.text.contains("Alvarez")),
        "{keywords:?}"
    );
    // A rare word is found by both.
    let hits = db
        .search_memory("Larkspur wifi password", Some(&e), SearchOptions::default())
        .unwrap();
    assert!(hits[0].text.contains("Larkspur"), "{hits:?}");
    assert_eq!(hits[0].why, Why::Both);
    assert!(hits.len() <= 5);
    assert_eq!(
        e.taken(),
        0,
        "queries are not documents; nothing was embedded"
    );

    // The same file again: one hash, nothing embedded.
    let r = db.add_file(&file, None, Some(&e), &mut |_, _| {}).unwrap();
    assert_eq!((r.status.as_str(), r.embedded), ("unchanged", 0));
    assert_eq!(e.taken(), 0);
    // One section changed: only its chunk is embedded.
    std::fs::write(&file, NOTES.replace("tulip-orbit-92", "maple-comet-17")).unwrap();
    let r = db.add_file(&file, None, Some(&e), &mut |_, _| {}).unwrap();
    assert_eq!(
        (r.status.as_str(), r.chunks, r.embedded),
        ("changed", 3, 1),
        "{r:?}"
    );
    assert_eq!(e.taken(), 1);
    assert_eq!(
        count(&db, "SELECT COUNT(*) FROM vectors"),
        4,
        "the old chunk's vector is gone"
    );
    let hits = db
        .search_memory("maple-comet", Some(&e), SearchOptions::default())
        .unwrap();
    assert!(hits[0].text.contains("maple-comet-17"), "{hits:?}");
}

#[test]
fn a_new_model_re_embeds_and_forgetting_removes_everything_derived() {
    let dir = tempfile::tempdir().unwrap();
    let mut e = Counting::new();
    let path = dir.path().join("memory.db");
    let mut db = SqliteMemory::open(&path).unwrap();
    let file = dir.path().join("notes.md");
    std::fs::write(&file, NOTES).unwrap();
    db.add_file(&file, None, Some(&e), &mut |_, _| {}).unwrap();
    assert_eq!(e.taken(), 3);
    drop(db);

    // Another model (id): the next search embeds every chunk again in the new space and
    // keeps no vector of the old one.
    e.id = format!("{}-v2", e.id);
    let mut db = SqliteMemory::open(&path).unwrap();
    let hits = db
        .search_memory(
            "who takes care of my teeth",
            Some(&e),
            SearchOptions::default(),
        )
        .unwrap();
    assert!(hits[0].text.contains("Alvarez"), "{hits:?}");
    assert_eq!(e.taken(), 3);
    assert_eq!(
        count(
            &db,
            &format!("SELECT COUNT(*) FROM vectors WHERE model <> '{}'", e.id)
        ),
        0
    );

    // A corrupt vector row is dropped and embedded again; search still answers.
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute(
        "UPDATE vectors SET vector = x'0000' WHERE hash = (SELECT hash FROM vectors LIMIT 1)",
        [],
    )
    .unwrap();
    drop(conn);
    let mut db = SqliteMemory::open(&path).unwrap();
    let hits = db
        .search_memory(
            "who takes care of my teeth",
            Some(&e),
            SearchOptions::default(),
        )
        .unwrap();
    assert!(hits[0].text.contains("Alvarez"), "{hits:?}");
    assert_eq!(e.taken(), 1, "only the corrupt row was embedded again");

    // Forget the file by its path: sources, chunks, full-text rows and vectors all go.
    let uri = db.forget(file.to_str().unwrap()).unwrap();
    assert!(uri.ends_with("notes.md"));
    for table in ["sources", "chunks", "vectors"] {
        assert_eq!(
            count(&db, &format!("SELECT COUNT(*) FROM {table}")),
            0,
            "{table}"
        );
    }
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) FROM chunks_fts WHERE chunks_fts MATCH 'Alvarez'"
        ),
        0
    );
    assert!(db
        .search_memory("Alvarez", Some(&e), SearchOptions::default())
        .unwrap()
        .is_empty());
    let err = db.forget("notes.md").unwrap_err();
    assert!(err.to_string().contains("memory sources"), "{err}");
}

#[test]
fn binary_files_empty_queries_and_empty_notes_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut db = SqliteMemory::open(&dir.path().join("memory.db")).unwrap();
    let bin = dir.path().join("photo.jpg");
    std::fs::write(&bin, [0xffu8, 0xd8, 0, 0, 1, 2]).unwrap();
    let e = db.add_file(&bin, None, None, &mut |_, _| {}).unwrap_err();
    assert!(e.to_string().contains("binary"), "{e}");
    let pdf = dir.path().join("a.pdf");
    std::fs::write(&pdf, b"%PDF-1.4\n...").unwrap();
    let e = db.add_file(&pdf, None, None, &mut |_, _| {}).unwrap_err();
    assert!(e.to_string().contains("PDF that cannot be read"), "{e}");
    assert!(db
        .search_memory("  ", None, SearchOptions::default())
        .unwrap_err()
        .to_string()
        .contains("empty"));
    assert!(db.add_note(" \n", None, None).is_err());
    assert!(db.sources().unwrap().is_empty());
    // Without an embedder, notes are still kept and found by their words.
    db.add_note("Bins: recycling on Tuesdays", Some("home"), None)
        .unwrap();
    let hits = db
        .search_memory("recycling", None, SearchOptions::default())
        .unwrap();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].why, Why::Keyword);
    assert_eq!(db.sources().unwrap()[0].tag.as_deref(), Some("home"));
}

/// A real PDF (abiword exports a text file) is read through its text layer and found.
#[test]
fn a_pdf_is_read_through_its_text_layer() {
    let dir = tempfile::tempdir().unwrap();
    let txt = dir.path().join("dentist.txt");
    std::fs::write(
        &txt,
        "Health\n\nDr. Alvarez, dental surgery on Baker Street.\n",
    )
    .unwrap();
    let pdf = dir.path().join("dentist.pdf");
    let status = std::process::Command::new("abiword")
        .arg("--to=pdf")
        .arg(format!("--to-name={}", pdf.display()))
        .arg(&txt)
        .status()
        .expect("abiword (installed by ./x setup)");
    assert!(status.success() && pdf.is_file());
    let text = deskhand_memory::read_text(&pdf).unwrap();
    assert!(
        text.contains("Alvarez") && text.contains("Baker Street"),
        "{text:?}"
    );
    let e = Counting::new();
    let mut db = SqliteMemory::open(&dir.path().join("memory.db")).unwrap();
    let r = db.add_file(&pdf, None, Some(&e), &mut |_, _| {}).unwrap();
    assert_eq!(r.status, "new");
    let hits = db
        .search_memory(
            "who takes care of my teeth",
            Some(&e),
            SearchOptions::default(),
        )
        .unwrap();
    assert!(hits[0].source.ends_with("dentist.pdf"), "{hits:?}");
}

/// A long document is chunked so that no chunk, with its overlap and heading, is longer than
/// the model reads: nothing is cut.
#[test]
fn chunks_of_a_long_document_fit_the_model() {
    let dir = tempfile::tempdir().unwrap();
    let e = Counting::new();
    let mut db = SqliteMemory::open(&dir.path().join("memory.db")).unwrap();
    let para = (0..60)
        .map(|i| format!("Clause {i} says the licensee may copy, modify and share the work."))
        .collect::<Vec<_>>()
        .join(" ");
    let doc = format!("# Terms\n\n{para}\n\n{para}\n\n## More terms\n\n{para}\n");
    let file = dir.path().join("terms.md");
    std::fs::write(&file, doc).unwrap();
    let r = db.add_file(&file, None, Some(&e), &mut |_, _| {}).unwrap();
    assert!(r.chunks > 5, "{r:?}");
    assert_eq!(r.cut, 0, "{r:?}");
}
