//! Retrieval's latency budget: embedding one question, searching the
//! embedded index and the lexicon at 10,000 indexed values, and a semantic
//! cache hit. Needs the embedding assets (`make setup`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use quarry_retrieval::docs::{Document, ItemKind};
use quarry_retrieval::index::{EdgeIndex, KeywordFilter, Point, VectorIndex};
use quarry_retrieval::lexical::Lexicon;
use quarry_retrieval::search::fuse;
use quarry_retrieval::{CacheConfig, Embedder, EmbeddingAssets, SemanticCache};
use quarry_schema::SemanticQuery;
use rand::{Rng, SeedableRng};

fn assets() -> EmbeddingAssets {
    let data = std::env::var_os("QUARRY_DATA_DIR")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.quarry"));
    EmbeddingAssets::new(
        data.join(quarry_retrieval::assets::ORT_DIR)
            .join(quarry_retrieval::assets::ORT_FILE),
        data.join(quarry_retrieval::assets::DEFAULT_MODEL_DIR),
    )
}

const WORDS: &[&str] = &[
    "Facebook",
    "Google",
    "TikTok",
    "Snapchat",
    "AppLovin",
    "Unity",
    "iOS",
    "Android",
    "US",
    "DE",
    "Lookalike",
    "Broad",
    "Interest",
    "Retarget",
    "Summer",
    "Winter",
    "Promo",
    "Video",
    "Playable",
    "Banner",
];

/// 10,000 value documents shaped like campaign and publisher names.
fn documents(n: usize) -> Vec<Document> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
    (0..n)
        .map(|i| {
            let name = format!(
                "{}_{}_{}_{i}",
                WORDS[rng.random_range(0..WORDS.len())],
                WORDS[rng.random_range(0..WORDS.len())],
                WORDS[rng.random_range(0..WORDS.len())]
            );
            Document {
                kind: ItemKind::Value,
                key: format!("campaign={name}"),
                label: name.clone(),
                dimension: Some("campaign".into()),
                value: Some(name.clone()),
                text: format!("Campaign: {}", name.replace('_', " ")),
                names: vec![name.clone(), name.replace('_', " ")],
                exact_case: vec![],
                maps_to: vec![],
            }
        })
        .collect()
}

fn unit(rng: &mut impl Rng, dim: usize) -> Vec<f32> {
    let v: Vec<f32> = (0..dim).map(|_| rng.random_range(-1.0f32..1.0)).collect();
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    v.into_iter().map(|x| x / n).collect()
}

fn benches(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let embedder = Arc::new(Embedder::load(&assets(), 0).expect("run `make setup` first"));
    let question = "ROAS of the Facebook lookalike campaigns in Germany last month";
    for _ in 0..10 {
        embedder.embed_one(question).unwrap();
    }
    c.bench_function("embed one question", |b| {
        b.iter(|| embedder.embed_one(question).unwrap())
    });

    // The edge index at 10,000 values. Random unit vectors: search cost
    // depends on the count and dimension, not on what the vectors mean.
    let dir = tempfile::tempdir().unwrap();
    let index = EdgeIndex::open(dir.path()).unwrap();
    let docs = documents(10_000);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(2);
    rt.block_on(async {
        index.ensure(embedder.dim()).await.unwrap();
        for chunk in docs.chunks(1000) {
            let points = chunk
                .iter()
                .map(|d| Point {
                    id: d.point_id(),
                    vector: unit(&mut rng, embedder.dim()),
                    payload: d.to_payload("x"),
                })
                .collect();
            index.upsert(points).await.unwrap();
        }
        index.commit().await.unwrap();
    });
    let q = embedder.embed_one(question).unwrap();
    let values = KeywordFilter {
        field: "kind".into(),
        any_of: vec!["value".into()],
    };
    c.bench_function("edge index search, 10k values, top 8", |b| {
        b.iter(|| rt.block_on(index.search(&q, 8, Some(&values))).unwrap())
    });

    let lexicon = Lexicon::new(docs.clone());
    let by_point: HashMap<u64, usize> = docs
        .iter()
        .enumerate()
        .map(|(i, d)| (d.point_id(), i))
        .collect();
    let vector: Vec<(u64, f32)> = rt
        .block_on(index.search(&q, 16, None))
        .unwrap()
        .into_iter()
        .map(|p| (p.id, p.score))
        .collect();
    c.bench_function("lexical match + fusion, 10k values", |b| {
        b.iter(|| fuse(&lexicon, &by_point, question, &vector, 10))
    });

    let cache: SemanticCache<Arc<Vec<u8>>> = SemanticCache::new(&CacheConfig::default());
    cache.set_versions("data", "model");
    let plan: SemanticQuery =
        serde_json::from_str(r#"{"metrics":["roas"],"dimensions":[{"name":"campaign"}]}"#).unwrap();
    cache.remember_question(&lexicon, question, q.clone(), plan.clone());
    cache.put_result(&plan, Arc::new(vec![0; 1024]));
    c.bench_function("cache hit (question level then plan level)", |b| {
        b.iter(|| match cache.lookup_question(&lexicon, question, &q) {
            quarry_retrieval::QuestionLookup::Hit { plan, .. } => cache.get_result(&plan).unwrap(),
            m => panic!("expected a hit: {m:?}"),
        })
    });
}

criterion_group! {
    name = retrieval;
    config = Criterion::default().sample_size(30);
    targets = benches
}
criterion_main!(retrieval);
