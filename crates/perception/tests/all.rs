//! Perception on real desktops.
mod suite;
