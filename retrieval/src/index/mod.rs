//! The vector index behind retrieval: one trait, two backends. `edge` keeps
//! the index in-process and on disk in the data directory (qdrant-edge);
//! `server` talks to a Qdrant server or cluster (qdrant-client). Callers see
//! points with a numeric id, a dense vector and a JSON-object payload, and
//! nothing of either crate.

use std::fmt::Debug;

use async_trait::async_trait;
use serde_json::{Map, Value};

pub mod edge;
pub mod server;

pub use edge::EdgeIndex;
pub use server::ServerIndex;

/// A JSON object stored with each point.
pub type Payload = Map<String, Value>;

#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    pub id: u64,
    pub vector: Vec<f32>,
    pub payload: Payload,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ScoredPoint {
    pub id: u64,
    /// Cosine similarity, higher is closer.
    pub score: f32,
    pub payload: Payload,
}

/// Keep only points whose keyword payload `field` equals one of `any_of`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeywordFilter {
    pub field: String,
    pub any_of: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    #[error(
        "the vector index at {location} holds {found}-dimensional vectors but the embedding model makes {expected}; \
         delete it (quarry index --rebuild) so it is built again"
    )]
    DimensionMismatch {
        location: String,
        expected: usize,
        found: usize,
    },
    #[error(
        "cannot reach the Qdrant server at {url}: {message}; check retrieval.qdrant_url and that the server runs"
    )]
    Unreachable { url: String, message: String },
    #[error("vector index at {location}: {message}")]
    Backend { location: String, message: String },
    #[error("a vector has {found} dimensions where the index expects {expected}")]
    BadVector { expected: usize, found: usize },
}

#[async_trait]
pub trait VectorIndex: Send + Sync + Debug {
    /// "edge" or "server", for messages and reports.
    fn backend(&self) -> &'static str;

    /// Where the index lives: a folder or a URL and collection.
    fn location(&self) -> String;

    /// Creates the collection for `dim`-dimensional cosine vectors when it
    /// does not exist yet, with a keyword payload index on `kind`. An
    /// existing collection of another dimension is an error, never reused.
    async fn ensure(&self, dim: usize) -> Result<(), IndexError>;

    /// Inserts points, replacing any with the same id.
    async fn upsert(&self, points: Vec<Point>) -> Result<(), IndexError>;

    /// Removes points by id; unknown ids are ignored.
    async fn delete(&self, ids: Vec<u64>) -> Result<(), IndexError>;

    /// Every point's id and payload (no vectors), in no particular order.
    async fn payloads(&self) -> Result<Vec<(u64, Payload)>, IndexError>;

    /// The `limit` points closest to `vector`, best first, optionally
    /// filtered on a keyword payload field.
    async fn search(
        &self,
        vector: &[f32],
        limit: usize,
        filter: Option<&KeywordFilter>,
    ) -> Result<Vec<ScoredPoint>, IndexError>;

    /// Number of points.
    async fn count(&self) -> Result<usize, IndexError>;

    /// Makes the writes so far durable and fast to search (after bulk loads).
    async fn commit(&self) -> Result<(), IndexError>;

    /// Drops every point and the collection itself.
    async fn clear(&self) -> Result<(), IndexError>;
}

/// A wrong length, or NaN or infinity anywhere: Qdrant stores the latter
/// without complaint and the NaN scores then rank above every real match.
pub(crate) fn check_vector(
    location: &str,
    vector: &[f32],
    expected: usize,
) -> Result<(), IndexError> {
    if vector.len() != expected {
        return Err(IndexError::BadVector {
            expected,
            found: vector.len(),
        });
    }
    if vector.iter().any(|x| !x.is_finite()) {
        return Err(IndexError::Backend {
            location: location.to_string(),
            message: "a vector holds NaN or an infinite value".into(),
        });
    }
    Ok(())
}
