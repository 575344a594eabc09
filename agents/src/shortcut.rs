//! Shortcuts as commands: filling in arguments, checking a learned shortcut's steps, and
//! writing an executed action as the `deskhand do` command that would find it again.

use std::collections::BTreeMap;

use deskhand_core::{Action, LayoutTree, Shortcut, Target};

/// Escapes a value for a quoted command argument.
fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            other => out.push(other),
        }
    }
    out
}

/// The shortcut's steps with `{param}` replaced by the (escaped) arguments.
pub fn fill(shortcut: &Shortcut, args: &BTreeMap<String, String>) -> Result<Vec<String>, String> {
    shortcut
        .steps
        .iter()
        .map(|step| {
            let mut out = String::new();
            let mut rest = step.as_str();
            while let Some(open) = rest.find('{') {
                out.push_str(&rest[..open]);
                let after = &rest[open + 1..];
                match after.find('}') {
                    Some(close) if is_param_name(&after[..close]) => {
                        let name = &after[..close];
                        let value = args.get(name).ok_or_else(|| {
                            format!("step {step:?} uses {{{name}}}, which has no argument")
                        })?;
                        out.push_str(&escape(value));
                        rest = &after[close + 1..];
                    }
                    _ => {
                        out.push('{');
                        rest = after;
                    }
                }
            }
            out.push_str(rest);
            Ok(out)
        })
        .collect()
}

fn is_param_name(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Checks a proposed shortcut before it is stored, by the one rule set
/// ([`Shortcut::check`]) the memory applies too.
pub fn check(shortcut: &Shortcut) -> Result<(), String> {
    shortcut.check()
}

/// Role words the command language accepts before a label, for a node's role.
fn role_words(role: &str) -> Option<&'static str> {
    Some(match role {
        "push button" | "button" => "button",
        "toggle button" => "toggle button",
        "menu item" => "menu item",
        "menu" => "menu",
        "check box" => "check box",
        "radio button" => "radio button",
        "page tab" => "page tab",
        "text" | "entry" => "field",
        "link" => "link",
        "combo box" => "combo box",
        "icon" => "icon",
        _ => return None,
    })
}

/// The `deskhand do` command for an executed action, naming its target by label so that a
/// shortcut finds it again on another screen; none when the action cannot be written so
/// (an unnamed or point target).
pub fn as_command(action: &Action, tree: &LayoutTree) -> Option<String> {
    let label = |t: &Target| -> Option<String> {
        let Target::Node { id } = t else {
            return None;
        };
        let node = tree.get(id)?;
        let name = node.name.trim();
        if name.is_empty() {
            return None;
        }
        Some(match role_words(&node.role) {
            Some(role) => format!("{role} '{}'", escape(name)),
            None => format!("'{}'", escape(name)),
        })
    };
    Some(match action {
        Action::Click {
            target,
            button,
            modifiers,
        } => {
            let verb = match button {
                deskhand_core::MouseButton::Left => "click",
                deskhand_core::MouseButton::Right => "right_click",
                deskhand_core::MouseButton::Middle => "middle_click",
            };
            match modifiers {
                Some(m) => format!("{m}+{verb} {}", label(target)?),
                None => format!("{verb} {}", label(target)?),
            }
        }
        Action::DoubleClick { target } => format!("double_click {}", label(target)?),
        Action::TripleClick { target } => format!("triple_click {}", label(target)?),
        Action::RightClick { target } => format!("right_click {}", label(target)?),
        Action::Hover { target } => format!("hover {}", label(target)?),
        Action::Type { text } => format!("type \"{}\"", escape(text)),
        Action::Key { chord } => format!("key {chord}"),
        Action::Wait { ms } => format!("wait {ms}"),
        Action::OpenApp { name } => format!("open {name}"),
        Action::FocusWindow { title } => format!("focus '{}'", escape(title)),
        Action::Scroll { target, amount } => {
            let (dir, n) = match (amount.dx, amount.dy) {
                (0, dy) if dy > 0 => ("down", dy),
                (0, dy) => ("up", -dy),
                (dx, _) if dx > 0 => ("right", dx),
                (dx, _) => ("left", -dx),
            };
            format!("scroll {dir} {n} {}", label(target)?)
        }
        Action::Drag { from, to } => format!("drag {} to {}", label(from)?, label(to)?),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use deskhand_core::command::Command;
    use deskhand_core::ShortcutParam;

    fn save_as() -> Shortcut {
        Shortcut {
            id: 0,
            name: "save_as".into(),
            app: "mousepad".into(),
            description: "Save under a new name".into(),
            parameters: vec![ShortcutParam {
                name: "filename".into(),
                description: "file name".into(),
            }],
            precondition: "a document is open".into(),
            requires: None,
            steps: vec![
                "key ctrl+shift+s".into(),
                "type \"{filename}\"".into(),
                "key Return".into(),
            ],
            source_run: None,
            uses: 0,
            successes: 0,
        }
    }

    #[test]
    fn arguments_are_escaped_into_the_quoted_step() {
        let mut args = BTreeMap::new();
        args.insert("filename".to_string(), "a \"b\" c.txt".to_string());
        let steps = fill(&save_as(), &args).unwrap();
        assert_eq!(steps[1], "type \"a \\\"b\\\" c.txt\"");
        match Command::parse(&steps[1]).unwrap() {
            Command::Direct(Action::Type { text }) => assert_eq!(text, "a \"b\" c.txt"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_learned_shortcut_is_checked_before_it_is_kept() {
        assert!(check(&save_as()).is_ok());
        let mut unused = save_as();
        unused.steps[1] = "type 'x'".into();
        assert!(check(&unused)
            .unwrap_err()
            .contains("declared but no step uses"));
        let mut undeclared = save_as();
        undeclared.steps.push("type '{other}'".into());
        assert!(check(&undeclared)
            .unwrap_err()
            .contains("{other} is used in the steps but not declared"));
        let mut bad = save_as();
        bad.steps.push("explode 'x'".into());
        assert!(check(&bad).is_err());
        let mut name = save_as();
        name.name = "Save As".into();
        assert!(check(&name).unwrap_err().contains("snake_case"));
    }
}
