//! Where the runtime library and the models live, and whether they are intact.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// The checksums `./x setup` verifies, in `sha256sum` format, paths relative to the cache dir.
pub const EXPECTED_SHA256: &str = include_str!("../../../models.sha256");

/// Relative path of the ONNX Runtime library inside the cache dir.
const ORT_LIB: &str = "onnxruntime/libonnxruntime.so.1.31.1";
const OCR_REC: &str = "models/ocr/PP-OCRv6_rec_small.onnx";
const OCR_DET_SMALL: &str = "models/ocr/PP-OCRv6_det_small.onnx";
const OCR_DET_TINY: &str = "models/ocr/PP-OCRv6_det_tiny.onnx";
const EMBED_MODEL: &str = "models/embed/all-MiniLM-L6-v2-int8.onnx";
const EMBED_TOKENIZER: &str = "models/embed/tokenizer.json";

/// The cache directory: `$DESKHAND_CACHE`, else `$HOME/.cache/deskhand`.
///
/// This is the one place in the inference crate that reads the environment; the host crate
/// calls it once and passes the result to [`ModelPaths::from_cache_dir`]. `./x setup` fills
/// the same directory.
pub fn default_cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("DESKHAND_CACHE").filter(|v| !v.is_empty()) {
        return PathBuf::from(dir);
    }
    let home = std::env::var_os("HOME")
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| "/".into());
    PathBuf::from(home).join(".cache").join("deskhand")
}

/// Paths of the ONNX Runtime library and of every model file, inside one cache directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelPaths {
    /// The cache directory everything else is under.
    pub cache_dir: PathBuf,
    /// `libonnxruntime.so.1.31.1`.
    pub onnxruntime: PathBuf,
    /// PP-OCRv6 small text-line recogniser.
    pub ocr_rec: PathBuf,
    /// PP-OCRv6 small text detector.
    pub ocr_det_small: PathBuf,
    /// PP-OCRv6 tiny text detector (faster).
    pub ocr_det_tiny: PathBuf,
    /// all-MiniLM-L6-v2, int8.
    pub embed_model: PathBuf,
    /// The tokenizer of the embedding model.
    pub embed_tokenizer: PathBuf,
}

/// The result of checking a file against its expected SHA-256.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChecksumStatus {
    /// The file matches.
    Ok,
    /// The file exists but its content differs.
    Mismatch {
        /// The expected digest (hex).
        expected: String,
        /// The digest of the file on disk (hex).
        actual: String,
    },
    /// The file does not exist.
    Missing,
    /// The file exists but could not be read.
    Unreadable(String),
    /// No checksum is known for this file.
    Unknown,
}

/// The state of one file of the cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileCheck {
    /// Path relative to the cache dir, as in `models.sha256`.
    pub name: String,
    /// Full path.
    pub path: PathBuf,
    /// True when the file exists.
    pub present: bool,
    /// Size in bytes (0 when missing).
    pub size: u64,
    /// Checksum verdict.
    pub status: ChecksumStatus,
}

impl FileCheck {
    /// True when the file is present and intact.
    pub fn is_ok(&self) -> bool {
        self.status == ChecksumStatus::Ok
    }
}

impl ModelPaths {
    /// The standard layout under `cache_dir` (as written by `./x setup`).
    pub fn from_cache_dir(cache_dir: impl Into<PathBuf>) -> Self {
        let cache_dir = cache_dir.into();
        Self {
            onnxruntime: cache_dir.join(ORT_LIB),
            ocr_rec: cache_dir.join(OCR_REC),
            ocr_det_small: cache_dir.join(OCR_DET_SMALL),
            ocr_det_tiny: cache_dir.join(OCR_DET_TINY),
            embed_model: cache_dir.join(EMBED_MODEL),
            embed_tokenizer: cache_dir.join(EMBED_TOKENIZER),
            cache_dir,
        }
    }

    /// The expected files as (relative name, expected hex digest), from `models.sha256`.
    pub fn expected() -> Vec<(String, String)> {
        parse_sums(EXPECTED_SHA256)
    }

    /// Checks every expected file: present, size, SHA-256. Reads every file in full
    /// (about 85 MB; ~0.3 s in release).
    pub fn verify(&self) -> Vec<FileCheck> {
        Self::expected()
            .into_iter()
            .map(|(name, expected)| self.check(&name, &expected))
            .collect()
    }

    fn check(&self, name: &str, expected: &str) -> FileCheck {
        let path = self.cache_dir.join(name);
        let Ok(meta) = std::fs::metadata(&path) else {
            return FileCheck {
                name: name.to_string(),
                path,
                present: false,
                size: 0,
                status: ChecksumStatus::Missing,
            };
        };
        let status = match sha256_file(&path) {
            Ok(actual) if actual.eq_ignore_ascii_case(expected) => ChecksumStatus::Ok,
            Ok(actual) => ChecksumStatus::Mismatch {
                expected: expected.to_string(),
                actual,
            },
            Err(e) => ChecksumStatus::Unreadable(e.to_string()),
        };
        FileCheck {
            name: name.to_string(),
            path,
            present: true,
            size: meta.len(),
            status,
        }
    }
}

/// Parses `sha256sum` output: `<hex>  <path>` (or `<hex> *<path>`) per line.
fn parse_sums(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|line| {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                return None;
            }
            let (hash, rest) = line.split_once(char::is_whitespace)?;
            let name = rest.trim_start().trim_start_matches('*');
            Some((name.to_string(), hash.to_ascii_lowercase()))
        })
        .collect()
}

/// The SHA-256 of a file, lower-case hex.
pub(crate) fn sha256_file(path: &Path) -> std::io::Result<String> {
    let mut file = File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn sums_cover_every_path_of_the_layout() {
        let paths = ModelPaths::from_cache_dir("/c");
        let names: Vec<String> = ModelPaths::expected().into_iter().map(|(n, _)| n).collect();
        for p in [
            &paths.onnxruntime,
            &paths.ocr_rec,
            &paths.ocr_det_small,
            &paths.ocr_det_tiny,
            &paths.embed_model,
            &paths.embed_tokenizer,
        ] {
            let rel = p
                .strip_prefix("/c")
                .map(|r| r.to_string_lossy().into_owned());
            assert!(
                rel.as_ref().is_ok_and(|r| names.contains(r)),
                "{p:?} has no checksum"
            );
        }
        assert!(ModelPaths::expected().iter().all(|(_, h)| h.len() == 64));
    }

    #[test]
    fn verify_reports_missing_and_mismatched_files() {
        let dir = tempfile::tempdir().unwrap();
        let paths = ModelPaths::from_cache_dir(dir.path());
        let bad = &paths.ocr_rec;
        std::fs::create_dir_all(bad.parent().unwrap()).unwrap();
        std::fs::write(bad, b"not a model").unwrap();
        let checks = paths.verify();
        assert_eq!(checks.len(), 6);
        for c in &checks {
            if &c.path == bad {
                assert!(c.present);
                assert_eq!(c.size, 11);
                assert!(matches!(c.status, ChecksumStatus::Mismatch { .. }));
            } else {
                assert!(!c.present);
                assert_eq!(c.status, ChecksumStatus::Missing);
            }
        }
    }
}
