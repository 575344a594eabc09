//! A task's evaluator: getters of real state and metrics over them, parsed strictly and run
//! against a live [`TaskSession`].

mod getters;
mod metrics;
mod parse;

use std::path::Path;
use std::time::{Duration, Instant};

use deskhand_core::task::TaskSpec;
use serde::{Deserialize, Serialize};

use super::error::TaskError;
use super::session::TaskSession;
use getters::describe;
use metrics::want;

pub use getters::{get, Getter, NodeAttr, Selection, StateValue};
pub use metrics::{apply, Expected, Metric};
pub use parse::parse_evaluator;

/// How the agent ended its run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AgentVerdict {
    /// It said the task is done.
    Done,
    /// It gave up or declared the task infeasible.
    Fail,
    /// No verdict (no agent ran, or it stopped without one).
    None,
}

/// The result of evaluating a task: 1.0 or 0.0, and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Score {
    /// 1.0 when the task is judged done, else 0.0.
    pub score: f64,
    /// One line per metric (what was read, what was expected), and any failure.
    pub details: Vec<String>,
}

impl Score {
    fn zero(reason: impl Into<String>) -> Score {
        Score {
            score: 0.0,
            details: vec![reason.into()],
        }
    }

    /// True when the score is 1.
    pub fn passed(&self) -> bool {
        self.score >= 1.0
    }
}

/// One metric with the getter it reads.
#[derive(Debug, Clone)]
pub struct Check {
    /// The metric's name as written.
    pub func: String,
    /// What it expects.
    pub metric: Metric,
    /// Where it reads (none for `infeasible`).
    pub getter: Option<Getter>,
}

/// How the checks combine (`conj` in the task file: "and" or "or").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Conj {
    /// Every check must pass (the default).
    #[default]
    And,
    /// One check must pass.
    Or,
}

/// A parsed evaluator.
#[derive(Debug, Clone)]
pub struct Evaluator {
    /// The checks, in order.
    pub checks: Vec<Check>,
    /// How they combine.
    pub conj: Conj,
}

impl Evaluator {
    /// True when the task is infeasible (a Fail verdict is the right answer).
    pub fn infeasible(&self) -> bool {
        self.checks
            .iter()
            .any(|c| matches!(c.metric, Metric::Infeasible))
    }
}

/// `x` or `[x, y]` -> a list, with the index to name in errors (None for a single value).
/// Checks that a task can be set up and evaluated (every step and check parses).
pub fn validate(spec: &TaskSpec) -> Result<(), TaskError> {
    super::setup::parse_setup(spec)?;
    super::setup::snapshot_size(spec)?;
    parse_evaluator(spec)?;
    Ok(())
}

/// Judges the task in its session: 1.0 when every check passes (or one, with `conj: or`).
/// A Fail verdict scores 1 only on an infeasible task, and 0 on a feasible one; a getter
/// that fails scores 0 with its reason in the details.
pub fn evaluate(spec: &TaskSpec, session: &TaskSession, verdict: AgentVerdict) -> Score {
    let evaluator = match parse_evaluator(spec) {
        Ok(e) => e,
        Err(e) => return Score::zero(e.to_string()),
    };
    if verdict == AgentVerdict::Fail && !evaluator.infeasible() {
        return Score::zero("the agent gave up (fail verdict) on a feasible task");
    }
    let mut details = Vec::new();
    let mut passes = Vec::new();
    for check in &evaluator.checks {
        let ok = match (&check.metric, &check.getter) {
            (Metric::Infeasible, _) => {
                let ok = verdict == AgentVerdict::Fail;
                details.push(format!(
                    "infeasible: verdict {verdict:?}, expected Fail -> {}",
                    u8::from(ok)
                ));
                ok
            }
            (metric, Some(getter)) => match get(getter, session) {
                Ok(value) => match apply(metric, &value) {
                    Ok(ok) => {
                        details.push(format!(
                            "{}({}): got {value}, expected {} -> {}",
                            check.func,
                            describe(getter),
                            want(metric),
                            u8::from(ok)
                        ));
                        ok
                    }
                    Err(e) => {
                        details.push(format!("{}({}): {e} -> 0", check.func, describe(getter)));
                        false
                    }
                },
                Err(e) => {
                    details.push(format!("{}({}): {e} -> 0", check.func, describe(getter)));
                    false
                }
            },
            (_, None) => false,
        };
        passes.push(ok);
    }
    let ok = match evaluator.conj {
        Conj::And => passes.iter().all(|p| *p),
        Conj::Or => passes.iter().any(|p| *p),
    };
    Score {
        score: if ok { 1.0 } else { 0.0 },
        details,
    }
}

/// Like [`evaluate`], but waits up to `timeout` for the state to reach a score of 1 (a save
/// or a copy lands a moment after the keystroke); returns the last score.
pub fn evaluate_within(
    spec: &TaskSpec,
    session: &TaskSession,
    verdict: AgentVerdict,
    timeout: Duration,
) -> Score {
    let start = Instant::now();
    loop {
        let score = evaluate(spec, session, verdict);
        if score.passed() || start.elapsed() >= timeout || verdict == AgentVerdict::Fail {
            return score;
        }
        std::thread::sleep(Duration::from_millis(150));
    }
}

/// Expands `~` and `~/...` to `home`.
pub fn expand_home(path: &str, home: &Path) -> std::path::PathBuf {
    if path == "~" {
        home.to_path_buf()
    } else if let Some(rest) = path.strip_prefix("~/") {
        home.join(rest)
    } else {
        std::path::PathBuf::from(path)
    }
}

#[cfg(test)]
mod tests {
    use super::metrics::similarity;
    use super::*;
    use serde_json::Value;

    fn spec(evaluator: Value) -> TaskSpec {
        TaskSpec::from_json(
            &serde_json::json!({"id": "t", "instruction": "x", "evaluator": evaluator}).to_string(),
        )
        .unwrap()
    }

    fn text(s: &str) -> StateValue {
        StateValue::Text(s.into())
    }

    #[test]
    fn metrics_follow_their_options() {
        let ev = parse_evaluator(&spec(serde_json::json!({
            "func": ["exact_match", "exact_match", "contains", "regex_match", "float_close", "text_last_line"],
            "conj": "or",
            "result": [{"type": "clipboard"}, {"type": "file_content", "path": "~/a"},
                       {"type": "window_titles"}, {"type": "window_titles"},
                       {"type": "atspi_find", "app": "galculator", "role": "text"},
                       {"type": "clipboard", "selection": "primary"}],
            "expected": [{"type": "rule", "rules": {"expected": "Hello"}},
                         {"type": "rule", "rules": {"expected": "a\n"}},
                         {"type": "rule", "rules": {"expected": "notes.txt - Mousepad"}},
                         {"type": "rule", "rules": {"pattern": "^notes"}},
                         {"type": "rule", "rules": {"expected": 7006652}},
                         {"type": "rule", "rules": {"expected": "last"}}],
            "options": [{"ignore_case": true}, {"strip": false}, {}, {}, {"tol": 0.5}, {}]
        })))
        .unwrap();
        assert_eq!(ev.conj, Conj::Or);
        let m: Vec<&Metric> = ev.checks.iter().map(|c| &c.metric).collect();
        assert_eq!(apply(m[0], &text("  hello\n")), Ok(true));
        assert_eq!(apply(m[0], &text("hello world")), Ok(false));
        assert_eq!(apply(m[1], &text("a\n")), Ok(true));
        assert_eq!(apply(m[1], &text("a")), Ok(false));
        let titles = StateValue::List(vec!["xterm".into(), "notes.txt - Mousepad".into()]);
        assert_eq!(apply(m[2], &titles), Ok(true));
        assert_eq!(
            apply(
                m[2],
                &StateValue::List(vec!["*notes.txt - Mousepad".into()])
            ),
            Ok(false)
        );
        assert_eq!(apply(m[3], &titles), Ok(true));
        assert_eq!(apply(m[4], &text("7006652.2")), Ok(true));
        assert_eq!(apply(m[4], &text("7,006,653")), Ok(false));
        assert!(apply(m[4], &text("Error"))
            .unwrap_err()
            .contains("not a number"));
        assert_eq!(apply(m[5], &text("first\nlast\n\n")), Ok(true));
        assert_eq!(apply(m[5], &text("last\nfirst")), Ok(false));
        assert!(apply(m[3], &StateValue::Bool(true)).is_err());
    }

    #[test]
    fn lists_compare_in_any_order_and_infeasible_needs_no_getter() {
        let ev = parse_evaluator(&spec(serde_json::json!({
            "func": "exact_match",
            "result": {"type": "list_directory", "path": "~/Documents"},
            "expected": {"type": "rule", "rules": {"expected": ["b", "a"]}}
        })))
        .unwrap();
        let m = &ev.checks[0].metric;
        assert_eq!(
            apply(m, &StateValue::List(vec!["a".into(), "b".into()])),
            Ok(true)
        );
        assert_eq!(apply(m, &StateValue::List(vec!["a".into()])), Ok(false));
        let ev = parse_evaluator(&spec(serde_json::json!({"func": "infeasible"}))).unwrap();
        assert!(ev.infeasible());
        let e = parse_evaluator(&spec(serde_json::json!({
            "func": "exact_match",
            "expected": {"type": "rule", "rules": {"expected": "x"}}
        })))
        .unwrap_err();
        assert!(
            e.to_string().contains("evaluator.result: is missing"),
            "{e}"
        );
        let e = parse_evaluator(&spec(serde_json::json!({
            "func": ["is_true", "exact_match"], "result": {"type": "clipboard"}
        })))
        .unwrap_err();
        assert!(
            e.to_string()
                .contains("evaluator.result: must be a list of 2"),
            "{e}"
        );
    }

    #[test]
    fn list_include_exclude_and_fuzzy_metrics() {
        let ev = parse_evaluator(&spec(serde_json::json!({
            "func": ["is_in_list", "check_include_exclude", "fuzzy_match", "literal_match", "is_false"],
            "result": [{"type": "clipboard"}, {"type": "command_output", "command": ["ls", "-A", "~"]},
                       {"type": "clipboard"}, {"type": "clipboard"}, {"type": "dir_exists", "path": "~/x"}],
            "expected": [{"type": "rule", "rules": {"expected": ["7", "seven"]}},
                         {"type": "rule", "rules": {"include": [".env"], "exclude": ["core"]}},
                         {"type": "rule", "rules": {"expected": "Meeting moved to 10:30"}},
                         {"type": "rule", "rules": {"expected": "a\n"}},
                         null],
            "options": [{}, {}, {"threshold": 0.9}, {}, {}]
        })))
        .unwrap();
        let m: Vec<&Metric> = ev.checks.iter().map(|c| &c.metric).collect();
        assert_eq!(apply(m[0], &text(" seven\n")), Ok(true));
        assert_eq!(apply(m[0], &text("8")), Ok(false));
        assert_eq!(apply(m[1], &text(".env\nmain.rs\n")), Ok(true));
        assert_eq!(apply(m[1], &text(".env\ncore\n")), Ok(false));
        assert_eq!(apply(m[1], &text("main.rs")), Ok(false));
        assert_eq!(apply(m[2], &text("Meeting moved to 10:30")), Ok(true));
        assert_eq!(apply(m[2], &text("Meeting moved to 10.30")), Ok(true));
        assert_eq!(apply(m[2], &text("Meeting at 9")), Ok(false));
        assert_eq!(apply(m[3], &text("a\n")), Ok(true));
        assert_eq!(apply(m[3], &text("a")), Ok(false));
        assert_eq!(apply(m[4], &StateValue::Bool(false)), Ok(true));
        assert_eq!(similarity("", ""), 1.0);
        assert_eq!(similarity("kitten", "sitting"), 1.0 - 3.0 / 7.0);
        let e = parse_evaluator(&spec(serde_json::json!({
            "func": "check_include_exclude", "result": {"type": "clipboard"},
            "expected": {"type": "rule", "rules": {"includes": ["a"]}}
        })))
        .unwrap_err();
        assert!(
            e.to_string()
                .contains("expected.rules.includes: unknown rule"),
            "{e}"
        );
    }

    #[test]
    fn home_is_expanded_only_at_the_start() {
        let home = Path::new("/h");
        assert_eq!(expand_home("~/a/b", home), Path::new("/h/a/b"));
        assert_eq!(expand_home("~", home), Path::new("/h"));
        assert_eq!(expand_home("/x/~/y", home), Path::new("/x/~/y"));
    }

    fn parse_error(evaluator: Value) -> String {
        parse_evaluator(&spec(evaluator)).unwrap_err().to_string()
    }

    #[test]
    fn typos_and_wrong_types_name_the_exact_field() {
        let rule = serde_json::json!({"type": "rule", "rules": {"expected": "x"}});
        for (evaluator, says) in [
            (
                serde_json::json!({"func": "exact_match", "result": {"type": "file_content", "pth": "~/a"}, "expected": rule}),
                "task t: evaluator.result.pth: unknown parameter (known: path)",
            ),
            (
                serde_json::json!({"func": "exact_match", "result": {"type": "file_content", "path": 7}, "expected": rule}),
                "task t: evaluator.result.path: must be a string, not 7",
            ),
            (
                serde_json::json!({"func": "exact_match", "result": {"type": "clipboard"}, "expected": rule, "options": {"strp": false}}),
                "task t: evaluator.options.strp: unknown parameter (known: strip, ignore_case)",
            ),
            (
                serde_json::json!({"func": ["is_true", "exact_match"],
                    "result": [{"type": "file_exists", "path": "~/a"}, {"type": "atspi_find", "app": "x", "role": 5}],
                    "expected": [null, rule]}),
                "task t: evaluator.result[1].role: must be a string, not 5",
            ),
            (
                serde_json::json!({"func": "is_true", "result": {"type": "clipboard", "selection": "secondary"}}),
                "evaluator.result.selection: must be \"clipboard\" or \"primary\", not \"secondary\"",
            ),
            (
                serde_json::json!({"func": "is_true", "result": {"type": "command_output", "command": []}}),
                "evaluator.result.command: must be a non-empty list of strings",
            ),
            (
                serde_json::json!({"func": "is_true", "result": {"type": "window_title", "x": 1}}),
                "evaluator.result.x: unknown parameter",
            ),
            (
                serde_json::json!({"func": "is_true", "result": {"path": "~/a"}}),
                "evaluator.result.type: is missing",
            ),
            (
                serde_json::json!({"func": ["exact_match", "exact_match"], "result": [{"type": "clipboard"}, {"type": "clipboard"}],
                    "expected": [rule, rule], "options": [{}, {"strip": "no"}]}),
                "evaluator.options[1].strip: must be true or false, not \"no\"",
            ),
            (
                serde_json::json!({"func": "exact_match", "result": {"type": "clipboard"},
                    "expected": {"type": "rule", "rules": {"expected": ["a", 1]}}}),
                "evaluator.expected.rules.expected[1]: must be a string, not 1",
            ),
            (
                serde_json::json!({"func": "exact_match", "result": {"type": "clipboard"},
                    "expected": {"type": "rule", "rule": {"expected": "x"}}}),
                "evaluator.expected.rule: unknown field (known: type, rules)",
            ),
            (
                serde_json::json!({"func": "exact_match", "result": {"type": "clipboard"}, "expected": {"type": "rules", "rules": {"expected": "x"}}}),
                "evaluator.expected.type: must be \"rule\", not \"rules\"",
            ),
            (
                serde_json::json!({"func": "float_close", "result": {"type": "clipboard"},
                    "expected": {"type": "rule", "rules": {"expected": "abc"}}}),
                "evaluator.expected.rules.expected: must be a number",
            ),
            (
                serde_json::json!({"func": "fuzzy_match", "result": {"type": "clipboard"}, "expected": rule, "options": {"threshold": 1.5}}),
                "evaluator.options.threshold: must be between 0 and 1",
            ),
            (
                serde_json::json!({"func": "float_close", "result": {"type": "clipboard"},
                    "expected": {"type": "rule", "rules": {"expected": 1}}, "options": {"tol": -1}}),
                "evaluator.options.tol: must be a non-negative number",
            ),
            (
                serde_json::json!({"func": "is_true", "result": {"type": "clipboard"}, "options": {"x": 1}}),
                "evaluator.options.x: unknown parameter",
            ),
            (
                serde_json::json!({"func": "is_true", "result": {"type": "clipboard"}, "expected": rule}),
                "evaluator.expected: is_true takes no expected value",
            ),
            (
                serde_json::json!({"func": "check_include_exclude", "result": {"type": "clipboard"},
                    "expected": {"type": "rule", "rules": {}}}),
                "evaluator.expected.rules: give include and/or exclude",
            ),
            (
                serde_json::json!({"func": "infeasible", "result": {"type": "clipboard"}}),
                "evaluator.result: infeasible reads no state",
            ),
            (
                serde_json::json!({"func": ["is_true", 7]}),
                "evaluator.func[1]: must be a metric name, not 7",
            ),
            (
                serde_json::json!({"func": [], "result": {"type": "clipboard"}}),
                "evaluator.func: must be a metric name or a non-empty list of them",
            ),
            (serde_json::json!({"result": {"type": "clipboard"}}), "evaluator.func: is missing"),
            (
                serde_json::json!({"func": "is_true", "conj": "xor", "result": {"type": "clipboard"}}),
                "evaluator.conj: must be \"and\" or \"or\", not \"xor\"",
            ),
            (
                serde_json::json!({"func": "is_true", "result": {"type": "clipboard"}, "resutl": 1}),
                "evaluator.resutl: unknown field (known: func, conj, result, expected, options)",
            ),
            (
                serde_json::json!({"func": ["is_true", "is_true"], "result": [{"type": "clipboard"}]}),
                "evaluator.result: has 1 entries but func has 2",
            ),
            // Objects only: serde would take a struct's fields as a list too.
            (
                serde_json::json!({"func": "exact_match", "result": {"type": "clipboard"}, "expected": rule, "options": [true, false]}),
                "evaluator.options: must be an object, not a list",
            ),
            (
                serde_json::json!({"func": "exact_match", "result": ["file_content", "~/a"], "expected": rule}),
                "evaluator.result: must be an object, not a list",
            ),
            (
                serde_json::json!({"func": "exact_match", "result": {"type": "clipboard"}, "expected": {"type": "rule", "rules": ["x"]}}),
                "evaluator.expected.rules: must be an object, not a list",
            ),
        ] {
            let e = parse_error(evaluator);
            assert!(e.contains(says), "{e}\n  should say: {says}");
        }
        let e = parse_error(Value::from(7));
        assert_eq!(e, "task t: evaluator: must be an object, not 7");
    }

    #[test]
    fn nulls_and_numbers_read_as_before() {
        let ev = parse_evaluator(&spec(serde_json::json!({
            "func": ["exact_match", "is_in_list", "float_close", "fuzzy_match", "is_true"],
            "result": [{"type": "clipboard", "selection": null},
                       {"type": "atspi_find", "app": "a", "role": "text", "name": null, "attr": null},
                       {"type": "clipboard", "selection": "primary"},
                       {"type": "atspi_find", "app": "a", "role": "label", "name": "n", "attr": "description"},
                       {"type": "window_title"}],
            "expected": [{"type": "rule", "rules": {"expected": 1.5e-7}},
                         {"type": "rule", "rules": {"expected": [1, 2.5, "x"]}},
                         {"type": "rule", "rules": {"expected": " 3.5 "}},
                         {"type": "rule", "rules": {"expected": 42}},
                         null],
            "options": [{"strip": null, "ignore_case": null}, null, {"tol": null}, {"threshold": null}, {}]
        })))
        .unwrap();
        assert_eq!(ev.conj, Conj::And);
        let getters: Vec<_> = ev
            .checks
            .iter()
            .map(|c| c.getter.clone().unwrap())
            .collect();
        assert_eq!(
            getters,
            [
                Getter::Clipboard {
                    selection: Selection::Clipboard
                },
                Getter::AtspiFind {
                    app: "a".into(),
                    role: "text".into(),
                    name: None,
                    attr: NodeAttr::Text
                },
                Getter::Clipboard {
                    selection: Selection::Primary
                },
                Getter::AtspiFind {
                    app: "a".into(),
                    role: "label".into(),
                    name: Some("n".into()),
                    attr: NodeAttr::Description
                },
                Getter::WindowTitle {},
            ]
        );
        let m: Vec<String> = ev
            .checks
            .iter()
            .map(|c| format!("{:?}", c.metric))
            .collect();
        assert_eq!(
            m,
            [
                r#"ExactMatch { expected: Text("1.5e-7"), strip: true, ignore_case: false }"#,
                r#"IsInList { expected: ["1", "2.5", "x"] }"#,
                "FloatClose { expected: 3.5, tol: 1e-6 }",
                r#"FuzzyMatch { expected: "42", threshold: 0.9 }"#,
                "IsTrue",
            ]
        );
        assert_eq!(ev.checks[1].func, "is_in_list");
    }

    /// The evaluators of `bad_task_files_are_refused_naming_the_task_step_and_field` in
    /// crates/cli/tests/suite/tasks.rs, parsed in process.
    #[test]
    fn the_cli_suites_bad_evaluators_are_refused_with_its_messages() {
        for (evaluator, says) in [
            (
                r#"{"func": "exact_match", "result": {"type": "file_contents", "path": "~/a"}, "expected": {"type": "rule", "rules": {"expected": "x"}}}"#,
                "evaluator.result.type: unknown getter \"file_contents\"",
            ),
            (
                r#"{"func": ["exact_match", "similar_match"], "result": [{"type": "clipboard"}, {"type": "clipboard"}], "expected": [{"type": "rule", "rules": {"expected": "x"}}, {"type": "rule", "rules": {"expected": "x"}}]}"#,
                "evaluator.func[1]: unknown metric \"similar_match\"",
            ),
            (
                r#"{"func": "exact_match", "result": {"type": "clipboard"}}"#,
                "evaluator.expected: is missing",
            ),
            (
                r#"{"func": "regex_match", "result": {"type": "window_titles"}, "expected": {"type": "rule", "rules": {"pattern": "(unclosed"}}}"#,
                "evaluator.expected.rules.pattern: bad regular expression",
            ),
            (
                r#"{"func": "exact_match", "result": {"type": "clipboard"}, "expected": {"type": "rule", "rules": {"expected": "x"}}, "options": {"strp": false}}"#,
                "evaluator.options.strp: unknown parameter",
            ),
        ] {
            let spec = TaskSpec::from_json(&format!(
                r#"{{"id": "t4", "instruction": "x", "evaluator": {evaluator}}}"#
            ))
            .unwrap();
            let e = parse_evaluator(&spec).unwrap_err();
            assert!(matches!(e, TaskError::Field { .. }), "{e:?}");
            let e = e.to_string();
            assert!(e.contains("task t4") && e.contains(says), "{e}");
        }
        let spec = TaskSpec::from_json(
            r#"{"id": "t5", "instruction": "x", "evaluator": {"func": "exact_match", "result": {"type": "file_contents", "path": "~/a"}, "expected": {"type": "rule", "rules": {"expected": "x"}}}}"#,
        )
        .unwrap();
        let e = validate(&spec).unwrap_err().to_string();
        assert!(
            e.contains("task t5: evaluator.result.type: unknown getter"),
            "{e}"
        );
    }

    #[test]
    fn every_task_file_of_the_repo_loads() {
        let dir = super::super::repo_eval_dir().join("tasks");
        let files = std::fs::read_dir(&dir)
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .path()
                    .extension()
                    .is_some_and(|x| x == "json")
            })
            .count();
        let tasks = super::super::load_tasks(&dir).unwrap();
        assert!(files > 0, "no tasks in {}", dir.display());
        assert_eq!(tasks.len(), files);
        for task in &tasks {
            let ev = parse_evaluator(task).unwrap();
            assert!(!ev.checks.is_empty(), "{}", task.id);
        }
    }
}
