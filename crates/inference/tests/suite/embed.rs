//! Sentence embeddings with the real all-MiniLM-L6-v2 model: meaning, not words, finds the
//! answer; long texts are cut and say so; a missing file is a clear error.

use std::path::PathBuf;

use deskhand_core::ports::{cosine, Embedder};
use deskhand_inference::{
    default_cache_dir, init_runtime, EmbedderOptions, InferenceError, ModelPaths, TextEmbedder,
};

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

#[derive(serde::Deserialize)]
struct Labelled {
    notes: Vec<Note>,
    queries: Vec<Query>,
}

#[derive(serde::Deserialize)]
struct Note {
    id: String,
    text: String,
}

#[derive(serde::Deserialize)]
struct Query {
    q: String,
    answer: String,
}

fn labelled() -> Labelled {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../benches/fixtures/memory/labelled.json");
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

/// Vectors are 384 wide and unit length; a paraphrase is nearer than an unrelated text;
/// a batch gives the same vectors as one text at a time.
#[test]
fn vectors_are_unit_length_and_batches_match_single_texts() {
    let e = embedder();
    assert_eq!(e.dimensions(), 384);
    assert!(e.model_id().contains("384d"), "{}", e.model_id());
    let texts = [
        "Save the document to disk",
        "store the file",
        "The cat sat on the mat",
    ];
    let batch = e.embed_documents(&texts).unwrap();
    for (t, v) in texts.iter().zip(&batch) {
        let norm: f32 = v.vector.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-4, "{t}: {norm}");
        assert_eq!(v.cut_tokens, 0);
        let one = e.embed_query(t).unwrap();
        assert!(cosine(&one.vector, &v.vector) > 0.999, "{t}");
    }
    let near = cosine(&batch[0].vector, &batch[1].vector);
    let far = cosine(&batch[0].vector, &batch[2].vector);
    assert!(near > far + 0.2, "paraphrase {near} vs unrelated {far}");
}

/// Each question of the labelled set finds its note among the nearest three, though most
/// share no content word with it ("who takes care of my teeth" -> the dentist's note).
#[test]
fn questions_find_their_notes_by_meaning() {
    let e = embedder();
    let set = labelled();
    let texts: Vec<&str> = set.notes.iter().map(|n| n.text.as_str()).collect();
    let notes = e.embed_documents(&texts).unwrap();
    let mut ranks = Vec::new();
    for q in &set.queries {
        let v = e.embed_query(&q.q).unwrap().vector;
        let mut order: Vec<(f32, &str)> = notes
            .iter()
            .zip(&set.notes)
            .map(|(n, note)| (cosine(&v, &n.vector), note.id.as_str()))
            .collect();
        order.sort_by(|a, b| b.0.total_cmp(&a.0));
        let rank = order.iter().position(|(_, id)| *id == q.answer).unwrap() + 1;
        ranks.push((q.q.as_str(), rank, order[0].1));
    }
    let top1 = ranks.iter().filter(|r| r.1 == 1).count();
    let top3 = ranks.iter().filter(|r| r.1 <= 3).count();
    eprintln!(
        "top-1 {top1}/{n}, top-3 {top3}/{n}: {ranks:?}",
        n = ranks.len()
    );
    let teeth = ranks.iter().find(|r| r.0.contains("teeth")).unwrap();
    assert_eq!(teeth.1, 1, "{ranks:?}");
    assert!(top3 * 10 >= ranks.len() * 8, "{ranks:?}");
}

/// A text longer than the model reads is cut at max_tokens and says how much was cut.
#[test]
fn long_texts_are_cut_and_counted() {
    let e = embedder();
    let long = "word ".repeat(400);
    let v = e.embed_documents(&[long.as_str()]).unwrap().pop().unwrap();
    assert_eq!(v.tokens, 256);
    assert_eq!(v.cut_tokens, 402 - 256, "400 words + [CLS] + [SEP]");
    assert_eq!(e.count_tokens(&long).unwrap(), 402);
    assert_eq!(e.embed_documents(&[]).unwrap().len(), 0);
}

/// A missing model file is an error naming the file and `./x setup`.
#[test]
fn a_missing_model_names_the_file_and_setup() {
    let paths = ModelPaths::from_cache_dir(default_cache_dir());
    init_runtime(&paths.onnxruntime).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let gone = dir.path().join("nothing.onnx");
    let e = TextEmbedder::from_files(&gone, &paths.embed_tokenizer, EmbedderOptions::default())
        .unwrap_err();
    assert!(matches!(e, InferenceError::ModelMissing { .. }), "{e:?}");
    assert!(e.to_string().contains("nothing.onnx") && e.to_string().contains("./x setup"));
    let bad = dir.path().join("tokenizer.json");
    std::fs::write(&bad, "{not json").unwrap();
    let e =
        TextEmbedder::from_files(&paths.embed_model, &bad, EmbedderOptions::default()).unwrap_err();
    assert!(matches!(e, InferenceError::BadModel { .. }), "{e:?}");
}
