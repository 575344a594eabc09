//! Where to click on a node: a point inside its box that nothing in front of it covers.
//!
//! The centre is used when it is visible. Otherwise a grid over the node's visible box, plus the
//! middles of the gaps between covering boxes, is searched for the uncovered point closest to
//! the centre. What counts as "in front": an interactive node later in reading order within the
//! same popup layer (children paint over their parents, later siblings over earlier ones), any
//! node in a deeper popup layer (the items of an open menu), and the active window over the
//! other windows.

use crate::error::ActionError;
use crate::geometry::{Point, Rect};
use crate::layout::{LayoutNode, LayoutTree, NodeId, NodeSource, NodeState};

/// Columns and rows of the search grid laid over the visible box.
const GRID: u32 = 16;

/// Above this many covering boxes, the middles of the gaps between them are not searched.
const MAX_GAP_COVERS: usize = 24;

/// Points closer than this to a covering box or to the edge are used only when nothing else is
/// free (box extents are not always exact).
const MARGIN: f64 = 3.0;

/// Roles whose box clips what is drawn inside (scrolled content outside it is not visible).
const CLIPPING_ROLES: &[&str] = &["viewport", "scroll pane"];

/// Roles whose children are shown in a popup above the rest of the window.
const POPUP_ROLES: &[&str] = &["menu", "popup menu"];

/// Top-level roles that are popups themselves (drawn above every normal window).
const POPUP_WINDOW_ROLES: &[&str] = &["window", "tool tip", "menu", "popup menu"];

/// A node seen while walking the tree, with what decides whether it is in front.
struct Placed<'t> {
    node: &'t LayoutNode,
    /// Index of its top-level window among the root's children.
    window: usize,
    /// How many menus it is nested in (0 for ordinary content).
    popup_depth: usize,
    /// Depth-first order.
    order: usize,
    /// Ids of its ancestors, nearest last.
    ancestors: Vec<&'t NodeId>,
}

fn place(tree: &LayoutTree) -> Vec<Placed<'_>> {
    let mut out = Vec::new();
    // (node, window, popup depth, ancestors)
    let mut stack: Vec<(&LayoutNode, usize, usize, Vec<&NodeId>)> = tree
        .root
        .children
        .iter()
        .enumerate()
        .rev()
        .map(|(w, n)| (n, w, 0, vec![&tree.root.id]))
        .collect();
    while let Some((node, window, popup_depth, ancestors)) = stack.pop() {
        let child_depth = popup_depth + usize::from(POPUP_ROLES.contains(&node.role.as_str()));
        let mut child_ancestors = ancestors.clone();
        child_ancestors.push(&node.id);
        for child in node.children.iter().rev() {
            stack.push((child, window, child_depth, child_ancestors.clone()));
        }
        out.push(Placed {
            node,
            window,
            popup_depth,
            order: out.len(),
            ancestors,
        });
    }
    out
}

/// A box in front of the target and why, for the error message.
struct Cover {
    rect: Rect,
    what: String,
    /// Part of the target itself (a child): clicking it still reaches the target.
    inside_target: bool,
}

fn covers(placed: &[Placed<'_>], target: &Placed<'_>, visible: Rect) -> Vec<Cover> {
    let windows: Vec<&Placed<'_>> = placed.iter().filter(|p| p.ancestors.len() == 1).collect();
    let target_window = windows.iter().find(|w| w.window == target.window);
    // A window the display server manages (source Display) is a normal window even though
    // fusion names it "window"; popups are the accessible windows without one.
    let popup_window = target_window.is_some_and(|w| {
        POPUP_WINDOW_ROLES.contains(&w.node.role.as_str()) && w.node.source != NodeSource::Display
    });
    let target_active = target_window.is_some_and(|w| w.node.has(NodeState::Active));
    let mut out = Vec::new();
    // The active window is in front of the other (normal) windows.
    if !target_active && !popup_window {
        for w in windows.iter().filter(|w| w.node.has(NodeState::Active)) {
            if let Some(rect) = on_screen_box(w.node).and_then(|r| r.intersection(&visible)) {
                out.push(Cover {
                    rect,
                    what: format!("the active window {}", w.node.describe()),
                    inside_target: false,
                });
            }
        }
    }
    for p in placed.iter().filter(|p| p.window == target.window) {
        if p.order == target.order || target.ancestors.contains(&&p.node.id) {
            continue;
        }
        // Text and shapes found on the screenshot are what is visible: they hide nothing.
        if matches!(p.node.source, NodeSource::Ocr | NodeSource::Segmentation) {
            continue;
        }
        let in_front = if p.popup_depth != target.popup_depth {
            p.popup_depth > target.popup_depth
        } else {
            p.order > target.order && p.node.is_interactive()
        };
        if !in_front {
            continue;
        }
        let Some(rect) = on_screen_box(p.node).and_then(|r| r.intersection(&visible)) else {
            continue;
        };
        out.push(Cover {
            rect,
            what: p.node.describe(),
            inside_target: p.ancestors.contains(&&target.node.id),
        });
    }
    out
}

fn on_screen_box(node: &LayoutNode) -> Option<Rect> {
    node.is_on_screen().then_some(node.bounds).flatten()
}

/// Candidate coordinates along one axis: the centres of a grid's cells, and the middles of the
/// gaps between the edges of covering boxes.
fn candidates(start: i64, end: i64, cuts: impl Iterator<Item = (i64, i64)>) -> Vec<f64> {
    let len = (end - start) as f64;
    let mut out: Vec<f64> = (0..GRID)
        .map(|i| start as f64 + len * (f64::from(i) + 0.5) / f64::from(GRID))
        .collect();
    let mut edges = vec![start, end];
    for (a, b) in cuts {
        edges.push(a.clamp(start, end));
        edges.push(b.clamp(start, end));
    }
    edges.sort_unstable();
    edges.dedup();
    out.extend(
        edges
            .windows(2)
            .filter(|w| w[1] > w[0])
            .map(|w| (w[0] + w[1]) as f64 / 2.0),
    );
    out
}

/// The uncovered point closest to the centre of `visible`, if any.
fn best_point(visible: Rect, covers: &[&Cover]) -> Option<Point> {
    let centre = visible.center();
    let covered = |p: Point| covers.iter().any(|c| c.rect.contains(p));
    if !covered(centre) {
        return Some(centre);
    }
    // With many covering boxes (a panel full of buttons) the gaps are searched on the grid
    // only, which keeps the search to GRID² points.
    let gaps: &[&Cover] = if covers.len() <= MAX_GAP_COVERS {
        covers
    } else {
        &[]
    };
    let xs = candidates(
        i64::from(visible.x),
        visible.right(),
        gaps.iter().map(|c| (i64::from(c.rect.x), c.rect.right())),
    );
    let ys = candidates(
        i64::from(visible.y),
        visible.bottom(),
        gaps.iter().map(|c| (i64::from(c.rect.y), c.rect.bottom())),
    );
    let distance = |p: &Point| (p.x - centre.x).powi(2) + (p.y - centre.y).powi(2);
    let clearance = |p: &Point| {
        let edge = (p.x - f64::from(visible.x))
            .min(visible.right() as f64 - p.x)
            .min(p.y - f64::from(visible.y))
            .min(visible.bottom() as f64 - p.y);
        covers
            .iter()
            .map(|c| c.rect.distance_to(*p))
            .fold(edge, f64::min)
    };
    let free: Vec<Point> = xs
        .iter()
        .flat_map(|&x| ys.iter().map(move |&y| Point::new(x, y)))
        .filter(|p| visible.contains(*p) && !covered(*p))
        .collect();
    let closest = |points: &mut dyn Iterator<Item = &Point>| {
        points
            .min_by(|a, b| distance(a).total_cmp(&distance(b)))
            .copied()
    };
    closest(&mut free.iter().filter(|p| clearance(p) >= MARGIN))
        .or_else(|| closest(&mut free.iter()))
}

/// The desktop point to act on for a node: the centre of its visible box when nothing covers
/// it, otherwise the uncovered point inside the box closest to the centre. A node whose box
/// is scrolled out of view, or entirely hidden behind other nodes or windows, is an error.
/// Children covering every point are accepted (clicking a child reaches the node).
pub fn visible_point(tree: &LayoutTree, id: &NodeId) -> Result<Point, ActionError> {
    let placed = place(tree);
    let target = placed
        .iter()
        .find(|p| &p.node.id == id)
        .ok_or_else(|| ActionError::UnknownNode(id.0.clone()))?;
    let node = target.node;
    let bounds = match node.bounds {
        Some(b) if !b.is_empty() => b,
        _ => {
            return Err(ActionError::Unresolvable(format!(
                "{} has no on-screen box",
                node.describe()
            )))
        }
    };
    // Scrolled content is visible only inside its scrolling ancestors (outside any menu).
    let mut visible = bounds;
    for p in placed.iter().filter(|p| {
        target.ancestors.contains(&&p.node.id)
            && p.popup_depth == target.popup_depth
            && CLIPPING_ROLES.contains(&p.node.role.as_str())
    }) {
        let Some(clip) = p.node.bounds.filter(|b| !b.is_empty()) else {
            continue;
        };
        visible = visible.intersection(&clip).ok_or_else(|| {
            ActionError::Unresolvable(format!(
                "{} is scrolled out of view in {}",
                node.describe(),
                p.node.describe()
            ))
        })?;
    }
    let all = covers(&placed, target, visible);
    let refs: Vec<&Cover> = all.iter().collect();
    if let Some(p) = best_point(visible, &refs) {
        return Ok(p);
    }
    let outside: Vec<&Cover> = all.iter().filter(|c| !c.inside_target).collect();
    if let Some(p) = best_point(visible, &outside) {
        return Ok(p);
    }
    let names: Vec<&str> = outside.iter().take(3).map(|c| c.what.as_str()).collect();
    Err(ActionError::Unresolvable(format!(
        "{} is hidden behind {}",
        node.describe(),
        names.join(", ")
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(id: &str, role: &str, bounds: Rect, children: Vec<LayoutNode>) -> LayoutNode {
        LayoutNode {
            bounds: Some(bounds),
            states: vec![NodeState::Showing, NodeState::Visible],
            children,
            ..LayoutNode::new(id, role, NodeSource::Accessibility)
        }
    }

    fn screen(windows: Vec<LayoutNode>) -> LayoutTree {
        LayoutTree {
            root: LayoutNode {
                children: windows,
                ..LayoutNode::new("s", "screen", NodeSource::Display)
            },
        }
    }

    fn active(mut n: LayoutNode) -> LayoutNode {
        n.states.push(NodeState::Active);
        n
    }

    #[test]
    fn an_uncovered_node_is_clicked_in_its_centre() {
        let t = screen(vec![active(node(
            "w",
            "frame",
            Rect::new(0, 0, 400, 300),
            vec![node("b", "push button", Rect::new(10, 10, 100, 40), vec![])],
        ))]);
        assert_eq!(
            visible_point(&t, &"b".into()).unwrap(),
            Point::new(60.0, 30.0)
        );
        // Its window is covered by nothing either: centre.
        assert_eq!(
            visible_point(&t, &"w".into()).unwrap(),
            Point::new(200.0, 150.0)
        );
    }

    #[test]
    fn a_button_in_the_middle_of_a_panel_is_avoided() {
        let t = screen(vec![active(node(
            "w",
            "frame",
            Rect::new(0, 0, 400, 300),
            vec![node(
                "p",
                "panel",
                Rect::new(0, 0, 200, 100),
                vec![node("b", "push button", Rect::new(50, 25, 100, 50), vec![])],
            )],
        ))]);
        let p = visible_point(&t, &"p".into()).unwrap();
        assert!(!Rect::new(50, 25, 100, 50).contains(p), "{p:?}");
        assert!(Rect::new(0, 0, 200, 100).contains(p), "{p:?}");
        // The closest free point is straight above or below the centre, clear of the button.
        assert!((p.x - 100.0).abs() < 0.01, "{p:?}");
        assert!(p.y <= 25.0 - MARGIN || p.y >= 75.0 + MARGIN, "{p:?}");
        // Labels inside a button do not count as covering it.
        let t = screen(vec![active(node(
            "w",
            "frame",
            Rect::new(0, 0, 400, 300),
            vec![node(
                "b",
                "push button",
                Rect::new(0, 0, 100, 40),
                vec![node("l", "label", Rect::new(10, 10, 80, 20), vec![])],
            )],
        ))]);
        assert_eq!(
            visible_point(&t, &"b".into()).unwrap(),
            Point::new(50.0, 20.0)
        );
    }

    #[test]
    fn an_open_menu_covers_the_content_below_it_and_is_itself_clickable() {
        let menu = node(
            "m",
            "menu",
            Rect::new(0, 0, 40, 20),
            vec![
                node("i1", "menu item", Rect::new(0, 20, 200, 25), vec![]),
                node("i2", "menu item", Rect::new(0, 45, 200, 25), vec![]),
            ],
        );
        let t = screen(vec![active(node(
            "w",
            "frame",
            Rect::new(0, 0, 400, 300),
            vec![
                node("bar", "menu bar", Rect::new(0, 0, 400, 20), vec![menu]),
                node("text", "text", Rect::new(0, 20, 300, 60), vec![]),
            ],
        ))]);
        // The menu item comes before the text area in reading order but is in front of it.
        assert_eq!(
            visible_point(&t, &"i2".into()).unwrap(),
            Point::new(100.0, 57.5)
        );
        // The text area's centre (150, 50) is under the menu: a point beside or below it.
        let p = visible_point(&t, &"text".into()).unwrap();
        assert!(Rect::new(0, 20, 300, 60).contains(p), "{p:?}");
        assert!(Rect::new(0, 20, 200, 50).distance_to(p) >= MARGIN, "{p:?}");
    }

    #[test]
    fn a_managed_window_behind_the_active_one_is_clicked_where_it_shows() {
        let window = |id: &str, b: Rect, active: bool| {
            let mut w = LayoutNode::new(id, "window", NodeSource::Display);
            w.bounds = Some(b);
            w.states = vec![NodeState::Showing, NodeState::Visible];
            if active {
                w.states.push(NodeState::Active);
            }
            w
        };
        let mut root = LayoutNode::new("s", "screen", NodeSource::Display);
        root.children = vec![
            window("w1", Rect::new(300, 100, 600, 500), true),
            window("w2", Rect::new(0, 250, 760, 550), false),
        ];
        let tree = LayoutTree { root };
        let p = visible_point(&tree, &NodeId("w2".into())).unwrap();
        assert!(!Rect::new(300, 100, 600, 500).contains(p), "{p:?}");
        assert!(Rect::new(0, 250, 760, 550).contains(p), "{p:?}");
    }

    #[test]
    fn the_active_window_covers_the_others_and_a_fully_hidden_node_is_an_error() {
        let editor = node(
            "w1",
            "frame",
            Rect::new(0, 0, 400, 300),
            vec![
                node("a", "push button", Rect::new(100, 100, 40, 20), vec![]),
                node("b", "push button", Rect::new(300, 100, 60, 20), vec![]),
            ],
        );
        let dialog = active(node(
            "w2",
            "dialog",
            Rect::new(50, 50, 280, 200),
            vec![node(
                "ok",
                "push button",
                Rect::new(200, 200, 60, 20),
                vec![],
            )],
        ));
        let t = screen(vec![editor, dialog]);
        let err = visible_point(&t, &"a".into()).unwrap_err();
        assert!(
            matches!(&err, ActionError::Unresolvable(m) if m.contains("hidden behind") && m.contains("w2")),
            "{err}"
        );
        // "b" sticks out to the right of the dialog: its visible part is used.
        let p = visible_point(&t, &"b".into()).unwrap();
        assert!(p.x >= 330.0 && p.x < 360.0, "{p:?}");
        assert_eq!(
            visible_point(&t, &"ok".into()).unwrap(),
            Point::new(230.0, 210.0)
        );
    }

    #[test]
    fn content_scrolled_out_of_its_viewport_is_not_clickable() {
        let t = screen(vec![active(node(
            "w",
            "frame",
            Rect::new(0, 0, 400, 300),
            vec![node(
                "v",
                "viewport",
                Rect::new(0, 0, 400, 100),
                vec![
                    node("in", "push button", Rect::new(0, 80, 100, 40), vec![]),
                    node("out", "push button", Rect::new(0, 150, 100, 40), vec![]),
                ],
            )],
        ))]);
        // Half inside: the visible half's centre.
        assert_eq!(
            visible_point(&t, &"in".into()).unwrap(),
            Point::new(50.0, 90.0)
        );
        let err = visible_point(&t, &"out".into()).unwrap_err();
        assert!(err.to_string().contains("scrolled out of view"), "{err}");
    }

    #[test]
    fn children_covering_everything_still_let_the_node_be_clicked() {
        let t = screen(vec![active(node(
            "w",
            "frame",
            Rect::new(0, 0, 400, 300),
            vec![node(
                "row",
                "list item",
                Rect::new(0, 0, 200, 20),
                vec![node("cell", "table cell", Rect::new(0, 0, 200, 20), vec![])],
            )],
        ))]);
        assert_eq!(
            visible_point(&t, &"row".into()).unwrap(),
            Point::new(100.0, 10.0)
        );
        // A control found on the screenshot over the row hides nothing.
        let mut t = t;
        let mut seen = node("seg", "push button", Rect::new(0, 0, 200, 20), vec![]);
        seen.source = NodeSource::Segmentation;
        t.root.children[0].children.push(seen);
        assert_eq!(
            visible_point(&t, &"row".into()).unwrap(),
            Point::new(100.0, 10.0)
        );
        assert!(matches!(
            visible_point(&t, &"nope".into()),
            Err(ActionError::UnknownNode(_))
        ));
    }
}
