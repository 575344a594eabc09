//! The user's memory with the real embedding model: embedding one query, hybrid search
//! (FTS5 BM25 + cosine, fused by reciprocal rank) at 1k and 10k chunks including the query's
//! embedding, the same searches by keywords only, ingest throughput, and recall@5 of hybrid
//! against keywords on the labelled set (`benches/fixtures/memory/labelled.json`) hidden among
//! 1,000 unrelated notes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

use std::time::Instant;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use deskhand_core::ports::Embedder;
use deskhand_inference::{
    default_cache_dir, init_runtime, EmbedderOptions, ModelPaths, TextEmbedder,
};
use deskhand_memory::{SearchOptions, SqliteMemory};

const SUBJECTS: &[&str] = &[
    "the quarterly report",
    "the team offsite",
    "the garden fence",
    "the new laptop",
    "the piano lesson",
    "the football match",
    "the tax return",
    "the conference talk",
    "the kitchen tiles",
    "the cycling route",
    "the photo album",
    "the train pass",
    "the printer ink",
    "the school play",
    "the chess club",
    "the roof gutter",
    "the podcast episode",
    "the museum visit",
    "the bread recipe",
    "the moving boxes",
];
const VERBS: &[&str] = &[
    "needs checking",
    "was moved to",
    "is planned for",
    "got cancelled until",
    "costs more after",
    "must be finished by",
    "was discussed on",
    "starts again on",
    "is booked for",
    "ends on",
];
const WHEN: &[&str] = &[
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "the weekend",
    "next month",
    "the end of the year",
    "spring",
    "the autumn break",
];

fn embedder() -> TextEmbedder {
    let paths = ModelPaths::from_cache_dir(default_cache_dir());
    init_runtime(&paths.onnxruntime).unwrap();
    TextEmbedder::from_files(
        &paths.embed_model,
        &paths.embed_tokenizer,
        EmbedderOptions::default(),
    )
    .unwrap()
}

/// The i-th unrelated note (1,000 distinct ones, then they repeat).
fn filler(i: usize) -> String {
    let i = i % 1000;
    format!(
        "{} {} {} (note {}).",
        SUBJECTS[i % SUBJECTS.len()],
        VERBS[(i / SUBJECTS.len()) % VERBS.len()],
        WHEN[(i / 7) % WHEN.len()],
        i % 50
    )
}

#[derive(serde::Deserialize)]
struct Labelled {
    notes: Vec<Note>,
    queries: Vec<Query>,
}
#[derive(serde::Deserialize)]
struct Note {
    text: String,
}
#[derive(serde::Deserialize)]
struct Query {
    q: String,
    answer: String,
}
#[derive(serde::Deserialize)]
struct Ids {
    notes: Vec<NoteId>,
}
#[derive(serde::Deserialize)]
struct NoteId {
    id: String,
}

fn labelled() -> (Labelled, Vec<String>) {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/memory/labelled.json");
    let text = std::fs::read_to_string(p).unwrap();
    let ids: Ids = serde_json::from_str(&text).unwrap();
    (
        serde_json::from_str(&text).unwrap(),
        ids.notes.into_iter().map(|n| n.id).collect(),
    )
}

/// A store with `n` filler notes (the distinct ones embedded once, repeats found by hash).
fn store(dir: &std::path::Path, n: usize, e: &TextEmbedder) -> SqliteMemory {
    let mut m = SqliteMemory::open(&dir.join(format!("memory-{n}.db"))).unwrap();
    let t = Instant::now();
    for i in 0..n {
        m.add_note(&filler(i), None, None).unwrap();
    }
    m.embed_missing(e, None, &mut |_, _| {}).unwrap();
    eprintln!("store of {n} notes filled in {:?}", t.elapsed());
    m
}

fn recall_at_5(
    m: &mut SqliteMemory,
    e: &TextEmbedder,
    keywords_only: bool,
    min_similarity: f32,
) -> (usize, usize) {
    let (set, _) = labelled();
    let mut found = 0;
    for q in &set.queries {
        let answer = &set.notes[labelled().1.iter().position(|id| *id == q.answer).unwrap()].text;
        let hits = m
            .search_memory(
                &q.q,
                Some(e),
                SearchOptions {
                    k: 5,
                    keywords_only,
                    min_similarity,
                },
            )
            .unwrap();
        let ok = hits.iter().any(|h| h.text == *answer);
        found += usize::from(ok);
        if !ok && !keywords_only {
            eprintln!(
                "  missed {:?}: top {:?}",
                q.q,
                hits.first().map(|h| (h.text.as_str(), h.similarity, h.why))
            );
        }
    }
    (found, set.queries.len())
}

fn recall(c: &mut Criterion) {
    let e = embedder();
    let dir = tempfile::tempdir().unwrap();
    c.bench_function("recall/embed_query", |b| {
        b.iter(|| e.embed_query("who takes care of my teeth").unwrap())
    });

    // Recall@5 on the labelled set among 1,000 unrelated notes.
    let mut m = store(dir.path(), 1000, &e);
    let (set, _) = labelled();
    for n in &set.notes {
        m.add_note(&n.text, Some("labelled"), Some(&e)).unwrap();
    }
    let at = SearchOptions::default().min_similarity;
    let (hybrid, total) = recall_at_5(&mut m, &e, false, at);
    let (lower, _) = recall_at_5(&mut m, &e, false, 0.2);
    let (keywords, _) = recall_at_5(&mut m, &e, true, at);
    eprintln!("recall@5 with similarity >= 0.2: hybrid {lower}/{total}");
    eprintln!("recall@5 on the labelled set among 1k notes: hybrid {hybrid}/{total}, FTS5 only {keywords}/{total}");
    let mut first = Some(m);

    for n in [1000usize, 10_000] {
        let mut m = match first.take() {
            Some(m) => m,
            None => store(dir.path(), n, &e),
        };
        // Warm: the vectors are loaded once per change, as in a long-running process.
        m.search_memory("warm up", Some(&e), SearchOptions::default())
            .unwrap();
        c.bench_function(&format!("recall/hybrid_{}k", n / 1000), |b| {
            b.iter(|| {
                m.search_memory(
                    "when is the piano lesson",
                    Some(&e),
                    SearchOptions::default(),
                )
                .unwrap()
            })
        });
        c.bench_function(&format!("recall/fts_only_{}k", n / 1000), |b| {
            b.iter(|| {
                m.search_memory(
                    "when is the piano lesson",
                    None,
                    SearchOptions {
                        keywords_only: true,
                        ..SearchOptions::default()
                    },
                )
                .unwrap()
            })
        });
    }

    // Ingest: a 100-paragraph document never seen before, chunked and embedded.
    let mut group = c.benchmark_group("recall");
    group.sample_size(10);
    let mut round = 0usize;
    group.bench_function("ingest_100_paragraphs", |b| {
        b.iter_batched(
            || {
                round += 1;
                let doc: String = (0..100)
                    .map(|i| format!("# Part {i}\n\n{} Round {round}.\n", filler(i * 7 + round)))
                    .collect();
                let p = dir.path().join(format!("doc-{round}.md"));
                std::fs::write(&p, doc).unwrap();
                p
            },
            |p| {
                let mut m = SqliteMemory::open(&dir.path().join("ingest.db")).unwrap();
                let r = m.add_file(&p, None, Some(&e), &mut |_, _| {}).unwrap();
                assert_eq!(r.embedded, 100);
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

criterion_group!(benches, recall);
criterion_main!(benches);
