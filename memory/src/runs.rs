//! Runs and steps.

use std::path::{Path, PathBuf};

use deskhand_core::geometry::Point;
use deskhand_core::graph::{NodeRecord, NodeState};
use deskhand_core::ports::{MemoryStore, RunRecord, RunStatus, StepRecord};
use deskhand_core::PortError;
use rusqlite::{params, Connection, OptionalExtension};

use crate::migrations::{migrate, MIGRATIONS};
use crate::MemoryError;

/// The SQLite-backed store.
#[derive(Debug)]
pub struct SqliteMemory {
    pub(crate) conn: Connection,
    pub(crate) path: PathBuf,
    interrupted: usize,
    /// Runs this store started and has not finished.
    open_runs: Vec<i64>,
    /// The user memory's vectors of the current model, loaded on the first search.
    pub(crate) vectors: crate::recall::VectorCache,
    /// The embedder agents' recall uses (set by the host); keywords only without one.
    pub(crate) embedder: crate::recall::EmbedderSlot,
}

/// A process's start time in clock ticks since boot (field 22 of /proc/PID/stat): with the
/// pid it names one process, even after the pid is reused. `None` when it is gone.
fn process_start(pid: u32) -> Option<i64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may hold spaces; fields count from after it.
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(19)?.parse().ok()
}

/// True when the process that recorded itself as a run's owner still runs.
fn owner_alive(pid: Option<i64>, start: Option<i64>) -> bool {
    match (pid.and_then(|p| u32::try_from(p).ok()), start) {
        (Some(pid), Some(start)) => process_start(pid) == Some(start),
        _ => false,
    }
}

impl SqliteMemory {
    /// Opens (creating if needed) the database, applies migrations, and marks runs left
    /// `running` by a dead process as `interrupted`.
    pub fn open(path: &Path) -> Result<SqliteMemory, MemoryError> {
        let shown = path.display().to_string();
        let err = |source| MemoryError::Sqlite {
            path: shown.clone(),
            source,
        };
        if let Some(dir) = path.parent() {
            // A missing directory is reported by SQLite below with the path.
            let _ = std::fs::create_dir_all(dir);
        }
        let mut conn = Connection::open(path).map_err(err)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(err)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(err)?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(err)?;
        conn.pragma_update(None, "foreign_keys", true)
            .map_err(err)?;
        let found: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(err)?;
        let supported = MIGRATIONS.len() as i64;
        if found > supported {
            return Err(MemoryError::TooNew {
                path: shown,
                found,
                supported,
            });
        }
        migrate(&mut conn).map_err(err)?;
        // A run another live process is recording stays running; one whose process is gone
        // (killed, crashed) is marked interrupted.
        let running: Vec<(i64, Option<i64>, Option<i64>)> = {
            let mut stmt = conn
                .prepare("SELECT id, owner_pid, owner_start FROM runs WHERE status = 'running'")
                .map_err(err)?;
            let rows = stmt
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .map_err(err)?;
            rows.collect::<Result<_, _>>().map_err(err)?
        };
        let mut interrupted = 0;
        for (id, pid, start) in running {
            if !owner_alive(pid, start) {
                interrupted += mark_interrupted(&conn, id).map_err(err)?;
            }
        }
        Ok(SqliteMemory {
            conn,
            path: path.to_path_buf(),
            interrupted,
            open_runs: Vec::new(),
            vectors: crate::recall::VectorCache::default(),
            embedder: crate::recall::EmbedderSlot::default(),
        })
    }

    /// How many runs were found interrupted when the store was opened (left running by a
    /// process that is gone).
    pub fn interrupted_on_open(&self) -> usize {
        self.interrupted
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    pub(crate) fn port_error(&self, e: rusqlite::Error) -> PortError {
        PortError::failed(format!("database {}: {e}", self.path.display()))
    }
}

/// An optional value as a JSON column.
fn to_json<T: serde::Serialize>(
    value: Option<&T>,
    what: &str,
) -> Result<Option<String>, PortError> {
    value
        .map(serde_json::to_string)
        .transpose()
        .map_err(|e| PortError::invalid(format!("{what} not serialisable: {e}")))
}

fn mark_interrupted(conn: &Connection, run: i64) -> rusqlite::Result<usize> {
    conn.execute(
        "UPDATE runs SET status = 'interrupted', summary = 'the process ended during the run' \
         WHERE id = ?1 AND status = 'running'",
        params![run],
    )
}

impl Drop for SqliteMemory {
    /// A run this store started and never finished (its owner returned early or panicked)
    /// is interrupted, not left looking alive.
    fn drop(&mut self) {
        for run in std::mem::take(&mut self.open_runs) {
            let _ = mark_interrupted(&self.conn, run);
        }
    }
}

fn row_to_run(r: &rusqlite::Row<'_>) -> rusqlite::Result<RunRecord> {
    let status: String = r.get(2)?;
    Ok(RunRecord {
        id: r.get(0)?,
        task: r.get(1)?,
        status: RunStatus::parse(&status).unwrap_or(RunStatus::Interrupted),
        started_ms: r.get(3)?,
        finished_ms: r.get(4)?,
        summary: r.get(5)?,
    })
}

impl MemoryStore for SqliteMemory {
    fn start_run(&mut self, task: &str, started_ms: i64) -> Result<i64, PortError> {
        let pid = std::process::id();
        self.conn
            .execute(
                "INSERT INTO runs (task, status, started_ms, owner_pid, owner_start)
                 VALUES (?1, 'running', ?2, ?3, ?4)",
                params![task, started_ms, pid, process_start(pid)],
            )
            .map_err(|e| self.port_error(e))?;
        let run = self.conn.last_insert_rowid();
        self.open_runs.push(run);
        Ok(run)
    }

    fn record_step(&mut self, run: i64, s: &StepRecord) -> Result<(), PortError> {
        let effect = to_json(s.effect.as_ref(), "effect")?;
        let policy = to_json(s.policy.as_ref(), "policy decision")?;
        let action = to_json(s.action.as_ref(), "action")?;
        let agent = to_json(s.agent.as_ref(), "agent step")?;
        self.conn
            .execute(
                "INSERT INTO steps (run_id, idx, request, action_json, point_x, point_y, target, ok,
                    error, screenshot, perceive_ms, act_ms, started_ms, effect_json, policy_json, agent_json)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
                params![
                    run,
                    s.index,
                    s.request,
                    action,
                    s.point.map(|p| p.x),
                    s.point.map(|p| p.y),
                    s.target,
                    s.ok,
                    s.error,
                    s.screenshot,
                    s.perceive_ms as i64,
                    s.act_ms as i64,
                    s.started_ms,
                    effect,
                    policy,
                    agent
                ],
            )
            .map_err(|e| self.port_error(e))?;
        Ok(())
    }

    fn finish_run(
        &mut self,
        run: i64,
        status: RunStatus,
        summary: &str,
        finished_ms: i64,
    ) -> Result<(), PortError> {
        let n = self
            .conn
            .execute(
                "UPDATE runs SET status = ?2, summary = ?3, finished_ms = ?4 WHERE id = ?1",
                params![run, status.as_str(), summary, finished_ms],
            )
            .map_err(|e| self.port_error(e))?;
        if n == 0 {
            return Err(PortError::not_found(format!("run {run} does not exist")));
        }
        self.open_runs.retain(|r| *r != run);
        Ok(())
    }

    fn recent_runs(&self, limit: usize) -> Result<Vec<RunRecord>, PortError> {
        let mut stmt = self
            .conn
            .prepare("SELECT id, task, status, started_ms, finished_ms, summary FROM runs ORDER BY id DESC LIMIT ?1")
            .map_err(|e| self.port_error(e))?;
        let rows = stmt
            .query_map([limit as i64], row_to_run)
            .map_err(|e| self.port_error(e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.port_error(e))?;
        Ok(rows)
    }

    fn steps(&self, run: i64) -> Result<Vec<StepRecord>, PortError> {
        let exists: Option<i64> = self
            .conn
            .query_row("SELECT id FROM runs WHERE id = ?1", [run], |r| r.get(0))
            .optional()
            .map_err(|e| self.port_error(e))?;
        if exists.is_none() {
            return Err(PortError::not_found(format!("run {run} does not exist")));
        }
        let mut stmt = self
            .conn
            .prepare(
                "SELECT idx, request, action_json, point_x, point_y, target, ok, error, screenshot,
                    perceive_ms, act_ms, started_ms, effect_json, policy_json, agent_json FROM steps WHERE run_id = ?1 ORDER BY idx",
            )
            .map_err(|e| self.port_error(e))?;
        let rows = stmt
            .query_map([run], |r| {
                let action: Option<String> = r.get(2)?;
                let x: Option<f64> = r.get(3)?;
                let y: Option<f64> = r.get(4)?;
                Ok(StepRecord {
                    index: r.get(0)?,
                    request: r.get(1)?,
                    // A row written by this schema always parses; a hand-edited one shows
                    // as a step without an action rather than failing the listing.
                    action: action.and_then(|a| serde_json::from_str(&a).ok()),
                    point: x.zip(y).map(|(x, y)| Point::new(x, y)),
                    target: r.get(5)?,
                    ok: r.get(6)?,
                    error: r.get(7)?,
                    screenshot: r.get(8)?,
                    perceive_ms: r.get::<_, i64>(9)? as u64,
                    act_ms: r.get::<_, i64>(10)? as u64,
                    started_ms: r.get(11)?,
                    effect: r
                        .get::<_, Option<String>>(12)?
                        .and_then(|e| serde_json::from_str(&e).ok()),
                    policy: r
                        .get::<_, Option<String>>(13)?
                        .and_then(|p| serde_json::from_str(&p).ok()),
                    agent: r
                        .get::<_, Option<String>>(14)?
                        .and_then(|a| serde_json::from_str(&a).ok()),
                })
            })
            .map_err(|e| self.port_error(e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.port_error(e))?;
        Ok(rows)
    }

    fn record_node(&mut self, run: i64, n: &NodeRecord) -> Result<(), PortError> {
        let node = to_json(Some(&n.node), "graph node")?.unwrap_or_default();
        let facts = to_json(Some(&n.facts), "node facts")?.unwrap_or_default();
        // A node keeps the position it was first recorded at in its revision.
        self.conn
            .execute(
                "INSERT INTO run_nodes (run_id, revision, node, position, node_json, state,
                    facts_json, reason, updated_ms)
                 VALUES (?1, ?2, ?3,
                    (SELECT COUNT(*) FROM run_nodes WHERE run_id = ?1 AND revision = ?2),
                    ?4, ?5, ?6, ?7, ?8)
                 ON CONFLICT (run_id, revision, node) DO UPDATE SET node_json = excluded.node_json,
                    state = excluded.state, facts_json = excluded.facts_json,
                    reason = excluded.reason, updated_ms = excluded.updated_ms",
                params![
                    run,
                    n.revision,
                    n.node.id,
                    node,
                    n.state.as_str(),
                    facts,
                    n.reason,
                    n.updated_ms
                ],
            )
            .map_err(|e| self.port_error(e))?;
        Ok(())
    }

    fn nodes(&self, run: i64) -> Result<Vec<NodeRecord>, PortError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT revision, node_json, state, facts_json, reason, updated_ms FROM run_nodes
                 WHERE run_id = ?1 ORDER BY revision, position",
            )
            .map_err(|e| self.port_error(e))?;
        let rows = stmt
            .query_map([run], |r| {
                Ok((
                    r.get::<_, u32>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, i64>(5)?,
                ))
            })
            .map_err(|e| self.port_error(e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.port_error(e))?;
        rows.into_iter()
            .map(|(revision, node, state, facts, reason, updated_ms)| {
                let bad = |what: &str, e: String| {
                    PortError::failed(format!(
                        "database {}: run {run}: a stored {what} does not parse: {e}",
                        self.path.display()
                    ))
                };
                Ok(NodeRecord {
                    revision,
                    node: serde_json::from_str(&node).map_err(|e| bad("node", e.to_string()))?,
                    state: NodeState::parse(&state)
                        .ok_or_else(|| bad("node state", state.clone()))?,
                    facts: serde_json::from_str(&facts)
                        .map_err(|e| bad("node's facts", e.to_string()))?,
                    reason,
                    updated_ms,
                })
            })
            .collect()
    }
}
