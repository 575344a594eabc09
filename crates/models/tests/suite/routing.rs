//! The role router: each role's requests go to its own endpoint.

use deskhand_core::ports::ModelBackend;
use deskhand_core::Role;
use deskhand_models::{EndpointKind, ModelError, ModelSettings, RoleRouter};
use deskhand_testkit::{Reply, ScriptedModelServer};

use super::common::{request, settings, text};

#[test]
fn two_roles_go_to_two_models() {
    let server = ScriptedModelServer::start().unwrap();
    server.script("manager", vec![Reply::text("plan")]);
    server.script("notetaker", vec![Reply::text("note")]);
    server.script("reflector", vec![Reply::text("A")]);
    let mut models = ModelSettings {
        default: Some(settings(EndpointKind::OpenAi, &server.url(), "reflector")),
        ..ModelSettings::default()
    };
    models.roles.insert(
        "manager".into(),
        settings(EndpointKind::OpenAi, &server.url(), "manager"),
    );
    // Only the model differs: the URL is inherited from the default.
    models.roles.insert(
        "notetaker".into(),
        deskhand_models::EndpointSettings {
            model: Some("notetaker".into()),
            max_image_side: Some(640),
            ..Default::default()
        },
    );
    let router = RoleRouter::from_settings_with_keys(&models, &Role::ALL, &|_| None).unwrap();
    assert_eq!(
        router
            .complete(&request("manager", vec![text("a")]))
            .unwrap()
            .text,
        "plan"
    );
    assert_eq!(
        router
            .complete(&request("notetaker", vec![text("b")]))
            .unwrap()
            .text,
        "note"
    );
    // A role without an entry uses the default.
    assert_eq!(
        router
            .complete(&request("reflector", vec![text("c")]))
            .unwrap()
            .text,
        "A"
    );

    let models_seen: Vec<String> = server.requests().iter().map(|r| r.model.clone()).collect();
    assert_eq!(models_seen, ["manager", "notetaker", "reflector"]);
    assert_eq!(server.count("manager"), 1);
    assert_eq!(server.count("notetaker"), 1);
    assert_eq!(router.max_image_side("notetaker"), 640);
    assert_eq!(router.max_image_side("manager"), 1280);
    let lines = router.describe();
    assert!(
        lines.contains(&format!("manager -> openai manager at {}", server.url())),
        "{lines:?}"
    );
    assert!(
        lines.contains(&format!(
            "notetaker -> openai notetaker at {}",
            server.url()
        )),
        "{lines:?}"
    );
}

#[test]
fn api_keys_come_from_the_named_variable() {
    let server = ScriptedModelServer::start().unwrap();
    server.script("manager", vec![Reply::text("ok")]);
    let mut default = settings(EndpointKind::OpenAi, &server.url(), "manager");
    default.api_key_env = Some("MY_KEY_VAR".into());
    let models = ModelSettings {
        default: Some(default),
        ..ModelSettings::default()
    };
    let keys = |name: &str| (name == "MY_KEY_VAR").then(|| "sk-from-env".to_string());
    let router = RoleRouter::from_settings_with_keys(&models, &Role::ALL, &keys).unwrap();
    router
        .complete(&request("manager", vec![text("a")]))
        .unwrap();
    assert_eq!(
        server.requests()[0].header("authorization"),
        Some("Bearer sk-from-env")
    );
    assert!(!router.describe().join("\n").contains("sk-from-env"));
}

#[test]
fn unconfigured_is_an_error_that_says_how_to_configure() {
    let models = ModelSettings::default()
        .with_env(|_| None, &Role::ALL)
        .unwrap();
    assert!(!models.is_configured());
    let err = RoleRouter::from_settings(&models, &Role::ALL).unwrap_err();
    assert!(matches!(err, ModelError::NotConfigured(_)), "{err:?}");
    let message = err.to_string();
    for needle in [
        "DESKHAND_MODEL_URL",
        "DESKHAND_MODEL",
        "[models.default]",
        "base_url",
    ] {
        assert!(message.contains(needle), "{needle} missing from: {message}");
    }
    let port = deskhand_core::PortError::from(err);
    assert_eq!(port.kind, deskhand_core::PortErrorKind::Unavailable);
}

#[test]
fn a_role_entry_without_any_url_is_refused_with_the_setting_named() {
    let mut models = ModelSettings::default();
    models.roles.insert(
        "manager".into(),
        deskhand_models::EndpointSettings {
            model: Some("m".into()),
            ..Default::default()
        },
    );
    models.roles.insert(
        "operator".into(),
        settings(EndpointKind::OpenAi, "http://127.0.0.1:9/v1", "o"),
    );
    let err = RoleRouter::from_settings_with_keys(&models, &Role::ALL, &|_| None).unwrap_err();
    assert!(matches!(err, ModelError::Config(_)), "{err:?}");
    assert!(
        err.to_string()
            .contains("[models.roles.manager] has no base_url"),
        "{err}"
    );
}

#[test]
fn a_misspelt_role_is_refused() {
    let mut models = ModelSettings::default();
    models.roles.insert(
        "managr".into(),
        settings(EndpointKind::OpenAi, "http://127.0.0.1:9/v1", "m"),
    );
    let err = RoleRouter::from_settings_with_keys(&models, &Role::ALL, &|_| None).unwrap_err();
    let message = err.to_string();
    assert!(message.contains("unknown role \"managr\""), "{message}");
    assert!(
        message.contains("manager, operator, reflector, notetaker, tips, shortcuts"),
        "{message}"
    );
}
