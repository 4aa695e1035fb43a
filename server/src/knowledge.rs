//! Connects retrieval to a workspace: opens the configured vector index and
//! embedding model, lists the warehouse's dimension values, keeps the index
//! in step with the semantic layer and the data, and versions both so the
//! semantic cache knows when to forget.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use quarry_retrieval::docs::{model_documents, value_documents};
use quarry_retrieval::index::{EdgeIndex, ServerIndex};
use quarry_retrieval::indexer::{Progress, SyncReport, sync};
use quarry_retrieval::{
    Backend, Embedder, EmbeddingAssets, RetrievalError, Retriever, VectorIndex,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::config::Config;
use crate::semantic::{SemanticError, Workspace};

#[derive(Debug, thiserror::Error)]
pub enum KnowledgeError {
    #[error(transparent)]
    Retrieval(#[from] RetrievalError),
    #[error(transparent)]
    Semantic(#[from] SemanticError),
    #[error("the embedding model could not be loaded: {0}")]
    Join(String),
}

impl From<quarry_retrieval::IndexError> for KnowledgeError {
    fn from(e: quarry_retrieval::IndexError) -> Self {
        Self::Retrieval(e.into())
    }
}

pub fn assets(cfg: &Config) -> EmbeddingAssets {
    EmbeddingAssets::new(
        cfg.retrieval.onnxruntime(&cfg.data_dir),
        cfg.retrieval.model_dir(&cfg.data_dir),
    )
}

/// Loads the embedding model off the async threads.
pub async fn load_embedder(cfg: &Config) -> Result<Arc<Embedder>, KnowledgeError> {
    let assets = assets(cfg);
    let threads = cfg.retrieval.threads;
    let e = tokio::task::spawn_blocking(move || Embedder::load(&assets, threads))
        .await
        .map_err(|e| KnowledgeError::Join(e.to_string()))??;
    Ok(Arc::new(e))
}

/// The configured vector index.
pub async fn open_index(cfg: &Config) -> Result<Arc<dyn VectorIndex>, KnowledgeError> {
    let r = &cfg.retrieval;
    Ok(match r.backend {
        Backend::Edge => {
            let dir = r.edge_dir(&cfg.data_dir);
            Arc::new(EdgeIndex::open(&dir)?)
        }
        Backend::Qdrant => {
            let url = r.qdrant_url.clone().unwrap_or_default();
            let key = r.qdrant_api_key.as_ref().map(|s| s.0.clone());
            Arc::new(ServerIndex::connect(&url, &r.collection, key)?)
        }
    })
}

/// Distinct values of every dimension marked for indexing. A dimension with
/// more values than `max` is left out (and named in the notes): its values
/// are identifiers, not words anyone types.
pub async fn dimension_values(
    ws: &Workspace,
    max: u64,
) -> Result<(BTreeMap<String, Vec<String>>, Vec<String>), KnowledgeError> {
    let mut out = BTreeMap::new();
    let mut notes = Vec::new();
    for d in ws.model.dimensions.values().filter(|d| d.index_values) {
        let sql = quarry_schema::distinct_values_sql(&ws.model, &d.name, ws.period.as_of, max)
            .map_err(SemanticError::from)?;
        let r = ws.engine.sql(&sql).await.map_err(SemanticError::from)?;
        let values: Vec<String> = r
            .rows_json()
            .into_iter()
            .filter_map(|row| row.into_iter().next())
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect();
        if values.len() as u64 > max {
            notes.push(format!(
                "{}: more than {max} values, indexed by name only",
                d.name
            ));
            continue;
        }
        out.insert(d.name.clone(), values);
    }
    Ok((out, notes))
}

/// Changes when any YAML of the semantic model changes.
pub fn model_version(cfg: &Config) -> String {
    let mut h = Sha256::new();
    match &cfg.model.dir {
        None => {
            for (name, text) in quarry_schema::demo_model::FILES {
                h.update(name);
                h.update(text);
            }
        }
        Some(dir) => {
            let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
                .into_iter()
                .flatten()
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
                .collect();
            files.sort();
            for f in files {
                // The file's name, not its path: moving the folder changes
                // nothing the index depends on.
                h.update(
                    f.file_name()
                        .unwrap_or_default()
                        .to_string_lossy()
                        .as_bytes(),
                );
                h.update(std::fs::read(&f).unwrap_or_default());
            }
        }
    }
    hex16(&h.finalize())
}

/// Changes when any warehouse file is added, removed, resized or rewritten.
pub fn data_version(cfg: &Config) -> String {
    fn walk(dir: &Path, root: &Path, h: &mut Sha256) {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .collect();
        entries.sort();
        for p in entries {
            // Hidden entries are not tables (the engine skips them too).
            if p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with('.'))
            {
                continue;
            }
            if p.is_dir() {
                walk(&p, root, h);
            } else if let Ok(m) = p.metadata() {
                h.update(
                    p.strip_prefix(root)
                        .unwrap_or(&p)
                        .to_string_lossy()
                        .as_bytes(),
                );
                h.update(m.len().to_le_bytes());
                let mtime = m
                    .modified()
                    .ok()
                    .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                    .map_or(0, |d| d.as_nanos());
                h.update(mtime.to_le_bytes());
            }
        }
    }
    let root = cfg.warehouse_dir();
    let mut h = Sha256::new();
    walk(&root, &root, &mut h);
    hex16(&h.finalize())
}

fn hex16(d: &[u8]) -> String {
    d.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

/// What the index was last built from, kept next to it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct IndexState {
    backend: String,
    location: String,
    model_version: String,
    data_version: String,
    embedder: String,
}

fn state_path(cfg: &Config) -> PathBuf {
    cfg.data_dir
        .join("index")
        .join(format!("{}.state.json", cfg.retrieval.collection))
}

/// Retrieval ready to search: the embedder, the index (brought up to date
/// when the model or the data changed since it was built) and the lexicon.
pub struct Knowledge {
    pub retriever: Retriever,
    pub model_version: String,
    pub data_version: String,
    /// The last sync, when this open ran one.
    pub synced: Option<SyncReport>,
    pub notes: Vec<String>,
}

impl std::fmt::Debug for Knowledge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Knowledge")
            .field("model_version", &self.model_version)
            .field("data_version", &self.data_version)
            .finish()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncMode {
    /// Only when the model, the data or the embedder changed.
    IfStale,
    /// Always compare every item (cheap: unchanged items are not embedded).
    Always,
    /// Drop the index and embed everything again.
    Rebuild,
}

impl Knowledge {
    pub async fn open(
        cfg: &Config,
        ws: &Workspace,
        mode: SyncMode,
        progress: &dyn Progress,
    ) -> Result<Self, KnowledgeError> {
        let embedder = load_embedder(cfg).await?;
        let index = open_index(cfg).await?;
        let model_version = model_version(cfg);
        let data_version = ws.data_version.clone();
        let state = IndexState {
            backend: index.backend().to_string(),
            location: index.location(),
            model_version: model_version.clone(),
            data_version: data_version.clone(),
            embedder: embedder.fingerprint().to_string(),
        };
        let recorded: Option<IndexState> = std::fs::read(state_path(cfg))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok());
        let stale = recorded.as_ref() != Some(&state) || index.count().await.unwrap_or(0) == 0;
        let mut synced = None;
        let mut notes = Vec::new();
        if mode == SyncMode::Rebuild {
            index.clear().await?;
        }
        if stale || mode != SyncMode::IfStale {
            let (values, n) = dimension_values(ws, cfg.retrieval.max_values_per_dimension).await?;
            notes = n;
            let mut docs = model_documents(&ws.model);
            docs.extend(value_documents(&ws.model, &values));
            let report = sync(&embedder, index.as_ref(), docs, progress).await?;
            let path = state_path(cfg);
            if let Some(parent) = path.parent() {
                let _ = std::fs::create_dir_all(parent);
            }
            let _ = std::fs::write(&path, serde_json::to_vec_pretty(&state).unwrap_or_default());
            synced = Some(report);
        }
        let retriever = Retriever::open(embedder, index).await?;
        Ok(Self {
            retriever,
            model_version,
            data_version,
            synced,
            notes,
        })
    }
}
