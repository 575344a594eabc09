//! Parsing a task's evaluator: the top level into a raw struct, then each check's getter,
//! rules and options into their typed structs. Every serde error becomes a
//! [`TaskError::Field`] naming the field at fault (`evaluator.result[1].path`).

use std::marker::PhantomData;

use deskhand_core::task::TaskSpec;
use serde::de::value::MapAccessDeserializer;
use serde::de::{self, DeserializeOwned, IntoDeserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::Value;
use serde_path_to_error::Segment;

use super::super::error::TaskError;
use super::getters::Getter;
use super::metrics::{
    ExactRules, Expected, FloatOptions, FloatRules, FuzzyOptions, IncludeExcludeRules, ListRules,
    Metric, NoOptions, PatternRules, RegexOptions, Rule, TextOptions, TextRules,
};
use super::{Check, Conj, Evaluator};

/// The evaluator as written: `result`, `expected` and `options` hold one entry, or a list with
/// one per `func`, read further once the metric is known.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "an object")]
struct RawEvaluator {
    func: Funcs,
    #[serde(default, deserialize_with = "by_name")]
    conj: Conj,
    #[serde(default)]
    result: Option<Value>,
    #[serde(default)]
    expected: Option<Value>,
    #[serde(default)]
    options: Option<Value>,
}

/// The metric names the harness knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Func {
    ExactMatch,
    Contains,
    RegexMatch,
    FloatClose,
    TextLastLine,
    IsTrue,
    IsFalse,
    LiteralMatch,
    IsInList,
    CheckIncludeExclude,
    FuzzyMatch,
    Infeasible,
}

/// A metric, and its name as written.
#[derive(Debug)]
struct FuncName {
    func: Func,
    name: String,
}

impl<'de> Deserialize<'de> for FuncName {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct NameVisitor;
        impl Visitor<'_> for NameVisitor {
            type Value = FuncName;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a metric name")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<FuncName, E> {
                let func = Func::deserialize(IntoDeserializer::<E>::into_deserializer(v))?;
                Ok(FuncName {
                    func,
                    name: v.to_string(),
                })
            }
        }
        deserializer.deserialize_str(NameVisitor)
    }
}

/// `func`: one metric name, or a non-empty list of them.
#[derive(Debug)]
struct Funcs {
    names: Vec<FuncName>,
    /// Written as one name, not a list: errors then say `result`, not `result[0]`.
    single: bool,
}

impl<'de> Deserialize<'de> for Funcs {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct FuncsVisitor;
        impl<'de> Visitor<'de> for FuncsVisitor {
            type Value = Funcs;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a metric name or a list of them")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Funcs, E> {
                Ok(Funcs {
                    names: vec![FuncName::deserialize(
                        IntoDeserializer::<E>::into_deserializer(v),
                    )?],
                    single: true,
                })
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Funcs, A::Error> {
                let mut names = Vec::new();
                while let Some(name) = seq.next_element::<FuncName>()? {
                    names.push(name);
                }
                if names.is_empty() {
                    return Err(de::Error::custom(
                        "must be a metric name or a non-empty list of them",
                    ));
                }
                Ok(Funcs {
                    names,
                    single: false,
                })
            }
        }
        deserializer.deserialize_any(FuncsVisitor)
    }
}

/// A name-only enum from a string (not serde's `{"variant": ...}` map form); `null` or absent
/// is the default.
pub(super) fn by_name_or_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    match Option::<String>::deserialize(deserializer)? {
        Some(name) => T::deserialize(name.into_deserializer()),
        None => Ok(T::default()),
    }
}

/// A name-only enum from a string (not serde's `{"variant": ...}` map form).
pub(super) fn by_name<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(String::deserialize(deserializer)?.into_deserializer())
}

/// A struct (or tagged enum) from a JSON object only: serde's derive would also take a list
/// of the fields' values in order (`[true, false]` as `{"strip": true, "ignore_case": false}`).
pub(super) fn object<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    struct ObjectVisitor<T>(PhantomData<T>);
    impl<'de, T: Deserialize<'de>> Visitor<'de> for ObjectVisitor<T> {
        type Value = T;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("an object")
        }
        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
            T::deserialize(MapAccessDeserializer::new(map))
        }
    }
    deserializer.deserialize_map(ObjectVisitor(PhantomData))
}

/// A `T` read with [`object`].
struct Object<T>(T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Object<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        object(deserializer).map(Object)
    }
}

/// `x` or `[x, y]` -> one entry per func (`null` entries are none).
fn arity(value: Option<Value>, n: usize) -> Result<Vec<Option<Value>>, String> {
    match value {
        None | Some(Value::Null) => Ok(vec![None; n]),
        Some(Value::Array(items)) if n != 1 || items.len() == 1 => {
            if items.len() != n {
                return Err(format!("has {} entries but func has {n}", items.len()));
            }
            Ok(items
                .into_iter()
                .map(|v| (!v.is_null()).then_some(v))
                .collect())
        }
        Some(v) if n == 1 => Ok(vec![Some(v)]),
        Some(_) => Err(format!("must be a list of {n} entries, like func")),
    }
}

/// Parses a task's evaluator; every unknown name, missing field or wrongly typed value is an
/// error naming its field.
pub fn parse_evaluator(spec: &TaskSpec) -> Result<Evaluator, TaskError> {
    let task = spec.id.as_str();
    let raw: RawEvaluator = typed(task, "", &spec.evaluator, Part::Top)?;
    let n = raw.func.names.len();
    let single = raw.func.single;
    let at = |field: &str, i: usize| {
        if single {
            field.to_string()
        } else {
            format!("{field}[{i}]")
        }
    };
    let results = arity(raw.result, n).map_err(|m| fault(task, "result", m))?;
    let expected = arity(raw.expected, n).map_err(|m| fault(task, "expected", m))?;
    let options = arity(raw.options, n).map_err(|m| fault(task, "options", m))?;
    let mut checks = Vec::new();
    for (i, FuncName { func, name }) in raw.func.names.into_iter().enumerate() {
        let result = Entry::new(task, at("result", i), &results[i]);
        let getter = result.getter()?;
        let metric = parse_metric(
            func,
            &name,
            &Entry::new(task, at("expected", i), &expected[i]),
            &Entry::new(task, at("options", i), &options[i]),
        )?;
        match (&metric, &getter) {
            (Metric::Infeasible, Some(_)) => {
                return Err(result.error("", "infeasible reads no state"))
            }
            (Metric::Infeasible, None) | (_, Some(_)) => {}
            (_, None) => return Err(result.error("", "is missing (a getter)")),
        }
        checks.push(Check {
            func: name,
            metric,
            getter,
        });
    }
    Ok(Evaluator {
        checks,
        conj: raw.conj,
    })
}

/// The metric, from its rules and options.
fn parse_metric(
    func: Func,
    name: &str,
    expected: &Entry<'_>,
    options: &Entry<'_>,
) -> Result<Metric, TaskError> {
    Ok(match func {
        Func::ExactMatch => {
            let o: TextOptions = options.options()?;
            let r: ExactRules = expected.rules()?;
            Metric::ExactMatch {
                expected: r.expected,
                strip: o.strip,
                ignore_case: o.ignore_case,
            }
        }
        Func::Contains => {
            let o: TextOptions = options.options()?;
            let r: TextRules = expected.rules()?;
            Metric::Contains {
                expected: r.expected,
                strip: o.strip,
                ignore_case: o.ignore_case,
            }
        }
        Func::TextLastLine => {
            let o: TextOptions = options.options()?;
            let r: TextRules = expected.rules()?;
            Metric::TextLastLine {
                expected: r.expected,
                strip: o.strip,
                ignore_case: o.ignore_case,
            }
        }
        Func::RegexMatch => {
            let o: RegexOptions = options.options()?;
            let r: PatternRules = expected.rules()?;
            let pattern = regex::RegexBuilder::new(&r.pattern)
                .case_insensitive(o.ignore_case)
                .build()
                .map_err(|e| {
                    expected.error("rules.pattern", format!("bad regular expression: {e}"))
                })?;
            Metric::RegexMatch { pattern }
        }
        Func::FloatClose => {
            let o: FloatOptions = options.options()?;
            let r: FloatRules = expected.rules()?;
            Metric::FloatClose {
                expected: r.expected,
                tol: o.tol,
            }
        }
        Func::IsTrue | Func::IsFalse | Func::Infeasible => {
            if expected.value.is_some() {
                return Err(expected.error("", format!("{name} takes no expected value")));
            }
            let NoOptions {} = options.options()?;
            match func {
                Func::IsTrue => Metric::IsTrue,
                Func::IsFalse => Metric::IsFalse,
                _ => Metric::Infeasible,
            }
        }
        Func::LiteralMatch => {
            let NoOptions {} = options.options()?;
            let r: TextRules = expected.rules()?;
            Metric::ExactMatch {
                expected: Expected::Text(r.expected),
                strip: false,
                ignore_case: false,
            }
        }
        Func::IsInList => {
            let NoOptions {} = options.options()?;
            let r: ListRules = expected.rules()?;
            Metric::IsInList {
                expected: r.expected,
            }
        }
        Func::CheckIncludeExclude => {
            let NoOptions {} = options.options()?;
            let r: IncludeExcludeRules = expected.rules()?;
            if r.include.is_empty() && r.exclude.is_empty() {
                return Err(expected.error("rules", "give include and/or exclude"));
            }
            Metric::IncludeExclude {
                include: r.include,
                exclude: r.exclude,
            }
        }
        Func::FuzzyMatch => {
            let o: FuzzyOptions = options.options()?;
            let r: TextRules = expected.rules()?;
            Metric::FuzzyMatch {
                expected: r.expected,
                threshold: o.threshold,
            }
        }
    })
}

/// One check's entry of `result`, `expected` or `options`, and its field (`result[1]`).
struct Entry<'a> {
    task: &'a str,
    field: String,
    value: Option<&'a Value>,
}

impl<'a> Entry<'a> {
    fn new(task: &'a str, field: String, value: &'a Option<Value>) -> Entry<'a> {
        Entry {
            task,
            field,
            value: value.as_ref(),
        }
    }

    /// An error at this entry, or at a field under it (`rules.pattern`).
    fn error(&self, sub: &str, message: impl Into<String>) -> TaskError {
        fault(self.task, &join(&self.field, sub), message.into())
    }

    /// The getter, if the entry is there.
    fn getter(&self) -> Result<Option<Getter>, TaskError> {
        let Some(value) = self.value else {
            return Ok(None);
        };
        serde_path_to_error::deserialize::<_, Object<Getter>>(value)
            .map(|getter| Some(getter.0))
            .map_err(|e| {
                let message = e.inner().to_string();
                let mut steps = steps(e.path());
                if steps.is_empty() && !names_its_field(&message) {
                    steps.extend(culprit(value).map(Step::Key));
                }
                serde_fault(self.task, &self.field, steps, &message, Part::Getter)
            })
    }

    /// The metric's options (their defaults when the entry is absent).
    fn options<T: DeserializeOwned + Default>(&self) -> Result<T, TaskError> {
        match self.value {
            None => Ok(T::default()),
            Some(value) => typed(self.task, &self.field, value, Part::Options),
        }
    }

    /// The metric's rules, from `{"type": "rule", "rules": {...}}`.
    fn rules<R: DeserializeOwned>(&self) -> Result<R, TaskError> {
        match self.value {
            None => Err(self.error(
                "",
                "is missing: write {\"type\": \"rule\", \"rules\": {...}}",
            )),
            Some(value) => {
                typed::<Rule<R>>(self.task, &self.field, value, Part::Expected).map(|r| r.rules)
            }
        }
    }
}

/// Which object of the evaluator a serde error is in; it decides what keys are called.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    /// The evaluator itself: its keys are fields.
    Top,
    /// A `result` entry: the getter's parameters.
    Getter,
    /// An `options` entry: the metric's parameters.
    Options,
    /// An `expected` entry: its fields (`type`, `rules`) and the rules.
    Expected,
}

/// One step of a field path.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    /// `.key`
    Key(String),
    /// `[index]`
    Index(usize),
}

/// `value` deserialized, or an error naming the field at fault under `base`.
fn typed<T: DeserializeOwned>(
    task: &str,
    base: &str,
    value: &Value,
    part: Part,
) -> Result<T, TaskError> {
    serde_path_to_error::deserialize::<_, Object<T>>(value)
        .map(|object| object.0)
        .map_err(|e| {
            let message = e.inner().to_string();
            serde_fault(task, base, steps(e.path()), &message, part)
        })
}

/// A field error of the evaluator (`field` is under `evaluator`; empty for itself).
fn fault(task: &str, field: &str, message: String) -> TaskError {
    TaskError::Field {
        task: task.to_string(),
        field: join("evaluator", field),
        message,
    }
}

/// A serde error at `steps` under `base`, in the project's words.
fn serde_fault(task: &str, base: &str, steps: Vec<Step>, message: &str, part: Part) -> TaskError {
    let (steps, message) = explain(steps, message, part);
    fault(task, &render(base, &steps), message)
}

fn steps(path: &serde_path_to_error::Path) -> Vec<Step> {
    path.iter()
        .filter_map(|segment| match segment {
            Segment::Map { key } => Some(Step::Key(key.clone())),
            Segment::Seq { index } => Some(Step::Index(*index)),
            Segment::Enum { .. } | Segment::Unknown => None,
        })
        .collect()
}

/// `base.sub`, or either when the other is empty.
fn join(base: &str, sub: &str) -> String {
    match (base.is_empty(), sub.is_empty()) {
        (_, true) => base.to_string(),
        (true, false) => sub.to_string(),
        (false, false) => format!("{base}.{sub}"),
    }
}

fn render(base: &str, steps: &[Step]) -> String {
    steps
        .iter()
        .fold(base.to_string(), |field, step| match step {
            Step::Key(key) => join(&field, key),
            Step::Index(i) => format!("{field}[{i}]"),
        })
}

/// Serde's message in the project's words, and the field it is about (an unknown or missing
/// key is named in the message, not the path).
fn explain(mut steps: Vec<Step>, message: &str, part: Part) -> (Vec<Step>, String) {
    if let Some((key, known)) = named(message, "unknown field `") {
        if steps.last() == Some(&Step::Key(key.clone())) {
            steps.pop();
        }
        let noun = match part {
            Part::Top => "field",
            Part::Getter | Part::Options => "parameter",
            Part::Expected if steps.is_empty() => "field",
            Part::Expected => "rule",
        };
        steps.push(Step::Key(key));
        let known = if known.is_empty() {
            "none".to_string()
        } else {
            known.join(", ")
        };
        return (steps, format!("unknown {noun} (known: {known})"));
    }
    if let Some(key) = message
        .strip_prefix("missing field `")
        .and_then(|m| m.strip_suffix('`'))
    {
        steps.push(Step::Key(key.to_string()));
        return (steps, "is missing".into());
    }
    let is_tag = steps == [Step::Key("type".into())];
    if let Some((value, known)) = named(message, "unknown variant `") {
        let message = match (part, steps.first()) {
            (Part::Top, Some(Step::Key(k))) if k == "func" => {
                format!("unknown metric {value:?} (known: {})", known.join(", "))
            }
            (Part::Getter, _) if is_tag => {
                format!("unknown getter {value:?} (known: {})", known.join(", "))
            }
            _ => format!("must be {}, not {value:?}", alternatives(&known)),
        };
        return (steps, message);
    }
    if let Some((got, want)) = message
        .strip_prefix("invalid type: ")
        .and_then(|m| m.rsplit_once(", expected "))
    {
        let want = if part == Part::Getter && is_tag {
            "a getter name"
        } else {
            expectation(want)
        };
        return (steps, format!("must be {want}, not {}", unexpected(got)));
    }
    (steps, message.to_string())
}

/// True for serde's messages that name the key at fault.
fn names_its_field(message: &str) -> bool {
    message.starts_with("unknown field `") || message.starts_with("missing field `")
}

/// From "unknown field `x`, expected `a` or `b`" (after `prefix`): "x" and [a, b].
fn named(message: &str, prefix: &str) -> Option<(String, Vec<String>)> {
    let rest = message.strip_prefix(prefix)?;
    let (name, known) = rest
        .rsplit_once("`, expected ")
        .or_else(|| rest.rsplit_once("`, there are no "))?;
    let known = known
        .split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect();
    Some((name.to_string(), known))
}

/// `"a"`, `"a" or "b"`, `"a", "b" or "c"`.
fn alternatives(names: &[String]) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("{n:?}")).collect();
    match quoted.split_last() {
        None => "nothing".into(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
    }
}

/// Serde's "expected ..." in the words of a task file.
fn expectation(want: &str) -> &str {
    match want {
        "a boolean" => "true or false",
        "a sequence" => "a list",
        "f64" => "a number",
        other => other,
    }
}

/// Serde's description of a value ("integer `7`", "string \"x\"", "map") as JSON.
fn unexpected(got: &str) -> String {
    match got {
        "map" => return "an object".into(),
        "sequence" => return "a list".into(),
        "unit value" => return "null".into(),
        _ => {}
    }
    if let Some(text) = got.strip_prefix("string ") {
        return text.to_string();
    }
    match (got.find('`'), got.rfind('`')) {
        (Some(a), Some(b)) if a < b => got[a + 1..b].to_string(),
        _ => got.to_string(),
    }
}

/// The first parameter of a getter that is refused on its own. Serde reads the fields of an
/// internally tagged variant from a buffer, so a wrongly typed value's error carries no path;
/// deserializing the getter with its type and one parameter at a time finds the field.
fn culprit(value: &Value) -> Option<String> {
    let Value::Object(map) = value else {
        return None;
    };
    let kind = map.get("type")?;
    map.iter()
        .filter(|(key, _)| key.as_str() != "type")
        .find(|(key, v)| {
            let probe: serde_json::Map<String, Value> = [
                ("type".to_string(), kind.clone()),
                (key.to_string(), (*v).clone()),
            ]
            .into_iter()
            .collect();
            Getter::deserialize(&Value::Object(probe))
                .is_err_and(|e| !names_its_field(&e.to_string()))
        })
        .map(|(key, _)| key.clone())
}
