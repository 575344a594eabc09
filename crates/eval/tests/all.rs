//! Integration tests of deskhand-eval: one binary, one module per area.
mod suite;
