//! Where focus is before and after an action: which window is active and which element has
//! keyboard focus, read from the accessibility tree.

use std::time::Duration;

use deskhand_core::ports::{Accessibility, TreeQuery, TreeScope};
use deskhand_core::{Action, LayoutNode, LayoutTree, Rect, Target};

/// A top-level window as far as two reads of the tree can tell it apart (ids are per read).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WindowKey {
    /// Role ("frame", "dialog", "file chooser").
    pub role: String,
    /// Title.
    pub name: String,
    /// Box on the desktop.
    pub bounds: Option<Rect>,
}

impl WindowKey {
    fn of(node: &LayoutNode) -> WindowKey {
        WindowKey {
            role: node.role.clone(),
            name: node.name.clone(),
            bounds: node.bounds,
        }
    }

    /// The same window, even if its title changed (editors mark unsaved work in the title).
    pub fn same_window(&self, other: &WindowKey) -> bool {
        self.role == other.role && self.bounds == other.bounds
    }
}

/// The active window and the focused element at one moment.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FocusSnapshot {
    /// The active window, when one is known.
    pub active: Option<WindowKey>,
    /// The focused element (role, name, box), when one is known.
    pub focused: Option<(String, String, Option<Rect>)>,
}

impl FocusSnapshot {
    /// Reads focus from a tree: the first active window, the first focused element (inside
    /// the active window when there is one).
    pub fn of(tree: &LayoutTree) -> FocusSnapshot {
        FocusSnapshot {
            active: tree.active_window().map(WindowKey::of),
            focused: tree
                .focused()
                .map(|n| (n.role.clone(), n.name.clone(), n.bounds)),
        }
    }

    /// True when the active window or the focused element differs between the two.
    pub fn moved_to(&self, after: &FocusSnapshot) -> bool {
        let window_moved = match (&self.active, &after.active) {
            (Some(a), Some(b)) => !a.same_window(b),
            (None, None) => false,
            _ => true,
        };
        window_moved || self.focused != after.focused
    }
}

/// The window an action is aimed at: the window holding its node target, otherwise the
/// active window (where keys, text and pointer actions at a point go). Actions that do not
/// act inside a window (open, focus, wait, done, ...) have none.
pub fn target_window(
    action: &Action,
    tree: Option<&LayoutTree>,
    before: &FocusSnapshot,
) -> Option<WindowKey> {
    if matches!(
        action,
        Action::OpenApp { .. }
            | Action::FocusWindow { .. }
            | Action::Wait { .. }
            | Action::Done { .. }
            | Action::Fail { .. }
            | Action::AskUser { .. }
    ) {
        return None;
    }
    let node = action.targets().into_iter().find_map(|t| match t {
        Target::Node { id } => Some(id.clone()),
        Target::Point { .. } => None,
    });
    match (node, tree) {
        (Some(id), Some(tree)) => tree
            .root
            .children
            .iter()
            .find(|w| w.find(&id).is_some())
            .map(WindowKey::of),
        _ => before.active.clone(),
    }
}

/// Reads the focused app's tree; `None` when it cannot.
pub fn focused_tree(accessibility: &dyn Accessibility, limits: &TreeQuery) -> Option<LayoutTree> {
    let mut query = limits.clone();
    query.scope = TreeScope::FocusedApp;
    accessibility.tree(&query).ok()
}

/// Reads the focused app's tree and takes a snapshot of its focus; `None` when it cannot.
pub fn read_focus(accessibility: &dyn Accessibility, limits: &TreeQuery) -> Option<FocusSnapshot> {
    focused_tree(accessibility, limits).map(|t| FocusSnapshot::of(&t))
}

/// Reads only the top-level windows of every app (cheap: no descent) and returns the active
/// one; `None` when no window is active or the read failed.
pub fn active_window(accessibility: &dyn Accessibility) -> Option<WindowKey> {
    let query = TreeQuery {
        scope: TreeScope::AllApps,
        max_nodes: 200,
        max_depth: 1,
        timeout: Duration::from_millis(500),
    };
    let tree = accessibility.tree(&query).ok()?;
    tree.active_window().map(WindowKey::of)
}

#[cfg(test)]
mod tests {
    use super::*;
    use deskhand_core::{NodeSource, NodeState};

    fn window(id: &str, role: &str, name: &str, active: bool, focused: &str) -> LayoutNode {
        let mut field = LayoutNode::new(format!("{id}f"), "text", NodeSource::Accessibility);
        field.name = focused.into();
        field.states = vec![NodeState::Focused];
        let mut w = LayoutNode::new(id, role, NodeSource::Accessibility);
        w.name = name.into();
        w.bounds = Some(Rect::new(0, 0, 100, 100));
        if active {
            w.states.push(NodeState::Active);
        }
        w.children = vec![field];
        w
    }

    fn screen(windows: Vec<LayoutNode>) -> LayoutTree {
        LayoutTree {
            root: LayoutNode {
                children: windows,
                ..LayoutNode::new("s", "screen", NodeSource::Display)
            },
        }
    }

    #[test]
    fn a_new_active_window_or_focused_field_is_a_focus_move_a_new_title_is_not() {
        let before = FocusSnapshot::of(&screen(vec![window("w1", "frame", "Untitled", true, "")]));
        let typed = FocusSnapshot::of(&screen(vec![window("w1", "frame", "*Untitled", true, "")]));
        assert!(!before.moved_to(&typed));
        let dialog = FocusSnapshot::of(&screen(vec![
            window("w1", "frame", "*Untitled", false, ""),
            window("w2", "file chooser", "Save As", true, "Name"),
        ]));
        assert!(before.moved_to(&dialog));
        let other_field = FocusSnapshot::of(&screen(vec![window(
            "w1", "frame", "Untitled", true, "Find",
        )]));
        assert!(before.moved_to(&other_field));

        let tree = screen(vec![
            window("w1", "frame", "Untitled", false, ""),
            window("w2", "dialog", "Save", true, ""),
        ]);
        let click = Action::Click {
            target: Target::node("w1f"),
            button: deskhand_core::MouseButton::Left,
            modifiers: None,
        };
        let b = FocusSnapshot::of(&tree);
        assert_eq!(
            target_window(&click, Some(&tree), &b).unwrap().name,
            "Untitled"
        );
        let key = Action::Key {
            chord: deskhand_core::KeyChord::parse("ctrl+s").unwrap(),
        };
        assert_eq!(target_window(&key, Some(&tree), &b).unwrap().name, "Save");
    }
}
