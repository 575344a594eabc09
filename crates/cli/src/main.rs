//! `deskhand`: run commands on the desktop, perceive it, check the environment, run the demo.
#![allow(clippy::print_stdout, clippy::print_stderr)] // a binary's job is to print

mod confirm;
mod eval;
mod look;
mod memory;
mod output;
mod profile;
mod run;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use deskhand_core::ports::{RunStatus, TreeScope};
use deskhand_core::{Action, Op};
use deskhand_host::doctor::Verdict;
use deskhand_host::StepFailure;
use deskhand_host::{Config, Deskhand, HostError, Overrides};

use crate::output::Printer;

#[derive(Parser)]
#[command(
    name = "deskhand",
    version,
    about = "A local-first desktop agent that sees the screen and uses keyboard and mouse"
)]
struct Cli {
    /// Config file (default: ~/.config/deskhand/config.toml, or $DESKHAND_CONFIG).
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    /// Where the database and screenshots go (default: ~/.local/share/deskhand).
    #[arg(long, global = true)]
    data_dir: Option<PathBuf>,
    /// Print events as JSON lines instead of text.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run an instruction with the agents (needs a model endpoint): `deskhand run "open
    /// mousepad and write hello"`. Exit codes: 0 succeeded, 1 failed, 2 no model configured
    /// or bad usage, 3 infeasible, 4 cancelled.
    Run(run::RunArgs),
    /// Run commands as one recorded run: `deskhand do "click 'File'" "type 'hi'"`.
    #[command(after_help = DO_GRAMMAR)]
    Do {
        /// Commands, each one argument (see the grammar below). All are parsed before
        /// anything moves.
        #[arg(required = true)]
        commands: Vec<String>,
    },
    /// Execute one action given as JSON (see `deskhand schema`), e.g.
    /// '{"kind":"key","chord":"ctrl+s"}'. Malformed JSON is refused before anything moves.
    Act {
        /// The action as JSON.
        action: String,
    },
    /// Capture the screen and print the accessibility layout tree.
    Perceive {
        /// Only this application (default: every application).
        #[arg(long)]
        app: Option<String>,
        /// Also save the screenshot as PNG here.
        #[arg(long)]
        screenshot: Option<PathBuf>,
    },
    /// Perceive the desktop into the fused layout tree (windows, accessibility, OCR text,
    /// pixel segments) and print it compactly; `--som` saves a Set-of-Marks screenshot.
    Look(look::LookArgs),
    /// Describe what is at a desktop point and where it sits: `deskhand read --at 640,400`.
    Read(look::ReadArgs),
    /// Find an element by description: `deskhand find "the Save button"`.
    Find(look::FindArgs),
    /// Check display, accessibility, ONNX Runtime, model files and config.
    Doctor,
    /// Open mousepad (on a virtual desktop if there is no display), write a note and save it.
    Demo {
        /// Use a virtual desktop even when DISPLAY is set.
        #[arg(long = "virtual")]
        force_virtual: bool,
    },
    /// List recent runs.
    Runs {
        /// How many.
        #[arg(long, default_value_t = 10)]
        limit: usize,
    },
    /// Show the steps of a run.
    Steps {
        /// Run id.
        run: i64,
    },
    /// Fill the form on screen from your memory: finds its fields (labels and inputs),
    /// asks the `memory` model role which remembered values go where, shows them, and types
    /// them once you agree. Fields memory does not know are left as they are. Needs a model
    /// endpoint on this machine or listed in `[memory] trusted_endpoints`.
    Fill {
        /// The form of this application's window (default: the active window).
        #[arg(long)]
        app: Option<String>,
        /// Type the values without asking.
        #[arg(long)]
        yes: bool,
    },
    /// Print the JSON schema of actions.
    Schema,
    /// Benchmarks on real applications in virtual desktops.
    Eval {
        #[command(subcommand)]
        bench: eval::EvalCmd,
    },
    /// Your own memory (add files and notes, search, sources, forget) and the tips and
    /// shortcuts agents learned (list, show, edit, delete, export, import).
    Memory {
        #[command(subcommand)]
        what: memory::MemoryCmd,
    },
}

/// The `deskhand do` grammar, as the README lists it.
const DO_GRAMMAR: &str = "\
Verbs:
  click | double click | triple click | right click | middle click | hover  TARGET
  ctrl+click TARGET, shift+click TARGET (any modifiers: ctrl, shift, alt, super)
  type 'text'          escapes: \\n Enter, \\t Tab, \\\\, \\', \\\"; {{secret:name}} types a stored secret
  key CHORD            key ctrl+s, key Return, key shift+F10 (also: press)
  hold CHORD / release CHORD   e.g. hold shift ... release shift
  scroll up|down|left|right [N] TARGET      (N notches, default 3)
  drag TARGET to TARGET
  wait MS | open APP | focus 'window title or app'

Targets:
  'Name'               a quoted name; exact > case-insensitive > normalised > word prefix >
                       words inside a longer text (the click goes to that word)
  ROLE 'Name'          role words: button, item, menu, field, entry, textbox, text, label,
                       checkbox, check box, option, radio, tab, link, combo, icon, list, cell,
                       file, folder, window, dialog, slider
  o4, a12              an id `deskhand look` printed (refused once its element is gone)
  640,400              a desktop point
  description          the file report.txt | the Projects folder | the Name label |
                       the window titled 'Notes' | second item in the File menu |
                       the button right of 'Open' | cell B3 (a spreadsheet cell)

Keys: ctrl shift alt super Return Escape Tab BackSpace Delete Home End PageUp PageDown
      Up Down Left Right Insert space menu F1-F12, and single characters.

Exit codes: 0 done, 1 the action ran and its effect failed, 2 refused before anything moved
(typo, nothing or several elements match, point off screen), 3 refused by policy, 130 cancelled.";

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("deskhand: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn exit_for(status: RunStatus) -> ExitCode {
    match status {
        RunStatus::Succeeded => ExitCode::SUCCESS,
        RunStatus::Failed | RunStatus::Interrupted | RunStatus::Running => ExitCode::from(1),
        RunStatus::Infeasible => ExitCode::from(3),
        RunStatus::Cancelled => ExitCode::from(130),
    }
}

/// The exit code of a command run: the README's table. A step refused before anything
/// moved is a usage error (2), a policy refusal 3, an action whose effect failed 1.
fn submit(deskhand: &Deskhand, op: Op, printer: &mut Printer) -> anyhow::Result<ExitCode> {
    let outcome = deskhand.submit(op, &mut |e| printer.event(&e))?;
    Ok(
        outcome.map_or(ExitCode::SUCCESS, |o| match (o.status, o.failure) {
            (RunStatus::Failed, Some(StepFailure::Unresolved)) => ExitCode::from(2),
            (RunStatus::Failed, Some(StepFailure::Refused)) => ExitCode::from(3),
            (status, _) => exit_for(status),
        }),
    )
}

/// `deskhand fill`: shows what memory proposes for each field, asks (unless `yes`), types.
fn fill(
    deskhand: &Deskhand,
    app: Option<&str>,
    yes: bool,
    terminal: &confirm::Terminal,
    printer: &mut Printer,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let proposals = match deskhand.propose_fill(app, &mut |e| printer.event(&e)) {
        Ok(p) => p,
        Err(HostError::ModelsNotConfigured(how)) => {
            eprintln!("deskhand: {how}");
            return Ok(ExitCode::from(2));
        }
        Err(e) => return Err(e.into()),
    };
    if json {
        println!("{}", serde_json::to_string(&proposals)?);
    } else {
        for p in &proposals {
            if p.value.is_empty() {
                println!("  {:<20} (memory does not say; left as it is)", p.label);
            } else {
                println!(
                    "  {:<20} {}   [{}, confidence {:.2}]",
                    p.label, p.value, p.source, p.confidence
                );
            }
        }
    }
    let known = proposals.iter().filter(|p| !p.value.is_empty()).count();
    if known == 0 {
        eprintln!("deskhand: memory knows none of these fields; nothing typed");
        return Ok(ExitCode::from(1));
    }
    if !yes && !terminal.ask(&format!("type these {known} value(s) into the form?")) {
        eprintln!("nothing typed");
        return Ok(ExitCode::from(4));
    }
    let outcome = deskhand.fill(&proposals, &mut |e| printer.event(&e))?;
    Ok(exit_for(outcome.status))
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let overrides = Overrides {
        config_file: cli.config.clone(),
        data_dir: cli.data_dir.clone(),
    };
    let mut printer = Printer::new(cli.json);
    match cli.command {
        Cmd::Doctor => {
            let checks = deskhand_host::doctor::run(Config::load(&overrides));
            printer.checks(&checks);
            let failed = checks.iter().any(|c| c.verdict == Verdict::Fail);
            Ok(if failed {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            })
        }
        Cmd::Demo { force_virtual } => {
            let report =
                deskhand_host::demo::run(&overrides, force_virtual, &mut |e| printer.event(&e))?;
            printer.demo(&report);
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Run(args) => Ok(run::run(&overrides, &args, &mut printer)),
        Cmd::Eval { bench } => eval::run(bench, &overrides, cli.json),
        Cmd::Memory { what } => memory::run(what, &Config::load(&overrides)?, cli.json),
        Cmd::Schema => {
            println!(
                "{}",
                serde_json::to_string_pretty(&deskhand_core::Action::json_schema())?
            );
            Ok(ExitCode::SUCCESS)
        }
        cmd => {
            let config = Config::load(&overrides)?;
            let timeout = std::time::Duration::from_millis(config.confirm_timeout_ms);
            let mut deskhand = Deskhand::open(config)?;
            let terminal =
                std::sync::Arc::new(confirm::Terminal::new(timeout, deskhand.cancel_flag()));
            deskhand.set_confirmer(terminal.clone());
            deskhand.set_resumer(terminal.clone());
            match cmd {
                Cmd::Do { commands } => submit(&deskhand, Op::Do { commands }, &mut printer),
                Cmd::Act { action } => {
                    let action = Action::from_json(&action)?;
                    submit(&deskhand, Op::Act { action }, &mut printer)
                }
                Cmd::Perceive { app, screenshot } => {
                    let p = deskhand.snapshot()?;
                    if let Some(path) = screenshot {
                        let (png, _, _) = deskhand.screenshot_png()?;
                        std::fs::write(&path, png)?;
                    }
                    let tree = match app {
                        Some(a) => Some(deskhand.tree(TreeScope::App(a))?),
                        None => p.tree.clone(),
                    };
                    printer.perception(&p, tree.as_ref())?;
                    Ok(ExitCode::SUCCESS)
                }
                Cmd::Look(args) => look::look(&deskhand, &args, cli.json),
                Cmd::Read(args) => look::read(&deskhand, &args, cli.json),
                Cmd::Find(args) => look::find(&deskhand, &args, cli.json),
                Cmd::Fill { app, yes } => fill(
                    &deskhand,
                    app.as_deref(),
                    yes,
                    &terminal,
                    &mut printer,
                    cli.json,
                ),
                Cmd::Runs { limit } => {
                    printer.runs(&deskhand.recent_runs(limit)?)?;
                    Ok(ExitCode::SUCCESS)
                }
                Cmd::Steps { run } => {
                    printer.steps(&deskhand.steps(run)?)?;
                    Ok(ExitCode::SUCCESS)
                }
                Cmd::Doctor
                | Cmd::Demo { .. }
                | Cmd::Schema
                | Cmd::Eval { .. }
                | Cmd::Memory { .. }
                | Cmd::Run(_) => Ok(ExitCode::SUCCESS),
            }
        }
    }
}
