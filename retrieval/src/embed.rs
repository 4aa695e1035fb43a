//! Sentence embeddings with all-MiniLM-L6-v2 through fastembed and a local
//! ONNX Runtime: 384 dimensions, mean pooling over tokens, unit length, so a
//! dot product is the cosine similarity. The model runs on the calling
//! thread; async callers go through `spawn_blocking`.

use std::sync::{Mutex, OnceLock};

use fastembed::{
    InitOptionsUserDefined, Pooling, TextEmbedding, TokenizerFiles, UserDefinedEmbeddingModel,
};
use sha2::{Digest, Sha256};

use crate::RetrievalError;
use crate::assets::EmbeddingAssets;

/// Questions and semantic items are short; longer text adds nothing.
const MAX_TOKENS: usize = 128;

pub struct Embedder {
    model: Mutex<TextEmbedding>,
    dim: usize,
    fingerprint: String,
}

impl std::fmt::Debug for Embedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Embedder")
            .field("dim", &self.dim)
            .field("fingerprint", &self.fingerprint)
            .finish()
    }
}

/// The runtime library loads once per process; a second path is ignored.
static ORT: OnceLock<Result<(), String>> = OnceLock::new();

fn load_runtime(assets: &EmbeddingAssets) -> Result<(), RetrievalError> {
    let path = std::path::absolute(&assets.onnxruntime).unwrap_or(assets.onnxruntime.clone());
    let res = ORT.get_or_init(|| {
        ort::init_from(&path)
            .map(|_builder| ())
            .map_err(|e| e.to_string())
    });
    res.clone().map_err(|message| RetrievalError::Runtime {
        path: path.clone(),
        message,
    })
}

impl Embedder {
    /// Loads the runtime and the model. `threads` 0 means one per core.
    pub fn load(assets: &EmbeddingAssets, threads: usize) -> Result<Self, RetrievalError> {
        assets.check()?;
        load_runtime(assets)?;
        let read = |name: &str| {
            let path = assets.model_file(name);
            std::fs::read(&path).map_err(|e| RetrievalError::Io {
                path: path.clone(),
                message: e.to_string(),
            })
        };
        let onnx = read("model.onnx")?;
        let tokenizer = TokenizerFiles {
            tokenizer_file: read("tokenizer.json")?,
            config_file: read("config.json")?,
            special_tokens_map_file: read("special_tokens_map.json")?,
            tokenizer_config_file: read("tokenizer_config.json")?,
        };
        let mut h = Sha256::new();
        h.update(&onnx);
        h.update(&tokenizer.tokenizer_file);
        let fingerprint = hex(&h.finalize()[..8]);
        // MiniLM was trained with mean pooling; the default (CLS) makes
        // unrelated sentences look alike.
        let model = UserDefinedEmbeddingModel::new(onnx, tokenizer).with_pooling(Pooling::Mean);
        let mut options = InitOptionsUserDefined::new().with_max_length(MAX_TOKENS);
        if threads > 0 {
            options = options.with_intra_threads(threads);
        }
        let mut model = TextEmbedding::try_new_from_user_defined(model, options).map_err(|e| {
            RetrievalError::Model {
                path: assets.model_dir.clone(),
                message: e.to_string(),
            }
        })?;
        let probe = model
            .embed(["probe"], None)
            .map_err(|e| RetrievalError::Model {
                path: assets.model_dir.clone(),
                message: e.to_string(),
            })?;
        let dim = probe.first().map_or(0, Vec::len);
        if dim == 0 {
            return Err(RetrievalError::Model {
                path: assets.model_dir.clone(),
                message: "the model returned an empty embedding".into(),
            });
        }
        Ok(Self {
            model: Mutex::new(model),
            dim,
            fingerprint,
        })
    }

    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Identifies the model's weights and tokenizer: vectors made by another
    /// model are not comparable and must be made again.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// Unit-length embeddings, one per text, in order.
    pub fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, RetrievalError> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let mut model = self.model.lock().map_err(|_| {
            RetrievalError::Embed(
                "the embedding model is unusable after a crash in another thread".into(),
            )
        })?;
        let mut out = model
            .embed(texts, Some(64))
            .map_err(|e| RetrievalError::Embed(e.to_string()))?;
        for v in &mut out {
            normalise(v);
        }
        Ok(out)
    }

    pub fn embed_one(&self, text: &str) -> Result<Vec<f32>, RetrievalError> {
        self.embed(&[text.to_string()])?
            .pop()
            .ok_or_else(|| RetrievalError::Embed("the model returned no embedding".into()))
    }
}

fn normalise(v: &mut [f32]) {
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if n > 0.0 {
        for x in v.iter_mut() {
            *x /= n;
        }
    }
}

/// Cosine similarity of two unit vectors.
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
