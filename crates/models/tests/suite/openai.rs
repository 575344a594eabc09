//! The OpenAI-compatible backend against the scripted server's /v1/chat/completions.

use deskhand_core::ports::{MessagePart, ModelBackend, TokenUsage};
use deskhand_core::PortErrorKind;
use deskhand_models::{EndpointKind, ModelError, OpenAiBackend};
use deskhand_testkit::{Reply, ScriptedModelServer};

use super::common::{endpoint, request, schema, settings, text, PNG_2X1};

fn backend(server: &ScriptedModelServer, model: &str) -> OpenAiBackend {
    OpenAiBackend::new(endpoint(EndpointKind::OpenAi, &server.url(), model), None).unwrap()
}

#[test]
fn text_reply_comes_back_with_the_model_name() {
    let server = ScriptedModelServer::start().unwrap();
    server.script("manager", vec![Reply::text("the plan is ready")]);
    let reply = backend(&server, "manager")
        .complete(&request("manager", vec![text("Open mousepad.")]))
        .unwrap();
    assert_eq!(reply.text, "the plan is ready");
    assert_eq!(reply.model, "manager");
    let log = server.requests();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].path, "/v1/chat/completions");
    assert_eq!(log[0].body["messages"][0]["role"], "system");
    assert_eq!(log[0].body["messages"][1]["content"], "Open mousepad.");
    assert_eq!(log[0].body["max_tokens"], 256);
    assert!(log[0].text.contains("manager of a desktop agent"));
    assert!(log[0].text.contains("Open mousepad."));
    assert_eq!(
        log[0].header("authorization"),
        None,
        "no key configured, none sent"
    );
}

#[test]
fn images_are_sent_as_base64_data_urls() {
    let server = ScriptedModelServer::start().unwrap();
    server.script("operator", vec![Reply::text("ok")]);
    let parts = vec![
        text("Here is the screen."),
        MessagePart::Png {
            base64: PNG_2X1.into(),
            width: 2,
            height: 1,
        },
    ];
    backend(&server, "operator")
        .complete(&request("operator", parts))
        .unwrap();
    let log = server.requests_for("operator");
    assert_eq!(log[0].images, 1);
    let content = &log[0].body["messages"][1]["content"];
    assert_eq!(content[0]["type"], "text");
    assert_eq!(content[1]["type"], "image_url");
    assert_eq!(
        content[1]["image_url"]["url"],
        format!("data:image/png;base64,{PNG_2X1}")
    );
}

#[test]
fn a_schema_is_sent_as_response_format() {
    let server = ScriptedModelServer::start().unwrap();
    server.script(
        "manager",
        vec![Reply::text(r#"{"plan":"p","subgoal":"s"}"#)],
    );
    let mut req = request("manager", vec![text("Plan.")]);
    req.json_schema = Some(schema());
    backend(&server, "manager").complete(&req).unwrap();
    let body = &server.requests()[0].body;
    assert_eq!(body["response_format"]["type"], "json_schema");
    assert_eq!(
        body["response_format"]["json_schema"]["name"],
        "manager_reply"
    );
    assert_eq!(body["response_format"]["json_schema"]["schema"], schema());
    assert_eq!(body["response_format"]["json_schema"]["strict"], false);
    assert!(!server.requests()[0].text.contains("Answer with JSON only"));
}

#[test]
fn a_server_without_response_format_gets_the_schema_in_the_prompt_from_then_on() {
    let server = ScriptedModelServer::start().unwrap();
    server.script(
        "manager",
        vec![
            Reply::status(
                400,
                "Unrecognized request argument supplied: response_format",
            ),
            Reply::text(r#"{"plan":"p","subgoal":"s"}"#),
            Reply::text(r#"{"plan":"p2","subgoal":"s2"}"#),
        ],
    );
    let backend = backend(&server, "manager");
    let mut req = request("manager", vec![text("Plan.")]);
    req.json_schema = Some(schema());
    assert!(backend.sends_response_format());
    assert_eq!(
        backend.complete(&req).unwrap().text,
        r#"{"plan":"p","subgoal":"s"}"#
    );
    assert!(!backend.sends_response_format());
    assert_eq!(
        backend.complete(&req).unwrap().text,
        r#"{"plan":"p2","subgoal":"s2"}"#
    );

    let log = server.requests();
    assert_eq!(log.len(), 3);
    assert!(log[0].body.get("response_format").is_some());
    for later in &log[1..] {
        assert!(later.body.get("response_format").is_none());
        assert!(later
            .text
            .contains("Answer with JSON only, matching this schema:"));
        assert!(later.text.contains("\"subgoal\""));
    }
}

#[test]
fn structured_off_never_sends_response_format() {
    let server = ScriptedModelServer::start().unwrap();
    server.script("manager", vec![Reply::text("{}")]);
    let mut s = settings(EndpointKind::OpenAi, &server.url(), "manager");
    s.structured = Some(deskhand_models::StructuredOutput::Off);
    let backend = OpenAiBackend::new(
        deskhand_models::Endpoint::from_settings(&s, "t").unwrap(),
        None,
    )
    .unwrap();
    let mut req = request("manager", vec![text("Plan.")]);
    req.json_schema = Some(schema());
    backend.complete(&req).unwrap();
    let log = server.requests();
    assert!(log[0].body.get("response_format").is_none());
    assert!(log[0].text.contains("Answer with JSON only"));
}

#[test]
fn a_503_is_retried_then_succeeds() {
    let server = ScriptedModelServer::start().unwrap();
    server.script(
        "manager",
        vec![Reply::status(503, "busy"), Reply::text("after the retry")],
    );
    let reply = backend(&server, "manager")
        .complete(&request("manager", vec![text("Go.")]))
        .unwrap();
    assert_eq!(reply.text, "after the retry");
    let log = server.requests();
    assert_eq!(log.len(), 2);
    assert_eq!(log[0].status, 503);
    assert_eq!(log[1].status, 200);
}

#[test]
fn a_429_with_retry_after_is_retried() {
    let server = ScriptedModelServer::start().unwrap();
    server.script(
        "manager",
        vec![
            Reply::status(429, "rate limited").with_header("Retry-After", "0"),
            Reply::text("ok"),
        ],
    );
    let reply = backend(&server, "manager")
        .complete(&request("manager", vec![text("Go.")]))
        .unwrap();
    assert_eq!(reply.text, "ok");
    assert_eq!(server.count("manager"), 2);
}

#[test]
fn retries_stop_after_the_configured_number() {
    let server = ScriptedModelServer::start().unwrap();
    server.script("manager", vec![Reply::status(502, "bad gateway"); 5]);
    let err = backend(&server, "manager")
        .call(&request("manager", vec![text("Go.")]))
        .unwrap_err();
    assert_eq!(server.count("manager"), 4, "one call and 3 retries");
    match &err {
        ModelError::Server {
            status, attempts, ..
        } => assert_eq!((*status, *attempts), (502, 4)),
        other => panic!("expected a server error, got {other:?}"),
    }
    assert!(err.to_string().contains("bad gateway"), "{err}");
}

#[test]
fn a_401_fails_at_once_with_a_clear_error_and_never_shows_the_key() {
    let server = ScriptedModelServer::start().unwrap();
    server.script(
        "manager",
        vec![
            Reply::status(401, "Incorrect API key provided: sk-secret-123"),
            Reply::text("never sent"),
        ],
    );
    let backend = OpenAiBackend::new(
        endpoint(EndpointKind::OpenAi, &server.url(), "manager"),
        Some("sk-secret-123".into()),
    )
    .unwrap();
    let err = backend
        .call(&request("manager", vec![text("Go.")]))
        .unwrap_err();
    assert_eq!(server.count("manager"), 1);
    assert_eq!(
        server.requests()[0].header("authorization"),
        Some("Bearer sk-secret-123")
    );
    assert!(
        matches!(err, ModelError::Auth { status: 401, .. }),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(message.contains(&server.url()), "{message}");
    assert!(message.contains("refused the API key (401)"), "{message}");
    assert!(message.contains("set DESKHAND_API_KEY"), "{message}");
    assert!(!message.contains("sk-secret-123"), "{message}");
    let port = deskhand_core::PortError::from(err);
    assert_eq!(port.kind, PortErrorKind::Unavailable);
    assert!(!port.is_retryable());
}

#[test]
fn a_404_fails_at_once_as_not_found() {
    let server = ScriptedModelServer::start().unwrap();
    server.script(
        "manager",
        vec![Reply::status(404, "model 'manager' not found")],
    );
    let err = backend(&server, "manager")
        .complete(&request("manager", vec![text("Go.")]))
        .unwrap_err();
    assert_eq!(server.count("manager"), 1);
    assert_eq!(err.kind, PortErrorKind::NotFound);
    assert!(
        err.message.contains("model 'manager' not found"),
        "{}",
        err.message
    );
}

#[test]
fn a_reply_slower_than_the_timeout_is_a_timeout_error() {
    let server = ScriptedModelServer::start().unwrap();
    server.script(
        "manager",
        vec![Reply::delayed(5_000, Reply::text("too late"))],
    );
    let mut s = settings(EndpointKind::OpenAi, &server.url(), "manager");
    s.timeout_s = Some(0.3);
    s.retries = Some(0);
    let backend = OpenAiBackend::new(
        deskhand_models::Endpoint::from_settings(&s, "t").unwrap(),
        None,
    )
    .unwrap();
    let err = backend
        .complete(&request("manager", vec![text("Go.")]))
        .unwrap_err();
    assert_eq!(err.kind, PortErrorKind::Timeout, "{}", err.message);
    assert!(
        err.message.contains("did not answer within"),
        "{}",
        err.message
    );
}

#[test]
fn a_timeout_is_retried() {
    let server = ScriptedModelServer::start().unwrap();
    server.script(
        "manager",
        vec![
            Reply::delayed(5_000, Reply::text("too late")),
            Reply::text("in time"),
        ],
    );
    let mut s = settings(EndpointKind::OpenAi, &server.url(), "manager");
    s.timeout_s = Some(0.3);
    s.retries = Some(1);
    let backend = OpenAiBackend::new(
        deskhand_models::Endpoint::from_settings(&s, "t").unwrap(),
        None,
    )
    .unwrap();
    let reply = backend
        .complete(&request("manager", vec![text("Go.")]))
        .unwrap();
    assert_eq!(reply.text, "in time");
}

#[test]
fn usage_is_read_from_the_reply() {
    let server = ScriptedModelServer::start().unwrap();
    server.script(
        "manager",
        vec![Reply::text("ok").with_usage(1234, 56).with_cached(1024)],
    );
    let reply = backend(&server, "manager")
        .complete(&request("manager", vec![text("Go.")]))
        .unwrap();
    assert_eq!(
        reply.usage,
        TokenUsage {
            prompt: 1234,
            completion: 56,
            cached: 1024,
        }
    );
}

#[test]
fn an_exhausted_script_fails_loudly() {
    let server = ScriptedModelServer::start().unwrap();
    let mut s = settings(EndpointKind::OpenAi, &server.url(), "manager");
    s.retries = Some(0);
    let backend = OpenAiBackend::new(
        deskhand_models::Endpoint::from_settings(&s, "t").unwrap(),
        None,
    )
    .unwrap();
    let err = backend
        .complete(&request("manager", vec![text("Go.")]))
        .unwrap_err();
    assert!(
        err.message
            .contains("no scripted reply left for role manager turn 0"),
        "{}",
        err.message
    );
    assert_eq!(server.requests()[0].status, 500);
}

#[test]
fn a_responder_computes_replies_from_the_request() {
    let server = ScriptedModelServer::start().unwrap();
    server.script("operator", vec![Reply::text("scripted first")]);
    server.responder(
        "operator",
        Box::new(|req, turn| {
            let id =
                deskhand_testkit::node_id(&req.text, "push button", "Save").unwrap_or_default();
            Reply::text(format!("turn {turn}: click {id}"))
        }),
    );
    let backend = backend(&server, "operator");
    let tree = "w1 frame \"Mousepad\" [0,0,800,600] A\n n7 push button \"Save\" [10,10,40,20]";
    let first = backend
        .complete(&request("operator", vec![text(tree)]))
        .unwrap();
    let second = backend
        .complete(&request("operator", vec![text(tree)]))
        .unwrap();
    assert_eq!(first.text, "scripted first");
    assert_eq!(second.text, "turn 1: click n7");
}

#[test]
fn an_unreachable_endpoint_is_a_connect_error() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let url = format!("http://127.0.0.1:{port}/v1");
    let mut s = settings(EndpointKind::OpenAi, &url, "m");
    s.retries = Some(1);
    let backend = OpenAiBackend::new(
        deskhand_models::Endpoint::from_settings(&s, "t").unwrap(),
        None,
    )
    .unwrap();
    let err = backend
        .call(&request("manager", vec![text("Go.")]))
        .unwrap_err();
    assert!(matches!(err, ModelError::Connect { .. }), "{err:?}");
    assert!(err.is_retryable());
    assert!(err.to_string().contains(&url), "{err}");
}

#[test]
fn a_server_that_wants_max_completion_tokens_gets_it() {
    let server = ScriptedModelServer::start().unwrap();
    server.script(
        "manager",
        vec![
            Reply::status(
                400,
                "Unsupported parameter: 'max_tokens' is not supported with this model. \
                 Use 'max_completion_tokens' instead.",
            ),
            Reply::text("ok"),
        ],
    );
    let reply = backend(&server, "manager")
        .complete(&request("manager", vec![text("Go.")]))
        .unwrap();
    assert_eq!(reply.text, "ok");
    let log = server.requests();
    assert_eq!(log[0].body["max_tokens"], 256);
    assert!(log[1].body.get("max_tokens").is_none());
    assert_eq!(log[1].body["max_completion_tokens"], 256);
}
