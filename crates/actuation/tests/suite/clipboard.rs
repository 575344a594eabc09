//! Text entry through the clipboard into a real mousepad, proven by the file it saves, with
//! the clipboard's previous text (owned by another client) restored afterwards.

use std::io::Write;
use std::time::{Duration, Instant};

use deskhand_actuation::apps::focus_window;
use deskhand_actuation::clipboard::{needs_clipboard, paste_text, Clipboard};
use deskhand_actuation::EnigoInput;
use deskhand_core::input::Press;
use deskhand_core::ports::Input;
use deskhand_core::{InputEvent, Key, LayoutTree, NodeState, PortErrorKind};
use deskhand_testkit::{start_app, wait_for_tree};

const TEXT: &str = "Grüße aus 東京 — ✓\nzweite Zeile";
const WAIT: Duration = Duration::from_secs(10);

fn editable(t: &LayoutTree) -> bool {
    t.walk()
        .iter()
        .any(|(_, n)| n.role == "text" && n.has(NodeState::Editable))
}

/// Polls until `check` gives a value, at most `WAIT`.
fn until<T>(what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(start.elapsed() < WAIT, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn chord(input: &mut EnigoInput, key: Key) {
    let k = |key, press| InputEvent::Key { key, press };
    input
        .send(&[
            k(Key::Ctrl, Press::Down),
            k(key, Press::Click),
            k(Key::Ctrl, Press::Up),
        ])
        .unwrap();
}

#[test]
fn pasted_unicode_text_round_trips_through_mousepad_and_the_clipboard_is_restored() {
    // mousepad opens a file that does not exist yet as a new document with that name, so
    // ctrl+s writes it without a dialog. (In the GTK Save dialog, the first Return or click
    // after typing a name is sometimes swallowed, with no state to wait for.)
    let target = std::env::temp_dir().join(format!("deskhand-pasted-{}.txt", std::process::id()));
    let _ = std::fs::remove_file(&target);
    let argv = ["mousepad", target.to_str().unwrap()];
    let session = start_app(&argv, "Mousepad", "mousepad", editable).unwrap();

    // Another client owns the clipboard first; xclip keeps serving it in the background.
    let mut xclip = std::process::Command::new("xclip")
        .args(["-selection", "clipboard", "-i"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    xclip.stdin.take().unwrap().write_all(b"before").unwrap();
    xclip.wait().unwrap();
    let clipboard = Clipboard::open(None).unwrap();
    until("xclip to own the clipboard", || {
        (clipboard.get_text().ok()?.as_deref() == Some("before")).then_some(())
    });

    assert!(needs_clipboard(TEXT));
    let mut input = EnigoInput::open(None).unwrap();
    focus_window("Mousepad", None).unwrap();
    paste_text(&mut input, &clipboard, TEXT).unwrap();

    // The clipboard holds what it held before, as another client sees it.
    let after = session
        .desktop
        .run("xclip", &["-o", "-selection", "clipboard"])
        .unwrap();
    assert_eq!(after, "before");
    // Plain ASCII goes through key events, after the pasted text.
    let typed = "\nplain ASCII, typed";
    assert!(!needs_clipboard(typed.trim_start()));
    input
        .send(&[InputEvent::Text {
            text: typed.to_string(),
        }])
        .unwrap();
    let expected = format!("{TEXT}{typed}");
    wait_for_tree(&session.reader, "mousepad", WAIT, |t| {
        t.walk()
            .iter()
            .any(|(_, n)| n.role == "text" && n.text.as_deref() == Some(expected.as_str()))
    })
    .unwrap();

    chord(&mut input, Key::Char('s'));
    let saved = until("mousepad to write the file", || {
        std::fs::read_to_string(&target)
            .ok()
            .filter(|s| !s.is_empty())
    });
    assert_eq!(saved, expected);
    assert_eq!(clipboard.get_text().unwrap().as_deref(), Some("before"));
    std::fs::remove_file(&target).unwrap();
}

#[test]
fn paste_without_a_taker_times_out_and_still_restores_the_clipboard() {
    // A desktop with no text field focused: nobody asks for the clipboard after ctrl+v.
    let desktop = deskhand_xsession::VirtualDesktop::start(deskhand_xsession::DesktopOptions {
        accessibility: false,
        ..Default::default()
    })
    .unwrap();
    desktop.export_env();
    let clipboard = Clipboard::open(None).unwrap();
    clipboard.set_text("keep me").unwrap();
    let mut input = EnigoInput::open(None).unwrap();
    let err = paste_text(&mut input, &clipboard, "Grüße").unwrap_err();
    assert_eq!(err.kind, PortErrorKind::Timeout, "{err}");
    let seen = desktop
        .run("xclip", &["-o", "-selection", "clipboard"])
        .unwrap();
    assert_eq!(seen, "keep me");
    assert_eq!(clipboard.get_text().unwrap().as_deref(), Some("keep me"));
    drop(clipboard);
    // The user's text outlives our clipboard: it was handed over to a server that stays.
    let other = Clipboard::open(None).unwrap();
    assert_eq!(other.get_text().unwrap().as_deref(), Some("keep me"));
}
