//! Point-in-box accuracy (ScreenSpot's metric), split by text/icon, application, resolution
//! and state; the report as a table or JSON.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Instant;

use deskhand_core::Frame;
use serde::Serialize;

use crate::dataset::{ElementKind, ScreenState};
use crate::error::EvalError;
use crate::grounders::{Grounder, Sample};

/// Hits out of a number of elements.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Score {
    /// Elements whose box contained the grounder's point.
    pub hits: usize,
    /// Elements asked for.
    pub total: usize,
}

impl Score {
    /// hits / total (0 when empty).
    pub fn accuracy(&self) -> f64 {
        if self.total == 0 {
            0.0
        } else {
            self.hits as f64 / self.total as f64
        }
    }

    fn add(&mut self, hit: bool) {
        self.total += 1;
        self.hits += usize::from(hit);
    }
}

/// One grounder's results.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ScoreRow {
    /// The grounder.
    pub grounder: String,
    /// "vision" or "fused".
    pub mode: String,
    /// Every element.
    pub overall: Score,
    /// Elements whose name is printed in their box.
    pub text: Score,
    /// The others.
    pub icon: Score,
    /// By application.
    pub by_app: BTreeMap<String, Score>,
    /// By resolution ("1280x800").
    pub by_resolution: BTreeMap<String, Score>,
    /// By state ("main", "menu", ...).
    pub by_state: BTreeMap<String, Score>,
    /// Calls that returned an error (counted as misses).
    pub errors: usize,
    /// The first error, if any.
    pub first_error: Option<String>,
    /// Mean time per call in milliseconds.
    pub ms_per_call: f64,
}

/// The size of one part of the set.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SetSize {
    /// Application.
    pub app: String,
    /// Resolution.
    pub resolution: String,
    /// State.
    pub state: String,
    /// Text elements.
    pub text: usize,
    /// Icon elements.
    pub icon: usize,
}

/// The benchmark's result.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    /// The set, state by state.
    pub set: Vec<SetSize>,
    /// One row per grounder.
    pub rows: Vec<ScoreRow>,
}

/// Scores one grounder on one state (accumulating into `row`).
pub(crate) fn score_state(
    grounder: &dyn Grounder,
    state: &ScreenState,
    frame: &Frame,
    row: &mut ScoreRow,
) {
    let sample = Sample {
        app: &state.app,
        state: &state.state,
        resolution: state.resolution,
        frame,
        tree: match grounder.mode() {
            crate::Mode::Vision => None,
            crate::Mode::Fused => Some(&state.tree),
        },
    };
    let resolution = state.resolution.to_string();
    for element in &state.elements {
        let started = Instant::now();
        // A grounder that panics (a bug in it) loses the sample, not the whole run.
        let answer = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            grounder.locate(&sample, &element.instruction)
        }))
        .unwrap_or_else(|panic| {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "no message".into());
            Err(EvalError::Grounder {
                grounder: grounder.name().to_string(),
                message: format!("panicked: {what}"),
            })
        });
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        let calls = row.overall.total as f64;
        row.ms_per_call = (row.ms_per_call * calls + ms) / (calls + 1.0);
        let hit = match answer {
            Ok(Some(p)) => element.bounds.contains(p),
            Ok(None) => false,
            Err(e) => {
                row.errors += 1;
                row.first_error.get_or_insert_with(|| e.to_string());
                false
            }
        };
        row.overall.add(hit);
        match element.kind {
            ElementKind::Text => row.text.add(hit),
            ElementKind::Icon => row.icon.add(hit),
        }
        row.by_app.entry(state.app.clone()).or_default().add(hit);
        row.by_resolution
            .entry(resolution.clone())
            .or_default()
            .add(hit);
        row.by_state
            .entry(state.state.clone())
            .or_default()
            .add(hit);
    }
}

/// Scores one grounder on states whose screenshots are already loaded.
pub fn score(
    grounder: &dyn Grounder,
    states: &[(ScreenState, Frame)],
) -> Result<ScoreRow, EvalError> {
    let mut row = ScoreRow {
        grounder: grounder.name().to_string(),
        mode: grounder.mode().as_str().to_string(),
        ..Default::default()
    };
    for (state, frame) in states {
        score_state(grounder, state, frame, &mut row);
    }
    Ok(row)
}

impl Report {
    /// The size of each state of the set.
    pub(crate) fn add_state(&mut self, state: &ScreenState) {
        let text = state
            .elements
            .iter()
            .filter(|e| e.kind == ElementKind::Text)
            .count();
        self.set.push(SetSize {
            app: state.app.clone(),
            resolution: state.resolution.to_string(),
            state: state.state.clone(),
            text,
            icon: state.elements.len() - text,
        });
    }

    /// The report as plain-text tables: the set, then accuracy per grounder.
    pub fn table(&self) -> String {
        let mut out = String::new();
        let (text, icon) = self
            .set
            .iter()
            .fold((0, 0), |(t, i), s| (t + s.text, i + s.icon));
        let _ = writeln!(
            out,
            "grounding set: {} elements ({text} text, {icon} icon) in {} screens",
            text + icon,
            self.set.len()
        );
        let _ = writeln!(
            out,
            "{:<12} {:<10} {:<14} {:>5} {:>5}",
            "app", "resolution", "state", "text", "icon"
        );
        for s in &self.set {
            let _ = writeln!(
                out,
                "{:<12} {:<10} {:<14} {:>5} {:>5}",
                s.app, s.resolution, s.state, s.text, s.icon
            );
        }
        let _ = writeln!(out);
        let apps: Vec<&String> = self
            .rows
            .first()
            .map(|r| r.by_app.keys().collect())
            .unwrap_or_default();
        let resolutions: Vec<&String> = self
            .rows
            .first()
            .map(|r| r.by_resolution.keys().collect())
            .unwrap_or_default();
        let _ = write!(
            out,
            "{:<14} {:<7} {:>7} {:>7} {:>7}",
            "grounder", "mode", "overall", "text", "icon"
        );
        for a in &apps {
            let _ = write!(out, " {:>10}", a);
        }
        for r in &resolutions {
            let _ = write!(out, " {:>10}", r);
        }
        let _ = writeln!(out, " {:>8}", "ms/call");
        let pct = |s: &Score| format!("{:.1}%", 100.0 * s.accuracy());
        for row in &self.rows {
            let _ = write!(
                out,
                "{:<14} {:<7} {:>7} {:>7} {:>7}",
                row.grounder,
                row.mode,
                pct(&row.overall),
                pct(&row.text),
                pct(&row.icon)
            );
            for a in &apps {
                let _ = write!(
                    out,
                    " {:>10}",
                    row.by_app.get(*a).map(pct).unwrap_or_default()
                );
            }
            for r in &resolutions {
                let _ = write!(
                    out,
                    " {:>10}",
                    row.by_resolution.get(*r).map(pct).unwrap_or_default()
                );
            }
            let _ = writeln!(out, " {:>8.1}", row.ms_per_call);
            if let Some(e) = &row.first_error {
                let _ = writeln!(out, "  {} errors, first: {e}", row.errors);
            }
        }
        out
    }
}
