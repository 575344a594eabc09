//! The fields of a form on screen: each editable input with the label a person reads for it
//! (its accessible name, else the label on its left in the same row, else the label just
//! above it).

use crate::layout::{LayoutNode, LayoutTree, NodeId, NodeState};

/// One input of a form.
#[derive(Debug, Clone, PartialEq)]
pub struct FormField {
    /// What the field is called, as shown ("Email", without a trailing colon).
    pub label: String,
    /// The input's node.
    pub input: NodeId,
    /// What it holds now.
    pub value: String,
}

/// Roles of inputs a user types into.
const INPUT_ROLES: &[&str] = &["text", "entry", "password text", "spin button", "combo box"];

fn clean(label: &str) -> String {
    label
        .trim()
        .trim_end_matches(':')
        .trim_end_matches('*')
        .trim()
        .replace('_', "")
}

/// The form fields of the active window (of the whole tree when none is active), top to
/// bottom; a field with no label anywhere near is left out.
pub fn form_fields(tree: &LayoutTree) -> Vec<FormField> {
    let scope = tree.active_window().unwrap_or(&tree.root);
    fields_in(scope)
}

/// The form fields at or below `scope`, top to bottom.
pub fn fields_in(scope: &LayoutNode) -> Vec<FormField> {
    let mut nodes = Vec::new();
    let mut stack = vec![scope];
    while let Some(n) = stack.pop() {
        nodes.push(n);
        stack.extend(n.children.iter().rev());
    }
    let labels: Vec<&LayoutNode> = nodes
        .iter()
        .copied()
        .filter(|n| n.role == "label" && !clean(&n.name).is_empty() && n.is_on_screen())
        .collect();
    let mut inputs: Vec<&LayoutNode> = nodes
        .iter()
        .copied()
        .filter(|n| {
            INPUT_ROLES.contains(&n.role.as_str()) && n.has(NodeState::Editable) && n.is_on_screen()
        })
        .collect();
    inputs.sort_by_key(|n| n.bounds.map(|b| (b.y, b.x)).unwrap_or_default());
    let mut used: Vec<&str> = Vec::new();
    let mut out = Vec::new();
    for input in inputs {
        let Some(b) = input.bounds else { continue };
        let (top, bottom) = (b.y, b.y + b.height as i32);
        // The label on the left in the same row, nearest first.
        let left = labels
            .iter()
            .filter(|l| !used.contains(&l.id.0.as_str()))
            .filter_map(|l| {
                let lb = l.bounds?;
                let mid = lb.y + lb.height as i32 / 2;
                let right = lb.x + lb.width as i32;
                (mid >= top && mid <= bottom && right <= b.x + 4).then_some((b.x - right, *l))
            })
            .min_by_key(|(gap, _)| *gap)
            .map(|(_, l)| l);
        // Else the label just above, overlapping it horizontally.
        let above = || {
            labels
                .iter()
                .filter(|l| !used.contains(&l.id.0.as_str()))
                .filter_map(|l| {
                    let lb = l.bounds?;
                    let lbottom = lb.y + lb.height as i32;
                    let overlaps = lb.x < b.x + b.width as i32 && lb.x + lb.width as i32 > b.x;
                    (overlaps && lbottom <= top + 4 && top - lbottom < 40)
                        .then_some((top - lbottom, *l))
                })
                .min_by_key(|(gap, _)| *gap)
                .map(|(_, l)| l)
        };
        let own = clean(&input.name);
        let label = match left.or_else(above) {
            Some(l) => {
                used.push(l.id.0.as_str());
                clean(&l.name)
            }
            None if !own.is_empty() => own,
            None => continue,
        };
        out.push(FormField {
            label,
            input: input.id.clone(),
            value: input.text.clone().unwrap_or_default(),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geometry::Rect;
    use crate::layout::NodeSource;

    fn node(id: &str, role: &str, name: &str, b: Rect, editable: bool) -> LayoutNode {
        let mut n = LayoutNode::new(id, role, NodeSource::Accessibility);
        n.name = name.into();
        n.bounds = Some(b);
        n.states = vec![NodeState::Showing, NodeState::Visible];
        if editable {
            n.states.push(NodeState::Editable);
        }
        n
    }

    #[test]
    fn labels_on_the_left_or_above_name_their_inputs() {
        let mut win = node("w", "dialog", "Form", Rect::new(0, 0, 400, 300), false);
        win.states.push(NodeState::Active);
        win.children = vec![
            node("l1", "label", "_Name:", Rect::new(10, 20, 60, 20), false),
            node("e1", "text", "", Rect::new(80, 18, 200, 24), true),
            node("l2", "label", "Email", Rect::new(10, 60, 60, 20), false),
            node("e2", "text", "", Rect::new(80, 58, 200, 24), true),
            node("l3", "label", "City", Rect::new(80, 100, 60, 16), false),
            node("e3", "text", "", Rect::new(80, 120, 200, 24), true),
            // An input with its own accessible name and no label near it.
            node("e4", "text", "Phone", Rect::new(80, 220, 200, 24), true),
            // Not editable: not a field.
            node("e5", "text", "", Rect::new(80, 260, 200, 24), false),
        ];
        let mut tree = LayoutTree::default();
        tree.root.children = vec![win];
        let got: Vec<(String, String)> = form_fields(&tree)
            .into_iter()
            .map(|f| (f.label, f.input.to_string()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("Name".to_string(), "e1".to_string()),
                ("Email".into(), "e2".into()),
                ("City".into(), "e3".into()),
                ("Phone".into(), "e4".into()),
            ]
        );
    }
}
