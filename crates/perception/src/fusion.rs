//! Fusion of the display server's windows, the accessibility tree, OCR text lines and pixel
//! segments into one Tree-of-Lens layout tree: screen -> windows -> global regions -> local
//! regions.
//!
//! Rules, in order:
//! 1. Every mapped window from the display server becomes a `window` node (front-most first).
//!    An accessible top-level whose box or title matches it is merged into it (its subtree
//!    hangs under the window). Accessible top-levels with no X window (GTK menus are
//!    override-redirect popups) become windows of their own, in front.
//! 2. Pixel segments fill what accessibility does not cover. In a window without an
//!    accessibility tree (xterm), panels become `panel` nodes and controls `control` nodes
//!    under the smallest panel containing them. In a window with one, a control is kept only
//!    when no accessible node with a box already covers it, and hangs under the deepest
//!    accessible node containing it (a canvas, a grid, an icon view).
//! 3. OCR lines name what has no name: a line inside an unnamed button or control becomes its
//!    name; a line that repeats a node's name or a text field's content is a duplicate and is
//!    dropped (the node records OCR as a second source); any other line becomes a `label` node
//!    under the deepest node containing it.
//! 4. Ids are stable across frames: a node keeps its id while its role, name and (rounded) box
//!    stay the same ([`IdBook`]).

use std::collections::HashMap;

use deskhand_core::ports::TextLine;
use deskhand_core::{LayoutNode, LayoutTree, NodeId, NodeSource, NodeState, Point, Rect};

/// A top-level window as the display server reports it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct WindowBox {
    /// Window title.
    pub title: String,
    /// Application (WM_CLASS class), empty when unknown.
    #[serde(default)]
    pub app: String,
    /// Owning process, when known.
    #[serde(default)]
    pub pid: Option<u32>,
    /// Bounds in desktop coordinates.
    pub bounds: Rect,
    /// The active (focused) window.
    #[serde(default)]
    pub active: bool,
}

/// What a pixel segment is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ProposalKind {
    /// A global region: a toolbar, a sidebar, a text area, a dialog body.
    Panel,
    /// A local region: a button, an icon, a field, a block of text.
    Control,
}

/// A region proposed by pixel segmentation.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Proposal {
    /// Bounds in desktop coordinates.
    pub bounds: Rect,
    /// Panel or control.
    pub kind: ProposalKind,
}

/// Everything fusion combines for one frame.
#[derive(Debug, Clone, Copy)]
pub struct FusionInput<'a> {
    /// The whole desktop (union of the monitors).
    pub screen: Rect,
    /// Windows in stacking order, bottom first (as `_NET_CLIENT_LIST_STACKING`).
    pub windows: &'a [WindowBox],
    /// The accessibility tree, when there is one.
    pub accessibility: Option<&'a LayoutTree>,
    /// Text lines read on the frame.
    pub text: &'a [TextLine],
    /// Pixel segments.
    pub segments: &'a [Proposal],
}

/// Keeps node ids stable from frame to frame.
///
/// A node's key is its source, role, name and box rounded to 4 px, plus its window's title;
/// the same key gets the same id on the next frame. Keys not seen for a while are forgotten
/// (the book holds at most `capacity` keys).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct IdBook {
    ids: HashMap<String, (String, u64)>,
    counters: HashMap<char, u64>,
    frame: u64,
    capacity: usize,
}

impl Default for IdBook {
    fn default() -> Self {
        Self::new(50_000)
    }
}

impl IdBook {
    /// An empty book keeping at most `capacity` keys.
    pub fn new(capacity: usize) -> Self {
        Self {
            ids: HashMap::new(),
            counters: HashMap::new(),
            frame: 0,
            capacity: capacity.max(1),
        }
    }

    fn begin_frame(&mut self) {
        self.frame += 1;
        if self.ids.len() > self.capacity {
            let mut ages: Vec<u64> = self.ids.values().map(|(_, f)| *f).collect();
            ages.sort_unstable();
            let cut = ages
                .get(self.ids.len() - self.capacity / 2)
                .copied()
                .unwrap_or(0);
            self.ids.retain(|_, (_, f)| *f >= cut);
        }
    }

    fn id_for(&mut self, prefix: char, key: String) -> NodeId {
        let frame = self.frame;
        if let Some((id, seen)) = self.ids.get_mut(&key) {
            *seen = frame;
            return NodeId(id.clone());
        }
        let counter = self.counters.entry(prefix).or_insert(0);
        *counter += 1;
        let id = format!("{prefix}{counter}");
        self.ids.insert(key, (id.clone(), frame));
        NodeId(id)
    }
}

/// Fuses frames into layout trees, keeping ids stable across calls.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct Fuser {
    book: IdBook,
}

/// Roles that make a node a global region in the Tree-of-Lens sense.
pub const GLOBAL_ROLES: &[&str] = &[
    "menu bar",
    "tool bar",
    "status bar",
    "panel",
    "scroll pane",
    "page tab list",
    "page tab",
    "dialog",
    "file chooser",
    "list",
    "list box",
    "table",
    "tree table",
    "tree",
    "menu",
    "popup menu",
    "form",
    "viewport",
    "split pane",
    "layered pane",
    "canvas",
    "drawing area",
    "document frame",
    "text",
];

impl Fuser {
    /// A fuser with an empty id book.
    pub fn new() -> Self {
        Self::default()
    }

    /// Fuses one frame's sources into a layout tree.
    pub fn fuse(&mut self, input: &FusionInput<'_>) -> LayoutTree {
        self.book.begin_frame();
        let mut windows = build_windows(input);
        for segment in input.segments {
            add_segment(&mut windows, segment);
        }
        let latin_screen = mostly_latin(input.text);
        for line in input
            .text
            .iter()
            .filter(|l| !(latin_screen && icon_junk(&l.text)))
        {
            add_text_line(&mut windows, line);
        }
        let mut root = LayoutNode::new("screen", "screen", NodeSource::Display);
        root.bounds = Some(input.screen);
        root.children = windows.into_iter().map(|w| w.node).collect();
        for child in &mut root.children {
            sort_reading_order(child);
        }
        let mut seen = HashMap::new();
        for child in &mut root.children {
            // Children are keyed by the window's application and place, not its title: a
            // title that changes ("*Untitled 1", a file name after saving) keeps their ids.
            let window = match (&child.description, child.bounds) {
                (Some(app), Some(b)) => format!("{app}@{},{},{}x{}", b.x, b.y, b.width, b.height),
                _ => child.name.clone(),
            };
            self.assign_ids(child, &window, &mut seen);
        }
        LayoutTree { root }
    }

    fn assign_ids(
        &mut self,
        node: &mut LayoutNode,
        window: &str,
        seen: &mut HashMap<String, usize>,
    ) {
        let prefix = match node.source {
            NodeSource::Accessibility => 'a',
            NodeSource::Ocr => 'o',
            NodeSource::Segmentation => 's',
            NodeSource::Display => 'w',
        };
        let b = node.bounds.unwrap_or(Rect::new(0, 0, 0, 0));
        let q = |v: i64| v.div_euclid(4);
        let base = format!(
            "{prefix}|{window}|{}|{}|{},{},{},{}",
            node.role,
            node.name,
            q(i64::from(b.x)),
            q(i64::from(b.y)),
            q(i64::from(b.width)),
            q(i64::from(b.height))
        );
        let n = seen.entry(base.clone()).or_insert(0);
        *n += 1;
        let key = format!("{base}|{n}");
        node.id = self.book.id_for(prefix, key);
        for child in &mut node.children {
            self.assign_ids(child, window, seen);
        }
    }
}

/// A window under construction: its node and whether accessibility describes its inside.
struct WindowSlot {
    node: LayoutNode,
    has_accessibility: bool,
}

fn build_windows(input: &FusionInput<'_>) -> Vec<WindowSlot> {
    // Front-most first.
    let mut slots: Vec<WindowSlot> = input
        .windows
        .iter()
        .rev()
        .filter_map(|w| {
            let bounds = w.bounds.intersection(&input.screen)?;
            let mut node = LayoutNode::new("w", "window", NodeSource::Display);
            node.name = w.title.clone();
            node.bounds = Some(bounds);
            node.states = vec![NodeState::Showing, NodeState::Visible];
            if w.active {
                node.states.push(NodeState::Active);
            }
            if !w.app.is_empty() {
                node.description = Some(format!("application {}", w.app));
            }
            Some(WindowSlot {
                node,
                has_accessibility: false,
            })
        })
        .collect();
    let Some(tree) = input.accessibility else {
        if slots.is_empty() && !input.screen.is_empty() {
            // No window manager and no accessibility: the screen is the one window, so what
            // vision finds still has a home.
            let mut node = LayoutNode::new("w", "window", NodeSource::Display);
            node.name = "screen".into();
            node.bounds = Some(input.screen);
            node.states = vec![NodeState::Showing, NodeState::Visible];
            slots.push(WindowSlot {
                node,
                has_accessibility: false,
            });
        }
        return slots;
    };
    let mut popups = Vec::new();
    for top in &tree.root.children {
        let Some(bounds) = top.bounds.filter(|b| !b.is_empty()) else {
            continue;
        };
        if !top.has(NodeState::Showing) && !top.has(NodeState::Visible) {
            continue;
        }
        // Best window by overlap; a title match breaks ties and rescues odd frame offsets.
        let best = slots
            .iter()
            .enumerate()
            .filter(|(_, s)| !s.has_accessibility)
            .map(|(i, s)| {
                let iou = s.node.bounds.map_or(0.0, |b| b.iou(&bounds));
                let title = !top.name.is_empty() && s.node.name == top.name;
                (i, iou + if title { 0.5 } else { 0.0 })
            })
            .filter(|(_, score)| *score >= 0.6)
            .max_by(|a, b| a.1.total_cmp(&b.1));
        match best {
            Some((i, _)) => {
                if let Some(slot) = slots.get_mut(i) {
                    merge_top_level(&mut slot.node, top);
                    slot.has_accessibility = true;
                }
            }
            None => {
                // No X client window: a popup menu, a tooltip, or no window manager at all.
                let mut wrapper = LayoutNode::new("w", "window", NodeSource::Accessibility);
                wrapper.name = top.name.clone();
                wrapper.bounds = Some(bounds);
                wrapper.states = top.states.clone();
                wrapper.description = match top.role.as_str() {
                    "frame" | "window" => top.description.clone(),
                    role => Some(role.to_string()),
                };
                wrapper.children = top.children.clone();
                // Stacking without a window manager's word for it: popups (menus) on top,
                // then the active window, then dialogs, then the rest, newer ones first.
                let rank = if top.role == "window" {
                    0
                } else if top.has(NodeState::Active) {
                    1
                } else if matches!(top.role.as_str(), "dialog" | "alert" | "file chooser") {
                    2
                } else {
                    3
                };
                popups.push((
                    rank,
                    usize::MAX - popups.len(),
                    WindowSlot {
                        node: wrapper,
                        has_accessibility: true,
                    },
                ));
            }
        }
    }
    popups.sort_by_key(|(rank, newer, _)| (*rank, *newer));
    let mut out: Vec<WindowSlot> = popups.into_iter().map(|(_, _, slot)| slot).collect();
    out.extend(slots);
    out
}

/// Hangs an accessible top-level's subtree under its window node.
fn merge_top_level(window: &mut LayoutNode, top: &LayoutNode) {
    window.also.push(NodeSource::Accessibility);
    if window.name.is_empty() {
        window.name = top.name.clone();
    }
    for s in &top.states {
        if !window.states.contains(s) {
            window.states.push(*s);
        }
    }
    if top.role != "frame" && top.role != "window" {
        window.description = Some(top.role.clone());
    }
    window.children.extend(top.children.iter().cloned());
}

/// The topmost window slot whose box contains the point.
fn window_at(windows: &mut [WindowSlot], p: Point) -> Option<&mut WindowSlot> {
    windows
        .iter_mut()
        .find(|w| w.node.bounds.is_some_and(|b| b.contains(p)))
}

/// The deepest node under `node` (itself included) whose box covers most of `area`.
fn deepest_containing<'n>(node: &'n mut LayoutNode, area: &Rect) -> &'n mut LayoutNode {
    match containing_child(node, area) {
        Some(i) if i < node.children.len() => deepest_containing(&mut node.children[i], area),
        _ => node,
    }
}

/// The first on-screen child whose box covers most of `area`.
fn containing_child(node: &LayoutNode, area: &Rect) -> Option<usize> {
    node.children
        .iter()
        .position(|c| c.is_on_screen() && c.bounds.is_some_and(|b| area.covered_by(&b) >= 0.8))
}

/// Pixels a text line may stick out of the accessible box that names it.
const NAMED_SLACK: i32 = 4;

/// For each text line box, whether fusion would hang it under an accessible node that
/// already has a name, so reading it would be wasted: the line lies (within a few pixels)
/// inside an on-screen, named accessible node that is the deepest one containing it, in a
/// window with accessibility that is the front-most window at the line, and no window or
/// open menu in front of that window touches the line. Windows are stacked as in
/// [`Fuser::fuse`].
pub(crate) fn named_by_accessibility(
    screen: Rect,
    windows: &[WindowBox],
    tree: &LayoutTree,
    lines: &[Rect],
) -> Vec<bool> {
    let input = FusionInput {
        screen,
        windows,
        accessibility: Some(tree),
        text: &[],
        segments: &[],
    };
    let slots = build_windows(&input);
    let inside = |line: &Rect, b: &Rect| {
        let grown = Rect::new(
            b.x - NAMED_SLACK,
            b.y - NAMED_SLACK,
            b.width + 2 * NAMED_SLACK as u32,
            b.height + 2 * NAMED_SLACK as u32,
        );
        grown.intersection(line) == Some(*line)
    };
    lines
        .iter()
        .map(|line| {
            let Some(front) = slots
                .iter()
                .position(|w| w.node.bounds.is_some_and(|b| b.contains(line.center())))
            else {
                return false;
            };
            let slot = &slots[front];
            let shown = slot.has_accessibility
                && slot.node.bounds.is_some_and(|b| inside(line, &b))
                && !slots[..front].iter().any(|w| {
                    w.node
                        .bounds
                        .is_some_and(|b| b.intersection(line).is_some())
                });
            if !shown {
                return false;
            }
            let mut owner = &slot.node;
            while let Some(i) = containing_child(owner, line) {
                owner = &owner.children[i];
            }
            !std::ptr::eq(owner, &slot.node)
                && owner.source == NodeSource::Accessibility
                && owner.is_on_screen()
                && !owner.name.trim().is_empty()
                && owner.bounds.is_some_and(|b| inside(line, &b))
        })
        .collect()
}

/// Roles whose inside accessibility does not describe: pixels there are left to vision.
const CANVAS_ROLES: &[&str] = &[
    "canvas",
    "drawing area",
    "document frame",
    "table",
    "tree table",
    "layered pane",
    "viewport",
    "scroll pane",
    "panel",
    "filler",
    "icon view",
    "image",
];

/// True when an accessible node already describes the pixels of `area`: an interactive node
/// (button, menu title, text field) containing most of it, or a leaf (label, icon) with about
/// its box. Canvases, grids and plain containers do not count.
fn covered_by_accessibility(node: &LayoutNode, area: &Rect) -> bool {
    node.children.iter().any(|c| {
        let Some(b) = c.bounds.filter(|_| c.is_on_screen()) else {
            return false;
        };
        if b.intersection(area).is_none() {
            return false;
        }
        let inside = area.covered_by(&b) >= 0.6;
        let covers = c.source == NodeSource::Accessibility
            && !CANVAS_ROLES.contains(&c.role.as_str())
            && if c.is_interactive() {
                inside
            } else if c.children.is_empty() {
                inside && (b.covered_by(area) >= 0.5 || !c.name.is_empty())
            } else {
                false
            };
        covers || covered_by_accessibility(c, area)
    })
}

fn add_segment(windows: &mut [WindowSlot], segment: &Proposal) {
    let area = segment.bounds;
    if area.is_empty() {
        return;
    }
    let Some(slot) = window_at(windows, area.center()) else {
        return;
    };
    let mut node = LayoutNode::new("s", "panel", NodeSource::Segmentation);
    node.bounds = Some(area);
    node.states = vec![NodeState::Showing, NodeState::Visible];
    if slot.has_accessibility {
        if segment.kind == ProposalKind::Panel || covered_by_accessibility(&slot.node, &area) {
            return;
        }
        node.role = "control".into();
        deepest_containing(&mut slot.node, &area)
            .children
            .push(node);
        return;
    }
    match segment.kind {
        ProposalKind::Panel => {
            // Panels nest: the new panel goes under the deepest panel containing it.
            let parent = deepest_containing(&mut slot.node, &area);
            if parent.bounds == Some(area) {
                return;
            }
            parent.children.push(node);
        }
        ProposalKind::Control => {
            node.role = "control".into();
            let parent = deepest_containing(&mut slot.node, &area);
            if parent.role == "control" {
                return;
            }
            parent.children.push(node);
        }
    }
}

/// Normalised text for duplicate checks.
fn norm(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// Glyphs OCR reads off icons (a folder as 田, arrows as 日 or 网, a blank page as □): CJK,
/// box drawing and geometric shapes.
fn icon_glyph(c: char) -> bool {
    let u = u32::from(c);
    (0x2500..=0x25FF).contains(&u)
        || (0x2E80..=0x9FFF).contains(&u)
        || (0xF900..=0xFAFF).contains(&u)
        || (0xFF00..=0xFFEF).contains(&u)
}

/// A short line with such a glyph on a screen of Latin text is an icon misread as text, not a
/// label: it would name the icon wrongly and match nothing a person says.
fn icon_junk(text: &str) -> bool {
    let t = text.trim();
    t.chars().count() <= 4 && t.chars().any(icon_glyph)
}

/// Whether at least four lines in five are free of such glyphs (a CJK desktop keeps its
/// short labels).
fn mostly_latin(lines: &[TextLine]) -> bool {
    let latin = lines
        .iter()
        .filter(|l| !l.text.chars().any(icon_glyph))
        .count();
    latin * 5 >= lines.len() * 4
}

fn add_text_line(windows: &mut [WindowSlot], line: &TextLine) {
    let text = line.text.trim();
    if text.is_empty() || line.bounds.is_empty() {
        return;
    }
    let Some(slot) = window_at(windows, line.bounds.center()) else {
        return;
    };
    let t = norm(text);
    // A label drawn beyond its accessible box (a sidebar row, a tab) repeats a nearby node's
    // name: that node is the line's owner, whatever box the line's centre falls in.
    if let Some(named) = named_near(&mut slot.node, &t, &line.bounds) {
        if named.source != NodeSource::Ocr && !named.also.contains(&NodeSource::Ocr) {
            named.also.push(NodeSource::Ocr);
        }
        named.words.extend(line.words.iter().cloned());
        return;
    }
    let owner = deepest_containing(&mut slot.node, &line.bounds);
    let name = norm(&owner.name);
    let content = owner.text.as_deref().map(norm).unwrap_or_default();
    // The line is kept as the node's second source, and its words where they are.
    let note_ocr = |n: &mut LayoutNode| {
        if n.source != NodeSource::Ocr && !n.also.contains(&NodeSource::Ocr) {
            n.also.push(NodeSource::Ocr);
        }
        n.words.extend(line.words.iter().cloned());
    };
    // Repeats what the node already says.
    if !t.is_empty()
        && ((!name.is_empty() && (name.contains(&t) || t.contains(&name)))
            || (!content.is_empty() && content.contains(&t)))
    {
        note_ocr(owner);
        return;
    }
    // Names an unnamed control.
    let unnamed_control = owner.name.is_empty()
        && owner.is_interactive()
        && owner.role != "text"
        && owner.role != "entry"
        && !owner.has(NodeState::Editable);
    if unnamed_control {
        owner.name = text.to_string();
        note_ocr(owner);
        return;
    }
    if owner.role == "control" && owner.source == NodeSource::Segmentation && owner.name.is_empty()
    {
        // A line that fills the blob is its label; several lines in one blob (a row of
        // buttons segmentation could not split) stay separate labels inside it.
        let fills = owner.bounds.is_none_or(|b| {
            f64::from(line.bounds.width) >= 0.7 * f64::from(b.width)
                && f64::from(line.bounds.height) >= 0.4 * f64::from(b.height)
        });
        if fills {
            owner.name = text.to_string();
            note_ocr(owner);
            return;
        }
    }
    // Text typed into an editable field is its content, not a label.
    if owner.has(NodeState::Editable) {
        note_ocr(owner);
        return;
    }
    let mut node = LayoutNode::new("o", "label", NodeSource::Ocr);
    node.name = text.to_string();
    node.bounds = Some(line.bounds);
    node.words = line.words.clone();
    node.states = vec![NodeState::Showing, NodeState::Visible];
    // Unnamed pixel blobs of this line's words are the line itself: the label replaces them.
    owner.children.retain(|c| {
        !(c.source == NodeSource::Segmentation
            && c.name.is_empty()
            && c.children.is_empty()
            && c.bounds.is_some_and(|b| b.covered_by(&line.bounds) >= 0.7))
    });
    owner.children.push(node);
}

/// An on-screen node named `t` (normalised) whose box touches `line`.
fn named_near<'n>(node: &'n mut LayoutNode, t: &str, line: &Rect) -> Option<&'n mut LayoutNode> {
    if t.is_empty() {
        return None;
    }
    let touching = |n: &LayoutNode| {
        n.bounds.is_some_and(|b| {
            let grown = Rect::new(b.x - 4, b.y - 4, b.width + 8, b.height + 8);
            grown.intersection(line).is_some()
        })
    };
    let here = node.is_on_screen() && touching(node) && norm(&node.name) == t;
    if here {
        return Some(node);
    }
    let idx = node
        .children
        .iter()
        .position(|c| has_named_near(c, t, line));
    match idx {
        Some(i) if i < node.children.len() => named_near(&mut node.children[i], t, line),
        _ => None,
    }
}

fn has_named_near(node: &LayoutNode, t: &str, line: &Rect) -> bool {
    let touching = node.bounds.is_some_and(|b| {
        let grown = Rect::new(b.x - 4, b.y - 4, b.width + 8, b.height + 8);
        grown.intersection(line).is_some()
    });
    (node.is_on_screen() && touching && norm(&node.name) == t)
        || node.children.iter().any(|c| has_named_near(c, t, line))
}

/// Orders vision-added children top-to-bottom, left-to-right (accessible children keep the
/// application's order, which is already reading order).
fn sort_reading_order(node: &mut LayoutNode) {
    let vision_only = node
        .children
        .iter()
        .all(|c| c.source != NodeSource::Accessibility);
    if vision_only {
        node.children
            .sort_by_key(|c| c.bounds.map_or((i32::MAX, i32::MAX), |b| (b.y / 8, b.x)));
    }
    for child in &mut node.children {
        sort_reading_order(child);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a11y(role: &str, name: &str, b: Rect, children: Vec<LayoutNode>) -> LayoutNode {
        let mut n = LayoutNode::new("x", role, NodeSource::Accessibility);
        n.name = name.into();
        n.bounds = Some(b);
        n.states = vec![NodeState::Showing, NodeState::Visible, NodeState::Enabled];
        n.children = children;
        n
    }

    fn line(text: &str, b: Rect) -> TextLine {
        TextLine {
            text: text.into(),
            confidence: 0.99,
            bounds: b,
            words: Vec::new(),
        }
    }

    fn screen() -> Rect {
        Rect::new(0, 0, 1280, 800)
    }

    fn editor_tree() -> LayoutTree {
        LayoutTree {
            root: a11y(
                "screen",
                "",
                screen(),
                vec![a11y(
                    "frame",
                    "memo.txt - Mousepad",
                    Rect::new(100, 100, 600, 400),
                    vec![
                        a11y(
                            "tool bar",
                            "",
                            Rect::new(100, 130, 600, 30),
                            vec![
                                a11y("push button", "Open", Rect::new(100, 130, 30, 30), vec![]),
                                a11y("push button", "", Rect::new(130, 130, 60, 30), vec![]),
                            ],
                        ),
                        {
                            let mut t = a11y("text", "", Rect::new(100, 160, 600, 340), vec![]);
                            t.states.push(NodeState::Editable);
                            t.text = Some("hello world".into());
                            t
                        },
                    ],
                )],
            ),
        }
    }

    fn windows() -> Vec<WindowBox> {
        vec![
            WindowBox {
                title: "xterm".into(),
                app: "XTerm".into(),
                pid: Some(7),
                bounds: Rect::new(600, 300, 500, 400),
                active: false,
            },
            WindowBox {
                title: "memo.txt - Mousepad".into(),
                app: "Mousepad".into(),
                pid: Some(9),
                bounds: Rect::new(100, 100, 600, 400),
                active: true,
            },
        ]
    }

    #[test]
    fn icons_misread_as_glyphs_are_not_labels_on_a_latin_screen() {
        let tree = editor_tree();
        let wins = windows();
        let mut text = vec![
            line("田", Rect::new(750, 320, 30, 30)),
            line(">>日", Rect::new(850, 320, 60, 30)),
            line("7", Rect::new(950, 320, 12, 18)),
        ];
        // Every line sits in the xterm, clear of the editor in front of it.
        text.extend((0..12).map(|i| line("build log ok", Rect::new(750, 400 + i * 20, 90, 16))));
        let fuse = |text: &[TextLine]| {
            let out = Fuser::new().fuse(&FusionInput {
                screen: screen(),
                windows: &wins,
                accessibility: Some(&tree),
                text,
                segments: &[],
            });
            out.walk()
                .into_iter()
                .filter(|(_, n)| n.source == NodeSource::Ocr)
                .map(|(_, n)| n.name.clone())
                .collect::<Vec<_>>()
        };
        let names = fuse(&text);
        assert!(names.contains(&"7".to_string()), "{names:?}");
        assert!(
            !names.iter().any(|n| n.contains('田') || n.contains('日')),
            "{names:?}"
        );
        // A screen of CJK text keeps its short lines.
        let cjk: Vec<TextLine> = (0..5)
            .map(|i| line("文件", Rect::new(750, 400 + i * 20, 40, 16)))
            .collect();
        assert_eq!(fuse(&cjk).len(), 5);
    }

    #[test]
    fn windows_front_first_with_accessibility_merged() {
        let tree = editor_tree();
        let wins = windows();
        let out = Fuser::new().fuse(&FusionInput {
            screen: screen(),
            windows: &wins,
            accessibility: Some(&tree),
            text: &[],
            segments: &[],
        });
        let names: Vec<&str> = out.root.children.iter().map(|w| w.name.as_str()).collect();
        assert_eq!(names, ["memo.txt - Mousepad", "xterm"]);
        let editor = &out.root.children[0];
        assert!(editor.has(NodeState::Active));
        assert_eq!(
            editor.sources(),
            [NodeSource::Display, NodeSource::Accessibility]
        );
        assert_eq!(editor.children.len(), 2);
        assert!(out.root.children[1].children.is_empty());
    }

    #[test]
    fn ocr_names_unnamed_buttons_and_drops_duplicates() {
        let tree = editor_tree();
        let wins = windows();
        let text = [
            line("Open", Rect::new(104, 134, 22, 20)),
            line("Save", Rect::new(135, 134, 40, 20)),
            line("hello world", Rect::new(102, 162, 90, 18)),
            // In the xterm, outside the editor.
            line("$ ls -l", Rect::new(720, 520, 60, 16)),
        ];
        let out = Fuser::new().fuse(&FusionInput {
            screen: screen(),
            windows: &wins,
            accessibility: Some(&tree),
            text: &text,
            segments: &[],
        });
        let save = out.find_unique("Save", None).unwrap();
        assert_eq!(save.role, "push button");
        assert_eq!(save.sources(), [NodeSource::Accessibility, NodeSource::Ocr]);
        let open = out.find_unique("Open", None).unwrap();
        assert_eq!(open.source, NodeSource::Accessibility);
        assert!(
            out.find_unique("hello world", None).is_err(),
            "content is not a label"
        );
        let ls = out.find_unique("$ ls -l", None).unwrap();
        assert_eq!((ls.role.as_str(), ls.source), ("label", NodeSource::Ocr));
        let xterm = &out.root.children[1];
        assert!(
            xterm.find(&ls.id).is_some(),
            "the line belongs to the xterm"
        );
    }

    #[test]
    fn vision_only_windows_get_panels_controls_and_named_controls() {
        let wins = windows();
        let segs = [
            Proposal {
                bounds: Rect::new(600, 300, 500, 30),
                kind: ProposalKind::Panel,
            },
            Proposal {
                bounds: Rect::new(720, 305, 60, 20),
                kind: ProposalKind::Control,
            },
            // Under the editor window (which has accessibility): dropped where covered.
            Proposal {
                bounds: Rect::new(100, 130, 30, 30),
                kind: ProposalKind::Control,
            },
        ];
        let text = [line("Menu", Rect::new(725, 307, 40, 16))];
        let tree = editor_tree();
        let out = Fuser::new().fuse(&FusionInput {
            screen: screen(),
            windows: &wins,
            accessibility: Some(&tree),
            text: &text,
            segments: &segs,
        });
        let xterm = &out.root.children[1];
        let panel = &xterm.children[0];
        assert_eq!(panel.role, "panel");
        assert_eq!(panel.children[0].role, "control");
        assert_eq!(panel.children[0].name, "Menu");
        assert!(panel.children[0].is_interactive());
        let editor = &out.root.children[0];
        assert!(
            !editor
                .children
                .iter()
                .flat_map(|c| c.children.iter())
                .any(|c| c.source == NodeSource::Segmentation),
            "a control already described by accessibility is not added twice"
        );
    }

    #[test]
    fn ids_are_stable_across_frames_and_new_nodes_get_new_ids() {
        let tree = editor_tree();
        let wins = windows();
        let mut fuser = Fuser::new();
        let input = FusionInput {
            screen: screen(),
            windows: &wins,
            accessibility: Some(&tree),
            text: &[],
            segments: &[],
        };
        let first = fuser.fuse(&input);
        let second = fuser.fuse(&input);
        let ids = |t: &LayoutTree| {
            t.walk()
                .iter()
                .map(|(_, n)| n.id.0.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(ids(&first), ids(&second));
        let all = ids(&first);
        let unique: std::collections::HashSet<_> = all.iter().collect();
        assert_eq!(all.len(), unique.len(), "ids are unique: {all:?}");
        let text = [line("$ ls", Rect::new(720, 520, 60, 16))];
        let third = fuser.fuse(&FusionInput {
            text: &text,
            ..input
        });
        let open_before = first.find_unique("Open", None).unwrap().id.clone();
        assert_eq!(third.find_unique("Open", None).unwrap().id, open_before);
        let new = third.find_unique("$ ls", None).unwrap();
        assert!(!all.contains(&new.id.0));
    }

    #[test]
    fn a_window_title_change_keeps_the_ids_of_its_contents() {
        let tree = editor_tree();
        let wins = windows();
        let mut fuser = Fuser::new();
        let first = fuser.fuse(&FusionInput {
            screen: screen(),
            windows: &wins,
            accessibility: Some(&tree),
            text: &[],
            segments: &[],
        });
        // The document was edited: mousepad marks its title, in X and in accessibility.
        let dirty = "*memo.txt - Mousepad";
        let mut wins2 = windows();
        wins2[1].title = dirty.into();
        let mut tree2 = tree.clone();
        fn rename(n: &mut LayoutNode, to: &str) {
            if n.name == "memo.txt - Mousepad" {
                n.name = to.into();
            }
            n.children.iter_mut().for_each(|c| rename(c, to));
        }
        rename(&mut tree2.root, dirty);
        let second = fuser.fuse(&FusionInput {
            screen: screen(),
            windows: &wins2,
            accessibility: Some(&tree2),
            text: &[],
            segments: &[],
        });
        let open = |t: &LayoutTree| t.find_unique("Open", None).unwrap().id.clone();
        assert_eq!(open(&first), open(&second));
    }

    #[test]
    fn accessible_popups_without_x_window_become_windows_in_front() {
        let mut tree = editor_tree();
        tree.root.children.push(a11y(
            "window",
            "",
            Rect::new(100, 130, 200, 150),
            vec![a11y(
                "menu",
                "",
                Rect::new(100, 130, 200, 150),
                vec![a11y(
                    "menu item",
                    "Save As…",
                    Rect::new(100, 160, 200, 25),
                    vec![],
                )],
            )],
        ));
        let wins = windows();
        let out = Fuser::new().fuse(&FusionInput {
            screen: screen(),
            windows: &wins,
            accessibility: Some(&tree),
            text: &[],
            segments: &[],
        });
        assert_eq!(out.root.children.len(), 3);
        let popup = &out.root.children[0];
        assert!(popup
            .find(&out.find_unique("Save As", None).unwrap().id)
            .is_some());
    }
}
