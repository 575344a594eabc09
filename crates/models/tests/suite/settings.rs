//! Settings: the config file section, environment overrides, validation.

use deskhand_core::Role;
use std::collections::HashMap;
use std::time::Duration;

use deskhand_models::{EndpointKind, ModelSettings, StructuredOutput};

fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |k| map.get(k).cloned()
}

#[test]
fn the_config_file_section_parses_and_roles_inherit_from_the_default() {
    let text = r#"
        [default]
        kind = "openai"
        base_url = "http://127.0.0.1:11434/v1/"
        model = "qwen2.5vl:7b"
        timeout_s = 60
        structured = "off"

        [roles.notetaker]
        model = "small"
        max_image_side = 800

        [roles.manager]
        kind = "anthropic"
        model = "claude-sonnet"
    "#;
    let models: ModelSettings = toml::from_str(text).unwrap();
    assert!(models.is_configured());
    let default = models.endpoint("operator").unwrap().unwrap();
    assert_eq!(default.base_url, "http://127.0.0.1:11434/v1");
    assert_eq!(default.timeout, Duration::from_secs(60));
    assert_eq!(default.structured, StructuredOutput::Off);
    assert_eq!(default.api_key_env, "DESKHAND_API_KEY");
    assert_eq!(default.max_image_side, 1280);

    let notetaker = models.endpoint("notetaker").unwrap().unwrap();
    assert_eq!(notetaker.model, "small");
    assert_eq!(notetaker.base_url, default.base_url);
    assert_eq!(notetaker.max_image_side, 800);

    // Another kind does not inherit the default's URL or key variable.
    let manager = models.endpoint("manager").unwrap().unwrap();
    assert_eq!(manager.kind, EndpointKind::Anthropic);
    assert_eq!(manager.base_url, "https://api.anthropic.com");
    assert_eq!(manager.api_key_env, "ANTHROPIC_API_KEY");

    let lines = models.describe(&Role::ALL);
    assert_eq!(
        lines[0],
        "manager -> anthropic claude-sonnet at https://api.anthropic.com"
    );
    assert_eq!(
        lines[1],
        "operator -> openai qwen2.5vl:7b at http://127.0.0.1:11434/v1"
    );
    assert_eq!(lines.len(), Role::ALL.len());
}

#[test]
fn unknown_keys_are_refused() {
    let err = toml::from_str::<ModelSettings>("[default]\nmodle = \"x\"\n").unwrap_err();
    assert!(err.to_string().contains("modle"), "{err}");
}

#[test]
fn environment_overrides_the_file() {
    let models: ModelSettings =
        toml::from_str("[default]\nbase_url = \"http://file:1/v1\"\nmodel = \"file-model\"\n")
            .unwrap();
    let models = models
        .with_env(
            env(&[
                ("DESKHAND_MODEL_URL", "http://env:2/v1"),
                ("DESKHAND_NOTETAKER_MODEL", "cheap"),
                ("DESKHAND_MANAGER_MODEL_URL", "http://strong:3/v1"),
                ("DESKHAND_MANAGER_MODEL", "strong"),
                ("DESKHAND_OPERATOR_MODEL", ""),
            ]),
            &Role::ALL,
        )
        .unwrap();
    let default = models.endpoint("reflector").unwrap().unwrap();
    assert_eq!(
        (default.base_url.as_str(), default.model.as_str()),
        ("http://env:2/v1", "file-model")
    );
    let notetaker = models.endpoint("notetaker").unwrap().unwrap();
    assert_eq!(
        (notetaker.base_url.as_str(), notetaker.model.as_str()),
        ("http://env:2/v1", "cheap")
    );
    let manager = models.endpoint("manager").unwrap().unwrap();
    assert_eq!(
        (manager.base_url.as_str(), manager.model.as_str()),
        ("http://strong:3/v1", "strong")
    );
    assert!(
        !models.roles.contains_key("operator"),
        "empty values count as unset"
    );
}

#[test]
fn environment_alone_configures_an_endpoint() {
    let models = ModelSettings::default()
        .with_env(
            env(&[
                ("DESKHAND_MODEL_URL", "http://127.0.0.1:8080/v1"),
                ("DESKHAND_MODEL", "local"),
            ]),
            &Role::ALL,
        )
        .unwrap();
    assert!(models.is_configured());
    let e = models.endpoint("tips").unwrap().unwrap();
    assert_eq!(e.describe(), "openai local at http://127.0.0.1:8080/v1");

    let anthropic = ModelSettings::default()
        .with_env(
            env(&[
                ("DESKHAND_MODEL_KIND", "anthropic"),
                ("DESKHAND_MODEL", "claude"),
            ]),
            &Role::ALL,
        )
        .unwrap();
    assert_eq!(
        anthropic.endpoint("manager").unwrap().unwrap().base_url,
        "https://api.anthropic.com"
    );
    let err = ModelSettings::default()
        .with_env(env(&[("DESKHAND_MODEL_KIND", "gemini")]), &Role::ALL)
        .unwrap_err();
    assert!(
        err.to_string().contains("\"openai\" or \"anthropic\""),
        "{err}"
    );
}

#[test]
fn a_model_name_alone_sends_nothing_anywhere() {
    let models = ModelSettings::default()
        .with_env(env(&[("DESKHAND_MODEL", "gpt-4o")]), &Role::ALL)
        .unwrap();
    assert!(!models.is_configured());
}

#[test]
fn invalid_values_are_refused_with_the_setting_named() {
    let models: ModelSettings =
        toml::from_str("[default]\nbase_url = \"127.0.0.1:8080\"\nmodel = \"m\"\n").unwrap();
    let err = models.endpoint("manager").unwrap_err().to_string();
    assert!(err.contains("must start with http://"), "{err}");
    let models: ModelSettings =
        toml::from_str("[default]\nbase_url = \"http://h/v1\"\nmodel = \"m\"\ntimeout_s = 0\n")
            .unwrap();
    let err = models.endpoint("manager").unwrap_err().to_string();
    assert!(err.contains("timeout_s"), "{err}");
}
