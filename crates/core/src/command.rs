//! The small command language of `deskhand do`: `click 'File'`, `type 'hi'`, `key ctrl+s`.
//! A command names its targets by label; resolving it against a layout tree turns it into an
//! [`Action`] that targets node ids.

use crate::action::{Action, MouseButton, ScrollAmount, Target};
use crate::cell::{cell_point, CellAddress};
use crate::error::ActionError;
use crate::geometry::Point;
use crate::grounding::{ground_description, Description};
use crate::input::KeyChord;
use crate::layout::{LayoutTree, NodeId};

/// A cell's point as a target, in desktop coordinates.
fn cell_target(tree: &LayoutTree, cell: &CellAddress) -> Result<Target, ActionError> {
    let p = cell_point(tree, cell)?;
    Ok(Target::desktop(p.x, p.y))
}

/// What a command points at before it is resolved.
#[derive(Debug, Clone, PartialEq)]
pub enum TargetQuery {
    /// An element by its label, optionally restricted to a role.
    Label {
        /// The label.
        name: String,
        /// The role, e.g. "push button".
        role: Option<String>,
    },
    /// A desktop point.
    At(Point),
    /// A node id as `deskhand look` printed it (`o4`, `a12`): the same element while it
    /// is on screen, an error once it is gone.
    Node(NodeId),
    /// A description grounded against the tree: "the Save button", "second item in the
    /// File menu", "the button right of 'Open'" (see [`crate::grounding`]).
    Description(String),
}

/// A parsed command.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// An action on one target.
    Pointer {
        /// The verb.
        verb: PointerVerb,
        /// The target.
        target: TargetQuery,
        /// Modifier keys held during a click (`ctrl+click 'a.txt'`).
        modifiers: Option<KeyChord>,
    },
    /// Scroll over a target.
    Scroll {
        /// The target.
        target: TargetQuery,
        /// How far.
        amount: ScrollAmount,
    },
    /// Drag from one target to another.
    Drag {
        /// Start.
        from: TargetQuery,
        /// End.
        to: TargetQuery,
    },
    /// An action without a target.
    Direct(Action),
}

/// The pointer verbs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PointerVerb {
    /// Left click.
    Click,
    /// Double click.
    DoubleClick,
    /// Triple click.
    TripleClick,
    /// Right click.
    RightClick,
    /// Middle click.
    MiddleClick,
    /// Hover.
    Hover,
}

fn malformed(msg: impl Into<String>) -> ActionError {
    ActionError::Malformed(msg.into())
}

/// Splits a command into words, keeping quoted strings (single, double or typographic
/// quotes) whole and expanding `\n`, `\t`, `\\` and escaped quotes inside them. Quoted words
/// are marked.
pub(crate) fn tokenize(text: &str) -> Result<Vec<(String, bool)>, ActionError> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
            continue;
        }
        let close = match c {
            '\'' | '"' => Some(c),
            '‘' => Some('’'),
            '“' => Some('”'),
            _ => None,
        };
        if let Some(close) = close {
            chars.next();
            let mut word = String::new();
            let mut closed = false;
            while let Some(ch) = chars.next() {
                match ch {
                    '\\' => match chars.next() {
                        Some('n') => word.push('\n'),
                        Some('t') => word.push('\t'),
                        Some(other) => word.push(other),
                        None => return Err(malformed("command ends with a lone backslash")),
                    },
                    q if q == close => {
                        closed = true;
                        break;
                    }
                    other => word.push(other),
                }
            }
            if !closed {
                return Err(malformed(format!("unclosed quote {c} in {text:?}")));
            }
            out.push((word, true));
        } else {
            let mut word = String::new();
            while let Some(&ch) = chars.peek() {
                if ch.is_whitespace() {
                    break;
                }
                word.push(ch);
                chars.next();
            }
            out.push((word, false));
        }
    }
    Ok(out)
}

/// Parses a target from the remaining words: `'Save'`, `button 'Save'`, `640,400`.
fn parse_target(words: &[(String, bool)]) -> Result<TargetQuery, ActionError> {
    match words {
        [] => Err(malformed(
            "missing target: name it in quotes, e.g. click 'File'",
        )),
        [(w, false)] if is_node_id(w) => Ok(TargetQuery::Node(NodeId(w.clone()))),
        [(w, false)] if w.contains(',') => {
            let (x, y) = w.split_once(',').unwrap_or_default();
            let x: f64 = x
                .trim()
                .parse()
                .map_err(|_| malformed(format!("bad x in {w:?}")))?;
            let y: f64 = y
                .trim()
                .parse()
                .map_err(|_| malformed(format!("bad y in {w:?}")))?;
            Ok(TargetQuery::At(Point::new(x, y)))
        }
        [rest @ .., (name, true)] if rest.iter().all(|(w, quoted)| !quoted && is_role_word(w)) => {
            let role: Vec<&str> = rest.iter().map(|(w, _)| w.as_str()).collect();
            let role = role.join(" ").to_lowercase();
            Ok(TargetQuery::Label {
                name: name.clone(),
                role: (!role.is_empty()).then_some(role),
            })
        }
        // One unknown word before a quoted name is a mistyped role: say which ones exist.
        [(w, false), (_, true)] if !is_description_word(w) => Err(malformed(format!(
            "unknown role word {w:?}: use {}",
            ROLE_WORDS.join(", ")
        ))),
        _ => Ok(TargetQuery::Description(
            words
                .iter()
                .map(
                    |(w, quoted)| {
                        if *quoted {
                            format!("{w:?}")
                        } else {
                            w.clone()
                        }
                    },
                )
                .collect::<Vec<_>>()
                .join(" "),
        )),
    }
}

/// Role words that may stand before a quoted label: `button 'Save'`, `menu item 'New'`,
/// `file 'report.txt'`. They mean what the same words mean in a description (a button is a
/// push or toggle button, an item a menu, list or tree item, a checkbox an option).
pub const ROLE_WORDS: &[&str] = &[
    "button", "push", "toggle", "menu", "item", "field", "text", "textbox", "entry", "label",
    "check", "box", "checkbox", "option", "radio", "page", "tab", "link", "combo", "icon", "list",
    "cell", "file", "folder", "window", "dialog", "slider", "bar", "tool", "tree",
];

fn is_role_word(w: &str) -> bool {
    ROLE_WORDS.iter().any(|r| r.eq_ignore_ascii_case(w))
}

/// Words that start a description rather than name a role ("the", "first", "2nd").
fn is_description_word(w: &str) -> bool {
    let w = w.to_lowercase();
    let ordinal_number = ["st", "nd", "rd", "th"].iter().any(|s| {
        w.strip_suffix(s)
            .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
    });
    ordinal_number
        || [
            "the", "a", "an", "last", "first", "second", "third", "fourth", "fifth", "sixth",
            "seventh", "eighth", "ninth", "tenth",
        ]
        .contains(&w.as_str())
}

/// `o4`, `a12`, `w1`: a lower-case letter and a number, the form of the ids `look` prints.
fn is_node_id(w: &str) -> bool {
    let mut chars = w.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && w.len() > 1
        && chars.all(|c| c.is_ascii_digit())
}

/// Splits `ctrl+click` / `shift+double_click` into the modifier chord and the verb.
fn split_modifiers(verb: &str) -> Result<(Option<KeyChord>, String), ActionError> {
    let Some((mods, last)) = verb.rsplit_once('+') else {
        return Ok((None, verb.to_string()));
    };
    if !last.ends_with("click") {
        return Ok((None, verb.to_string()));
    }
    let chord = KeyChord::parse(mods).map_err(ActionError::Malformed)?;
    if !chord.keys().iter().all(crate::input::Key::is_modifier) {
        return Err(malformed(format!(
            "{mods:?} before {last} is not a modifier: use ctrl, shift, alt or super, e.g. ctrl+click 'a.txt'"
        )));
    }
    Ok((Some(chord), last.to_string()))
}

/// The verbs, for messages and `--help`.
pub const VERBS: &str = "click, double click, triple click, right click, middle click, ctrl+click (any modifiers), hover, type, key, hold, release, scroll, drag, wait, open or focus";

fn quoted_arg(verb: &str, words: &[(String, bool)]) -> Result<String, ActionError> {
    match words {
        [(text, true)] => Ok(text.clone()),
        _ => Err(malformed(format!(
            "{verb} takes one quoted argument, e.g. {verb} 'hello'"
        ))),
    }
}

impl Command {
    /// Parses a command line.
    pub fn parse(text: &str) -> Result<Command, ActionError> {
        let words = tokenize(text)?;
        let Some(((verb, _), rest)) = words.split_first() else {
            return Err(malformed("empty command"));
        };
        let (modifiers, verb) = split_modifiers(&verb.to_lowercase())?;
        let (verb, rest) = match (verb.as_str(), rest.first()) {
            ("double" | "triple" | "right" | "middle", Some((w, false)))
                if w.eq_ignore_ascii_case("click") =>
            {
                (format!("{verb}_click"), &rest[1..])
            }
            _ => (verb, rest),
        };
        if modifiers.is_some() && verb != "click" {
            return Err(malformed(format!(
                "modifiers go with click only (ctrl+click, shift+click), not with {verb}"
            )));
        }
        let pointer = |v: PointerVerb| -> Result<Command, ActionError> {
            Ok(Command::Pointer {
                verb: v,
                target: parse_target(rest)?,
                modifiers: modifiers.clone(),
            })
        };
        let chord_arg = |verb: &str| -> Result<KeyChord, ActionError> {
            match rest {
                [(c, _)] => KeyChord::parse(c).map_err(ActionError::Malformed),
                _ => Err(malformed(format!(
                    "{verb} takes one chord, e.g. {verb} shift"
                ))),
            }
        };
        match verb.as_str() {
            "click" => pointer(PointerVerb::Click),
            "double_click" | "doubleclick" => pointer(PointerVerb::DoubleClick),
            "triple_click" => pointer(PointerVerb::TripleClick),
            "right_click" | "rightclick" => pointer(PointerVerb::RightClick),
            "middle_click" => pointer(PointerVerb::MiddleClick),
            "hover" => pointer(PointerVerb::Hover),
            "type" => Ok(Command::Direct(Action::Type {
                text: quoted_arg("type", rest)?,
            })),
            "key" | "press" => {
                let chord = match rest {
                    [(c, _)] => KeyChord::parse(c).map_err(ActionError::Malformed)?,
                    _ => return Err(malformed("key takes one chord, e.g. key ctrl+s")),
                };
                Ok(Command::Direct(Action::Key { chord }))
            }
            "scroll" => {
                let ((dir, _), target) = rest
                    .split_first()
                    .ok_or_else(|| malformed("scroll up|down|left|right N 'target'"))?;
                let (n, target) = match target.split_first() {
                    Some(((n, false), t)) if n.parse::<i32>().is_ok() => {
                        (n.parse::<i32>().unwrap_or(1), t)
                    }
                    _ => (3, target),
                };
                let amount = match dir.as_str() {
                    "down" => ScrollAmount { dx: 0, dy: n },
                    "up" => ScrollAmount { dx: 0, dy: -n },
                    "right" => ScrollAmount { dx: n, dy: 0 },
                    "left" => ScrollAmount { dx: -n, dy: 0 },
                    other => {
                        return Err(malformed(format!(
                            "scroll direction {other:?}: use up, down, left or right"
                        )))
                    }
                };
                Ok(Command::Scroll {
                    target: parse_target(target)?,
                    amount,
                })
            }
            "drag" => {
                let to_at = rest
                    .iter()
                    .position(|(w, q)| !q && w == "to")
                    .ok_or_else(|| malformed("drag 'from' to 'to'"))?;
                Ok(Command::Drag {
                    from: parse_target(&rest[..to_at])?,
                    to: parse_target(&rest[to_at + 1..])?,
                })
            }
            "wait" => match rest {
                [(ms, false)] => {
                    let ms = ms
                        .trim_end_matches("ms")
                        .parse()
                        .map_err(|_| malformed(format!("wait takes milliseconds, got {ms:?}")))?;
                    Ok(Command::Direct(Action::Wait { ms }))
                }
                _ => Err(malformed("wait takes milliseconds, e.g. wait 500")),
            },
            "open" => match rest {
                [(name, _)] => Ok(Command::Direct(Action::OpenApp { name: name.clone() })),
                _ => Err(malformed("open takes one application name")),
            },
            "focus" => Ok(Command::Direct(Action::FocusWindow {
                title: quoted_arg("focus", rest)?,
            })),
            "hold" => Ok(Command::Direct(Action::Hold {
                chord: chord_arg("hold")?,
            })),
            "release" => Ok(Command::Direct(Action::Release {
                chord: chord_arg("release")?,
            })),
            other => Err(malformed(format!("unknown verb {other:?}: use {VERBS}"))),
        }
    }

    /// Resolves label targets against a layout tree, giving an action on node ids (or on a
    /// point, for a spreadsheet cell by address). Labels and descriptions share one
    /// grounding: exact name > case-insensitive > normalised > word prefix > whole words
    /// contained, interactive first, ties refused with the candidates listed.
    pub fn resolve(&self, tree: &LayoutTree) -> Result<Action, ActionError> {
        let target = |q: &TargetQuery| -> Result<Target, ActionError> {
            match q {
                TargetQuery::At(p) => Ok(Target::desktop(p.x, p.y)),
                TargetQuery::Node(id) => match tree.get(id) {
                    Some(_) => Ok(Target::Node { id: id.clone() }),
                    None => Err(ActionError::UnknownNode(id.0.clone())),
                },
                TargetQuery::Label { name, role } => {
                    if let Some(cell) = role
                        .as_deref()
                        .filter(|r| *r == "cell")
                        .and_then(|_| CellAddress::parse(name))
                    {
                        return cell_target(tree, &cell);
                    }
                    if name.is_empty() {
                        // `click text ''`: the one unnamed element of exactly that role.
                        let role = role.as_deref().map(|r| match r {
                            "button" => "push button",
                            "field" | "textbox" | "text field" => "text",
                            other => other,
                        });
                        return Ok(Target::Node {
                            id: tree.find_unique(name, role)?.id.clone(),
                        });
                    }
                    let d = Description {
                        name: Some(name.clone()),
                        kind: role.clone(),
                        ..Description::default()
                    };
                    let node = ground_description(tree, &d)?;
                    Ok(match crate::grounding::word_aim(node, name)? {
                        Some(p) => Target::desktop(p.x, p.y),
                        None => Target::Node {
                            id: node.id.clone(),
                        },
                    })
                }
                TargetQuery::Description(text) => {
                    if let Some(cell) = Description::parse(text)
                        .ok()
                        .filter(|d| d.kind.as_deref() == Some("cell") && d.relation.is_none())
                        .and_then(|d| d.name.as_deref().and_then(CellAddress::parse))
                    {
                        return cell_target(tree, &cell);
                    }
                    let (node, aim) = crate::grounding::ground_aim(tree, text)?;
                    Ok(match aim {
                        Some(p) => Target::desktop(p.x, p.y),
                        None => Target::Node {
                            id: node.id.clone(),
                        },
                    })
                }
            }
        };
        let action = match self {
            Command::Pointer {
                verb,
                target: q,
                modifiers,
            } => {
                let t = target(q)?;
                match verb {
                    PointerVerb::Click => Action::Click {
                        target: t,
                        button: MouseButton::Left,
                        modifiers: modifiers.clone(),
                    },
                    PointerVerb::MiddleClick => Action::Click {
                        target: t,
                        button: MouseButton::Middle,
                        modifiers: None,
                    },
                    PointerVerb::DoubleClick => Action::DoubleClick { target: t },
                    PointerVerb::TripleClick => Action::TripleClick { target: t },
                    PointerVerb::RightClick => Action::RightClick { target: t },
                    PointerVerb::Hover => Action::Hover { target: t },
                }
            }
            Command::Scroll { target: q, amount } => Action::Scroll {
                target: target(q)?,
                amount: *amount,
            },
            Command::Drag { from, to } => Action::Drag {
                from: target(from)?,
                to: target(to)?,
            },
            Command::Direct(a) => a.clone(),
        };
        action.validate()?;
        Ok(action)
    }

    /// True when resolving needs a layout tree.
    pub fn needs_tree(&self) -> bool {
        let label = |q: &TargetQuery| !matches!(q, TargetQuery::At(_));
        match self {
            Command::Pointer { target, .. } | Command::Scroll { target, .. } => label(target),
            Command::Drag { from, to } => label(from) || label(to),
            Command::Direct(_) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_forms() {
        assert_eq!(
            Command::parse("click 'File'").unwrap(),
            Command::Pointer {
                verb: PointerVerb::Click,
                target: TargetQuery::Label {
                    name: "File".into(),
                    role: None
                },
                modifiers: None,
            }
        );
        assert_eq!(
            Command::parse("double click button \"Don't save\"").unwrap(),
            Command::Pointer {
                verb: PointerVerb::DoubleClick,
                target: TargetQuery::Label {
                    name: "Don't save".into(),
                    role: Some("button".into())
                },
                modifiers: None,
            }
        );
        assert_eq!(
            Command::parse("type 'a\\nb'").unwrap(),
            Command::Direct(Action::Type {
                text: "a\nb".into()
            })
        );
        assert!(matches!(
            Command::parse("key ctrl+s").unwrap(),
            Command::Direct(Action::Key { .. })
        ));
        assert_eq!(
            Command::parse("click 10,20").unwrap(),
            Command::Pointer {
                verb: PointerVerb::Click,
                target: TargetQuery::At(Point::new(10.0, 20.0)),
                modifiers: None,
            }
        );
        assert!(matches!(
            Command::parse("scroll down 5 'Text'").unwrap(),
            Command::Scroll {
                amount: ScrollAmount { dx: 0, dy: 5 },
                ..
            }
        ));
        assert!(matches!(
            Command::parse("drag 1,1 to 'Bin'").unwrap(),
            Command::Drag { .. }
        ));
    }

    #[test]
    fn unquoted_targets_are_descriptions_grounded_at_resolve_time() {
        assert_eq!(
            Command::parse("click the button right of 'Open'").unwrap(),
            Command::Pointer {
                verb: PointerVerb::Click,
                target: TargetQuery::Description("the button right of \"Open\"".into()),
                modifiers: None,
            }
        );
        let empty = LayoutTree {
            root: crate::layout::LayoutNode::new("s", "screen", crate::layout::NodeSource::Display),
        };
        let err = Command::parse("click the")
            .unwrap()
            .resolve(&empty)
            .unwrap_err();
        assert!(
            err.to_string().contains("cannot tell what to look for"),
            "{err}"
        );
        let err = Command::parse("click the Save button")
            .unwrap()
            .resolve(&empty)
            .unwrap_err();
        assert!(matches!(err, ActionError::NotFound(_)), "{err}");
    }

    #[test]
    fn typos_get_errors_that_say_what_to_write() {
        for (bad, hint) in [
            ("", "empty command"),
            ("clik 'File'", "unknown verb"),
            ("click 'File", "unclosed quote"),
            ("type hi", "quoted argument"),
            ("key ctrl+", "empty part"),
            ("key ctrl+foo", "unknown key"),
            ("wait soon", "milliseconds"),
            ("scroll sideways 'x'", "direction"),
            ("click 1,y", "bad y"),
        ] {
            let err = Command::parse(bad).unwrap_err().to_string();
            assert!(err.contains(hint), "{bad:?}: {err}");
        }
        assert!(Command::parse("type ''")
            .unwrap()
            .resolve(&LayoutTree {
                root: crate::layout::LayoutNode::new(
                    "s",
                    "screen",
                    crate::layout::NodeSource::Display
                )
            })
            .is_err());
    }
}
