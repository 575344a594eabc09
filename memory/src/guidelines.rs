//! The Steward's guideline memory: how tasks of a kind were decomposed into app subtasks in
//! runs that succeeded, one per task (a later success with the same task replaces it),
//! found by keywords and meaning together like tips.

use deskhand_core::graph::Guideline;
use deskhand_core::ports::{Clock, SystemClock};
use deskhand_core::PortError;
use std::path::Path;

use rusqlite::{params, Connection, OptionalExtension};

use crate::experience::{fts_content_query, normalize_tip};
use crate::SqliteMemory;

const COLUMNS: &str = "g.id, g.task, g.steps, g.apps_json, g.source_run, g.uses, g.created_ms";

fn row_to_guideline(r: &rusqlite::Row<'_>) -> rusqlite::Result<Guideline> {
    let apps: String = r.get(3)?;
    Ok(Guideline {
        id: r.get(0)?,
        task: r.get(1)?,
        steps: r.get(2)?,
        // Written by this crate from a Vec<String>; a hand-edited row shows no apps.
        apps: serde_json::from_str(&apps).unwrap_or_default(),
        source_run: r.get(4)?,
        uses: r.get(5)?,
        created_ms: r.get(6)?,
    })
}

impl SqliteMemory {
    fn guideline_query(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
    ) -> Result<Vec<Guideline>, PortError> {
        let mut stmt = self
            .conn
            .prepare_cached(sql)
            .map_err(|e| self.port_error(e))?;
        let rows = stmt
            .query_map(params, row_to_guideline)
            .map_err(|e| self.port_error(e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.port_error(e))?;
        Ok(rows)
    }

    /// Every guideline, oldest first.
    pub fn list_guidelines(&self) -> Result<Vec<Guideline>, PortError> {
        self.guideline_query(
            &format!("SELECT {COLUMNS} FROM guidelines g ORDER BY g.id"),
            [],
        )
    }

    /// One guideline.
    pub fn get_guideline(&self, id: i64) -> Result<Guideline, PortError> {
        self.guideline_query(
            &format!("SELECT {COLUMNS} FROM guidelines g WHERE g.id = ?1"),
            [id],
        )?
        .pop()
        .ok_or_else(|| PortError::not_found(format!("no guideline {id}")))
    }

    /// Replaces a guideline's steps (the user's edit).
    pub fn update_guideline(&mut self, id: i64, steps: &str) -> Result<Guideline, PortError> {
        if steps.trim().is_empty() {
            return Err(PortError::invalid("a guideline's steps are empty"));
        }
        let n = self
            .conn
            .execute(
                "UPDATE guidelines SET steps = ?2 WHERE id = ?1",
                params![id, steps.trim()],
            )
            .map_err(|e| self.port_error(e))?;
        if n == 0 {
            return Err(PortError::not_found(format!("no guideline {id}")));
        }
        self.get_guideline(id)
    }

    /// Deletes a guideline.
    pub fn delete_guideline(&mut self, id: i64) -> Result<(), PortError> {
        let n = self
            .conn
            .execute("DELETE FROM guidelines WHERE id = ?1", [id])
            .map_err(|e| self.port_error(e))?;
        if n == 0 {
            return Err(PortError::not_found(format!("no guideline {id}")));
        }
        Ok(())
    }

    /// Guidelines for a task: keyword and meaning ranks fused; with no embedder, keywords
    /// only. Nothing is filled in when nothing matches (an unrelated guideline misleads).
    pub(crate) fn find_guidelines(
        &self,
        task: &str,
        limit: usize,
    ) -> Result<Vec<Guideline>, PortError> {
        if limit == 0 || task.trim().is_empty() {
            return Ok(Vec::new());
        }
        let keyword = match fts_content_query(task) {
            Some(q) => self.guideline_query(
                &format!(
                    "SELECT {COLUMNS} FROM guidelines_fts JOIN guidelines g
                        ON g.id = guidelines_fts.rowid
                     WHERE guidelines_fts MATCH ?1
                     ORDER BY bm25(guidelines_fts, 2.0, 1.0), g.id DESC LIMIT 50"
                ),
                params![q],
            )?,
            None => Vec::new(),
        };
        let Some(embedder) = self.embedder.0.clone() else {
            return Ok(keyword.into_iter().take(limit).collect());
        };
        let all = self.list_guidelines()?;
        let items: Vec<(i64, String)> = all.iter().map(|g| (g.id, g.task.clone())).collect();
        let ids = self.hybrid(
            task,
            "guideline",
            &items,
            &keyword.iter().map(|g| g.id).collect::<Vec<_>>(),
            &*embedder,
        )?;
        Ok(ids
            .into_iter()
            .filter_map(|id| all.iter().find(|g| g.id == id).cloned())
            .take(limit)
            .collect())
    }

    pub(crate) fn count_guideline_uses(&mut self, ids: &[i64]) -> Result<(), PortError> {
        for id in ids {
            self.conn
                .execute("UPDATE guidelines SET uses = uses + 1 WHERE id = ?1", [id])
                .map_err(|e| self.port_error(e))?;
        }
        Ok(())
    }
}

/// Stores a guideline, replacing one learned from the same task; its id and whether it was
/// new.
pub(crate) fn store_guideline(
    conn: &Connection,
    path: &Path,
    g: &Guideline,
) -> Result<(i64, bool), PortError> {
    let err = |e: rusqlite::Error| PortError::failed(format!("database {}: {e}", path.display()));
    let norm = normalize_tip(&g.task);
    if norm.is_empty() || g.steps.trim().is_empty() {
        return Err(PortError::invalid(
            "a guideline needs its task and its steps",
        ));
    }
    let apps = serde_json::to_string(&g.apps)
        .map_err(|e| PortError::invalid(format!("guideline apps: {e}")))?;
    let existing: Option<i64> = conn
        .query_row(
            "SELECT id FROM guidelines WHERE norm_task = ?1",
            [&norm],
            |r| r.get(0),
        )
        .optional()
        .map_err(err)?;
    let created = if g.created_ms > 0 {
        g.created_ms
    } else {
        SystemClock.now_ms()
    };
    match existing {
        Some(id) => {
            conn.execute(
                "UPDATE guidelines SET task = ?2, steps = ?3, apps_json = ?4,
                        source_run = ?5 WHERE id = ?1",
                params![id, g.task.trim(), g.steps.trim(), apps, g.source_run],
            )
            .map_err(err)?;
            Ok((id, false))
        }
        None => {
            conn.execute(
                "INSERT INTO guidelines (task, norm_task, steps, apps_json, source_run,
                        uses, created_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    g.task.trim(),
                    norm,
                    g.steps.trim(),
                    apps,
                    g.source_run,
                    g.uses,
                    created
                ],
            )
            .map_err(err)?;
            Ok((conn.last_insert_rowid(), true))
        }
    }
}
