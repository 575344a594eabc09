//! Integration tests: the backends talk real HTTP to testkit's scripted model server.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod suite;
