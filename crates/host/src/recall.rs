//! The embedder for the user's memory, built from the configuration (the composition root
//! hands it to the memory store, which never depends on the inference crate).

use deskhand_inference::{init_runtime, EmbedderOptions, ModelPaths, TextEmbedder};

use crate::config::Config;
use crate::session::HostError;

/// Loads the local embedding model (all-MiniLM-L6-v2 from `./x setup`). A missing file is an
/// error naming the file and `./x setup`.
pub fn embedder(config: &Config) -> Result<TextEmbedder, HostError> {
    let paths = ModelPaths::from_cache_dir(&config.cache_dir);
    let fail = |e: deskhand_inference::InferenceError| HostError::Other(e.to_string());
    init_runtime(&paths.onnxruntime).map_err(fail)?;
    TextEmbedder::from_files(
        &paths.embed_model,
        &paths.embed_tokenizer,
        EmbedderOptions::default(),
    )
    .map_err(fail)
}
