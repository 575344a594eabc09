//! The policy before every action: confirmations answered at the terminal, denials from a
//! policy file, and a broken policy file that stops everything instead of allowing all.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use deskhand_core::ports::{Accessibility, TreeQuery, TreeScope};
use deskhand_core::NodeState;
use deskhand_testkit::AppSession;

use super::{deskhand, text};

fn deskhand_answering(data: &std::path::Path, answer: &str, args: &[&str]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_deskhand"))
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(answer.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// The text of mousepad's editor, read from its accessibility tree.
pub(super) fn editor_text(session: &AppSession) -> String {
    let tree = session
        .reader
        .tree(&TreeQuery::new(TreeScope::App("mousepad".into())))
        .unwrap();
    tree.walk()
        .into_iter()
        .find(|(_, n)| n.role == "text" && n.has(NodeState::Editable))
        .and_then(|(_, n)| n.text.clone())
        .unwrap_or_default()
}

fn mousepad() -> AppSession {
    deskhand_testkit::start_mousepad().unwrap()
}

#[test]
fn a_destructive_command_is_typed_only_after_the_user_says_yes() {
    let session = mousepad();
    let data = tempfile::tempdir().unwrap();
    let args = ["do", "click text ''", "type 'rm -rf ~/projects'"];

    let out = deskhand_answering(data.path(), "n\n", &args);
    // Refused by policy: exit 3.
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let t = text(&out);
    assert!(
        t.contains("deskhand wants to: type \"rm -rf ~/projects\""),
        "{t}"
    );
    assert!(t.contains("refused: not confirmed"), "{t}");
    assert_eq!(editor_text(&session), "", "nothing may be typed after a no");

    // No terminal answer at all (stdin closed) is a no as well.
    let out = deskhand(data.path(), &args);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert_eq!(editor_text(&session), "");

    let out = deskhand_answering(data.path(), "y\n", &args);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(editor_text(&session), "rm -rf ~/projects");
}

#[test]
fn a_policy_file_denies_and_a_broken_one_stops_everything() {
    let session = mousepad();
    let data = tempfile::tempdir().unwrap();
    let policy = data.path().join("policy.toml");
    let config = data.path().join("config.toml");
    std::fs::write(
        &config,
        format!("policy_file = {:?}\n", policy.display().to_string()),
    )
    .unwrap();
    std::fs::write(
        &policy,
        "[[rule]]\nname = \"no shouting\"\naction = [\"type\"]\ntext = \"^[A-Z ]+$\"\nverdict = \"deny\"\nreason = \"no capitals\"\n",
    )
    .unwrap();
    let cfg = config.to_str().unwrap();
    let out = deskhand(
        data.path(),
        &["--config", cfg, "do", "click text ''", "type 'HELLO'"],
    );
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(
        text(&out).contains("refused by policy (no shouting): no capitals"),
        "{}",
        text(&out)
    );
    let out = deskhand(data.path(), &["--config", cfg, "do", "type 'hello'"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(editor_text(&session), "hello");
    // The journal keeps the policy's decision for refused and allowed actions alike.
    {
        use deskhand_core::ports::{MemoryStore, Verdict};
        let db = deskhand_memory::SqliteMemory::open(&data.path().join("deskhand.db")).unwrap();
        let runs = db.recent_runs(2).unwrap();
        let allowed = db.steps(runs[0].id).unwrap()[0].policy.clone().unwrap();
        assert_eq!(allowed.verdict, Verdict::Allow);
        let refused = db.steps(runs[1].id).unwrap()[1].policy.clone().unwrap();
        assert_eq!(
            (refused.verdict, refused.rule.as_str()),
            (Verdict::Deny, "no shouting")
        );
    }

    // A typo on line 3 of the policy: nothing runs, and the message names the line.
    std::fs::write(
        &policy,
        "[[rule]]\nname = \"x\"\nverdict = \"deny\nreason = \"r\"\n",
    )
    .unwrap();
    let out = deskhand(data.path(), &["--config", cfg, "do", "type ' world'"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("line 3"), "{}", text(&out));
    assert_eq!(editor_text(&session), "hello");
}

#[test]
fn the_kill_switch_stops_a_long_typing_run_at_once() {
    let session = mousepad();
    let data = tempfile::tempdir().unwrap();
    // Short text is typed as keys (long text would be pasted at once): many steps of it.
    let chunk = "lorem ipsum dolor sit amet ".repeat(5);
    let mut args = vec!["do".to_string(), "click text ''".to_string()];
    args.extend((0..40).map(|_| format!("type '{chunk}'")));
    let long_len = chunk.len() * 40;
    let child = Command::new(env!("CARGO_BIN_EXE_deskhand"))
        .arg("--data-dir")
        .arg(data.path())
        .args(&args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until typing has visibly started, then press the chord as a user would.
    let start = std::time::Instant::now();
    while editor_text(&session).len() < 20 {
        assert!(
            start.elapsed() < std::time::Duration::from_secs(20),
            "typing never started"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    session
        .desktop
        .run("xdotool", &["key", "ctrl+alt+Escape"])
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let tail: String = text(&out)
        .chars()
        .rev()
        .take(2000)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    assert_eq!(out.status.code(), Some(130), "{tail}");
    assert!(tail.contains("cancelled"), "{tail}");
    std::thread::sleep(std::time::Duration::from_millis(300));
    let typed = editor_text(&session);
    assert!(
        typed.len() < long_len / 2,
        "typed {} of {long_len} characters",
        typed.len()
    );
    let db = deskhand_memory::SqliteMemory::open(&data.path().join("deskhand.db")).unwrap();
    use deskhand_core::ports::MemoryStore;
    assert_eq!(
        db.recent_runs(1).unwrap()[0].status,
        deskhand_core::ports::RunStatus::Cancelled
    );
}

#[test]
fn a_secret_is_typed_but_never_stored_or_printed() {
    use std::os::unix::fs::PermissionsExt;
    let session = mousepad();
    let data = tempfile::tempdir().unwrap();
    let store = data.path().join("secrets.toml");
    std::fs::write(&store, "pw = \"s3cr3t-Value\"\n").unwrap();
    std::fs::set_permissions(&store, std::fs::Permissions::from_mode(0o644)).unwrap();
    let args = ["do", "click text ''", "type '{{secret:pw}}'"];
    // A store others can read is refused, and nothing is typed.
    let out = deskhand_answering(data.path(), "y\n", &args);
    assert_ne!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("chmod 600"), "{}", text(&out));
    assert_eq!(editor_text(&session), "");

    std::fs::set_permissions(&store, std::fs::Permissions::from_mode(0o600)).unwrap();
    // Typing a secret into a field that is not a password field needs a yes.
    let out = deskhand_answering(data.path(), "y\n", &args);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(editor_text(&session), "s3cr3t-Value");
    assert!(!text(&out).contains("s3cr3t"), "{}", text(&out));
    for entry in std::fs::read_dir(data.path()).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() && path != store {
            let bytes = std::fs::read(&path).unwrap();
            assert!(
                !String::from_utf8_lossy(&bytes).contains("s3cr3t"),
                "{} holds the secret",
                path.display()
            );
        }
    }
}

#[test]
fn when_the_user_takes_over_the_run_pauses_until_told_to_go_on() {
    use std::io::BufRead;
    let session = mousepad();
    let data = tempfile::tempdir().unwrap();
    for go_on in [true, false] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_deskhand"))
            .arg("--data-dir")
            .arg(data.path())
            .args(["do", "click text ''", "wait 1500", "type 'after'"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take();
        let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
        let mut seen = Vec::new();
        // The user moves the mouse during the wait step.
        for line in lines.by_ref() {
            let line = line.unwrap();
            seen.push(line.clone());
            if line.contains("[1] {\"kind\":\"wait\"") {
                session
                    .desktop
                    .run("xdotool", &["mousemove", "5", "5"])
                    .unwrap();
            }
            if line.starts_with("paused:") {
                break;
            }
        }
        assert!(
            seen.iter()
                .any(|l| l.contains("the user moved the pointer")),
            "{seen:?}"
        );
        if go_on {
            stdin.as_mut().unwrap().write_all(b"\n").unwrap();
        } else {
            drop(stdin.take());
        }
        let rest: Vec<String> = lines.map(|l| l.unwrap()).collect();
        let status = child.wait().unwrap();
        if go_on {
            assert!(status.success(), "{rest:?}");
            assert!(rest.iter().any(|l| l == "resumed"), "{rest:?}");
            assert_eq!(editor_text(&session), "after");
        } else {
            assert_eq!(status.code(), Some(130), "{rest:?}");
            assert_eq!(editor_text(&session), "after", "nothing more was typed");
        }
        drop(stdin);
    }
}
