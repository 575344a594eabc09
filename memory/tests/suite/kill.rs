//! A process killed with SIGKILL while it records steps and model calls leaves a database that
//! passes `PRAGMA integrity_check`, whose run is marked interrupted, and whose every recorded
//! step and call is complete. The writer is the
//! `kill_writer` example, run as a child.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use deskhand_core::experience::Experience;
use deskhand_core::ports::{MemoryStore, RunStatus};
use deskhand_memory::SqliteMemory;

use super::records::{agent_step, call, KILL_DB_ENV, KILL_ROLES as ROLES};

/// The writer example, built beside this test binary (`cargo test` and nextest build the
/// package's examples).
fn writer() -> std::path::PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().and_then(|d| d.parent()).unwrap();
    let path = dir.join("examples").join("kill_writer");
    assert!(
        path.is_file(),
        "{} is missing: build it with `cargo build -p deskhand-memory --example kill_writer`",
        path.display()
    );
    path
}

struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn a_writer_killed_with_sigkill_leaves_a_consistent_database() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("deskhand.db");
    let child = Command::new(writer())
        .env(KILL_DB_ENV, &path)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut child = KillOnDrop(child);
    let mut lines = BufReader::new(child.0.stdout.take().unwrap()).lines();
    // Wait until 40 steps are recorded, then a varying number more so the kill lands at
    // different points of the write (between a step and its calls, mid-commit...).
    let extra = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos()
        % 37;
    let target = 40 + extra;
    let mut seen = None;
    for line in lines.by_ref() {
        let line = line.unwrap();
        if let Some(n) = line.strip_prefix("recorded ") {
            let n: u32 = n.trim().parse().unwrap();
            seen = Some(n);
            if n >= target {
                break;
            }
        }
    }
    let seen = seen.expect("the child wrote nothing");
    assert!(seen >= target, "the child stopped at step {seen}");
    // While the writer lives, opening the file does not call its run interrupted.
    {
        let m = SqliteMemory::open(&path).unwrap();
        assert_eq!(m.interrupted_on_open(), 0);
        assert_eq!(m.recent_runs(1).unwrap()[0].status, RunStatus::Running);
    }
    child.0.kill().unwrap(); // SIGKILL
    let status = child.0.wait().unwrap();
    assert!(!status.success());
    drop(lines);

    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        let check: String = conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(check, "ok");
    }
    let m = SqliteMemory::open(&path).unwrap();
    assert_eq!(m.interrupted_on_open(), 1);
    let runs = m.recent_runs(5).unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].status, RunStatus::Interrupted);
    let steps = m.steps(runs[0].id).unwrap();
    let n = steps.len() as u32;
    assert!(n > seen, "{n} steps, {seen} reported");
    for (i, s) in steps.iter().enumerate() {
        assert_eq!(*s, agent_step(i as u32), "step {i}");
    }
    let calls = m.calls(runs[0].id).unwrap();
    let c = calls.len() as u32;
    assert!(
        (2 * (n - 1)..=2 * n).contains(&c),
        "{c} calls for {n} steps"
    );
    for (k, got) in calls.iter().enumerate() {
        assert_eq!(*got, call(k as u32 / 2, ROLES[k % 2]), "call {k}");
    }
    drop(m);
    let conn = rusqlite::Connection::open(&path).unwrap();
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
}
