//! Keys, chords and the primitive input events an `Input` adapter injects.

use serde::{Deserialize, Serialize};

use crate::action::MouseButton;

/// A key on the keyboard, by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Key {
    /// Control.
    Ctrl,
    /// Shift.
    Shift,
    /// Alt.
    Alt,
    /// Super / Windows / Meta.
    Super,
    /// Return / Enter.
    Return,
    /// Escape.
    Escape,
    /// Tab.
    Tab,
    /// Backspace.
    Backspace,
    /// Delete.
    Delete,
    /// Home.
    Home,
    /// End.
    End,
    /// Page up.
    PageUp,
    /// Page down.
    PageDown,
    /// Arrow up.
    Up,
    /// Arrow down.
    Down,
    /// Arrow left.
    Left,
    /// Arrow right.
    Right,
    /// Insert.
    Insert,
    /// Space bar.
    Space,
    /// Context menu key.
    Menu,
    /// Function key F1..F24.
    F(u8),
    /// A printable character key.
    Char(char),
}

impl Key {
    /// True for modifier keys.
    pub fn is_modifier(&self) -> bool {
        matches!(self, Key::Ctrl | Key::Shift | Key::Alt | Key::Super)
    }

    /// Parses one key name, case-insensitively for named keys ("Return", "ctrl", "F5", "a").
    pub fn parse(name: &str) -> Result<Key, String> {
        let lower = name.to_ascii_lowercase();
        let key = match lower.as_str() {
            "ctrl" | "control" | "control_l" | "ctrl_l" => Key::Ctrl,
            "shift" | "shift_l" => Key::Shift,
            "alt" | "alt_l" | "option" => Key::Alt,
            "super" | "win" | "meta" | "cmd" | "super_l" => Key::Super,
            "return" | "enter" | "kp_enter" => Key::Return,
            "escape" | "esc" => Key::Escape,
            "tab" => Key::Tab,
            "backspace" | "back_space" => Key::Backspace,
            "delete" | "del" => Key::Delete,
            "home" => Key::Home,
            "end" => Key::End,
            "pageup" | "page_up" | "prior" => Key::PageUp,
            "pagedown" | "page_down" | "next" => Key::PageDown,
            "up" => Key::Up,
            "down" => Key::Down,
            "left" => Key::Left,
            "right" => Key::Right,
            "insert" | "ins" => Key::Insert,
            "space" => Key::Space,
            "menu" => Key::Menu,
            "plus" => Key::Char('+'),
            "minus" => Key::Char('-'),
            _ => {
                let mut chars = name.chars();
                match (chars.next(), chars.next()) {
                    (Some(c), None) if !c.is_whitespace() && !c.is_control() => Key::Char(c),
                    _ => {
                        let n = lower
                            .strip_prefix('f')
                            .and_then(|d| d.parse::<u8>().ok())
                            .filter(|n| (1..=24).contains(n));
                        match n {
                            Some(n) => Key::F(n),
                            None => return Err(format!("unknown key name {name:?}")),
                        }
                    }
                }
            }
        };
        Ok(key)
    }

    /// The canonical name used when printing chords.
    pub fn name(&self) -> String {
        match self {
            Key::Ctrl => "ctrl".into(),
            Key::Shift => "shift".into(),
            Key::Alt => "alt".into(),
            Key::Super => "super".into(),
            Key::Return => "Return".into(),
            Key::Escape => "Escape".into(),
            Key::Tab => "Tab".into(),
            Key::Backspace => "BackSpace".into(),
            Key::Delete => "Delete".into(),
            Key::Home => "Home".into(),
            Key::End => "End".into(),
            Key::PageUp => "Page_Up".into(),
            Key::PageDown => "Page_Down".into(),
            Key::Up => "Up".into(),
            Key::Down => "Down".into(),
            Key::Left => "Left".into(),
            Key::Right => "Right".into(),
            Key::Insert => "Insert".into(),
            Key::Space => "space".into(),
            Key::Menu => "Menu".into(),
            Key::F(n) => format!("F{n}"),
            Key::Char('+') => "plus".into(),
            Key::Char(c) => c.to_string(),
        }
    }
}

/// Keys pressed together, modifiers first: "ctrl+shift+s", "alt+F4", "Return".
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct KeyChord {
    keys: Vec<Key>,
}

impl KeyChord {
    /// Parses a chord; every part must be a known key and the chord must not be empty.
    pub fn parse(text: &str) -> Result<KeyChord, String> {
        let text = text.trim();
        if text.is_empty() {
            return Err("empty key chord".into());
        }
        // "ctrl++" means ctrl and the plus key.
        let normalised = text.strip_suffix("++").map(|head| format!("{head}+plus"));
        let source = normalised.as_deref().unwrap_or(text);
        let mut keys = Vec::new();
        for part in source.split('+') {
            let part = part.trim();
            if part.is_empty() {
                return Err(format!("key chord {text:?} has an empty part"));
            }
            let key = Key::parse(part).map_err(|e| format!("in key chord {text:?}: {e}"))?;
            if keys.contains(&key) {
                return Err(format!("key chord {text:?} names {} twice", key.name()));
            }
            keys.push(key);
        }
        Ok(KeyChord { keys })
    }

    /// The keys in press order.
    pub fn keys(&self) -> &[Key] {
        &self.keys
    }
}

impl std::fmt::Display for KeyChord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<String> = self.keys.iter().map(Key::name).collect();
        f.write_str(&names.join("+"))
    }
}

impl TryFrom<String> for KeyChord {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        KeyChord::parse(&value)
    }
}

impl From<KeyChord> for String {
    fn from(value: KeyChord) -> Self {
        value.to_string()
    }
}

/// Whether a key or button goes down, up, or both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Press {
    /// Goes down and stays down.
    Down,
    /// Comes up.
    Up,
    /// Down then up.
    Click,
}

/// One primitive input event, in desktop coordinates, ready to inject.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "event")]
pub enum InputEvent {
    /// Move the pointer to an absolute desktop position.
    MoveTo {
        /// Desktop x.
        x: i32,
        /// Desktop y.
        y: i32,
    },
    /// Press or release a mouse button.
    Button {
        /// Which button.
        button: MouseButton,
        /// Down, up or click.
        press: Press,
    },
    /// Turn the wheel (notches; positive is down / right).
    Scroll {
        /// Horizontal notches.
        dx: i32,
        /// Vertical notches.
        dy: i32,
    },
    /// Press or release a key.
    Key {
        /// Which key.
        key: Key,
        /// Down, up or click.
        press: Press,
    },
    /// Type text as key events.
    Text {
        /// The text.
        text: String,
    },
    /// Wait between two events, so that a toolkit sees paced motion (a drag it accepts).
    Pause {
        /// Milliseconds.
        ms: u32,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chords_parse_and_print_canonically() {
        let c = KeyChord::parse("Ctrl+Shift+s").unwrap();
        assert_eq!(c.keys(), &[Key::Ctrl, Key::Shift, Key::Char('s')]);
        assert_eq!(c.to_string(), "ctrl+shift+s");
        assert_eq!(
            KeyChord::parse("alt+F4").unwrap().keys(),
            &[Key::Alt, Key::F(4)]
        );
        assert_eq!(
            KeyChord::parse("ctrl++").unwrap().keys(),
            &[Key::Ctrl, Key::Char('+')]
        );
        assert_eq!(KeyChord::parse("Return").unwrap().to_string(), "Return");
    }

    #[test]
    fn bad_chords_say_what_is_wrong() {
        assert_eq!(KeyChord::parse("  ").unwrap_err(), "empty key chord");
        assert!(KeyChord::parse("ctrl+").unwrap_err().contains("empty part"));
        assert!(KeyChord::parse("ctrl+hyper")
            .unwrap_err()
            .contains("unknown key name \"hyper\""));
        assert!(KeyChord::parse("F25").unwrap_err().contains("unknown key"));
        assert!(KeyChord::parse("ctrl+ctrl").unwrap_err().contains("twice"));
    }
}
