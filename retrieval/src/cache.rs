//! The semantic cache, in two levels, both bounded, with a time to live,
//! and emptied whenever the data or the semantic layer change.
//!
//! - Plan level: the canonical `SemanticQuery` (plus the data and semantic
//!   layer versions) maps to the answer. Two phrasings that plan the same
//!   share it, and nothing else can: the key is the meaning itself.
//! - Question level: a question close to one seen before (cosine above a
//!   threshold) reuses that question's plan, but only when every entity the
//!   two mention is the same (`entities::extract`). This is what keeps "iOS"
//!   from being answered with Android's numbers.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use moka::sync::Cache;
use quarry_schema::SemanticQuery;
use serde::Serialize;

use crate::config::CacheConfig;
use crate::embed::cosine;
use crate::entities::{Entities, extract};
use crate::lexical::Lexicon;

/// Questions kept per distinct set of entities.
const PER_SIGNATURE: usize = 8;

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Versions {
    pub data: String,
    pub model: String,
}

#[derive(Debug, Clone)]
struct Remembered {
    question: String,
    embedding: Vec<f32>,
    plan: SemanticQuery,
}

#[derive(Debug, Clone, PartialEq)]
pub enum QuestionLookup {
    Hit {
        plan: SemanticQuery,
        /// The earlier question whose plan is reused.
        matched: String,
        similarity: f32,
    },
    Miss {
        entities: Entities,
    },
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct CacheStats {
    pub plan_hits: u64,
    pub plan_misses: u64,
    pub question_hits: u64,
    pub question_misses: u64,
    pub plans: u64,
    pub questions: u64,
    pub invalidations: u64,
}

pub struct SemanticCache<V: Clone + Send + Sync + 'static> {
    plans: Cache<String, V>,
    questions: Cache<String, Arc<Vec<Remembered>>>,
    versions: RwLock<Versions>,
    threshold: f32,
    plan_hits: AtomicU64,
    plan_misses: AtomicU64,
    question_hits: AtomicU64,
    question_misses: AtomicU64,
    invalidations: AtomicU64,
}

impl<V: Clone + Send + Sync + 'static> std::fmt::Debug for SemanticCache<V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SemanticCache")
            .field("stats", &self.stats())
            .finish()
    }
}

impl<V: Clone + Send + Sync + 'static> SemanticCache<V> {
    pub fn new(cfg: &CacheConfig) -> Self {
        let ttl = Duration::from_secs(cfg.ttl_secs.max(1));
        Self {
            plans: Cache::builder()
                .max_capacity(cfg.capacity)
                .time_to_live(ttl)
                .build(),
            questions: Cache::builder()
                .max_capacity(cfg.capacity)
                .time_to_live(ttl)
                .build(),
            versions: RwLock::new(Versions::default()),
            threshold: cfg.question_threshold,
            plan_hits: AtomicU64::new(0),
            plan_misses: AtomicU64::new(0),
            question_hits: AtomicU64::new(0),
            question_misses: AtomicU64::new(0),
            invalidations: AtomicU64::new(0),
        }
    }

    /// Records the current data and semantic-layer versions; when either
    /// differs from before, everything cached is dropped.
    pub fn set_versions(&self, data: &str, model: &str) {
        let next = Versions {
            data: data.to_string(),
            model: model.to_string(),
        };
        let changed = match self.versions.write() {
            Ok(mut v) if *v != next => {
                *v = next;
                true
            }
            Ok(_) => false,
            Err(p) => {
                *p.into_inner() = next;
                true
            }
        };
        if changed {
            self.invalidate();
        }
    }

    pub fn invalidate(&self) {
        self.plans.invalidate_all();
        self.questions.invalidate_all();
        self.invalidations.fetch_add(1, Ordering::Relaxed);
    }

    fn versioned(&self, key: &str) -> String {
        let v = self.versions.read().map(|v| v.clone()).unwrap_or_default();
        format!("{}\u{1f}{}\u{1f}{key}", v.data, v.model)
    }

    fn plan_key(&self, plan: &SemanticQuery) -> String {
        self.versioned(&plan.canonical_json())
    }

    pub fn get_result(&self, plan: &SemanticQuery) -> Option<V> {
        let hit = self.plans.get(&self.plan_key(plan));
        let counter = if hit.is_some() {
            &self.plan_hits
        } else {
            &self.plan_misses
        };
        counter.fetch_add(1, Ordering::Relaxed);
        hit
    }

    pub fn put_result(&self, plan: &SemanticQuery, value: V) {
        self.plans.insert(self.plan_key(plan), value);
    }

    fn signature(&self, entities: &Entities) -> String {
        self.versioned(&serde_json::to_string(entities).unwrap_or_default())
    }

    /// A plan made for an earlier question, when `question` mentions exactly
    /// the same entities and reads close enough.
    pub fn lookup_question(
        &self,
        lexicon: &Lexicon,
        question: &str,
        embedding: &[f32],
    ) -> QuestionLookup {
        let entities = extract(lexicon, question);
        let best = self
            .questions
            .get(&self.signature(&entities))
            .and_then(|list| {
                list.iter()
                    .map(|r| (cosine(&r.embedding, embedding), r))
                    .filter(|(s, _)| *s >= self.threshold)
                    .max_by(|a, b| a.0.total_cmp(&b.0))
                    .map(|(s, r)| (s, r.clone()))
            });
        match best {
            Some((similarity, r)) => {
                self.question_hits.fetch_add(1, Ordering::Relaxed);
                QuestionLookup::Hit {
                    plan: r.plan,
                    matched: r.question,
                    similarity,
                }
            }
            None => {
                self.question_misses.fetch_add(1, Ordering::Relaxed);
                QuestionLookup::Miss { entities }
            }
        }
    }

    /// Remembers the plan made for a question.
    pub fn remember_question(
        &self,
        lexicon: &Lexicon,
        question: &str,
        embedding: Vec<f32>,
        plan: SemanticQuery,
    ) {
        let key = self.signature(&extract(lexicon, question));
        let mut list: Vec<Remembered> = self
            .questions
            .get(&key)
            .map(|l| (*l).clone())
            .unwrap_or_default();
        list.retain(|r| r.question != question);
        if list.len() >= PER_SIGNATURE {
            list.remove(0);
        }
        list.push(Remembered {
            question: question.to_string(),
            embedding,
            plan: plan.canonical(),
        });
        self.questions.insert(key, Arc::new(list));
    }

    pub fn stats(&self) -> CacheStats {
        self.plans.run_pending_tasks();
        self.questions.run_pending_tasks();
        CacheStats {
            plan_hits: self.plan_hits.load(Ordering::Relaxed),
            plan_misses: self.plan_misses.load(Ordering::Relaxed),
            question_hits: self.question_hits.load(Ordering::Relaxed),
            question_misses: self.question_misses.load(Ordering::Relaxed),
            plans: self.plans.entry_count(),
            questions: self.questions.entry_count(),
            invalidations: self.invalidations.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;
    use crate::docs::{Document, ItemKind};

    fn lexicon() -> Lexicon {
        Lexicon::new(vec![Document::named(
            ItemKind::Metric,
            "spend",
            &["spend"],
            &[],
        )])
    }

    fn plan(json: &str) -> SemanticQuery {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn plans_hit_by_meaning_and_versions_invalidate() {
        let c: SemanticCache<u32> = SemanticCache::new(&CacheConfig::default());
        c.set_versions("d1", "m1");
        let a = plan(
            r#"{"metrics":["spend"],"filters":[{"dimension":"platform","op":"eq","values":["iOS"]},{"dimension":"country","op":"in","values":["US","DE"]}]}"#,
        );
        let b = plan(
            r#"{"metrics":["SPEND"],"filters":[{"dimension":"country","op":"in","values":["DE","US","DE"]},{"dimension":"platform","op":"in","values":["iOS"]}]}"#,
        );
        assert_eq!(c.get_result(&a), None);
        c.put_result(&a, 7);
        assert_eq!(
            c.get_result(&b),
            Some(7),
            "same meaning, written differently"
        );
        c.set_versions("d1", "m1");
        assert_eq!(c.get_result(&a), Some(7), "unchanged versions keep entries");
        c.set_versions("d2", "m1");
        assert_eq!(c.get_result(&a), None, "new data drops entries");
        let s = c.stats();
        assert_eq!((s.plan_hits, s.plan_misses, s.invalidations), (2, 2, 2));
    }

    #[test]
    fn questions_need_equal_entities_and_close_embeddings() {
        let c: SemanticCache<u32> = SemanticCache::new(&CacheConfig::default());
        let l = lexicon();
        let p = plan(r#"{"metrics":["spend"]}"#);
        c.remember_question(&l, "spend last week", vec![1.0, 0.0], p.clone());
        match c.lookup_question(&l, "what was spend last week?", &[0.99, 0.141]) {
            QuestionLookup::Hit { plan, .. } => assert_eq!(plan, p.canonical()),
            m => panic!("{m:?}"),
        }
        assert!(matches!(
            c.lookup_question(&l, "spend last month", &[1.0, 0.0]),
            QuestionLookup::Miss { .. }
        ));
        assert!(
            matches!(
                c.lookup_question(&l, "spend last week", &[0.0, 1.0]),
                QuestionLookup::Miss { .. }
            ),
            "same entities but a distant embedding is not enough"
        );
        c.set_versions("d2", "m2");
        assert!(matches!(
            c.lookup_question(&l, "spend last week", &[1.0, 0.0]),
            QuestionLookup::Miss { .. }
        ));
    }
}
