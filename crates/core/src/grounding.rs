//! Grounding by description: finds the node a person means by "the Save button", "the text
//! field", "second item in the File menu" or "the button right of Open".
//!
//! A description is read as `[ordinal] [name] [kind] [relation anchor]`:
//! - ordinal: `first` … `tenth`, `1st`, `2nd`, `last`;
//! - name: quoted (`'Save As…'`) or the remaining words;
//! - kind: `button`, `field`, `menu`, `menu item`/`item`, `check box`, `tab`, `link`, `label`,
//!   `icon`, `slider`, `combo box`, `list`, `window`, …;
//! - relation: `right of`, `left of`, `above`, `below`/`under`, `next to`, `in`/`inside`/
//!   `within`/`of`, followed by another description (the anchor).
//!
//! Several equally good matches are reported as [`ActionError::Ambiguous`] and none as
//! [`ActionError::NotFound`] (with near misses): grounding never guesses.

use crate::error::ActionError;
use crate::layout::{LayoutNode, LayoutTree, NodeSource, NodeState};

/// A parsed description.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Description {
    /// 1-based position among the matches (`Some(0)` is "last").
    pub ordinal: Option<usize>,
    /// The name or label, if given.
    pub name: Option<String>,
    /// The kind word as written ("button", "menu item").
    pub kind: Option<String>,
    /// A relation to another element.
    pub relation: Option<(Relation, Box<Description>)>,
}

/// How a target relates to its anchor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Relation {
    /// To the right of the anchor, on the same row.
    RightOf,
    /// To the left, same row.
    LeftOf,
    /// Above, same column.
    Above,
    /// Below, same column.
    Below,
    /// Closest to the anchor in any direction.
    NextTo,
    /// Inside the anchor (a descendant, or within its box).
    In,
}

const ORDINALS: &[(&str, usize)] = &[
    ("first", 1),
    ("second", 2),
    ("third", 3),
    ("fourth", 4),
    ("fifth", 5),
    ("sixth", 6),
    ("seventh", 7),
    ("eighth", 8),
    ("ninth", 9),
    ("tenth", 10),
    ("last", 0),
];

/// Kind words and the roles they stand for (longest phrases first).
const KINDS: &[(&str, &[&str])] = &[
    (
        "menu item",
        &["menu item", "check menu item", "radio menu item"],
    ),
    (
        "text field",
        &["text", "entry", "password text", "spin button"],
    ),
    ("text box", &["text", "entry", "password text"]),
    ("text area", &["text"]),
    ("check box", &["check box", "check menu item"]),
    ("checkbox", &["check box", "check menu item"]),
    ("radio button", &["radio button", "radio menu item"]),
    ("combo box", &["combo box"]),
    ("drop-down list", &["combo box"]),
    ("spin box", &["spin button"]),
    ("push button", &["push button", "button"]),
    ("toggle button", &["toggle button"]),
    ("list item", &["list item"]),
    ("tree item", &["tree item"]),
    ("table cell", &["table cell"]),
    ("page tab", &["page tab"]),
    ("drop down", &["combo box"]),
    ("dropdown", &["combo box"]),
    ("scroll bar", &["scroll bar"]),
    ("tool bar", &["tool bar"]),
    ("toolbar", &["tool bar"]),
    ("menu bar", &["menu bar"]),
    ("menubar", &["menu bar"]),
    (
        "button",
        &["push button", "toggle button", "button", "control"],
    ),
    ("field", &["text", "entry", "password text", "spin button"]),
    ("textbox", &["text", "entry", "password text"]),
    ("entry", &["text", "entry", "password text"]),
    ("input", &["text", "entry", "password text", "spin button"]),
    ("editor", &["text"]),
    ("menu", &["menu"]),
    (
        "item",
        &[
            "menu item",
            "check menu item",
            "radio menu item",
            "list item",
            "tree item",
            "table cell",
            "page tab",
            "icon",
        ],
    ),
    ("tab", &["page tab"]),
    ("link", &["link"]),
    ("label", &["label"]),
    ("text", &["label", "text", "static"]),
    (
        "icon",
        &["icon", "push button", "toggle button", "control", "image"],
    ),
    ("slider", &["slider"]),
    ("list", &["list", "list box", "table", "tree table"]),
    ("window", &["window", "frame", "dialog"]),
    ("dialog", &["dialog", "window", "frame"]),
    ("cell", &["table cell"]),
    (
        "file",
        &["label", "icon", "list item", "tree item", "table cell"],
    ),
    (
        "folder",
        &["label", "icon", "list item", "tree item", "table cell"],
    ),
    (
        "option",
        &["radio button", "check box", "list item", "menu item"],
    ),
];

/// Relation phrases (longest first) and what they mean.
const RELATIONS: &[(&str, Relation)] = &[
    ("to the right of", Relation::RightOf),
    ("to the left of", Relation::LeftOf),
    ("right of", Relation::RightOf),
    ("left of", Relation::LeftOf),
    ("next to", Relation::NextTo),
    ("beside", Relation::NextTo),
    ("above", Relation::Above),
    ("below", Relation::Below),
    ("under", Relation::Below),
    ("inside", Relation::In),
    ("within", Relation::In),
    ("in", Relation::In),
    ("of", Relation::In),
    ("on", Relation::In),
];

/// A word of a description; quoted words are names and never keywords.
#[derive(Debug, Clone, PartialEq)]
struct Word {
    text: String,
    quoted: bool,
}

/// The words of a description, split as commands are (quotes keep names whole).
fn words(text: &str) -> Result<Vec<Word>, ActionError> {
    Ok(crate::command::tokenize(text)?
        .into_iter()
        .map(|(text, quoted)| Word { text, quoted })
        .collect())
}

fn lower_eq(w: &Word, s: &str) -> bool {
    !w.quoted && w.text.eq_ignore_ascii_case(s)
}

/// Length of the phrase `phrase` (space-separated) at `words[at..]`, if it is there.
fn phrase_at(words: &[Word], at: usize, phrase: &str) -> Option<usize> {
    let parts: Vec<&str> = phrase.split(' ').collect();
    let slice = words.get(at..at + parts.len())?;
    slice
        .iter()
        .zip(&parts)
        .all(|(w, p)| lower_eq(w, p))
        .then_some(parts.len())
}

fn ordinal_of(w: &Word) -> Option<usize> {
    if w.quoted {
        return None;
    }
    let t = w.text.to_lowercase();
    if let Some((_, n)) = ORDINALS.iter().find(|(s, _)| *s == t) {
        return Some(*n);
    }
    let digits = t
        .strip_suffix("st")
        .or_else(|| t.strip_suffix("nd"))
        .or_else(|| t.strip_suffix("rd"))
        .or_else(|| t.strip_suffix("th"))?;
    digits.parse().ok().filter(|n: &usize| *n > 0)
}

impl Description {
    /// Parses a description. An empty one is an error.
    pub fn parse(text: &str) -> Result<Description, ActionError> {
        Self::parse_with(text, true)
    }

    /// Parses with or without looking for a relation ("Sign in" is a name, not "Sign" in
    /// something).
    fn parse_with(text: &str, relations: bool) -> Result<Description, ActionError> {
        let ws = words(text)?;
        let d = parse_words(&ws, relations)?;
        if d.name.is_none() && d.kind.is_none() {
            return Err(ActionError::Malformed(format!(
                "cannot tell what to look for in {text:?}: name it (e.g. 'Save') or say its kind (button, field, menu item)"
            )));
        }
        Ok(d)
    }
}

fn parse_words(ws: &[Word], relations: bool) -> Result<Description, ActionError> {
    // The first relation phrase outside quotes splits target from anchor; a relation word
    // at the very start is not one ("in" cannot begin a target).
    let mut split = None;
    let first = if relations { 1 } else { ws.len() };
    'outer: for at in first..ws.len() {
        for (phrase, rel) in RELATIONS {
            if let Some(len) = phrase_at(ws, at, phrase) {
                if at + len < ws.len() {
                    split = Some((at, len, *rel));
                    break 'outer;
                }
            }
        }
    }
    let (head, relation) = match split {
        Some((at, len, rel)) => {
            let anchor = parse_words(&ws[at + len..], true)?;
            (&ws[..at], Some((rel, Box::new(anchor))))
        }
        None => (ws, None),
    };
    // Articles and the verbs of naming ("the window titled 'Notes'") carry no meaning here.
    let mut head: Vec<Word> = head
        .iter()
        .filter(|w| {
            ![
                "the", "a", "an", "titled", "named", "called", "labelled", "labeled",
            ]
            .iter()
            .any(|s| lower_eq(w, s))
        })
        .cloned()
        .collect();
    let mut ordinal = None;
    if let Some(n) = head.first().and_then(ordinal_of) {
        ordinal = Some(n);
        head.remove(0);
    }
    // The kind: the longest kind phrase at the end, else at the start.
    let mut kind = None;
    for (phrase, _) in KINDS {
        let n = phrase.split(' ').count();
        if head.len() >= n && phrase_at(&head, head.len() - n, phrase).is_some() {
            kind = Some((*phrase).to_string());
            head.truncate(head.len() - n);
            break;
        }
    }
    if kind.is_none() {
        for (phrase, _) in KINDS {
            if let Some(n) = phrase_at(&head, 0, phrase) {
                if head.len() > n {
                    kind = Some((*phrase).to_string());
                    head.drain(..n);
                    break;
                }
            }
        }
    }
    let name = head
        .iter()
        .map(|w| w.text.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    let name = (!name.trim().is_empty()).then(|| name.trim().to_string());
    Ok(Description {
        ordinal,
        name,
        kind,
        relation,
    })
}

/// Normalises a label: drops mnemonic underscores, trailing ellipses and punctuation, folds
/// case and spaces.
fn norm(s: &str) -> String {
    let s = s.trim().trim_end_matches('…').trim_end_matches("...");
    s.chars()
        .filter(|c| *c != '_')
        .flat_map(char::to_lowercase)
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// How well a node's name matches: 0 exact, 1 case-insensitive, 2 normalised, 3 prefix,
/// 4 whole words contained; `None` for no match.
fn name_rank(node: &LayoutNode, name: &str) -> Option<u8> {
    let label = if node.name.is_empty() {
        node.text.as_deref().unwrap_or("")
    } else {
        node.name.as_str()
    };
    if label.is_empty() {
        return None;
    }
    if label == name {
        return Some(0);
    }
    if label.eq_ignore_ascii_case(name) {
        return Some(1);
    }
    let (l, n) = (norm(label), norm(name));
    if n.is_empty() {
        return None;
    }
    // A selection's highlight reads as brackets or bars around the text ("[report.txt]").
    let vision = node.source != NodeSource::Accessibility;
    let unframed = |t: &str| {
        t.trim_matches(|c: char| "[]|(){}<>".contains(c) || c.is_whitespace())
            .to_string()
    };
    if l == n || (vision && unframed(&l) == n) {
        return Some(2);
    }
    if l.starts_with(&n) && l[n.len()..].starts_with(' ') {
        return Some(3);
    }
    // Whole words inside, punctuation stuck to them aside ("fox," holds "fox").
    let fold = |t: &str| -> Vec<String> {
        t.split_whitespace()
            .map(fold_word)
            .filter(|w| !w.is_empty())
            .collect()
    };
    let (lw, nw) = (fold(&l), fold(&n));
    (!nw.is_empty() && lw.windows(nw.len()).any(|w| w == nw.as_slice())).then_some(4)
}

/// The roles a kind word stands for; a word that is no kind is taken as a role name.
pub fn kind_matches(kind: &str, role: &str) -> bool {
    match KINDS.iter().find(|(k, _)| *k == kind) {
        Some((_, roles)) => roles.contains(&role),
        None => kind.eq_ignore_ascii_case(role),
    }
}

/// Candidates in reading order (depth-first), with their match rank (lower is better).
fn candidates<'t>(
    tree: &'t LayoutTree,
    d: &Description,
) -> Result<Vec<(u8, &'t LayoutNode)>, ActionError> {
    let mut out = matching(tree, d, true);
    // Vision cannot tell a button from a label: when nothing of the kind is named so, a
    // node found by OCR or segmentation with that name will do.
    if out.is_empty() && d.kind.is_some() && d.name.is_some() {
        out = matching(tree, d, false)
            .into_iter()
            .filter(|(_, n)| n.source != NodeSource::Accessibility)
            .collect();
    }
    if let Some((relation, anchor)) = &d.relation {
        let anchor = ground_description(tree, anchor)?;
        out = relate(out, anchor, *relation);
    }
    Ok(out)
}

/// Nodes matching the description's name and (when `by_kind`) kind, in reading order.
fn matching<'t>(tree: &'t LayoutTree, d: &Description, by_kind: bool) -> Vec<(u8, &'t LayoutNode)> {
    let kind = d.kind.as_deref().filter(|_| by_kind);
    tree.walk()
        .into_iter()
        .map(|(_, n)| n)
        .filter(|n| n.is_on_screen() && n.role != "screen")
        .filter(|n| kind.is_none_or(|k| kind_matches(k, &n.role)))
        .filter(|n| {
            // "field" means something that takes text.
            !matches!(
                kind,
                Some("field" | "text field" | "text box" | "textbox" | "input" | "entry")
            ) || n.has(NodeState::Editable)
                || n.role == "entry"
                || n.role == "password text"
        })
        .filter_map(|n| {
            let rank = match &d.name {
                Some(name) => name_rank(n, name)?,
                None => 0,
            };
            // Interactive nodes beat others at the same rank; for a name found inside a
            // longer text, the node that knows where that word is beats them all.
            let second = match &d.name {
                Some(name) if rank == 4 || (rank == 3 && !n.words.is_empty()) => {
                    word_spans(n, name).is_empty()
                }
                _ => !n.is_interactive(),
            };
            Some((rank * 2 + u8::from(second), n))
        })
        .collect()
}

/// Keeps candidates in the relation to the anchor, nearest first for spatial relations.
fn relate<'t>(
    cands: Vec<(u8, &'t LayoutNode)>,
    anchor: &'t LayoutNode,
    relation: Relation,
) -> Vec<(u8, &'t LayoutNode)> {
    let Some(ab) = anchor.bounds else {
        return Vec::new();
    };
    let cands = cands.into_iter().filter(|(_, n)| n.id != anchor.id);
    if relation == Relation::In {
        let inside: Vec<_> = cands
            .filter(|(_, n)| {
                anchor.find(&n.id).is_some() || n.bounds.is_some_and(|b| ab.contains_rect(&b))
            })
            .collect();
        return inside;
    }
    let (acx, acy) = (ab.center().x, ab.center().y);
    let mut scored: Vec<(f64, u8, &LayoutNode)> = cands
        .filter(|(_, n)| n.find(&anchor.id).is_none())
        .filter_map(|(rank, n)| {
            let b = n.bounds?;
            let c = b.center();
            let same_row = b.y as f64 <= acy && acy < b.bottom() as f64
                || ab.y as f64 <= c.y && c.y < ab.bottom() as f64;
            let same_col = b.x as f64 <= acx && acx < b.right() as f64
                || ab.x as f64 <= c.x && c.x < ab.right() as f64;
            let ok = match relation {
                Relation::RightOf => same_row && b.x as f64 >= ab.right() as f64 - 2.0,
                Relation::LeftOf => same_row && b.right() as f64 <= ab.x as f64 + 2.0,
                Relation::Above => same_col && b.bottom() as f64 <= ab.y as f64 + 2.0,
                Relation::Below => same_col && b.y as f64 >= ab.bottom() as f64 - 2.0,
                Relation::NextTo => same_row || same_col,
                Relation::In => false,
            };
            ok.then(|| ((c.x - acx).hypot(c.y - acy), rank, n))
        })
        .collect();
    scored.sort_by(|a, b| a.0.total_cmp(&b.0));
    // The nearest one is what "right of X" means; keep order for ordinals.
    scored.into_iter().map(|(_, r, n)| (r.min(1), n)).collect()
}

fn describe_query(d: &Description) -> String {
    let mut parts = Vec::new();
    if let Some(n) = d.ordinal {
        parts.push(if n == 0 {
            "last".to_string()
        } else {
            format!("#{n}")
        });
    }
    if let Some(name) = &d.name {
        parts.push(format!("{name:?}"));
    }
    if let Some(k) = &d.kind {
        parts.push(k.clone());
    }
    if let Some((rel, anchor)) = &d.relation {
        parts.push(format!("{rel:?} ({})", describe_query(anchor)));
    }
    parts.join(" ")
}

/// Finds the node a parsed description means (for callers that build the description
/// themselves, e.g. from a name with quotes in it).
pub fn ground_description<'t>(
    tree: &'t LayoutTree,
    d: &Description,
) -> Result<&'t LayoutNode, ActionError> {
    let cands = candidates(tree, d)?;
    let query = describe_query(d);
    let Some(best) = cands.iter().map(|(r, _)| *r).min() else {
        return Err(ActionError::NotFound(match near_misses(tree, d) {
            near if near.is_empty() => query,
            near => format!("{query}; nearest on screen: {near}"),
        }));
    };
    let spatial = d.relation.as_ref().is_some_and(|(r, _)| *r != Relation::In);
    let top: Vec<&LayoutNode> = cands
        .iter()
        .filter(|(r, _)| *r == best)
        .map(|(_, n)| *n)
        .collect();
    if let Some(k) = d.ordinal {
        let pick = if k == 0 { top.last() } else { top.get(k - 1) };
        return pick
            .copied()
            .ok_or_else(|| ActionError::NotFound(format!("{query}: only {} match", top.len())));
    }
    match top.as_slice() {
        [one] => Ok(one),
        [first, ..] if spatial => Ok(first),
        // One word seen twice (the accessible text and the OCR line over it) is one place.
        [first, rest @ ..]
            if d.name
                .as_deref()
                .is_some_and(|name| same_word(first, rest, name)) =>
        {
            Ok(top
                .iter()
                .find(|n| n.is_interactive())
                .copied()
                .unwrap_or(first))
        }
        many => Err(ActionError::Ambiguous {
            query,
            candidates: many
                .iter()
                .take(8)
                .map(|n| n.describe())
                .collect::<Vec<_>>()
                .join(", ")
                + if many.len() > 8 { ", …" } else { "" },
        }),
    }
}

/// A word of a node's text folded for matching: lower case, punctuation at its ends gone.
fn fold_word(w: &str) -> String {
    w.trim_matches(|c: char| !c.is_alphanumeric())
        .to_lowercase()
}

/// The boxes of every run of the node's words that spells `name` (folded), in order.
pub fn word_spans(node: &LayoutNode, name: &str) -> Vec<crate::geometry::Rect> {
    let wanted: Vec<String> = name.split_whitespace().map(fold_word).collect();
    if wanted.is_empty() || wanted.iter().any(String::is_empty) || node.words.len() < wanted.len() {
        return Vec::new();
    }
    let words: Vec<String> = node.words.iter().map(|w| fold_word(&w.text)).collect();
    (0..=words.len() - wanted.len())
        .filter(|&i| words[i..i + wanted.len()] == wanted[..])
        .map(|i| {
            node.words[i + 1..i + wanted.len()]
                .iter()
                .fold(node.words[i].bounds, |b, w| b.union(&w.bounds))
        })
        .collect()
}

/// Whether every node in `rest` finds `name` at the same place as `first` does.
fn same_word(first: &LayoutNode, rest: &[&LayoutNode], name: &str) -> bool {
    let Some(at) = word_spans(first, name).first().map(|b| b.center()) else {
        return false;
    };
    rest.iter().all(|n| {
        let spans = word_spans(n, name);
        spans.len() == 1
            && (spans[0].center().x - at.x).abs() <= 6.0
            && (spans[0].center().y - at.y).abs() <= 6.0
    })
}

/// Where to aim for `name` on `node`: none when the name is the node's whole label (its
/// centre is right), the word's centre when the name is a word or words of its text (its
/// first words or any inside),
/// and an `Ambiguous` error when the text holds it more than once.
pub fn word_aim(
    node: &LayoutNode,
    name: &str,
) -> Result<Option<crate::geometry::Point>, ActionError> {
    if name_rank(node, name).is_none_or(|r| r <= 2) {
        return Ok(None);
    }
    match word_spans(node, name).as_slice() {
        [] => Ok(None),
        [one] => Ok(Some(one.center())),
        many => Err(ActionError::Ambiguous {
            query: format!("{name:?}"),
            candidates: format!(
                "{} places in {} (name the element it is in, or click a point)",
                many.len(),
                node.describe()
            ),
        }),
    }
}

/// Finds the node a description means and, when the description names a word inside the
/// node's text, the point of that word (see [`word_aim`]).
pub fn ground_aim<'t>(
    tree: &'t LayoutTree,
    description: &str,
) -> Result<(&'t LayoutNode, Option<crate::geometry::Point>), ActionError> {
    let node = ground(tree, description)?;
    let d = Description::parse(description)?;
    let aim = match d.name.as_deref().filter(|_| d.relation.is_none()) {
        Some(name) => word_aim(node, name)?,
        None => None,
    };
    Ok((node, aim))
}

/// The on-screen named nodes closest to what was asked for, with their ids: for a "not
/// found" that says what is there instead (a typo, another kind of element).
fn near_misses(tree: &LayoutTree, d: &Description) -> String {
    let Some(name) = d.name.as_deref().map(norm).filter(|n| !n.is_empty()) else {
        return String::new();
    };
    let mut scored: Vec<(usize, &LayoutNode)> = tree
        .walk()
        .into_iter()
        .map(|(_, n)| n)
        .filter(|n| n.is_on_screen() && n.role != "screen" && !n.name.trim().is_empty())
        .filter_map(|n| {
            let label = norm(&n.name);
            // Same name of another kind, or a word of it, or a few letters off.
            let distance = if label == name || label.split(' ').any(|w| w == name) {
                0
            } else {
                edit_distance(&label, &name)
            };
            (distance <= (name.chars().count() / 3).max(1)).then_some((distance, n))
        })
        .collect();
    scored.sort_by_key(|(d, _)| *d);
    scored
        .iter()
        .take(3)
        .map(|(_, n)| n.describe())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Levenshtein distance over characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

/// The kind words a description or a command's role may use ("button", "menu item", ...).
pub fn kind_words() -> impl Iterator<Item = &'static str> {
    KINDS.iter().map(|(k, _)| *k)
}

/// Finds the node a description means. Absence and ambiguity are errors, never guesses.
pub fn ground<'t>(tree: &'t LayoutTree, description: &str) -> Result<&'t LayoutNode, ActionError> {
    let d = Description::parse(description)?;
    match ground_description(tree, &d) {
        Ok(node) => Ok(node),
        Err(first) if d.relation.is_some() => {
            // "the Sign in button": try the words as one name before giving up.
            match Description::parse_with(description, false) {
                Ok(whole) => ground_description(tree, &whole).map_err(|_| first),
                Err(_) => Err(first),
            }
        }
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geometry::Rect;

    fn n(id: &str, role: &str, name: &str, b: Rect, children: Vec<LayoutNode>) -> LayoutNode {
        let mut node = LayoutNode::new(id, role, NodeSource::Accessibility);
        node.name = name.into();
        node.bounds = Some(b);
        node.states = vec![NodeState::Showing, NodeState::Visible, NodeState::Enabled];
        node.children = children;
        node
    }

    fn tree() -> LayoutTree {
        let mut text = n("t1", "text", "", Rect::new(0, 60, 600, 300), vec![]);
        text.states.push(NodeState::Editable);
        LayoutTree {
            root: n(
                "s",
                "screen",
                "",
                Rect::new(0, 0, 800, 600),
                vec![n(
                    "w",
                    "window",
                    "memo - Mousepad",
                    Rect::new(0, 0, 600, 400),
                    vec![
                        n(
                            "mb",
                            "menu bar",
                            "",
                            Rect::new(0, 0, 600, 20),
                            vec![
                                n(
                                    "m1",
                                    "menu",
                                    "File",
                                    Rect::new(0, 0, 40, 20),
                                    vec![
                                        n(
                                            "i1",
                                            "menu item",
                                            "New",
                                            Rect::new(0, 20, 150, 20),
                                            vec![],
                                        ),
                                        n(
                                            "i2",
                                            "menu item",
                                            "Open…",
                                            Rect::new(0, 40, 150, 20),
                                            vec![],
                                        ),
                                        n(
                                            "i3",
                                            "menu item",
                                            "Save _As…",
                                            Rect::new(0, 60, 150, 20),
                                            vec![],
                                        ),
                                    ],
                                ),
                                n(
                                    "m2",
                                    "menu",
                                    "Edit",
                                    Rect::new(40, 0, 40, 20),
                                    vec![n(
                                        "i4",
                                        "menu item",
                                        "Undo",
                                        Rect::new(40, 20, 150, 20),
                                        vec![],
                                    )],
                                ),
                            ],
                        ),
                        n(
                            "tb",
                            "tool bar",
                            "",
                            Rect::new(0, 20, 600, 40),
                            vec![
                                n(
                                    "b1",
                                    "push button",
                                    "Open",
                                    Rect::new(0, 20, 40, 40),
                                    vec![],
                                ),
                                n(
                                    "b2",
                                    "push button",
                                    "Save",
                                    Rect::new(40, 20, 40, 40),
                                    vec![],
                                ),
                                n(
                                    "b3",
                                    "push button",
                                    "Save",
                                    Rect::new(300, 20, 40, 40),
                                    vec![],
                                ),
                            ],
                        ),
                        text,
                    ],
                )],
            ),
        }
    }

    #[test]
    fn parses_ordinals_names_kinds_and_relations() {
        let d = Description::parse("second item in the File menu").unwrap();
        assert_eq!(d.ordinal, Some(2));
        assert_eq!(d.kind.as_deref(), Some("item"));
        let (rel, anchor) = d.relation.unwrap();
        assert_eq!(rel, Relation::In);
        assert_eq!(anchor.name.as_deref(), Some("File"));
        assert_eq!(anchor.kind.as_deref(), Some("menu"));
        let d = Description::parse("the 'Sign in' button").unwrap();
        assert_eq!(d.name.as_deref(), Some("Sign in"));
        assert!(d.relation.is_none());
        assert!(Description::parse("the").is_err());
        let mut t = tree();
        t.root.children[0].children[1].children[0].name = "Sign in".into();
        assert_eq!(ground(&t, "the Sign in button").unwrap().id.0, "b1");
        assert!(Description::parse("'unclosed").is_err());
        let d = Description::parse(r"the 'Don\'t Save' button").unwrap();
        assert_eq!(d.name.as_deref(), Some("Don't Save"));
        let d = Description::parse("the “Save As…” item").unwrap();
        assert_eq!(d.name.as_deref(), Some("Save As…"));
    }

    #[test]
    fn grounds_the_issue_examples() {
        let t = tree();
        assert_eq!(ground(&t, "the text field").unwrap().id.0, "t1");
        assert_eq!(
            ground(&t, "second item in the File menu").unwrap().id.0,
            "i2"
        );
        assert_eq!(ground(&t, "last item in the File menu").unwrap().id.0, "i3");
        assert_eq!(ground(&t, "Save As menu item").unwrap().id.0, "i3");
        assert_eq!(ground(&t, "the button right of Open").unwrap().id.0, "b2");
        assert_eq!(ground(&t, "the Open button").unwrap().id.0, "b1");
        assert_eq!(ground(&t, "Edit menu").unwrap().id.0, "m2");
    }

    #[test]
    fn vision_nodes_match_by_name_when_no_node_of_the_kind_does() {
        let mut t = tree();
        let mut label = n("o1", "label", "Print", Rect::new(400, 20, 40, 20), vec![]);
        label.source = NodeSource::Ocr;
        t.root.children[0].children.push(label);
        assert_eq!(ground(&t, "the Print button").unwrap().id.0, "o1");
        let d = Description {
            name: Some("Don't Save".into()),
            kind: Some("spin box".into()),
            ..Description::default()
        };
        assert!(matches!(
            ground_description(&t, &d),
            Err(ActionError::NotFound(_))
        ));
    }

    #[test]
    fn ambiguity_and_absence_are_reported() {
        let t = tree();
        let err = ground(&t, "the Save button").unwrap_err().to_string();
        assert!(err.contains("b2") && err.contains("b3"), "{err}");
        assert!(matches!(
            ground(&t, "the Print button"),
            Err(ActionError::NotFound(_))
        ));
        assert!(matches!(
            ground(&t, "fifth item in the File menu"),
            Err(ActionError::NotFound(_))
        ));
        assert!(matches!(
            ground(&t, "the button left of Open"),
            Err(ActionError::NotFound(_))
        ));
    }

    fn ocr_line(id: &str, text: &str, x: i32, y: i32, words: &[(&str, i32, u32)]) -> LayoutNode {
        let mut node = n(id, "label", text, Rect::new(x, y, 400, 20), vec![]);
        node.source = NodeSource::Ocr;
        node.words = words
            .iter()
            .map(|(w, wx, ww)| crate::layout::WordBox {
                text: (*w).into(),
                bounds: Rect::new(*wx, y, *ww, 20),
            })
            .collect();
        node
    }

    #[test]
    fn a_word_inside_a_line_is_aimed_at_and_vision_names_lose_their_frames() {
        let mut t = tree();
        let words = [
            ("the", 100, 30),
            ("quick", 135, 45),
            ("brown", 185, 50),
            ("fox,", 240, 35),
        ];
        t.root.children[0]
            .children
            .push(ocr_line("o1", "the quick brown fox,", 100, 300, &words));
        let (node, aim) = ground_aim(&t, "'brown'").unwrap();
        assert_eq!(node.id.0, "o1");
        assert_eq!(aim, Some(crate::geometry::Point::new(210.0, 310.0)));
        // Punctuation stuck to a word does not hide it; two words are one span.
        let (_, aim) = ground_aim(&t, "'brown fox'").unwrap();
        assert_eq!(aim, Some(crate::geometry::Point::new(230.0, 310.0)));
        // The whole line is aimed at its centre, like any element.
        assert_eq!(ground_aim(&t, "'the quick brown fox,'").unwrap().1, None);
        // The same word twice in one text is refused.
        t.root.children[0].children.push(ocr_line(
            "o2",
            "red red",
            100,
            350,
            &[("red", 100, 30), ("red", 140, 30)],
        ));
        assert!(matches!(
            ground_aim(&t, "'red'"),
            Err(ActionError::Ambiguous { .. })
        ));
        // "[report.txt]": the selection frame OCR read around a file name.
        let mut framed = n(
            "s1",
            "control",
            "[report.txt]",
            Rect::new(300, 200, 80, 20),
            vec![],
        );
        framed.source = NodeSource::Segmentation;
        t.root.children[0].children.push(framed);
        assert_eq!(ground(&t, "the file report.txt").unwrap().id.0, "s1");
        assert_eq!(ground(&t, "'report.txt'").unwrap().id.0, "s1");
    }

    #[test]
    fn nothing_found_lists_the_nearest_with_ids() {
        let t = tree();
        let err = ground(&t, "'Opem'").unwrap_err().to_string();
        assert!(
            err.contains("nearest on screen:") && err.contains("\"Open…\" (i2)"),
            "{err}"
        );
        let err = ground(&t, "'Zebra crossing'").unwrap_err().to_string();
        assert!(!err.contains("nearest"), "{err}");
    }
}
