//! Deskhand's agent runtime. It sees only the ports of `deskhand-core` (Screen, Accessibility,
//! Input, MemoryStore, ...); the host wires adapters in. The direct runner behind
//! `deskhand do` (perceive, resolve, act, settle, record: one step per command) executes
//! every action; the roles ([`roles`]) and the loops that string them together
//! ([`presets`]) share one runtime ([`runtime`]).
#![deny(clippy::print_stdout, clippy::print_stderr)]

pub mod effect;
pub mod execute;
pub mod presets;
pub mod roles;
pub mod runner;
pub mod runtime;
pub mod settle;
pub mod shortcut;
pub mod state;

pub use presets::Preset;
pub use roles::ROLES;
pub use runner::{
    AgentMemory, Artifacts, DirectRunner, Ports, RunError, RunOutcome, StepError, StepFailure,
    StepRequest,
};
pub use runtime::{AgentConfig, AgentOutcome, AgentRunner};
pub use state::{Attempt, RunState};
