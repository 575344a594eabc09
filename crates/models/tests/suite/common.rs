//! Shared helpers: endpoints pointing at the scripted server, and requests.

use deskhand_core::ports::{Message, MessagePart, MessageRole, ModelRequest};
use deskhand_core::Role;
use deskhand_models::{Endpoint, EndpointKind, EndpointSettings};

/// Settings for an endpoint at `url` with fast retries.
pub fn settings(kind: EndpointKind, url: &str, model: &str) -> EndpointSettings {
    EndpointSettings {
        kind: Some(kind),
        base_url: Some(url.to_string()),
        model: Some(model.to_string()),
        timeout_s: Some(10.0),
        retries: Some(3),
        retry_backoff_ms: Some(20),
        ..EndpointSettings::default()
    }
}

/// A validated endpoint at `url` with fast retries.
pub fn endpoint(kind: EndpointKind, url: &str, model: &str) -> Endpoint {
    Endpoint::from_settings(&settings(kind, url, model), "test").unwrap()
}

pub fn text(text: &str) -> MessagePart {
    MessagePart::Text { text: text.into() }
}

/// A system prompt and one user message with these parts.
pub fn request(role: &str, parts: Vec<MessagePart>) -> ModelRequest {
    ModelRequest {
        agent_role: Role::parse_among(role, &Role::ALL).unwrap(),
        messages: vec![
            Message {
                role: MessageRole::System,
                parts: vec![text("You are the manager of a desktop agent.")],
            },
            Message {
                role: MessageRole::User,
                parts,
            },
        ],
        json_schema: None,
        max_tokens: 256,
        memory_used: Vec::new(),
    }
}

/// A small real PNG (2x1 pixels), base64.
pub const PNG_2X1: &str =
    "iVBORw0KGgoAAAANSUhEUgAAAAIAAAABCAYAAAD0In+KAAAADklEQVR4nGP4z8AAQv8BD/kD/YURmXYAAAAASUVORK5CYII=";

pub fn schema() -> serde_json::Value {
    serde_json::json!({
        "title": "manager reply",
        "type": "object",
        "properties": {"plan": {"type": "string"}, "subgoal": {"type": "string"}},
        "required": ["plan", "subgoal"]
    })
}
