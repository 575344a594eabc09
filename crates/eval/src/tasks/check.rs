//! Solutions and the three-way check of a task: no agent scores 0, the scripted correct
//! solution scores 1, a plausible mistake scores 0 — each in a fresh desktop.

use std::path::{Path, PathBuf};
use std::time::Duration;

use deskhand_core::task::TaskSpec;
use serde::{Deserialize, Serialize};

use super::error::TaskError;
use super::evaluator::{evaluate_within, AgentVerdict, Score};
use super::session::TaskSession;

/// The verdict a scripted solution ends with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SolutionVerdict {
    /// The task is done.
    #[default]
    Done,
    /// The task cannot be done (infeasible).
    Fail,
}

impl From<SolutionVerdict> for AgentVerdict {
    fn from(v: SolutionVerdict) -> AgentVerdict {
        match v {
            SolutionVerdict::Done => AgentVerdict::Done,
            SolutionVerdict::Fail => AgentVerdict::Fail,
        }
    }
}

/// A task's scripted solutions: lines of the `deskhand do` language.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Solution {
    /// Commands that do the task.
    pub correct: Vec<String>,
    /// The verdict after them (`fail` for an infeasible task, with no commands).
    #[serde(default)]
    pub verdict: SolutionVerdict,
    /// Commands of a plausible mistake.
    pub mistake: Vec<String>,
    /// The verdict after the mistake.
    #[serde(default)]
    pub mistake_verdict: SolutionVerdict,
    /// Why the mistake is wrong (for people reading the file).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl Solution {
    /// Checks that every command parses.
    pub fn validate(&self, task: &str) -> Result<(), TaskError> {
        for (which, cmds) in [("correct", &self.correct), ("mistake", &self.mistake)] {
            for (i, c) in cmds.iter().enumerate() {
                deskhand_core::command::Command::parse(c).map_err(|e| TaskError::Solution {
                    task: task.to_string(),
                    message: format!("{which}[{i}] {c:?}: {e}"),
                })?;
            }
        }
        Ok(())
    }
}

/// Loads `<dir>/<id>.json`.
pub fn load_solution(dir: &Path, id: &str) -> Result<Solution, TaskError> {
    let path = dir.join(format!("{id}.json"));
    let text = std::fs::read_to_string(&path).map_err(TaskError::io(&path, "read the solution"))?;
    let solution: Solution = serde_json::from_str(&text).map_err(|e| TaskError::Parse {
        path: path.clone(),
        message: format!("invalid solution file: {e}"),
    })?;
    solution.validate(id)?;
    Ok(solution)
}

/// What a run of the `deskhand` binary gave.
#[derive(Debug, Clone)]
pub struct RunOutput {
    /// It exited with success.
    pub success: bool,
    /// Its stdout and stderr.
    pub output: String,
}

/// Runs commands through the real `deskhand do` binary in a task's desktop.
#[derive(Debug, Clone)]
pub struct DeskhandRunner {
    exe: PathBuf,
}

impl DeskhandRunner {
    /// Uses this `deskhand` binary.
    pub fn new(exe: impl Into<PathBuf>) -> DeskhandRunner {
        DeskhandRunner { exe: exe.into() }
    }

    /// Runs `deskhand do <commands>` in the session's desktop with a private data directory.
    pub fn run(&self, session: &TaskSession, commands: &[String]) -> Result<RunOutput, TaskError> {
        if commands.is_empty() {
            return Ok(RunOutput {
                success: true,
                output: String::new(),
            });
        }
        let data = session.desktop().runtime_dir().join("deskhand-data");
        let out = session
            .command(&self.exe)
            .arg("--data-dir")
            .arg(&data)
            .arg("do")
            .args(commands)
            .env("RUST_LOG", "error")
            .env("NO_COLOR", "1")
            .stdin(std::process::Stdio::null())
            .output()
            .map_err(|source| TaskError::Runner {
                program: self.exe.display().to_string(),
                source,
            })?;
        Ok(RunOutput {
            success: out.status.success(),
            output: format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        })
    }
}

/// The scores of the three-way check.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ThreeWay {
    /// With no agent.
    pub no_agent: Score,
    /// After the correct solution.
    pub correct: Score,
    /// After the mistake.
    pub mistake: Score,
}

impl ThreeWay {
    /// True when the task is trustworthy: (0, 1, 0).
    pub fn ok(&self) -> bool {
        !self.no_agent.passed() && self.correct.passed() && !self.mistake.passed()
    }
}

/// How long the check waits for state to settle after a solution (a save lands a moment
/// after its keystroke).
pub const SETTLE: Duration = Duration::from_secs(3);

/// Runs one scripted solution in a fresh session and scores it.
pub fn score_run(
    spec: &TaskSpec,
    commands: &[String],
    verdict: AgentVerdict,
    runner: &DeskhandRunner,
) -> Result<Score, TaskError> {
    let session = TaskSession::start(spec)?;
    let run = runner.run(&session, commands)?;
    let mut score = evaluate_within(spec, &session, verdict, SETTLE);
    if !run.success {
        let tail: Vec<&str> = run.output.lines().rev().take(8).collect();
        score.details.push(format!(
            "deskhand do failed: {}",
            tail.into_iter().rev().collect::<Vec<_>>().join(" | ")
        ));
    }
    Ok(score)
}

/// The three-way check of a task: no agent, the correct solution, the mistake, each in a
/// fresh desktop.
pub fn check_task(
    spec: &TaskSpec,
    solution: &Solution,
    runner: &DeskhandRunner,
) -> Result<ThreeWay, TaskError> {
    solution.validate(&spec.id)?;
    let no_agent = score_run(spec, &[], AgentVerdict::None, runner)?;
    let correct = score_run(spec, &solution.correct, solution.verdict.into(), runner)?;
    let mistake = score_run(
        spec,
        &solution.mistake,
        solution.mistake_verdict.into(),
        runner,
    )?;
    Ok(ThreeWay {
        no_agent,
        correct,
        mistake,
    })
}
