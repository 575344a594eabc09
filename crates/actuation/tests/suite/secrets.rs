//! The secret store: placeholders resolved at typing time, values redacted everywhere else.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use deskhand_actuation::secrets::{SecretError, SecretStore};

fn write_secrets(path: &Path, text: &str, mode: u32) {
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[test]
fn resolve_and_redact_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("secrets.toml");
    write_secrets(
        &path,
        "pw = \"hunter2\"\n\"mail.token\" = \"tok-hunter2-xyz\"\n",
        0o600,
    );
    let store = SecretStore::open(&path).unwrap();
    assert_eq!(store.names().collect::<Vec<_>>(), ["mail.token", "pw"]);

    let text = "login {{secret:pw}} then {{secret:mail.token}}\n";
    assert_eq!(
        SecretStore::placeholders(text),
        ["pw".to_string(), "mail.token".to_string()]
    );
    let typed = store.resolve(text).unwrap();
    assert_eq!(typed, "login hunter2 then tok-hunter2-xyz\n");
    // The longer value wins over the shorter one it contains.
    assert_eq!(store.redact(&typed), text);
    assert_eq!(store.redact("no secrets here"), "no secrets here");
    assert_eq!(store.resolve("plain").unwrap(), "plain");
}

#[test]
fn unknown_and_malformed_placeholders_leak_nothing() {
    let store = SecretStore::from_pairs([("pw", "hunter2"), ("api", "sk-123")]);
    let err = store.resolve("{{secret:pw}} {{secret:bank}}").unwrap_err();
    assert!(matches!(&err, SecretError::Unknown { name } if name == "bank"));
    let message = err.to_string();
    assert!(message.contains("bank"), "{message}");
    assert!(
        !message.contains("hunter2") && !message.contains("sk-123"),
        "{message}"
    );

    let err = store.resolve("ab{{secret:pw").unwrap_err();
    assert!(
        matches!(err, SecretError::Malformed { position: 2 }),
        "{err}"
    );
    assert!(store.resolve("{{secret:my pw}}").is_err());
}

#[test]
fn a_file_others_can_read_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("secrets.toml");
    write_secrets(&path, "pw = \"hunter2\"\n", 0o644);
    let err = SecretStore::open(&path).unwrap_err();
    assert!(
        matches!(err, SecretError::TooOpen { mode: 0o644, .. }),
        "{err}"
    );
    let message = err.to_string();
    assert!(
        message.contains(&format!("chmod 600 {}", path.display())),
        "{message}"
    );
    assert!(!message.contains("hunter2"), "{message}");

    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    assert!(SecretStore::open(&path).is_ok());
}

#[test]
fn a_missing_file_is_an_empty_store() {
    let dir = tempfile::tempdir().unwrap();
    let store = SecretStore::open(&dir.path().join("none.toml")).unwrap();
    assert_eq!(store.names().count(), 0);
    assert!(matches!(
        store.resolve("{{secret:pw}}"),
        Err(SecretError::Unknown { .. })
    ));
}

#[test]
fn bad_files_name_the_line_but_not_the_value() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("secrets.toml");
    for (text, line) in [
        ("a = \"x\"\npin = 98765\n", 2),
        ("a = \"x\"\n\npw = hunter2\n", 3),
        ("\"bad name\" = \"hunter2\"\n", 1),
        ("pw = \"\"\n", 1),
    ] {
        write_secrets(&path, text, 0o600);
        let err = SecretStore::open(&path).unwrap_err();
        let message = err.to_string();
        assert!(
            matches!(&err, SecretError::Parse { line: l, .. } if *l == line),
            "{text:?}: {message}"
        );
        assert!(
            !message.contains("98765") && !message.contains("hunter2"),
            "{message}"
        );
    }
}

#[test]
fn debug_shows_names_only() {
    let store = SecretStore::from_pairs([("pw", "hunter2")]);
    let debug = format!("{store:?}");
    assert!(debug.contains("pw"), "{debug}");
    assert!(!debug.contains("hunter2"), "{debug}");
}
