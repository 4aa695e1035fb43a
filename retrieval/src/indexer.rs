//! Keeps the vector index in step with the semantic layer and the warehouse:
//! documents whose content hash is unchanged are left alone, changed or new
//! ones are embedded and written, and points of items that are gone are
//! removed. A second run over the same inputs embeds nothing.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Instant;

use serde::Serialize;

use crate::RetrievalError;
use crate::docs::Document;
use crate::embed::Embedder;
use crate::index::{Point, VectorIndex};

const BATCH: usize = 256;

/// Reports progress of long work; the CLI shows a bar, tests ignore it.
pub trait Progress: Send + Sync {
    fn start(&self, total: u64, message: &str);
    fn advance(&self, n: u64);
    fn finish(&self);
}

/// Progress that goes nowhere.
#[derive(Debug, Default)]
pub struct Silent;

impl Progress for Silent {
    fn start(&self, _: u64, _: &str) {}
    fn advance(&self, _: u64) {}
    fn finish(&self) {}
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct SyncReport {
    /// Items in the index afterwards.
    pub total: usize,
    pub embedded: usize,
    pub unchanged: usize,
    pub removed: usize,
    pub seconds: f64,
}

/// Adds or replaces `docs` and leaves every other item alone (a verified
/// question saved while the server runs). Unchanged documents are not
/// embedded again. Returns how many were embedded.
pub async fn upsert(
    embedder: &Arc<Embedder>,
    index: &dyn VectorIndex,
    docs: Vec<Document>,
) -> Result<usize, RetrievalError> {
    if docs.is_empty() {
        return Ok(0);
    }
    index.ensure(embedder.dim()).await?;
    let existing: HashMap<u64, String> = index
        .payloads()
        .await?
        .into_iter()
        .filter_map(|(id, p)| Some((id, p.get("hash")?.as_str()?.to_string())))
        .collect();
    let todo: Vec<(u64, String, Document)> = docs
        .into_iter()
        .map(|d| (d.point_id(), d.content_hash(embedder.fingerprint()), d))
        .filter(|(id, hash, _)| existing.get(id) != Some(hash))
        .collect();
    if todo.is_empty() {
        return Ok(0);
    }
    embed_and_upsert(embedder, index, &todo).await?;
    index.commit().await?;
    Ok(todo.len())
}

/// Embeds `docs` (id, content hash, document) off the async threads and
/// writes them to the index, uncommitted.
async fn embed_and_upsert(
    embedder: &Arc<Embedder>,
    index: &dyn VectorIndex,
    docs: &[(u64, String, Document)],
) -> Result<(), RetrievalError> {
    let texts: Vec<String> = docs.iter().map(|(_, _, d)| d.text.clone()).collect();
    let e = Arc::clone(embedder);
    let vectors = tokio::task::spawn_blocking(move || e.embed(&texts))
        .await
        .map_err(|e| RetrievalError::Embed(e.to_string()))??;
    let points = docs
        .iter()
        .zip(vectors)
        .map(|((id, hash, d), vector)| Point {
            id: *id,
            vector,
            payload: d.to_payload(hash),
        })
        .collect();
    Ok(index.upsert(points).await?)
}

/// Brings the index to exactly `docs`.
pub async fn sync(
    embedder: &Arc<Embedder>,
    index: &dyn VectorIndex,
    docs: Vec<Document>,
    progress: &dyn Progress,
) -> Result<SyncReport, RetrievalError> {
    let t = Instant::now();
    index.ensure(embedder.dim()).await?;
    let existing: HashMap<u64, Option<String>> = index
        .payloads()
        .await?
        .into_iter()
        .map(|(id, p)| {
            (
                id,
                p.get("hash").and_then(|h| h.as_str()).map(str::to_string),
            )
        })
        .collect();

    let mut seen = HashSet::new();
    let mut todo: Vec<(u64, String, Document)> = Vec::new();
    let mut unchanged = 0;
    for d in docs {
        let id = d.point_id();
        if !seen.insert(id) {
            continue;
        }
        let hash = d.content_hash(embedder.fingerprint());
        if existing.get(&id).and_then(|h| h.as_deref()) == Some(hash.as_str()) {
            unchanged += 1;
        } else {
            todo.push((id, hash, d));
        }
    }
    let stale: Vec<u64> = existing
        .keys()
        .filter(|id| !seen.contains(id))
        .copied()
        .collect();

    progress.start(todo.len() as u64, "embedding");
    let embedded = todo.len();
    for chunk in todo.chunks(BATCH) {
        embed_and_upsert(embedder, index, chunk).await?;
        progress.advance(chunk.len() as u64);
    }
    progress.finish();
    let removed = stale.len();
    if !stale.is_empty() {
        index.delete(stale).await?;
    }
    if embedded > 0 || removed > 0 {
        index.commit().await?;
    }
    Ok(SyncReport {
        total: seen.len(),
        embedded,
        unchanged,
        removed,
        seconds: t.elapsed().as_secs_f64(),
    })
}
