//! Errors of the inference crate.

use std::path::PathBuf;

use deskhand_core::error::PortError;

/// Why loading or running a model failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum InferenceError {
    /// The ONNX Runtime library file does not exist.
    #[error(
        "ONNX Runtime library not found at {}: run `./x setup` to download it",
        path.display()
    )]
    RuntimeMissing {
        /// Where it was looked for.
        path: PathBuf,
    },
    /// The ONNX Runtime library exists but cannot be loaded.
    #[error(
        "cannot load the ONNX Runtime library {}: {reason} (run `./x setup` to reinstall it)",
        path.display()
    )]
    RuntimeLoad {
        /// The library file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// A session was requested before [`crate::init_runtime`] succeeded.
    #[error(
        "ONNX Runtime is not initialised: call init_runtime with the library from `./x setup`"
    )]
    RuntimeNotInitialized,
    /// A model file does not exist.
    #[error("model file not found at {}: run `./x setup` to download the models", path.display())]
    ModelMissing {
        /// Where it was looked for.
        path: PathBuf,
    },
    /// A model file exists but is not the model expected.
    #[error("model {} cannot be used: {reason} (run `./x setup` to reinstall it)", path.display())]
    BadModel {
        /// The model file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The input cannot be processed (empty image, wrong buffer length, ...).
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// ONNX Runtime failed while running a model.
    #[error("inference failed: {0}")]
    Run(String),
}

impl From<InferenceError> for PortError {
    fn from(e: InferenceError) -> Self {
        let message = e.to_string();
        match e {
            InferenceError::RuntimeMissing { .. }
            | InferenceError::RuntimeLoad { .. }
            | InferenceError::RuntimeNotInitialized
            | InferenceError::ModelMissing { .. }
            | InferenceError::BadModel { .. } => PortError::unavailable(message),
            InferenceError::InvalidInput(_) => PortError::invalid(message),
            InferenceError::Run(_) => PortError::failed(message),
        }
    }
}
