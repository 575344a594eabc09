//! The user's own memory, level 0 (Second Me): sources (files, typed notes) split into chunks,
//! each chunk embedded once by content hash (searched in [`crate::recall`]).
//!
//! Vectors are keyed by (model id, chunk hash): an unchanged chunk is never embedded twice,
//! a changed file re-embeds only its changed chunks, and a new model re-embeds everything
//! instead of comparing vectors of two spaces.

use std::path::Path;

use deskhand_core::ports::Embedder;
use deskhand_core::PortError;
use rusqlite::{params, OptionalExtension};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::chunk::{chunk, Chunk, ChunkOptions};
use crate::SqliteMemory;

/// Texts per embedding call while ingesting.
const EMBED_BATCH: usize = 32;

/// A source of user memory.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Source {
    /// Its id.
    pub id: i64,
    /// The absolute path of a file, or `note:<n>` for a typed note.
    pub uri: String,
    /// "file" or "note".
    pub kind: String,
    /// The user's tag, if any.
    pub tag: Option<String>,
    /// Chunks it was split into.
    pub chunks: usize,
    /// Bytes of text.
    pub bytes: usize,
    /// When it was last added or changed (ms since the epoch).
    pub updated_ms: i64,
}

/// What adding one source did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct AddReport {
    /// The source's id.
    pub source: i64,
    /// "new", "changed" or "unchanged".
    pub status: String,
    /// Chunks the source has now.
    pub chunks: usize,
    /// Chunks whose vector had to be computed (the rest were known by their hash).
    pub embedded: usize,
    /// Chunks longer than the model reads (cut; their end is found by keywords only).
    pub cut: usize,
}

pub(crate) fn sha(text: &str) -> String {
    let d = Sha256::digest(text.as_bytes());
    d.iter().take(16).map(|b| format!("{b:02x}")).collect()
}

pub(crate) fn to_blob(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Reads a file as text: UTF-8 text and Markdown as they are, a PDF's text layer page by
/// page; binary or non-UTF-8 content and PDFs without text are refused with the reason.
pub fn read_text(path: &Path) -> Result<String, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read: {e}"))?;
    if bytes.starts_with(b"%PDF") {
        return pdf_text(&bytes);
    }
    if bytes.iter().take(8192).any(|b| *b == 0) {
        return Err("binary content, not text".into());
    }
    String::from_utf8(bytes).map_err(|_| "not UTF-8 text".to_string())
}

/// The text layer of a PDF, pages as paragraphs. The extractor panics on some malformed
/// files: that is caught and reported as an unreadable PDF.
fn pdf_text(bytes: &[u8]) -> Result<String, String> {
    let pages = std::panic::catch_unwind(|| pdf_extract::extract_text_from_mem_by_pages(bytes))
        .map_err(|_| "a PDF that cannot be read (malformed)".to_string())?
        .map_err(|e| format!("a PDF that cannot be read: {e}"))?;
    let text = pages
        .iter()
        .map(|p| p.trim())
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("\n\n");
    if text.trim().is_empty() {
        return Err("a PDF with no text in it (a scan? OCR it first)".into());
    }
    Ok(text)
}

impl SqliteMemory {
    /// Adds (or updates) a file of user memory. Unchanged content costs one hash; changed
    /// content re-embeds only the chunks not seen before. `progress(done, total)` is called
    /// while embedding.
    pub fn add_file(
        &mut self,
        path: &Path,
        tag: Option<&str>,
        embedder: Option<&dyn Embedder>,
        progress: &mut dyn FnMut(usize, usize),
    ) -> Result<AddReport, PortError> {
        let abs = std::fs::canonicalize(path)
            .map_err(|e| PortError::invalid(format!("{}: {e}", path.display())))?;
        let text = read_text(&abs)
            .map_err(|why| PortError::invalid(format!("{}: {why}", abs.display())))?;
        self.add_text(
            &abs.display().to_string(),
            "file",
            tag,
            &text,
            embedder,
            progress,
        )
    }

    /// Adds a note typed by the user.
    pub fn add_note(
        &mut self,
        text: &str,
        tag: Option<&str>,
        embedder: Option<&dyn Embedder>,
    ) -> Result<AddReport, PortError> {
        if text.trim().is_empty() {
            return Err(PortError::invalid("the note is empty"));
        }
        let n: i64 = self
            .conn
            .query_row(
                "SELECT COUNT(*) FROM sources WHERE kind = 'note'",
                [],
                |r| r.get(0),
            )
            .map_err(|e| self.port_error(e))?;
        let uri = format!("note:{}:{}", n + 1, &sha(text)[..8]);
        self.add_text(&uri, "note", tag, text, embedder, &mut |_, _| {})
    }

    fn add_text(
        &mut self,
        uri: &str,
        kind: &str,
        tag: Option<&str>,
        text: &str,
        embedder: Option<&dyn Embedder>,
        progress: &mut dyn FnMut(usize, usize),
    ) -> Result<AddReport, PortError> {
        let hash = sha(text);
        let existing: Option<(i64, String)> = self
            .conn
            .query_row(
                "SELECT id, hash FROM sources WHERE uri = ?1",
                params![uri],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(|e| self.port_error(e))?;
        if let Some((id, old)) = &existing {
            if *old == hash {
                // Still embed what a changed model lacks.
                let embedded = match embedder {
                    Some(e) => self.embed_missing(e, Some(*id), progress)?.0,
                    None => 0,
                };
                let chunks = self.count_chunks(*id)?;
                return Ok(AddReport {
                    source: *id,
                    status: "unchanged".into(),
                    chunks,
                    embedded,
                    cut: 0,
                });
            }
        }
        let count = |s: &str| -> usize {
            embedder
                .and_then(|e| e.count_tokens(s).ok())
                .unwrap_or_else(|| s.split_whitespace().count() * 4 / 3 + 2)
        };
        // A chunk with its overlap and heading line must fit what the model reads.
        let overlap = ChunkOptions::default().overlap_tokens;
        let options = ChunkOptions {
            max_tokens: embedder
                .map(|e| e.max_tokens().saturating_sub(overlap + 24).clamp(32, 240))
                .unwrap_or(200),
            overlap_tokens: overlap,
        };
        let chunks: Vec<Chunk> = chunk(text, options, &count);
        let now = now_ms();
        let tx = self
            .conn
            .transaction()
            .map_err(|e| PortError::failed(e.to_string()))?;
        let id = match &existing {
            Some((id, _)) => {
                tx.execute(
                    "UPDATE sources SET hash = ?2, tag = COALESCE(?3, tag), bytes = ?4, updated_ms = ?5 WHERE id = ?1",
                    params![id, hash, tag, text.len() as i64, now],
                )
                .map_err(|e| PortError::failed(e.to_string()))?;
                tx.execute("DELETE FROM chunks WHERE source_id = ?1", params![id])
                    .map_err(|e| PortError::failed(e.to_string()))?;
                *id
            }
            None => {
                tx.execute(
                    "INSERT INTO sources (uri, kind, tag, hash, bytes, added_ms, updated_ms)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)",
                    params![uri, kind, tag, hash, text.len() as i64, now],
                )
                .map_err(|e| PortError::failed(e.to_string()))?;
                tx.last_insert_rowid()
            }
        };
        for (i, c) in chunks.iter().enumerate() {
            tx.execute(
                "INSERT INTO chunks (source_id, ord, heading, text, hash) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![id, i as i64, c.heading, c.text, sha(&c.embedded_text())],
            )
            .map_err(|e| PortError::failed(e.to_string()))?;
        }
        tx.commit().map_err(|e| PortError::failed(e.to_string()))?;
        self.vectors.changed();
        let (embedded, cut) = match embedder {
            Some(e) => self.embed_missing(e, Some(id), progress)?,
            None => (0, 0),
        };
        self.drop_orphan_vectors()?;
        Ok(AddReport {
            source: id,
            status: if existing.is_some() { "changed" } else { "new" }.into(),
            chunks: chunks.len(),
            embedded,
            cut,
        })
    }

    fn count_chunks(&self, source: i64) -> Result<usize, PortError> {
        self.conn
            .query_row(
                "SELECT COUNT(*) FROM chunks WHERE source_id = ?1",
                params![source],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| n as usize)
            .map_err(|e| self.port_error(e))
    }

    /// Embeds the chunks (of one source, or all) that have no vector for this model; returns
    /// (embedded, cut). Vectors of other models are removed: one space at a time.
    pub fn embed_missing(
        &mut self,
        embedder: &dyn Embedder,
        source: Option<i64>,
        progress: &mut dyn FnMut(usize, usize),
    ) -> Result<(usize, usize), PortError> {
        let model = embedder.model_id().to_string();
        let stale = self
            .conn
            .execute("DELETE FROM vectors WHERE model <> ?1", params![model])
            .map_err(|e| self.port_error(e))?;
        if stale > 0 {
            self.vectors.changed();
        }
        let todo: Vec<(String, String)> = {
            let mut stmt = self
                .conn
                .prepare(
                    "SELECT DISTINCT c.hash, COALESCE(NULLIF(c.heading, '') || char(10), '') || c.text
                     FROM chunks c
                     WHERE (?2 IS NULL OR c.source_id = ?2)
                       AND NOT EXISTS (SELECT 1 FROM vectors v WHERE v.hash = c.hash AND v.model = ?1)",
                )
                .map_err(|e| self.port_error(e))?;
            let rows = stmt
                .query_map(params![model, source], |r| Ok((r.get(0)?, r.get(1)?)))
                .map_err(|e| self.port_error(e))?;
            rows.collect::<Result<_, _>>()
                .map_err(|e| self.port_error(e))?
        };
        let total = todo.len();
        let mut done = 0;
        let mut cut = 0;
        for batch in todo.chunks(EMBED_BATCH) {
            let texts: Vec<&str> = batch.iter().map(|(_, t)| t.as_str()).collect();
            let vectors = embedder.embed_documents(&texts)?;
            if vectors.len() != texts.len() {
                return Err(PortError::failed(format!(
                    "the embedder gave {} vectors for {} texts",
                    vectors.len(),
                    texts.len()
                )));
            }
            let tx = self
                .conn
                .transaction()
                .map_err(|e| PortError::failed(e.to_string()))?;
            for ((hash, _), v) in batch.iter().zip(&vectors) {
                if v.vector.len() != embedder.dimensions() {
                    return Err(PortError::failed(format!(
                        "the embedder gave a {}-d vector, not {}",
                        v.vector.len(),
                        embedder.dimensions()
                    )));
                }
                cut += usize::from(v.cut_tokens > 0);
                tx.execute(
                    "INSERT OR REPLACE INTO vectors (model, hash, dims, vector) VALUES (?1, ?2, ?3, ?4)",
                    params![model, hash, v.vector.len() as i64, to_blob(&v.vector)],
                )
                .map_err(|e| PortError::failed(e.to_string()))?;
            }
            tx.commit().map_err(|e| PortError::failed(e.to_string()))?;
            done += batch.len();
            progress(done, total);
        }
        if total > 0 {
            self.vectors.changed();
        }
        Ok((total, cut))
    }

    fn drop_orphan_vectors(&mut self) -> Result<(), PortError> {
        let n = self
            .conn
            .execute(
                "DELETE FROM vectors WHERE hash NOT IN (SELECT hash FROM chunks)",
                [],
            )
            .map_err(|e| self.port_error(e))?;
        if n > 0 {
            self.vectors.changed();
        }
        Ok(())
    }

    /// Every source, newest first.
    pub fn sources(&self) -> Result<Vec<Source>, PortError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT s.id, s.uri, s.kind, s.tag, COUNT(c.id), s.bytes, s.updated_ms
                 FROM sources s LEFT JOIN chunks c ON c.source_id = s.id
                 GROUP BY s.id ORDER BY s.updated_ms DESC, s.id DESC",
            )
            .map_err(|e| self.port_error(e))?;
        let rows = stmt
            .query_map([], |r| {
                Ok(Source {
                    id: r.get(0)?,
                    uri: r.get(1)?,
                    kind: r.get(2)?,
                    tag: r.get(3)?,
                    chunks: r.get::<_, i64>(4)? as usize,
                    bytes: r.get::<_, i64>(5)? as usize,
                    updated_ms: r.get(6)?,
                })
            })
            .map_err(|e| self.port_error(e))?;
        rows.collect::<Result<_, _>>()
            .map_err(|e| self.port_error(e))
    }

    /// Deletes a source (by id, or by path or uri) and everything derived from it: its chunks,
    /// their full-text rows, the vectors no other chunk shares, its digest, the facts and
    /// shade supports read from it, the shades left unsupported and the model's bio versions
    /// written from it. Returns the uri deleted.
    pub fn forget(&mut self, which: &str) -> Result<String, PortError> {
        let by_path = std::fs::canonicalize(which)
            .map(|p| p.display().to_string())
            .unwrap_or_else(|_| which.to_string());
        let found: Option<(i64, String)> = self
            .conn
            .query_row(
                "SELECT id, uri FROM sources WHERE CAST(id AS TEXT) = ?1 OR uri = ?1 OR uri = ?2",
                params![which, by_path],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(|e| self.port_error(e))?;
        let Some((id, uri)) = found else {
            return Err(PortError::invalid(format!(
                "no memory source {which:?} (see `deskhand memory sources`)"
            )));
        };
        self.conn
            .execute("DELETE FROM sources WHERE id = ?1", params![id])
            .map_err(|e| self.port_error(e))?;
        self.forget_derived(id)?;
        self.vectors.changed();
        self.drop_orphan_vectors()?;
        Ok(uri)
    }
}
