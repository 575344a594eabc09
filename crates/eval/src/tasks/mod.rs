//! Real-app tasks in the shape of OSWorld's task files: set a fresh desktop up as a task's
//! `config` says ([`TaskSession`]), judge the outcome from real state with its `evaluator`
//! ([`evaluate`]), and check each task three ways with scripted solutions ([`check_task`]).

mod agent;
mod check;
mod error;
mod evaluator;
mod session;
mod setup;

use std::path::{Path, PathBuf};

use deskhand_core::task::TaskSpec;

pub use agent::{agent_run, verdict_of, AgentRun};
pub use check::{
    check_task, load_solution, score_run, DeskhandRunner, RunOutput, Solution, SolutionVerdict,
    ThreeWay, SETTLE,
};
pub use error::TaskError;
pub use evaluator::{
    apply, evaluate, evaluate_within, expand_home, get, parse_evaluator, validate, AgentVerdict,
    Check, Conj, Evaluator, Expected, Getter, Metric, NodeAttr, Score, Selection, StateValue,
};
pub use session::TaskSession;
pub use setup::{parse_setup, parse_step, snapshot_size, Setup, SETUP_TYPES};

/// The repository's `eval/` directory (tasks in `eval/tasks`, solutions in `eval/solutions`).
pub fn repo_eval_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../eval")
}

/// Loads and checks one task file.
pub fn load_task(path: &Path) -> Result<TaskSpec, TaskError> {
    let text = std::fs::read_to_string(path).map_err(TaskError::io(path, "read the task"))?;
    let spec = TaskSpec::from_json(&text).map_err(|message| TaskError::Parse {
        path: path.to_path_buf(),
        message,
    })?;
    validate(&spec)?;
    Ok(spec)
}

/// Loads every `*.json` task of a directory, sorted by id; each is checked (setup steps,
/// evaluator) and ids must be unique.
pub fn load_tasks(dir: &Path) -> Result<Vec<TaskSpec>, TaskError> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(TaskError::io(dir, "list the tasks"))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    paths.sort();
    let mut tasks: Vec<TaskSpec> = Vec::new();
    for p in &paths {
        let spec = load_task(p)?;
        if tasks.iter().any(|t| t.id == spec.id) {
            return Err(TaskError::Parse {
                path: p.clone(),
                message: format!("task id {:?} is used twice", spec.id),
            });
        }
        tasks.push(spec);
    }
    tasks.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(tasks)
}
