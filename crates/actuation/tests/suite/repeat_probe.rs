//! Measurement (ignored, no assertions): how long galculator needs between two presses of one
//! key, which sets `REPEAT_GAP` in enigo_input.rs. Each "0" after the first is sent on its own
//! after a pause; prints how many of 8 rounds showed "1000". Run with `LOAD=1` to burn both
//! cores meanwhile:
//! `LOAD=1 cargo nextest run -p deskhand-actuation measure_galculator --run-ignored only --no-capture`

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use deskhand_actuation::EnigoInput;
use deskhand_core::ports::{Accessibility, Input, TreeQuery, TreeScope};
use deskhand_core::InputEvent;
use deskhand_testkit::{find, start_app};

#[test]
#[ignore]
fn measure_galculator_repeat_gap() {
    let session = start_app(&["galculator"], "alculator", "galculator", |t| {
        find(t, "toggle button", "7").is_some()
    })
    .unwrap();
    let load = std::env::var("LOAD").is_ok();
    let stop = Arc::new(AtomicBool::new(false));
    let mut burners = Vec::new();
    if load {
        for _ in 0..2 {
            let stop = stop.clone();
            burners.push(std::thread::spawn(move || {
                let mut x = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    x = x.wrapping_mul(31).wrapping_add(7);
                }
                x
            }));
        }
    }
    let mut input = EnigoInput::open(None).unwrap();
    for gap in [100u64, 105, 110, 115, 120, 130, 150] {
        let mut ok = 0;
        let n = 8;
        for _ in 0..n {
            session.desktop.run("xdotool", &["key", "Escape"]).unwrap();
            std::thread::sleep(Duration::from_millis(200));
            for (i, c) in "1000".chars().enumerate() {
                if i > 1 {
                    std::thread::sleep(Duration::from_millis(gap));
                }
                input
                    .send(&[InputEvent::Text {
                        text: c.to_string(),
                    }])
                    .unwrap();
            }
            std::thread::sleep(Duration::from_millis(400));
            let tree = session
                .reader
                .tree(&TreeQuery::new(TreeScope::App("galculator".into())))
                .unwrap();
            let shown: Vec<String> = tree
                .walk()
                .into_iter()
                .map(|(_, n)| n)
                .filter(|n| n.role == "text")
                .filter_map(|n| n.text.clone())
                .collect();
            if shown.iter().any(|t| t.trim() == "1000") {
                ok += 1;
            } else {
                eprintln!("gap {gap}: {shown:?}");
            }
        }
        eprintln!("GAP {gap} ms: {ok}/{n}");
    }
    stop.store(true, Ordering::Relaxed);
    for b in burners {
        let _ = b.join();
    }
}
