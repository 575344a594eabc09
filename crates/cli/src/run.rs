//! `deskhand run "instruction"`: an agent run with live progress, or the same events as JSON
//! lines; the exit code tells how it ended.

use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;

use clap::Args;
use deskhand_core::ports::RunStatus;
use deskhand_core::Op;
use deskhand_host::{Config, Deskhand, HostError, Overrides, Preset, RunOutcome};

use crate::confirm::Terminal;
use crate::output::Printer;

/// Exit code of a run that succeeded.
pub const EXIT_SUCCEEDED: u8 = 0;
/// Exit code of a run that failed (or was interrupted).
pub const EXIT_FAILED: u8 = 1;
/// Exit code when no model is configured, the configuration is invalid, or the usage is wrong.
pub const EXIT_USAGE: u8 = 2;
/// Exit code of a task the agents found infeasible.
pub const EXIT_INFEASIBLE: u8 = 3;
/// Exit code of a run stopped by the kill switch or a cancel.
pub const EXIT_CANCELLED: u8 = 4;

#[derive(Args)]
#[command(after_help = "\
Needs a model endpoint: [models.default] base_url and model in the config file, or
DESKHAND_MODEL_URL and DESKHAND_MODEL (see `deskhand doctor`). Nothing is sent anywhere
unless one is configured.

Press the kill switch (ctrl+alt+Escape unless kill_chord says otherwise) or Ctrl-C to stop:
the action under way is finished or aborted, held keys are released and the run is kept as
cancelled (exit 4). A second Ctrl-C quits at once (exit 130). SIGTERM stops it the same way.

--preset steward is for tasks across applications: the Steward splits the task into
subtasks, one per app, that pass the facts they read (a result, a count, a name) on to the
next; the graph and each subtask's state are printed as they change.

Exit codes: 0 succeeded, 1 failed, 2 no model configured or bad usage, 3 infeasible,
4 cancelled.")]
pub struct RunArgs {
    /// What to do, in words: "open mousepad, write 'hello' and save it as notes.txt".
    instruction: String,
    /// Most steps to take (default: [agent] max_steps in the config file, else 15).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1000))]
    max_steps: Option<u32>,
    /// The agent loop: deskhand (fast, the default), mobile-agent-e (the paper's loop:
    /// Manager, Operator, Reflector and Notetaker on every step) or steward (tasks across
    /// apps: a graph of one subtask per app, facts passed on). Default: [agent] preset in the
    /// config file, else deskhand.
    #[arg(long, value_name = "NAME")]
    preset: Option<String>,
}

/// The exit code of a finished run.
pub fn exit_code(status: RunStatus) -> u8 {
    match status {
        RunStatus::Succeeded => EXIT_SUCCEEDED,
        RunStatus::Failed | RunStatus::Interrupted | RunStatus::Running => EXIT_FAILED,
        RunStatus::Infeasible => EXIT_INFEASIBLE,
        RunStatus::Cancelled => EXIT_CANCELLED,
    }
}

/// Runs the instruction. The model configuration is checked before the desktop is touched,
/// so an unconfigured machine gets the how-to even without a display.
pub fn run(overrides: &Overrides, args: &RunArgs, printer: &mut Printer) -> ExitCode {
    let config = match Config::load(overrides) {
        Ok(c) => c,
        Err(e) => return fail(EXIT_USAGE, &e.to_string()),
    };
    if args.instruction.trim().is_empty() {
        return fail(EXIT_USAGE, "nothing to do: the instruction is empty");
    }
    if let Some(Err(e)) = args.preset.as_deref().map(Preset::parse) {
        return fail(EXIT_USAGE, &e);
    }
    if let Err(e) = deskhand_host::model_router(&config) {
        return host_failure(&e);
    }
    let timeout = std::time::Duration::from_millis(config.confirm_timeout_ms);
    let mut deskhand = match Deskhand::open(config) {
        Ok(d) => d,
        Err(e) => return host_failure(&e),
    };
    stop_on_signals(deskhand.cancel_flag());
    let terminal = Arc::new(Terminal::new(timeout, deskhand.cancel_flag()));
    deskhand.set_confirmer(terminal.clone());
    deskhand.set_resumer(terminal);
    printer.agent = true;
    let op = Op::Run {
        instruction: args.instruction.clone(),
        max_steps: args.max_steps,
        preset: args.preset.clone(),
    };
    match deskhand.submit(op, &mut |e| printer.event(&e)) {
        Ok(Some(RunOutcome {
            agent: Some(outcome),
            ..
        })) => {
            printer.agent_outcome(&outcome);
            ExitCode::from(exit_code(outcome.status))
        }
        Ok(_) => fail(EXIT_FAILED, "the run did not start"),
        Err(e) => host_failure(&e),
    }
}

/// Exit code when a second Ctrl-C (or SIGTERM) ends the process at once.
pub const EXIT_INTERRUPTED: i32 = 130;

/// The first Ctrl-C or SIGTERM stops the run as the kill switch does: the action under way
/// is finished or aborted, held keys and buttons are released, the run is recorded as
/// cancelled and the process exits with 4. A second one exits at once (130).
pub fn stop_on_signals(cancel: Arc<AtomicBool>) {
    let signals = AtomicU32::new(0);
    let installed = ctrlc::set_handler(move || {
        if signals.fetch_add(1, Ordering::SeqCst) == 0 {
            cancel.store(true, Ordering::SeqCst);
            eprintln!(
                "deskhand: stopping: the current action is finished or aborted and held keys \
                 released; press Ctrl-C again to quit at once"
            );
        } else {
            eprintln!("deskhand: quit at once");
            std::process::exit(EXIT_INTERRUPTED);
        }
    });
    if let Err(e) = installed {
        eprintln!("deskhand: warning: Ctrl-C will end the process at once: {e}");
    }
}

fn host_failure(e: &HostError) -> ExitCode {
    let code = match e {
        HostError::ModelsNotConfigured(_) | HostError::Models(_) => EXIT_USAGE,
        _ => EXIT_FAILED,
    };
    fail(code, &e.to_string())
}

fn fail(code: u8, message: &str) -> ExitCode {
    eprintln!("deskhand: {message}");
    ExitCode::from(code)
}
