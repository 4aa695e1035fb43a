//! Retrieval end to end on the test warehouse, with the real embedding model
//! and the embedded Qdrant index: what a question finds, incremental
//! indexing, the labelled evaluation sets, and the errors a user can meet.

use std::path::Path;

use quarry::knowledge::{Knowledge, SyncMode};
use quarry_retrieval::evaluate::{self, PairSet, QuestionSet};
use quarry_retrieval::indexer::Silent;
use quarry_retrieval::{RetrievalError, SemanticCache};

use crate::support::{TestWarehouse, demo_catalogue_warehouse as warehouse};

fn repo(p: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(p)
}

async fn open(w: &TestWarehouse, data: &Path, mode: SyncMode) -> Knowledge {
    let cfg = w.retrieval_config(data);
    let ws = w.workspace().await;
    match Knowledge::open(&cfg, &ws, mode, &Silent).await {
        Ok(k) => k,
        Err(e) => panic!("retrieval opens (run `make setup` if the model is missing): {e}"),
    }
}

async fn top(k: &Knowledge, q: &str, n: usize) -> Vec<String> {
    let r = k.retriever.search(q, n).await.unwrap();
    r.hits.into_iter().map(|h| h.item).collect()
}

#[tokio::test]
async fn questions_find_metrics_dimensions_and_values() {
    let w = warehouse();
    let data = tempfile::tempdir().unwrap();
    let k = open(&w, data.path(), SyncMode::IfStale).await;
    let cases: &[(&str, &[&str])] = &[
        (
            "ROAS by network last month",
            &["metric:roas", "dimension:network"],
        ),
        (
            "installs from Germany on iOS",
            &["metric:installs", "value:country=DE", "value:platform=iOS"],
        ),
        (
            "spend on facebok yesterday",
            &["metric:spend", "value:network=Facebook"],
        ),
        (
            "cost per install in the UK",
            &["metric:cpi", "value:country=GB"],
        ),
        (
            "revenue of the Facebook iOS US lookalike campaign",
            &["metric:revenue", "value:campaign=Facebook_iOS_US_Lookalike"],
        ),
        ("how many whales do we have", &["metric:paying_users"]),
    ];
    for (q, need) in cases {
        let got = top(&k, q, 5).await;
        for n in *need {
            assert!(
                got.iter().any(|g| g == n),
                "{q:?}: {n} not in the top 5: {got:?}"
            );
        }
    }
    // Every hit says why it matched.
    let r = k.retriever.search("ROAS in Germany", 5).await.unwrap();
    assert!(r.hits.iter().all(|h| !h.reasons.is_empty()));
    assert!(r.hits[0].score >= r.hits[r.hits.len() - 1].score);
    assert_eq!(r.embedding.len(), 384);
}

#[tokio::test]
async fn indexing_is_incremental_and_survives_a_restart() {
    let w = warehouse();
    let data = tempfile::tempdir().unwrap();
    let first = open(&w, data.path(), SyncMode::IfStale).await;
    let built = first.synced.clone().expect("a fresh index is built");
    assert!(built.embedded > 100, "{built:?}");
    assert_eq!(built.unchanged, 0);
    drop(first);

    // Reopened: nothing changed, so nothing is even compared.
    let again = open(&w, data.path(), SyncMode::IfStale).await;
    assert!(again.synced.is_none());
    assert_eq!(again.retriever.index().count().await.unwrap(), built.total);
    assert!(
        top(&again, "installs in Germany", 5)
            .await
            .contains(&"value:country=DE".to_string())
    );
    drop(again);

    // A forced sync compares every item and embeds none.
    let forced = open(&w, data.path(), SyncMode::Always).await;
    let r = forced.synced.clone().unwrap();
    assert_eq!((r.embedded, r.removed, r.unchanged), (0, 0, built.total));
    drop(forced);

    // A model with one glossary term changed and one added re-embeds two.
    let model_dir = tempfile::tempdir().unwrap();
    for (name, text) in quarry_schema::demo_model::FILES {
        let file = Path::new(name).file_name().unwrap();
        let text = if file == "glossary.yaml" {
            text.replace(
                "big spender, high spender",
                "big spender, high spender, top payer",
            ) + "  - term: UA\n    synonyms: [user acquisition spend]\n    definition: Money spent to acquire users.\n    maps_to: [spend]\n"
        } else {
            text.to_string()
        };
        std::fs::write(model_dir.path().join(file), text).unwrap();
    }
    std::fs::create_dir_all(model_dir.path().join("ml")).unwrap();
    for (name, text) in quarry_schema::demo_model::ML_FILES {
        let file = Path::new(name).file_name().unwrap();
        std::fs::write(model_dir.path().join("ml").join(file), text).unwrap();
    }
    let mut cfg = w.retrieval_config(data.path());
    cfg.model.dir = Some(model_dir.path().to_path_buf());
    let ws = quarry::semantic::Workspace::open(&cfg).await.unwrap();
    let k = Knowledge::open(&cfg, &ws, SyncMode::IfStale, &Silent)
        .await
        .unwrap();
    let r = k.synced.clone().unwrap();
    assert_eq!((r.embedded, r.removed), (2, 0), "{r:?}");
    assert_eq!(r.total, built.total + 1);
    assert!(
        top(&k, "what did we pay top payers", 5)
            .await
            .contains(&"glossary:whale".to_string())
    );
}

#[tokio::test]
async fn retrieval_meets_its_recall_target() {
    let w = warehouse();
    let data = tempfile::tempdir().unwrap();
    let k = open(&w, data.path(), SyncMode::IfStale).await;
    let set: QuestionSet = evaluate::load(&repo("eval/retrieval/questions.yaml")).unwrap();
    assert!(set.questions.len() >= 100);
    let r = evaluate::evaluate_retrieval(&k.retriever, &set)
        .await
        .unwrap();
    eprintln!(
        "recall@5 {:.3} recall@10 {:.3} MRR {:.3}; misses: {:#?}",
        r.recall_at_5, r.recall_at_10, r.mrr, r.misses
    );
    assert!(r.recall_at_5 >= 0.95, "recall@5 {:.3}", r.recall_at_5);
}

#[tokio::test]
async fn cache_never_shares_a_plan_across_a_near_miss() {
    let w = warehouse();
    let data = tempfile::tempdir().unwrap();
    let k = open(&w, data.path(), SyncMode::IfStale).await;
    let set: PairSet = evaluate::load(&repo("eval/cache/pairs.yaml")).unwrap();
    assert!(set.near_misses.len() >= 50 && set.paraphrases.len() >= 30);
    let cfg = w.retrieval_config(data.path());
    let r = evaluate::evaluate_cache(&k.retriever, &set, &cfg.retrieval.cache)
        .await
        .unwrap();
    eprintln!(
        "paraphrase hit rate {:.2} ({}/{}); misses: {:#?}; near misses told apart only by similarity: {:#?}",
        r.paraphrase_hit_rate,
        r.paraphrase_hits,
        r.paraphrases,
        r.paraphrase_misses,
        r.entity_collisions
    );
    assert!(r.false_hits.is_empty(), "false hits: {:#?}", r.false_hits);
    assert!(
        r.paraphrase_hit_rate >= 0.5,
        "paraphrases mostly share: {:.2}",
        r.paraphrase_hit_rate
    );
}

#[tokio::test]
async fn answers_are_cached_by_plan_until_the_data_changes() {
    let w = warehouse();
    let ws = w.workspace().await;
    let cache: SemanticCache<std::sync::Arc<quarry::semantic::Answer>> =
        SemanticCache::new(&quarry_retrieval::CacheConfig::default());
    let cfg = w.config();
    cache.set_versions(
        &quarry::knowledge::data_version(&cfg),
        &quarry::knowledge::model_version(&cfg),
    );
    let a: quarry_schema::SemanticQuery =
        serde_json::from_str(r#"{"metrics":["spend","installs"],"dimensions":[{"name":"network"}],"filters":[{"dimension":"platform","op":"eq","values":["iOS"]}]}"#).unwrap();
    let b: quarry_schema::SemanticQuery =
        serde_json::from_str(r#"{"filters":[{"dimension":"platform","op":"in","values":["iOS","iOS"]}],"dimensions":[{"name":"Network"}],"metrics":["spend","installs"]}"#).unwrap();
    let first = std::sync::Arc::new(ws.answer(&a).await.unwrap());
    cache.put_result(&a, first.clone());
    let hit = cache
        .get_result(&b)
        .expect("the same plan written differently hits");
    assert_eq!(hit.result.rows_json(), first.result.rows_json());

    // Touching a warehouse file changes the data version, which empties the cache.
    let f = std::fs::read_dir(w.path().join("campaigns"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let bytes = std::fs::read(&f).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(20));
    std::fs::write(&f, bytes).unwrap();
    cache.set_versions(
        &quarry::knowledge::data_version(&cfg),
        &quarry::knowledge::model_version(&cfg),
    );
    assert!(cache.get_result(&b).is_none());
}

#[tokio::test]
async fn missing_model_files_are_a_clear_error() {
    let w = warehouse();
    let data = tempfile::tempdir().unwrap();
    let mut cfg = w.retrieval_config(data.path());
    let empty = tempfile::tempdir().unwrap();
    cfg.retrieval.model_dir = Some(empty.path().to_path_buf());
    let ws = w.workspace().await;
    let e = Knowledge::open(&cfg, &ws, SyncMode::IfStale, &Silent)
        .await
        .unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("model.onnx") && msg.contains("make setup"),
        "{msg}"
    );
    assert!(matches!(
        e,
        quarry::knowledge::KnowledgeError::Retrieval(RetrievalError::MissingAsset { .. })
    ));

    // A model folder with every file but a broken ONNX file.
    let broken = tempfile::tempdir().unwrap();
    let real = cfg.retrieval.model_dir.clone();
    let src = w.retrieval_config(data.path()).retrieval.model_dir.unwrap();
    for f in quarry_retrieval::assets::MODEL_FILES {
        let bytes = if f == "model.onnx" {
            b"not a model".to_vec()
        } else {
            std::fs::read(src.join(f)).unwrap()
        };
        std::fs::write(broken.path().join(f), bytes).unwrap();
    }
    drop(real);
    cfg.retrieval.model_dir = Some(broken.path().to_path_buf());
    let e = Knowledge::open(&cfg, &ws, SyncMode::IfStale, &Silent)
        .await
        .unwrap_err();
    assert!(
        e.to_string().contains("cannot load the embedding model"),
        "{e}"
    );
}
