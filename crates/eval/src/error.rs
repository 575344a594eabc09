//! What can go wrong building or scoring the grounding set.

use std::path::PathBuf;

use deskhand_core::PortError;
use deskhand_inference::InferenceError;
use deskhand_xsession::SessionError;

/// An error of the benchmark. Every message says what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    /// An application name that the benchmark does not know.
    #[error("unknown application {name:?} (known: {known})")]
    UnknownApp {
        /// The name asked for.
        name: String,
        /// The names the benchmark knows.
        known: String,
    },
    /// An application the benchmark needs is not installed.
    #[error("{app} is not installed ({program} is not on PATH): run `./x setup` (it installs the Debian package {package})")]
    AppMissing {
        /// The application.
        app: String,
        /// The program looked for.
        program: String,
        /// The Debian package that provides it.
        package: String,
    },
    /// A resolution that is not `WIDTHxHEIGHT`.
    #[error("bad resolution {0:?}: write it as WIDTHxHEIGHT, e.g. 1280x800")]
    BadResolution(String),
    /// A grounder name that is not registered.
    #[error("unknown grounder {name:?} (known: {known})")]
    UnknownGrounder {
        /// The name asked for.
        name: String,
        /// The registered names.
        known: String,
    },
    /// The virtual desktop or an application in it failed.
    #[error("virtual desktop: {0}")]
    Session(#[from] SessionError),
    /// Screen capture or the accessibility bus failed.
    #[error("{what}: {source}")]
    Port {
        /// What was being done.
        what: String,
        /// The port's error.
        source: PortError,
    },
    /// The OCR model could not be loaded or run.
    #[error("OCR: {0}")]
    Model(#[from] InferenceError),
    /// An application did not reach a state in time.
    #[error("{app} at {resolution}: {what}")]
    State {
        /// The application.
        app: String,
        /// The resolution.
        resolution: String,
        /// What did not happen.
        what: String,
    },
    /// Reading or writing the cached set failed.
    #[error("{} ({context}): {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What was being done.
        context: &'static str,
        /// The error.
        source: std::io::Error,
    },
    /// A cached file is not what this version writes; `--rebuild` replaces it.
    #[error("{} is not a valid cached sample ({reason}): run with --rebuild", path.display())]
    BadCache {
        /// The file.
        path: PathBuf,
        /// Why it was refused.
        reason: String,
    },
    /// A grounder failed on a sample.
    #[error("grounder {grounder}: {message}")]
    Grounder {
        /// The grounder.
        grounder: String,
        /// What went wrong.
        message: String,
    },
}

impl EvalError {
    pub(crate) fn port(what: impl Into<String>) -> impl FnOnce(PortError) -> EvalError {
        let what = what.into();
        move |source| EvalError::Port { what, source }
    }

    pub(crate) fn io(
        path: impl Into<PathBuf>,
        context: &'static str,
    ) -> impl FnOnce(std::io::Error) -> EvalError {
        let path = path.into();
        move |source| EvalError::Io {
            path,
            context,
            source,
        }
    }
}
