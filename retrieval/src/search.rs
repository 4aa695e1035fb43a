//! Hybrid search: the question's embedding against the vector index, fused
//! with lexical matches of the items' names, into one ranked list of typed
//! hits with a score and the reasons each matched.
//!
//! Fusion is a weighted sum rather than rank fusion: a lexical exact match
//! (1.0) is strong evidence that rank fusion would flatten, and the cosine
//! (0 to 1, weighted by `VECTOR_WEIGHT`) orders everything else and breaks
//! ties between names matched equally well.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Instant;

use serde::Serialize;

use crate::RetrievalError;
use crate::docs::{Document, ItemKind};
use crate::embed::Embedder;
use crate::index::{KeywordFilter, VectorIndex};
use crate::lexical::{Lexicon, MatchKind};

pub const VECTOR_WEIGHT: f32 = 0.5;
/// Glossary entries and verified questions support the items they map to;
/// they rank just below an item matched as well.
const SUPPORT_WEIGHT: f32 = 0.85;
/// Vector candidates fetched from the index, per group.
const VECTOR_CANDIDATES: usize = 16;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Hit {
    /// `kind:key`, e.g. `metric:roas` or `value:country=DE`.
    pub item: String,
    pub kind: ItemKind,
    pub key: String,
    pub label: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dimension: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    pub score: f32,
    /// The name match's strength (0 when only the meaning matched).
    #[serde(skip)]
    pub lexical: f32,
    /// Cosine similarity of the question to the item (0 when not a candidate).
    #[serde(skip)]
    pub vector: f32,
    pub reasons: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SearchResult {
    pub hits: Vec<Hit>,
    #[serde(skip)]
    pub embedding: Vec<f32>,
    pub embed_ms: f64,
    pub search_ms: f64,
}

#[derive(Debug)]
pub struct Retriever {
    embedder: Arc<Embedder>,
    index: Arc<dyn VectorIndex>,
    lexicon: RwLock<Arc<Lexicon>>,
    by_point: RwLock<Arc<HashMap<u64, usize>>>,
}

impl Retriever {
    /// Reads every indexed item's names from the index to build the lexicon.
    pub async fn open(
        embedder: Arc<Embedder>,
        index: Arc<dyn VectorIndex>,
    ) -> Result<Self, RetrievalError> {
        let r = Self {
            embedder,
            index,
            lexicon: RwLock::new(Arc::new(Lexicon::new(Vec::new()))),
            by_point: RwLock::new(Arc::new(HashMap::new())),
        };
        r.reload().await?;
        Ok(r)
    }

    /// Rebuilds the lexicon after the index changed.
    pub async fn reload(&self) -> Result<(), RetrievalError> {
        let mut docs: Vec<Document> = self
            .index
            .payloads()
            .await?
            .iter()
            .filter_map(|(_, p)| Document::from_payload(p).map(|(d, _)| d))
            .collect();
        docs.sort_by(|a, b| (a.kind, &a.key).cmp(&(b.kind, &b.key)));
        let by_point: HashMap<u64, usize> = docs
            .iter()
            .enumerate()
            .map(|(i, d)| (d.point_id(), i))
            .collect();
        let lexicon = tokio::task::spawn_blocking(move || Lexicon::new(docs))
            .await
            .map_err(|e| RetrievalError::Embed(e.to_string()))?;
        if let Ok(mut l) = self.lexicon.write() {
            *l = Arc::new(lexicon);
        }
        if let Ok(mut b) = self.by_point.write() {
            *b = Arc::new(by_point);
        }
        Ok(())
    }

    pub fn lexicon(&self) -> Arc<Lexicon> {
        self.lexicon
            .read()
            .map(|l| Arc::clone(&l))
            .unwrap_or_else(|p| Arc::clone(&p.into_inner()))
    }

    pub fn embedder(&self) -> &Arc<Embedder> {
        &self.embedder
    }

    pub fn index(&self) -> &Arc<dyn VectorIndex> {
        &self.index
    }

    /// Embeds the question off the async threads, then searches.
    pub async fn search(
        &self,
        question: &str,
        limit: usize,
    ) -> Result<SearchResult, RetrievalError> {
        let t = Instant::now();
        let embedder = Arc::clone(&self.embedder);
        let q = question.to_string();
        let embedding = tokio::task::spawn_blocking(move || embedder.embed_one(&q))
            .await
            .map_err(|e| RetrievalError::Embed(e.to_string()))??;
        let embed_ms = t.elapsed().as_secs_f64() * 1e3;
        let mut r = self.search_with(question, embedding, limit).await?;
        r.embed_ms = embed_ms;
        Ok(r)
    }

    /// Search with an embedding already computed (the cache computes it too).
    pub async fn search_with(
        &self,
        question: &str,
        embedding: Vec<f32>,
        limit: usize,
    ) -> Result<SearchResult, RetrievalError> {
        let t = Instant::now();
        let items = KeywordFilter {
            field: "kind".into(),
            any_of: [
                ItemKind::Metric,
                ItemKind::Dimension,
                ItemKind::Glossary,
                ItemKind::VerifiedQuery,
            ]
            .iter()
            .map(|k| k.as_str().to_string())
            .collect(),
        };
        let values = KeywordFilter {
            field: "kind".into(),
            any_of: vec![ItemKind::Value.as_str().to_string()],
        };
        // Values outnumber everything else a hundred to one; searched
        // alone they would crowd the metrics out of the candidates.
        let (a, b) = tokio::join!(
            self.index
                .search(&embedding, VECTOR_CANDIDATES, Some(&items)),
            self.index
                .search(&embedding, VECTOR_CANDIDATES / 2, Some(&values)),
        );
        let mut vector: Vec<(u64, f32)> =
            a?.into_iter().chain(b?).map(|p| (p.id, p.score)).collect();
        vector.sort_by(|x, y| y.1.total_cmp(&x.1));
        let lexicon = self.lexicon();
        let by_point = self
            .by_point
            .read()
            .map(|b| Arc::clone(&b))
            .unwrap_or_else(|p| Arc::clone(&p.into_inner()));
        let hits = fuse(&lexicon, &by_point, question, &vector, limit);
        Ok(SearchResult {
            hits,
            embedding,
            embed_ms: 0.0,
            search_ms: t.elapsed().as_secs_f64() * 1e3,
        })
    }
}

#[derive(Default)]
struct Acc {
    lexical: f32,
    vector: f32,
    reasons: Vec<String>,
}

/// Combines vector candidates `(point id, cosine)` with lexical matches.
pub fn fuse(
    lexicon: &Lexicon,
    by_point: &HashMap<u64, usize>,
    question: &str,
    vector: &[(u64, f32)],
    limit: usize,
) -> Vec<Hit> {
    let docs = lexicon.docs();
    let mut acc: HashMap<usize, Acc> = HashMap::new();
    for h in lexicon.matches(question) {
        let a = acc.entry(h.doc).or_default();
        if h.score > a.lexical {
            a.lexical = h.score;
        }
        a.reasons.push(match h.kind {
            MatchKind::Exact => format!("names \"{}\"", h.said),
            MatchKind::Prefix => format!("\"{}\" starts \"{}\"", h.said, h.name),
            MatchKind::Misspelling => {
                format!("\"{}\" looks like a misspelling of \"{}\"", h.said, h.name)
            }
            MatchKind::Word => format!("\"{}\" is a word of \"{}\"", h.said, docs[h.doc].label),
        });
    }
    for (id, score) in vector {
        if let Some(&i) = by_point.get(id) {
            let a = acc.entry(i).or_default();
            if *score > a.vector {
                a.vector = *score;
                a.reasons.push(format!("similar meaning ({score:.2})"));
            }
        }
    }
    // A glossary term or verified question the question names lends its
    // evidence to the items it stands for.
    let supporters: Vec<(usize, f32)> = acc
        .iter()
        .filter(|(i, a)| matches!(docs[**i].kind, ItemKind::Glossary) && a.lexical > 0.0)
        .map(|(i, a)| (*i, a.lexical))
        .collect();
    for (g, lex) in supporters {
        for target in &docs[g].maps_to {
            if let Some(t) = lexicon.find(target) {
                let a = acc.entry(t).or_default();
                let s = lex * SUPPORT_WEIGHT;
                if s > a.lexical {
                    a.lexical = s;
                    a.reasons.push(format!("glossary: \"{}\"", docs[g].key));
                }
            }
        }
    }
    let mut hits: Vec<Hit> = acc
        .into_iter()
        .map(|(i, a)| {
            let d = &docs[i];
            let mut score = a.lexical + VECTOR_WEIGHT * a.vector.max(0.0);
            if matches!(d.kind, ItemKind::Glossary | ItemKind::VerifiedQuery) {
                score *= SUPPORT_WEIGHT;
            }
            Hit {
                item: d.item_id(),
                kind: d.kind,
                key: d.key.clone(),
                label: d.label.clone(),
                dimension: d.dimension.clone(),
                value: d.value.clone(),
                score,
                lexical: a.lexical,
                vector: a.vector,
                reasons: a.reasons,
            }
        })
        .collect();
    hits.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then_with(|| a.item.cmp(&b.item))
    });
    hits.truncate(limit);
    hits
}
