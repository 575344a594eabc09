//! The layout tree the agents act on: screen -> windows -> regions -> controls.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::error::ActionError;
use crate::geometry::{Point, Rect};

/// A node id, stable for as long as the node is on screen ("a17", "w2", ...).
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(transparent)]
pub struct NodeId(pub String);

impl From<&str> for NodeId {
    fn from(value: &str) -> Self {
        NodeId(value.to_string())
    }
}

impl From<String> for NodeId {
    fn from(value: String) -> Self {
        NodeId(value)
    }
}

impl std::fmt::Display for NodeId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where a node's information came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum NodeSource {
    /// The accessibility tree (AT-SPI).
    Accessibility,
    /// Text recognised on the screenshot.
    Ocr,
    /// Pixel segmentation of the screenshot.
    Segmentation,
    /// The display server (screens and windows).
    Display,
}

/// A state flag of a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum NodeState {
    /// Mapped on screen (AT-SPI "showing").
    Showing,
    /// Not hidden (AT-SPI "visible").
    Visible,
    /// Has keyboard focus.
    Focused,
    /// Can take keyboard focus.
    Focusable,
    /// Usable (AT-SPI "enabled" / "sensitive").
    Enabled,
    /// Checked or pressed.
    Checked,
    /// Accepts text.
    Editable,
    /// Selected.
    Selected,
    /// Expanded (menus, tree rows).
    Expanded,
    /// The active window.
    Active,
}

/// One node of the layout tree.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct LayoutNode {
    /// Stable id the agents use as a target.
    pub id: NodeId,
    /// Role in lower case with spaces ("push button", "menu item", "text", "frame").
    pub role: String,
    /// Accessible name or label, empty when none.
    #[serde(default)]
    pub name: String,
    /// Text content, for text fields and labels that expose it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Bounds in desktop coordinates, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bounds: Option<Rect>,
    /// State flags.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub states: Vec<NodeState>,
    /// Where the node came from (its primary source).
    pub source: NodeSource,
    /// Other sources merged into this node (an OCR line that named an unnamed button, a
    /// segment that matched an accessible control).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub also: Vec<NodeSource>,
    /// Accessible description, when the source has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Actions the node offers ("click", "press", "activate", ...), from accessibility.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub actions: Vec<String>,
    /// Where each word of the node's text is (OCR lines), so a word inside a longer text
    /// can be aimed at.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub words: Vec<WordBox>,
    /// Child nodes, in reading order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub children: Vec<LayoutNode>,
}

/// A word of recognised text and its box, desktop coordinates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct WordBox {
    /// The word, without spaces.
    pub text: String,
    /// Where it is.
    pub bounds: Rect,
}

/// Roles a person can act on.
const INTERACTIVE_ROLES: &[&str] = &[
    "push button",
    "button",
    "toggle button",
    "check box",
    "radio button",
    "menu",
    "menu item",
    "check menu item",
    "radio menu item",
    "combo box",
    "text",
    "entry",
    "password text",
    "spin button",
    "slider",
    "link",
    "page tab",
    "list item",
    "table cell",
    "icon",
    "tree item",
    "control",
];

impl LayoutNode {
    /// A node with no name, text, box, states or children.
    pub fn new(id: impl Into<NodeId>, role: impl Into<String>, source: NodeSource) -> Self {
        Self {
            id: id.into(),
            role: role.into(),
            name: String::new(),
            text: None,
            bounds: None,
            states: Vec::new(),
            source,
            also: Vec::new(),
            description: None,
            actions: Vec::new(),
            words: Vec::new(),
            children: Vec::new(),
        }
    }

    /// Every source of the node, the primary one first.
    pub fn sources(&self) -> Vec<NodeSource> {
        let mut out = vec![self.source];
        out.extend(self.also.iter().copied().filter(|s| *s != self.source));
        out
    }

    /// True when the node has a given state.
    pub fn has(&self, state: NodeState) -> bool {
        self.states.contains(&state)
    }

    /// True when a person could click or type into it.
    pub fn is_interactive(&self) -> bool {
        INTERACTIVE_ROLES.contains(&self.role.as_str()) || self.has(NodeState::Editable)
    }

    /// True when the node is on screen with a non-empty box.
    pub fn is_on_screen(&self) -> bool {
        self.bounds.is_some_and(|b| !b.is_empty())
            && (self.source != NodeSource::Accessibility || self.has(NodeState::Showing))
    }

    /// This node or the descendant with the id.
    pub fn find(&self, id: &NodeId) -> Option<&LayoutNode> {
        if &self.id == id {
            return Some(self);
        }
        self.children.iter().find_map(|c| c.find(id))
    }

    /// A short human description: `push button "Save"`.
    pub fn describe(&self) -> String {
        if self.name.is_empty() {
            format!("{} {}", self.role, self.id)
        } else {
            format!("{} {:?} ({})", self.role, self.name, self.id)
        }
    }
}

/// The whole perceived screen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct LayoutTree {
    /// The root node (role "screen").
    pub root: LayoutNode,
}

impl Default for LayoutTree {
    /// A screen with nothing on it.
    fn default() -> Self {
        LayoutTree {
            root: LayoutNode::new("screen", "screen", NodeSource::Display),
        }
    }
}

/// Normalises a label for matching: drops mnemonic underscores and trailing ellipses, folds case.
fn normalise_label(s: &str) -> String {
    let s = s
        .trim()
        .trim_end_matches('…')
        .trim_end_matches("...")
        .trim();
    s.replace('_', "").to_lowercase()
}

impl LayoutTree {
    /// All nodes, depth-first, with their depth.
    pub fn walk(&self) -> Vec<(usize, &LayoutNode)> {
        let mut out = Vec::new();
        let mut stack = vec![(0usize, &self.root)];
        while let Some((depth, node)) = stack.pop() {
            out.push((depth, node));
            for child in node.children.iter().rev() {
                stack.push((depth + 1, child));
            }
        }
        out
    }

    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.walk().len()
    }

    /// True when the tree has only its root.
    pub fn is_empty(&self) -> bool {
        self.root.children.is_empty()
    }

    /// The window the tree marks active (the first, when several claim it).
    pub fn active_window(&self) -> Option<&LayoutNode> {
        self.root.children.iter().find(|w| w.has(NodeState::Active))
    }

    /// The focused element: the first focused node in tree order inside the active window
    /// (anywhere when no window is active); a window frame is not an element.
    pub fn focused(&self) -> Option<&LayoutNode> {
        let scope = self.active_window().unwrap_or(&self.root);
        let mut stack = vec![scope];
        while let Some(n) = stack.pop() {
            if n.has(NodeState::Focused) && n.role != "frame" {
                return Some(n);
            }
            stack.extend(n.children.iter().rev());
        }
        None
    }

    /// The focused editable field, wherever it is (a dialog's field counts).
    pub fn focused_editable(&self) -> Option<&LayoutNode> {
        self.walk()
            .into_iter()
            .map(|(_, n)| n)
            .find(|n| n.has(NodeState::Focused) && n.has(NodeState::Editable))
    }

    /// The node with the id, if present.
    pub fn get(&self, id: &NodeId) -> Option<&LayoutNode> {
        self.walk()
            .into_iter()
            .map(|(_, n)| n)
            .find(|n| &n.id == id)
    }

    /// Finds the one on-screen node that matches a label (and a role, if given).
    /// Exact matches beat case-insensitive ones, which beat matches that ignore mnemonics
    /// and ellipses; interactive nodes beat others. Several equally good matches are an
    /// error listing them rather than a guess.
    pub fn find_unique(&self, name: &str, role: Option<&str>) -> Result<&LayoutNode, ActionError> {
        let query = match role {
            Some(r) => format!("{r} {name:?}"),
            None => format!("{name:?}"),
        };
        let wanted = normalise_label(name);
        let candidates: Vec<(u8, &LayoutNode)> = self
            .walk()
            .into_iter()
            .map(|(_, n)| n)
            .filter(|n| n.is_on_screen())
            .filter(|n| role.is_none_or(|r| n.role.eq_ignore_ascii_case(r)))
            .filter_map(|n| {
                let rank = if n.name == name {
                    0
                } else if n.name.eq_ignore_ascii_case(name) {
                    1
                } else if !wanted.is_empty() && normalise_label(&n.name) == wanted {
                    2
                } else {
                    return None;
                };
                let rank = if n.is_interactive() { rank } else { rank + 3 };
                Some((rank, n))
            })
            .collect();
        let Some(best) = candidates.iter().map(|(r, _)| *r).min() else {
            return Err(ActionError::NotFound(query));
        };
        let top: Vec<&LayoutNode> = candidates
            .iter()
            .filter(|(r, _)| *r == best)
            .map(|(_, n)| *n)
            .collect();
        match top.as_slice() {
            [one] => Ok(one),
            many => Err(ActionError::Ambiguous {
                query,
                candidates: many
                    .iter()
                    .map(|n| n.describe())
                    .collect::<Vec<_>>()
                    .join(", "),
            }),
        }
    }

    /// The desktop point to act on for a node: the centre of its on-screen box, or the
    /// visible point closest to it when something in front covers the centre
    /// (see [`crate::visible::visible_point`]).
    pub fn action_point(&self, id: &NodeId) -> Result<Point, ActionError> {
        crate::visible::visible_point(self, id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(id: &str, role: &str, name: &str, x: i32, children: Vec<LayoutNode>) -> LayoutNode {
        LayoutNode {
            id: id.into(),
            role: role.into(),
            name: name.into(),
            text: None,
            bounds: Some(Rect::new(x, 0, 20, 20)),
            states: vec![NodeState::Showing, NodeState::Visible],
            source: NodeSource::Accessibility,
            also: Vec::new(),
            description: None,
            actions: Vec::new(),
            words: Vec::new(),
            children,
        }
    }

    fn tree() -> LayoutTree {
        LayoutTree {
            root: node(
                "s",
                "screen",
                "",
                0,
                vec![node(
                    "w1",
                    "frame",
                    "Save - Editor",
                    0,
                    vec![
                        node("a1", "menu", "File", 0, vec![]),
                        node("a2", "menu item", "Save _As…", 30, vec![]),
                        node("a3", "push button", "Save", 60, vec![]),
                        node("a4", "label", "Save", 90, vec![]),
                        node("a5", "push button", "OK", 120, vec![]),
                        node("a6", "push button", "OK", 150, vec![]),
                    ],
                )],
            ),
        }
    }

    #[test]
    fn finds_by_label_preferring_exact_interactive_matches() {
        let t = tree();
        assert_eq!(t.find_unique("File", None).unwrap().id, NodeId::from("a1"));
        assert_eq!(
            t.find_unique("save as", None).unwrap().id,
            NodeId::from("a2")
        );
        assert_eq!(t.find_unique("Save", None).unwrap().id, NodeId::from("a3"));
        assert_eq!(
            t.find_unique("Save", Some("label")).unwrap().id,
            NodeId::from("a4")
        );
        assert_eq!(
            t.action_point(&"a3".into()).unwrap(),
            Point::new(70.0, 10.0)
        );
    }

    #[test]
    fn absence_and_ambiguity_are_errors() {
        let t = tree();
        assert!(matches!(
            t.find_unique("Quit", None),
            Err(ActionError::NotFound(_))
        ));
        let err = t.find_unique("OK", None).unwrap_err();
        assert!(
            err.to_string().contains("a5") && err.to_string().contains("a6"),
            "{err}"
        );
        assert!(matches!(
            t.action_point(&"zz".into()),
            Err(ActionError::UnknownNode(_))
        ));
    }
}
