//! Acting on a real mousepad: action latency by kind, and waiting for the screen to settle
//! versus a fixed sleep, over a scripted 20-action session.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use deskhand_actuation::EnigoInput;
use deskhand_agents::execute::input_events;
use deskhand_agents::settle::{wait_for_settle, SettlePolicy};
use deskhand_core::ports::Input;
use deskhand_core::{Action, KeyChord, NodeState, Point};
use deskhand_perception::XcapScreen;

/// A session a person might script: type words, newlines, select, move, undo.
fn script() -> Vec<Action> {
    let mut out = Vec::new();
    for i in 0..20 {
        out.push(match i % 5 {
            0 => Action::Type {
                text: format!("word{i} "),
            },
            1 => Action::Key {
                chord: KeyChord::parse("Return").unwrap(),
            },
            2 => Action::Key {
                chord: KeyChord::parse("shift+Home").unwrap(),
            },
            3 => Action::Key {
                chord: KeyChord::parse("End").unwrap(),
            },
            _ => Action::Type { text: "x".into() },
        });
    }
    out
}

fn run(input: &mut EnigoInput, screen: &XcapScreen, action: &Action, fixed: Option<Duration>) {
    input.send(&input_events(action, &[]).unwrap()).unwrap();
    match fixed {
        Some(d) => std::thread::sleep(d),
        None => {
            wait_for_settle(screen, SettlePolicy::default()).unwrap();
        }
    }
}

fn actuation(c: &mut Criterion) {
    let session = deskhand_testkit::start_mousepad().unwrap();
    let screen = XcapScreen::new();
    let mut input = EnigoInput::open(None).unwrap();
    let tree = deskhand_testkit::wait_for_tree(
        &session.reader,
        "mousepad",
        Duration::from_secs(5),
        |_| true,
    )
    .unwrap();
    let area = tree
        .walk()
        .into_iter()
        .map(|(_, n)| n)
        .find(|n| n.role == "text" && n.has(NodeState::Editable))
        .and_then(|n| n.bounds)
        .unwrap();
    let text: Point = area.center();
    input
        .send(
            &input_events(
                &Action::Click {
                    target: deskhand_core::Target::desktop(text.x, text.y),
                    button: Default::default(),
                    modifiers: None,
                },
                &[text],
            )
            .unwrap(),
        )
        .unwrap();

    let mut group = c.benchmark_group("action_latency");
    for (name, action) in [
        (
            "key_End",
            Action::Key {
                chord: KeyChord::parse("End").unwrap(),
            },
        ),
        (
            "type_8_chars",
            Action::Type {
                text: "abcdefgh".into(),
            },
        ),
        (
            "hover",
            Action::Hover {
                target: deskhand_core::Target::desktop(text.x, text.y),
            },
        ),
    ] {
        let points = [text];
        let events = input_events(
            &action,
            if action.targets().is_empty() {
                &[]
            } else {
                &points
            },
        )
        .unwrap();
        group.bench_function(name, |b| b.iter(|| input.send(&events).unwrap()));
    }
    group.finish();

    let mut group = c.benchmark_group("session20");
    group.sample_size(10);
    let actions = script();
    group.bench_function("settle", |b| {
        b.iter(|| {
            for a in &actions {
                run(&mut input, &screen, a, None);
            }
        })
    });
    group.finish();

    // A fixed 1 s sleep per action: 20 s per session, so time one action and scale.
    let mut group = c.benchmark_group("one_action");
    group.sample_size(10);
    group.bench_function("settle", |b| {
        b.iter(|| run(&mut input, &screen, &actions[0], None))
    });
    group.bench_function("fixed_sleep_1s", |b| {
        b.iter(|| {
            run(
                &mut input,
                &screen,
                &actions[0],
                Some(Duration::from_secs(1)),
            )
        })
    });
    group.finish();

    // Repeated keys wait for the previous press to be over (galculator ignores a second press
    // within 100 ms): every repeat in calculator input, only doubled letters in prose.
    let mut group = c.benchmark_group("type_repeats");
    group.sample_size(10);
    // Last, and calculator input last of all: once enigo has pressed a key it had to map
    // ('*', '=') twice within 12 ms (back-to-back iterations do), it delays every later key
    // by 12 ms on press and on release, which would skew whatever is measured after it.
    for (name, text) in [
        ("prose_no_repeat", "the quick"),
        ("prose_hello_world", "hello world"),
        ("calc_1000x1001", "1000*1001="),
    ] {
        let events = input_events(&Action::Type { text: text.into() }, &[]).unwrap();
        group.bench_function(name, |b| b.iter(|| input.send(&events).unwrap()));
    }
    group.finish();
}

criterion_group!(benches, actuation);
criterion_main!(benches);
