//! The action policy: built-in safe defaults, user rules from TOML files, and bad files.

use deskhand_actuation::policy::{escape_visible, ActionContext, Policy, PolicyError, Verdict};
use deskhand_core::{Action, KeyChord, MouseButton, Target};

fn click() -> Action {
    Action::Click {
        target: Target::node("a7"),
        button: MouseButton::Left,
        modifiers: None,
    }
}

fn typing(text: &str) -> Action {
    Action::Type { text: text.into() }
}

fn key(chord: &str) -> Action {
    Action::Key {
        chord: KeyChord::parse(chord).unwrap(),
    }
}

/// The verdict for clicking a push button with a label.
fn click_verdict(policy: &Policy, label: &str) -> Verdict {
    let action = click();
    let ctx = ActionContext {
        target_label: Some(label),
        target_role: Some("push button"),
        ..ActionContext::new(&action)
    };
    policy.evaluate(&ctx).verdict
}

fn type_verdict(policy: &Policy, text: &str, role: Option<&str>) -> Verdict {
    let action = typing(text);
    let ctx = ActionContext {
        target_role: role,
        app: Some("xterm"),
        ..ActionContext::new(&action)
    };
    policy.evaluate(&ctx).verdict
}

fn key_verdict(policy: &Policy, chord: &str, title: &str) -> Verdict {
    let action = key(chord);
    let ctx = ActionContext {
        window_title: Some(title),
        ..ActionContext::new(&action)
    };
    policy.evaluate(&ctx).verdict
}

#[test]
fn builtin_confirms_clicks_that_delete_send_or_pay() {
    let policy = Policy::builtin();
    for label in [
        "Delete",
        "Send",
        "Pay now",
        "Buy",
        "Submit order",
        "Move to _Trash",
        "Close without Saving",
    ] {
        assert_eq!(click_verdict(&policy, label), Verdict::Confirm, "{label}");
    }
    for label in ["Save", "Open", "Sort order", "Format", "Sender details"] {
        assert_eq!(click_verdict(&policy, label), Verdict::Allow, "{label}");
    }
    let action = click();
    let decision = policy.evaluate(&ActionContext {
        target_label: Some("Delete"),
        target_role: Some("push button"),
        window_title: Some("Inbox"),
        ..ActionContext::new(&action)
    });
    assert_eq!(decision.rule, "builtin:destructive-click");
    assert_eq!(
        decision.shown,
        r#"click push button "Delete" (a7) in window "Inbox""#
    );
}

#[test]
fn builtin_confirms_commands_that_remove_or_overwrite_files() {
    let policy = Policy::builtin();
    for text in [
        "rm -rf ~/x",
        "dd if=/dev/zero of=/dev/sda",
        "echo hi > notes.txt",
        "sudo mkfs.ext4 /dev/sdb1\n",
        "cd /tmp && rm -f a",
        "find . -name '*.o' -exec rm {} +",
        "shred -u key.pem",
        "truncate -s 0 log",
        "/bin/rm x",
        "\\rm x",
        "git reset --hard HEAD~3",
        "sort data >| data.sorted",
        "cat a | tee b",
    ] {
        assert_eq!(
            type_verdict(&policy, text, None),
            Verdict::Confirm,
            "{text}"
        );
    }
    for text in [
        "ls -la",
        "echo hi >> notes.txt",
        "make 2>&1 | less",
        "grep x y > /dev/null",
        "if (a > b) { return; }",
        "x = y > 0",
        "<p>Hello</p>",
        "I will perform the form update",
        "Please confirm the order.",
    ] {
        assert_eq!(type_verdict(&policy, text, None), Verdict::Allow, "{text}");
    }
    let action = typing("rm -rf ~/x\n");
    let decision = policy.evaluate(&ActionContext::new(&action));
    assert_eq!(decision.rule, "builtin:destructive-command");
    assert_eq!(decision.shown, r#"type "rm -rf ~/x\n""#);
}

#[test]
fn builtin_confirms_closing_windows_with_unsaved_changes() {
    let policy = Policy::builtin();
    for title in [
        "*notes.txt - Mousepad",
        "notes.txt* - gedit",
        "● main.rs - Code",
    ] {
        for chord in ["alt+F4", "ctrl+w", "ctrl+q", "ctrl+W"] {
            assert_eq!(
                key_verdict(&policy, chord, title),
                Verdict::Confirm,
                "{chord} {title}"
            );
        }
    }
    assert_eq!(
        key_verdict(&policy, "alt+F4", "notes.txt - Mousepad"),
        Verdict::Allow
    );
    assert_eq!(
        key_verdict(&policy, "ctrl+s", "*notes.txt - Mousepad"),
        Verdict::Allow
    );

    let action = click();
    let ctx = ActionContext {
        target_label: Some("Quit"),
        window_title: Some("*notes.txt - Mousepad"),
        ..ActionContext::new(&action)
    };
    let decision = policy.evaluate(&ctx);
    assert_eq!(
        (decision.verdict, decision.rule.as_str()),
        (Verdict::Confirm, "builtin:close-unsaved")
    );
    let saved = ActionContext {
        window_title: Some("notes.txt - Mousepad"),
        ..ctx
    };
    assert_eq!(policy.evaluate(&saved).verdict, Verdict::Allow);
}

#[test]
fn builtin_guards_password_fields_and_secrets() {
    let policy = Policy::builtin();
    let password = Some("password text");
    assert_eq!(type_verdict(&policy, "hunter2", password), Verdict::Deny);
    assert_eq!(
        type_verdict(&policy, "{{secret:pw}}", password),
        Verdict::Allow
    );
    assert_eq!(
        type_verdict(&policy, " {{secret:pw}}\n", password),
        Verdict::Allow
    );
    assert_eq!(
        type_verdict(&policy, "{{secret:pw}}x", password),
        Verdict::Deny
    );
    assert_eq!(
        type_verdict(&policy, "{{secret:bad name}}", password),
        Verdict::Deny
    );
    // A secret typed into a plain field would be visible on screen and in screenshots.
    assert_eq!(
        type_verdict(&policy, "{{secret:pw}}", Some("text")),
        Verdict::Confirm
    );
}

#[test]
fn user_rules_come_first_and_set_the_default() {
    let policy = Policy::from_toml(
        r#"
default = "confirm"

[[rule]]
name = "delete in file manager is fine"
app = "Thunar"
action = ["click"]
target_label = "^Delete$"
verdict = "allow"

[[rule]]
name = "no typing in terminals"
app_regex = "^(xterm|xfce4-terminal)$"
action = ["type", "key"]
verdict = "deny"
reason = "terminals are off limits"

[[rule]]
name = "browsing is fine"
window_title = "Firefox$"
verdict = "allow"
"#,
        "test.toml",
    )
    .unwrap();

    let action = click();
    let in_thunar = ActionContext {
        app: Some("thunar"),
        target_label: Some("Delete"),
        ..ActionContext::new(&action)
    };
    let decision = policy.evaluate(&in_thunar);
    assert_eq!(decision.verdict, Verdict::Allow);
    assert_eq!(decision.rule, "delete in file manager is fine");
    let elsewhere = ActionContext {
        app: Some("mousepad"),
        ..in_thunar
    };
    assert_eq!(policy.evaluate(&elsewhere).verdict, Verdict::Confirm);
    assert_eq!(
        policy.evaluate(&elsewhere).rule,
        "builtin:destructive-click"
    );

    let decision = policy.evaluate(&ActionContext {
        app: Some("xterm"),
        ..ActionContext::new(&typing("ls"))
    });
    assert_eq!(decision.verdict, Verdict::Deny);
    assert_eq!(decision.reason, "terminals are off limits");

    let hover = Action::Hover {
        target: Target::desktop(5.0, 5.0),
    };
    let browsing = ActionContext {
        window_title: Some("Mozilla Firefox"),
        ..ActionContext::new(&hover)
    };
    assert_eq!(policy.evaluate(&browsing).verdict, Verdict::Allow);
    let decision = policy.evaluate(&ActionContext::new(&hover));
    assert_eq!(
        (decision.verdict, decision.rule.as_str()),
        (Verdict::Confirm, "default")
    );
}

#[test]
fn text_rules_see_typed_text_and_canonical_chords() {
    let policy = Policy::from_toml(
        r#"
[[rule]]
name = "no curl pipes"
text = "curl .*\\| *sh"
verdict = "deny"

[[rule]]
name = "no lock screen"
text = "^super\\+l$"
verdict = "deny"
"#,
        "inline",
    )
    .unwrap();
    assert_eq!(
        type_verdict(&policy, "curl https://x.sh | sh", None),
        Verdict::Deny
    );
    assert_eq!(key_verdict(&policy, "Super+L", "desktop"), Verdict::Deny);
    assert_eq!(key_verdict(&policy, "super+k", "desktop"), Verdict::Allow);
}

#[test]
fn a_policy_file_is_loaded_from_disk() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("policy.toml");
    std::fs::write(&path, "default = \"deny\"\n").unwrap();
    let policy = Policy::load(&path).unwrap();
    let wait = Action::Wait { ms: 10 };
    assert_eq!(
        policy.evaluate(&ActionContext::new(&wait)).verdict,
        Verdict::Deny
    );

    let err = Policy::load(&dir.path().join("missing.toml")).unwrap_err();
    assert!(matches!(err, PolicyError::Read { .. }), "{err}");
    assert!(err.to_string().contains("missing.toml"), "{err}");
}

#[test]
fn a_syntax_error_names_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("policy.toml");
    std::fs::write(
        &path,
        "default = \"allow\"\n\n[[rule]]\nname = \"unterminated\nverdict = \"deny\"\n",
    )
    .unwrap();
    let err = Policy::load(&path).unwrap_err();
    let PolicyError::Parse { line, .. } = &err else {
        panic!("not a parse error: {err}");
    };
    assert_eq!(*line, 4);
    let message = err.to_string();
    assert!(message.contains("line 4"), "{message}");
    assert!(message.contains("policy.toml"), "{message}");
}

#[test]
fn unknown_keys_and_bad_values_are_errors() {
    for (text, line, needle) in [
        (
            "[[rule]]\nverdict = \"deny\"\nwindow = \"x\"\n",
            3,
            "window",
        ),
        ("defaults = \"allow\"\n", 1, "defaults"),
        ("\ndefault = \"maybe\"\n", 2, "maybe"),
        (
            "[[rule]]\nverdict = \"deny\"\naction = \"type\"\n",
            3,
            "sequence",
        ),
    ] {
        let err = Policy::from_toml(text, "p.toml").unwrap_err();
        let message = err.to_string();
        assert!(
            matches!(&err, PolicyError::Parse { line: l, .. } if *l == line),
            "{text:?}: {message}"
        );
        assert!(message.contains(needle), "{message}");
    }
}

#[test]
fn invalid_rules_name_the_rule_and_its_line() {
    let text = r#"# my policy
[[rule]]
name = "fine"
verdict = "allow"
app = "x"

[[rule]]
name = "broken title"
window_title = "(unclosed"
verdict = "deny"
"#;
    let err = Policy::from_toml(text, "p.toml").unwrap_err();
    let message = err.to_string();
    assert!(
        matches!(&err, PolicyError::InvalidRule { rule, line: 7, .. } if rule == "broken title"),
        "{message}"
    );
    assert!(message.contains("line 7"), "{message}");
    assert!(message.contains("broken title"), "{message}");
    assert!(message.contains("window_title"), "{message}");

    for (body, needle) in [
        ("verdict = \"maybe\"", "maybe"),
        ("verdict = \"deny\"\naction = [\"tap\"]", "tap"),
        ("name = \"x\"", "missing verdict"),
        (
            "verdict = \"deny\"\napp = \"a\"\napp_regex = \"b\"",
            "not both",
        ),
    ] {
        let text = format!("default = \"allow\"\n[[rule]]\n{body}\n");
        let err = Policy::from_toml(&text, "p.toml").unwrap_err();
        let message = err.to_string();
        assert!(
            matches!(&err, PolicyError::InvalidRule { line: 2, .. }),
            "{message}"
        );
        assert!(message.contains(needle), "{message}");
    }
    // Unnamed rules are named by position.
    let err = Policy::from_toml("[[rule]]\nverdict = \"x\"\n", "p").unwrap_err();
    assert!(err.to_string().contains("rule 1"), "{err}");
}

#[test]
fn shown_actions_escape_invisible_characters() {
    assert_eq!(
        escape_visible("a\nb\tc\u{200b}d\u{202e}e\\f\u{7}"),
        r"a\nb\tc\u{200b}d\u{202e}e\\f\u{7}"
    );
    assert_eq!(escape_visible("café ✓ 日本"), "café ✓ 日本");

    let action = typing("ls\u{202e}txt.exe\u{200b}\n");
    let decision = Policy::builtin().evaluate(&ActionContext {
        window_title: Some("Terminal \"1\""),
        app: Some("xterm"),
        ..ActionContext::new(&action)
    });
    assert_eq!(
        decision.shown,
        r#"type "ls\u{202e}txt.exe\u{200b}\n" in window "Terminal \"1\"" of "xterm""#
    );
    let key = key("alt+F4");
    assert_eq!(
        Policy::builtin().evaluate(&ActionContext::new(&key)).shown,
        "key alt+F4"
    );
}
