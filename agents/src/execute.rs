//! Turning a validated action into input events: targets are resolved to desktop coordinates
//! here and nowhere else.

use deskhand_core::geometry::{to_desktop, Point};
use deskhand_core::input::Press;
use deskhand_core::{Action, ActionError, InputEvent, LayoutTree, Monitor, MouseButton, Target};

/// A target resolved to the desktop point to act on.
#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedTarget {
    /// Desktop point.
    pub point: Point,
    /// What it is, for people ("push button \"7\" (a12)" or "point (10, 20)").
    pub description: String,
}

/// Resolves a target against the tree it was chosen from and the connected monitors.
/// Off-screen points and unknown nodes are errors before anything moves.
pub fn resolve_target(
    target: &Target,
    tree: Option<&LayoutTree>,
    monitors: &[Monitor],
) -> Result<ResolvedTarget, ActionError> {
    let (point, description) = match target {
        Target::Node { id } => {
            let tree = tree.ok_or_else(|| ActionError::UnknownNode(id.0.clone()))?;
            let node = tree
                .get(id)
                .ok_or_else(|| ActionError::UnknownNode(id.0.clone()))?;
            (tree.action_point(id)?, node.describe())
        }
        Target::Point { x, y, .. } => (Point::new(*x, *y), format!("point ({x}, {y})")),
    };
    let space = target.as_point().map(|(_, s)| s).unwrap_or_default();
    let point = to_desktop(point, space, monitors)
        .map_err(|e| ActionError::Unresolvable(format!("{description}: {e}")))?;
    Ok(ResolvedTarget { point, description })
}

fn move_to(p: Point) -> InputEvent {
    InputEvent::MoveTo {
        x: p.x.round() as i32,
        y: p.y.round() as i32,
    }
}

fn click(button: MouseButton) -> InputEvent {
    InputEvent::Button {
        button,
        press: Press::Click,
    }
}

/// The input events for an action whose targets are already resolved (in order).
/// Actions without input (wait, done, fail, ask_user, open_app, focus_window) give none.
pub fn input_events(action: &Action, points: &[Point]) -> Result<Vec<InputEvent>, ActionError> {
    let first = || {
        points
            .first()
            .copied()
            .ok_or_else(|| ActionError::Unresolvable("target missing".into()))
    };
    Ok(match action {
        Action::Click {
            button, modifiers, ..
        } => {
            let held: &[deskhand_core::Key] = modifiers.as_ref().map_or(&[], |m| m.keys());
            let mut events: Vec<InputEvent> = held
                .iter()
                .map(|k| InputEvent::Key {
                    key: *k,
                    press: Press::Down,
                })
                .collect();
            events.extend([move_to(first()?), click(*button)]);
            events.extend(held.iter().rev().map(|k| InputEvent::Key {
                key: *k,
                press: Press::Up,
            }));
            events
        }
        Action::DoubleClick { .. } => {
            vec![
                move_to(first()?),
                click(MouseButton::Left),
                click(MouseButton::Left),
            ]
        }
        Action::TripleClick { .. } => vec![
            move_to(first()?),
            click(MouseButton::Left),
            click(MouseButton::Left),
            click(MouseButton::Left),
        ],
        Action::RightClick { .. } => vec![move_to(first()?), click(MouseButton::Right)],
        Action::Hover { .. } => vec![move_to(first()?)],
        Action::Scroll { amount, .. } => {
            vec![
                move_to(first()?),
                InputEvent::Scroll {
                    dx: amount.dx,
                    dy: amount.dy,
                },
            ]
        }
        Action::Drag { .. } => {
            let to = points
                .get(1)
                .copied()
                .ok_or_else(|| ActionError::Unresolvable("drag end missing".into()))?;
            drag_events(first()?, to)
        }
        Action::Type { text } => vec![InputEvent::Text { text: text.clone() }],
        Action::Key { chord } => {
            let keys = chord.keys();
            let mut events: Vec<InputEvent> = keys
                .iter()
                .take(keys.len().saturating_sub(1))
                .map(|k| InputEvent::Key {
                    key: *k,
                    press: Press::Down,
                })
                .collect();
            if let Some(last) = keys.last() {
                events.push(InputEvent::Key {
                    key: *last,
                    press: Press::Click,
                });
            }
            for k in keys.iter().take(keys.len().saturating_sub(1)).rev() {
                events.push(InputEvent::Key {
                    key: *k,
                    press: Press::Up,
                });
            }
            events
        }
        Action::Hold { chord } => chord
            .keys()
            .iter()
            .map(|k| InputEvent::Key {
                key: *k,
                press: Press::Down,
            })
            .collect(),
        Action::Release { chord } => chord
            .keys()
            .iter()
            .rev()
            .map(|k| InputEvent::Key {
                key: *k,
                press: Press::Up,
            })
            .collect(),
        Action::OpenApp { .. }
        | Action::FocusWindow { .. }
        | Action::Wait { .. }
        | Action::Done { .. }
        | Action::Fail { .. }
        | Action::AskUser { .. } => Vec::new(),
    })
}

/// A drag a toolkit accepts: press, a few small moves past the drag threshold (GTK's is 8
/// px), paced travel with motion events on the way, a hover with a small wiggle over the
/// target so it can highlight as a drop site, then release. Sent at once, GTK sees a press
/// and a release in one place and starts no drag at all.
fn drag_events(from: Point, to: Point) -> Vec<InputEvent> {
    let pause = |ms| InputEvent::Pause { ms };
    let button = |press| InputEvent::Button {
        button: MouseButton::Left,
        press,
    };
    let (dx, dy) = (to.x - from.x, to.y - from.y);
    let distance = dx.hypot(dy).max(1.0);
    let (ux, uy) = (dx / distance, dy / distance);
    let mut events = vec![move_to(from), pause(40), button(Press::Down), pause(80)];
    // Past the threshold in small steps: the first motion events start the drag.
    for i in 1..=4 {
        let d = f64::from(i) * 4.0;
        events.push(move_to(Point::new(from.x + ux * d, from.y + uy * d)));
        events.push(pause(25));
    }
    let steps = ((distance / 24.0).ceil() as u32).clamp(8, 60);
    for i in 1..=steps {
        let t = f64::from(i) / f64::from(steps);
        events.push(move_to(Point::new(from.x + dx * t, from.y + dy * t)));
        events.push(pause(16));
    }
    // Hover: drop sites react to motion over them, not to the pointer merely being there.
    events.extend([
        pause(150),
        move_to(Point::new(to.x + 2.0, to.y + 1.0)),
        pause(60),
        move_to(to),
        pause(200),
        button(Press::Up),
        pause(60),
    ]);
    events
}

#[cfg(test)]
mod tests {
    use super::*;
    use deskhand_core::{Key, KeyChord, Rect};

    fn monitors() -> Vec<Monitor> {
        vec![Monitor {
            index: 0,
            name: "screen".into(),
            bounds: Rect::new(0, 0, 1280, 800),
            scale: 1.0,
            primary: false,
        }]
    }

    #[test]
    fn chords_press_modifiers_around_the_key() {
        let a = Action::Key {
            chord: KeyChord::parse("ctrl+shift+s").unwrap(),
        };
        let ev = input_events(&a, &[]).unwrap();
        assert_eq!(
            ev,
            vec![
                InputEvent::Key {
                    key: Key::Ctrl,
                    press: Press::Down
                },
                InputEvent::Key {
                    key: Key::Shift,
                    press: Press::Down
                },
                InputEvent::Key {
                    key: Key::Char('s'),
                    press: Press::Click
                },
                InputEvent::Key {
                    key: Key::Shift,
                    press: Press::Up
                },
                InputEvent::Key {
                    key: Key::Ctrl,
                    press: Press::Up
                },
            ]
        );
    }

    #[test]
    fn double_and_triple_clicks_are_bursts_at_one_point() {
        let p = Point::new(5.0, 6.0);
        let t = Target::desktop(5.0, 6.0);
        let left = InputEvent::Button {
            button: MouseButton::Left,
            press: Press::Click,
        };
        let move_to = InputEvent::MoveTo { x: 5, y: 6 };
        let double = input_events(&Action::DoubleClick { target: t.clone() }, &[p]).unwrap();
        assert_eq!(double, vec![move_to.clone(), left.clone(), left.clone()]);
        let triple = input_events(&Action::TripleClick { target: t }, &[p]).unwrap();
        assert_eq!(triple, vec![move_to, left.clone(), left.clone(), left]);
    }

    #[test]
    fn node_targets_resolve_to_a_point_nothing_covers() {
        use deskhand_core::{LayoutNode, NodeSource, NodeState};
        let shown = |id: &str, role: &str, bounds: Rect, children: Vec<LayoutNode>| LayoutNode {
            bounds: Some(bounds),
            states: vec![NodeState::Showing, NodeState::Active],
            children,
            ..LayoutNode::new(id, role, NodeSource::Accessibility)
        };
        // A panel whose centre holds a button: acting on the panel must not press the button.
        let tree = LayoutTree {
            root: LayoutNode {
                children: vec![shown(
                    "w",
                    "frame",
                    Rect::new(0, 0, 400, 300),
                    vec![shown(
                        "p",
                        "panel",
                        Rect::new(100, 100, 200, 100),
                        vec![shown(
                            "b",
                            "push button",
                            Rect::new(150, 125, 100, 50),
                            vec![],
                        )],
                    )],
                )],
                ..LayoutNode::new("s", "screen", NodeSource::Display)
            },
        };
        let r = resolve_target(&Target::node("p"), Some(&tree), &monitors()).unwrap();
        assert!(!Rect::new(150, 125, 100, 50).contains(r.point), "{r:?}");
        assert!(Rect::new(100, 100, 200, 100).contains(r.point), "{r:?}");
        let r = resolve_target(&Target::node("b"), Some(&tree), &monitors()).unwrap();
        assert_eq!(r.point, Point::new(200.0, 150.0));
    }

    #[test]
    fn off_screen_points_and_missing_nodes_never_become_events() {
        let err = resolve_target(&Target::desktop(5000.0, 10.0), None, &monitors()).unwrap_err();
        assert!(matches!(err, ActionError::Unresolvable(_)), "{err}");
        let err = resolve_target(&Target::desktop(-1.0, 10.0), None, &monitors()).unwrap_err();
        assert!(matches!(err, ActionError::Unresolvable(_)));
        let err = resolve_target(&Target::node("a9"), None, &monitors()).unwrap_err();
        assert!(matches!(err, ActionError::UnknownNode(_)));
        let ok = resolve_target(&Target::desktop(10.0, 20.0), None, &monitors()).unwrap();
        assert_eq!(ok.point, Point::new(10.0, 20.0));
    }
}
