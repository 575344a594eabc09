//! Hybrid retrieval over the user's own memory: FTS5 BM25 over the chunks' words and cosine
//! over their vectors (the current model's, cached in memory between searches), fused by
//! reciprocal rank; and the agents' recall through the [`PersonalMemory`] port.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use deskhand_core::experience::{PersonalMemory, Recollection};
use deskhand_core::ports::{cosine, Embedder};
use deskhand_core::PortError;
use rusqlite::params;
use serde::Serialize;

use crate::experience::fts_content_query;
use crate::SqliteMemory;

/// Reciprocal-rank-fusion constant (the usual 60).
const RRF_K: f64 = 60.0;
/// Candidates each retriever contributes before fusion.
const CANDIDATES: usize = 50;

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

impl VectorCache {
    /// Chunks or vectors were written: the next search reloads.
    pub(crate) fn changed(&mut self) {
        self.generation += 1;
    }
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

fn from_blob(b: &[u8], dims: usize) -> Option<Vec<f32>> {
    (b.len() == dims * 4).then(|| {
        b.chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect()
    })
}

impl SqliteMemory {
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
