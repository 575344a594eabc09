//! A process killed with SIGKILL while it records steps and model calls leaves a database that
//! passes `PRAGMA integrity_check`, whose run is marked interrupted, and whose every recorded
//! step and call is complete. The writer is this test binary run again as a child.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use deskhand_core::experience::Experience;
use deskhand_core::ports::{MemoryStore, RunStatus};
use deskhand_memory::SqliteMemory;

use super::experience::{agent_info, call};
use crate::step;

const CHILD_ENV: &str = "DESKHAND_MEMORY_KILL_CHILD";
const ROLES: [&str; 2] = ["operator", "reflector"];

fn agent_step(i: u32) -> deskhand_core::ports::StepRecord {
    let mut s = step(i);
    s.agent = Some(agent_info(i));
    s
}

/// The writer: only does something when run as the child of the test below.
#[test]
fn sigkill_child_writer() {
    let Some(path) = std::env::var_os(CHILD_ENV) else {
        return;
    };
    let mut m = SqliteMemory::open(std::path::Path::new(&path)).unwrap();
    let run = m.start_run("killed mid-run", 1).unwrap();
    // Bounded: the parent kills it long before the end.
    for i in 0..200_000 {
        m.record_step(run, &agent_step(i)).unwrap();
        for role in ROLES {
            m.record_call(run, &call(i, role)).unwrap();
        }
        println!("recorded {i}");
    }
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
    let child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "suite::kill::sigkill_child_writer",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, &path)
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
