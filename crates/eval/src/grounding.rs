//! The grounding benchmark end to end: load the cached set (building what is missing in
//! virtual desktops), score every grounder, report.

use std::path::PathBuf;

use deskhand_inference::ModelPaths;

use crate::apps::{AppSpec, APPS};
use crate::builder::{build_in, check_installed, start_desktop, BuildOptions, Env};
use crate::classify::TextClassifier;
use crate::dataset::{self, Resolution, ScreenState};
use crate::error::EvalError;
use crate::grounders::{self, GrounderContext};
use crate::score::{score_state, Report, ScoreRow};

/// What to run.
#[derive(Debug, Clone)]
pub struct GroundingOptions {
    /// Applications (default: all of [`APPS`]).
    pub apps: Vec<String>,
    /// Screen sizes (default: [`Resolution::DEFAULTS`]).
    pub resolutions: Vec<Resolution>,
    /// Where the set is cached.
    pub data_dir: PathBuf,
    /// Build again even when cached.
    pub rebuild: bool,
    /// Include the dialog states.
    pub dialogs: bool,
    /// Grounders to score (default: every registered one).
    pub grounders: Vec<String>,
    /// Where the models are.
    pub models: ModelPaths,
}

impl GroundingOptions {
    /// Every app, both resolutions, dialogs included, every grounder, cached in `data_dir`.
    pub fn new(data_dir: PathBuf, models: ModelPaths) -> Self {
        Self {
            apps: APPS.iter().map(|a| a.name.to_string()).collect(),
            resolutions: Resolution::DEFAULTS.to_vec(),
            data_dir,
            rebuild: false,
            dialogs: true,
            grounders: grounders::names().into_iter().map(String::from).collect(),
            models,
        }
    }
}

/// Where the set is cached by default: `$DESKHAND_DATA/eval/grounding`, else
/// `<model cache>/eval/grounding` (`~/.cache/deskhand/eval/grounding`).
pub fn default_data_dir() -> PathBuf {
    match std::env::var_os("DESKHAND_DATA").filter(|v| !v.is_empty()) {
        Some(dir) => PathBuf::from(dir).join("eval").join("grounding"),
        None => deskhand_inference::default_cache_dir()
            .join("eval")
            .join("grounding"),
    }
}

/// A state of the set and the directory its screenshot is in.
#[derive(Debug, Clone)]
pub struct LoadedState {
    /// The directory of its application and resolution.
    pub dir: PathBuf,
    /// The state.
    pub state: ScreenState,
}

/// The set for the options: cached parts loaded, missing ones (or all, with `rebuild`)
/// built. Building needs the applications installed and an X server binary (Xvfb).
pub fn load_or_build(options: &GroundingOptions) -> Result<Vec<LoadedState>, EvalError> {
    let specs: Vec<&AppSpec> = options
        .apps
        .iter()
        .map(|a| AppSpec::find(a))
        .collect::<Result<_, _>>()?;
    let build = BuildOptions {
        data_dir: options.data_dir.clone(),
        dialogs: options.dialogs,
    };
    let mut out = Vec::new();
    let mut classifier: Option<TextClassifier> = None;
    for &resolution in &options.resolutions {
        let mut todo = Vec::new();
        for spec in &specs {
            let dir = dataset::app_dir(&options.data_dir, spec.name, resolution);
            let cached = if options.rebuild {
                None
            } else {
                dataset::load_states(&dir, options.dialogs)?
            };
            match cached {
                Some(states) => out.extend(states.into_iter().map(|state| LoadedState {
                    dir: dir.clone(),
                    state,
                })),
                None => todo.push((*spec, dir)),
            }
        }
        if todo.is_empty() {
            continue;
        }
        for (spec, _) in &todo {
            check_installed(spec)?;
        }
        if classifier.is_none() {
            classifier = Some(TextClassifier::new(&options.models)?);
        }
        let Some(classifier) = classifier.as_ref() else {
            continue;
        };
        let (mut desktop, reader) = start_desktop(resolution)?;
        let mut env = Env {
            desktop: &mut desktop,
            reader: &reader,
            classifier,
            resolution,
        };
        for (spec, dir) in todo {
            let states = build_in(&mut env, spec, &build)?;
            out.extend(states.into_iter().map(|state| LoadedState {
                dir: dir.clone(),
                state,
            }));
        }
    }
    Ok(out)
}

/// Loads or builds the set and scores the grounders the options name.
pub fn run(options: &GroundingOptions) -> Result<Report, EvalError> {
    let context = GrounderContext {
        models: options.models.clone(),
    };
    let grounders = options
        .grounders
        .iter()
        .map(|g| grounders::create(g, &context))
        .collect::<Result<Vec<_>, _>>()?;
    let states = load_or_build(options)?;
    let mut report = Report::default();
    let mut rows: Vec<ScoreRow> = grounders
        .iter()
        .map(|g| ScoreRow {
            grounder: g.name().to_string(),
            mode: g.mode().as_str().to_string(),
            ..Default::default()
        })
        .collect();
    for loaded in &states {
        report.add_state(&loaded.state);
        let frame = loaded.state.load_frame(&loaded.dir)?;
        for (g, row) in grounders.iter().zip(rows.iter_mut()) {
            score_state(g.as_ref(), &loaded.state, &frame, row);
        }
    }
    report.rows = rows;
    Ok(report)
}
