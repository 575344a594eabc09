//! OpenAI-compatible chat completions: OpenAI, Ollama, vLLM, llama.cpp server, LM Studio.

use std::sync::atomic::{AtomicBool, Ordering};

use deskhand_core::ports::{MessagePart, MessageRole, ModelBackend, ModelReply, ModelRequest};
use deskhand_core::PortError;
use serde_json::{json, Value};

use crate::error::ModelError;
use crate::http::{Http, KeyHeader};
use crate::settings::{Endpoint, StructuredOutput};

/// A backend speaking `POST {base_url}/chat/completions`.
#[derive(Debug)]
pub struct OpenAiBackend {
    http: Http,
    /// Set once the server rejected `response_format` (auto mode): later calls put the schema
    /// in the prompt instead.
    no_response_format: AtomicBool,
    /// Set once the server asked for `max_completion_tokens` instead of `max_tokens`.
    max_completion_tokens: AtomicBool,
}

impl OpenAiBackend {
    /// A backend for the endpoint, sending `api_key` as a bearer token when there is one.
    pub fn new(endpoint: Endpoint, api_key: Option<String>) -> Result<OpenAiBackend, ModelError> {
        Ok(OpenAiBackend {
            http: Http::new(endpoint, api_key)?,
            no_response_format: AtomicBool::new(false),
            max_completion_tokens: AtomicBool::new(false),
        })
    }

    /// The endpoint this backend calls.
    pub fn endpoint(&self) -> &Endpoint {
        &self.http.endpoint
    }

    /// True when requests with a schema carry `response_format` (not switched off, and the
    /// server has not rejected it).
    pub fn sends_response_format(&self) -> bool {
        match self.http.endpoint.structured {
            StructuredOutput::On => true,
            StructuredOutput::Off => false,
            StructuredOutput::Auto => !self.no_response_format.load(Ordering::Relaxed),
        }
    }

    /// Sends one request; see the crate docs for the retry and fallback rules.
    pub fn call(&self, request: &ModelRequest) -> Result<ModelReply, ModelError> {
        let url = format!("{}/chat/completions", self.http.endpoint.base_url);
        // At most one fallback per parameter the server rejects.
        for _ in 0..3 {
            let structured = request.json_schema.is_some() && self.sends_response_format();
            let body = self.body(request, structured);
            match self.http.post(&url, KeyHeader::Bearer, &[], &body) {
                Ok(reply) => return self.parse(&url, &reply),
                Err(ModelError::Rejected {
                    status: 400,
                    message,
                    ..
                }) if structured
                    && self.http.endpoint.structured == StructuredOutput::Auto
                    && mentions_response_format(&message) =>
                {
                    tracing::info!(endpoint = %url, %message, "server rejects response_format; putting the schema in the prompt");
                    self.no_response_format.store(true, Ordering::Relaxed);
                }
                Err(ModelError::Rejected {
                    status: 400,
                    message,
                    ..
                }) if !self.max_completion_tokens.load(Ordering::Relaxed)
                    && message.contains("max_completion_tokens") =>
                {
                    self.max_completion_tokens.store(true, Ordering::Relaxed);
                }
                Err(e) => return Err(e),
            }
        }
        Err(ModelError::Rejected {
            endpoint: url,
            status: 400,
            message: "the server rejected the request even without optional parameters".into(),
        })
    }

    fn body(&self, request: &ModelRequest, structured: bool) -> Value {
        let endpoint = &self.http.endpoint;
        let hint = match (&request.json_schema, structured) {
            (Some(schema), false) => Some(schema_hint(schema)),
            _ => None,
        };
        let mut body = json!({
            "model": endpoint.model,
            "messages": messages(request, hint),
            "stream": false,
        });
        let tokens_key = if self.max_completion_tokens.load(Ordering::Relaxed) {
            "max_completion_tokens"
        } else {
            "max_tokens"
        };
        body[tokens_key] = json!(request.max_tokens);
        if let Some(t) = endpoint.temperature {
            body["temperature"] = json!(t);
        }
        if let (Some(schema), true) = (&request.json_schema, structured) {
            body["response_format"] = json!({
                "type": "json_schema",
                "json_schema": {
                    "name": schema_name(schema, request.agent_role.as_str()),
                    "schema": schema,
                    "strict": false
                }
            });
        }
        body
    }

    fn parse(&self, url: &str, reply: &Value) -> Result<ModelReply, ModelError> {
        let bad = |message: String| ModelError::BadReply {
            endpoint: url.to_string(),
            message,
        };
        let choice = reply
            .get("choices")
            .and_then(|c| c.get(0))
            .ok_or_else(|| bad("no choices in the reply".into()))?;
        let message = choice.get("message").unwrap_or(&Value::Null);
        let text = match message.get("content") {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Array(parts)) => parts
                .iter()
                .filter_map(|p| p.get("text").and_then(Value::as_str))
                .collect::<Vec<_>>()
                .join(""),
            _ => String::new(),
        };
        if text.trim().is_empty() {
            if let Some(refusal) = message.get("refusal").and_then(Value::as_str) {
                return Err(bad(format!("the model refused: {refusal}")));
            }
            let finish = choice
                .get("finish_reason")
                .and_then(Value::as_str)
                .unwrap_or("unknown");
            return Err(bad(format!(
                "the reply has no text (finish_reason {finish}); raise max_tokens if it is \"length\""
            )));
        }
        Ok(crate::http::model_reply(
            reply,
            text,
            &self.http.endpoint.model,
            crate::http::openai_usage(reply),
        ))
    }
}

impl ModelBackend for OpenAiBackend {
    fn complete(&self, request: &ModelRequest) -> Result<ModelReply, PortError> {
        self.call(request).map_err(PortError::from)
    }
}

fn mentions_response_format(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    m.contains("response_format") || m.contains("json_schema") || m.contains("response format")
}

/// The short instruction used when the schema cannot go into `response_format`.
pub(crate) fn schema_hint(schema: &Value) -> String {
    format!("Answer with JSON only, matching this schema: {schema}")
}

/// A `json_schema.name`: the schema's title, else "<role>_reply", as [A-Za-z0-9_-]{1,64}.
fn schema_name(schema: &Value, role: &str) -> String {
    let raw = schema
        .get("title")
        .and_then(Value::as_str)
        .map_or_else(|| format!("{role}_reply"), str::to_string);
    let name: String = raw
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .take(64)
        .collect();
    if name.is_empty() {
        "reply".into()
    } else {
        name
    }
}

fn messages(request: &ModelRequest, hint: Option<String>) -> Vec<Value> {
    let mut out: Vec<Value> = Vec::with_capacity(request.messages.len() + 1);
    let last_user = request
        .messages
        .iter()
        .rposition(|m| m.role == MessageRole::User);
    for (i, message) in request.messages.iter().enumerate() {
        let role = match message.role {
            MessageRole::System => "system",
            MessageRole::User => "user",
            MessageRole::Assistant => "assistant",
        };
        let mut parts: Vec<Value> = message.parts.iter().map(part).collect();
        if Some(i) == last_user {
            if let Some(hint) = &hint {
                parts.push(json!({"type": "text", "text": hint}));
            }
        }
        out.push(json!({"role": role, "content": content(parts)}));
    }
    if last_user.is_none() {
        if let Some(hint) = hint {
            out.push(json!({"role": "user", "content": hint}));
        }
    }
    out
}

fn part(part: &MessagePart) -> Value {
    match part {
        MessagePart::Text { text } => json!({"type": "text", "text": text}),
        MessagePart::Png { base64, .. } => json!({
            "type": "image_url",
            "image_url": {"url": format!("data:image/png;base64,{base64}")}
        }),
    }
}

/// Text-only content as one string (what every compatible server accepts), else the parts.
fn content(parts: Vec<Value>) -> Value {
    if parts.iter().all(|p| p["type"] == "text") {
        let text: Vec<&str> = parts.iter().filter_map(|p| p["text"].as_str()).collect();
        Value::String(text.join("\n\n"))
    } else {
        Value::Array(parts)
    }
}
