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
}

/// Runs a benchmark and prints its report (a table, or JSON with `--json`).
pub fn run(cmd: EvalCmd, data_dir: Option<&Path>, json: bool) -> anyhow::Result<ExitCode> {
    match cmd {
        EvalCmd::Grounding {
            apps,
            resolutions,
            grounders,
            rebuild,
            no_dialogs,
        } => {
            let dir: PathBuf = match data_dir {
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
