//! The composition root: resolves configuration, builds the adapters behind the ports and
//! hands them to the agent runtime. The CLI and the desktop app both go through here.
#![deny(clippy::print_stdout, clippy::print_stderr)]

pub mod config;
pub mod confirm;
pub mod demo;
pub mod doctor;
pub mod fill;
pub mod look;
pub mod perceptor;
pub mod profile;
pub mod recall;
mod session;

pub use config::{Config, ConfigError, Overrides};
pub use deskhand_agents::{AgentOutcome, Preset, RunOutcome, StepFailure, ROLES};
pub use deskhand_perception::DesktopPerceptor;
pub use look::LookOptions;
pub use session::{agent_config, model_router, Deskhand, HostError, Snapshot};
