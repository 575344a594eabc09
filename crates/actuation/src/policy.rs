//! The policy every action passes before it runs: allow it, ask the user, or refuse it.
//!
//! A policy is the user's rules from a TOML file, then built-in safe defaults, then a default
//! verdict; the first rule that matches decides. Actions are judged before secrets are
//! resolved, so typed text here holds `{{secret:NAME}}` placeholders, never values.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use deskhand_core::{Action, Key, KeyChord, MouseButton, Target};
use regex::Regex;
use serde::Deserialize;

use crate::secrets::{only_placeholders, SecretStore};

// The verdict, the context and the decision are the `ActionGate` port's types, so the agent
// runtime can ask the policy without depending on this crate.
pub use deskhand_core::ports::{GateContext as ActionContext, GateDecision as Decision, Verdict};

fn parse_verdict(s: &str) -> Option<Verdict> {
    match s {
        "allow" => Some(Verdict::Allow),
        "confirm" => Some(Verdict::Confirm),
        "deny" => Some(Verdict::Deny),
        _ => None,
    }
}

/// A policy file that cannot be used. There is no fallback: the caller must not run actions.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// The file cannot be read.
    #[error("cannot read policy file {}: {source}", .path.display())]
    Read {
        /// The policy file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not valid TOML or has an unknown key or a wrongly typed value.
    #[error("policy {origin}, line {line}: {message}")]
    Parse {
        /// Where the text came from.
        origin: String,
        /// 1-based line.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// A rule is well-formed TOML but cannot be used (bad regex, verdict or action kind).
    #[error("policy {origin}, line {line}: rule {rule:?}: {message}")]
    InvalidRule {
        /// Where the text came from.
        origin: String,
        /// The rule's name, or "rule N" when it has none.
        rule: String,
        /// 1-based line of the rule's `[[rule]]` header.
        line: usize,
        /// What is wrong.
        message: String,
    },
}

/// User rules, then the built-in rules, then a default verdict.
#[derive(Debug, Clone)]
pub struct Policy {
    rules: Vec<Rule>,
    default: Verdict,
}

impl Default for Policy {
    fn default() -> Self {
        Self::builtin()
    }
}

impl Policy {
    /// Only the built-in rules; anything they do not catch is allowed.
    pub fn builtin() -> Policy {
        Policy {
            rules: Vec::new(),
            default: Verdict::Allow,
        }
    }

    /// Parses a policy file's text; `origin` names it in errors.
    pub fn from_toml(text: &str, origin: &str) -> Result<Policy, PolicyError> {
        let raw: RawPolicy = toml::from_str(text).map_err(|e| {
            let (line, column) = position(text, e.span().map_or(0, |s| s.start));
            PolicyError::Parse {
                origin: origin.to_string(),
                line,
                message: format!("column {column}: {}", e.message().replace('\n', "; ")),
            }
        })?;
        let rules = raw
            .rule
            .into_iter()
            .enumerate()
            .map(|(i, spanned)| {
                let line = position(text, spanned.span().start).0;
                Rule::compile(spanned.into_inner(), i + 1).map_err(|(rule, message)| {
                    PolicyError::InvalidRule {
                        origin: origin.to_string(),
                        rule,
                        line,
                        message,
                    }
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(Policy {
            rules,
            default: raw.default.unwrap_or(Verdict::Allow),
        })
    }

    /// Reads and parses a policy file.
    pub fn load(path: &Path) -> Result<Policy, PolicyError> {
        let text = std::fs::read_to_string(path).map_err(|source| PolicyError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_toml(&text, &path.display().to_string())
    }

    /// Decides on one action: the first user rule that matches, else the first built-in
    /// rule, else the default.
    pub fn evaluate(&self, ctx: &ActionContext) -> Decision {
        let text = action_text(ctx.action);
        let shown = show(ctx);
        if let Some(rule) = self.rules.iter().find(|r| r.matches(ctx, text.as_deref())) {
            return Decision {
                verdict: rule.verdict,
                rule: rule.name.clone(),
                reason: rule.reason.clone(),
                shown,
            };
        }
        if let Some((name, verdict, reason)) = builtin(ctx) {
            return Decision {
                verdict,
                rule: format!("builtin:{name}"),
                reason,
                shown,
            };
        }
        Decision {
            verdict: self.default,
            rule: "default".into(),
            reason: "no rule matched".into(),
            shown,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    default: Option<Verdict>,
    #[serde(default)]
    rule: Vec<toml::Spanned<RawRule>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    name: Option<String>,
    app: Option<String>,
    app_regex: Option<String>,
    window_title: Option<String>,
    action: Option<Vec<String>>,
    target_label: Option<String>,
    target_role: Option<String>,
    text: Option<String>,
    // Strings, not `Verdict`, so a bad value is reported with the rule's name.
    verdict: Option<String>,
    reason: Option<String>,
}

#[derive(Debug, Clone)]
enum AppMatcher {
    Exact(String),
    Pattern(Regex),
}

#[derive(Debug, Clone)]
struct Rule {
    name: String,
    app: Option<AppMatcher>,
    window_title: Option<Regex>,
    actions: Vec<String>,
    target_label: Option<Regex>,
    target_role: Option<String>,
    text: Option<Regex>,
    verdict: Verdict,
    reason: String,
}

/// Every value of [`Action::kind`].
const ACTION_KINDS: &[&str] = &[
    "click",
    "double_click",
    "right_click",
    "drag",
    "scroll",
    "hover",
    "type",
    "key",
    "hold",
    "release",
    "open_app",
    "focus_window",
    "wait",
    "done",
    "fail",
    "ask_user",
];

impl Rule {
    /// Validates a raw rule; the error is (rule name, message).
    fn compile(raw: RawRule, index: usize) -> Result<Rule, (String, String)> {
        let name = raw
            .name
            .filter(|n| !n.trim().is_empty())
            .unwrap_or_else(|| format!("rule {index}"));
        let fail = |message: String| (name.clone(), message);
        let regex = |field: &str, pattern: Option<String>| {
            pattern
                .map(|p| Regex::new(&p))
                .transpose()
                .map_err(|e| fail(format!("{field}: invalid regex: {e}")))
        };
        let app = match (raw.app, raw.app_regex) {
            (Some(_), Some(_)) => return Err(fail("set app or app_regex, not both".into())),
            (Some(exact), None) => Some(AppMatcher::Exact(exact)),
            (None, pattern) => regex("app_regex", pattern)?.map(AppMatcher::Pattern),
        };
        let actions = raw.action.unwrap_or_default();
        if let Some(bad) = actions.iter().find(|k| !ACTION_KINDS.contains(&k.as_str())) {
            return Err(fail(format!(
                "unknown action kind {bad:?}; known kinds: {}",
                ACTION_KINDS.join(", ")
            )));
        }
        let verdict = match raw.verdict.as_deref() {
            Some(v) => parse_verdict(v).ok_or_else(|| {
                fail(format!(
                    "verdict {v:?} is not one of \"allow\", \"confirm\", \"deny\""
                ))
            })?,
            None => {
                return Err(fail(
                    "missing verdict (\"allow\", \"confirm\" or \"deny\")".into(),
                ))
            }
        };
        Ok(Rule {
            app,
            window_title: regex("window_title", raw.window_title)?,
            actions,
            target_label: regex("target_label", raw.target_label)?,
            target_role: raw.target_role,
            text: regex("text", raw.text)?,
            verdict,
            reason: raw
                .reason
                .unwrap_or_else(|| format!("policy rule {name:?}")),
            name,
        })
    }

    fn matches(&self, ctx: &ActionContext, text: Option<&str>) -> bool {
        let regex_hit = |re: &Option<Regex>, value: Option<&str>| {
            re.as_ref()
                .is_none_or(|re| value.is_some_and(|v| re.is_match(v)))
        };
        (self.actions.is_empty() || self.actions.iter().any(|k| k == ctx.action.kind()))
            && self.app.as_ref().is_none_or(|m| {
                ctx.app.is_some_and(|app| match m {
                    AppMatcher::Exact(want) => app.eq_ignore_ascii_case(want),
                    AppMatcher::Pattern(re) => re.is_match(app),
                })
            })
            && regex_hit(&self.window_title, ctx.window_title)
            && regex_hit(&self.target_label, ctx.target_label)
            && self.target_role.as_ref().is_none_or(|want| {
                ctx.target_role
                    .is_some_and(|role| role.trim().eq_ignore_ascii_case(want.trim()))
            })
            && regex_hit(&self.text, text)
    }
}

/// 1-based line and column (in characters) of a byte offset.
fn position(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset).unwrap_or(text);
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (
        before.matches('\n').count() + 1,
        before[line_start..].chars().count() + 1,
    )
}

/// The text a `text` pattern sees: typed text, or the chord in canonical form with letter
/// keys in lower case ("alt+F4", "ctrl+shift+w").
fn action_text(action: &Action) -> Option<String> {
    match action {
        Action::Type { text } => Some(text.clone()),
        Action::Key { chord } | Action::Hold { chord } | Action::Release { chord } => {
            let names: Vec<String> = chord.keys().iter().map(|k| fold_case(k).name()).collect();
            Some(names.join("+"))
        }
        _ => None,
    }
}

fn fold_case(key: &Key) -> Key {
    match key {
        Key::Char(c) => Key::Char(c.to_lowercase().next().unwrap_or(*c)),
        other => *other,
    }
}

type Pattern = LazyLock<Result<Regex, regex::Error>>;

// Built-in patterns are constants covered by tests; should one ever fail to compile, it
// matches everything, so the policy errs towards asking rather than allowing.
fn first_match<'t>(pattern: &Pattern, text: &'t str) -> Option<&'t str> {
    match &**pattern {
        Ok(re) => re.find(text).map(|m| m.as_str()),
        Err(_) => Some(text),
    }
}

static RISKY_LABEL: Pattern = LazyLock::new(|| {
    Regex::new(
        r"(?i)\b(?:delete|remove|erase|discard|destroy|wipe|purge|trash|send|pay|buy|purchase|place\s+order|order\s+now|check\s*out|submit|transfer|publish|uninstall|format\s+(?:disk|drive|volume|partition)|don'?t\s+save|without\s+saving)\b",
    )
});

static CLOSE_LABEL: Pattern = LazyLock::new(|| Regex::new(r"(?i)^\s*(?:close|quit|exit)\b"));

/// Title marks editors use for unsaved changes: "*notes.txt", "notes.txt*", "● notes.txt",
/// "[+]", "Unsaved Document 1", "(modified)".
static UNSAVED_TITLE: Pattern = LazyLock::new(|| {
    Regex::new(r"(?i)^\s*[*●•]|\*\s*(?:[-–—|:]|$)|\[\+\]|\b(?:modified|unsaved)\b")
});

/// A command that removes or overwrites files, in command position (line start, after
/// `;`, `&&`, `|`, `$(`, `sudo`, `xargs`, `-exec`, ...), optionally as `\rm` or `/bin/rm`.
static RISKY_COMMAND: Pattern = LazyLock::new(|| {
    Regex::new(concat!(
        r"(?m)(?:^|[;&|(`{]|\b(?:sudo|doas|xargs|exec|then|do|else|nohup|time|env|busybox|command)\b)",
        r"\s*(?:-\S*\s+)*(?:\\|[^\s;&|]*/)?",
        r"(?:(?:rm|rmdir|unlink|shred|srm|truncate|wipefs|mkfs(?:\.\w+)?|mkswap|fdisk|sfdisk|gdisk|parted|mv|cp|tee)(?:\s|$)",
        r"|dd\s[^\n;&|]*\bof=",
        r"|sed\s[^\n;&|]*\s(?:-i|--in-place)",
        r"|find\s[^\n;&|]*\s-delete\b",
        r"|rsync\s[^\n;&|]*\s--delete",
        r"|git\s+(?:clean|reset\s+--hard|checkout\s+--\s|restore\s|push\s[^\n;&|]*\s(?:-f\b|--force)))",
    ))
});

/// `> file` or `>| file` ending a command; `>>`, `2>&1`, `->`, `=>` and HTML tags are not.
static REDIRECT: Pattern =
    LazyLock::new(|| Regex::new(r"(?m)(?:^|[^<>=\-])>\|?[ \t]*([^\s;&|<>()]+)[ \t]*(?:$|[;&|])"));

fn overwriting_redirect(text: &str) -> Option<&str> {
    let Ok(re) = &*REDIRECT else {
        return Some(text);
    };
    re.captures_iter(text).find_map(|caps| {
        let target = caps.get(1)?.as_str();
        let harmless = matches!(
            target,
            "/dev/null" | "/dev/stdout" | "/dev/stderr" | "/dev/tty"
        ) || target.parse::<f64>().is_ok();
        (!harmless).then(|| caps.get(0).map_or(target, |m| m.as_str()))
    })
}

/// True when the chord is exactly `keys`, in any order, ignoring letter case.
fn chord_is(chord: &KeyChord, keys: &[Key]) -> bool {
    chord.keys().len() == keys.len() && chord.keys().iter().all(|k| keys.contains(&fold_case(k)))
}

fn is_close_chord(chord: &KeyChord) -> bool {
    use Key::{Alt, Char, Ctrl, Shift, F};
    [
        &[Alt, F(4)][..],
        &[Ctrl, F(4)],
        &[Ctrl, Char('w')],
        &[Ctrl, Char('q')],
        &[Ctrl, Shift, Char('w')],
        &[Ctrl, Shift, Char('q')],
    ]
    .iter()
    .any(|keys| chord_is(chord, keys))
}

/// The built-in safe defaults, strictest first: (name, verdict, reason).
fn builtin(ctx: &ActionContext) -> Option<(&'static str, Verdict, String)> {
    // Mnemonic underscores ("Move to _Trash") would hide words from `\b`.
    let label = ctx.target_label.unwrap_or("").replace('_', "");
    let label = label.as_str();
    let unsaved = ctx
        .window_title
        .is_some_and(|t| first_match(&UNSAVED_TITLE, t).is_some());
    let close_unsaved = || {
        Some((
            "close-unsaved",
            Verdict::Confirm,
            "the window has unsaved changes that closing may lose".to_string(),
        ))
    };
    match ctx.action {
        Action::Type { text } => builtin_typing(text, ctx.target_role),
        Action::Key { chord } if unsaved && is_close_chord(chord) => close_unsaved(),
        Action::Key { chord } if chord_is(chord, &[Key::Shift, Key::Delete]) => Some((
            "permanent-delete",
            Verdict::Confirm,
            "shift+Delete deletes without using the trash".into(),
        )),
        Action::Click { .. } | Action::DoubleClick { .. } | Action::TripleClick { .. }
            if unsaved && first_match(&CLOSE_LABEL, label).is_some() =>
        {
            close_unsaved()
        }
        Action::Click { .. } | Action::DoubleClick { .. } | Action::TripleClick { .. } => {
            let hit = first_match(&RISKY_LABEL, label)?;
            Some((
                "destructive-click",
                Verdict::Confirm,
                format!(
                    "\"{}\" may delete, send, buy or pay for something",
                    escape_visible(hit)
                ),
            ))
        }
        _ => None,
    }
}

fn builtin_typing(text: &str, role: Option<&str>) -> Option<(&'static str, Verdict, String)> {
    let password_field = role.is_some_and(|r| r.to_ascii_lowercase().contains("password"));
    if password_field && !only_placeholders(text) {
        return Some((
            "password-field",
            Verdict::Deny,
            "only {{secret:NAME}} placeholders may be typed into a password field".into(),
        ));
    }
    if !password_field && !SecretStore::placeholders(text).is_empty() {
        return Some((
            "secret-outside-password-field",
            Verdict::Confirm,
            "a secret typed outside a password field shows on screen".into(),
        ));
    }
    let hit = first_match(&RISKY_COMMAND, text).or_else(|| overwriting_redirect(text))?;
    Some((
        "destructive-command",
        Verdict::Confirm,
        format!(
            "looks like a shell command that removes or overwrites files: \"{}\"",
            escape_visible(hit.trim())
        ),
    ))
}

/// The action as one line for a confirmation prompt or a log: every user- or model-supplied
/// string quoted and escaped, followed by the window it lands in.
fn show(ctx: &ActionContext) -> String {
    let target = |t: &Target, first: bool| match t {
        Target::Node { id } => match (ctx.target_label.filter(|_| first), ctx.target_role) {
            (Some(label), Some(role)) => {
                format!("{} {} ({id})", escape_visible(role), quote(label))
            }
            (Some(label), None) => format!("{} ({id})", quote(label)),
            (None, _) => format!("node {id}"),
        },
        Target::Point { x, y, .. } => format!("point ({x}, {y})"),
    };
    let kind = ctx.action.kind();
    let mut out = match ctx.action {
        Action::Click {
            target: t,
            button,
            modifiers,
        } => {
            let mut s = format!("{kind} {}", target(t, true));
            if *button != MouseButton::Left {
                let name = match button {
                    MouseButton::Left => "left",
                    MouseButton::Right => "right",
                    MouseButton::Middle => "middle",
                };
                let _ = write!(s, " with the {name} button");
            }
            if let Some(m) = modifiers {
                let _ = write!(s, " holding {m}");
            }
            s
        }
        Action::DoubleClick { target: t }
        | Action::TripleClick { target: t }
        | Action::RightClick { target: t }
        | Action::Hover { target: t } => format!("{kind} {}", target(t, true)),
        Action::Scroll { target: t, amount } => format!(
            "{kind} {} by dx={} dy={}",
            target(t, true),
            amount.dx,
            amount.dy
        ),
        Action::Drag { from, to } => {
            format!("{kind} {} to {}", target(from, true), target(to, false))
        }
        Action::Type { text } => format!("{kind} {}", quote(text)),
        Action::Key { chord } | Action::Hold { chord } | Action::Release { chord } => {
            format!("{kind} {chord}")
        }
        Action::OpenApp { name: s }
        | Action::FocusWindow { title: s }
        | Action::Done { summary: s }
        | Action::Fail { reason: s }
        | Action::AskUser { question: s } => format!("{kind} {}", quote(s)),
        Action::Wait { ms } => format!("{kind} {ms} ms"),
    };
    if let Some(title) = ctx.window_title {
        let _ = write!(out, " in window {}", quote(title));
    }
    if let Some(app) = ctx.app {
        let _ = write!(out, " of {}", quote(app));
    }
    out
}

fn quote(s: &str) -> String {
    format!("\"{}\"", escape_visible(s).replace('"', "\\\""))
}

/// Escapes what a person could not see or could misread: backslash, newlines, tabs, control
/// characters, zero-width and bidirectional formatting characters, and space look-alikes,
/// as `\n`, `\t`, `\\` or `\u{200b}`.
pub fn escape_visible(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if is_invisible(c) => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out
}

fn is_invisible(c: char) -> bool {
    c.is_control()
        || matches!(
            u32::from(c),
            0x00A0 // no-break space
                | 0x00AD // soft hyphen
                | 0x034F // combining grapheme joiner
                | 0x061C // Arabic letter mark
                | 0x115F | 0x1160 | 0x3164 | 0xFFA0 // Hangul fillers
                | 0x1680 | 0x3000 // Ogham and ideographic spaces
                | 0x17B4 | 0x17B5 // Khmer inherent vowels
                | 0x180B..=0x180F // Mongolian selectors and vowel separator
                | 0x2000..=0x200F // spaces, zero-width characters, LRM/RLM
                | 0x2028..=0x202F // line/paragraph separators, bidi embeddings and overrides
                | 0x205F..=0x206F // math space, word joiner, invisible operators, bidi isolates
                | 0xFE00..=0xFE0F // variation selectors
                | 0xFEFF // byte order mark
                | 0xFFF9..=0xFFFB // interlinear annotation
                | 0x1D173..=0x1D17A // musical formatting
                | 0xE0000..=0xE0FFF // tags and variation selectors supplement
        )
}

impl deskhand_core::ports::ActionGate for Policy {
    fn check(&self, ctx: &ActionContext<'_>) -> Decision {
        self.evaluate(ctx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_patterns_compile() {
        for pattern in [
            &RISKY_LABEL,
            &CLOSE_LABEL,
            &UNSAVED_TITLE,
            &RISKY_COMMAND,
            &REDIRECT,
        ] {
            assert!(pattern.is_ok(), "{:?}", pattern.as_ref().err());
        }
    }
}
