//! Observing an action's effect on a real mousepad: the cheap active-window probe used while
//! settling, the focus snapshot read before and after every step, and how long settling takes
//! after ctrl+s (which opens the Save dialog) with the opener rule versus frames alone.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use deskhand_actuation::EnigoInput;
use deskhand_agents::effect::{active_window, read_focus};
use deskhand_agents::execute::input_events;
use deskhand_agents::settle::{wait_for_settle_watching, SettlePolicy, WindowWatch};
use deskhand_core::ports::{Accessibility, Input, TreeQuery, TreeScope};
use deskhand_core::{Action, KeyChord, NodeState};
use deskhand_perception::XcapScreen;

fn key(chord: &str) -> Action {
    Action::Key {
        chord: KeyChord::parse(chord).unwrap(),
    }
}

fn effect(c: &mut Criterion) {
    let session = deskhand_testkit::start_mousepad().unwrap();
    let reader = &session.reader;
    let screen = XcapScreen::new();
    let mut input = EnigoInput::open(None).unwrap();
    let tree = reader
        .tree(&TreeQuery::new(TreeScope::App("mousepad".into())))
        .unwrap();
    let area = tree
        .walk()
        .into_iter()
        .map(|(_, n)| n)
        .find(|n| n.role == "text" && n.has(NodeState::Editable))
        .and_then(|n| n.bounds)
        .unwrap()
        .center();
    let click = Action::Click {
        target: deskhand_core::Target::desktop(area.x, area.y),
        button: Default::default(),
        modifiers: None,
    };
    input.send(&input_events(&click, &[area]).unwrap()).unwrap();
    input
        .send(
            &input_events(
                &Action::Type {
                    text: "note".into(),
                },
                &[],
            )
            .unwrap(),
        )
        .unwrap();

    let mut group = c.benchmark_group("effect");
    group.bench_function("active_window_probe", |b| {
        b.iter(|| active_window(reader).unwrap())
    });
    let limits = TreeQuery::new(TreeScope::FocusedApp);
    group.bench_function("focus_snapshot_mousepad", |b| {
        b.iter(|| read_focus(reader, &limits).unwrap())
    });
    group.finish();

    // ctrl+s on an unsaved note opens the Save dialog; Escape closes it (untimed).
    let mut group = c.benchmark_group("settle_after_ctrl_s");
    group.sample_size(10);
    for (name, opener) in [("opener_rule", true), ("frames_only", false)] {
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                let mut early = 0;
                for _ in 0..iters {
                    let before = active_window(reader);
                    let mut read = || active_window(reader);
                    input
                        .send(&input_events(&key("ctrl+s"), &[]).unwrap())
                        .unwrap();
                    let t = Instant::now();
                    let watch = opener.then(|| WindowWatch {
                        before: before.clone(),
                        read: &mut read,
                    });
                    let settled =
                        wait_for_settle_watching(&screen, SettlePolicy::default(), watch, opener)
                            .unwrap();
                    total += t.elapsed();
                    assert!(settled.stable);
                    // Did settling end before the dialog was there?
                    if active_window(reader) == before {
                        early += 1;
                        eprintln!(
                            "{name}: early after {:?} (window change seen: {})",
                            settled.elapsed, settled.window_changed
                        );
                    }
                    // Close the dialog (once it is there) before the next round.
                    let start = Instant::now();
                    while active_window(reader) == before
                        && start.elapsed() < Duration::from_secs(5)
                    {
                        std::thread::sleep(Duration::from_millis(20));
                    }
                    input
                        .send(&input_events(&key("Escape"), &[]).unwrap())
                        .unwrap();
                    let start = Instant::now();
                    while active_window(reader) != before
                        && start.elapsed() < Duration::from_secs(5)
                    {
                        std::thread::sleep(Duration::from_millis(20));
                    }
                }
                eprintln!(
                    "{name}: settled before the dialog was active in {early} of {iters} rounds"
                );
                total
            })
        });
    }
    group.finish();
}

criterion_group!(benches, effect);
criterion_main!(benches);
