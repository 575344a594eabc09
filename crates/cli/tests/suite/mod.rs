mod actions;
mod agent;
mod agent_tasks;
mod bad_input;
mod demo;
mod direct;
mod fill;
mod galculator;
mod look;
mod memory;
mod mousepad;
mod policy;
mod profile;
mod run;
mod steward;
mod tasks;

use std::path::Path;
use std::process::{Command, Output};

/// Runs the real `deskhand` binary with this process's environment (pointed at the test's
/// desktop by `export_env`) and a private data directory.
pub fn deskhand(data: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_deskhand"))
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .expect("run deskhand")
}

pub fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}
