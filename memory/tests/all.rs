//! The store on real SQLite files.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::print_stderr
)]

use deskhand_core::ports::{MemoryStore, RunStatus};
use deskhand_memory::SqliteMemory;

mod suite;

pub(crate) use suite::records::step;

#[test]
fn runs_and_steps_round_trip_through_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sub/deskhand.db");
    let run = {
        let mut m = SqliteMemory::open(&path).unwrap();
        let run = m.start_run("save a file", 1000).unwrap();
        m.record_step(run, &step(0)).unwrap();
        m.record_step(run, &step(1)).unwrap();
        m.finish_run(run, RunStatus::Succeeded, "2 steps", 2000)
            .unwrap();
        run
    };
    let m = SqliteMemory::open(&path).unwrap();
    assert_eq!(m.interrupted_on_open(), 0);
    let runs = m.recent_runs(10).unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].status, RunStatus::Succeeded);
    assert_eq!(runs[0].finished_ms, Some(2000));
    assert_eq!(m.steps(run).unwrap(), vec![step(0), step(1)]);
    assert!(m
        .steps(run + 1)
        .unwrap_err()
        .message
        .contains("does not exist"));
}

#[test]
fn a_run_its_store_drops_unfinished_is_interrupted_and_a_live_one_is_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("deskhand.db");
    let mut live = SqliteMemory::open(&path).unwrap();
    let alive = live.start_run("still going", 1).unwrap();
    let run = {
        let mut m = SqliteMemory::open(&path).unwrap();
        let run = m.start_run("given up", 1).unwrap();
        m.record_step(run, &step(0)).unwrap();
        run
        // dropped without finish_run, as an early return or a panic would leave it
    };
    // Opening the file again (`deskhand runs` during a run) relabels nothing alive.
    let m = SqliteMemory::open(&path).unwrap();
    assert_eq!(m.interrupted_on_open(), 0);
    let runs = m.recent_runs(2).unwrap();
    assert_eq!((runs[0].id, runs[0].status), (run, RunStatus::Interrupted));
    assert_eq!((runs[1].id, runs[1].status), (alive, RunStatus::Running));
    assert_eq!(m.steps(run).unwrap().len(), 1);
    live.finish_run(alive, RunStatus::Succeeded, "done", 2)
        .unwrap();
    assert_eq!(m.recent_runs(2).unwrap()[1].status, RunStatus::Succeeded);
}

#[test]
fn a_database_from_a_newer_version_is_refused_not_clobbered() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("deskhand.db");
    drop(SqliteMemory::open(&path).unwrap());
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.pragma_update(None, "user_version", 99).unwrap();
    drop(conn);
    let err = SqliteMemory::open(&path).unwrap_err().to_string();
    assert!(err.contains("newer") && err.contains("99"), "{err}");
}

#[test]
fn a_file_that_is_not_a_database_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("deskhand.db");
    std::fs::write(&path, vec![7u8; 4096]).unwrap();
    let err = SqliteMemory::open(&path).unwrap_err().to_string();
    assert!(err.contains("deskhand.db"), "{err}");
    // Nothing was lost: the bytes are untouched.
    assert_eq!(std::fs::read(&path).unwrap(), vec![7u8; 4096]);
}
