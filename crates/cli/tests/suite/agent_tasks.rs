//! Every dev-set task (shared/eval/tasks, copied to eval/tasks) run by the real agent loop in
//! its own fresh desktop and judged by the task's own evaluator. The scripted model plays a
//! model that knows the task's solution (eval/solutions): its Operator reads the screen tree
//! in each prompt to find the ids of the elements a solution step names, so every action is
//! chosen, validated, grounded and executed by the real runtime.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use deskhand_core::command::{Command, PointerVerb, TargetQuery};
use deskhand_core::task::TaskSpec;
use deskhand_eval::tasks::{
    evaluate_within, load_solution, load_task, repo_eval_dir, verdict_of, AgentVerdict, Solution,
    SolutionVerdict, TaskSession, SETTLE,
};
use deskhand_testkit::model_server::{RecordedRequest, Reply, ScriptedModelServer};
use serde_json::{json, Value};

use super::agent::agent_command;
use super::text;

/// The id of the first node in the prompt's screen tree with this role (if given) and
/// exactly this name ("" = unnamed).
pub(super) fn find_node(prompt: &str, role: Option<&str>, name: &str) -> Option<String> {
    let screen = &prompt[prompt.rfind("### Current screen")?..];
    screen.lines().find_map(|line| {
        let line = line.trim_start();
        let (id, rest) = line.split_once(' ')?;
        let role_end = [" \"", " =\"", " ["]
            .iter()
            .filter_map(|m| rest.find(m))
            .min()
            .unwrap_or(rest.len());
        let (node_role, after) = rest.split_at(role_end);
        let node_name = after
            .strip_prefix(" \"")
            .and_then(|s| s.split_once('"'))
            .map(|(n, _)| n)
            .unwrap_or("");
        let role_ok = role.is_none_or(|r| deskhand_core::grounding::kind_matches(r, node_role));
        (role_ok && node_name == name && !id.is_empty()).then(|| id.to_string())
    })
}

/// The action JSON for a solution command on the screen in the prompt.
pub(super) fn action_for(command: &str, prompt: &str) -> Value {
    let parsed = Command::parse(command).expect("solutions parse");
    let target = |q: &TargetQuery| -> Value {
        match q {
            TargetQuery::Label { name, role } => match find_node(prompt, role.as_deref(), name) {
                Some(id) => json!({"by": "node", "id": id}),
                None => json!({"by": "node", "id": format!("missing:{name}")}),
            },
            TargetQuery::At(p) => json!({"by": "point", "x": p.x, "y": p.y}),
            TargetQuery::Node(id) => json!({"by": "node", "id": id}),
            TargetQuery::Description(d) => {
                let name = d.trim_matches('"').to_string();
                match find_node(prompt, None, &name) {
                    Some(id) => json!({"by": "node", "id": id}),
                    None => json!({"by": "node", "id": format!("missing:{name}")}),
                }
            }
        }
    };
    match parsed {
        Command::Direct(action) => serde_json::to_value(action).unwrap(),
        Command::Pointer {
            verb, target: q, ..
        } => {
            let kind = match verb {
                PointerVerb::Click | PointerVerb::MiddleClick => "click",
                PointerVerb::DoubleClick => "double_click",
                PointerVerb::TripleClick => "triple_click",
                PointerVerb::RightClick => "right_click",
                PointerVerb::Hover => "hover",
            };
            json!({"kind": kind, "target": target(&q)})
        }
        Command::Scroll { target: q, amount } => {
            json!({"kind": "scroll", "target": target(&q), "amount": amount})
        }
        Command::Drag { from, to } => {
            json!({"kind": "drag", "from": target(&from), "to": target(&to)})
        }
    }
}

/// Scripts the model as one that knows the task's solution.
fn script_solution(server: &ScriptedModelServer, spec: &TaskSpec, solution: &Solution) {
    let instruction = spec.instruction.clone();
    server.responder(
        "manager",
        Box::new(move |_req: &RecordedRequest, _turn| {
            Reply::json(
                &json!({"thought": "one subgoal", "plan": format!("1. {instruction}"),
                "current_subgoal": instruction}),
            )
        }),
    );
    let next = Arc::new(AtomicUsize::new(0));
    let commands = solution.correct.clone();
    let verdict = solution.verdict;
    server.responder(
        "operator",
        Box::new(move |req: &RecordedRequest, _turn| {
            let i = next.fetch_add(1, Ordering::SeqCst);
            let action = match commands.get(i) {
                Some(c) => action_for(c, &req.text),
                None if verdict == SolutionVerdict::Fail => {
                    json!({"kind": "fail", "reason": "the application cannot do this"})
                }
                None => json!({"kind": "done", "summary": "done"}),
            };
            Reply::json(&json!({"thought": format!("solution step {i}"), "action": action}))
        }),
    );
    server.responder(
        "reflector",
        Box::new(|_req: &RecordedRequest, _turn| {
            Reply::json(
                &json!({"outcome": "A", "error_description": "", "progress": "",
                "subgoal_done": false}),
            )
        }),
    );
    server.responder(
        "tips",
        Box::new(|_req: &RecordedRequest, _turn| Reply::json(&json!({"tips": []}))),
    );
    server.responder(
        "shortcuts",
        Box::new(|_req: &RecordedRequest, _turn| Reply::json(&json!({"shortcuts": []}))),
    );
}

fn load(id: &str) -> (TaskSpec, Solution) {
    let dir = repo_eval_dir();
    let spec = load_task(&dir.join("tasks").join(format!("{id}.json"))).unwrap();
    let solution = load_solution(&dir.join("solutions"), id).unwrap();
    (spec, solution)
}

fn run_task(id: &str) {
    let (spec, solution) = load(id);
    let session = TaskSession::start(&spec).unwrap();
    let server = ScriptedModelServer::start().unwrap();
    script_solution(&server, &spec, &solution);

    let data = session.desktop().runtime_dir().join("agent-data");
    let mut cmd = agent_command(Path::new(&data), &server, &spec.instruction);
    cmd.args(["--max-steps", &spec.max_steps.to_string()]);
    for (k, v) in session.env() {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run deskhand");
    let verdict = verdict_of(out.status.code());
    assert_ne!(verdict, AgentVerdict::None, "{}", text(&out));
    // A save lands a moment after its keystroke: the evaluator waits up to SETTLE for it.
    let score = evaluate_within(&spec, &session, verdict, SETTLE);
    assert!(score.passed(), "{id}: {:?}\n{}", score.details, text(&out));
    // One Operator answer per solution step, plus the final done/fail.
    assert!(server.count("operator") > solution.correct.len());
}

/// `deskhand eval tasks --agent` runs each task with the configured model in a fresh desktop
/// and scores it; without a model it says how to configure one before any desktop starts.
#[test]
fn eval_tasks_with_the_agents_scores_each_task() {
    let (spec, solution) = load("galculator-multiply");
    let server = ScriptedModelServer::start().unwrap();
    script_solution(&server, &spec, &solution);
    let data = tempfile::tempdir().unwrap();
    let dir = repo_eval_dir().join("tasks");
    let mut cmd = agent_command(data.path(), &server, "unused");
    // agent_command ends with `run <instruction>`: build the eval command with its env.
    let envs: Vec<(String, String)> = cmd
        .get_envs()
        .filter_map(|(k, v)| Some((k.to_str()?.to_string(), v?.to_str()?.to_string())))
        .collect();
    cmd = std::process::Command::new(env!("CARGO_BIN_EXE_deskhand"));
    cmd.arg("--data-dir").arg(data.path());
    cmd.args([
        "eval",
        "tasks",
        "--agent",
        "--id",
        "galculator-multiply",
        "--dir",
    ]);
    cmd.arg(&dir);
    cmd.envs(envs);
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("1 of 1 task(s) done by the agents"),
        "{}",
        text(&out)
    );
    assert!(server.count("operator") > solution.correct.len());

    let out = std::process::Command::new(env!("CARGO_BIN_EXE_deskhand"))
        .arg("--data-dir")
        .arg(data.path())
        .args(["eval", "tasks", "--agent", "--dir"])
        .arg(&dir)
        .env_remove("DESKHAND_MODEL_URL")
        .env_remove("DESKHAND_MODEL")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(text(&out).contains("DESKHAND_MODEL_URL"), "{}", text(&out));
}

macro_rules! dev_task {
    ($name:ident, $id:literal) => {
        #[test]
        fn $name() {
            run_task($id);
        }
    };
}

dev_task!(agent_does_galculator_multiply, "galculator-multiply");
dev_task!(
    agent_does_galculator_sqrt_clipboard,
    "galculator-sqrt-clipboard"
);
dev_task!(
    agent_does_mousepad_append_unsaved,
    "mousepad-append-unsaved"
);
dev_task!(agent_does_mousepad_copy_email, "mousepad-copy-email");
dev_task!(agent_does_mousepad_fix_typo, "mousepad-fix-typo");
dev_task!(
    agent_says_mousepad_collab_is_infeasible,
    "mousepad-infeasible-collab"
);
dev_task!(agent_does_mousepad_new_file, "mousepad-new-file");
dev_task!(agent_does_xterm_count_errors, "xterm-count-errors");
