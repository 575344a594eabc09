//! The user's own memory, level 0 (Second Me): sources (files, typed notes) split into chunks,
//! each chunk embedded once by content hash, and searched by hybrid retrieval: FTS5 BM25 and
//! cosine similarity fused by reciprocal rank.
//!
//! Vectors are keyed by (model id, chunk hash): an unchanged chunk is never embedded twice,
//! a changed file re-embeds only its changed chunks, and a new model re-embeds everything
//! instead of comparing vectors of two spaces.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;

use deskhand_core::experience::{PersonalMemory, Recollection};
use deskhand_core::ports::{cosine, Embedder};
use deskhand_core::PortError;
use rusqlite::{params, OptionalExtension};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::chunk::{chunk, Chunk, ChunkOptions};
use crate::experience::fts_content_query;
use crate::SqliteMemory;

/// Reciprocal-rank-fusion constant (the usual 60).
const RRF_K: f64 = 60.0;
/// Candidates each retriever contributes before fusion.
const CANDIDATES: usize = 50;
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

/// Why a hit was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Why {
    /// Its words matched.
    Keyword,
    /// Its meaning was near.
    Vector,
    /// Both.
    Both,
}

impl std::fmt::Display for Why {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Why::Keyword => "keyword",
            Why::Vector => "vector",
            Why::Both => "keyword+vector",
        })
    }
}

/// One search result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Hit {
    /// The chunk's id.
    pub chunk: i64,
    /// Its source's uri.
    pub source: String,
    /// The heading path above it.
    pub heading: String,
    /// Its text.
    pub text: String,
    /// The fused score (higher is better).
    pub score: f64,
    /// Cosine similarity to the query, when vectors were searched.
    pub similarity: Option<f32>,
    /// Why it was found.
    pub why: Why,
}

/// How a search runs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SearchOptions {
    /// Results at most.
    pub k: usize,
    /// Least cosine similarity for a vector hit to count.
    pub min_similarity: f32,
    /// Search keywords only (for comparison; no embedder needed).
    pub keywords_only: bool,
}

impl Default for SearchOptions {
    fn default() -> Self {
        Self {
            k: 5,
            min_similarity: 0.3,
            keywords_only: false,
        }
    }
}

/// The vectors of the current model, kept in memory between searches.
#[derive(Debug, Default)]
pub(crate) struct VectorCache {
    model: String,
    /// Bumped by every write to chunks or vectors.
    generation: u64,
    loaded: Option<u64>,
    ids: Vec<i64>,
    data: Vec<f32>,
    dims: usize,
}

/// The embedder recall uses, if the host gave one.
#[derive(Default, Clone)]
pub(crate) struct EmbedderSlot(pub(crate) Option<Arc<dyn Embedder>>);

impl std::fmt::Debug for EmbedderSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            Some(e) => write!(f, "EmbedderSlot({})", e.model_id()),
            None => f.write_str("EmbedderSlot(none)"),
        }
    }
}

/// Least similarity for a memory item to be given to an agent (keyword-only hits count when
/// there is no embedder).
pub const RECALL_SIMILARITY: f32 = 0.35;

impl PersonalMemory for SqliteMemory {
    fn recall(&mut self, query: &str, limit: usize) -> Result<Vec<Recollection>, PortError> {
        if limit == 0 || query.trim().is_empty() {
            return Ok(Vec::new());
        }
        let embedder = self.embedder.0.clone();
        let hits = self.search_memory(
            query,
            embedder.as_deref(),
            SearchOptions {
                k: limit,
                min_similarity: RECALL_SIMILARITY,
                keywords_only: false,
            },
        )?;
        Ok(hits
            .into_iter()
            // With vectors, a keyword-only match on a common word is not enough.
            .filter(|h| embedder.is_none() || h.similarity.is_some())
            .map(|h| Recollection {
                id: format!("chunk:{}", h.chunk),
                source: h.source,
                text: if h.heading.is_empty() {
                    h.text
                } else {
                    format!("{}: {}", h.heading, h.text)
                },
                similarity: h.similarity,
            })
            .collect())
    }
}

impl SqliteMemory {
    /// Gives the store the embedder the agents' recall uses.
    pub fn set_embedder(&mut self, embedder: Arc<dyn Embedder>) {
        self.embedder = EmbedderSlot(Some(embedder));
    }
}

fn sha(text: &str) -> String {
    let d = Sha256::digest(text.as_bytes());
    d.iter().take(16).map(|b| format!("{b:02x}")).collect()
}

fn to_blob(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn from_blob(b: &[u8], dims: usize) -> Option<Vec<f32>> {
    (b.len() == dims * 4).then(|| {
        b.chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect()
    })
}

fn now_ms() -> i64 {
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
        let options = ChunkOptions {
            max_tokens: embedder
                .map(|e| e.max_tokens().saturating_sub(16).clamp(32, 240))
                .unwrap_or(200),
            ..ChunkOptions::default()
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
        self.vectors.generation += 1;
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
            self.vectors.generation += 1;
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
            self.vectors.generation += 1;
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
            self.vectors.generation += 1;
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
    /// their full-text rows and the vectors no other chunk shares. Returns the uri deleted.
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
        self.vectors.generation += 1;
        self.drop_orphan_vectors()?;
        Ok(uri)
    }

    /// Hybrid search over the user's memory: BM25 over the chunks' words and cosine over
    /// their vectors (at least `min_similarity`), fused by reciprocal rank; top `k`.
    /// Without an embedder (or with `keywords_only`) only keywords are searched.
    pub fn search_memory(
        &mut self,
        query: &str,
        embedder: Option<&dyn Embedder>,
        options: SearchOptions,
    ) -> Result<Vec<Hit>, PortError> {
        if query.trim().is_empty() {
            return Err(PortError::invalid("the search query is empty"));
        }
        let keyword: Vec<i64> = match fts_content_query(query) {
            Some(q) => {
                let mut stmt = self
                    .conn
                    .prepare_cached(
                        "SELECT rowid FROM chunks_fts WHERE chunks_fts MATCH ?1
                         ORDER BY bm25(chunks_fts) LIMIT ?2",
                    )
                    .map_err(|e| self.port_error(e))?;
                let rows = stmt
                    .query_map(params![q, CANDIDATES as i64], |r| r.get(0))
                    .map_err(|e| self.port_error(e))?;
                rows.collect::<Result<_, _>>()
                    .map_err(|e| self.port_error(e))?
            }
            None => Vec::new(),
        };
        let mut similar: Vec<(i64, f32)> = Vec::new();
        let mut keyword = keyword;
        if let (Some(e), false) = (embedder, options.keywords_only) {
            let q = e.embed_query(query)?;
            self.load_vectors(e)?;
            let c = &self.vectors;
            let all: HashMap<i64, f32> = c
                .ids
                .iter()
                .zip(c.data.chunks_exact(c.dims.max(1)))
                .map(|(id, v)| (*id, cosine(&q.vector, v)))
                .collect();
            // A word in common is not enough when the meaning is far: keyword hits whose
            // similarity is under half the threshold are dropped (they crowd out the
            // answer among many notes that share a common word).
            keyword.retain(|id| {
                all.get(id)
                    .is_none_or(|s| *s >= options.min_similarity / 2.0)
            });
            let mut scored: Vec<(i64, f32)> = all
                .into_iter()
                .filter(|(_, s)| *s >= options.min_similarity)
                .collect();
            scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            scored.truncate(CANDIDATES);
            similar = scored;
        }
        let mut fused: HashMap<i64, (f64, bool, Option<f32>)> = HashMap::new();
        for (rank, id) in keyword.iter().enumerate() {
            let e = fused.entry(*id).or_insert((0.0, false, None));
            e.0 += 1.0 / (RRF_K + rank as f64 + 1.0);
            e.1 = true;
        }
        for (rank, (id, s)) in similar.iter().enumerate() {
            let e = fused.entry(*id).or_insert((0.0, false, None));
            e.0 += 1.0 / (RRF_K + rank as f64 + 1.0);
            e.2 = Some(*s);
        }
        let mut order: Vec<(i64, f64, bool, Option<f32>)> = fused
            .into_iter()
            .map(|(id, (s, k, v))| (id, s, k, v))
            .collect();
        order.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        order.truncate(options.k);
        let mut hits = Vec::with_capacity(order.len());
        for (id, score, by_keyword, similarity) in order {
            let (source, heading, text): (String, String, String) = self
                .conn
                .query_row(
                    "SELECT s.uri, c.heading, c.text FROM chunks c JOIN sources s ON s.id = c.source_id
                     WHERE c.id = ?1",
                    params![id],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .map_err(|e| self.port_error(e))?;
            let why = match (by_keyword, similarity.is_some()) {
                (true, true) => Why::Both,
                (true, false) => Why::Keyword,
                _ => Why::Vector,
            };
            hits.push(Hit {
                chunk: id,
                source,
                heading,
                text,
                score,
                similarity,
                why,
            });
        }
        Ok(hits)
    }

    /// Loads the current model's chunk vectors once per change; embeds what is missing
    /// first (a new model, chunks added without an embedder). A corrupt row (wrong length)
    /// is skipped and re-embedded next time.
    fn load_vectors(&mut self, embedder: &dyn Embedder) -> Result<(), PortError> {
        let model = embedder.model_id().to_string();
        if self.vectors.model == model && self.vectors.loaded == Some(self.vectors.generation) {
            return Ok(());
        }
        let dims = embedder.dimensions();
        let mut ids = Vec::new();
        let mut data = Vec::new();
        // Twice at most: a corrupt row found on the first pass is removed and re-embedded.
        for _ in 0..2 {
            self.embed_missing(embedder, None, &mut |_, _| {})?;
            ids.clear();
            data.clear();
            let mut corrupt: HashSet<String> = HashSet::new();
            {
                let mut stmt = self
                    .conn
                    .prepare(
                        "SELECT c.id, v.hash, v.vector FROM chunks c
                         JOIN vectors v ON v.hash = c.hash AND v.model = ?1 ORDER BY c.id",
                    )
                    .map_err(|e| self.port_error(e))?;
                let mut rows = stmt.query(params![model]).map_err(|e| self.port_error(e))?;
                while let Some(r) = rows.next().map_err(|e| self.port_error(e))? {
                    let id: i64 = r.get(0).map_err(|e| self.port_error(e))?;
                    let hash: String = r.get(1).map_err(|e| self.port_error(e))?;
                    let blob: Vec<u8> = r.get(2).map_err(|e| self.port_error(e))?;
                    match from_blob(&blob, dims) {
                        Some(v) => {
                            ids.push(id);
                            data.extend(v);
                        }
                        None => {
                            corrupt.insert(hash);
                        }
                    }
                }
            }
            if corrupt.is_empty() {
                break;
            }
            for hash in &corrupt {
                tracing::warn!(hash, "corrupt vector row removed and embedded again");
                self.conn
                    .execute("DELETE FROM vectors WHERE hash = ?1", params![hash])
                    .map_err(|e| self.port_error(e))?;
            }
        }
        let generation = self.vectors.generation;
        self.vectors = VectorCache {
            model,
            generation,
            loaded: Some(generation),
            ids,
            data,
            dims,
        };
        Ok(())
    }
}
