//! Deskhand's agent runtime. It sees only the ports of `deskhand-core` (Screen, Accessibility,
//! Input, MemoryStore, ...); the host wires adapters in. The first piece is the direct runner
//! behind `deskhand do`: perceive, resolve, act, settle, record — one step per command.
#![deny(clippy::print_stdout, clippy::print_stderr)]

pub mod agent;
pub mod effect;
pub mod execute;
pub mod runner;
pub mod settle;

pub use agent::{AgentConfig, AgentMemory, AgentOutcome, AgentPorts, AgentRunner};
pub use runner::{
    Artifacts, DirectRunner, Ports, RunError, RunOutcome, StepError, StepFailure, StepRequest,
};
