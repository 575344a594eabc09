//! The Anthropic backend against the scripted server's /v1/messages.

use deskhand_core::ports::{MessagePart, ModelBackend, TokenUsage};
use deskhand_models::{AnthropicBackend, EndpointKind, ModelError};
use deskhand_testkit::{Reply, ScriptedModelServer};

use super::common::{endpoint, request, schema, text, PNG_2X1};

fn backend(server: &ScriptedModelServer, key: Option<&str>) -> AnthropicBackend {
    AnthropicBackend::new(
        endpoint(EndpointKind::Anthropic, &server.root_url(), "claude-test"),
        key.map(str::to_string),
    )
    .unwrap()
}

#[test]
fn messages_format_with_system_images_key_and_usage() {
    let server = ScriptedModelServer::start().unwrap();
    server.map_model("claude-test", "manager");
    server.script(
        "manager",
        vec![Reply::text(r#"{"plan":"p","subgoal":"s"}"#)
            .with_usage(900, 30)
            .with_cached(600)],
    );
    let mut req = request(
        "manager",
        vec![
            text("The screen:"),
            MessagePart::Png {
                base64: PNG_2X1.into(),
                width: 2,
                height: 1,
            },
        ],
    );
    req.json_schema = Some(schema());
    let reply = backend(&server, Some("ak-test")).complete(&req).unwrap();
    assert_eq!(reply.text, r#"{"plan":"p","subgoal":"s"}"#);
    assert_eq!(reply.model, "claude-test");
    assert_eq!(
        reply.usage,
        // The server reports 300 uncached input tokens and 600 read from the cache.
        TokenUsage {
            prompt: 900,
            completion: 30,
            cached: 600,
        }
    );

    let log = server.requests_for("manager");
    assert_eq!(log.len(), 1);
    let r = &log[0];
    assert_eq!(r.path, "/v1/messages");
    assert_eq!(r.header("x-api-key"), Some("ak-test"));
    assert_eq!(r.header("anthropic-version"), Some("2023-06-01"));
    // The system prompt, the same on every call of a role, is the prefix marked for caching.
    assert_eq!(
        r.body["system"],
        serde_json::json!([{"type": "text", "text": "You are the manager of a desktop agent.",
            "cache_control": {"type": "ephemeral"}}])
    );
    assert_eq!(r.body["max_tokens"], 256);
    let messages = r.body["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 1, "the system message is not a message");
    assert_eq!(messages[0]["role"], "user");
    let content = &messages[0]["content"];
    assert_eq!(
        content[0],
        serde_json::json!({"type": "text", "text": "The screen:"})
    );
    assert_eq!(content[1]["type"], "image");
    assert_eq!(content[1]["source"]["type"], "base64");
    assert_eq!(content[1]["source"]["media_type"], "image/png");
    assert_eq!(content[1]["source"]["data"], PNG_2X1);
    assert_eq!(r.images, 1);
    assert!(r
        .text
        .contains("Answer with JSON only, matching this schema:"));
}

#[test]
fn overloaded_529_is_retried_and_401_is_not() {
    let server = ScriptedModelServer::start().unwrap();
    server.map_model("claude-test", "manager");
    server.script(
        "manager",
        vec![
            Reply::status(529, "Overloaded"),
            Reply::text("ok"),
            Reply::status(401, "invalid x-api-key"),
        ],
    );
    let backend = backend(&server, None);
    assert_eq!(
        backend
            .complete(&request("manager", vec![text("Go.")]))
            .unwrap()
            .text,
        "ok"
    );
    assert_eq!(server.count("manager"), 2);
    let err = backend
        .call(&request("manager", vec![text("Go.")]))
        .unwrap_err();
    assert_eq!(server.count("manager"), 3);
    assert!(
        matches!(err, ModelError::Auth { status: 401, .. }),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(message.contains("set ANTHROPIC_API_KEY"), "{message}");
    assert!(message.contains("no key was sent"), "{message}");
}
