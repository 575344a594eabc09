//! One JSON POST with timeouts and retries: exponential backoff (honouring Retry-After up to a
//! cap) on connection errors, timeouts and 429/500/502/503/504/529 only; every other failure
//! comes back at once as a typed error naming the endpoint and the server's message.

use std::time::Duration;

use serde_json::Value;

use crate::error::ModelError;
use crate::settings::Endpoint;

/// Longest Retry-After honoured; a server asking for more gets this.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(30);

/// Longest server message kept in an error.
const MAX_MESSAGE: usize = 400;

/// How the API key is sent.
#[derive(Debug, Clone, Copy)]
pub(crate) enum KeyHeader {
    /// `Authorization: Bearer <key>`.
    Bearer,
    /// `x-api-key: <key>`.
    XApiKey,
}

/// An HTTP client bound to one endpoint.
#[derive(Debug)]
pub(crate) struct Http {
    client: reqwest::blocking::Client,
    pub(crate) endpoint: Endpoint,
    api_key: Option<String>,
}

impl Http {
    pub(crate) fn new(endpoint: Endpoint, api_key: Option<String>) -> Result<Http, ModelError> {
        let client = reqwest::blocking::Client::builder()
            .timeout(endpoint.timeout)
            .connect_timeout(endpoint.connect_timeout)
            .user_agent(concat!("deskhand/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ModelError::Config(format!("cannot build the HTTP client: {e}")))?;
        Ok(Http {
            client,
            endpoint,
            api_key: api_key.filter(|k| !k.trim().is_empty()),
        })
    }

    /// POSTs `body` to `url` and returns the JSON answer of a 2xx reply.
    pub(crate) fn post(
        &self,
        url: &str,
        key_header: KeyHeader,
        headers: &[(&str, &str)],
        body: &Value,
    ) -> Result<Value, ModelError> {
        let mut attempt: u32 = 0;
        loop {
            match self.post_once(url, key_header, headers, body, attempt) {
                Ok(value) => return Ok(value),
                Err(failure) => {
                    if !failure.retry || attempt >= self.endpoint.retries {
                        return Err(failure.error);
                    }
                    let backoff = self
                        .endpoint
                        .retry_backoff
                        .saturating_mul(2u32.saturating_pow(attempt));
                    let delay = failure
                        .retry_after
                        .map_or(backoff, |r| r.min(MAX_RETRY_AFTER));
                    tracing::warn!(endpoint = url, attempt, ?delay, error = %failure.error, "model call failed; retrying");
                    // Backoff between attempts is the point here, not a wait for a condition.
                    std::thread::sleep(delay);
                    attempt += 1;
                }
            }
        }
    }

    fn post_once(
        &self,
        url: &str,
        key_header: KeyHeader,
        headers: &[(&str, &str)],
        body: &Value,
        attempt: u32,
    ) -> Result<Value, Failure> {
        let mut request = self.client.post(url).json(body);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(key) = &self.api_key {
            request = match key_header {
                KeyHeader::Bearer => request.bearer_auth(key),
                KeyHeader::XApiKey => request.header("x-api-key", key),
            };
        }
        let response = request.send().map_err(|e| self.transport(url, &e))?;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let text = response.text().map_err(|e| self.transport(url, &e))?;
        if (200..300).contains(&status) {
            return serde_json::from_str(&text).map_err(|e| Failure {
                error: ModelError::BadReply {
                    endpoint: url.to_string(),
                    message: format!("not JSON ({e}): {}", self.clip(&text)),
                },
                retry: false,
                retry_after: None,
            });
        }
        let message = self.clip(&server_message(&text));
        let endpoint = url.to_string();
        let (error, retry) = match status {
            401 | 403 => {
                let key_env = self.endpoint.api_key_env.clone();
                let message = if self.api_key.is_none() {
                    format!("{message} (no key was sent: {key_env} is not set)")
                } else {
                    message
                };
                let error = ModelError::Auth {
                    endpoint,
                    status,
                    message,
                    key_env,
                };
                (error, false)
            }
            429 | 500 | 502 | 503 | 504 | 529 => {
                let error = ModelError::Server {
                    endpoint,
                    status,
                    attempts: attempt + 1,
                    message,
                };
                (error, true)
            }
            500..=599 => {
                let error = ModelError::Server {
                    endpoint,
                    status,
                    attempts: attempt + 1,
                    message,
                };
                (error, false)
            }
            _ => {
                let error = ModelError::Rejected {
                    endpoint,
                    status,
                    message,
                };
                (error, false)
            }
        };
        Err(Failure {
            error,
            retry,
            retry_after,
        })
    }

    fn transport(&self, url: &str, e: &reqwest::Error) -> Failure {
        let error = if e.is_timeout() {
            ModelError::Timeout {
                endpoint: url.to_string(),
                after: self.endpoint.timeout,
            }
        } else {
            ModelError::Connect {
                endpoint: url.to_string(),
                message: self.clip(&error_chain(e)),
            }
        };
        Failure {
            error,
            retry: true,
            retry_after: None,
        }
    }

    /// Shortens a server message and removes the key should the server echo it.
    fn clip(&self, message: &str) -> String {
        let mut message = message.trim().to_string();
        if let Some(key) = &self.api_key {
            message = message.replace(key.as_str(), "[redacted]");
        }
        if message.chars().count() > MAX_MESSAGE {
            message = message.chars().take(MAX_MESSAGE).collect::<String>() + "…";
        }
        message
    }
}

struct Failure {
    error: ModelError,
    retry: bool,
    retry_after: Option<Duration>,
}

/// The innermost causes of a transport error ("Connection refused (os error 111)").
fn error_chain(e: &reqwest::Error) -> String {
    let mut parts = vec![e.to_string()];
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        let text = s.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = s.source();
    }
    parts.join(": ")
}

/// The message in an error body: OpenAI `{"error":{"message"}}`, Anthropic
/// `{"error":{"type","message"}}`, Ollama `{"error":"..."}`, or the raw text.
fn server_message(body: &str) -> String {
    let Ok(value) = serde_json::from_str::<Value>(body) else {
        return body.to_string();
    };
    let error = value.get("error").unwrap_or(&value);
    if let Some(s) = error.as_str() {
        return s.to_string();
    }
    match error.get("message").and_then(Value::as_str) {
        Some(m) => m.to_string(),
        None => body.to_string(),
    }
}

/// The reply of a completion: its text, the token counts under the wire format's usage keys,
/// and the model the server names (the endpoint's model when it names none).
/// A count in a reply's `usage` object at this path (0 when absent).
fn usage_count(reply: &Value, path: &[&str]) -> u32 {
    let mut v = reply.get("usage").unwrap_or(&Value::Null);
    for key in path {
        v = v.get(key).unwrap_or(&Value::Null);
    }
    v.as_u64()
        .map_or(0, |n| u32::try_from(n).unwrap_or(u32::MAX))
}

/// Token counts as OpenAI-compatible servers report them: `prompt_tokens` includes the
/// `prompt_tokens_details.cached_tokens` read from their prefix cache.
pub(crate) fn openai_usage(reply: &Value) -> deskhand_core::ports::TokenUsage {
    deskhand_core::ports::TokenUsage {
        prompt: usage_count(reply, &["prompt_tokens"]),
        completion: usage_count(reply, &["completion_tokens"]),
        cached: usage_count(reply, &["prompt_tokens_details", "cached_tokens"]),
    }
}

/// Token counts as Anthropic reports them: `input_tokens` leaves out the tokens read from
/// (`cache_read_input_tokens`) or written to (`cache_creation_input_tokens`) the cache, so
/// the prompt is their sum.
pub(crate) fn anthropic_usage(reply: &Value) -> deskhand_core::ports::TokenUsage {
    let read = usage_count(reply, &["cache_read_input_tokens"]);
    let written = usage_count(reply, &["cache_creation_input_tokens"]);
    deskhand_core::ports::TokenUsage {
        prompt: usage_count(reply, &["input_tokens"])
            .saturating_add(read)
            .saturating_add(written),
        completion: usage_count(reply, &["output_tokens"]),
        cached: read,
    }
}

pub(crate) fn model_reply(
    reply: &Value,
    text: String,
    default_model: &str,
    usage: deskhand_core::ports::TokenUsage,
) -> deskhand_core::ports::ModelReply {
    deskhand_core::ports::ModelReply {
        text,
        usage,
        model: reply
            .get("model")
            .and_then(Value::as_str)
            .unwrap_or(default_model)
            .to_string(),
    }
}
