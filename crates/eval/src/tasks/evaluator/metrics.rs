//! Metrics: what an evaluator's checks expect of the state a getter read, the typed options
//! and rules a task file gives them, and applying them.

use serde::de::{self, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};

use super::getters::{short, StateValue};
use super::parse::{by_name, object};

/// What a metric expects.
#[derive(Debug, Clone)]
pub enum Metric {
    /// The value equals the text (or, for a list, the same items in any order).
    ExactMatch {
        /// Expected text or items.
        expected: Expected,
        /// Trim whitespace on both sides first (default true).
        strip: bool,
        /// Compare case-insensitively (default false).
        ignore_case: bool,
    },
    /// The text contains this text (for a list: one item does).
    Contains {
        /// The needle.
        expected: String,
        /// Trim whitespace first (default true).
        strip: bool,
        /// Compare case-insensitively (default false).
        ignore_case: bool,
    },
    /// The text matches the regular expression (for a list: one item does).
    RegexMatch {
        /// The compiled expression.
        pattern: regex::Regex,
    },
    /// The text is a number within `tol` of `expected`.
    FloatClose {
        /// The expected number.
        expected: f64,
        /// Allowed absolute difference (default 1e-6).
        tol: f64,
    },
    /// The last non-empty line of the text equals this text.
    TextLastLine {
        /// The expected line.
        expected: String,
        /// Trim whitespace first (default true).
        strip: bool,
        /// Compare case-insensitively (default false).
        ignore_case: bool,
    },
    /// The value is `true`.
    IsTrue,
    /// The value is `false`.
    IsFalse,
    /// The text is one of these (after trimming).
    IsInList {
        /// The accepted texts.
        expected: Vec<String>,
    },
    /// The text contains every `include` and no `exclude` text.
    IncludeExclude {
        /// Texts that must be there.
        include: Vec<String>,
        /// Texts that must not.
        exclude: Vec<String>,
    },
    /// The text is at least `threshold` similar to `expected` (1 - edit distance / length).
    FuzzyMatch {
        /// The expected text.
        expected: String,
        /// Least similarity (default 0.9).
        threshold: f64,
    },
    /// Scores 1 only when the agent ended with a Fail (infeasible) verdict.
    Infeasible,
}

/// The expected side of an exact match.
#[derive(Debug, Clone, PartialEq)]
pub enum Expected {
    /// One text.
    Text(String),
    /// Items, in any order.
    List(Vec<String>),
}

fn norm(s: &str, strip: bool, ignore_case: bool) -> String {
    let s = if strip { s.trim() } else { s };
    if ignore_case {
        s.to_lowercase()
    } else {
        s.to_string()
    }
}

fn text_of<'a>(value: &'a StateValue, func: &str) -> Result<&'a str, String> {
    match value {
        StateValue::Text(t) => Ok(t),
        other => Err(format!("{func} needs text, the getter gave {other}")),
    }
}

/// Applies a metric to a value read (not `infeasible`, which depends on the verdict).
pub fn apply(metric: &Metric, value: &StateValue) -> Result<bool, String> {
    match metric {
        Metric::ExactMatch {
            expected,
            strip,
            ignore_case,
        } => match (value, expected) {
            (StateValue::List(items), Expected::List(want)) => {
                let mut got: Vec<String> = items
                    .iter()
                    .map(|s| norm(s, *strip, *ignore_case))
                    .collect();
                let mut want: Vec<String> =
                    want.iter().map(|s| norm(s, *strip, *ignore_case)).collect();
                got.sort();
                want.sort();
                Ok(got == want)
            }
            (StateValue::Text(t), Expected::Text(want)) => {
                Ok(norm(t, *strip, *ignore_case) == norm(want, *strip, *ignore_case))
            }
            (StateValue::Bool(b), Expected::Text(want)) => Ok(b.to_string() == want.trim()),
            (v, e) => Err(format!("exact_match cannot compare {v} with {e:?}")),
        },
        Metric::Contains {
            expected,
            strip,
            ignore_case,
        } => {
            let want = norm(expected, *strip, *ignore_case);
            match value {
                StateValue::Text(t) => Ok(norm(t, *strip, *ignore_case).contains(&want)),
                StateValue::List(items) => {
                    Ok(items.iter().any(|s| norm(s, *strip, *ignore_case) == want))
                }
                StateValue::Bool(_) => Err(format!("contains needs text, got {value}")),
            }
        }
        Metric::RegexMatch { pattern } => match value {
            StateValue::Text(t) => Ok(pattern.is_match(t)),
            StateValue::List(items) => Ok(items.iter().any(|s| pattern.is_match(s))),
            StateValue::Bool(_) => Err(format!("regex_match needs text, got {value}")),
        },
        Metric::FloatClose { expected, tol } => {
            let t = text_of(value, "float_close")?;
            let cleaned: String = t
                .chars()
                .filter(|c| !c.is_whitespace() && *c != ',' && *c != '\u{a0}')
                .collect();
            let got: f64 = cleaned
                .parse()
                .map_err(|_| format!("{} is not a number", short(t)))?;
            Ok((got - expected).abs() <= *tol)
        }
        Metric::TextLastLine {
            expected,
            strip,
            ignore_case,
        } => {
            let t = text_of(value, "text_last_line")?;
            let last = t.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("");
            Ok(norm(last, *strip, *ignore_case) == norm(expected, *strip, *ignore_case))
        }
        Metric::IsTrue => match value {
            StateValue::Bool(b) => Ok(*b),
            other => Err(format!("is_true needs a yes/no, got {other}")),
        },
        Metric::IsFalse => match value {
            StateValue::Bool(b) => Ok(!*b),
            other => Err(format!("is_false needs a yes/no, got {other}")),
        },
        Metric::IsInList { expected } => {
            let t = text_of(value, "is_in_list")?.trim();
            Ok(expected.iter().any(|e| e.trim() == t))
        }
        Metric::IncludeExclude { include, exclude } => {
            let t = text_of(value, "check_include_exclude")?;
            Ok(include.iter().all(|i| t.contains(i.as_str()))
                && !exclude.iter().any(|e| t.contains(e.as_str())))
        }
        Metric::FuzzyMatch {
            expected,
            threshold,
        } => {
            let t = text_of(value, "fuzzy_match")?;
            Ok(similarity(t.trim(), expected.trim()) >= *threshold)
        }
        Metric::Infeasible => Err("infeasible is judged by the verdict".into()),
    }
}

/// 1 - (edit distance / length of the longer text), over characters.
pub(super) fn similarity(a: &str, b: &str) -> f64 {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let longest = a.len().max(b.len());
    if longest == 0 {
        return 1.0;
    }
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    1.0 - row[b.len()] as f64 / longest as f64
}

/// What the metric expects, for a detail line.
pub(super) fn want(metric: &Metric) -> String {
    match metric {
        Metric::ExactMatch { expected, .. } => match expected {
            Expected::Text(t) => short(t),
            Expected::List(l) => format!("{l:?}"),
        },
        Metric::Contains { expected, .. } | Metric::TextLastLine { expected, .. } => {
            short(expected)
        }
        Metric::RegexMatch { pattern } => format!("/{}/", pattern.as_str()),
        Metric::FloatClose { expected, tol } => format!("{expected} ± {tol}"),
        Metric::IsTrue => "true".into(),
        Metric::IsFalse => "false".into(),
        Metric::IsInList { expected } => format!("one of {expected:?}"),
        Metric::IncludeExclude { include, exclude } => {
            format!("including {include:?}, excluding {exclude:?}")
        }
        Metric::FuzzyMatch {
            expected,
            threshold,
        } => format!("{} (similarity >= {threshold})", short(expected)),
        Metric::Infeasible => "a fail verdict".into(),
    }
}

/// Default `tol` of `float_close`.
const DEFAULT_TOL: f64 = 1e-6;
/// Default `threshold` of `fuzzy_match`.
const DEFAULT_THRESHOLD: f64 = 0.9;

/// Options of `exact_match`, `contains` and `text_last_line`.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, expecting = "an object")]
pub(super) struct TextOptions {
    /// Trim whitespace on both sides first (default true).
    #[serde(default = "yes", deserialize_with = "flag::<true, _>")]
    pub(super) strip: bool,
    /// Compare case-insensitively (default false).
    #[serde(default, deserialize_with = "flag::<false, _>")]
    pub(super) ignore_case: bool,
}

impl Default for TextOptions {
    fn default() -> Self {
        TextOptions {
            strip: true,
            ignore_case: false,
        }
    }
}

/// Options of `regex_match`.
#[derive(Debug, Clone, Copy, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields, expecting = "an object")]
pub(super) struct RegexOptions {
    /// Match case-insensitively (default false).
    #[serde(default, deserialize_with = "flag::<false, _>")]
    pub(super) ignore_case: bool,
}

/// Options of `float_close`.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, expecting = "an object")]
pub(super) struct FloatOptions {
    /// Allowed absolute difference (default 1e-6).
    #[serde(default = "default_tol", deserialize_with = "tolerance")]
    pub(super) tol: f64,
}

impl Default for FloatOptions {
    fn default() -> Self {
        FloatOptions { tol: DEFAULT_TOL }
    }
}

/// Options of `fuzzy_match`.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, expecting = "an object")]
pub(super) struct FuzzyOptions {
    /// Least similarity, at most 1 (default 0.9).
    #[serde(default = "default_threshold", deserialize_with = "threshold")]
    pub(super) threshold: f64,
}

impl Default for FuzzyOptions {
    fn default() -> Self {
        FuzzyOptions {
            threshold: DEFAULT_THRESHOLD,
        }
    }
}

/// The options of a metric that takes none (`{}`).
#[derive(Debug, Clone, Copy, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields, expecting = "an object")]
pub(super) struct NoOptions {}

fn yes() -> bool {
    true
}

fn default_tol() -> f64 {
    DEFAULT_TOL
}

fn default_threshold() -> f64 {
    DEFAULT_THRESHOLD
}

/// A yes/no option; `null` is its default.
fn flag<'de, const DEFAULT: bool, D: Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    Ok(Option::<bool>::deserialize(deserializer)?.unwrap_or(DEFAULT))
}

/// A non-negative number, or `None` for `null`.
fn non_negative<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<f64>, D::Error> {
    match Option::<f64>::deserialize(deserializer)? {
        Some(f) if !(f.is_finite() && f >= 0.0) => Err(de::Error::custom(format!(
            "must be a non-negative number, not {f}"
        ))),
        f => Ok(f),
    }
}

fn tolerance<'de, D: Deserializer<'de>>(deserializer: D) -> Result<f64, D::Error> {
    Ok(non_negative(deserializer)?.unwrap_or(DEFAULT_TOL))
}

fn threshold<'de, D: Deserializer<'de>>(deserializer: D) -> Result<f64, D::Error> {
    match non_negative(deserializer)? {
        Some(t) if t > 1.0 => Err(de::Error::custom("must be between 0 and 1")),
        t => Ok(t.unwrap_or(DEFAULT_THRESHOLD)),
    }
}

/// An `expected` entry: `{"type": "rule", "rules": {...}}`, with the metric's rules.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "an object",
    bound(deserialize = "R: Deserialize<'de>")
)]
pub(super) struct Rule<R> {
    /// Always "rule".
    #[serde(rename = "type", deserialize_with = "by_name")]
    _kind: RuleKind,
    /// The metric's rules.
    #[serde(deserialize_with = "object")]
    pub(super) rules: R,
}

/// The one kind of `expected` entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
enum RuleKind {
    #[serde(rename = "rule")]
    Rule,
}

/// Rules of `exact_match`: a text (or number) or a list of texts.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, expecting = "an object")]
pub(super) struct ExactRules {
    /// The text or items.
    pub(super) expected: Expected,
}

/// Rules of `contains`, `text_last_line`, `literal_match` and `fuzzy_match`: a text (a
/// number is taken as its text).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, expecting = "an object")]
pub(super) struct TextRules {
    /// The text.
    #[serde(deserialize_with = "text")]
    pub(super) expected: String,
}

/// Rules of `regex_match`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, expecting = "an object")]
pub(super) struct PatternRules {
    /// The regular expression, not yet compiled.
    #[serde(deserialize_with = "text")]
    pub(super) pattern: String,
}

/// Rules of `float_close`: a number, or a text holding one.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, expecting = "an object")]
pub(super) struct FloatRules {
    /// The number.
    #[serde(deserialize_with = "number")]
    pub(super) expected: f64,
}

/// Rules of `is_in_list`: the accepted texts.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, expecting = "an object")]
pub(super) struct ListRules {
    /// The texts (numbers are taken as their text).
    #[serde(deserialize_with = "texts")]
    pub(super) expected: Vec<String>,
}

/// Rules of `check_include_exclude`; at least one of the lists must be non-empty.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, expecting = "an object")]
pub(super) struct IncludeExcludeRules {
    /// Texts that must be there.
    #[serde(default, deserialize_with = "texts")]
    pub(super) include: Vec<String>,
    /// Texts that must not.
    #[serde(default, deserialize_with = "texts")]
    pub(super) exclude: Vec<String>,
}

/// A text, or a number taken as its text (`7006652` -> "7006652").
struct Text(String);

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TextVisitor;
        impl Visitor<'_> for TextVisitor {
            type Value = Text;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string or a number")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Text, E> {
                Ok(Text(float_text(v)))
            }
        }
        deserializer.deserialize_any(TextVisitor)
    }
}

/// A float as JSON writes it (`3.14159292035`, `1e-6`), as serde_json's numbers display.
fn float_text(v: f64) -> String {
    serde_json::Number::from_f64(v).map_or_else(|| v.to_string(), |n| n.to_string())
}

fn text<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    Text::deserialize(deserializer).map(|t| t.0)
}

fn texts<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    Ok(Vec::<Text>::deserialize(deserializer)?
        .into_iter()
        .map(|t| t.0)
        .collect())
}

/// A number, or a text holding one (`"42"`, `" 3.5 "`).
fn number<'de, D: Deserializer<'de>>(deserializer: D) -> Result<f64, D::Error> {
    struct NumberVisitor;
    impl Visitor<'_> for NumberVisitor {
        type Value = f64;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a number")
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<f64, E> {
            v.trim()
                .parse()
                .map_err(|_| E::custom(format!("must be a number, not {v:?}")))
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<f64, E> {
            Ok(v as f64)
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<f64, E> {
            Ok(v as f64)
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<f64, E> {
            Ok(v)
        }
    }
    deserializer.deserialize_any(NumberVisitor)
}

/// A text or number is [`Expected::Text`]; a list of strings is [`Expected::List`].
impl<'de> Deserialize<'de> for Expected {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ExpectedVisitor;
        impl<'de> Visitor<'de> for ExpectedVisitor {
            type Value = Expected;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string, a number or a list of strings")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Expected, E> {
                Ok(Expected::Text(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Expected, E> {
                Ok(Expected::Text(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Expected, E> {
                Ok(Expected::Text(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Expected, E> {
                Ok(Expected::Text(float_text(v)))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Expected, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element::<String>()? {
                    items.push(item);
                }
                Ok(Expected::List(items))
            }
        }
        deserializer.deserialize_any(ExpectedVisitor)
    }
}
