//! Level 1 of the user's memory (Second Me): each source's digest, the versioned bio, shades
//! and facts. Readings of a source are applied incrementally: the items derived from that
//! source are replaced, the rest stay; similar shades are merged; the user's own edits and
//! deletions win over whatever a later reading proposes.

use std::collections::HashMap;

use deskhand_core::profile::{
    normalize_key, Author, Bio, Digest, Fact, Shade, ShadeProposal, SourceReading, Support,
};
use deskhand_core::PortError;
use rusqlite::{params, OptionalExtension, Transaction};
use serde::{Deserialize, Serialize};

use crate::user::now_ms;
use crate::SqliteMemory;

/// A chunk as the Memory role is shown it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChunkText {
    /// Its id.
    pub id: i64,
    /// The heading path above it.
    pub heading: String,
    /// Its text.
    pub text: String,
    /// Its content hash.
    pub hash: String,
}

/// What applying one reading changed.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ReadingReport {
    /// Facts added or updated.
    pub facts: usize,
    /// Shades added.
    pub new_shades: usize,
    /// Existing shades improved or merged into.
    pub merged_shades: usize,
    /// Proposals kept out because the user edited or deleted that item.
    pub kept_yours: usize,
}

/// A source as exported: what it is and its text, chunk by chunk.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceExport {
    /// Its id in the exporting database.
    pub id: i64,
    /// Its uri.
    pub uri: String,
    /// "file" or "note".
    pub kind: String,
    /// The user's tag.
    pub tag: Option<String>,
    /// Its chunks, in order.
    pub chunks: Vec<ChunkExport>,
}

/// A chunk as exported.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChunkExport {
    /// The heading path above it.
    pub heading: String,
    /// Its text.
    pub text: String,
}

/// The user's own memory as one JSON document (`deskhand memory export`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PersonalExport {
    /// The sources with their text.
    pub sources: Vec<SourceExport>,
    /// Each source's digest.
    pub digests: Vec<Digest>,
    /// Every version of the bio.
    pub bios: Vec<Bio>,
    /// The shades.
    pub shades: Vec<Shade>,
    /// The facts.
    pub facts: Vec<Fact>,
}

/// A fact's row: id, key, value, source, chunk hash, confidence, author.
type FactRow = (
    i64,
    String,
    String,
    Option<i64>,
    Option<String>,
    f64,
    String,
);

fn failed(e: rusqlite::Error) -> PortError {
    PortError::failed(e.to_string())
}

/// The chunk ids of a source by their hash, and back.
fn chunk_hashes(tx: &Transaction<'_>, source: i64) -> Result<HashMap<i64, String>, PortError> {
    let mut stmt = tx
        .prepare("SELECT id, hash FROM chunks WHERE source_id = ?1")
        .map_err(failed)?;
    let rows = stmt
        .query_map(params![source], |r| Ok((r.get(0)?, r.get(1)?)))
        .map_err(failed)?;
    rows.collect::<Result<_, _>>().map_err(failed)
}

impl SqliteMemory {
    /// Sources whose digest is missing or older than their text, oldest first: what an update
    /// of level 1 still has to read (an interrupted update resumes here).
    pub fn unread_sources(&self) -> Result<Vec<crate::Source>, PortError> {
        let mut all = self.sources()?;
        let read: HashMap<i64, String> = {
            let mut stmt = self
                .conn
                .prepare("SELECT d.source_id, d.hash FROM digests d")
                .map_err(|e| self.port_error(e))?;
            let rows = stmt
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
                .map_err(|e| self.port_error(e))?;
            rows.collect::<Result<_, _>>()
                .map_err(|e| self.port_error(e))?
        };
        let hashes: HashMap<i64, String> = {
            let mut stmt = self
                .conn
                .prepare("SELECT id, hash FROM sources")
                .map_err(|e| self.port_error(e))?;
            let rows = stmt
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
                .map_err(|e| self.port_error(e))?;
            rows.collect::<Result<_, _>>()
                .map_err(|e| self.port_error(e))?
        };
        all.retain(|s| read.get(&s.id) != hashes.get(&s.id));
        all.reverse();
        Ok(all)
    }

    /// The chunks of a source, in order.
    pub fn source_chunks(&self, source: i64) -> Result<Vec<ChunkText>, PortError> {
        let mut stmt = self
            .conn
            .prepare("SELECT id, heading, text, hash FROM chunks WHERE source_id = ?1 ORDER BY ord")
            .map_err(|e| self.port_error(e))?;
        let rows = stmt
            .query_map(params![source], |r| {
                Ok(ChunkText {
                    id: r.get(0)?,
                    heading: r.get(1)?,
                    text: r.get(2)?,
                    hash: r.get(3)?,
                })
            })
            .map_err(|e| self.port_error(e))?;
        rows.collect::<Result<_, _>>()
            .map_err(|e| self.port_error(e))
    }

    /// Applies what the Memory role read out of a source, in one transaction: its digest,
    /// its facts and shades (replacing what was derived from this source before). Chunk ids
    /// must be the source's; others are ignored. A fact or shade the user edited or deleted
    /// is not changed.
    pub fn apply_reading(
        &mut self,
        source: i64,
        reading: &SourceReading,
    ) -> Result<ReadingReport, PortError> {
        let now = now_ms();
        let tx = self.conn.transaction().map_err(failed)?;
        let source_hash: String = tx
            .query_row(
                "SELECT hash FROM sources WHERE id = ?1",
                params![source],
                |r| r.get(0),
            )
            .optional()
            .map_err(failed)?
            .ok_or_else(|| PortError::invalid(format!("no memory source {source}")))?;
        let hashes = chunk_hashes(&tx, source)?;
        let keywords = serde_json::to_string(&reading.keywords)
            .map_err(|e| PortError::failed(e.to_string()))?;
        tx.execute(
            "INSERT OR REPLACE INTO digests (source_id, hash, summary, keywords_json, created_ms)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![source, source_hash, reading.summary.trim(), keywords, now],
        )
        .map_err(failed)?;
        // What this source gave before is read again now.
        tx.execute(
            "DELETE FROM facts WHERE source_id = ?1 AND author = 'model' AND deleted = 0",
            params![source],
        )
        .map_err(failed)?;
        tx.execute(
            "DELETE FROM shade_support WHERE source_id = ?1",
            params![source],
        )
        .map_err(failed)?;
        let mut report = ReadingReport::default();
        for f in &reading.facts {
            let (Some(hash), key) = (hashes.get(&f.chunk), normalize_key(&f.key)) else {
                continue;
            };
            if key.is_empty() || f.value.trim().is_empty() {
                continue;
            }
            let existing: Option<(i64, String, i64)> = tx
                .query_row(
                    "SELECT id, author, deleted FROM facts WHERE norm_key = ?1",
                    params![key],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .optional()
                .map_err(failed)?;
            match existing {
                Some((_, author, deleted)) if author == "user" || deleted != 0 => {
                    report.kept_yours += 1;
                }
                Some((id, _, _)) => {
                    tx.execute(
                        "UPDATE facts SET key = ?2, value = ?3, source_id = ?4, hash = ?5,
                         confidence = ?6, updated_ms = ?7 WHERE id = ?1",
                        params![
                            id,
                            f.key.trim(),
                            f.value.trim(),
                            source,
                            hash,
                            f.confidence,
                            now
                        ],
                    )
                    .map_err(failed)?;
                    report.facts += 1;
                }
                None => {
                    tx.execute(
                        "INSERT INTO facts (key, norm_key, value, source_id, hash, confidence,
                         author, updated_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'model', ?7)",
                        params![
                            f.key.trim(),
                            key,
                            f.value.trim(),
                            source,
                            hash,
                            f.confidence,
                            now
                        ],
                    )
                    .map_err(failed)?;
                    report.facts += 1;
                }
            }
        }
        for s in &reading.shades {
            apply_shade(&tx, source, &hashes, s, now, &mut report)?;
        }
        // A shade the model wrote that nothing supports any more is gone.
        tx.execute(
            "DELETE FROM shades WHERE author = 'model' AND deleted = 0
             AND id NOT IN (SELECT shade_id FROM shade_support)",
            [],
        )
        .map_err(failed)?;
        tx.commit().map_err(failed)?;
        Ok(report)
    }

    /// Every source's digest, oldest source first.
    pub fn digests(&self) -> Result<Vec<Digest>, PortError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT d.source_id, s.uri, d.summary, d.keywords_json FROM digests d
                 JOIN sources s ON s.id = d.source_id ORDER BY s.added_ms, s.id",
            )
            .map_err(|e| self.port_error(e))?;
        let rows = stmt
            .query_map([], |r| {
                let keywords: String = r.get(3)?;
                Ok(Digest {
                    source: r.get(0)?,
                    uri: r.get(1)?,
                    summary: r.get(2)?,
                    keywords: serde_json::from_str(&keywords).unwrap_or_default(),
                })
            })
            .map_err(|e| self.port_error(e))?;
        rows.collect::<Result<_, _>>()
            .map_err(|e| self.port_error(e))
    }

    fn support_of(&self, source: Option<i64>, hash: Option<String>) -> Option<Support> {
        let (source, hash) = (source?, hash?);
        let chunk = self
            .conn
            .query_row(
                "SELECT id FROM chunks WHERE source_id = ?1 AND hash = ?2 ORDER BY ord LIMIT 1",
                params![source, hash],
                |r| r.get(0),
            )
            .optional()
            .ok()
            .flatten();
        Some(Support {
            source,
            chunk,
            hash,
        })
    }

    /// The facts memory holds (deleted ones not), by key.
    pub fn facts(&self) -> Result<Vec<Fact>, PortError> {
        let rows: Vec<FactRow> = {
            let mut stmt = self
                .conn
                .prepare(
                    "SELECT id, key, value, source_id, hash, confidence, author FROM facts
                     WHERE deleted = 0 ORDER BY norm_key",
                )
                .map_err(|e| self.port_error(e))?;
            let rows = stmt
                .query_map([], |r| {
                    Ok((
                        r.get(0)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                        r.get(6)?,
                    ))
                })
                .map_err(|e| self.port_error(e))?;
            rows.collect::<Result<_, _>>()
                .map_err(|e| self.port_error(e))?
        };
        Ok(rows
            .into_iter()
            .map(|(id, key, value, source, hash, confidence, author)| Fact {
                id,
                key,
                value,
                support: self.support_of(source, hash),
                confidence: confidence as f32,
                author: Author::parse(&author),
            })
            .collect())
    }

    /// Sets a fact as the user states it (it wins over what the sources say).
    pub fn set_fact(&mut self, key: &str, value: &str) -> Result<Fact, PortError> {
        let norm = normalize_key(key);
        if norm.is_empty() || value.trim().is_empty() {
            return Err(PortError::invalid(
                "a fact needs a key and a value: `deskhand memory facts set email jo@example.org`",
            ));
        }
        self.conn
            .execute(
                "INSERT INTO facts (key, norm_key, value, source_id, hash, confidence, author,
                 deleted, updated_ms) VALUES (?1, ?2, ?3, NULL, NULL, 1.0, 'user', 0, ?4)
                 ON CONFLICT(norm_key) DO UPDATE SET key = ?1, value = ?3, source_id = NULL,
                 hash = NULL, confidence = 1.0, author = 'user', deleted = 0, updated_ms = ?4",
                params![key.trim(), norm, value.trim(), now_ms()],
            )
            .map_err(|e| self.port_error(e))?;
        self.facts()?
            .into_iter()
            .find(|f| normalize_key(&f.key) == norm)
            .ok_or_else(|| PortError::failed("the fact was not stored"))
    }

    /// Deletes a fact by id or key; it stays deleted when a source states it again.
    pub fn delete_fact(&mut self, which: &str) -> Result<Fact, PortError> {
        let norm = normalize_key(which);
        let fact = self
            .facts()?
            .into_iter()
            .find(|f| f.id.to_string() == which.trim() || normalize_key(&f.key) == norm)
            .ok_or_else(|| {
                PortError::invalid(format!("no fact {which:?} (see `deskhand memory facts`)"))
            })?;
        self.conn
            .execute(
                "UPDATE facts SET deleted = 1, author = 'user', updated_ms = ?2 WHERE id = ?1",
                params![fact.id, now_ms()],
            )
            .map_err(|e| self.port_error(e))?;
        Ok(fact)
    }

    /// The shades memory shows (deleted ones not), most confident first.
    pub fn shades(&self) -> Result<Vec<Shade>, PortError> {
        let rows: Vec<(i64, String, String, f64, String)> = {
            let mut stmt = self
                .conn
                .prepare(
                    "SELECT id, name, description, confidence, author FROM shades
                     WHERE deleted = 0 ORDER BY confidence DESC, id",
                )
                .map_err(|e| self.port_error(e))?;
            let rows = stmt
                .query_map([], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
                })
                .map_err(|e| self.port_error(e))?;
            rows.collect::<Result<_, _>>()
                .map_err(|e| self.port_error(e))?
        };
        let mut out = Vec::with_capacity(rows.len());
        for (id, name, description, confidence, author) in rows {
            let support: Vec<(i64, String)> = {
                let mut stmt = self
                    .conn
                    .prepare("SELECT source_id, hash FROM shade_support WHERE shade_id = ?1")
                    .map_err(|e| self.port_error(e))?;
                let rows = stmt
                    .query_map(params![id], |r| Ok((r.get(0)?, r.get(1)?)))
                    .map_err(|e| self.port_error(e))?;
                rows.collect::<Result<_, _>>()
                    .map_err(|e| self.port_error(e))?
            };
            out.push(Shade {
                id,
                name,
                description,
                confidence: confidence as f32,
                author: Author::parse(&author),
                support: support
                    .into_iter()
                    .filter_map(|(s, h)| self.support_of(Some(s), Some(h)))
                    .collect(),
            });
        }
        Ok(out)
    }

    /// Changes a shade's name or description; from then on it is the user's.
    pub fn edit_shade(
        &mut self,
        id: i64,
        name: Option<&str>,
        description: Option<&str>,
    ) -> Result<Shade, PortError> {
        let n = self
            .conn
            .execute(
                "UPDATE shades SET name = COALESCE(?2, name), norm_name = COALESCE(?3, norm_name),
                 description = COALESCE(?4, description), author = 'user', updated_ms = ?5
                 WHERE id = ?1 AND deleted = 0",
                params![
                    id,
                    name.map(str::trim),
                    name.map(normalize_key),
                    description.map(str::trim),
                    now_ms()
                ],
            )
            .map_err(|e| self.port_error(e))?;
        if n == 0 {
            return Err(PortError::invalid(format!(
                "no shade {id} (see `deskhand memory shades`)"
            )));
        }
        self.shades()?
            .into_iter()
            .find(|s| s.id == id)
            .ok_or_else(|| PortError::failed("the shade was not stored"))
    }

    /// Deletes a shade; a later reading does not bring it back.
    pub fn delete_shade(&mut self, id: i64) -> Result<Shade, PortError> {
        let shade = self
            .shades()?
            .into_iter()
            .find(|s| s.id == id)
            .ok_or_else(|| {
                PortError::invalid(format!("no shade {id} (see `deskhand memory shades`)"))
            })?;
        self.conn
            .execute(
                "UPDATE shades SET deleted = 1, author = 'user', updated_ms = ?2 WHERE id = ?1",
                params![id, now_ms()],
            )
            .map_err(|e| self.port_error(e))?;
        self.conn
            .execute("DELETE FROM shade_support WHERE shade_id = ?1", params![id])
            .map_err(|e| self.port_error(e))?;
        Ok(shade)
    }

    /// Adds a version of the bio.
    pub fn add_bio(
        &mut self,
        first_person: &str,
        third_person: &str,
        author: Author,
        sources: &[i64],
    ) -> Result<Bio, PortError> {
        if first_person.trim().is_empty() && third_person.trim().is_empty() {
            return Err(PortError::invalid("the bio is empty"));
        }
        let now = now_ms();
        let tx = self.conn.transaction().map_err(failed)?;
        tx.execute(
            "INSERT INTO bios (first_person, third_person, author, created_ms) VALUES (?1, ?2, ?3, ?4)",
            params![first_person.trim(), third_person.trim(), author.as_str(), now],
        )
        .map_err(failed)?;
        let version = tx.last_insert_rowid();
        for s in sources {
            tx.execute(
                "INSERT OR IGNORE INTO bio_sources (version, source_id) VALUES (?1, ?2)",
                params![version, s],
            )
            .map_err(failed)?;
        }
        tx.commit().map_err(failed)?;
        self.bios()?
            .into_iter()
            .find(|b| b.version == version)
            .ok_or_else(|| PortError::failed("the bio was not stored"))
    }

    /// Every version of the bio, oldest first.
    pub fn bios(&self) -> Result<Vec<Bio>, PortError> {
        let rows: Vec<(i64, String, String, String, i64)> = {
            let mut stmt = self
                .conn
                .prepare(
                    "SELECT version, first_person, third_person, author, created_ms FROM bios
                     ORDER BY version",
                )
                .map_err(|e| self.port_error(e))?;
            let rows = stmt
                .query_map([], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
                })
                .map_err(|e| self.port_error(e))?;
            rows.collect::<Result<_, _>>()
                .map_err(|e| self.port_error(e))?
        };
        let mut out = Vec::with_capacity(rows.len());
        for (version, first_person, third_person, author, created_ms) in rows {
            let mut stmt = self
                .conn
                .prepare("SELECT source_id FROM bio_sources WHERE version = ?1 ORDER BY source_id")
                .map_err(|e| self.port_error(e))?;
            let sources = stmt
                .query_map(params![version], |r| r.get(0))
                .map_err(|e| self.port_error(e))?
                .collect::<Result<_, _>>()
                .map_err(|e| self.port_error(e))?;
            out.push(Bio {
                version,
                first_person,
                third_person,
                author: Author::parse(&author),
                created_ms,
                sources,
            });
        }
        Ok(out)
    }

    /// The bio in use: the user's latest version when they wrote one (their edit wins over
    /// later regenerations), else the latest.
    pub fn bio(&self) -> Result<Option<Bio>, PortError> {
        let all = self.bios()?;
        let mine = all.iter().rev().find(|b| b.author == Author::User);
        Ok(mine.or(all.last()).cloned())
    }

    /// Deletes every version of the bio.
    pub fn delete_bio(&mut self) -> Result<usize, PortError> {
        self.conn
            .execute("DELETE FROM bios", [])
            .map_err(|e| self.port_error(e))
    }

    /// Everything the user's own memory holds, for `deskhand memory export`.
    pub fn export_personal(&self) -> Result<PersonalExport, PortError> {
        let mut sources = Vec::new();
        for s in self.sources()?.into_iter().rev() {
            let chunks = self
                .source_chunks(s.id)?
                .into_iter()
                .map(|c| ChunkExport {
                    heading: c.heading,
                    text: c.text,
                })
                .collect();
            sources.push(SourceExport {
                id: s.id,
                uri: s.uri,
                kind: s.kind,
                tag: s.tag,
                chunks,
            });
        }
        Ok(PersonalExport {
            sources,
            digests: self.digests()?,
            bios: self.bios()?,
            shades: self.shades()?,
            facts: self.facts()?,
        })
    }

    /// What forgetting a source also removes from level 1: the model's bio versions written
    /// from it and the shades nothing supports any more (its digest, facts and supports go
    /// with the source's row).
    pub(crate) fn forget_derived(&mut self, source: i64) -> Result<(), PortError> {
        self.conn
            .execute(
                "DELETE FROM bios WHERE author = 'model'
                 AND version IN (SELECT version FROM bio_sources WHERE source_id = ?1)",
                params![source],
            )
            .map_err(|e| self.port_error(e))?;
        for sql in [
            "DELETE FROM bio_sources WHERE source_id = ?1",
            "DELETE FROM shades WHERE author = 'model' AND deleted = 0 AND ?1 IS NOT NULL
             AND id NOT IN (SELECT shade_id FROM shade_support)",
            "DELETE FROM item_vectors WHERE ?1 IS NOT NULL AND (
                (kind = 'fact' AND item NOT IN (SELECT id FROM facts WHERE deleted = 0))
                OR (kind = 'shade' AND item NOT IN (SELECT id FROM shades WHERE deleted = 0)))",
        ] {
            self.conn
                .execute(sql, params![source])
                .map_err(|e| self.port_error(e))?;
        }
        Ok(())
    }
}

/// Adds a proposed shade: into the existing one it names or whose name matches (merged:
/// its supports added, its text improved unless the user wrote it), else as a new shade; a
/// shade the user deleted is not proposed again.
fn apply_shade(
    tx: &Transaction<'_>,
    source: i64,
    hashes: &HashMap<i64, String>,
    s: &ShadeProposal,
    now: i64,
    report: &mut ReadingReport,
) -> Result<(), PortError> {
    let norm = normalize_key(&s.name);
    if norm.is_empty() {
        return Ok(());
    }
    let by_id: Option<(i64, String, i64)> = match s.existing {
        Some(id) => tx
            .query_row(
                "SELECT id, author, deleted FROM shades WHERE id = ?1",
                params![id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()
            .map_err(failed)?,
        None => None,
    };
    let target = match by_id {
        Some(t) => Some(t),
        None => tx
            .query_row(
                "SELECT id, author, deleted FROM shades WHERE norm_name = ?1
                 ORDER BY deleted DESC, id LIMIT 1",
                params![norm],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()
            .map_err(failed)?,
    };
    let id = match target {
        Some((_, _, deleted)) if deleted != 0 => {
            report.kept_yours += 1;
            return Ok(());
        }
        Some((id, author, _)) => {
            if author == "user" {
                report.kept_yours += 1;
                tx.execute(
                    "UPDATE shades SET confidence = MAX(confidence, ?2), updated_ms = ?3 WHERE id = ?1",
                    params![id, s.confidence, now],
                )
                .map_err(failed)?;
            } else {
                tx.execute(
                    "UPDATE shades SET name = ?2, norm_name = ?3, description = ?4,
                     confidence = MAX(confidence, ?5), updated_ms = ?6 WHERE id = ?1",
                    params![
                        id,
                        s.name.trim(),
                        norm,
                        s.description.trim(),
                        s.confidence,
                        now
                    ],
                )
                .map_err(failed)?;
            }
            report.merged_shades += 1;
            id
        }
        None => {
            tx.execute(
                "INSERT INTO shades (name, norm_name, description, confidence, author, updated_ms)
                 VALUES (?1, ?2, ?3, ?4, 'model', ?5)",
                params![s.name.trim(), norm, s.description.trim(), s.confidence, now],
            )
            .map_err(failed)?;
            report.new_shades += 1;
            tx.last_insert_rowid()
        }
    };
    for c in &s.chunks {
        if let Some(hash) = hashes.get(c) {
            tx.execute(
                "INSERT OR IGNORE INTO shade_support (shade_id, source_id, hash) VALUES (?1, ?2, ?3)",
                params![id, source, hash],
            )
            .map_err(failed)?;
        }
    }
    Ok(())
}
