//! Loading the runtime and the models: clear errors, never a panic.

use deskhand_inference::{
    default_cache_dir, init_runtime, runtime_initialized, InferenceError, ModelPaths,
    RecognizerOptions, TextRecognizer,
};

#[test]
fn the_cache_filled_by_setup_verifies() {
    let checks = ModelPaths::from_cache_dir(default_cache_dir()).verify();
    assert_eq!(checks.len(), 6);
    for c in &checks {
        assert!(c.is_ok(), "{}: {:?} (run ./x setup)", c.name, c.status);
        assert!(c.size > 0);
    }
}

#[test]
fn a_missing_runtime_library_names_setup() {
    let dir = tempfile::tempdir().unwrap();
    let paths = ModelPaths::from_cache_dir(dir.path());
    let err = TextRecognizer::new(&paths, RecognizerOptions::default()).unwrap_err();
    assert!(
        matches!(err, InferenceError::RuntimeMissing { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("./x setup"), "{err}");
    let port: deskhand_core::PortError = err.into();
    assert_eq!(port.kind, deskhand_core::PortErrorKind::Unavailable);
}

#[test]
fn a_bogus_runtime_library_is_an_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let lib = dir.path().join("libonnxruntime.so");
    std::fs::write(&lib, "this is not a shared library\n").unwrap();
    let err = init_runtime(&lib).unwrap_err();
    assert!(matches!(err, InferenceError::RuntimeLoad { .. }), "{err:?}");
    assert!(err.to_string().contains("./x setup"), "{err}");
    assert!(!runtime_initialized());

    // A real shared library that is not ONNX Runtime: the dynamic loader accepts it, ort
    // finds no OrtGetApiBase.
    let libz = [
        "/lib/x86_64-linux-gnu/libz.so.1",
        "/usr/lib/x86_64-linux-gnu/libz.so.1",
    ]
    .into_iter()
    .find(|p| std::path::Path::new(p).exists());
    if let Some(libz) = libz {
        let err = init_runtime(std::path::Path::new(libz)).unwrap_err();
        assert!(err.to_string().contains("OrtGetApiBase"), "{err}");
    }
    // No session without a runtime.
    let paths = ModelPaths::from_cache_dir(default_cache_dir());
    let err = TextRecognizer::from_file(&paths.ocr_rec, RecognizerOptions::default()).unwrap_err();
    assert_eq!(err, InferenceError::RuntimeNotInitialized);

    // The real library still loads afterwards.
    init_runtime(&paths.onnxruntime).unwrap();
    assert!(runtime_initialized());
}

#[test]
fn a_missing_model_names_setup() {
    let paths = ModelPaths::from_cache_dir(default_cache_dir());
    init_runtime(&paths.onnxruntime).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let err = TextRecognizer::from_file(&dir.path().join("rec.onnx"), RecognizerOptions::default())
        .unwrap_err();
    assert!(
        matches!(err, InferenceError::ModelMissing { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("./x setup"), "{err}");

    // A file that is not a model.
    let junk = dir.path().join("junk.onnx");
    std::fs::write(&junk, b"junk").unwrap();
    let err = TextRecognizer::from_file(&junk, RecognizerOptions::default()).unwrap_err();
    assert!(matches!(err, InferenceError::BadModel { .. }), "{err:?}");
}
