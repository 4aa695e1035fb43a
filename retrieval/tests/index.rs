//! The vector index's behaviour, written once against `VectorIndex` and run
//! on every backend: edge always (in a temporary folder), server when
//! `QDRANT_URL` names a Qdrant gRPC endpoint (each test in its own
//! collection, deleted afterwards). Edge-only tests cover what only a folder
//! has: reopening, damaged content, and a bulk load that builds HNSW.

#![allow(clippy::unwrap_used, clippy::panic)]

use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use quarry_retrieval::index::{
    EdgeIndex, IndexError, KeywordFilter, Payload, Point, ScoredPoint, ServerIndex, VectorIndex,
};
use serde_json::{Value, json};
use tempfile::TempDir;

const DIM: usize = 8;

/// Unit vector along `axis`.
fn axis(axis: usize) -> Vec<f32> {
    let mut v = vec![0.0; DIM];
    v[axis] = 1.0;
    v
}

/// `a` plus `weight` times `b`, to place points at known angles.
fn blend(a: usize, b: usize, weight: f32) -> Vec<f32> {
    let mut v = axis(a);
    v[b] += weight;
    v
}

fn payload(value: Value) -> Payload {
    match value {
        Value::Object(map) => map,
        other => panic!("payload must be an object, got {other}"),
    }
}

fn point(id: u64, vector: Vec<f32>, kind: &str) -> Point {
    Point {
        id,
        vector,
        payload: payload(json!({ "kind": kind, "name": format!("p{id}") })),
    }
}

fn ids(hits: &[ScoredPoint]) -> Vec<u64> {
    hits.iter().map(|h| h.id).collect()
}

async fn sorted_payloads(index: &dyn VectorIndex) -> Vec<(u64, Payload)> {
    let mut all = index.payloads().await.unwrap();
    all.sort_by_key(|(id, _)| *id);
    all
}

fn kind_filter(kinds: &[&str]) -> KeywordFilter {
    KeywordFilter {
        field: "kind".to_string(),
        any_of: kinds.iter().map(|k| k.to_string()).collect(),
    }
}

fn assert_close(actual: f32, expected: f32) {
    assert!(
        (actual - expected).abs() < 1e-4,
        "score {actual}, expected {expected}"
    );
}

// ---- the shared behaviours ----

async fn empty_index_finds_nothing(index: &dyn VectorIndex) {
    index.ensure(DIM).await.unwrap();
    assert_eq!(index.count().await.unwrap(), 0);
    assert!(index.search(&axis(0), 5, None).await.unwrap().is_empty());
    let filter = kind_filter(&["metric"]);
    assert!(
        index
            .search(&axis(0), 5, Some(&filter))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(index.payloads().await.unwrap().is_empty());
    index.commit().await.unwrap();
}

async fn upsert_then_count(index: &dyn VectorIndex) {
    index.ensure(DIM).await.unwrap();
    let points = (0..5)
        .map(|i| point(i, axis(i as usize), "metric"))
        .collect();
    index.upsert(points).await.unwrap();
    assert_eq!(index.count().await.unwrap(), 5);
    index.upsert(Vec::new()).await.unwrap();
    assert_eq!(index.count().await.unwrap(), 5);
}

async fn nearest_first_with_cosine_scores(index: &dyn VectorIndex) {
    index.ensure(DIM).await.unwrap();
    index
        .upsert(vec![
            point(4, axis(1), "metric"),
            point(3, blend(0, 1, 1.0), "metric"),
            point(1, axis(0), "metric"),
            point(2, blend(0, 1, 0.5), "metric"),
        ])
        .await
        .unwrap();
    let hits = index.search(&axis(0), 10, None).await.unwrap();
    assert_eq!(ids(&hits), [1, 2, 3, 4]);
    assert_close(hits[0].score, 1.0);
    assert_close(hits[1].score, 1.0 / 1.25_f32.sqrt());
    assert_close(hits[2].score, 1.0 / 2.0_f32.sqrt());
    assert_close(hits[3].score, 0.0);
    // Cosine ignores length.
    let scaled: Vec<f32> = axis(0).iter().map(|x| x * 7.0).collect();
    let hits = index.search(&scaled, 2, None).await.unwrap();
    assert_eq!(ids(&hits), [1, 2]);
    assert_close(hits[0].score, 1.0);
    assert_eq!(
        hits[0].payload,
        payload(json!({"kind": "metric", "name": "p1"}))
    );
}

async fn kind_filter_keeps_matching_points(index: &dyn VectorIndex) {
    index.ensure(DIM).await.unwrap();
    index
        .upsert(vec![
            point(1, axis(0), "table"),
            point(2, blend(0, 1, 0.5), "metric"),
            point(3, blend(0, 1, 1.0), "dimension"),
            point(4, blend(0, 2, 2.0), "metric"),
        ])
        .await
        .unwrap();
    let filter = kind_filter(&["metric", "dimension"]);
    let hits = index.search(&axis(0), 10, Some(&filter)).await.unwrap();
    assert_eq!(ids(&hits), [2, 3, 4]);
    let filter = kind_filter(&["table"]);
    let hits = index.search(&axis(1), 10, Some(&filter)).await.unwrap();
    assert_eq!(ids(&hits), [1]);
    let filter = kind_filter(&["nothing-has-this-kind"]);
    assert!(
        index
            .search(&axis(0), 10, Some(&filter))
            .await
            .unwrap()
            .is_empty()
    );
    let filter = kind_filter(&[]);
    assert!(
        index
            .search(&axis(0), 10, Some(&filter))
            .await
            .unwrap()
            .is_empty()
    );
}

async fn upsert_replaces_same_id(index: &dyn VectorIndex) {
    index.ensure(DIM).await.unwrap();
    index
        .upsert(vec![point(1, axis(0), "table"), point(2, axis(2), "table")])
        .await
        .unwrap();
    index
        .upsert(vec![Point {
            id: 1,
            vector: axis(1),
            payload: payload(json!({"kind": "metric", "version": 2})),
        }])
        .await
        .unwrap();
    assert_eq!(index.count().await.unwrap(), 2);
    let hits = index.search(&axis(1), 1, None).await.unwrap();
    assert_eq!(ids(&hits), [1]);
    assert_close(hits[0].score, 1.0);
    assert_eq!(
        hits[0].payload,
        payload(json!({"kind": "metric", "version": 2}))
    );
    // The old vector is gone, not kept beside the new one.
    let hits = index.search(&axis(0), 2, None).await.unwrap();
    assert!(hits.iter().all(|h| h.score < 0.5), "{hits:?}");
    let filter = kind_filter(&["table"]);
    let hits = index.search(&axis(1), 10, Some(&filter)).await.unwrap();
    assert_eq!(ids(&hits), [2]);
}

async fn delete_removes_points(index: &dyn VectorIndex) {
    index.ensure(DIM).await.unwrap();
    index
        .upsert(
            (0..3)
                .map(|i| point(i, axis(i as usize), "metric"))
                .collect(),
        )
        .await
        .unwrap();
    index.delete(vec![1, 999]).await.unwrap();
    index.delete(Vec::new()).await.unwrap();
    assert_eq!(index.count().await.unwrap(), 2);
    let remaining: Vec<u64> = sorted_payloads(index)
        .await
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    assert_eq!(remaining, [0, 2]);
    let hits = index.search(&axis(1), 10, None).await.unwrap();
    assert!(!ids(&hits).contains(&1));
}

async fn payloads_round_trip_exactly(index: &dyn VectorIndex) {
    index.ensure(DIM).await.unwrap();
    let rich = payload(json!({
        "kind": "metric",
        "name": "revenue — net, €",
        "int": 42,
        "negative": -7,
        "big": 9_007_199_254_740_993_i64,
        "float": 2.5,
        "small": 0.1,
        "flag": true,
        "off": false,
        "nothing": null,
        "tags": ["a", "b", 1, 1.5, true, null, {"deep": [false]}],
        "nested": {"a": {"b": {"c": "d"}}, "list": [1, 2, 3], "empty": {}, "none": []},
    }));
    let plain = payload(json!({"kind": "table"}));
    let empty = Payload::new();
    index
        .upsert(vec![
            Point {
                id: 7,
                vector: axis(0),
                payload: rich.clone(),
            },
            Point {
                id: 8,
                vector: axis(1),
                payload: plain.clone(),
            },
            Point {
                id: 9,
                vector: axis(2),
                payload: empty.clone(),
            },
        ])
        .await
        .unwrap();
    assert_eq!(
        sorted_payloads(index).await,
        [(7, rich.clone()), (8, plain), (9, empty)]
    );
    let hits = index.search(&axis(0), 1, None).await.unwrap();
    assert_eq!(hits[0].payload, rich);
}

async fn wrong_length_vector_writes_nothing(index: &dyn VectorIndex) {
    index.ensure(DIM).await.unwrap();
    let short = vec![1.0; DIM - 1];
    let err = index
        .upsert(vec![point(1, axis(0), "metric"), point(2, short, "metric")])
        .await
        .unwrap_err();
    assert!(
        matches!(err, IndexError::BadVector { expected: DIM, found } if found == DIM - 1),
        "{err:?}"
    );
    assert_eq!(index.count().await.unwrap(), 0);
    let err = index
        .upsert(vec![point(3, Vec::new(), "metric")])
        .await
        .unwrap_err();
    assert!(
        matches!(err, IndexError::BadVector { found: 0, .. }),
        "{err:?}"
    );
    let err = index.search(&[1.0; DIM + 1], 3, None).await.unwrap_err();
    assert!(
        matches!(err, IndexError::BadVector { expected: DIM, found } if found == DIM + 1),
        "{err:?}"
    );
    assert_eq!(index.count().await.unwrap(), 0);
}

async fn non_finite_vector_writes_nothing(index: &dyn VectorIndex) {
    index.ensure(DIM).await.unwrap();
    for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
        let mut vector = axis(0);
        vector[3] = bad;
        let err = index
            .upsert(vec![
                point(1, axis(1), "metric"),
                point(2, vector.clone(), "metric"),
            ])
            .await
            .unwrap_err();
        assert!(matches!(err, IndexError::Backend { .. }), "{err:?}");
        let err = index.search(&vector, 3, None).await.unwrap_err();
        assert!(matches!(err, IndexError::Backend { .. }), "{err:?}");
    }
    assert_eq!(index.count().await.unwrap(), 0);
}

async fn ensure_with_other_dimension_fails(index: &dyn VectorIndex) {
    index.ensure(DIM).await.unwrap();
    index
        .upsert(vec![point(1, axis(0), "metric")])
        .await
        .unwrap();
    // Same dimension again is fine and keeps the data.
    index.ensure(DIM).await.unwrap();
    assert_eq!(index.count().await.unwrap(), 1);
    let err = index.ensure(DIM * 2).await.unwrap_err();
    assert!(
        matches!(err, IndexError::DimensionMismatch { expected, found: DIM, .. } if expected == DIM * 2),
        "{err:?}"
    );
    assert!(err.to_string().contains("--rebuild"), "{err}");
    assert_eq!(index.count().await.unwrap(), 1);
}

async fn limit_zero_finds_nothing(index: &dyn VectorIndex) {
    index.ensure(DIM).await.unwrap();
    index
        .upsert(
            (0..3)
                .map(|i| point(i, axis(i as usize), "metric"))
                .collect(),
        )
        .await
        .unwrap();
    assert!(index.search(&axis(0), 0, None).await.unwrap().is_empty());
    let filter = kind_filter(&["metric"]);
    assert!(
        index
            .search(&axis(0), 0, Some(&filter))
            .await
            .unwrap()
            .is_empty()
    );
    // A limit beyond the number of points returns them all.
    assert_eq!(index.search(&axis(0), 1000, None).await.unwrap().len(), 3);
}

async fn clear_then_ensure_is_empty(index: &dyn VectorIndex) {
    index.ensure(DIM).await.unwrap();
    index
        .upsert(
            (0..3)
                .map(|i| point(i, axis(i as usize), "metric"))
                .collect(),
        )
        .await
        .unwrap();
    index.commit().await.unwrap();
    index.clear().await.unwrap();
    // Clearing twice is harmless.
    index.clear().await.unwrap();
    // The old dimension is gone with the collection.
    index.ensure(DIM * 2).await.unwrap();
    assert_eq!(index.count().await.unwrap(), 0);
    assert!(index.payloads().await.unwrap().is_empty());
    assert!(
        index
            .search(&[1.0; DIM * 2], 5, None)
            .await
            .unwrap()
            .is_empty()
    );
    index
        .upsert(vec![point(1, vec![0.5; DIM * 2], "metric")])
        .await
        .unwrap();
    assert_eq!(index.count().await.unwrap(), 1);
}

// ---- running the behaviours on each backend ----

fn edge_index() -> (TempDir, EdgeIndex) {
    let dir = TempDir::new().unwrap();
    // A folder that does not exist yet, as on a first run.
    let index = EdgeIndex::open(&dir.path().join("index")).unwrap();
    (dir, index)
}

/// A client for a fresh collection, or `None` when no server is configured.
fn server_index(test: &str) -> Option<ServerIndex> {
    let url = std::env::var("QDRANT_URL").ok()?;
    let api_key = std::env::var("QDRANT_API_KEY").ok();
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let collection = format!("quarry_test_{test}_{}_{nanos}", std::process::id());
    Some(ServerIndex::connect(&url, &collection, api_key).unwrap())
}

macro_rules! on_every_backend {
    ($($behaviour:ident),* $(,)?) => {
        mod edge {
            $(
                #[tokio::test]
                async fn $behaviour() {
                    let (_dir, index) = super::edge_index();
                    assert_eq!(quarry_retrieval::index::VectorIndex::backend(&index), "edge");
                    super::$behaviour(&index).await;
                }
            )*
        }

        mod server {
            use quarry_retrieval::index::VectorIndex as _;

            $(
                #[tokio::test]
                async fn $behaviour() {
                    let Some(index) = super::server_index(stringify!($behaviour)) else {
                        eprintln!("QDRANT_URL is not set; skipping");
                        return;
                    };
                    assert_eq!(index.backend(), "server");
                    let index = std::sync::Arc::new(index);
                    let running = std::sync::Arc::clone(&index);
                    // Run in a task so the collection is deleted even when
                    // the behaviour fails.
                    let outcome = tokio::spawn(async move {
                        super::$behaviour(running.as_ref()).await
                    })
                    .await;
                    index.clear().await.unwrap();
                    if let Err(err) = outcome {
                        std::panic::resume_unwind(err.into_panic());
                    }
                }
            )*
        }
    };
}

on_every_backend!(
    empty_index_finds_nothing,
    upsert_then_count,
    nearest_first_with_cosine_scores,
    kind_filter_keeps_matching_points,
    upsert_replaces_same_id,
    delete_removes_points,
    payloads_round_trip_exactly,
    wrong_length_vector_writes_nothing,
    non_finite_vector_writes_nothing,
    ensure_with_other_dimension_fails,
    limit_zero_finds_nothing,
    clear_then_ensure_is_empty,
);

// ---- edge only ----

#[tokio::test]
async fn edge_reopens_with_its_data() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("index");
    let rich = payload(json!({"kind": "metric", "nested": {"list": [1, 2.5, "x"]}}));
    {
        let index = EdgeIndex::open(&path).unwrap();
        index.ensure(DIM).await.unwrap();
        index
            .upsert(vec![
                Point {
                    id: 1,
                    vector: axis(0),
                    payload: rich.clone(),
                },
                point(2, axis(1), "table"),
                point(3, axis(2), "table"),
            ])
            .await
            .unwrap();
        index.delete(vec![3]).await.unwrap();
        index.commit().await.unwrap();
    }
    let index = EdgeIndex::open(&path).unwrap();
    assert_eq!(index.count().await.unwrap(), 2);
    let hits = index.search(&axis(0), 5, None).await.unwrap();
    assert_eq!(ids(&hits), [1, 2]);
    assert_eq!(hits[0].payload, rich);
    let filter = kind_filter(&["table"]);
    let hits = index.search(&axis(0), 5, Some(&filter)).await.unwrap();
    assert_eq!(ids(&hits), [2]);
    // The reopened shard keeps its dimension and takes new writes.
    index.ensure(DIM).await.unwrap();
    assert!(matches!(
        index.ensure(DIM + 1).await,
        Err(IndexError::DimensionMismatch { found: DIM, .. })
    ));
    index
        .upsert(vec![point(4, axis(3), "metric")])
        .await
        .unwrap();
    assert_eq!(index.count().await.unwrap(), 3);
}

#[tokio::test]
async fn edge_reopens_writes_that_were_never_committed() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("index");
    {
        let index = EdgeIndex::open(&path).unwrap();
        index.ensure(DIM).await.unwrap();
        index
            .upsert(vec![point(1, axis(0), "metric")])
            .await
            .unwrap();
    }
    let index = EdgeIndex::open(&path).unwrap();
    assert_eq!(index.count().await.unwrap(), 1);
}

#[tokio::test]
async fn edge_refuses_a_damaged_folder() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("index");
    std::fs::create_dir(&path).unwrap();
    std::fs::write(path.join("edge_config.json"), b"\x00 not json {{{").unwrap();
    let err = EdgeIndex::open(&path).unwrap_err();
    assert!(matches!(err, IndexError::Backend { .. }), "{err:?}");
}

#[tokio::test]
async fn edge_refuses_a_shard_with_damaged_segments() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("index");
    {
        let index = EdgeIndex::open(&path).unwrap();
        index.ensure(DIM).await.unwrap();
        index
            .upsert(vec![point(1, axis(0), "metric")])
            .await
            .unwrap();
        index.commit().await.unwrap();
    }
    // Overwrite every file inside the segments with junk.
    let mut stack = vec![path.join("segments")];
    while let Some(folder) = stack.pop() {
        for entry in std::fs::read_dir(&folder).unwrap() {
            let entry = entry.unwrap();
            if entry.file_type().unwrap().is_dir() {
                stack.push(entry.path());
            } else {
                std::fs::write(entry.path(), b"junk").unwrap();
            }
        }
    }
    let err = EdgeIndex::open(&path).unwrap_err();
    assert!(matches!(err, IndexError::Backend { .. }), "{err:?}");
}

#[tokio::test]
async fn edge_refuses_a_foreign_folder() {
    let dir = TempDir::new().unwrap();
    std::fs::write(dir.path().join("notes.txt"), "mine").unwrap();
    let err = EdgeIndex::open(dir.path()).unwrap_err();
    assert!(matches!(err, IndexError::Backend { .. }), "{err:?}");
    // A file where the folder should be.
    let err = EdgeIndex::open(&dir.path().join("notes.txt")).unwrap_err();
    assert!(matches!(err, IndexError::Backend { .. }), "{err:?}");
    // Nothing was touched.
    assert_eq!(
        std::fs::read_to_string(dir.path().join("notes.txt")).unwrap(),
        "mine"
    );
}

#[tokio::test]
async fn edge_refuses_a_folder_open_elsewhere() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("index");
    let first = EdgeIndex::open(&path).unwrap();
    first.ensure(DIM).await.unwrap();
    let err = EdgeIndex::open(&path).unwrap_err();
    assert!(
        matches!(&err, IndexError::Backend { message, .. } if message.contains("another process")),
        "{err:?}"
    );
    drop(first);
    EdgeIndex::open(&path).unwrap();
}

#[tokio::test]
async fn edge_before_ensure_is_empty_and_refuses_writes() {
    let (_dir, index) = edge_index();
    assert_eq!(index.count().await.unwrap(), 0);
    assert!(index.search(&axis(0), 3, None).await.unwrap().is_empty());
    assert!(index.payloads().await.unwrap().is_empty());
    index.delete(vec![1]).await.unwrap();
    index.commit().await.unwrap();
    let err = index
        .upsert(vec![point(1, axis(0), "metric")])
        .await
        .unwrap_err();
    assert!(matches!(err, IndexError::Backend { .. }), "{err:?}");
    assert!(matches!(
        index.ensure(0).await,
        Err(IndexError::Backend { .. })
    ));
}

#[tokio::test]
async fn edge_takes_odd_limits_and_fields() {
    let (_dir, index) = edge_index();
    index.ensure(DIM).await.unwrap();
    index
        .upsert(vec![
            point(1, axis(0), "metric"),
            point(2, vec![0.0; DIM], "table"),
        ])
        .await
        .unwrap();
    assert_eq!(
        ids(&index.search(&axis(0), usize::MAX, None).await.unwrap()),
        [1, 2]
    );
    // A zero query vector matches nothing better than anything else.
    assert_eq!(index.search(&[0.0; DIM], 5, None).await.unwrap().len(), 2);
    // Fields that are not payload paths are errors; unknown ones match nothing.
    for field in ["", "a b", "$.kind"] {
        let filter = KeywordFilter {
            field: field.to_string(),
            any_of: vec!["metric".to_string()],
        };
        let err = index.search(&axis(0), 5, Some(&filter)).await.unwrap_err();
        assert!(matches!(err, IndexError::Backend { .. }), "{err:?}");
    }
    let filter = KeywordFilter {
        field: "nested.kind".to_string(),
        any_of: vec!["metric".to_string()],
    };
    assert!(
        index
            .search(&axis(0), 5, Some(&filter))
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn edge_serves_concurrent_calls() {
    let (_dir, index) = edge_index();
    let index = Arc::new(index);
    index.ensure(DIM).await.unwrap();
    let mut tasks = Vec::new();
    for task in 0..8_u64 {
        let index = Arc::clone(&index);
        tasks.push(tokio::spawn(async move {
            for i in 0..20_u64 {
                let id = task * 100 + i;
                index
                    .upsert(vec![point(id, axis((id % DIM as u64) as usize), "metric")])
                    .await
                    .unwrap();
                index.search(&axis(0), 3, None).await.unwrap();
                if i % 5 == 0 {
                    index.commit().await.unwrap();
                }
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    assert_eq!(index.count().await.unwrap(), 160);
}

/// Deterministic pseudo-random unit-scale vectors (xorshift).
fn noise(seed: u64, dim: usize) -> Vec<f32> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..dim)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 40) as f32 / (1u64 << 24) as f32 - 0.5
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edge_bulk_load_builds_a_searchable_index() {
    const POINTS: u64 = 10_000;
    const BULK_DIM: usize = 384;
    const BATCH: u64 = 500;
    let (dir, index) = edge_index();
    index.ensure(BULK_DIM).await.unwrap();

    let started = Instant::now();
    for start in (0..POINTS).step_by(BATCH as usize) {
        let batch = (start..start + BATCH)
            .map(|id| Point {
                id,
                vector: noise(id, BULK_DIM),
                payload: payload(json!({
                    "kind": if id % 2 == 0 { "metric" } else { "dimension" },
                    "n": id,
                })),
            })
            .collect();
        index.upsert(batch).await.unwrap();
    }
    let upserted = started.elapsed();
    index.commit().await.unwrap();
    let committed = started.elapsed();
    assert_eq!(index.count().await.unwrap(), POINTS as usize);

    let started = Instant::now();
    let hits = index.search(&noise(4242, BULK_DIM), 5, None).await.unwrap();
    let searched = started.elapsed();
    assert_eq!(hits[0].id, 4242);
    assert_close(hits[0].score, 1.0);
    assert_eq!(
        hits[0].payload,
        payload(json!({"kind": "metric", "n": 4242}))
    );

    let filter = kind_filter(&["dimension"]);
    let hits = index
        .search(&noise(4243, BULK_DIM), 5, Some(&filter))
        .await
        .unwrap();
    assert_eq!(hits[0].id, 4243);
    assert!(hits.iter().all(|h| h.id % 2 == 1));

    let mut searches = 0;
    let started = Instant::now();
    for id in (0..POINTS).step_by(97) {
        let hits = index.search(&noise(id, BULK_DIM), 1, None).await.unwrap();
        assert_eq!(hits[0].id, id);
        searches += 1;
    }
    let per_search = started.elapsed() / searches;

    // Writes after the optimised load still land and are found.
    index
        .upsert(vec![Point {
            id: POINTS,
            vector: noise(POINTS, BULK_DIM),
            payload: payload(json!({"kind": "metric"})),
        }])
        .await
        .unwrap();
    let hits = index
        .search(&noise(POINTS, BULK_DIM), 1, None)
        .await
        .unwrap();
    assert_eq!(hits[0].id, POINTS);
    assert_eq!(index.count().await.unwrap(), POINTS as usize + 1);
    assert_eq!(index.payloads().await.unwrap().len(), POINTS as usize + 1);

    let path = dir.path().join("index");
    drop(index);
    let started = Instant::now();
    let index = EdgeIndex::open(&path).unwrap();
    let reopened = started.elapsed();
    let hits = index.search(&noise(77, BULK_DIM), 1, None).await.unwrap();
    assert_eq!(hits[0].id, 77);

    eprintln!(
        "edge bulk: upsert {upserted:?}, upsert+commit {committed:?}, first search {searched:?}, \
         average search {per_search:?} over {searches}, reopen {reopened:?}"
    );
}

// ---- server only, without a server ----

#[tokio::test]
async fn server_reports_an_unreachable_server() {
    let index = ServerIndex::connect("http://127.0.0.1:1", "quarry_nowhere", None).unwrap();
    assert_eq!(index.backend(), "server");
    let err = index.count().await.unwrap_err();
    assert!(matches!(err, IndexError::Unreachable { .. }), "{err:?}");
    let err = index.ensure(DIM).await.unwrap_err();
    assert!(matches!(err, IndexError::Unreachable { .. }), "{err:?}");
}

#[test]
fn server_refuses_a_url_without_scheme() {
    let err = ServerIndex::connect("localhost:6334", "quarry", None).unwrap_err();
    assert!(matches!(err, IndexError::Unreachable { .. }), "{err:?}");
    let err = ServerIndex::connect("http://localhost:6334", "", None).unwrap_err();
    assert!(matches!(err, IndexError::Backend { .. }), "{err:?}");
}
