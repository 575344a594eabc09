//! The compact text form of the layout tree that goes into prompts.
//!
//! One line per node, indented one space per level:
//! `id role "name" ="text" [x,y,w,h] states`, with the quoted parts only when present, the box
//! (desktop coordinates) only for nodes on screen, and one letter per state (see
//! [`STATE_LEGEND`]). Unnamed, non-interactive containers are collapsed (not printed; their
//! children move up a level). Under a token budget the most relevant nodes are kept: the
//! windows, then the active window's focused and interactive nodes, its labelled content,
//! the other windows' interactive nodes and content, and last the nodes not on screen
//! (closed menus); within each rank, nodes nearer `focus` first, then reading order. Kept
//! nodes are printed grouped by window (active window first) in tree order, so the
//! indentation always shows the hierarchy, and their printed ancestors are kept with them.
//!
//! Tokens are estimated as characters / 4, rounded up ([`estimate_tokens`]): the usual
//! average for English and code in BPE tokenizers, and cheap enough to run every step.

use deskhand_core::{LayoutNode, LayoutTree, NodeState, Point};

/// What the state letters of [`compact_text`] mean, for a prompt's preamble.
pub const STATE_LEGEND: &str = "states: F focused, E editable, C checked, S selected, \
X expanded, A active window, D disabled, H not on screen";

/// Longest name or text shown, in characters; longer ones end in `…`.
const MAX_LABEL: usize = 40;

/// Estimated tokens of a text: characters / 4, rounded up.
pub fn estimate_tokens(text: &str) -> usize {
    text.chars().count().div_ceil(4)
}

struct Entry<'t> {
    node: &'t LayoutNode,
    /// Printed depth: number of printable ancestors (windows are 0).
    depth: usize,
    /// The nearest printable ancestor, as an index into the entries.
    parent: Option<usize>,
    /// Index of the window (root child) the node is in.
    window: usize,
}

/// Renders `tree` as compact text of at most `budget_tokens` (as [`estimate_tokens`] counts
/// them), the most relevant nodes first, ending with `... N more nodes omitted` when some
/// printable nodes did not fit (collapsed containers are not counted). A budget too small for
/// even that line gives an empty string.
pub fn compact_text(tree: &LayoutTree, budget_tokens: usize, focus: Option<Point>) -> String {
    let mut entries: Vec<Entry<'_>> = Vec::new();
    for (w, window) in tree.root.children.iter().enumerate() {
        collect(window, 0, None, w, &mut entries);
    }
    let active = active_window(tree);

    // Rank every entry; stable sort keeps reading order among equals.
    let mut ranked: Vec<(u8, f64, usize)> = entries
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let distance = match (focus, e.node.bounds) {
                (Some(p), Some(b)) if e.node.is_on_screen() => b.distance_to(p),
                _ => f64::INFINITY,
            };
            (tier(e, active), distance, i)
        })
        .collect();
    ranked.sort_by(|a, b| {
        (a.0, a.1)
            .partial_cmp(&(b.0, b.1))
            .unwrap_or(std::cmp::Ordering::Equal)
            .then(a.2.cmp(&b.2))
    });

    let budget_chars = budget_tokens.saturating_mul(4);
    let total = entries.len();
    let reserve = omitted_line(total).chars().count() + 1;
    let lines: Vec<String> = entries.iter().map(line).collect();
    let mut kept = vec![false; total];
    let mut used = 0usize;
    for &(_, _, i) in &ranked {
        // The node's line plus those of its ancestors that are not printed yet.
        let mut cost = 0;
        let mut cursor = Some(i);
        while let Some(j) = cursor.filter(|&j| !kept[j]) {
            cost += lines[j].chars().count() + 1;
            cursor = entries[j].parent;
        }
        if used + cost + reserve > budget_chars {
            break;
        }
        used += cost;
        let mut cursor = Some(i);
        while let Some(j) = cursor.filter(|&j| !kept[j]) {
            kept[j] = true;
            cursor = entries[j].parent;
        }
    }

    let mut windows: Vec<usize> = (0..tree.root.children.len()).collect();
    windows.sort_by_key(|&w| (Some(w) != active, w));
    let mut out = String::with_capacity(used + reserve);
    for w in windows {
        for (i, e) in entries.iter().enumerate() {
            if e.window == w && kept[i] {
                out.push_str(&lines[i]);
                out.push('\n');
            }
        }
    }
    let omitted = kept.iter().filter(|k| !**k).count();
    if omitted > 0 {
        let tail = omitted_line(omitted);
        if out.chars().count() + tail.chars().count() <= budget_chars {
            out.push_str(&tail);
        }
    }
    out
}

fn omitted_line(n: usize) -> String {
    format!("... {n} more nodes omitted")
}

/// A node is printed unless it is an unnamed, text-less, non-interactive container.
fn printable(node: &LayoutNode, depth: usize) -> bool {
    depth == 0
        || node.is_interactive()
        || !node.name.trim().is_empty()
        || node.text.as_deref().is_some_and(|t| !t.trim().is_empty())
}

fn collect<'t>(
    node: &'t LayoutNode,
    depth: usize,
    parent: Option<usize>,
    window: usize,
    entries: &mut Vec<Entry<'t>>,
) {
    let (child_depth, child_parent) = if printable(node, depth) {
        let index = entries.len();
        entries.push(Entry {
            node,
            depth,
            parent,
            window,
        });
        (depth + 1, Some(index))
    } else {
        (depth, parent)
    };
    for child in &node.children {
        collect(child, child_depth, child_parent, window, entries);
    }
}

/// The window that is active, or holds the focused node, or the first one.
fn active_window(tree: &LayoutTree) -> Option<usize> {
    let windows = &tree.root.children;
    windows
        .iter()
        .position(|w| w.has(NodeState::Active))
        .or_else(|| windows.iter().position(has_focus))
        .or(if windows.is_empty() { None } else { Some(0) })
}

fn has_focus(node: &LayoutNode) -> bool {
    node.has(NodeState::Focused) || node.children.iter().any(has_focus)
}

/// Relevance rank, lower first.
fn tier(e: &Entry<'_>, active: Option<usize>) -> u8 {
    let n = e.node;
    let in_active = Some(e.window) == active;
    if e.parent.is_none() {
        return 0;
    }
    if !n.is_on_screen() {
        return if in_active { 6 } else { 7 };
    }
    match (in_active, n.is_interactive()) {
        _ if in_active && n.has(NodeState::Focused) => 1,
        (true, true) => 2,
        (true, false) => 3,
        (false, true) => 4,
        (false, false) => 5,
    }
}

fn line(e: &Entry<'_>) -> String {
    let n = e.node;
    let mut s = String::with_capacity(48 + e.depth);
    s.extend(std::iter::repeat_n(' ', e.depth));
    s.push_str(&n.id.0);
    s.push(' ');
    s.push_str(&n.role);
    if !n.name.trim().is_empty() {
        s.push_str(" \"");
        push_label(&mut s, &n.name);
        s.push('"');
    }
    if let Some(text) = n
        .text
        .as_deref()
        .filter(|t| !t.trim().is_empty() && *t != n.name)
    {
        s.push_str(" =\"");
        push_label(&mut s, text);
        s.push('"');
    }
    let on_screen = n.is_on_screen();
    if let (true, Some(b)) = (on_screen, n.bounds) {
        s.push_str(&format!(" [{},{},{},{}]", b.x, b.y, b.width, b.height));
    }
    let letters = state_letters(n, on_screen);
    if !letters.is_empty() {
        s.push(' ');
        s.push_str(&letters);
    }
    s
}

/// One-line, quote-safe, length-capped label.
fn push_label(s: &mut String, label: &str) {
    let mut chars = label.trim().chars().map(|c| match c {
        '"' => '\'',
        c if c.is_control() => ' ',
        c => c,
    });
    for _ in 0..MAX_LABEL {
        match chars.next() {
            Some(c) => s.push(c),
            None => return,
        }
    }
    if chars.next().is_some() {
        s.push('…');
    }
}

fn state_letters(n: &LayoutNode, on_screen: bool) -> String {
    let mut out = String::new();
    for (state, letter) in [
        (NodeState::Focused, 'F'),
        (NodeState::Editable, 'E'),
        (NodeState::Checked, 'C'),
        (NodeState::Selected, 'S'),
        (NodeState::Expanded, 'X'),
        (NodeState::Active, 'A'),
    ] {
        if n.has(state) {
            out.push(letter);
        }
    }
    // Only the accessibility tree reports "enabled"; elsewhere its absence means nothing.
    if n.source == deskhand_core::NodeSource::Accessibility
        && n.is_interactive()
        && !n.has(NodeState::Enabled)
    {
        out.push('D');
    }
    if !on_screen {
        out.push('H');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use deskhand_core::{NodeSource, Rect};

    fn node(id: &str, role: &str, name: &str, b: Rect, kids: Vec<LayoutNode>) -> LayoutNode {
        LayoutNode {
            name: name.into(),
            bounds: Some(b),
            states: vec![NodeState::Showing, NodeState::Visible, NodeState::Enabled],
            children: kids,
            ..LayoutNode::new(id, role, NodeSource::Accessibility)
        }
    }

    fn r(x: i32, y: i32) -> Rect {
        Rect::new(x, y, 40, 20)
    }

    /// Two windows; the second is active and has a menu bar inside an unnamed filler.
    fn two_windows() -> LayoutTree {
        let items = |p: &str, x: i32| {
            (0..5)
                .map(|i| {
                    node(
                        &format!("{p}{i}"),
                        "menu item",
                        &format!("Item {i}"),
                        r(x, 30 + i * 20),
                        vec![],
                    )
                })
                .collect::<Vec<_>>()
        };
        let mut other = node(
            "w1",
            "frame",
            "Notes - Editor",
            Rect::new(0, 0, 600, 400),
            vec![
                node("b1", "push button", "Old", r(10, 10), vec![]),
                node("b2", "menu", "Tools", r(60, 10), items("b", 60)),
            ],
        );
        other.states.retain(|s| *s != NodeState::Active);
        let mut active = node(
            "w2",
            "frame",
            "memo.txt - Mousepad",
            Rect::new(600, 0, 600, 400),
            vec![
                node(
                    "f1",
                    "filler",
                    "",
                    Rect::new(600, 0, 600, 30),
                    vec![node("m1", "menu", "File", r(610, 5), items("i", 610))],
                ),
                node("l1", "label", "Ready", r(610, 380), vec![]),
            ],
        );
        active.states.push(NodeState::Active);
        LayoutTree {
            root: LayoutNode {
                children: vec![other, active],
                ..LayoutNode::new("screen", "screen", NodeSource::Display)
            },
        }
    }

    #[test]
    fn full_tree_lists_every_printable_node_with_collapsed_containers() {
        let text = compact_text(&two_windows(), 10_000, None);
        let lines: Vec<&str> = text.lines().collect();
        // 2 windows + 2 + 5 items + 1 + 5 items + 1 label; the filler collapses.
        assert_eq!(lines.len(), 16, "{text}");
        assert_eq!(
            lines[0],
            "w2 frame \"memo.txt - Mousepad\" [600,0,600,400] A"
        );
        assert_eq!(lines[1], " m1 menu \"File\" [610,5,40,20]");
        assert_eq!(lines[2], "  i0 menu item \"Item 0\" [610,30,40,20]");
        assert!(!text.contains("f1") && !text.contains("omitted"));
    }

    #[test]
    fn budget_keeps_the_active_window_first_and_counts_the_rest() {
        let tree = two_windows();
        let full = compact_text(&tree, 10_000, None);
        for budget in [0, 5, 20, 40, 60, 80, 120] {
            let text = compact_text(&tree, budget, None);
            assert!(estimate_tokens(&text) <= budget, "{budget}: {text}");
            let shown = text.lines().filter(|l| !l.starts_with("...")).count();
            if let Some(tail) = text.lines().last().filter(|l| l.starts_with("...")) {
                assert_eq!(tail, format!("... {} more nodes omitted", 16 - shown));
            }
            // Every line is a line of the full rendering.
            for l in text.lines().filter(|l| !l.starts_with("...")) {
                assert!(full.lines().any(|f| f == l), "{l}");
            }
        }
        // At 90 tokens: both windows, then the active window's menu and items, and none of
        // the other window's controls.
        let text = compact_text(&tree, 90, None);
        assert!(text.contains("i4 menu item"), "{text}");
        assert!(
            text.contains("w1 frame") && !text.contains("b1 push"),
            "{text}"
        );
        let pos = |s: &str| text.find(s).unwrap();
        assert!(pos("i0 menu item") < pos("w1 frame"));
        assert!(text.ends_with("more nodes omitted"));
    }

    #[test]
    fn focus_ranks_nearby_nodes_first_and_states_are_letters() {
        let mut tree = two_windows();
        // The smallest budget that shows an item of the File menu shows the one at the focus.
        let focus = Some(Point::new(620.0, 115.0));
        let first = (0..200)
            .map(|b| compact_text(&tree, b, focus))
            .find(|t| t.contains("menu item"))
            .unwrap();
        assert!(
            first.contains("i4 menu item") && !first.contains("i0 "),
            "{first}"
        );

        let label = &mut tree.root.children[1].children[1];
        label.role = "text".into();
        label.states = vec![NodeState::Showing, NodeState::Focused, NodeState::Editable];
        label.text = Some("hello \"you\"\nthere".into());
        let text = compact_text(&tree, 10_000, None);
        assert!(
            text.contains("\n l1 text \"Ready\" =\"hello 'you' there\" [610,380,40,20] FED\n"),
            "{text}"
        );
        // The focused node comes right after the windows on a tight budget.
        let tight = (0..200)
            .map(|b| compact_text(&tree, b, None))
            .find(|t| t.lines().count() >= 4)
            .unwrap();
        assert!(tight.contains("l1 text"), "{tight}");
        // Hidden nodes are marked and have no box.
        tree.root.children[0].children[0].states.clear();
        let text = compact_text(&tree, 10_000, None);
        assert!(text.contains("\n b1 push button \"Old\" DH\n"), "{text}");
    }
}
