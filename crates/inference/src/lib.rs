//! ONNX Runtime inference for Deskhand: model file discovery and checksums, loading the
//! runtime library at run time (`ort` with `load-dynamic`), PP-OCRv6 text detection
//! ([`TextDetector`], DBNet) and text-line recognition ([`TextRecognizer`], CTC), and the OCR
//! pipeline over both with a crop cache ([`OcrEngine`]) behind the
//! [`deskhand_core::ports::Ocr`] port, and sentence embeddings ([`TextEmbedder`]) behind the
//! [`deskhand_core::ports::Embedder`] port.
//!
//! Nothing here reads the environment except [`default_cache_dir`], which the host crate
//! calls once; everything else takes paths.

#![deny(clippy::print_stdout, clippy::print_stderr)]

mod det;
mod embed;
mod error;
mod ocr;
mod paths;
mod rec;
mod runtime;

pub use det::{DetectorOptions, TextBox, TextDetector};
pub use embed::{EmbedderOptions, TextEmbedder};
pub use error::InferenceError;
pub use ocr::{DetectorModel, OcrEngine, OcrOptions, OcrStats};
pub use paths::{default_cache_dir, ChecksumStatus, FileCheck, ModelPaths, EXPECTED_SHA256};
pub use rec::{
    ctc_greedy_decode, ctc_greedy_decode_chars, Recognized, RecognizerOptions, TextRecognizer,
};
pub use runtime::{init_runtime, runtime_initialized};
