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
        let mut out = self.recall_profile(query, limit, embedder.as_deref())?;
        let hits = self.search_memory(
            query,
            embedder.as_deref(),
            SearchOptions {
                k: limit,
                min_similarity: RECALL_SIMILARITY,
                keywords_only: false,
            },
        )?;
        out.extend(
            hits.into_iter()
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
                }),
        );
        Ok(out)
    }
}

/// Shades given to an agent at most.
const RECALL_SHADES: usize = 2;

impl SqliteMemory {
    /// The facts (up to `limit`) and shades (up to [`RECALL_SHADES`]) that bear on `query`:
    /// by meaning above [`RECALL_SIMILARITY`] with an embedder, else those sharing a word.
    fn recall_profile(
        &self,
        query: &str,
        limit: usize,
        embedder: Option<&dyn Embedder>,
    ) -> Result<Vec<Recollection>, PortError> {
        let facts = self.facts()?;
        let shades = self.shades()?;
        if facts.is_empty() && shades.is_empty() {
            return Ok(Vec::new());
        }
        let source_uri = |support: Option<&deskhand_core::profile::Support>| -> String {
            support
                .and_then(|s| {
                    self.conn
                        .query_row(
                            "SELECT uri FROM sources WHERE id = ?1",
                            params![s.source],
                            |r| r.get::<_, String>(0),
                        )
                        .ok()
                })
                .unwrap_or_else(|| "you".to_string())
        };
        let fact_items: Vec<(i64, String)> = facts
            .iter()
            .map(|f| (f.id, format!("{}: {}", f.key, f.value)))
            .collect();
        let shade_items: Vec<(i64, String)> = shades
            .iter()
            .map(|s| (s.id, format!("{}: {}", s.name, s.description)))
            .collect();
        let q = match embedder {
            Some(e) => Some(e.embed_query(query)?.vector),
            None => None,
        };
        let ranked =
            |kind: &str, items: &[(i64, String)]| -> Result<Vec<(i64, Option<f32>)>, PortError> {
                match (embedder, &q) {
                    (Some(e), Some(q)) => Ok(self
                        .item_similarities(kind, items, e, q)?
                        .into_iter()
                        .filter(|(_, s)| *s >= RECALL_SIMILARITY)
                        .map(|(id, s)| (id, Some(s)))
                        .collect()),
                    _ => {
                        let words: HashSet<String> = deskhand_core::profile::normalize_key(query)
                            .split(' ')
                            .filter(|w| w.len() > 2)
                            .map(str::to_string)
                            .collect();
                        Ok(items
                            .iter()
                            .filter(|(_, t)| {
                                deskhand_core::profile::normalize_key(t)
                                    .split(' ')
                                    .any(|w| words.contains(w))
                            })
                            .map(|(id, _)| (*id, None))
                            .collect())
                    }
                }
            };
        let mut out = Vec::new();
        for (id, similarity) in ranked("fact", &fact_items)?.into_iter().take(limit) {
            let Some(f) = facts.iter().find(|f| f.id == id) else {
                continue;
            };
            out.push(Recollection {
                id: format!("fact:{id}"),
                source: source_uri(f.support.as_ref()),
                text: format!("{}: {}", f.key, f.value),
                similarity,
            });
        }
        for (id, similarity) in ranked("shade", &shade_items)?
            .into_iter()
            .take(RECALL_SHADES)
        {
            let Some(s) = shades.iter().find(|s| s.id == id) else {
                continue;
            };
            out.push(Recollection {
                id: format!("shade:{id}"),
                source: source_uri(s.support.first()),
                text: format!("{} (an interest): {}", s.name, s.description),
                similarity,
            });
        }
        Ok(out)
    }
}

impl SqliteMemory {
    /// Gives the store the embedder the agents' recall uses.
    pub fn set_embedder(&mut self, embedder: Arc<dyn Embedder>) {
        self.embedder = EmbedderSlot(Some(embedder));
    }

    /// The embedder the host gave, if any.
    pub fn embedder(&self) -> Option<Arc<dyn Embedder>> {
        self.embedder.0.clone()
    }
}

/// Reciprocal-rank fusion of a keyword ranking and a similarity ranking: (id, score, found
/// by keyword, similarity), best first, ties by id.
pub(crate) fn fuse(keyword: &[i64], similar: &[(i64, f32)]) -> Vec<(i64, f64, bool, Option<f32>)> {
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
    order
}

impl SqliteMemory {
    /// Cosine similarity of `query` to each of the short `items` (id, text) of one kind
    /// ("fact", "shade", "tip", "shortcut"), most similar first. Their vectors are kept in
    /// `item_vectors` by model, kind and id with the text's hash: an item whose text changed
    /// is embedded again, and rows of items no longer given are dropped.
    pub(crate) fn item_similarities(
        &self,
        kind: &str,
        items: &[(i64, String)],
        embedder: &dyn Embedder,
        query: &[f32],
    ) -> Result<Vec<(i64, f32)>, PortError> {
        let model = embedder.model_id();
        let dims = embedder.dimensions();
        let mut known: HashMap<i64, (String, Vec<f32>)> = HashMap::new();
        {
            let mut stmt = self
                .conn
                .prepare_cached(
                    "SELECT item, hash, vector FROM item_vectors WHERE model = ?1 AND kind = ?2",
                )
                .map_err(|e| self.port_error(e))?;
            let mut rows = stmt
                .query(params![model, kind])
                .map_err(|e| self.port_error(e))?;
            while let Some(r) = rows.next().map_err(|e| self.port_error(e))? {
                let item: i64 = r.get(0).map_err(|e| self.port_error(e))?;
                let hash: String = r.get(1).map_err(|e| self.port_error(e))?;
                let blob: Vec<u8> = r.get(2).map_err(|e| self.port_error(e))?;
                // A corrupt row is embedded again below.
                if let Some(v) = from_blob(&blob, dims) {
                    known.insert(item, (hash, v));
                }
            }
        }
        let wanted: Vec<(i64, &str, String)> = items
            .iter()
            .map(|(id, text)| (*id, text.as_str(), crate::user::sha(text)))
            .collect();
        let todo: Vec<&(i64, &str, String)> = wanted
            .iter()
            .filter(|(id, _, hash)| known.get(id).is_none_or(|(h, _)| h != hash))
            .collect();
        for batch in todo.chunks(32) {
            let texts: Vec<&str> = batch.iter().map(|(_, t, _)| *t).collect();
            let vectors = embedder.embed_documents(&texts)?;
            for ((id, _, hash), v) in batch.iter().zip(vectors) {
                if v.vector.len() != dims {
                    return Err(PortError::failed(format!(
                        "the embedder gave a {}-d vector, not {dims}",
                        v.vector.len()
                    )));
                }
                self.conn
                    .execute(
                        "INSERT OR REPLACE INTO item_vectors (model, kind, item, hash, vector)
                         VALUES (?1, ?2, ?3, ?4, ?5)",
                        params![model, kind, id, hash, crate::user::to_blob(&v.vector)],
                    )
                    .map_err(|e| self.port_error(e))?;
                known.insert(*id, (hash.clone(), v.vector));
            }
        }
        let given: HashSet<i64> = wanted.iter().map(|(id, _, _)| *id).collect();
        if known.keys().any(|id| !given.contains(id)) {
            let tx = self
                .conn
                .unchecked_transaction()
                .map_err(|e| self.port_error(e))?;
            for id in known.keys().filter(|id| !given.contains(id)) {
                tx.execute(
                    "DELETE FROM item_vectors WHERE model = ?1 AND kind = ?2 AND item = ?3",
                    params![model, kind, id],
                )
                .map_err(|e| self.port_error(e))?;
            }
            tx.commit().map_err(|e| self.port_error(e))?;
        }
        let mut out: Vec<(i64, f32)> = wanted
            .iter()
            .filter_map(|(id, _, _)| known.get(id).map(|(_, v)| (*id, cosine(query, v))))
            .collect();
        out.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        Ok(out)
    }
}

pub(crate) fn from_blob(b: &[u8], dims: usize) -> Option<Vec<f32>> {
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
        let mut order = fuse(&keyword, &similar);
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
