//! The in-process backend: one qdrant-edge shard in a folder of the data
//! directory, holding a single unnamed dense vector per point (cosine
//! distance) and a keyword payload index on `kind`. qdrant-edge is blocking,
//! so every call runs on tokio's blocking pool; it also has no background
//! workers, so `commit` runs its optimisers (HNSW build, merges) and flushes.

use std::any::Any;
use std::fmt;
use std::fs;
use std::io::ErrorKind;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use qdrant_edge::{
    CountRequest, CreateIndex, DEFAULT_VECTOR_NAME, Distance, EdgeConfigBuilder, EdgeShard,
    EdgeVectorParamsBuilder, FieldIndexOperations, Filter, JsonPath, NamedQuery, OperationError,
    PayloadFieldSchema, PayloadSchemaType, PointId, PointInsertOperations, PointOperations,
    PointStructPersisted, QueryEnum, QueryRequest, ScoringQuery, ScrollRequest, UpdateOperation,
    VectorInternal, VectorStructPersisted, WithPayloadInterface, WithVector,
};
use tokio::sync::RwLock;

use super::{IndexError, KeywordFilter, Payload, Point, ScoredPoint, VectorIndex};

/// The payload field that gets a keyword index.
const KIND_FIELD: &str = "kind";

/// The file that marks a folder as a qdrant-edge shard; a folder with other
/// content and without it holds no shard of ours.
const CONFIG_FILE: &str = "edge_config.json";

/// Points per update operation: each operation is one WAL record, kept well
/// below the WAL's 32 MiB segments.
const UPSERT_BATCH: usize = 256;

/// Points per scroll page when listing payloads.
const SCROLL_PAGE: usize = 1_000;

/// A vector index kept in-process, on disk in `path`.
pub struct EdgeIndex {
    path: PathBuf,
    /// `None` until `ensure` creates the shard, and again after `clear`.
    /// Readers and writers share the lock; `ensure`, `commit` and `clear`
    /// take it exclusively because `EdgeShard::flush` panics when another
    /// call holds one of the shard's internal locks.
    shard: Arc<RwLock<Option<EdgeShard>>>,
}

impl fmt::Debug for EdgeIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EdgeIndex")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl EdgeIndex {
    /// Opens the index in `path`, loading the shard it holds. A missing or
    /// empty folder is fine: the shard is then created by `ensure`. A folder
    /// with other content, or a shard that does not load, is an error.
    pub fn open(path: &Path) -> Result<EdgeIndex, IndexError> {
        let shard = match inspect(path)? {
            Folder::Missing | Folder::Empty => None,
            Folder::Shard => Some(load(path)?),
        };
        Ok(EdgeIndex {
            path: path.to_path_buf(),
            shard: Arc::new(RwLock::new(shard)),
        })
    }

    /// Runs `f` on the blocking pool with shared access to the shard.
    async fn shared<T, F>(&self, what: &'static str, f: F) -> Result<T, IndexError>
    where
        T: Send + 'static,
        F: FnOnce(&Path, Option<&EdgeShard>) -> Result<T, IndexError> + Send + 'static,
    {
        // The guard moves into the blocking task so the lock is held for as
        // long as the shard is in use, even if this future is dropped.
        let guard = Arc::clone(&self.shard).read_owned().await;
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || f(&path, guard.as_ref()))
            .await
            .map_err(|err| join_error(&self.path, what, err))?
    }

    /// Runs `f` on the blocking pool with exclusive access to the shard.
    async fn exclusive<T, F>(&self, what: &'static str, f: F) -> Result<T, IndexError>
    where
        T: Send + 'static,
        F: FnOnce(&Path, &mut Option<EdgeShard>) -> Result<T, IndexError> + Send + 'static,
    {
        let mut guard = Arc::clone(&self.shard).write_owned().await;
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || f(&path, &mut guard))
            .await
            .map_err(|err| join_error(&self.path, what, err))?
    }
}

impl Drop for EdgeIndex {
    fn drop(&mut self) {
        // EdgeShard flushes when dropped and panics if that fails; losing the
        // last unflushed writes is better than taking the process down.
        let Ok(mut slot) = self.shard.try_write() else {
            // A blocking task still holds the shard and drops it when done.
            return;
        };
        if let Some(shard) = slot.take()
            && let Err(panic) = catch_unwind(AssertUnwindSafe(move || drop(shard)))
        {
            tracing::warn!(
                path = %self.path.display(),
                "closing the vector index failed: {}",
                panic_message(panic.as_ref())
            );
        }
    }
}

#[async_trait]
impl VectorIndex for EdgeIndex {
    fn backend(&self) -> &'static str {
        "edge"
    }

    fn location(&self) -> String {
        self.path.display().to_string()
    }

    async fn ensure(&self, dim: usize) -> Result<(), IndexError> {
        if dim == 0 {
            return Err(backend(
                &self.path,
                "cannot create an index of 0-dimensional vectors",
            ));
        }
        self.exclusive("creating the shard", move |path, slot| {
            if slot.is_none() {
                *slot = Some(match inspect(path)? {
                    // Another process may have created it since `open`.
                    Folder::Shard => load(path)?,
                    Folder::Missing | Folder::Empty => create(path, dim)?,
                });
            }
            let Some(shard) = slot.as_ref() else {
                return Err(backend(
                    path,
                    "the shard vanished while it was being created",
                ));
            };
            let found = dimension(path, shard)?;
            if found != dim {
                return Err(IndexError::DimensionMismatch {
                    location: path.display().to_string(),
                    expected: dim,
                    found,
                });
            }
            ensure_kind_index(path, shard)
        })
        .await
    }

    async fn upsert(&self, points: Vec<Point>) -> Result<(), IndexError> {
        if points.is_empty() {
            return Ok(());
        }
        self.shared("writing points", move |path, shard| {
            let shard = require(path, shard)?;
            let expected = dimension(path, shard)?;
            // Check everything first so a bad vector writes nothing.
            for point in &points {
                super::check_vector(&path.display().to_string(), &point.vector, expected)?;
            }
            let mut points = points.into_iter().peekable();
            while points.peek().is_some() {
                let batch: Vec<PointStructPersisted> = points
                    .by_ref()
                    .take(UPSERT_BATCH)
                    .map(|p| PointStructPersisted {
                        id: PointId::NumId(p.id),
                        vector: VectorStructPersisted::Single(p.vector),
                        payload: Some(qdrant_edge::Payload(p.payload)),
                    })
                    .collect();
                shard
                    .update(UpdateOperation::PointOperation(
                        PointOperations::UpsertPoints(PointInsertOperations::PointsList(batch)),
                    ))
                    .map_err(|err| backend(path, format!("writing points failed: {err}")))?;
            }
            Ok(())
        })
        .await
    }

    async fn delete(&self, ids: Vec<u64>) -> Result<(), IndexError> {
        if ids.is_empty() {
            return Ok(());
        }
        self.shared("deleting points", move |path, shard| {
            let Some(shard) = shard else {
                return Ok(());
            };
            let ids = ids.into_iter().map(PointId::NumId).collect();
            shard
                .update(UpdateOperation::PointOperation(
                    PointOperations::DeletePoints { ids },
                ))
                .map_err(|err| backend(path, format!("deleting points failed: {err}")))
        })
        .await
    }

    async fn payloads(&self) -> Result<Vec<(u64, Payload)>, IndexError> {
        self.shared("listing payloads", |path, shard| {
            let Some(shard) = shard else {
                return Ok(Vec::new());
            };
            let mut out = Vec::new();
            let mut offset = None;
            loop {
                let (records, next) = shard
                    .scroll(ScrollRequest {
                        offset,
                        limit: Some(SCROLL_PAGE),
                        filter: None,
                        with_payload: Some(WithPayloadInterface::Bool(true)),
                        with_vector: WithVector::Bool(false),
                        order_by: None,
                    })
                    .map_err(|err| backend(path, format!("listing points failed: {err}")))?;
                for record in records {
                    let id = numeric_id(path, record.id)?;
                    out.push((id, record.payload.map(|p| p.0).unwrap_or_default()));
                }
                match next {
                    Some(next) => offset = Some(next),
                    None => return Ok(out),
                }
            }
        })
        .await
    }

    async fn search(
        &self,
        vector: &[f32],
        limit: usize,
        filter: Option<&KeywordFilter>,
    ) -> Result<Vec<ScoredPoint>, IndexError> {
        if limit == 0 || filter.is_some_and(|f| f.any_of.is_empty()) {
            return Ok(Vec::new());
        }
        let vector = vector.to_vec();
        let filter = filter.cloned();
        self.shared("searching", move |path, shard| {
            let Some(shard) = shard else {
                return Ok(Vec::new());
            };
            super::check_vector(
                &path.display().to_string(),
                &vector,
                dimension(path, shard)?,
            )?;
            let filter = filter.map(|f| keyword_filter(path, &f)).transpose()?;
            let hits = shard
                .query(QueryRequest {
                    prefetches: Vec::new(),
                    query: Some(ScoringQuery::Vector(QueryEnum::Nearest(NamedQuery {
                        query: VectorInternal::Dense(vector),
                        using: None,
                    }))),
                    filter,
                    score_threshold: None,
                    limit,
                    offset: 0,
                    params: None,
                    with_vector: WithVector::Bool(false),
                    with_payload: WithPayloadInterface::Bool(true),
                })
                .map_err(|err| backend(path, format!("searching failed: {err}")))?;
            hits.into_iter()
                .map(|hit| {
                    Ok(ScoredPoint {
                        id: numeric_id(path, hit.id)?,
                        score: hit.score,
                        payload: hit.payload.map(|p| p.0).unwrap_or_default(),
                    })
                })
                .collect()
        })
        .await
    }

    async fn count(&self) -> Result<usize, IndexError> {
        self.shared("counting points", |path, shard| {
            let Some(shard) = shard else {
                return Ok(0);
            };
            shard
                .count(CountRequest {
                    filter: None,
                    exact: true,
                })
                .map_err(|err| backend(path, format!("counting points failed: {err}")))
        })
        .await
    }

    async fn commit(&self) -> Result<(), IndexError> {
        self.exclusive("optimising and flushing", |path, slot| {
            let Some(shard) = slot.as_ref() else {
                return Ok(());
            };
            shard
                .optimize()
                .map_err(|err| backend(path, format!("optimising failed: {err}")))?;
            // flush() reports failure by panicking; the blocking task turns
            // that into an error.
            shard.flush();
            Ok(())
        })
        .await
    }

    async fn clear(&self) -> Result<(), IndexError> {
        self.exclusive("clearing", |path, slot| {
            if let Some(shard) = slot.take()
                && let Err(panic) = catch_unwind(AssertUnwindSafe(move || drop(shard)))
            {
                // The files are deleted next, so a failed final flush loses nothing.
                tracing::debug!(
                    path = %path.display(),
                    "closing the shard before clearing failed: {}",
                    panic_message(panic.as_ref())
                );
            }
            let entries = match fs::read_dir(path) {
                Ok(entries) => entries,
                Err(err) if err.kind() == ErrorKind::NotFound => return Ok(()),
                Err(err) => return Err(backend(path, format!("cannot read the folder: {err}"))),
            };
            for entry in entries {
                let entry =
                    entry.map_err(|err| backend(path, format!("cannot read the folder: {err}")))?;
                let entry_path = entry.path();
                let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
                let removed = if is_dir {
                    fs::remove_dir_all(&entry_path)
                } else {
                    fs::remove_file(&entry_path)
                };
                removed.map_err(|err| {
                    backend(
                        path,
                        format!("cannot delete {}: {err}", entry_path.display()),
                    )
                })?;
            }
            Ok(())
        })
        .await
    }
}

/// What a folder holds, as far as opening an index is concerned.
enum Folder {
    Missing,
    Empty,
    Shard,
}

fn inspect(path: &Path) -> Result<Folder, IndexError> {
    let meta = match fs::metadata(path) {
        Ok(meta) => meta,
        Err(err) if err.kind() == ErrorKind::NotFound => return Ok(Folder::Missing),
        Err(err) => return Err(backend(path, format!("cannot read the folder: {err}"))),
    };
    if !meta.is_dir() {
        return Err(backend(path, "this is a file, not a folder"));
    }
    let mut entries = fs::read_dir(path)
        .map_err(|err| backend(path, format!("cannot read the folder: {err}")))?;
    if entries.next().is_none() {
        return Ok(Folder::Empty);
    }
    if path.join(CONFIG_FILE).exists() {
        Ok(Folder::Shard)
    } else {
        // Refuse rather than write into (and later clear) a folder that holds
        // something else.
        Err(backend(
            path,
            "the folder is not empty and holds no vector index; \
             delete its content or choose another folder",
        ))
    }
}

fn load(path: &Path) -> Result<EdgeShard, IndexError> {
    // Damaged files can make qdrant-edge panic rather than return an error.
    let shard = catch_unwind(AssertUnwindSafe(|| EdgeShard::load(path, None)))
        .map_err(|panic| {
            backend(
                path,
                format!(
                    "loading the index failed: {}",
                    panic_message(panic.as_ref())
                ),
            )
        })?
        .map_err(|err| backend(path, open_failure("loading the index", &err)))?;
    // Reject shards that are not shaped like ours before anything reads them.
    if let Err(err) = dimension(path, &shard) {
        // Dropping flushes, which panics on failure.
        let _ = catch_unwind(AssertUnwindSafe(move || drop(shard)));
        return Err(err);
    }
    Ok(shard)
}

fn create(path: &Path, dim: usize) -> Result<EdgeShard, IndexError> {
    fs::create_dir_all(path)
        .map_err(|err| backend(path, format!("cannot create the folder: {err}")))?;
    let config = EdgeConfigBuilder::new()
        .vector(
            DEFAULT_VECTOR_NAME,
            EdgeVectorParamsBuilder::new(dim, Distance::Cosine).build(),
        )
        .build();
    EdgeShard::new(path, config)
        .map_err(|err| backend(path, open_failure("creating the index", &err)))
}

/// The dimension of the shard's unnamed cosine vector.
fn dimension(path: &Path, shard: &EdgeShard) -> Result<usize, IndexError> {
    let config = shard.config();
    let Some(params) = config.vectors.get(DEFAULT_VECTOR_NAME) else {
        return Err(backend(path, "the index holds no unnamed dense vector"));
    };
    if params.distance != Distance::Cosine {
        return Err(backend(
            path,
            format!("the index uses {:?} distance, not cosine", params.distance),
        ));
    }
    Ok(params.size)
}

fn ensure_kind_index(path: &Path, shard: &EdgeShard) -> Result<(), IndexError> {
    let field = JsonPath::try_from(KIND_FIELD)
        .map_err(|()| backend(path, format!("`{KIND_FIELD}` is not a payload path")))?;
    if shard.info().payload_schema.contains_key(&field) {
        return Ok(());
    }
    shard
        .update(UpdateOperation::FieldIndexOperation(
            FieldIndexOperations::CreateIndex(CreateIndex {
                field_name: field,
                field_schema: Some(PayloadFieldSchema::FieldType(PayloadSchemaType::Keyword)),
            }),
        ))
        .map_err(|err| {
            backend(
                path,
                format!("creating the `{KIND_FIELD}` index failed: {err}"),
            )
        })
}

fn keyword_filter(path: &Path, filter: &KeywordFilter) -> Result<Filter, IndexError> {
    // The REST form parses and checks the field path the way Qdrant does.
    let json = serde_json::json!({
        "must": [{ "key": filter.field, "match": { "any": filter.any_of } }]
    });
    serde_json::from_value(json).map_err(|err| {
        backend(
            path,
            format!("cannot filter on field `{}`: {err}", filter.field),
        )
    })
}

/// qdrant-edge locks the WAL of an open shard; its error for a shard open
/// elsewhere only says `WouldBlock`.
fn open_failure(what: &str, err: &OperationError) -> String {
    let message = err.to_string();
    if message.contains("WouldBlock") {
        format!("{what} failed: another process (or another EdgeIndex) has it open ({message})")
    } else {
        format!("{what} failed: {message}")
    }
}

fn require<'a>(path: &Path, shard: Option<&'a EdgeShard>) -> Result<&'a EdgeShard, IndexError> {
    shard.ok_or_else(|| {
        backend(
            path,
            "the index does not exist yet; it is created by `ensure`",
        )
    })
}

fn numeric_id(path: &Path, id: PointId) -> Result<u64, IndexError> {
    match id {
        PointId::NumId(id) => Ok(id),
        PointId::Uuid(uuid) => Err(backend(
            path,
            format!("the index holds point {uuid}, which has no numeric id"),
        )),
    }
}

fn backend(path: &Path, message: impl Into<String>) -> IndexError {
    IndexError::Backend {
        location: path.display().to_string(),
        message: message.into(),
    }
}

fn join_error(path: &Path, what: &str, err: tokio::task::JoinError) -> IndexError {
    let message = if err.is_panic() {
        format!(
            "{what} failed: {}",
            panic_message(err.into_panic().as_ref())
        )
    } else {
        format!("{what} was cancelled")
    };
    backend(path, message)
}

fn panic_message(panic: &(dyn Any + Send)) -> String {
    if let Some(message) = panic.downcast_ref::<&str>() {
        (*message).to_string()
    } else if let Some(message) = panic.downcast_ref::<String>() {
        message.clone()
    } else {
        "qdrant-edge panicked".to_string()
    }
}
