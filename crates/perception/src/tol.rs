//! Tree-of-Lens target paths and Screen Point-and-Read without a model.
//!
//! For a point, the target path is the window under it, the smallest local region containing
//! it (a control, a label, a text line), and that region's global parent (a toolbar, a menu, a
//! panel, the text area). [`read_at`] turns the path into a sentence a person (or a model
//! prompt) can use: `push button "Save" (enabled) in the tool bar of window "memo.txt -
//! Mousepad", right of "Open"`.

use deskhand_core::{LayoutNode, LayoutTree, NodeId, NodeState, Point, Rect};
use serde::Serialize;

use crate::fusion::GLOBAL_ROLES;

/// How far (px) from a point a local region may be and still be chosen when nothing contains
/// the point.
pub const NEAR_PX: f64 = 24.0;

/// The Tree-of-Lens path to a point.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TargetPath {
    /// The point, in desktop coordinates.
    pub point: Point,
    /// The window under the point.
    pub window: Option<NodeId>,
    /// The global region (panel) holding the local region.
    pub global: Option<NodeId>,
    /// The smallest local region containing the point (or the nearest one within
    /// [`NEAR_PX`]).
    pub local: Option<NodeId>,
    /// True when `local` does not contain the point but was the nearest.
    pub nearest_only: bool,
}

/// The path of node indices from the root to every node, depth-first.
fn paths(tree: &LayoutTree) -> Vec<Vec<&LayoutNode>> {
    let mut out = Vec::new();
    let mut stack: Vec<Vec<&LayoutNode>> = vec![vec![&tree.root]];
    while let Some(path) = stack.pop() {
        if let Some(last) = path.last() {
            for child in last.children.iter().rev() {
                let mut p = path.clone();
                p.push(child);
                stack.push(p);
            }
        }
        out.push(path);
    }
    out
}

fn is_global(node: &LayoutNode) -> bool {
    GLOBAL_ROLES.contains(&node.role.as_str()) && !node.has(NodeState::Editable)
        || node.role == "text" && node.children.is_empty() && node.has(NodeState::Editable)
}

/// A node that can be a local region: something a person would point at.
fn is_local(node: &LayoutNode) -> bool {
    if matches!(node.role.as_str(), "screen" | "window" | "frame" | "dialog") {
        return false;
    }
    node.is_interactive()
        || !node.name.is_empty()
        || node.children.is_empty() && node.bounds.is_some()
}

/// Selects the target path for a point: the front-most window containing it, the smallest
/// local region containing it (falling back to the nearest within [`NEAR_PX`]), and that
/// region's nearest global ancestor (falling back to the window's child containing it).
pub fn target_path(tree: &LayoutTree, point: Point) -> TargetPath {
    let mut result = TargetPath {
        point,
        window: None,
        global: None,
        local: None,
        nearest_only: false,
    };
    // Windows are front-most first.
    let Some(window) = tree
        .root
        .children
        .iter()
        .find(|w| w.bounds.is_some_and(|b| b.contains(point)))
    else {
        return result;
    };
    result.window = Some(window.id.clone());
    let sub = LayoutTree {
        root: window.clone(),
    };
    let all = paths(&sub);
    let visible = |n: &LayoutNode| n.is_on_screen();
    let containing = all
        .iter()
        .filter(|p| p.len() > 1)
        .filter(|p| {
            p.last().is_some_and(|n| {
                visible(n) && is_local(n) && n.bounds.is_some_and(|b| b.contains(point))
            })
        })
        .min_by_key(|p| {
            let n = p
                .last()
                .map_or(u64::MAX, |n| n.bounds.map_or(u64::MAX, |b| b.area()));
            // Smallest area; deeper wins ties.
            (n, usize::MAX - p.len())
        });
    let chosen = match containing {
        Some(p) => Some(p),
        None => {
            result.nearest_only = true;
            all.iter()
                .filter(|p| p.len() > 1)
                .filter_map(|p| {
                    let n = p.last()?;
                    let d = n.bounds?.distance_to(point);
                    (visible(n) && is_local(n) && d <= NEAR_PX).then_some((d, p))
                })
                .min_by(|a, b| a.0.total_cmp(&b.0))
                .map(|(_, p)| p)
        }
    };
    let Some(path) = chosen else {
        result.nearest_only = false;
        return result;
    };
    result.local = path.last().map(|n| n.id.clone());
    let ancestors = &path[..path.len().saturating_sub(1)];
    result.global = ancestors
        .iter()
        .rev()
        .find(|n| n.id != window.id && is_global(n) && n.bounds.is_some())
        .or_else(|| ancestors.get(1))
        .map(|n| n.id.clone());
    result
}

/// What is at a point and where it sits.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reading {
    /// The path the description was made from.
    pub path: TargetPath,
    /// One sentence: what, its state, in which region of which window, next to what.
    pub description: String,
    /// The local region's text content, when it has some (first 200 characters).
    pub text: Option<String>,
    /// Bounds of the local region.
    pub bounds: Option<Rect>,
}

fn quoted(node: &LayoutNode) -> String {
    if node.name.is_empty() {
        node.role.clone()
    } else {
        format!("{} {:?}", node.role, node.name)
    }
}

fn state_words(node: &LayoutNode) -> Vec<&'static str> {
    let mut out = Vec::new();
    if node.is_interactive() && node.source == deskhand_core::NodeSource::Accessibility {
        out.push(if node.has(NodeState::Enabled) {
            "enabled"
        } else {
            "disabled"
        });
    }
    for (s, w) in [
        (NodeState::Focused, "focused"),
        (NodeState::Checked, "checked"),
        (NodeState::Selected, "selected"),
        (NodeState::Expanded, "expanded"),
        (NodeState::Editable, "editable"),
    ] {
        if node.has(s) {
            out.push(w);
        }
    }
    out
}

/// Where `other` lies relative to `node`: "right of", "left of", "below", "above".
fn relation(node: &Rect, other: &Rect) -> &'static str {
    let a = node.center();
    let b = other.center();
    let (dx, dy) = (a.x - b.x, a.y - b.y);
    if dx.abs() >= dy.abs() {
        if dx > 0.0 {
            "right of"
        } else {
            "left of"
        }
    } else if dy > 0.0 {
        "below"
    } else {
        "above"
    }
}

/// The nearest named sibling-level node in the same global region, for "right of 'Open'".
fn neighbour<'t>(
    tree: &'t LayoutTree,
    region: Option<&NodeId>,
    local: &LayoutNode,
) -> Option<&'t LayoutNode> {
    let scope = region.and_then(|id| tree.get(id)).unwrap_or(&tree.root);
    let lb = local.bounds?;
    scope
        .children
        .iter()
        .flat_map(|c| std::iter::once(c).chain(c.children.iter()))
        .filter(|n| n.id != local.id && !n.name.is_empty() && n.is_on_screen())
        .filter(|n| n.find(&local.id).is_none())
        .filter_map(|n| Some((n.bounds?.center(), n)))
        .map(|(c, n)| {
            let p = lb.center();
            (((c.x - p.x).powi(2) + (c.y - p.y).powi(2)).sqrt(), n)
        })
        .min_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, n)| n)
}

/// Describes what is at a point: `push button "Save" (enabled) in the tool bar of window
/// "memo.txt - Mousepad", right of "Open"`.
pub fn read_at(tree: &LayoutTree, point: Point) -> Reading {
    let path = target_path(tree, point);
    let window = path.window.as_ref().and_then(|id| tree.get(id));
    let local = path.local.as_ref().and_then(|id| tree.get(id));
    let global = path.global.as_ref().and_then(|id| tree.get(id));
    let Some(window) = window else {
        return Reading {
            description: format!(
                "nothing at {:.0},{:.0}: no window there (the desktop background)",
                point.x, point.y
            ),
            path,
            text: None,
            bounds: None,
        };
    };
    let win = if window.name.is_empty() {
        "an untitled window".to_string()
    } else {
        format!("window {:?}", window.name)
    };
    let Some(local) = local else {
        return Reading {
            description: format!("an empty part of {win}"),
            path,
            text: None,
            bounds: None,
        };
    };
    let mut sentence = quoted(local);
    let states = state_words(local);
    if !states.is_empty() {
        sentence.push_str(&format!(" ({})", states.join(", ")));
    }
    if path.nearest_only {
        sentence = format!("near {sentence}");
    }
    let telling =
        |g: &&LayoutNode| g.id != local.id && g.role != "filler" && g.bounds != window.bounds;
    match global.filter(telling) {
        Some(g) => sentence.push_str(&format!(" in the {} of {win}", quoted(g))),
        None => sentence.push_str(&format!(" in {win}")),
    }
    let scope = path.global.as_ref().or(path.window.as_ref());
    if let (Some(n), Some(lb)) = (neighbour(tree, scope, local), local.bounds) {
        if let Some(nb) = n.bounds {
            sentence.push_str(&format!(", {} {:?}", relation(&lb, &nb), n.name));
        }
    }
    let text = local
        .text
        .as_ref()
        .filter(|t| !t.is_empty())
        .map(|t| t.chars().take(200).collect::<String>());
    if let Some(t) = &text {
        let short: String = t.chars().take(60).collect();
        let more = if t.chars().count() > 60 { "…" } else { "" };
        sentence.push_str(&format!(", containing {:?}", format!("{short}{more}")));
    }
    Reading {
        bounds: local.bounds,
        description: sentence,
        path,
        text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use deskhand_core::NodeSource;

    fn n(id: &str, role: &str, name: &str, b: Rect, children: Vec<LayoutNode>) -> LayoutNode {
        let mut node = LayoutNode::new(id, role, NodeSource::Accessibility);
        node.name = name.into();
        node.bounds = Some(b);
        node.states = vec![NodeState::Showing, NodeState::Visible, NodeState::Enabled];
        node.children = children;
        node
    }

    fn tree() -> LayoutTree {
        LayoutTree {
            root: n(
                "screen",
                "screen",
                "",
                Rect::new(0, 0, 1280, 800),
                vec![n(
                    "w1",
                    "window",
                    "memo.txt - Mousepad",
                    Rect::new(100, 100, 600, 400),
                    vec![n(
                        "a1",
                        "filler",
                        "",
                        Rect::new(100, 100, 600, 400),
                        vec![
                            n(
                                "a2",
                                "tool bar",
                                "",
                                Rect::new(100, 130, 600, 30),
                                vec![
                                    n(
                                        "a3",
                                        "push button",
                                        "Open",
                                        Rect::new(100, 130, 30, 30),
                                        vec![],
                                    ),
                                    n(
                                        "a4",
                                        "push button",
                                        "Save",
                                        Rect::new(130, 130, 30, 30),
                                        vec![],
                                    ),
                                ],
                            ),
                            {
                                let mut t =
                                    n("a5", "text", "", Rect::new(100, 160, 600, 340), vec![]);
                                t.states.push(NodeState::Editable);
                                t.text = Some("Dear diary".into());
                                t
                            },
                        ],
                    )],
                )],
            ),
        }
    }

    #[test]
    fn path_picks_smallest_local_and_its_global_parent() {
        let t = tree();
        let p = target_path(&t, Point::new(145.0, 145.0));
        assert_eq!(p.window, Some("w1".into()));
        assert_eq!(p.local, Some("a4".into()));
        assert_eq!(p.global, Some("a2".into()));
        assert!(!p.nearest_only);
    }

    #[test]
    fn reads_a_button_with_its_region_window_and_neighbour() {
        let r = read_at(&tree(), Point::new(145.0, 145.0));
        assert_eq!(
            r.description,
            "push button \"Save\" (enabled) in the tool bar of window \"memo.txt - Mousepad\", right of \"Open\""
        );
        let r = read_at(&tree(), Point::new(300.0, 300.0));
        assert!(
            r.description.starts_with("text (enabled, editable)"),
            "{}",
            r.description
        );
        assert!(
            r.description.contains("containing \"Dear diary\""),
            "{}",
            r.description
        );
        assert_eq!(r.text.as_deref(), Some("Dear diary"));
    }

    #[test]
    fn outside_every_window_is_said_plainly() {
        let r = read_at(&tree(), Point::new(1000.0, 700.0));
        assert!(r.description.contains("no window"), "{}", r.description);
        assert_eq!(r.path.window, None);
    }
}
