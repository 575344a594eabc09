//! `deskhand run` without a configured model: a clear how-to and exit code 2, before anything
//! on the desktop is touched and without a byte sent to any endpoint, even when the
//! environment names one in the variables other tools use.

use std::path::Path;
use std::process::{Command, Output};

use deskhand_testkit::ScriptedModelServer;

use super::text;

/// Runs `deskhand` with a private home, no display and no DESKHAND_* model settings, but with
/// keys and the base URLs of other tools pointing at `server`.
fn unconfigured(home: &Path, server: &ScriptedModelServer, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_deskhand"));
    for (name, _) in std::env::vars() {
        if name.starts_with("DESKHAND_") {
            cmd.env_remove(name);
        }
    }
    cmd.env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_DATA_HOME", home.join("share"))
        .env_remove("DISPLAY")
        .env("RUST_LOG", "warn")
        .env("DESKHAND_API_KEY", "sk-test-not-to-be-sent")
        .env("OPENAI_API_KEY", "sk-test-not-to-be-sent")
        .env("OPENAI_BASE_URL", server.url())
        .env("OPENAI_API_BASE", server.url())
        .env("ANTHROPIC_BASE_URL", server.root_url())
        .args(args)
        .output()
        .expect("run deskhand")
}

#[test]
fn run_without_a_model_says_how_to_configure_one_and_sends_nothing() {
    let server = ScriptedModelServer::start().unwrap();
    let home = tempfile::tempdir().unwrap();

    for args in [
        &["run", "open mousepad and write hello"][..],
        &["run", "x", "--json", "--max-steps", "3"][..],
    ] {
        let out = unconfigured(home.path(), &server, args);
        let said = text(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {said}");
        for hint in [
            "no model endpoint is configured",
            "[models.default]",
            "base_url",
            "DESKHAND_MODEL_URL",
            "DESKHAND_MODEL",
            &home
                .path()
                .join("config/deskhand/config.toml")
                .display()
                .to_string(),
        ] {
            assert!(said.contains(hint), "{args:?}: missing {hint:?} in {said}");
        }
        // Nothing started: no database, no events on stdout.
        assert!(out.stdout.is_empty(), "{args:?}: {said}");
    }
    assert!(!home.path().join("share/deskhand/deskhand.db").exists());

    // A half-configured endpoint is a configuration error naming the missing key.
    let config = home.path().join("config/deskhand/config.toml");
    std::fs::create_dir_all(config.parent().unwrap()).unwrap();
    std::fs::write(
        &config,
        "[models.default]\nbase_url = \"http://127.0.0.1:9/v1\"\n",
    )
    .unwrap();
    let out = unconfigured(home.path(), &server, &["run", "x"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("has no model"), "{}", text(&out));

    // Bad usage is 2 as well, and the help documents the exit codes.
    let out = unconfigured(home.path(), &server, &["run", "x", "--max-steps", "0"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let out = unconfigured(home.path(), &server, &["run", "--help"]);
    assert!(
        text(&out).contains("Exit codes: 0 succeeded, 1 failed, 2 no model configured"),
        "{}",
        text(&out)
    );

    assert!(server.requests().is_empty(), "{:?}", server.requests());
}
