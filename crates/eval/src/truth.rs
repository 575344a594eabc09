//! Ground truth from an accessibility tree: the interactive elements a person could see and
//! name on the screenshot, each with its box.
//!
//! Kept: interactive nodes that are showing and visible, with a name, a box inside the screen
//! and inside their window, not covered by an open menu or a dialog (the menu's and dialog's
//! own elements are kept), and unique by (name, role) and by instruction in that state.

use std::collections::HashMap;

use deskhand_core::{LayoutNode, LayoutTree, NodeId, NodeState, Rect};

use crate::dataset::{instruction_for, Resolution};

/// An element that passed every filter, before text/icon classification.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    /// Accessible name (trimmed).
    pub name: String,
    /// Accessible role.
    pub role: String,
    /// Box in desktop pixels.
    pub bounds: Rect,
}

/// Something drawn on top of other elements: an open menu's popup or a dialog window.
struct Occluder {
    /// The node whose subtree is drawn there (its own elements are not covered).
    owner: NodeId,
    rect: Rect,
}

const MENU_CHILD_ROLES: &[&str] = &[
    "menu item",
    "check menu item",
    "radio menu item",
    "menu",
    "separator",
    "tearoff menu item",
];

/// Longest name kept: longer ones are content, not labels.
const MAX_NAME_CHARS: usize = 80;
/// Smallest side of a box a person could aim at.
const MIN_SIDE: u32 = 4;

fn shown(n: &LayoutNode) -> bool {
    n.has(NodeState::Showing)
        && n.has(NodeState::Visible)
        && n.bounds.is_some_and(|b| !b.is_empty())
}

/// The popup of an open menu: the union of its children's boxes while they are showing.
fn popup(menu: &LayoutNode) -> Option<Rect> {
    if menu.role != "menu" {
        return None;
    }
    menu.children
        .iter()
        .filter(|c| MENU_CHILD_ROLES.contains(&c.role.as_str()) && shown(c))
        .filter_map(|c| c.bounds)
        .reduce(|a, b| a.union(&b))
}

fn occluders(tree: &LayoutTree) -> Vec<Occluder> {
    let windows = &tree.root.children;
    let main = windows.iter().position(|w| w.role == "frame").unwrap_or(0);
    let mut out: Vec<Occluder> = windows
        .iter()
        .enumerate()
        .filter(|(i, w)| *i != main && w.has(NodeState::Showing))
        .filter_map(|(_, w)| {
            Some(Occluder {
                owner: w.id.clone(),
                rect: w.bounds.filter(|b| !b.is_empty())?,
            })
        })
        .collect();
    for (_, node) in tree.walk() {
        if let Some(rect) = popup(node) {
            out.push(Occluder {
                owner: node.id.clone(),
                rect,
            });
        }
    }
    out
}

/// Names that are icon identifiers ("dialog-error-symbolic"), not labels.
fn is_icon_id(name: &str) -> bool {
    name.contains('-')
        && !name.contains(' ')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

fn usable_name(name: &str) -> bool {
    let name = name.trim();
    !name.is_empty()
        && name.chars().count() <= MAX_NAME_CHARS
        && !name.chars().any(char::is_control)
        && !is_icon_id(name)
}

struct Walk<'a> {
    screen: Rect,
    occluders: &'a [Occluder],
    out: Vec<Candidate>,
}

impl Walk<'_> {
    /// `window`: the box of the top-level window the node is in; `None` inside an open menu
    /// (popups may extend past their window). `path`: ids from the window down to the node.
    fn visit<'n>(
        &mut self,
        node: &'n LayoutNode,
        window: Option<Rect>,
        path: &mut Vec<&'n NodeId>,
    ) {
        path.push(&node.id);
        if node.is_interactive() && shown(node) && usable_name(&node.name) {
            if let Some(b) = node.bounds {
                let inside_screen = self.screen.contains_rect(&b);
                let inside_window = window.is_none_or(|w| b.covered_by(&w) >= 0.95);
                let covered = self
                    .occluders
                    .iter()
                    .filter(|o| !path.contains(&&o.owner))
                    .any(|o| b.intersection(&o.rect).is_some());
                if inside_screen
                    && inside_window
                    && !covered
                    && b.width >= MIN_SIDE
                    && b.height >= MIN_SIDE
                {
                    self.out.push(Candidate {
                        name: node.name.trim().to_string(),
                        role: node.role.clone(),
                        bounds: b,
                    });
                }
            }
        }
        let child_window = if popup(node).is_some() { None } else { window };
        for child in &node.children {
            self.visit(child, child_window, path);
        }
        path.pop();
    }
}

/// The ground-truth elements of one application's tree on a screen of this size.
pub fn ground_truth(tree: &LayoutTree, screen: Resolution) -> Vec<Candidate> {
    let occluders = occluders(tree);
    let mut walk = Walk {
        screen: Rect::new(0, 0, screen.width, screen.height),
        occluders: &occluders,
        out: Vec::new(),
    };
    for window in &tree.root.children {
        if !window.has(NodeState::Showing) {
            continue;
        }
        let mut path = Vec::new();
        walk.visit(window, window.bounds, &mut path);
    }
    let mut by_key: HashMap<(String, String), usize> = HashMap::new();
    let mut by_instruction: HashMap<String, usize> = HashMap::new();
    for c in &walk.out {
        *by_key.entry((c.name.clone(), c.role.clone())).or_default() += 1;
        *by_instruction
            .entry(instruction_for(&c.name, &c.role))
            .or_default() += 1;
    }
    walk.out
        .into_iter()
        .filter(|c| by_key.get(&(c.name.clone(), c.role.clone())) == Some(&1))
        .filter(|c| by_instruction.get(&instruction_for(&c.name, &c.role)) == Some(&1))
        .collect()
}

#[cfg(test)]
mod tests {
    use deskhand_core::NodeSource;

    use super::*;

    fn node(
        id: &str,
        role: &str,
        name: &str,
        b: Option<Rect>,
        children: Vec<LayoutNode>,
    ) -> LayoutNode {
        let mut n = LayoutNode::new(id, role, NodeSource::Accessibility);
        n.name = name.into();
        n.bounds = b;
        if b.is_some() {
            n.states = vec![NodeState::Showing, NodeState::Visible];
        }
        n.children = children;
        n
    }

    fn r(x: i32, y: i32, w: u32, h: u32) -> Option<Rect> {
        Some(Rect::new(x, y, w, h))
    }

    fn names(tree: &LayoutTree) -> Vec<String> {
        ground_truth(
            tree,
            Resolution {
                width: 800,
                height: 600,
            },
        )
        .into_iter()
        .map(|c| c.name)
        .collect()
    }

    #[test]
    fn open_menu_hides_what_it_covers_and_keeps_its_items() {
        let menu = node(
            "m",
            "menu",
            "File",
            r(0, 20, 40, 20),
            vec![
                node("i1", "menu item", "New", r(0, 40, 100, 20), vec![]),
                node("i2", "menu item", "Open", r(0, 60, 100, 20), vec![]),
                node("i3", "menu item", "Quit", None, vec![]),
            ],
        );
        let frame = node(
            "w",
            "frame",
            "App",
            r(0, 0, 400, 300),
            vec![
                node("bar", "menu bar", "", r(0, 20, 400, 20), vec![menu]),
                node("b1", "push button", "Covered", r(10, 50, 30, 30), vec![]),
                node("b2", "push button", "Free", r(200, 50, 30, 30), vec![]),
                node("b3", "push button", "Free", r(250, 50, 30, 30), vec![]),
                node("b4", "push button", "Off", r(390, 50, 30, 30), vec![]),
                node(
                    "b5",
                    "push button",
                    "dialog-error-symbolic",
                    r(300, 50, 30, 30),
                    vec![],
                ),
                node("t", "label", "Label", r(300, 150, 30, 30), vec![]),
            ],
        );
        let tree = LayoutTree {
            root: node("s", "screen", "", None, vec![frame]),
        };
        // Free is not unique, Off sticks out of its window, labels are not interactive.
        assert_eq!(names(&tree), vec!["File", "New", "Open"]);
    }

    #[test]
    fn dialog_covers_the_main_window() {
        let frame = node(
            "w",
            "frame",
            "App",
            r(0, 0, 400, 300),
            vec![
                node("b1", "push button", "Under", r(100, 100, 30, 30), vec![]),
                node("b2", "push button", "Beside", r(10, 10, 30, 30), vec![]),
            ],
        );
        let dialog = node(
            "d",
            "dialog",
            "About",
            r(90, 90, 200, 100),
            vec![node(
                "c",
                "push button",
                "Close",
                r(200, 150, 40, 20),
                vec![],
            )],
        );
        let tree = LayoutTree {
            root: node("s", "screen", "", None, vec![frame, dialog]),
        };
        assert_eq!(names(&tree), vec!["Beside", "Close"]);
    }
}
