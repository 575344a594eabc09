//! Versioned schema migrations, applied in one transaction each; `user_version` holds the
//! version reached.

use rusqlite::Connection;

/// Each entry moves the schema one version up. Never edit a released entry; append.
pub(crate) const MIGRATIONS: &[&str] = &[
    // 1: runs and steps.
    "CREATE TABLE runs (
        id INTEGER PRIMARY KEY,
        task TEXT NOT NULL,
        status TEXT NOT NULL,
        started_ms INTEGER NOT NULL,
        finished_ms INTEGER,
        summary TEXT NOT NULL DEFAULT ''
    );
    CREATE TABLE steps (
        run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        idx INTEGER NOT NULL,
        request TEXT NOT NULL,
        action_json TEXT,
        point_x REAL,
        point_y REAL,
        target TEXT,
        ok INTEGER NOT NULL,
        error TEXT,
        screenshot TEXT,
        perceive_ms INTEGER NOT NULL,
        act_ms INTEGER NOT NULL,
        started_ms INTEGER NOT NULL,
        PRIMARY KEY (run_id, idx)
    );
    CREATE INDEX runs_by_start ON runs(started_ms);",
    // 2: what each action did (changed region, settle time).
    "ALTER TABLE steps ADD COLUMN effect_json TEXT;",
    // 3: the policy's decision for each action (allowed ones too).
    "ALTER TABLE steps ADD COLUMN policy_json TEXT;",
];

pub(crate) fn migrate(conn: &mut Connection) -> Result<i64, rusqlite::Error> {
    let current: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(current.max(0) as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        tx.commit()?;
    }
    Ok(current)
}
