//! Real-app benchmarks. For now: a ScreenSpot-style grounding set built live from real
//! applications under a virtual desktop (screenshot + AT-SPI ground-truth boxes of the
//! interactive elements), and its scoring: point-in-box accuracy of a [`Grounder`], split into
//! text and icon elements, by application and by resolution.
//!
//! [`grounding::run`] is the whole benchmark: load the cached set (building what is missing),
//! run every grounder, return a [`Report`].
#![deny(clippy::print_stdout, clippy::print_stderr)]

mod apps;
mod builder;
mod classify;
pub mod dataset;
mod error;
pub mod grounders;
pub mod grounding;
mod score;
pub mod tasks;
pub mod tol;
mod truth;

pub use apps::{AppSpec, DialogTrigger, APPS};
pub use builder::{build_app, BuildOptions};
pub use classify::{label_visible, TextClassifier};
pub use dataset::{
    instruction_for, parse_instruction, Element, ElementKind, Resolution, ScreenState,
};
pub use error::EvalError;
pub use grounders::{Grounder, GrounderContext, Mode, Sample};
pub use grounding::{default_data_dir, load_or_build, run, GroundingOptions, LoadedState};
pub use score::{score, Report, Score, ScoreRow, SetSize};
pub use truth::{ground_truth, Candidate};
