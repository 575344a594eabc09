//! Tasks run by the agents: `deskhand run` with the configured model in each task's fresh
//! desktop, judged by the task's evaluator.

use std::path::Path;
use std::time::Instant;

use deskhand_core::task::TaskSpec;
use serde::Serialize;

use super::check::SETTLE;
use super::evaluator::{evaluate_within, AgentVerdict, Score};
use super::{TaskError, TaskSession};

/// One task run by the agents.
#[derive(Debug, Clone, Serialize)]
pub struct AgentRun {
    /// The task id.
    pub task: String,
    /// What the evaluator says.
    pub score: Score,
    /// The verdict the run ended with.
    pub verdict: AgentVerdict,
    /// The exit code of `deskhand run` (0 succeeded, 1 failed, 3 infeasible, 4 cancelled).
    pub exit_code: Option<i32>,
    /// Wall time of the run.
    pub seconds: f64,
    /// The last lines of its output (steps, calls, tokens).
    pub tail: Vec<String>,
}

/// The verdict of a `deskhand run` exit code.
pub fn verdict_of(exit_code: Option<i32>) -> AgentVerdict {
    match exit_code {
        Some(0) => AgentVerdict::Done,
        Some(3) => AgentVerdict::Fail,
        _ => AgentVerdict::None,
    }
}

/// Runs `exe run <instruction> --max-steps <task's>` in a fresh desktop set up as the task
/// says, with this process's model configuration, then scores the outcome. `data_dir` keeps
/// the runs, tips and shortcuts (so later tasks learn from earlier ones).
pub fn agent_run(
    spec: &TaskSpec,
    exe: &Path,
    data_dir: Option<&Path>,
) -> Result<AgentRun, TaskError> {
    let session = TaskSession::start(spec)?;
    let mut cmd = session.command(exe);
    if let Some(dir) = data_dir {
        cmd.arg("--data-dir").arg(dir);
    }
    let started = Instant::now();
    let out = cmd
        .arg("run")
        .arg(&spec.instruction)
        .args(["--max-steps", &spec.max_steps.to_string()])
        .env("RUST_LOG", "warn")
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|source| TaskError::Runner {
            program: exe.display().to_string(),
            source,
        })?;
    let seconds = started.elapsed().as_secs_f64();
    let exit_code = out.status.code();
    let verdict = verdict_of(exit_code);
    let score = evaluate_within(spec, &session, verdict, SETTLE);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let mut tail: Vec<String> = text.lines().rev().take(4).map(str::to_string).collect();
    tail.reverse();
    Ok(AgentRun {
        task: spec.id.clone(),
        score,
        verdict,
        exit_code,
        seconds,
        tail,
    })
}
