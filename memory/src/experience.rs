//! Tips, shortcuts and the model-call log (the [`Experience`] port), and the management API
//! behind `deskhand memory` (list, show, edit, delete, export, import).

use std::collections::BTreeSet;
use std::path::Path;

use deskhand_core::experience::{Experience, ModelCallRecord, Shortcut, ShortcutParam, Tip};
use deskhand_core::ports::{Clock, SystemClock, TokenUsage};
use deskhand_core::PortError;
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

use crate::SqliteMemory;

/// The version of the export format written by [`SqliteMemory::export_experience`].
pub const EXPORT_VERSION: u32 = 1;

/// Two tips of one app whose word sets overlap at least this much (Jaccard) are the same tip.
pub const TIP_SIMILARITY: f64 = 0.8;

/// Tips and shortcuts as one JSON document, for backup and bulk editing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExperienceExport {
    /// Format version ([`EXPORT_VERSION`]).
    pub version: u32,
    /// The tips.
    #[serde(default)]
    pub tips: Vec<Tip>,
    /// The shortcuts.
    #[serde(default)]
    pub shortcuts: Vec<Shortcut>,
    /// The Steward's guidelines (how tasks were decomposed into app subtasks).
    #[serde(default)]
    pub guidelines: Vec<deskhand_core::graph::Guideline>,
    /// The user's own memory (sources with their chunks, digests, bio versions, shades and
    /// facts), when the whole memory was exported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub personal: Option<crate::profile::PersonalExport>,
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportReport {
    /// New tips stored.
    pub tips_added: usize,
    /// Tips left out because an equivalent one exists.
    pub tips_skipped: usize,
    /// New shortcuts stored.
    pub shortcuts_added: usize,
    /// Shortcuts that replaced one with the same app and name (counts kept).
    pub shortcuts_updated: usize,
    /// New guidelines stored.
    #[serde(default)]
    pub guidelines_added: usize,
    /// Guidelines that replaced one learned from the same task.
    #[serde(default)]
    pub guidelines_updated: usize,
    /// Entries refused, each as "name: problem"; the others were imported.
    pub invalid: Vec<String>,
}

/// A tip's text as compared for duplicates: lower case, whitespace collapsed, trailing
/// punctuation removed.
pub fn normalize_tip(text: &str) -> String {
    let lower = text.to_lowercase();
    let collapsed = lower.split_whitespace().collect::<Vec<_>>().join(" ");
    collapsed
        .trim_end_matches(|c: char| c.is_whitespace() || c.is_ascii_punctuation() || c == '…')
        .to_string()
}

/// The words of a text, lower case (letters and digits; everything else separates).
fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
}

fn jaccard(a: &BTreeSet<String>, b: &BTreeSet<String>) -> f64 {
    let union = a.union(b).count();
    if union == 0 {
        return 0.0;
    }
    a.intersection(b).count() as f64 / union as f64
}

/// A full-text query that matches any word of a free text; `None` when it has no words.
/// Only letters and digits reach FTS5, so quotes and operators in a task never break it.
pub(crate) fn fts_query(text: &str) -> Option<String> {
    let mut seen = BTreeSet::new();
    let terms: Vec<String> = words(text)
        .filter(|w| seen.insert(w.clone()))
        .take(64)
        .map(|w| format!("\"{w}\""))
        .collect();
    (!terms.is_empty()).then(|| terms.join(" OR "))
}

/// Function words that match nearly every note ("my", "the", "when"): left out of a memory
/// search's keywords so that only words that carry meaning rank by BM25.
const STOPWORDS: &[&str] = &[
    "a", "about", "after", "all", "am", "an", "and", "any", "are", "as", "at", "be", "been", "but",
    "by", "can", "could", "did", "do", "does", "for", "from", "had", "has", "have", "how", "i",
    "if", "in", "into", "is", "it", "its", "me", "my", "of", "on", "or", "our", "out", "should",
    "so", "than", "that", "the", "their", "them", "then", "there", "these", "they", "this", "to",
    "up", "was", "we", "were", "what", "when", "where", "which", "who", "whom", "why", "will",
    "with", "would", "you", "your",
];

/// Like [`fts_query`] without function words; `None` when nothing else is left.
pub(crate) fn fts_content_query(text: &str) -> Option<String> {
    let kept: Vec<String> = words(text)
        .filter(|w| !STOPWORDS.contains(&w.as_str()))
        .collect();
    fts_query(&kept.join(" "))
}

/// Checks a shortcut before it is stored, by the one rule set ([`Shortcut::check`]).
pub fn validate_shortcut(s: &Shortcut) -> Result<(), PortError> {
    s.check().map_err(PortError::invalid)
}

fn app_key(app: &str) -> String {
    app.trim().to_lowercase()
}

const TIP_COLUMNS: &str = "t.id, t.app, t.text, t.source_run, t.uses, t.created_ms";
const SHORTCUT_COLUMNS: &str = "s.id, s.app, s.name, s.description, s.parameters_json, \
     s.precondition, s.requires, s.steps_json, s.source_run, s.uses, s.successes";

fn row_to_tip(r: &rusqlite::Row<'_>) -> rusqlite::Result<Tip> {
    Ok(Tip {
        id: r.get(0)?,
        app: r.get(1)?,
        text: r.get(2)?,
        source_run: r.get(3)?,
        uses: r.get(4)?,
        created_ms: r.get(5)?,
    })
}

fn json_column<T: serde::de::DeserializeOwned>(
    r: &rusqlite::Row<'_>,
    idx: usize,
) -> rusqlite::Result<T> {
    let text: String = r.get(idx)?;
    serde_json::from_str(&text).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(idx, rusqlite::types::Type::Text, Box::new(e))
    })
}

fn row_to_shortcut(r: &rusqlite::Row<'_>) -> rusqlite::Result<Shortcut> {
    Ok(Shortcut {
        id: r.get(0)?,
        app: r.get(1)?,
        name: r.get(2)?,
        description: r.get(3)?,
        parameters: json_column::<Vec<ShortcutParam>>(r, 4)?,
        precondition: r.get(5)?,
        requires: r.get(6)?,
        steps: json_column::<Vec<String>>(r, 7)?,
        source_run: r.get(8)?,
        uses: r.get(9)?,
        successes: r.get(10)?,
    })
}

/// The connection (or a transaction on it) with the file name for error messages.
struct Db<'a> {
    conn: &'a Connection,
    path: &'a Path,
}

impl Db<'_> {
    fn err(&self, e: rusqlite::Error) -> PortError {
        PortError::failed(format!("database {}: {e}", self.path.display()))
    }

    fn query<T>(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
        map: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<Vec<T>, PortError> {
        let mut stmt = self.conn.prepare_cached(sql).map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(params, map)
            .map_err(|e| self.err(e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.err(e))?;
        Ok(rows)
    }

    /// Stores a tip unless an equivalent one exists; the id and whether it was added.
    fn add_tip(&self, tip: &Tip, now_ms: i64) -> Result<(i64, bool), PortError> {
        let norm = normalize_tip(&tip.text);
        if norm.is_empty() {
            return Err(PortError::invalid("a tip's text is empty"));
        }
        let app = app_key(&tip.app);
        let same: Option<i64> = self
            .conn
            .prepare_cached("SELECT id FROM tips WHERE app = ?1 AND norm_text = ?2 LIMIT 1")
            .and_then(|mut s| s.query_row(params![app, norm], |r| r.get(0)).optional())
            .map_err(|e| self.err(e))?;
        if let Some(id) = same {
            return Ok((id, false));
        }
        let mine: BTreeSet<String> = words(&norm).collect();
        let others = self.query(
            "SELECT id, norm_text FROM tips WHERE app = ?1 ORDER BY id",
            [&app],
            |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)),
        )?;
        for (id, other) in others {
            if jaccard(&mine, &words(&other).collect()) >= TIP_SIMILARITY {
                return Ok((id, false));
            }
        }
        let created = if tip.created_ms > 0 {
            tip.created_ms
        } else {
            now_ms
        };
        self.conn
            .prepare_cached(
                "INSERT INTO tips (app, text, norm_text, source_run, uses, created_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )
            .and_then(|mut s| {
                s.execute(params![
                    app,
                    tip.text.trim(),
                    norm,
                    tip.source_run,
                    tip.uses,
                    created
                ])
            })
            .map_err(|e| self.err(e))?;
        Ok((self.conn.last_insert_rowid(), true))
    }

    /// Stores or replaces a shortcut; its id and whether it was new.
    fn save_shortcut(&self, s: &Shortcut, now_ms: i64) -> Result<(i64, bool), PortError> {
        validate_shortcut(s)?;
        let app = app_key(&s.app);
        let parameters = serde_json::to_string(&s.parameters)
            .map_err(|e| PortError::invalid(format!("parameters not serialisable: {e}")))?;
        let steps = serde_json::to_string(&s.steps)
            .map_err(|e| PortError::invalid(format!("steps not serialisable: {e}")))?;
        let existing: Option<i64> = self
            .conn
            .query_row(
                "SELECT id FROM shortcuts WHERE app = ?1 AND name = ?2",
                params![app, s.name],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.err(e))?;
        match existing {
            Some(id) => {
                self.conn
                    .execute(
                        "UPDATE shortcuts SET description = ?2, parameters_json = ?3,
                            precondition = ?4, requires = ?5, steps_json = ?6,
                            source_run = COALESCE(?7, source_run), updated_ms = ?8
                         WHERE id = ?1",
                        params![
                            id,
                            s.description,
                            parameters,
                            s.precondition,
                            s.requires,
                            steps,
                            s.source_run,
                            now_ms
                        ],
                    )
                    .map_err(|e| self.err(e))?;
                Ok((id, false))
            }
            None => {
                self.conn
                    .execute(
                        "INSERT INTO shortcuts (app, name, description, parameters_json,
                            precondition, requires, steps_json, source_run, uses, successes,
                            created_ms, updated_ms)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?11)",
                        params![
                            app,
                            s.name,
                            s.description,
                            parameters,
                            s.precondition,
                            s.requires,
                            steps,
                            s.source_run,
                            s.uses,
                            s.successes,
                            now_ms
                        ],
                    )
                    .map_err(|e| self.err(e))?;
                Ok((self.conn.last_insert_rowid(), true))
            }
        }
    }
}

/// Appends rows of `fill` whose id is not in `out` until `out` holds `limit`.
fn fill_up<T>(out: &mut Vec<T>, fill: Vec<T>, limit: usize, id: impl Fn(&T) -> i64) {
    let mut have: BTreeSet<i64> = out.iter().map(&id).collect();
    for row in fill {
        if out.len() >= limit {
            break;
        }
        if have.insert(id(&row)) {
            out.push(row);
        }
    }
}

impl SqliteMemory {
    fn db(&self) -> Db<'_> {
        Db {
            conn: &self.conn,
            path: &self.path,
        }
    }

    /// Every tip, or those of one app (exactly; `Some("")` lists the app-independent ones),
    /// by app then id.
    pub fn list_tips(&self, app: Option<&str>) -> Result<Vec<Tip>, PortError> {
        self.db().query(
            &format!(
                "SELECT {TIP_COLUMNS} FROM tips t WHERE ?1 IS NULL OR t.app = ?1 ORDER BY t.app, t.id"
            ),
            [app.map(app_key)],
            row_to_tip,
        )
    }

    /// One tip.
    pub fn get_tip(&self, id: i64) -> Result<Tip, PortError> {
        self.db()
            .query(
                &format!("SELECT {TIP_COLUMNS} FROM tips t WHERE t.id = ?1"),
                [id],
                row_to_tip,
            )?
            .pop()
            .ok_or_else(|| PortError::not_found(format!("there is no tip {id}")))
    }

    /// Replaces a tip's text; returns the tip as stored.
    pub fn update_tip(&mut self, id: i64, text: &str) -> Result<Tip, PortError> {
        let norm = normalize_tip(text);
        if norm.is_empty() {
            return Err(PortError::invalid("a tip's text is empty"));
        }
        let n = self
            .conn
            .execute(
                "UPDATE tips SET text = ?2, norm_text = ?3 WHERE id = ?1",
                params![id, text.trim(), norm],
            )
            .map_err(|e| self.port_error(e))?;
        if n == 0 {
            return Err(PortError::not_found(format!("there is no tip {id}")));
        }
        self.get_tip(id)
    }

    /// Deletes a tip.
    pub fn delete_tip(&mut self, id: i64) -> Result<(), PortError> {
        let n = self
            .conn
            .execute("DELETE FROM tips WHERE id = ?1", [id])
            .map_err(|e| self.port_error(e))?;
        if n == 0 {
            return Err(PortError::not_found(format!("there is no tip {id}")));
        }
        Ok(())
    }

    /// Every shortcut, or those of one app (exactly), by app then name.
    pub fn list_shortcuts(&self, app: Option<&str>) -> Result<Vec<Shortcut>, PortError> {
        self.db().query(
            &format!(
                "SELECT {SHORTCUT_COLUMNS} FROM shortcuts s WHERE ?1 IS NULL OR s.app = ?1
                 ORDER BY s.app, s.name"
            ),
            [app.map(app_key)],
            row_to_shortcut,
        )
    }

    /// One shortcut, by id ("12") or by name ("save_as"); a name used in several apps is
    /// refused with the ids to choose from.
    pub fn get_shortcut(&self, id_or_name: &str) -> Result<Shortcut, PortError> {
        let key = id_or_name.trim();
        let mut found = match key.parse::<i64>() {
            Ok(id) => self.db().query(
                &format!("SELECT {SHORTCUT_COLUMNS} FROM shortcuts s WHERE s.id = ?1"),
                [id],
                row_to_shortcut,
            )?,
            Err(_) => self.db().query(
                &format!(
                    "SELECT {SHORTCUT_COLUMNS} FROM shortcuts s WHERE s.name = ?1 ORDER BY s.id"
                ),
                [key.to_lowercase()],
                row_to_shortcut,
            )?,
        };
        match found.len() {
            0 => Err(PortError::not_found(format!("there is no shortcut {key}"))),
            1 => Ok(found.remove(0)),
            _ => Err(PortError::invalid(format!(
                "shortcut {key} exists in several apps ({}); use its id",
                found
                    .iter()
                    .map(|s| format!(
                        "{} in {}",
                        s.id,
                        if s.app.is_empty() { "any app" } else { &s.app }
                    ))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
        }
    }

    /// Deletes a shortcut.
    pub fn delete_shortcut(&mut self, id: i64) -> Result<(), PortError> {
        let n = self
            .conn
            .execute("DELETE FROM shortcuts WHERE id = ?1", [id])
            .map_err(|e| self.port_error(e))?;
        if n == 0 {
            return Err(PortError::not_found(format!("there is no shortcut {id}")));
        }
        Ok(())
    }

    /// Tips and shortcuts (of one app, exactly, or all) as one document.
    pub fn export_experience(&self, app: Option<&str>) -> Result<ExperienceExport, PortError> {
        let tips = self.db().query(
            &format!(
                "SELECT {TIP_COLUMNS} FROM tips t WHERE ?1 IS NULL OR t.app = ?1 ORDER BY t.id"
            ),
            [app.map(app_key)],
            row_to_tip,
        )?;
        let shortcuts = self.db().query(
            &format!(
                "SELECT {SHORTCUT_COLUMNS} FROM shortcuts s WHERE ?1 IS NULL OR s.app = ?1 ORDER BY s.id"
            ),
            [app.map(app_key)],
            row_to_shortcut,
        )?;
        // Guidelines span apps: exported with everything, not with one app's experience.
        let guidelines = match app {
            Some(_) => Vec::new(),
            None => self.list_guidelines()?,
        };
        Ok(ExperienceExport {
            version: EXPORT_VERSION,
            tips,
            shortcuts,
            guidelines,
            personal: None,
        })
    }

    /// Imports a document in one transaction: tips are deduplicated as by `add_tip`,
    /// shortcuts replace those with the same app and name (keeping their counts). Invalid
    /// entries are listed in the report and the rest is imported.
    pub fn import_experience(&mut self, doc: &ExperienceExport) -> Result<ImportReport, PortError> {
        if doc.version != EXPORT_VERSION {
            return Err(PortError::invalid(format!(
                "experience version {} is not supported (this Deskhand reads version {EXPORT_VERSION})",
                doc.version
            )));
        }
        let now = SystemClock.now_ms();
        let path = self.path.clone();
        let tx = self
            .conn
            .transaction()
            .map_err(|e| PortError::failed(format!("database {}: {e}", path.display())))?;
        let db = Db {
            conn: &tx,
            path: &path,
        };
        let mut report = ImportReport::default();
        for (i, tip) in doc.tips.iter().enumerate() {
            match db.add_tip(tip, now) {
                Ok((_, true)) => report.tips_added += 1,
                Ok((_, false)) => report.tips_skipped += 1,
                Err(e) if e.kind == deskhand_core::PortErrorKind::InvalidInput => {
                    report.invalid.push(format!("tip {}: {}", i + 1, e.message))
                }
                Err(e) => return Err(e),
            }
        }
        for s in &doc.shortcuts {
            match db.save_shortcut(s, now) {
                Ok((_, true)) => report.shortcuts_added += 1,
                Ok((_, false)) => report.shortcuts_updated += 1,
                Err(e) if e.kind == deskhand_core::PortErrorKind::InvalidInput => {
                    report.invalid.push(e.message)
                }
                Err(e) => return Err(e),
            }
        }
        for (i, g) in doc.guidelines.iter().enumerate() {
            let g = deskhand_core::graph::Guideline { id: 0, ..g.clone() };
            match crate::guidelines::store_guideline(&tx, &path, &g) {
                Ok((_, true)) => report.guidelines_added += 1,
                Ok((_, false)) => report.guidelines_updated += 1,
                Err(e) if e.kind == deskhand_core::PortErrorKind::InvalidInput => report
                    .invalid
                    .push(format!("guideline {}: {}", i + 1, e.message)),
                Err(e) => return Err(e),
            }
        }
        tx.commit()
            .map_err(|e| PortError::failed(format!("database {}: {e}", path.display())))?;
        Ok(report)
    }

    fn run_exists(&self, run: i64) -> Result<bool, PortError> {
        self.conn
            .query_row("SELECT 1 FROM runs WHERE id = ?1", [run], |_| Ok(()))
            .optional()
            .map(|o| o.is_some())
            .map_err(|e| self.port_error(e))
    }
}

/// Keyword candidates a lesson search considers before fusion.
const CANDIDATES: usize = 50;

/// Least similarity for a tip or shortcut to be found by meaning.
pub const LESSON_SIMILARITY: f32 = 0.3;

impl SqliteMemory {
    /// Tip or shortcut ids by keywords and meaning together (reciprocal-rank fusion); those
    /// neither shares a word with the query nor is near in meaning are left out.
    pub(crate) fn hybrid(
        &self,
        query: &str,
        kind: &str,
        items: &[(i64, String)],
        keyword: &[i64],
        embedder: &dyn deskhand_core::ports::Embedder,
    ) -> Result<Vec<i64>, PortError> {
        if items.is_empty() || query.trim().is_empty() {
            return Ok(keyword.to_vec());
        }
        let q = embedder.embed_query(query)?;
        let similar: Vec<(i64, f32)> = self
            .item_similarities(kind, items, embedder, &q.vector)?
            .into_iter()
            .filter(|(_, s)| *s >= LESSON_SIMILARITY)
            .collect();
        Ok(crate::recall::fuse(keyword, &similar)
            .into_iter()
            .map(|(id, ..)| id)
            .collect())
    }
}

impl Experience for SqliteMemory {
    fn relevant_tips(&self, app: &str, query: &str, limit: usize) -> Result<Vec<Tip>, PortError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let app = app_key(app);
        let db = self.db();
        let keyword = match fts_query(query) {
            Some(q) => db.query(
                &format!(
                    "SELECT {TIP_COLUMNS} FROM tips_fts JOIN tips t ON t.id = tips_fts.rowid
                     WHERE tips_fts MATCH ?1 AND (t.app = ?2 OR t.app = '')
                     ORDER BY bm25(tips_fts), t.app = '', t.created_ms DESC, t.id DESC
                     LIMIT ?3"
                ),
                params![q, app, CANDIDATES as i64],
                row_to_tip,
            )?,
            None => Vec::new(),
        };
        let mut out = match self.embedder.0.clone() {
            Some(e) => {
                let all = db.query(
                    &format!("SELECT {TIP_COLUMNS} FROM tips t WHERE t.app = ?1 OR t.app = ''"),
                    params![app],
                    row_to_tip,
                )?;
                let items: Vec<(i64, String)> =
                    all.iter().map(|t| (t.id, t.text.clone())).collect();
                self.hybrid(
                    query,
                    "tip",
                    &items,
                    &keyword.iter().map(|t| t.id).collect::<Vec<_>>(),
                    &*e,
                )?
                .into_iter()
                .filter_map(|id| all.iter().find(|t| t.id == id).cloned())
                .take(limit)
                .collect()
            }
            None => keyword.into_iter().take(limit).collect::<Vec<_>>(),
        };
        if out.len() < limit {
            let fill = db.query(
                &format!(
                    "SELECT {TIP_COLUMNS} FROM tips t WHERE t.app = ?1 OR t.app = ''
                     ORDER BY t.app = '', t.uses DESC, t.created_ms DESC, t.id DESC LIMIT ?2"
                ),
                params![app, (limit + out.len()) as i64],
                row_to_tip,
            )?;
            fill_up(&mut out, fill, limit, |t| t.id);
        }
        Ok(out)
    }

    fn relevant_shortcuts(
        &self,
        app: &str,
        query: &str,
        limit: usize,
    ) -> Result<Vec<Shortcut>, PortError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let app = app_key(app);
        let db = self.db();
        let keyword = match fts_query(query) {
            Some(q) => db.query(
                &format!(
                    "SELECT {SHORTCUT_COLUMNS} FROM shortcuts_fts
                     JOIN shortcuts s ON s.id = shortcuts_fts.rowid
                     WHERE shortcuts_fts MATCH ?1 AND (s.app = ?2 OR s.app = '')
                     ORDER BY bm25(shortcuts_fts, 4.0, 2.0, 1.0), s.app = '',
                        s.updated_ms DESC, s.id DESC
                     LIMIT ?3"
                ),
                params![q, app, CANDIDATES as i64],
                row_to_shortcut,
            )?,
            None => Vec::new(),
        };
        let mut out = match self.embedder.0.clone() {
            Some(e) => {
                let all = db.query(
                    &format!(
                        "SELECT {SHORTCUT_COLUMNS} FROM shortcuts s WHERE s.app = ?1 OR s.app = ''"
                    ),
                    params![app],
                    row_to_shortcut,
                )?;
                let items: Vec<(i64, String)> = all
                    .iter()
                    .map(|s| {
                        (
                            s.id,
                            format!(
                                "{}: {} {}",
                                s.name.replace('_', " "),
                                s.description,
                                s.precondition
                            ),
                        )
                    })
                    .collect();
                self.hybrid(
                    query,
                    "shortcut",
                    &items,
                    &keyword.iter().map(|s| s.id).collect::<Vec<_>>(),
                    &*e,
                )?
                .into_iter()
                .filter_map(|id| all.iter().find(|s| s.id == id).cloned())
                .take(limit)
                .collect()
            }
            None => keyword.into_iter().take(limit).collect::<Vec<_>>(),
        };
        if out.len() < limit {
            let fill = db.query(
                &format!(
                    "SELECT {SHORTCUT_COLUMNS} FROM shortcuts s WHERE s.app = ?1 OR s.app = ''
                     ORDER BY s.app = '', s.successes DESC, s.uses DESC, s.updated_ms DESC,
                        s.id DESC
                     LIMIT ?2"
                ),
                params![app, (limit + out.len()) as i64],
                row_to_shortcut,
            )?;
            fill_up(&mut out, fill, limit, |s| s.id);
        }
        Ok(out)
    }

    fn relevant_guidelines(
        &self,
        task: &str,
        limit: usize,
    ) -> Result<Vec<deskhand_core::graph::Guideline>, PortError> {
        self.find_guidelines(task, limit)
    }

    fn add_guideline(&mut self, g: &deskhand_core::graph::Guideline) -> Result<i64, PortError> {
        crate::guidelines::store_guideline(&self.conn, &self.path, g).map(|(id, _)| id)
    }

    fn guidelines_used(&mut self, ids: &[i64]) -> Result<(), PortError> {
        self.count_guideline_uses(ids)
    }

    fn add_tip(&mut self, tip: &Tip) -> Result<i64, PortError> {
        let now = SystemClock.now_ms();
        self.db().add_tip(tip, now).map(|(id, _)| id)
    }

    fn save_shortcut(&mut self, shortcut: &Shortcut) -> Result<i64, PortError> {
        let now = SystemClock.now_ms();
        self.db().save_shortcut(shortcut, now).map(|(id, _)| id)
    }

    fn shortcut_used(&mut self, id: i64, succeeded: bool) -> Result<(), PortError> {
        let n = self
            .conn
            .execute(
                "UPDATE shortcuts SET uses = uses + 1, successes = successes + ?2 WHERE id = ?1",
                params![id, i64::from(succeeded)],
            )
            .map_err(|e| self.port_error(e))?;
        if n == 0 {
            return Err(PortError::not_found(format!("there is no shortcut {id}")));
        }
        Ok(())
    }

    /// Counts each tip once; ids of tips deleted meanwhile are ignored.
    fn tips_used(&mut self, ids: &[i64]) -> Result<(), PortError> {
        if ids.is_empty() {
            return Ok(());
        }
        let path = self.path.clone();
        let err = |e| PortError::failed(format!("database {}: {e}", path.display()));
        let tx = self.conn.transaction().map_err(err)?;
        {
            let mut stmt = tx
                .prepare_cached("UPDATE tips SET uses = uses + 1 WHERE id = ?1")
                .map_err(err)?;
            for id in ids.iter().collect::<BTreeSet<_>>() {
                stmt.execute([id]).map_err(err)?;
            }
        }
        tx.commit().map_err(err)
    }

    fn record_call(&mut self, run: i64, call: &ModelCallRecord) -> Result<(), PortError> {
        let result = self
            .conn
            .prepare_cached(
                "INSERT INTO model_calls (run_id, seq, step, role, prompt, reply, prompt_tokens,
                    completion_tokens, ms, error, memory_json, cached_tokens)
                 SELECT ?1, COALESCE(MAX(seq) + 1, 0), ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11
                 FROM model_calls WHERE run_id = ?1",
            )
            .and_then(|mut s| {
                s.execute(params![
                    run,
                    call.step,
                    call.role,
                    call.prompt,
                    call.reply,
                    call.usage.prompt,
                    call.usage.completion,
                    call.ms as i64,
                    call.error,
                    (!call.memory_used.is_empty())
                        .then(|| serde_json::to_string(&call.memory_used).ok())
                        .flatten(),
                    call.usage.cached
                ])
            });
        match result {
            Ok(_) => Ok(()),
            Err(_) if !self.run_exists(run)? => {
                Err(PortError::not_found(format!("run {run} does not exist")))
            }
            Err(e) => Err(self.port_error(e)),
        }
    }

    fn calls(&self, run: i64) -> Result<Vec<ModelCallRecord>, PortError> {
        if !self.run_exists(run)? {
            return Err(PortError::not_found(format!("run {run} does not exist")));
        }
        self.db().query(
            "SELECT step, role, prompt, reply, prompt_tokens, completion_tokens, ms, error,
                memory_json, cached_tokens
             FROM model_calls WHERE run_id = ?1 ORDER BY seq",
            [run],
            |r| {
                Ok(ModelCallRecord {
                    step: r.get(0)?,
                    role: r.get(1)?,
                    prompt: r.get(2)?,
                    reply: r.get(3)?,
                    usage: TokenUsage {
                        prompt: r.get(4)?,
                        completion: r.get(5)?,
                        cached: r.get(9)?,
                    },
                    ms: r.get::<_, i64>(6)? as u64,
                    error: r.get(7)?,
                    memory_used: r
                        .get::<_, Option<String>>(8)?
                        .and_then(|j| serde_json::from_str(&j).ok())
                        .unwrap_or_default(),
                })
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalising_and_queries() {
        assert_eq!(
            normalize_tip("  In  Mousepad, SAVE with ctrl+s!. "),
            "in mousepad, save with ctrl+s"
        );
        assert_eq!(
            fts_query("click \"Save\" -- (now) AND NOT x*"),
            Some("\"click\" OR \"save\" OR \"now\" OR \"and\" OR \"not\" OR \"x\"".into())
        );
        assert_eq!(fts_query(" ?! "), None);
    }
}
