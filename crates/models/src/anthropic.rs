//! Anthropic Messages: `POST {base_url}/v1/messages`.

use deskhand_core::ports::{MessagePart, MessageRole, ModelBackend, ModelReply, ModelRequest};
use deskhand_core::PortError;
use serde_json::{json, Value};

use crate::error::ModelError;
use crate::http::{Http, KeyHeader};
use crate::openai::schema_hint;
use crate::settings::Endpoint;

/// The API version sent in `anthropic-version`.
pub const ANTHROPIC_VERSION: &str = "2023-06-01";

/// A backend speaking the Anthropic Messages API.
#[derive(Debug)]
pub struct AnthropicBackend {
    http: Http,
}

impl AnthropicBackend {
    /// A backend for the endpoint, sending `api_key` as `x-api-key` when there is one.
    pub fn new(
        endpoint: Endpoint,
        api_key: Option<String>,
    ) -> Result<AnthropicBackend, ModelError> {
        Ok(AnthropicBackend {
            http: Http::new(endpoint, api_key)?,
        })
    }

    /// The endpoint this backend calls.
    pub fn endpoint(&self) -> &Endpoint {
        &self.http.endpoint
    }

    /// Sends one request. A schema goes into the prompt as a short instruction.
    pub fn call(&self, request: &ModelRequest) -> Result<ModelReply, ModelError> {
        let url = format!("{}/v1/messages", self.http.endpoint.base_url);
        let body = self.body(request);
        let reply = self.http.post(
            &url,
            KeyHeader::XApiKey,
            &[("anthropic-version", ANTHROPIC_VERSION)],
            &body,
        )?;
        self.parse(&url, &reply)
    }

    fn body(&self, request: &ModelRequest) -> Value {
        let endpoint = &self.http.endpoint;
        let hint = request.json_schema.as_ref().map(schema_hint);
        let system: Vec<&str> = request
            .messages
            .iter()
            .filter(|m| m.role == MessageRole::System)
            .flat_map(|m| m.parts.iter())
            .filter_map(|p| match p {
                MessagePart::Text { text } => Some(text.as_str()),
                MessagePart::Png { .. } => None,
            })
            .collect();
        let last_user = request
            .messages
            .iter()
            .rposition(|m| m.role == MessageRole::User);
        let mut messages: Vec<Value> = Vec::new();
        for (i, message) in request.messages.iter().enumerate() {
            let role = match message.role {
                MessageRole::System => continue,
                MessageRole::User => "user",
                MessageRole::Assistant => "assistant",
            };
            let mut content: Vec<Value> = message.parts.iter().map(part).collect();
            if Some(i) == last_user {
                if let Some(hint) = &hint {
                    content.push(json!({"type": "text", "text": hint}));
                }
            }
            messages.push(json!({"role": role, "content": content}));
        }
        if last_user.is_none() {
            if let Some(hint) = hint {
                messages.push(json!({"role": "user", "content": [{"type": "text", "text": hint}]}));
            }
        }
        let mut body = json!({
            "model": endpoint.model,
            "max_tokens": request.max_tokens,
            "messages": messages,
        });
        // The system prompt is the same for every call of a role: marked as the prefix to
        // cache, later calls read it from Anthropic's prompt cache.
        if !system.is_empty() {
            body["system"] = json!([{
                "type": "text",
                "text": system.join("\n\n"),
                "cache_control": {"type": "ephemeral"}
            }]);
        }
        if let Some(t) = endpoint.temperature {
            body["temperature"] = json!(t);
        }
        body
    }

    fn parse(&self, url: &str, reply: &Value) -> Result<ModelReply, ModelError> {
        let blocks = reply
            .get("content")
            .and_then(Value::as_array)
            .ok_or_else(|| ModelError::BadReply {
                endpoint: url.to_string(),
                message: "no content in the reply".into(),
            })?;
        let text: String = blocks
            .iter()
            .filter(|b| b.get("type").and_then(Value::as_str) == Some("text"))
            .filter_map(|b| b.get("text").and_then(Value::as_str))
            .collect();
        if text.trim().is_empty() {
            let stop = reply
                .get("stop_reason")
                .and_then(Value::as_str)
                .unwrap_or("unknown");
            return Err(ModelError::BadReply {
                endpoint: url.to_string(),
                message: format!(
                    "the reply has no text (stop_reason {stop}); raise max_tokens if it is \"max_tokens\""
                ),
            });
        }
        Ok(crate::http::model_reply(
            reply,
            text,
            &self.http.endpoint.model,
            crate::http::anthropic_usage(reply),
        ))
    }
}

impl ModelBackend for AnthropicBackend {
    fn complete(&self, request: &ModelRequest) -> Result<ModelReply, PortError> {
        self.call(request).map_err(PortError::from)
    }
}

fn part(part: &MessagePart) -> Value {
    match part {
        MessagePart::Text { text } => json!({"type": "text", "text": text}),
        MessagePart::Png { base64, .. } => json!({
            "type": "image",
            "source": {"type": "base64", "media_type": "image/png", "data": base64}
        }),
    }
}
