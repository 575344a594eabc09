//! Loading the ONNX Runtime shared library at run time.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use ort::environment::Environment;

use crate::error::InferenceError;

/// The process-wide environment and the library it was loaded from.
static RUNTIME: Mutex<Option<(PathBuf, Environment)>> = Mutex::new(None);

/// Loads ONNX Runtime from `lib` (the `libonnxruntime.so.1.31.1` that `./x setup` extracts)
/// and creates the process-wide environment.
///
/// Calling it again is cheap and returns `Ok`: a process has one runtime, so a second call
/// with a different path keeps the first library (and logs a warning). A missing file, or one
/// that is not an ELF shared library, is an error, never a panic.
pub fn init_runtime(lib: &Path) -> Result<(), InferenceError> {
    let path = check_library(lib)?;
    let mut guard = RUNTIME
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some((loaded, _)) = guard.as_ref() {
        if loaded != lib {
            tracing::warn!(
                loaded = %loaded.display(),
                requested = %lib.display(),
                "ONNX Runtime is already loaded; keeping the first library"
            );
        }
        return Ok(());
    }
    let load_error = |reason: String| InferenceError::RuntimeLoad {
        path: path.clone(),
        reason,
    };
    let builder = ort::init_from(&path).map_err(|e| load_error(e.to_string()))?;
    let env = builder
        .with_name("deskhand")
        .with_telemetry(false)
        .build()
        .map_err(|e| load_error(e.to_string()))?;
    tracing::debug!(path = %path.display(), "ONNX Runtime loaded");
    *guard = Some((lib.to_path_buf(), env));
    Ok(())
}

/// True once [`init_runtime`] has succeeded in this process.
pub fn runtime_initialized() -> bool {
    RUNTIME.lock().map(|g| g.is_some()).unwrap_or(false)
}

/// The process-wide environment, if the runtime is loaded.
pub(crate) fn environment() -> Result<Environment, InferenceError> {
    let guard = RUNTIME
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    guard
        .as_ref()
        .map(|(_, env)| env.clone())
        .ok_or(InferenceError::RuntimeNotInitialized)
}

/// Checks that `lib` is an existing ELF shared object before handing it to the dynamic
/// loader, and returns it as an absolute path (ort resolves relative paths against the
/// executable, which is never what a caller means).
fn check_library(lib: &Path) -> Result<PathBuf, InferenceError> {
    if !lib.is_file() {
        return Err(InferenceError::RuntimeMissing {
            path: lib.to_path_buf(),
        });
    }
    let path = std::fs::canonicalize(lib).map_err(|e| InferenceError::RuntimeLoad {
        path: lib.to_path_buf(),
        reason: e.to_string(),
    })?;
    let mut magic = [0u8; 4];
    let read = std::fs::File::open(&path).and_then(|mut f| f.read_exact(&mut magic));
    if read.is_err() || magic != *b"\x7fELF" {
        return Err(InferenceError::RuntimeLoad {
            path,
            reason: "not an ELF shared library".to_string(),
        });
    }
    Ok(path)
}

/// Opens a session on `model` (full graph optimisation, `intra_threads` threads for one run,
/// one inter-op thread); a file ONNX Runtime refuses is a [`InferenceError::BadModel`].
pub(crate) fn open_session(
    model: &std::path::Path,
    intra_threads: usize,
) -> Result<ort::session::Session, InferenceError> {
    use ort::session::builder::GraphOptimizationLevel;
    let env = environment()?;
    ort::session::Session::builder(&env)
        .and_then(|b| Ok(b.with_optimization_level(GraphOptimizationLevel::Level3)?))
        .and_then(|b| Ok(b.with_intra_threads(intra_threads.max(1))?))
        .and_then(|b| Ok(b.with_inter_threads(1)?))
        .and_then(|mut b| b.commit_from_file(model))
        .map_err(|e| InferenceError::BadModel {
            path: model.to_path_buf(),
            reason: e.to_string(),
        })
}

/// Runs a model with one f32 input of `shape` and hands the first output's dimensions and
/// values to `read` while they are alive (no copy of the output).
pub(crate) fn run_f32<T>(
    session: &Mutex<ort::session::Session>,
    shape: [usize; 4],
    data: Vec<f32>,
    read: impl FnOnce(&[usize], &[f32]) -> Result<T, InferenceError>,
) -> Result<T, InferenceError> {
    let tensor = ort::value::Tensor::from_array((shape, data.into_boxed_slice()))
        .map_err(|e| InferenceError::Run(e.to_string()))?;
    let mut session = session.lock().unwrap_or_else(|p| p.into_inner());
    let outputs = session
        .run(ort::inputs![tensor])
        .map_err(|e| InferenceError::Run(e.to_string()))?;
    let (dims, values) = outputs[0]
        .try_extract_tensor::<f32>()
        .map_err(|e| InferenceError::Run(e.to_string()))?;
    let dims: Vec<usize> = dims.iter().map(|&d| d.max(0) as usize).collect();
    read(&dims, values)
}
