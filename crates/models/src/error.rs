//! What can go wrong talking to a model endpoint, typed so a caller can decide: retry, fix the
//! configuration, or give up.

use std::time::Duration;

use deskhand_core::{PortError, PortErrorKind};

/// A failed model call or an unusable model configuration.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ModelError {
    /// No endpoint is configured; the message says how to configure one.
    #[error("{0}")]
    NotConfigured(String),
    /// The configuration is invalid; the message names the setting.
    #[error("model configuration: {0}")]
    Config(String),
    /// The endpoint could not be reached (refused, DNS, TLS).
    #[error("cannot reach model endpoint {endpoint}: {message}")]
    Connect {
        /// The URL called.
        endpoint: String,
        /// What failed.
        message: String,
    },
    /// The endpoint did not answer in time.
    #[error("model endpoint {endpoint} did not answer within {after:?}; raise timeout_s or use a faster model")]
    Timeout {
        /// The URL called.
        endpoint: String,
        /// The configured total timeout.
        after: Duration,
    },
    /// The endpoint refused the credentials (401/403).
    #[error("model endpoint {endpoint} refused the API key ({status}): {message}; set {key_env}")]
    Auth {
        /// The URL called.
        endpoint: String,
        /// 401 or 403.
        status: u16,
        /// The server's message.
        message: String,
        /// The environment variable the key is read from.
        key_env: String,
    },
    /// The endpoint rejected the request (400, 404, 422 ...); retrying will not help.
    #[error("model endpoint {endpoint} rejected the request ({status}): {message}")]
    Rejected {
        /// The URL called.
        endpoint: String,
        /// The status code.
        status: u16,
        /// The server's message.
        message: String,
    },
    /// The endpoint kept failing with a retryable status (429, 5xx) until retries ran out.
    #[error("model endpoint {endpoint} failed ({status}) after {attempts} attempt(s): {message}")]
    Server {
        /// The URL called.
        endpoint: String,
        /// The last status code.
        status: u16,
        /// Attempts made.
        attempts: u32,
        /// The server's message.
        message: String,
    },
    /// The answer could not be understood (not JSON, no choices, no text).
    #[error("model endpoint {endpoint} sent a reply that cannot be read: {message}")]
    BadReply {
        /// The URL called.
        endpoint: String,
        /// What is wrong with it.
        message: String,
    },
}

impl ModelError {
    /// True when the same call may succeed later (network trouble, overload).
    pub fn is_retryable(&self) -> bool {
        match self {
            ModelError::Connect { .. } | ModelError::Timeout { .. } | ModelError::Server { .. } => {
                true
            }
            ModelError::NotConfigured(_)
            | ModelError::Config(_)
            | ModelError::Auth { .. }
            | ModelError::Rejected { .. }
            | ModelError::BadReply { .. } => false,
        }
    }
}

impl From<ModelError> for PortError {
    fn from(e: ModelError) -> PortError {
        let kind = match &e {
            ModelError::NotConfigured(_)
            | ModelError::Config(_)
            | ModelError::Auth { .. }
            | ModelError::Connect { .. } => PortErrorKind::Unavailable,
            ModelError::Timeout { .. } => PortErrorKind::Timeout,
            ModelError::Rejected { status: 404, .. } => PortErrorKind::NotFound,
            ModelError::Rejected { .. } => PortErrorKind::InvalidInput,
            ModelError::Server { .. } | ModelError::BadReply { .. } => PortErrorKind::Failed,
        };
        PortError::new(kind, e.to_string())
    }
}
