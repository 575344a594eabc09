//! Waiting until the screen stops changing after an action, instead of sleeping.
//!
//! Frames alone can settle too early: a menu closes, the screen is still, and the dialog the
//! menu item opens maps a moment later. After an action that opens something (a click on an
//! "…" item, a chord like ctrl+s) the screen must also stay still for a longer quiet window,
//! unless the active window changes first, which ends the wait as soon as the new window is
//! still.

use std::time::{Duration, Instant};

pub use deskhand_core::diff::changed_region;
use deskhand_core::ports::Screen;
use deskhand_core::{Action, Frame, KeyChord, LayoutTree, MouseButton, PortError, Target};

/// Bounds for one settle wait.
#[derive(Debug, Clone, Copy)]
pub struct SettlePolicy {
    /// Always wait at least this long (apps react after the event arrives).
    pub min: Duration,
    /// Never wait longer than this.
    pub max: Duration,
    /// How many consecutive identical frames count as settled.
    pub stable_frames: u32,
    /// After an action that opens something, how long the screen must stay unchanged when the
    /// active window does not change (a dialog can map some 150 ms after the menu closed).
    pub opener_quiet: Duration,
}

impl Default for SettlePolicy {
    fn default() -> Self {
        Self {
            min: Duration::from_millis(40),
            max: Duration::from_millis(2_000),
            stable_frames: 2,
            opener_quiet: Duration::from_millis(1_000),
        }
    }
}

/// What a settle wait saw.
#[derive(Debug, Clone)]
pub struct Settled {
    /// The last frames captured (the settled screen).
    pub frames: Vec<Frame>,
    /// How long it took.
    pub elapsed: Duration,
    /// False when `max` ran out while the screen was still changing.
    pub stable: bool,
    /// True when the wait watched the active window and saw it change.
    pub window_changed: bool,
}

/// Key chords that usually open a dialog (save, save as, open, print).
const OPENER_CHORDS: &[&str] = &["ctrl+s", "ctrl+shift+s", "ctrl+o", "ctrl+p"];

/// True when the action usually opens a window or dialog, so that settling waits for it: a
/// left click on an element whose name ends with an ellipsis ("Save As…", "Open..."), or a
/// chord such as ctrl+s or ctrl+shift+s.
pub fn opens_something(action: &Action, tree: Option<&LayoutTree>) -> bool {
    match action {
        Action::Click {
            target: Target::Node { id },
            button: MouseButton::Left,
            ..
        }
        | Action::DoubleClick {
            target: Target::Node { id },
        } => tree.and_then(|t| t.get(id)).is_some_and(|n| {
            let name = n.name.trim_end();
            name.ends_with('…') || name.ends_with("...")
        }),
        Action::Key { chord } => OPENER_CHORDS.iter().any(|c| same_chord(c, chord)),
        _ => false,
    }
}

fn same_chord(text: &str, chord: &KeyChord) -> bool {
    let norm = |c: &KeyChord| {
        let mut names: Vec<String> = c.keys().iter().map(|k| k.name().to_lowercase()).collect();
        names.sort();
        names
    };
    KeyChord::parse(text).is_ok_and(|c| norm(&c) == norm(chord))
}

/// Watches the active window while settling after an action that opens something.
pub struct WindowWatch<'a, K: PartialEq> {
    /// The active window before the action.
    pub before: Option<K>,
    /// Reads the active window now (`None` when none is known).
    pub read: &'a mut dyn FnMut() -> Option<K>,
}

/// Captures until `stable_frames` consecutive captures are identical, or `max` passes.
pub fn wait_for_settle(screen: &dyn Screen, policy: SettlePolicy) -> Result<Settled, PortError> {
    wait_for_settle_watching::<()>(screen, policy, None, false)
}

/// Like [`wait_for_settle`]; when `opener` is set, stable frames end the wait only once an
/// active window (read through `watch`, when given) other than the one before is seen and a
/// fresh run of stable frames followed, or once the frames stayed unchanged for
/// `opener_quiet`. `max` bounds everything.
pub fn wait_for_settle_watching<K: PartialEq>(
    screen: &dyn Screen,
    policy: SettlePolicy,
    watch: Option<WindowWatch<'_, K>>,
    opener: bool,
) -> Result<Settled, PortError> {
    wait_for_settle_since(screen, policy, watch, opener, None)
}

/// Like [`wait_for_settle_watching`], given the frames captured just before the action:
/// the screen is watched from the start, and once it differs from `before` the app has
/// reacted, so the wait no longer needs to last `min`; it ends as soon as the new screen is
/// stable. With no change, the wait is as long as without `before`.
pub fn wait_for_settle_since<K: PartialEq>(
    screen: &dyn Screen,
    policy: SettlePolicy,
    mut watch: Option<WindowWatch<'_, K>>,
    opener: bool,
    before: Option<&[Frame]>,
) -> Result<Settled, PortError> {
    let start = Instant::now();
    let mut last = match before {
        None => {
            std::thread::sleep(policy.min);
            screen.capture_all()?
        }
        Some(before) => loop {
            std::thread::sleep(Duration::from_millis(10).min(policy.min));
            let now = screen.capture_all()?;
            if now.as_slice() != before || start.elapsed() >= policy.min {
                break now;
            }
        },
    };
    let mut same = 1;
    let mut last_change = Instant::now();
    let mut window_changed = false;
    loop {
        if same >= policy.stable_frames {
            let done = if !opener || window_changed {
                true
            } else if watch.as_mut().is_some_and(|w| {
                // No active window at all is the moment between one window losing focus and
                // the next one taking it: not yet a change.
                (w.read)().is_some_and(|now| w.before.as_ref() != Some(&now))
            }) {
                // The new window may be registered before it is painted: ask for a fresh run
                // of stable frames from here.
                window_changed = true;
                same = 1;
                false
            } else {
                last_change.elapsed() >= policy.opener_quiet
            };
            if done {
                return Ok(Settled {
                    frames: last,
                    elapsed: start.elapsed(),
                    stable: true,
                    window_changed,
                });
            }
        }
        if start.elapsed() >= policy.max {
            return Ok(Settled {
                frames: last,
                elapsed: start.elapsed(),
                stable: same >= policy.stable_frames,
                window_changed,
            });
        }
        std::thread::sleep(Duration::from_millis(15));
        let next = screen.capture_all()?;
        if next == last {
            same += 1;
        } else {
            same = 1;
            last = next;
            last_change = Instant::now();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use deskhand_core::{Monitor, Rect};

    fn frame(index: usize, x: i32, fill: impl Fn(u32, u32) -> u8) -> Frame {
        let (w, h) = (8u32, 6u32);
        let rgba = (0..h)
            .flat_map(|y| (0..w).map(move |x| (x, y)))
            .flat_map(|(x, y)| [fill(x, y), 0, 0, 255])
            .collect();
        Frame {
            monitor: Monitor {
                index,
                name: "m".into(),
                bounds: Rect::new(x, 0, w, h),
                scale: 1.0,
                primary: false,
            },
            width: w,
            height: h,
            rgba,
        }
    }

    #[test]
    fn ellipsis_items_and_dialog_chords_open_something() {
        use deskhand_core::{LayoutNode, NodeSource};
        let item = |id: &str, name: &str| LayoutNode {
            name: name.into(),
            ..LayoutNode::new(id, "menu item", NodeSource::Accessibility)
        };
        let tree = LayoutTree {
            root: LayoutNode {
                children: vec![
                    item("a1", "Save _As…"),
                    item("a2", "Open..."),
                    item("a3", "Quit"),
                ],
                ..LayoutNode::new("s", "screen", NodeSource::Display)
            },
        };
        let click = |id: &str, button| Action::Click {
            target: Target::node(id),
            button,
            modifiers: None,
        };
        assert!(opens_something(
            &click("a1", MouseButton::Left),
            Some(&tree)
        ));
        assert!(opens_something(
            &click("a2", MouseButton::Left),
            Some(&tree)
        ));
        assert!(!opens_something(
            &click("a3", MouseButton::Left),
            Some(&tree)
        ));
        assert!(!opens_something(
            &click("a1", MouseButton::Right),
            Some(&tree)
        ));
        assert!(!opens_something(&click("a1", MouseButton::Left), None));
        let key = |c: &str| Action::Key {
            chord: KeyChord::parse(c).unwrap(),
        };
        assert!(opens_something(&key("ctrl+s"), None));
        assert!(opens_something(&key("shift+ctrl+s"), None));
        assert!(opens_something(&key("ctrl+o"), None));
        assert!(!opens_something(&key("ctrl+a"), None));
        assert!(!opens_something(&key("Return"), None));
    }

    #[test]
    fn changed_region_is_the_box_of_changed_pixels_in_desktop_coordinates() {
        let before = vec![frame(0, 0, |_, _| 0), frame(1, 8, |_, _| 0)];
        assert_eq!(changed_region(&before, &before), None);
        let after = vec![
            frame(0, 0, |_, _| 0),
            frame(1, 8, |x, y| u8::from((2..5).contains(&x) && y == 3)),
        ];
        assert_eq!(
            changed_region(&before, &after),
            Some(Rect::new(10, 3, 3, 1))
        );
        let both = vec![
            frame(0, 0, |x, y| u8::from(x == 0 && y == 0)),
            after[1].clone(),
        ];
        assert_eq!(changed_region(&before, &both), Some(Rect::new(0, 0, 13, 4)));
    }
}
