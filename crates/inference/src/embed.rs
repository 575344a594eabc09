//! Sentence embeddings: all-MiniLM-L6-v2 (int8 ONNX) with its WordPiece tokenizer, mean
//! pooled over the attention mask and L2-normalised, behind the
//! [`deskhand_core::ports::Embedder`] port.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use deskhand_core::ports::{Embedder, Embedding};
use deskhand_core::PortError;
use ort::session::Session;
use tokenizers::Tokenizer;

use crate::error::InferenceError;
use crate::runtime;

/// How the embedder runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmbedderOptions {
    /// The longest input in tokens, [CLS] and [SEP] included; longer texts are cut (the
    /// model was trained on 256).
    pub max_tokens: usize,
    /// Texts per model run.
    pub batch: usize,
    /// ONNX Runtime threads for one run.
    pub intra_threads: usize,
}

impl Default for EmbedderOptions {
    fn default() -> Self {
        Self {
            max_tokens: 256,
            batch: 16,
            intra_threads: 1,
        }
    }
}

/// A loaded sentence-embedding model. Symmetric: queries and documents embed alike.
pub struct TextEmbedder {
    session: Mutex<Session>,
    tokenizer: Tokenizer,
    /// Which of input_ids, attention_mask, token_type_ids the model takes, in its order.
    inputs: Vec<Input>,
    id: String,
    dims: usize,
    options: EmbedderOptions,
    model: PathBuf,
}

impl std::fmt::Debug for TextEmbedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TextEmbedder")
            .field("id", &self.id)
            .field("dims", &self.dims)
            .field("model", &self.model)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Input {
    Ids,
    Mask,
    TypeIds,
}

/// One text as the model reads it.
struct Tokens {
    ids: Vec<i64>,
    cut: usize,
}

impl TextEmbedder {
    /// Loads the model and its tokenizer.json; [`crate::init_runtime`] must have succeeded.
    /// A missing file is an error naming `./x setup`.
    pub fn from_files(
        model: &Path,
        tokenizer: &Path,
        options: EmbedderOptions,
    ) -> Result<Self, InferenceError> {
        for p in [model, tokenizer] {
            if !p.is_file() {
                return Err(InferenceError::ModelMissing {
                    path: p.to_path_buf(),
                });
            }
        }
        let mut tok = Tokenizer::from_file(tokenizer).map_err(|e| InferenceError::BadModel {
            path: tokenizer.to_path_buf(),
            reason: format!("not a tokenizer.json: {e}"),
        })?;
        // Cutting and padding are done here, where the cut is counted.
        tok.with_truncation(None)
            .map_err(|e| InferenceError::BadModel {
                path: tokenizer.to_path_buf(),
                reason: e.to_string(),
            })?
            .with_padding(None);
        let session = runtime::open_session(model, options.intra_threads)?;
        let bad = |reason: String| InferenceError::BadModel {
            path: model.to_path_buf(),
            reason,
        };
        let inputs = session
            .inputs()
            .iter()
            .map(|i| match i.name() {
                "input_ids" => Ok(Input::Ids),
                "attention_mask" => Ok(Input::Mask),
                "token_type_ids" => Ok(Input::TypeIds),
                other => Err(bad(format!(
                    "not a BERT-style text encoder (unexpected input {other:?})"
                ))),
            })
            .collect::<Result<Vec<_>, _>>()?;
        if !inputs.contains(&Input::Ids) || session.outputs().is_empty() {
            return Err(bad(
                "not a BERT-style text encoder (needs input_ids and a hidden-state output)".into(),
            ));
        }
        let name = model
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "embedder".into());
        let mut embedder = Self {
            session: Mutex::new(session),
            tokenizer: tok,
            inputs,
            id: String::new(),
            dims: 0,
            options,
            model: model.to_path_buf(),
        };
        // One run tells the width of the vectors (and proves the model runs).
        let probe = embedder.run(&[embedder.tokens("probe")?])?;
        embedder.dims = probe.first().map(Vec::len).unwrap_or(0);
        if embedder.dims == 0 {
            return Err(bad("the model gave an empty vector".into()));
        }
        embedder.id = format!(
            "{name}/mean-l2/{}d/{}t",
            embedder.dims, embedder.options.max_tokens
        );
        Ok(embedder)
    }

    /// The model file it runs.
    pub fn model_path(&self) -> &Path {
        &self.model
    }

    /// Embeds texts in batches of [`EmbedderOptions::batch`].
    pub fn embed(&self, texts: &[&str]) -> Result<Vec<Embedding>, InferenceError> {
        let mut out = Vec::with_capacity(texts.len());
        for chunk in texts.chunks(self.options.batch.max(1)) {
            let tokens = chunk
                .iter()
                .map(|t| self.tokens(t))
                .collect::<Result<Vec<_>, _>>()?;
            let vectors = self.run(&tokens)?;
            out.extend(
                vectors
                    .into_iter()
                    .zip(&tokens)
                    .map(|(vector, t)| Embedding {
                        vector,
                        tokens: t.ids.len(),
                        cut_tokens: t.cut,
                    }),
            );
        }
        Ok(out)
    }

    /// The token ids of `text` with [CLS] and [SEP], cut to `max_tokens` (keeping [SEP]).
    fn tokens(&self, text: &str) -> Result<Tokens, InferenceError> {
        let enc = self
            .tokenizer
            .encode(text, true)
            .map_err(|e| InferenceError::InvalidInput(format!("cannot tokenize: {e}")))?;
        let mut ids: Vec<i64> = enc.get_ids().iter().map(|&i| i64::from(i)).collect();
        let max = self.options.max_tokens.max(2);
        let mut cut = 0;
        if ids.len() > max {
            cut = ids.len() - max;
            let last = ids[ids.len() - 1];
            ids.truncate(max - 1);
            ids.push(last);
        }
        Ok(Tokens { ids, cut })
    }

    /// Runs one padded batch; returns one pooled, normalised vector per text.
    fn run(&self, batch: &[Tokens]) -> Result<Vec<Vec<f32>>, InferenceError> {
        let b = batch.len();
        let len = batch.iter().map(|t| t.ids.len()).max().unwrap_or(0);
        if b == 0 || len == 0 {
            return Ok(Vec::new());
        }
        let mut ids = vec![0i64; b * len];
        let mut mask = vec![0i64; b * len];
        for (row, t) in batch.iter().enumerate() {
            ids[row * len..row * len + t.ids.len()].copy_from_slice(&t.ids);
            mask[row * len..row * len + t.ids.len()].fill(1);
        }
        let tensor = |data: Vec<i64>| {
            ort::value::Tensor::from_array(([b, len], data.into_boxed_slice()))
                .map_err(|e| InferenceError::Run(e.to_string()))
        };
        let mut feeds = Vec::with_capacity(self.inputs.len());
        for input in &self.inputs {
            let (name, data) = match input {
                Input::Ids => ("input_ids", ids.clone()),
                Input::Mask => ("attention_mask", mask.clone()),
                Input::TypeIds => ("token_type_ids", vec![0i64; b * len]),
            };
            feeds.push((name, tensor(data)?));
        }
        let mut session = self.session.lock().unwrap_or_else(|p| p.into_inner());
        let outputs = session
            .run(feeds)
            .map_err(|e| InferenceError::Run(e.to_string()))?;
        let (dims, hidden) = outputs[0]
            .try_extract_tensor::<f32>()
            .map_err(|e| InferenceError::Run(e.to_string()))?;
        let dims: Vec<usize> = dims.iter().map(|&d| d.max(0) as usize).collect();
        match dims.as_slice() {
            // Token states: mean over the real tokens.
            [bb, ll, d] if *bb == b && *ll == len => Ok((0..b)
                .map(|row| {
                    let mut v = vec![0f32; *d];
                    let real = batch[row].ids.len();
                    for tok in 0..real {
                        let at = (row * len + tok) * d;
                        for (acc, x) in v.iter_mut().zip(&hidden[at..at + d]) {
                            *acc += x;
                        }
                    }
                    v.iter_mut().for_each(|x| *x /= real as f32);
                    normalised(v)
                })
                .collect()),
            // Already pooled.
            [bb, d] if *bb == b => Ok(hidden
                .chunks_exact(*d)
                .map(|c| normalised(c.to_vec()))
                .collect()),
            other => Err(InferenceError::Run(format!(
                "unexpected output shape {other:?} for a batch of {b}x{len}"
            ))),
        }
    }
}

fn normalised(mut v: Vec<f32>) -> Vec<f32> {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
    v
}

impl Embedder for TextEmbedder {
    fn model_id(&self) -> &str {
        &self.id
    }

    fn dimensions(&self) -> usize {
        self.dims
    }

    fn max_tokens(&self) -> usize {
        self.options.max_tokens
    }

    fn count_tokens(&self, text: &str) -> Result<usize, PortError> {
        let enc = self
            .tokenizer
            .encode(text, true)
            .map_err(|e| PortError::invalid(format!("cannot tokenize: {e}")))?;
        Ok(enc.get_ids().len())
    }

    fn embed_documents(&self, texts: &[&str]) -> Result<Vec<Embedding>, PortError> {
        Ok(self.embed(texts)?)
    }
}
