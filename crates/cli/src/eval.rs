//! `deskhand eval ...`: benchmarks on real applications (the logic is in deskhand-eval).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Subcommand;
use deskhand_eval::{GroundingOptions, Resolution};

/// A benchmark.
#[derive(Subcommand)]
pub enum EvalCmd {
    /// ScreenSpot-style grounding: point-in-box accuracy on real apps, text/icon, per app.
    Grounding {
        /// Applications, comma-separated (default: mousepad,galculator,thunar,gnumeric,abiword).
        #[arg(long, value_delimiter = ',')]
        apps: Vec<String>,
        /// Screen sizes, comma-separated (default: 1280x800,1920x1080).
        #[arg(long, value_delimiter = ',')]
        resolutions: Vec<String>,
        /// Grounders, comma-separated (default: all).
        #[arg(long, value_delimiter = ',')]
        grounders: Vec<String>,
        /// Build the set again even when it is cached.
        #[arg(long)]
        rebuild: bool,
        /// Leave out the dialog states (faster to build).
        #[arg(long)]
        no_dialogs: bool,
    },
    /// Real-app tasks (OSWorld-shaped task files): list and validate them, or with `--check`
    /// run each three ways (no agent, correct solution, mistake) in fresh desktops.
    Tasks {
        /// The task directory.
        #[arg(long, default_value = "eval/tasks")]
        dir: PathBuf,
        /// The solutions directory (default: `solutions` next to the task directory).
        #[arg(long)]
        solutions: Option<PathBuf>,
        /// Only the task with this id (repeatable).
        #[arg(long)]
        id: Vec<String>,
        /// Run the three-way check; exits 1 unless every task scores (0, 1, 0).
        #[arg(long, conflicts_with = "agent")]
        check: bool,
        /// Run each task with the agents (`deskhand run`, the configured model) in a fresh
        /// desktop and score it with its evaluator; tips and shortcuts accumulate in the data
        /// directory across tasks. Exits 1 unless every task scores 1.
        #[arg(long)]
        agent: bool,
    },
}

/// Runs a benchmark and prints its report (a table, or JSON with `--json`).
pub fn run(
    cmd: EvalCmd,
    overrides: &deskhand_host::Overrides,
    json: bool,
) -> anyhow::Result<ExitCode> {
    match cmd {
        EvalCmd::Tasks {
            dir,
            solutions,
            id,
            check,
            agent,
        } => {
            if agent {
                return agent_tasks(&dir, &id, overrides, json);
            }
            tasks(&dir, solutions, &id, check, json)
        }
        EvalCmd::Grounding {
            apps,
            resolutions,
            grounders,
            rebuild,
            no_dialogs,
        } => {
            let dir: PathBuf = match overrides.data_dir.as_deref() {
                Some(d) => d.join("eval").join("grounding"),
                None => deskhand_eval::default_data_dir(),
            };
            let models = deskhand_inference::ModelPaths::from_cache_dir(
                deskhand_inference::default_cache_dir(),
            );
            let mut options = GroundingOptions::new(dir, models);
            if !apps.is_empty() {
                options.apps = apps;
            }
            if !resolutions.is_empty() {
                options.resolutions = resolutions
                    .iter()
                    .map(|r| Resolution::parse(r))
                    .collect::<Result<_, _>>()?;
            }
            if !grounders.is_empty() {
                options.grounders = grounders;
            }
            options.rebuild = rebuild;
            options.dialogs = !no_dialogs;
            let report = deskhand_eval::run(&options)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                print!("{}", report.table());
                println!("set cached in {}", options.data_dir.display());
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn select(dir: &Path, ids: &[String]) -> anyhow::Result<Vec<deskhand_core::task::TaskSpec>> {
    let mut specs = deskhand_eval::tasks::load_tasks(dir)?;
    if !ids.is_empty() {
        if let Some(missing) = ids.iter().find(|i| !specs.iter().any(|s| &s.id == *i)) {
            anyhow::bail!("no task {missing:?} in {}", dir.display());
        }
        specs.retain(|s| ids.contains(&s.id));
    }
    Ok(specs)
}

/// `deskhand eval tasks --agent`: every task run by the agents and scored.
fn agent_tasks(
    dir: &Path,
    ids: &[String],
    overrides: &deskhand_host::Overrides,
    json: bool,
) -> anyhow::Result<ExitCode> {
    use deskhand_eval::tasks;
    let specs = select(dir, ids)?;
    // The model configuration is checked before any desktop starts.
    let config = deskhand_host::Config::load(overrides)?;
    deskhand_host::model_router(&config)?;
    let exe = std::env::current_exe()?;
    let data = config.data_dir.clone();
    if !json {
        println!(
            "{:<32} {:>5} {:>8} {:>7}  last line",
            "task", "score", "verdict", "time"
        );
    }
    let mut runs = Vec::new();
    for s in &specs {
        let run = tasks::agent_run(s, &exe, Some(&data))?;
        if !json {
            println!(
                "{:<32} {:>5} {:>8} {:>6.1}s  {}",
                run.task,
                run.score.score,
                format!("{:?}", run.verdict).to_lowercase(),
                run.seconds,
                run.tail.last().map(String::as_str).unwrap_or("")
            );
            if !run.score.passed() {
                for d in &run.score.details {
                    println!("    {d}");
                }
            }
        }
        runs.push(run);
    }
    let passed = runs.iter().filter(|r| r.score.passed()).count();
    if json {
        println!("{}", serde_json::to_string_pretty(&runs)?);
    } else {
        println!("{passed} of {} task(s) done by the agents", runs.len());
    }
    Ok(if passed == runs.len() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// `deskhand eval tasks`: a table of the tasks, or of their three-way check.
fn tasks(
    dir: &Path,
    solutions: Option<PathBuf>,
    ids: &[String],
    check: bool,
    json: bool,
) -> anyhow::Result<ExitCode> {
    use deskhand_eval::tasks;
    let specs = select(dir, ids)?;
    if !check {
        if json {
            println!("{}", serde_json::to_string_pretty(&specs)?);
            return Ok(ExitCode::SUCCESS);
        }
        println!(
            "{:<32} {:<12} {:>5} {:<40}",
            "task", "apps", "steps", "metrics"
        );
        for s in &specs {
            let ev = tasks::parse_evaluator(s)?;
            let metrics: Vec<&str> = ev.checks.iter().map(|c| c.func.as_str()).collect();
            println!(
                "{:<32} {:<12} {:>5} {:<40}",
                s.id,
                s.related_apps.join(","),
                s.config.len(),
                metrics.join(",")
            );
        }
        println!("{} task(s) valid in {}", specs.len(), dir.display());
        return Ok(ExitCode::SUCCESS);
    }
    let sol_dir = solutions.unwrap_or_else(|| {
        dir.parent()
            .unwrap_or_else(|| Path::new("."))
            .join("solutions")
    });
    let runner = tasks::DeskhandRunner::new(std::env::current_exe()?);
    let mut results = Vec::new();
    let mut all_ok = true;
    if !json {
        println!(
            "{:<32} {:>8} {:>8} {:>8}  ok",
            "task", "no_agent", "correct", "mistake"
        );
    }
    for s in &specs {
        let solution = tasks::load_solution(&sol_dir, &s.id)?;
        let three = tasks::check_task(s, &solution, &runner)?;
        all_ok &= three.ok();
        if !json {
            println!(
                "{:<32} {:>8} {:>8} {:>8}  {}",
                s.id,
                three.no_agent.score,
                three.correct.score,
                three.mistake.score,
                if three.ok() { "yes" } else { "NO" }
            );
            if !three.ok() {
                for (name, score) in [
                    ("no_agent", &three.no_agent),
                    ("correct", &three.correct),
                    ("mistake", &three.mistake),
                ] {
                    for d in &score.details {
                        println!("    {name}: {d}");
                    }
                }
            }
        }
        results.push(serde_json::json!({"id": s.id, "ok": three.ok(), "check": three}));
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&results)?);
    } else {
        println!(
            "{} of {} task(s) check out (0, 1, 0)",
            results.iter().filter(|r| r["ok"] == true).count(),
            results.len()
        );
    }
    Ok(if all_ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
