//! Retrieval settings: which vector index, where the embedding model is, and
//! how the semantic cache behaves. Part of the server's layered config as the
//! `[retrieval]` section.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::assets::{DEFAULT_MODEL_DIR, ORT_DIR, ORT_FILE};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Backend {
    /// In-process Qdrant, on disk in the data directory.
    #[default]
    Edge,
    /// A Qdrant server or cluster at `retrieval.qdrant_url`.
    Qdrant,
}

/// A value that must never be printed, such as an API key.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(pub String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetrievalConfig {
    pub backend: Backend,
    /// Qdrant server URL (gRPC port, usually 6334), for `backend = "qdrant"`.
    pub qdrant_url: Option<String>,
    pub qdrant_api_key: Option<Secret>,
    /// Collection name on a Qdrant server; also the edge index's folder name.
    pub collection: String,
    /// A folder with `model.onnx`, `tokenizer.json`, `config.json`,
    /// `special_tokens_map.json` and `tokenizer_config.json`. Default: the
    /// MiniLM model setup fetches into `<data_dir>/models/all-minilm-l6-v2`.
    pub model_dir: Option<PathBuf>,
    /// The ONNX Runtime shared library. Default: the one setup fetches.
    pub onnxruntime: Option<PathBuf>,
    /// Threads for one embedding; 0 means one per core.
    pub threads: usize,
    /// At most this many distinct values of one dimension are indexed; a
    /// dimension with more (user ids, say) is indexed by name only.
    pub max_values_per_dimension: u64,
    pub cache: CacheConfig,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CacheConfig {
    /// Entries kept by each cache level.
    pub capacity: u64,
    /// Seconds an entry lives.
    pub ttl_secs: u64,
    /// Cosine similarity above which two questions with the same entities
    /// share a plan. The entity comparison is what keeps different
    /// questions apart; this is a second guard, set where paraphrases that
    /// only swap filler words still pass.
    pub question_threshold: f32,
}

impl Default for RetrievalConfig {
    fn default() -> Self {
        Self {
            backend: Backend::Edge,
            qdrant_url: None,
            qdrant_api_key: None,
            collection: "quarry".into(),
            model_dir: None,
            onnxruntime: None,
            threads: 0,
            max_values_per_dimension: 20_000,
            cache: CacheConfig::default(),
        }
    }
}

impl Default for CacheConfig {
    fn default() -> Self {
        Self {
            capacity: 10_000,
            ttl_secs: 24 * 3600,
            question_threshold: 0.6,
        }
    }
}

impl RetrievalConfig {
    pub fn validate(&self) -> Result<(), String> {
        if self.backend == Backend::Qdrant && self.qdrant_url.is_none() {
            return Err(
                "retrieval.backend is \"qdrant\" but retrieval.qdrant_url is not set; set it (e.g. http://localhost:6334) or use backend = \"edge\"".into(),
            );
        }
        if self.collection.is_empty()
            || !self
                .collection
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return Err(format!(
                "retrieval.collection \"{}\" must be letters, digits, '_' or '-'",
                self.collection
            ));
        }
        if !(0.0..=1.0).contains(&self.cache.question_threshold) {
            return Err("retrieval.cache.question_threshold must be between 0 and 1".into());
        }
        if self.cache.ttl_secs == 0 {
            return Err("retrieval.cache.ttl_secs must be at least 1".into());
        }
        Ok(())
    }

    pub fn model_dir(&self, data_dir: &Path) -> PathBuf {
        self.model_dir
            .clone()
            .unwrap_or_else(|| data_dir.join(DEFAULT_MODEL_DIR))
    }

    pub fn onnxruntime(&self, data_dir: &Path) -> PathBuf {
        self.onnxruntime
            .clone()
            .unwrap_or_else(|| data_dir.join(ORT_DIR).join(ORT_FILE))
    }

    /// The folder of the embedded index.
    pub fn edge_dir(&self, data_dir: &Path) -> PathBuf {
        data_dir.join("index").join(&self.collection)
    }
}
