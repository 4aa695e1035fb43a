//! The embedding assets on disk: the ONNX Runtime library and the model's
//! files. Setup fetches them (scripts/fetch_assets.py); this module only
//! finds them and says exactly what is missing and how to get it.

use std::path::{Path, PathBuf};

use crate::RetrievalError;

pub const ORT_DIR: &str = "onnxruntime";
pub const ORT_FILE: &str = "libonnxruntime.so.1.31.1";
pub const DEFAULT_MODEL_DIR: &str = "models/all-minilm-l6-v2";
pub const MODEL_FILES: [&str; 5] = [
    "model.onnx",
    "tokenizer.json",
    "config.json",
    "special_tokens_map.json",
    "tokenizer_config.json",
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmbeddingAssets {
    pub onnxruntime: PathBuf,
    pub model_dir: PathBuf,
}

impl EmbeddingAssets {
    pub fn new(onnxruntime: PathBuf, model_dir: PathBuf) -> Self {
        Self {
            onnxruntime,
            model_dir,
        }
    }

    pub fn model_file(&self, name: &str) -> PathBuf {
        self.model_dir.join(name)
    }

    /// Every file present, or an error naming the first missing one.
    pub fn check(&self) -> Result<(), RetrievalError> {
        missing(&self.onnxruntime, "the ONNX Runtime library")?;
        for f in MODEL_FILES {
            missing(&self.model_file(f), "a file of the embedding model")?;
        }
        Ok(())
    }
}

fn missing(path: &Path, what: &'static str) -> Result<(), RetrievalError> {
    if path.is_file() {
        Ok(())
    } else {
        Err(RetrievalError::MissingAsset {
            path: path.to_path_buf(),
            what,
        })
    }
}
