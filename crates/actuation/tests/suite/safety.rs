//! Kill switch and user takeover on a real X server, with xdotool playing the user.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use deskhand_actuation::safety::{KillSwitch, Takeover, TakeoverWatch, DEFAULT_KILL_CHORD};
use deskhand_actuation::EnigoInput;
use deskhand_core::input::Press;
use deskhand_core::ports::Input;
use deskhand_core::{InputEvent, Key, KeyChord, MouseButton, NodeState, PortErrorKind};
use deskhand_testkit::{wait_for_tree, AppSession};
use deskhand_xsession::{DesktopOptions, VirtualDesktop};
use x11rb::connection::Connection;
use x11rb::protocol::xproto::ConnectionExt as _;

fn bare_desktop() -> VirtualDesktop {
    let d = VirtualDesktop::start(DesktopOptions {
        accessibility: false,
        ..Default::default()
    })
    .unwrap();
    d.export_env();
    d
}

fn default_chord() -> KeyChord {
    KeyChord::parse(DEFAULT_KILL_CHORD).unwrap()
}

/// A kill switch whose firings arrive on a channel, with their time.
fn kill_switch(chord: &KeyChord) -> (KillSwitch, Arc<AtomicBool>, mpsc::Receiver<Instant>) {
    let cancel = Arc::new(AtomicBool::new(false));
    let (tx, rx) = mpsc::channel();
    let ks = KillSwitch::start(
        None,
        chord,
        Arc::clone(&cancel),
        Box::new(move || {
            let _ = tx.send(Instant::now());
        }),
    )
    .unwrap();
    (ks, cancel, rx)
}

/// Keycodes that are down and pointer buttons that are pressed, as the server sees them.
fn held_keys_and_buttons() -> (Vec<u8>, u16) {
    let (conn, screen) = x11rb::connect(None).unwrap();
    let root = conn.setup().roots[screen].root;
    let keys = conn.query_keymap().unwrap().reply().unwrap().keys;
    let down = (8..=255u8)
        .filter(|c| keys[usize::from(c / 8)] & (1 << (c % 8)) != 0)
        .collect();
    let mask = u16::from(conn.query_pointer(root).unwrap().reply().unwrap().mask);
    // Button1..Button5 are bits 8..12.
    (down, mask & 0x1f00)
}

#[test]
fn kill_switch_fires_on_its_chord_whatever_the_lock_keys_and_not_on_others() {
    let d = bare_desktop();
    let (ks, cancel, fired) = kill_switch(&default_chord());

    d.run("xdotool", &["key", "ctrl+Escape"]).unwrap();
    assert!(fired.recv_timeout(Duration::from_millis(300)).is_err());
    assert!(!cancel.load(Ordering::SeqCst));

    d.run("xdotool", &["key", "ctrl+alt+Escape"]).unwrap();
    fired.recv_timeout(Duration::from_secs(5)).unwrap();
    assert!(cancel.load(Ordering::SeqCst));

    // With NumLock and CapsLock on, the chord still fires.
    cancel.store(false, Ordering::SeqCst);
    d.run("xdotool", &["key", "Num_Lock", "Caps_Lock"]).unwrap();
    d.run("xdotool", &["key", "ctrl+alt+Escape"]).unwrap();
    fired.recv_timeout(Duration::from_secs(5)).unwrap();
    assert!(cancel.load(Ordering::SeqCst));

    // The same chord injected in-process: the time from the server having the key press to
    // the cancel flag, without xdotool's start-up in it.
    let mut input = EnigoInput::open(None).unwrap();
    let key = |key, press| InputEvent::Key { key, press };
    let mut latencies = Vec::new();
    for _ in 0..10 {
        input
            .send(&[key(Key::Ctrl, Press::Down), key(Key::Alt, Press::Down)])
            .unwrap();
        input.send(&[key(Key::Escape, Press::Down)]).unwrap();
        let pressed = Instant::now();
        let at = fired.recv_timeout(Duration::from_secs(5)).unwrap();
        latencies.push(at.saturating_duration_since(pressed).as_secs_f64() * 1e3);
        input
            .send(&[
                key(Key::Escape, Press::Up),
                key(Key::Alt, Press::Up),
                key(Key::Ctrl, Press::Up),
            ])
            .unwrap();
    }
    latencies.sort_by(f64::total_cmp);
    eprintln!(
        "kill switch: key press processed -> cancel flag: median {:.2} ms, max {:.2} ms",
        latencies[latencies.len() / 2],
        latencies[latencies.len() - 1]
    );
    drop(ks);
}

#[test]
fn a_chord_another_program_holds_is_refused_and_dropping_the_switch_frees_it() {
    let _d = bare_desktop();
    let chord = KeyChord::parse("ctrl+shift+F12").unwrap();
    let (first, _, _) = kill_switch(&chord);
    let err = KillSwitch::start(
        None,
        &chord,
        Arc::new(AtomicBool::new(false)),
        Box::new(|| {}),
    )
    .unwrap_err();
    assert_eq!(err.kind, PortErrorKind::Unavailable);
    assert!(
        err.message.contains("ctrl+shift+F12 is already grabbed"),
        "{err}"
    );

    drop(first);
    let (_again, _, _) = kill_switch(&chord);

    for bad in ["ctrl+alt", "ctrl+a+b"] {
        let err = KillSwitch::start(
            None,
            &KeyChord::parse(bad).unwrap(),
            Arc::new(AtomicBool::new(false)),
            Box::new(|| {}),
        )
        .unwrap_err();
        assert_eq!(err.kind, PortErrorKind::InvalidInput, "{bad}: {err}");
        assert!(err.message.contains(DEFAULT_KILL_CHORD), "{err}");
    }
}

#[test]
fn without_an_x_server_both_watchers_say_so() {
    let err = KillSwitch::start(
        Some(":9999"),
        &default_chord(),
        Arc::new(AtomicBool::new(false)),
        Box::new(|| {}),
    )
    .unwrap_err();
    assert_eq!(err.kind, PortErrorKind::Unavailable);
    assert!(err.message.contains("\":9999\""), "{err}");
    assert!(err.message.contains("kill switch"), "{err}");

    let err = TakeoverWatch::start(Some(":9999"), Box::new(|_| {})).unwrap_err();
    assert_eq!(err.kind, PortErrorKind::Unavailable);
    assert!(err.message.contains("\":9999\""), "{err}");
}

fn mousepad() -> AppSession {
    deskhand_testkit::start_mousepad().unwrap()
}

/// The whole text of the focused mousepad document, copied out through the clipboard (the
/// accessibility reader returns at most 2,000 characters). Mousepad may still be working
/// through key events injected before the cancel, so read until two copies agree.
fn document_text(d: &VirtualDesktop) -> String {
    let mut input = EnigoInput::open(None).unwrap();
    let mut copy = || {
        input
            .send(&[
                InputEvent::Key {
                    key: Key::Ctrl,
                    press: Press::Down,
                },
                InputEvent::Key {
                    key: Key::Char('a'),
                    press: Press::Click,
                },
                InputEvent::Key {
                    key: Key::Char('c'),
                    press: Press::Click,
                },
                InputEvent::Key {
                    key: Key::Ctrl,
                    press: Press::Up,
                },
            ])
            .unwrap();
        std::thread::sleep(Duration::from_millis(300));
        d.run("xclip", &["-o", "-selection", "clipboard"]).ok()
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut last = None;
    while Instant::now() < deadline {
        let now = copy();
        if now.is_some() && now == last {
            return now.unwrap_or_default();
        }
        last = now;
    }
    panic!("mousepad's text did not settle: last copy {last:?}");
}

#[test]
fn kill_switch_stops_long_typing_early_and_leaves_no_key_held() {
    let s = mousepad();
    let (_ks, cancel, fired) = kill_switch(&default_chord());
    let mut input = EnigoInput::open(None).unwrap();
    input.set_cancel(Arc::clone(&cancel));

    let tree = wait_for_tree(&s.reader, "mousepad", Duration::from_secs(5), |_| true).unwrap();
    let doc = tree
        .walk()
        .into_iter()
        .find(|(_, n)| n.role == "text" && n.has(NodeState::Editable))
        .and_then(|(_, n)| n.bounds)
        .unwrap();
    let p = doc.center();
    input
        .send(&[
            InputEvent::MoveTo {
                x: p.x as i32,
                y: p.y as i32,
            },
            InputEvent::Button {
                button: MouseButton::Left,
                press: Press::Click,
            },
        ])
        .unwrap();

    // Long enough that typing it takes seconds even at XTest speed. Digits: while xdotool
    // holds ctrl and alt, typed letters would be mousepad shortcuts (ctrl+shift+s opens a
    // dialog); digits and their shifted symbols are not.
    let text = "1234567890 ".repeat(2000);
    let sent = text.chars().count();
    let typist = std::thread::spawn(move || {
        let started = Instant::now();
        // Shift held across the text, as a drag or a shift-selection would hold it.
        let result = input.send(&[
            InputEvent::Key {
                key: Key::Shift,
                press: Press::Down,
            },
            InputEvent::Text { text },
            InputEvent::Key {
                key: Key::Shift,
                press: Press::Up,
            },
        ]);
        (result, started, Instant::now())
    });
    // Typing has started once the document shows some of it.
    wait_for_tree(&s.reader, "mousepad", Duration::from_secs(20), |t| {
        t.walk()
            .into_iter()
            .any(|(_, n)| n.role == "text" && n.text.as_deref().is_some_and(|x| !x.is_empty()))
    })
    .expect("typing did not start");
    let hotkey = Instant::now();
    s.desktop
        .run("xdotool", &["key", "ctrl+alt+Escape"])
        .unwrap();
    let fired_at = fired.recv_timeout(Duration::from_secs(5)).unwrap();
    let (result, started, returned) = typist.join().unwrap();

    let err = result
        .map(|()| (returned - started).as_millis())
        .unwrap_err();
    assert_eq!(err.message, EnigoInput::CANCELLED);
    assert!(!err.is_retryable());

    let typed = document_text(&s.desktop);
    let typed_len = typed.chars().count();
    eprintln!(
        "kill switch: xdotool start -> cancel flag {} ms; cancel flag -> typing stopped (last \
         injected event, releases included) {} ms; xdotool start -> typing stopped {} ms; typed \
         {typed_len} of {sent} chars in {} ms before the hotkey",
        (fired_at - hotkey).as_secs_f64() * 1e3,
        (returned.saturating_duration_since(fired_at)).as_secs_f64() * 1e3,
        (returned - hotkey).as_secs_f64() * 1e3,
        (hotkey - started).as_secs_f64() * 1e3,
    );
    assert!(typed_len > 0, "nothing was typed before the hotkey");
    assert!(typed_len < sent, "all {sent} characters were typed");
    assert!(
        typed.chars().all(|c| "!@#$%^&*() ".contains(c)),
        "{typed:?}"
    );

    let (keys, buttons) = held_keys_and_buttons();
    assert!(keys.is_empty(), "keycodes still down: {keys:?}");
    assert_eq!(buttons, 0);
}

#[test]
fn takeover_is_foreign_input_only_and_lasts_until_resumed() {
    let d = bare_desktop();
    let (tx, seen) = mpsc::channel();
    let watch = TakeoverWatch::start(
        None,
        Box::new(move |t| {
            let _ = tx.send(t.clone());
        }),
    )
    .unwrap();
    let mut input = EnigoInput::open(None).unwrap();

    for (x, y) in [(200, 200), (400, 300), (640, 500)] {
        let _ours = watch.injecting();
        input.send(&[InputEvent::MoveTo { x, y }]).unwrap();
    }
    {
        let _ours = watch.injecting();
        input
            .send(&[InputEvent::Text { text: "ok".into() }])
            .unwrap();
    }
    // Once the watch has looked at everything sent so far, none of it was foreign.
    assert!(watch.catch_up(Duration::from_secs(5)));
    assert_eq!(watch.takeover(), None);
    assert!(seen.try_recv().is_err());

    d.run("xdotool", &["mousemove", "5", "5"]).unwrap();
    let t = seen.recv_timeout(Duration::from_secs(2)).unwrap();
    assert_eq!(t, Takeover::PointerMoved { x: 5, y: 5 });
    assert_eq!(t.to_string(), "the user moved the pointer to (5, 5)");
    // It stays set, and is reported once, until resumed.
    d.run("xdotool", &["mousemove", "50", "50"]).unwrap();
    assert!(watch.catch_up(Duration::from_secs(5)));
    assert_eq!(watch.takeover(), Some(t));
    assert!(seen.try_recv().is_err());

    watch.resume();
    assert_eq!(watch.takeover(), None);

    d.run("xdotool", &["key", "a"]).unwrap();
    let t = seen.recv_timeout(Duration::from_secs(2)).unwrap();
    assert!(matches!(t, Takeover::KeyPressed { .. }), "{t:?}");
    watch.resume();

    d.run("xdotool", &["click", "1"]).unwrap();
    let t = seen.recv_timeout(Duration::from_secs(2)).unwrap();
    assert_eq!(t, Takeover::ButtonPressed { button: 1 });
}
