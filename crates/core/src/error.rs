//! Typed errors a caller can act on.

/// Why an action was refused before anything moved.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ActionError {
    /// The text is not a valid action (bad JSON, unknown kind, missing field).
    #[error("malformed action: {0}")]
    Malformed(String),
    /// The action is well formed but its values are not acceptable.
    #[error("invalid action: {0}")]
    Invalid(String),
    /// The target node is not in the current layout tree.
    #[error(
        "node {0} is not on the current screen (what it named is gone or has moved since \
         the id was listed: `deskhand look` shows the ids of the screen as it is now)"
    )]
    UnknownNode(String),
    /// The target resolves to a point on no monitor, or cannot be resolved.
    #[error("target cannot be resolved: {0}")]
    Unresolvable(String),
    /// No element matches the description.
    #[error("no element matches {0}")]
    NotFound(String),
    /// Several elements match the description equally well.
    #[error("{query} is ambiguous: {candidates}")]
    Ambiguous {
        /// What was asked for.
        query: String,
        /// The candidates, described.
        candidates: String,
    },
}

/// What kind of failure an adapter hit, so a caller can decide: retry, ask the user, give up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PortErrorKind {
    /// A required service is missing (no display, no accessibility bus, no ONNX Runtime);
    /// the message names the fix.
    Unavailable,
    /// Waited for longer than allowed; trying again may work.
    Timeout,
    /// The request itself is wrong (bad input); retrying will not help.
    InvalidInput,
    /// The thing asked for does not exist (window closed, app not running).
    NotFound,
    /// The operation failed in the adapter (I/O, protocol).
    Failed,
}

/// An error from an adapter behind a port.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct PortError {
    /// What kind of failure it is.
    pub kind: PortErrorKind,
    /// A message for people that says what to do.
    pub message: String,
}

impl PortError {
    /// Creates an error of a kind.
    pub fn new(kind: PortErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }
    /// A missing service.
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(PortErrorKind::Unavailable, message)
    }
    /// A timeout.
    pub fn timeout(message: impl Into<String>) -> Self {
        Self::new(PortErrorKind::Timeout, message)
    }
    /// Bad input.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(PortErrorKind::InvalidInput, message)
    }
    /// Something missing.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(PortErrorKind::NotFound, message)
    }
    /// A failure inside the adapter.
    pub fn failed(message: impl Into<String>) -> Self {
        Self::new(PortErrorKind::Failed, message)
    }
    /// True when the same call may succeed later.
    pub fn is_retryable(&self) -> bool {
        match self.kind {
            PortErrorKind::Timeout | PortErrorKind::Failed => true,
            PortErrorKind::Unavailable | PortErrorKind::InvalidInput | PortErrorKind::NotFound => {
                false
            }
        }
    }
}
