//! The agent loop itself, in process and in milliseconds: every port is a fake that behaves
//! by rules (a small note-taking window whose screen changes as it is clicked and typed into,
//! a scripted model that computes each role's answer from the prompt it was sent, an
//! in-memory log), so each role's prompt, each stop reason, escalation, the Manager skip and
//! the runtime's own verdicts are checked without a display. The real-app tests stay in the
//! CLI, host and desktop suites.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod suite;
