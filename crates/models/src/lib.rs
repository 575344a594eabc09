//! Model backends behind [`deskhand_core::ports::ModelBackend`]: OpenAI-compatible chat
//! completions ([`OpenAiBackend`]: OpenAI, Ollama, vLLM, llama.cpp server, LM Studio) and
//! Anthropic Messages ([`AnthropicBackend`]), and a [`RoleRouter`] that sends each agent
//! role's requests to its own endpoint.
//!
//! Calls are blocking (reqwest's blocking client: do not create or drop these backends inside
//! an async runtime; call them from plain threads). Each call has a connect and a total
//! timeout, and is retried with exponential backoff (honouring Retry-After up to 30 s) only on
//! connection errors, timeouts and 429/500/502/503/504/529; other failures come back at once
//! as a [`ModelError`] naming the endpoint and the server's message, never the API key.
//! Nothing is sent anywhere unless an endpoint is configured ([`ModelSettings`]).
#![deny(clippy::print_stdout, clippy::print_stderr)]

mod anthropic;
mod error;
mod http;
mod openai;
mod router;
mod settings;

pub use anthropic::{AnthropicBackend, ANTHROPIC_VERSION};
pub use error::ModelError;
pub use openai::OpenAiBackend;
pub use router::{backend_for, RoleRouter};
pub use settings::{
    Endpoint, EndpointKind, EndpointSettings, ModelSettings, StructuredOutput, ANTHROPIC_URL,
    DEFAULT_MAX_IMAGE_SIDE, HOW_TO_CONFIGURE,
};
