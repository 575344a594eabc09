//! The real-app tasks of `eval/tasks` (the dev set and the project's own), each checked three
//! ways in fresh desktops: no agent scores 0, the scripted correct solution (run through the
//! real `deskhand do`) scores 1, a plausible mistake scores 0. Bad task files are refused with
//! errors naming the task, step and field.

use std::path::{Path, PathBuf};

use deskhand_eval::tasks::{self, DeskhandRunner, TaskError};

use super::{deskhand, text};

fn eval_dir() -> PathBuf {
    tasks::repo_eval_dir()
}

fn three_way(id: &str) {
    let dir = eval_dir();
    let spec = tasks::load_task(&dir.join("tasks").join(format!("{id}.json"))).unwrap();
    let solution = tasks::load_solution(&dir.join("solutions"), id).unwrap();
    let runner = DeskhandRunner::new(env!("CARGO_BIN_EXE_deskhand"));
    let check = tasks::check_task(&spec, &solution, &runner).unwrap();
    assert!(
        check.ok(),
        "{id}: no_agent {} correct {} mistake {}\n{check:#?}",
        check.no_agent.score,
        check.correct.score,
        check.mistake.score
    );
    assert_eq!(
        (
            check.no_agent.score,
            check.correct.score,
            check.mistake.score
        ),
        (0.0, 1.0, 0.0)
    );
}

macro_rules! three_way_tests {
    ($($name:ident => $id:literal),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                three_way($id);
            }
        )*
        /// Every task file has its three-way test above.
        const TESTED: &[&str] = &[$($id),*];
    };
}

three_way_tests! {
    // The dev set (shared/eval/tasks, copied unchanged).
    galculator_multiply => "galculator-multiply",
    galculator_sqrt_clipboard => "galculator-sqrt-clipboard",
    mousepad_append_unsaved => "mousepad-append-unsaved",
    mousepad_copy_email => "mousepad-copy-email",
    mousepad_fix_typo => "mousepad-fix-typo",
    mousepad_infeasible_collab => "mousepad-infeasible-collab",
    mousepad_new_file => "mousepad-new-file",
    xterm_count_errors => "xterm-count-errors",
    // The project's own.
    galculator_subtract => "galculator-subtract",
    galculator_divide_clipboard => "galculator-divide-clipboard",
    galculator_infeasible_graph => "galculator-infeasible-graph",
    mousepad_delete_line => "mousepad-delete-line",
    mousepad_insert_heading => "mousepad-insert-heading",
    mousepad_save_as_copy => "mousepad-save-as-copy",
    mousepad_replace_word => "mousepad-replace-word",
    xterm_make_directory => "xterm-make-directory",
    xterm_word_count => "xterm-word-count",
    xterm_sort_names => "xterm-sort-names",
    thunar_new_folder => "thunar-new-folder",
    thunar_rename_file => "thunar-rename-file",
    xterm_largest_file => "xterm-largest-file",
    mousepad_copy_phone => "mousepad-copy-phone",
    xterm_private_file => "xterm-private-file",
    // Direct commands on apps whose content only vision sees: a drag, modifier clicks,
    // a spreadsheet cell by address.
    thunar_move_into_folder => "thunar-move-into-folder",
    thunar_copy_two_files => "thunar-copy-two-files",
    gnumeric_set_cell => "gnumeric-set-cell",
    // Across applications (the Steward's tasks): a fact read in one app is used in another.
    cross_terminal_count_to_note => "cross-terminal-count-to-note",
    cross_note_total_to_calculator => "cross-note-total-to-calculator",
    cross_files_to_note => "cross-files-to-note",
    cross_terminal_to_calculator => "cross-terminal-to-calculator",
    cross_calculator_to_note => "cross-calculator-to-note",
}

#[test]
fn every_task_loads_has_a_solution_and_a_three_way_test() {
    let dir = eval_dir();
    let specs = tasks::load_tasks(&dir.join("tasks")).unwrap();
    assert!(specs.len() >= 16, "{}", specs.len());
    let mut ids: Vec<&str> = specs.iter().map(|s| s.id.as_str()).collect();
    let mut tested = TESTED.to_vec();
    ids.sort();
    tested.sort();
    assert_eq!(ids, tested);
    for s in &specs {
        tasks::load_solution(&dir.join("solutions"), &s.id).unwrap();
    }
    // The dev set is copied unchanged.
    let shared = Path::new("/work/shared/eval/tasks");
    if shared.is_dir() {
        for entry in std::fs::read_dir(shared).unwrap() {
            let path = entry.unwrap().path();
            let ours = dir.join("tasks").join(path.file_name().unwrap());
            assert_eq!(
                std::fs::read(&path).unwrap(),
                std::fs::read(&ours).unwrap(),
                "{}",
                ours.display()
            );
        }
    }
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

const GOOD_EVALUATOR: &str = r#"{"func": "exact_match", "result": {"type": "file_content", "path": "~/a.txt"}, "expected": {"type": "rule", "rules": {"expected": "x"}}}"#;

#[test]
fn bad_task_files_are_refused_naming_the_task_step_and_field() {
    let dir = tempfile::tempdir().unwrap();
    // A typo in a top-level field: serde names it and its line.
    let p = write(
        dir.path(),
        "typo.json",
        &format!("{{\"id\": \"t1\",\n\"instrution\": \"x\",\n\"evaluator\": {GOOD_EVALUATOR}}}"),
    );
    let e = tasks::load_task(&p).unwrap_err().to_string();
    assert!(
        e.contains("typo.json") && e.contains("instrution") && e.contains("line 2"),
        "{e}"
    );

    // An unknown set-up type.
    let p = write(
        dir.path(),
        "setup.json",
        &format!(
            r#"{{"id": "t2", "instruction": "x", "config": [
                {{"type": "launch", "parameters": {{"command": ["xterm"]}}}},
                {{"type": "open_browser", "parameters": {{}}}}], "evaluator": {GOOD_EVALUATOR}}}"#
        ),
    );
    let e = tasks::load_task(&p).unwrap_err();
    assert!(matches!(e, TaskError::Setup { step: 1, .. }), "{e:?}");
    let e = e.to_string();
    assert!(
        e.contains("t2")
            && e.contains("config[1]")
            && e.contains("open_browser")
            && e.contains("known: create_file"),
        "{e}"
    );

    // A misspelt parameter of a known step, and a wrongly typed one.
    for (params, field) in [
        (r#"{"path": "~/a", "contnet": "x"}"#, "parameters.contnet"),
        (r#"{"path": 7, "content": "x"}"#, "parameters.path"),
        (r#"{"path": "~/a"}"#, "parameters.content"),
    ] {
        let p = write(
            dir.path(),
            "param.json",
            &format!(
                r#"{{"id": "t3", "instruction": "x", "config": [
                    {{"type": "create_file", "parameters": {params}}}], "evaluator": {GOOD_EVALUATOR}}}"#
            ),
        );
        let e = tasks::load_task(&p).unwrap_err().to_string();
        assert!(
            e.contains("t3") && e.contains("config[0] (create_file)") && e.contains(field),
            "{e}"
        );
    }

    // An unknown getter, an unknown metric, a missing rule, a bad regex.
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
        let p = write(
            dir.path(),
            "evaluator.json",
            &format!(r#"{{"id": "t4", "instruction": "x", "evaluator": {evaluator}}}"#),
        );
        let e = tasks::load_task(&p).unwrap_err().to_string();
        assert!(e.contains("task t4") && e.contains(says), "{e}");
    }

    // The CLI refuses the directory with the same message and exit code 2.
    let only = tempfile::tempdir().unwrap();
    write(
        only.path(),
        "bad.json",
        r#"{"id": "t5", "instruction": "x", "evaluator": {"func": "exact_match", "result": {"type": "file_contents", "path": "~/a"}, "expected": {"type": "rule", "rules": {"expected": "x"}}}}"#,
    );
    let data = tempfile::tempdir().unwrap();
    let out = deskhand(
        data.path(),
        &["eval", "tasks", "--dir", only.path().to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("task t5: evaluator.result.type: unknown getter"),
        "{}",
        text(&out)
    );

    // A solution whose command does not parse.
    let sols = tempfile::tempdir().unwrap();
    write(
        sols.path(),
        "t6.json",
        r#"{"correct": ["clik 'OK'"], "mistake": []}"#,
    );
    let e = tasks::load_solution(sols.path(), "t6")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("t6") && e.contains("correct[0]") && e.contains("clik"),
        "{e}"
    );
}

#[test]
fn the_cli_lists_the_tasks_and_checks_one_three_ways() {
    let data = tempfile::tempdir().unwrap();
    let dir = eval_dir().join("tasks");
    let out = deskhand(
        data.path(),
        &["eval", "tasks", "--dir", dir.to_str().unwrap()],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("task(s) valid"), "{}", text(&out));
    assert!(text(&out).contains("mousepad-fix-typo"), "{}", text(&out));
    let out = deskhand(
        data.path(),
        &[
            "eval",
            "tasks",
            "--dir",
            dir.to_str().unwrap(),
            "--id",
            "galculator-multiply",
            "--check",
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    let line = text(&out)
        .lines()
        .find(|l| l.starts_with("galculator-multiply"))
        .unwrap()
        .to_string();
    let cols: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(
        cols,
        ["galculator-multiply", "0", "1", "0", "yes"],
        "{line}"
    );
}

#[test]
fn a_setup_step_that_fails_in_the_desktop_is_named() {
    let spec = deskhand_core::task::TaskSpec::from_json(&format!(
        r#"{{"id": "t7", "instruction": "x", "config": [
            {{"type": "create_file", "parameters": {{"path": "~/a.txt", "lines": ["one", "two"]}}}},
            {{"type": "launch", "parameters": {{"command": ["xterm", "-title", "term"]}}}},
            {{"type": "wait_window", "parameters": {{"title": "no such window", "timeout": 1}}}}],
            "evaluator": {GOOD_EVALUATOR}}}"#
    ))
    .unwrap();
    let e = tasks::TaskSession::start(&spec).unwrap_err();
    assert!(matches!(e, TaskError::SetupFailed { step: 2, .. }), "{e:?}");
    assert!(
        e.to_string()
            .contains("task t7: config[2] (wait_window) failed"),
        "{e}"
    );

    let mut ok = spec.clone();
    ok.config.truncate(2);
    ok.config.push(deskhand_core::task::SetupStep {
        kind: "wait_window".into(),
        parameters: serde_json::json!({"title": "^term$", "regex": true}),
    });
    let session = tasks::TaskSession::start(&ok).unwrap();
    assert_eq!(
        std::fs::read_to_string(session.home().join("a.txt")).unwrap(),
        "one\ntwo\n"
    );
    // A process run with the session's environment lives in its desktop.
    let out = session
        .command("xdotool")
        .args(["search", "--name", "^term$"])
        .output()
        .unwrap();
    assert!(out.status.success() && !out.stdout.is_empty());
    let score = tasks::evaluate(&ok, &session, tasks::AgentVerdict::Done);
    assert_eq!(score.score, 0.0);
    assert!(
        score.details[0].contains("got \"one\\ntwo\\n\", expected \"x\" -> 0"),
        "{:?}",
        score.details
    );

    let mut missing = ok.clone();
    missing.config[1].parameters = serde_json::json!({"command": ["no-such-program-xyz"]});
    let e = tasks::TaskSession::start(&missing).unwrap_err().to_string();
    assert!(
        e.contains("config[1] (launch)") && e.contains("no-such-program-xyz is not installed"),
        "{e}"
    );
}
