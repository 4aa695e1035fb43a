//! The question path end to end on a small warehouse with the demo's dates
//! and catalogue: real embedding model, real index, real engine with the
//! scoring models trained. The evaluation set of `eval/ask` must meet its
//! targets here, and an answer must carry everything the JSON promises.

use std::path::Path;

use quarry::ask::eval;
use quarry::ask::store::Store;
use quarry::ask::{AskOptions, Asker, Kind};
use quarry::knowledge::{Knowledge, SyncMode};
use quarry_retrieval::indexer::Silent;

use crate::support::{TestWarehouse, eval_warehouse};

fn repo(p: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(p)
}

async fn asker(w: &TestWarehouse, store: Store) -> Asker {
    asker_with(w, store, w.retrieval_config(w.data.path())).await
}

/// The question path over `w` with the scoring models trained, configured by `cfg`.
pub(crate) async fn asker_with(
    w: &TestWarehouse,
    store: Store,
    cfg: quarry::config::Config,
) -> Asker {
    w.train(&["fraud", "churn", "ltv"]).await;
    let ws = w.workspace().await;
    let k = match Knowledge::open(&cfg, &ws, SyncMode::IfStale, &Silent).await {
        Ok(k) => k,
        Err(e) => panic!("retrieval opens (run `make setup` if the model is missing): {e}"),
    };
    Asker::new(ws, k, Some(store), &cfg)
}

#[tokio::test]
async fn the_evaluation_set_meets_its_targets() {
    let w = eval_warehouse();
    let a = asker(&w, Store::in_memory().unwrap()).await;
    let path = repo("eval/ask/questions.yaml");
    let set = eval::load(&path).unwrap();
    let r = eval::run(&a, &set, &path, &|_, _| true, &|_, _| {})
        .await
        .unwrap();
    let failures: Vec<String> = r
        .outcomes
        .iter()
        .filter(|o| !o.pass)
        .map(|o| format!("{} {:?}: {}", o.id, o.question, o.detail))
        .collect();
    assert!(
        r.execution_accuracy >= 0.95,
        "execution accuracy {:.3} below 0.95; failures:\n{}",
        r.execution_accuracy,
        failures.join("\n")
    );
    assert_eq!(
        r.answered_anyway,
        0,
        "ambiguous or unanswerable questions got a number:\n{}",
        failures.join("\n")
    );
}

#[tokio::test]
async fn an_answer_carries_everything_and_follow_ups_use_the_conversation() {
    let w = eval_warehouse();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("quarry.sqlite");
    let a = asker(&w, Store::open(&db).unwrap()).await;
    let opts = AskOptions {
        session: Some("s1".into()),
        no_cache: true,
    };
    let r = a
        .ask("top 5 iOS campaigns by ROAS last month", &opts)
        .await
        .unwrap();
    assert_eq!(r.kind, Kind::Answer, "{}", r.narrative);
    let json = serde_json::to_value(&r).unwrap();
    for key in [
        "kind",
        "interpretation",
        "semantic_query",
        "sql",
        "columns",
        "rows",
        "narrative",
        "chart",
        "suggestions",
        "options",
        "timings",
    ] {
        assert!(json.get(key).is_some(), "the answer has no {key}");
    }
    assert_eq!(json["kind"], "answer");
    let interpretation = r.interpretation.clone().unwrap();
    assert!(
        interpretation.contains("iOS") && interpretation.contains("October 2026"),
        "{interpretation}"
    );
    assert!(r.rows.len() <= 5 && !r.rows.is_empty());
    assert!(!r.suggestions.is_empty());

    let f = a.ask("what about Android?", &opts).await.unwrap();
    assert_eq!(f.kind, Kind::Answer, "{}", f.narrative);
    let plan = f.semantic_query.unwrap();
    assert_eq!(plan.filters[0].values[0].to_string(), "Android");
    assert_eq!(plan.limit, Some(5));

    // The conversation survives reopening the store.
    drop(a);
    let s = Store::open(&db).unwrap();
    let turns = s.turns("s1").unwrap().unwrap();
    assert_eq!(turns.len(), 2);
    assert_eq!(turns[1].question, "what about Android?");
    assert!(s.context("s1").unwrap().last.is_some());

    // A clarification, then its answer by number.
    let a = asker(&w, Store::open(&db).unwrap()).await;
    let opts = AskOptions {
        session: Some("s2".into()),
        no_cache: true,
    };
    let c = a
        .ask("retention by network last month", &opts)
        .await
        .unwrap();
    assert_eq!(c.kind, Kind::Clarification);
    assert!((2..=4).contains(&c.options.len()));
    let picked = a.ask("2", &opts).await.unwrap();
    assert_eq!(picked.kind, Kind::Answer);
    assert_eq!(picked.semantic_query.unwrap(), c.options[1].query);

    // Nonsense and hostile input get a refusal, never an error or a panic.
    for q in [
        "DROP TABLE installs; --",
        "🙂🙂🙂",
        "what is the weather in Paris",
        "'; SELECT * FROM users",
    ] {
        let r = a.ask(q, &AskOptions::default()).await.unwrap();
        assert_ne!(r.kind, Kind::Answer, "{q}");
    }
    assert!(a.ask("   ", &AskOptions::default()).await.is_err());
    assert!(
        a.ask(&"spend ".repeat(400), &AskOptions::default())
            .await
            .is_err()
    );
}
