//! Evaluations of retrieval quality, run by `quarry eval` and by the tests:
//! recall of labelled items over a question set, and the semantic cache's
//! behaviour on near-miss and paraphrase pairs.

use std::path::Path;
use std::time::Instant;

use quarry_schema::SemanticQuery;
use serde::{Deserialize, Serialize};

use crate::RetrievalError;
use crate::cache::{QuestionLookup, SemanticCache};
use crate::config::CacheConfig;
use crate::search::Retriever;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuestionSet {
    pub questions: Vec<Labelled>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Labelled {
    pub q: String,
    /// Item ids retrieval must surface: `metric:roas`, `value:country=DE`.
    pub need: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PairSet {
    pub near_misses: Vec<[String; 2]>,
    pub paraphrases: Vec<[String; 2]>,
}

#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    #[error("cannot read {path}: {message}")]
    Read { path: String, message: String },
    #[error("{path} is not a valid evaluation file: {message}")]
    Parse { path: String, message: String },
    #[error(transparent)]
    Retrieval(#[from] RetrievalError),
}

pub fn load<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, EvalError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| EvalError::Read {
        path: shown.clone(),
        message: e.to_string(),
    })?;
    marked_yaml::from_yaml(0, &text).map_err(|e| EvalError::Parse {
        path: shown,
        message: e.to_string(),
    })
}

#[derive(Debug, Clone, Serialize)]
pub struct Miss {
    pub question: String,
    pub item: String,
    /// 1-based rank in the hit list, when it is there at all.
    pub rank: Option<usize>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RetrievalReport {
    pub questions: usize,
    pub items: usize,
    pub recall_at_5: f64,
    pub recall_at_10: f64,
    /// Mean over every labelled item of 1 / its rank (0 beyond 10).
    pub mrr: f64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    /// Items not in the top 5.
    pub misses: Vec<Miss>,
}

pub async fn evaluate_retrieval(
    retriever: &Retriever,
    set: &QuestionSet,
) -> Result<RetrievalReport, RetrievalError> {
    let (mut items, mut at5, mut at10, mut rr) = (0usize, 0usize, 0usize, 0f64);
    let mut misses = Vec::new();
    let mut times = Vec::new();
    for q in &set.questions {
        let t = Instant::now();
        let r = retriever.search(&q.q, 10).await?;
        times.push(t.elapsed().as_secs_f64() * 1e3);
        for need in &q.need {
            items += 1;
            let rank = r.hits.iter().position(|h| &h.item == need).map(|p| p + 1);
            if let Some(k) = rank {
                rr += 1.0 / k as f64;
                at10 += 1;
                if k <= 5 {
                    at5 += 1;
                }
            }
            if rank.is_none_or(|k| k > 5) {
                misses.push(Miss {
                    question: q.q.clone(),
                    item: need.clone(),
                    rank,
                });
            }
        }
    }
    times.sort_by(f64::total_cmp);
    let pct = |p: f64| {
        times
            .get(((times.len() as f64 - 1.0) * p).round() as usize)
            .copied()
            .unwrap_or(0.0)
    };
    let n = items.max(1) as f64;
    Ok(RetrievalReport {
        questions: set.questions.len(),
        items,
        recall_at_5: at5 as f64 / n,
        recall_at_10: at10 as f64 / n,
        mrr: rr / n,
        p50_ms: pct(0.5),
        p95_ms: pct(0.95),
        misses,
    })
}

#[derive(Debug, Clone, Serialize)]
pub struct CacheReport {
    pub near_misses: usize,
    /// Near-miss pairs that shared a plan: must be empty.
    pub false_hits: Vec<[String; 2]>,
    pub paraphrases: usize,
    pub paraphrase_hits: usize,
    pub paraphrase_hit_rate: f64,
    /// Paraphrase pairs that did not share, with the reason.
    pub paraphrase_misses: Vec<String>,
    /// Near-miss pairs whose entities alone do not tell them apart, with
    /// their cosine: only the similarity threshold keeps these apart.
    pub entity_collisions: Vec<(String, String, f32)>,
}

/// Each pair, both ways round: the first question's plan is remembered in a
/// fresh cache, then the second is looked up.
pub async fn evaluate_cache(
    retriever: &Retriever,
    set: &PairSet,
    cfg: &CacheConfig,
) -> Result<CacheReport, RetrievalError> {
    let lexicon = retriever.lexicon();
    let embedder = retriever.embedder();
    let mut false_hits = Vec::new();
    let mut hits = 0;
    let mut para_misses = Vec::new();
    let check = |a: &str, b: &str| -> Result<(bool, String), RetrievalError> {
        let cache: SemanticCache<()> = SemanticCache::new(cfg);
        let plan = SemanticQuery::default();
        cache.remember_question(&lexicon, a, embedder.embed_one(a)?, plan);
        Ok(
            match cache.lookup_question(&lexicon, b, &embedder.embed_one(b)?) {
                QuestionLookup::Hit { similarity, .. } => {
                    (true, format!("similarity {similarity:.2}"))
                }
                QuestionLookup::Miss { entities } => {
                    let same = crate::entities::extract(&lexicon, a) == entities;
                    let why = if same {
                        format!(
                            "same entities, similarity {:.2}",
                            crate::embed::cosine(&embedder.embed_one(a)?, &embedder.embed_one(b)?)
                        )
                    } else {
                        format!(
                            "{} vs {}",
                            serde_json::to_string(&crate::entities::extract(&lexicon, a))
                                .unwrap_or_default(),
                            serde_json::to_string(&entities).unwrap_or_default()
                        )
                    };
                    (false, why)
                }
            },
        )
    };
    let mut collisions = Vec::new();
    for [a, b] in &set.near_misses {
        if crate::entities::extract(&lexicon, a) == crate::entities::extract(&lexicon, b) {
            let sim = crate::embed::cosine(&embedder.embed_one(a)?, &embedder.embed_one(b)?);
            collisions.push((a.clone(), b.clone(), sim));
        }
        for (x, y) in [(a, b), (b, a)] {
            if check(x, y)?.0 {
                false_hits.push([x.clone(), y.clone()]);
            }
        }
    }
    for [a, b] in &set.paraphrases {
        for (x, y) in [(a, b), (b, a)] {
            let (hit, why) = check(x, y)?;
            if hit {
                hits += 1;
            } else {
                para_misses.push(format!("\"{x}\" -> \"{y}\": {why}"));
            }
        }
    }
    let total = set.paraphrases.len() * 2;
    Ok(CacheReport {
        near_misses: set.near_misses.len() * 2,
        false_hits,
        paraphrases: total,
        paraphrase_hits: hits,
        paraphrase_hit_rate: hits as f64 / total.max(1) as f64,
        paraphrase_misses: para_misses,
        entity_collisions: collisions,
    })
}
