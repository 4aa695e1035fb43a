//! Reading a question: which words name metrics, dimensions and values,
//! which say when, which rank, threshold, negate or compare, and which words
//! nothing explains. The reading is what the question says on its own; the
//! planner then combines it with the conversation into a plan.

use std::collections::{BTreeMap, BTreeSet};

use quarry_retrieval::ItemKind;
use quarry_retrieval::lexical::{LexHit, Lexicon, MatchKind};
use quarry_schema::SemanticModel;
use quarry_schema::query::CompareOp;

use super::vocab;
use super::when::{self, Cue, Found};
use super::words::{Words, quantity};

/// A semantic item a run of words names.
#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    Metric(String),
    Dimension(String),
    Value {
        dimension: String,
        value: String,
    },
    /// A glossary term, standing for the metrics it maps to.
    Term {
        term: String,
        metrics: Vec<String>,
    },
}

#[derive(Debug, Clone)]
pub struct Mention {
    pub span: (usize, usize),
    pub item: Item,
    /// Other items the same words could name (a metric and a dimension
    /// both called "campaigns").
    pub also: Vec<Item>,
    pub misspelled: bool,
    pub said: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rank {
    /// Biggest values first, literally ("top", "highest", "most").
    High,
    /// Smallest first ("bottom", "lowest", "least").
    Low,
    /// Best first, which depends on the metric ("best CPI" is the lowest).
    Best,
    Worst,
}

#[derive(Debug, Clone)]
pub struct Ranking {
    pub rank: Rank,
    pub n: Option<u64>,
    pub at: usize,
    /// The metric named right after the cue ("highest ROAS", "top 5 by spend").
    pub metric: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Threshold {
    pub metric: Option<String>,
    /// A number dimension compared row by row ("tenure above 24 months",
    /// "a score over 0.9"): a filter on rows, not on an aggregate.
    pub dimension: Option<String>,
    pub op: CompareOp,
    pub value: f64,
    pub percent: bool,
    pub multiple: bool,
    pub at: usize,
}

#[derive(Debug, Clone)]
pub struct ValueRef {
    pub dimension: String,
    pub value: String,
    pub negated: bool,
    pub only: bool,
    pub at: usize,
}

/// A word of a value's name that several values share ("lookalike" in a
/// dozen campaign names): a substring filter.
#[derive(Debug, Clone)]
pub struct Fragment {
    pub dimension: String,
    pub word: String,
    pub negated: bool,
    pub at: usize,
}

#[derive(Debug, Clone, Default)]
pub struct Reading {
    pub words: Vec<String>,
    pub mentions: Vec<Mention>,
    /// Metrics in the order named, with their positions.
    pub metrics: Vec<(usize, String)>,
    /// Dimensions to break down by, in order.
    pub dimensions: Vec<(usize, String)>,
    pub values: Vec<ValueRef>,
    pub fragments: Vec<Fragment>,
    /// Glossary terms that stand for several metrics ("cohort").
    pub vague_terms: Vec<(String, Vec<String>)>,
    /// Metrics several of whose names share a word the question used
    /// ("retention" for D1, D7 and D30 retention).
    pub partial_metrics: Vec<(String, Vec<String>)>,
    pub time: Vec<Found>,
    pub ranking: Option<Ranking>,
    pub thresholds: Vec<Threshold>,
    /// A time-unit noun in a ranking ("which day had the most installs").
    pub grain_noun: Option<quarry_schema::query::TimeGrain>,
    /// The question asks for a count of a dimension's members ("how many
    /// campaigns").
    pub count_words: bool,
    /// Words that point back at the conversation ("what about", "just",
    /// "instead", "break it down").
    pub followup: bool,
    pub instead: bool,
    pub also: bool,
    /// The question asks to change data.
    pub write: Option<String>,
    /// Words naming things this warehouse does not hold.
    pub outside: Vec<String>,
    /// Content words nothing explains.
    pub unknown: Vec<String>,
    /// A number or option the user picked from a clarification ("2", "the
    /// first one").
    pub pick: Option<usize>,
    pub misspellings: usize,
    /// A value named outright that a value of a more general dimension
    /// also holds as a word ("Apple" the parent company, or Apple Search
    /// Ads the network): the chosen one and the others it could be.
    pub value_choices: Vec<ValueChoice>,
    /// Positions of named items another reading consumed ("install" in "a
    /// dollar per install").
    pub skip: Vec<usize>,
    /// "what percent of installs", "share of spend": each row as a share
    /// of the total.
    pub share: bool,
}

#[derive(Debug, Clone)]
pub struct ValueChoice {
    pub said: String,
    pub dimension: String,
    pub value: String,
    pub others: Vec<(String, String)>,
}

impl Reading {
    pub fn has_metric(&self) -> bool {
        !self.metrics.is_empty()
    }

    pub fn cues(&self) -> impl Iterator<Item = &Cue> {
        self.time.iter().map(|f| &f.cue)
    }
}

/// Number of distinct values the index holds per dimension: a value named
/// in several dimensions belongs to the most general one ("organic" is an
/// acquisition type before it is a network).
pub fn value_counts(lexicon: &Lexicon) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for d in lexicon.docs() {
        if d.kind == ItemKind::Value
            && let Some(dim) = &d.dimension
        {
            *out.entry(dim.clone()).or_insert(0) += 1;
        }
    }
    out
}

pub struct Reader<'a> {
    pub model: &'a SemanticModel,
    pub lexicon: &'a Lexicon,
    pub value_counts: &'a BTreeMap<String, usize>,
    pub as_of: chrono::NaiveDate,
}

impl Reader<'_> {
    /// Whether a word names the model's currency ("usd", "dollars"), or is
    /// the mark a currency symbol leaves in the words.
    fn is_money(&self, w: &str) -> bool {
        w == super::words::CURRENCY
            || self
                .model
                .vocabulary
                .currency
                .as_ref()
                .is_some_and(|c| c.is_word(w))
    }

    /// Whether a word names something the business can change: one of the
    /// model's entities or its `actionable` nouns, or data itself.
    fn actionable(&self, w: &str) -> bool {
        let stem = quarry_retrieval::lexical::stem;
        let s = stem(w);
        vocab::WRITE_OBJECTS.contains(&w)
            || self
                .model
                .vocabulary
                .actionable
                .iter()
                .any(|a| a == w || stem(a) == s)
            || self.model.entities.keys().any(|e| stem(e) == s)
    }

    pub fn read(&self, question: &str) -> Reading {
        let w = Words::new(question);
        let first = self.read_words(question, w.clone(), 0);
        // Everyday words misspelt ("waht was teh revnue yestrday"): the
        // words left unknown are read again as the words meant, when the
        // model knows no such word.
        let mut w = w;
        let mut corrected = 0;
        for i in 0..w.len() {
            let word = w.at(i).to_string();
            if !first.unknown.iter().any(|u| u.to_lowercase() == word)
                || !self.lexicon.matches(&word).is_empty()
            {
                continue;
            }
            if let Some(to) = vocab::correction(&word) {
                w.correct(i, to);
                corrected += 1;
            }
        }
        if corrected == 0 {
            return first;
        }
        self.read_words(question, w, corrected)
    }

    fn read_words(&self, question: &str, w: Words, corrected: usize) -> Reading {
        let mut r = Reading {
            words: w.low.clone(),
            ..Reading::default()
        };
        if w.is_empty() {
            return r;
        }
        r.pick = pick(&w);
        r.write = write_intent(&w, &|x| self.actionable(x));
        let all = self.lexicon.matches(&w.text);
        let mut claimed = vec![false; w.len()];
        let mut family = Vec::new();
        r.mentions = self.mentions(&w, &all, &mut claimed, &mut family, &mut r.value_choices);
        r.misspellings = r.mentions.iter().filter(|m| m.misspelled).count() + corrected;
        let free: Vec<bool> = claimed.iter().map(|c| !c).collect();
        r.time = when::find(&w.low, &free, self.as_of);
        for f in &r.time {
            for c in &mut claimed[f.span.0..f.span.1.min(w.len())] {
                *c = true;
            }
        }
        // A word that starts several metrics' names ("retention" for D1, D7
        // and D30 retention) names none of them for sure.
        let docs = self.lexicon.docs();
        let mut partial: BTreeMap<(usize, usize), Vec<String>> = BTreeMap::new();
        for h in &all {
            if h.kind == MatchKind::Prefix
                && let Some(d) = docs.get(h.doc)
                && d.kind == ItemKind::Metric
                && !claimed[h.span.0..h.span.1.min(w.len())].iter().any(|c| *c)
                && !vocab::is_filler(&w.low[h.span.0])
            {
                let list = partial.entry(h.span).or_default();
                if !list.contains(&d.key) {
                    list.push(d.key.clone());
                }
            }
        }
        for (span, metrics) in family {
            partial.insert(span, metrics);
        }
        for ((a, b), metrics) in partial {
            if claimed[a..b.min(w.len())].iter().any(|c| *c) {
                continue;
            }
            for c in &mut claimed[a..b.min(w.len())] {
                *c = true;
            }
            r.partial_metrics
                .push((w.raw[a..b.min(w.len())].join(" "), metrics));
        }
        self.structure(&w, &mut r, &mut claimed);
        self.fragments(&w, &all, &mut r, &mut claimed);
        // What is left: filler, or words nothing explains. A word repeating
        // one already read ("network by network") is read the same way; a
        // clause that names nothing at all ("I'm putting together a deck
        // for the offsite") is the asker's context, not the question.
        let stem = quarry_retrieval::lexical::stem;
        let read_stems: BTreeSet<String> = (0..w.len())
            .filter(|&i| claimed[i])
            .map(|i| stem(&w.low[i]))
            .collect();
        let clauses = clauses(question, w.len());
        let names_something = |i: usize| {
            r.mentions.iter().any(|m| m.span.0 <= i && i < m.span.1)
                || r.time
                    .iter()
                    .any(|f| f.cue != Cue::Future && f.span.0 <= i && i < f.span.1)
                || r.fragments.iter().any(|f| f.at == i)
        };
        let chatter: Vec<bool> = match &clauses {
            Some(ids) => {
                // A clause counts as context when it names nothing, has at
                // least five words and no word that would narrow an answer
                // ("excluding bots" is not context).
                let mut has: BTreeMap<usize, (bool, usize)> = BTreeMap::new();
                for (i, c) in ids.iter().enumerate() {
                    let narrows = vocab::is_negation(&w, i)
                        || matches!(w.at(i), "only" | "just" | "solely")
                        || comparator(&w, i).is_some();
                    let e = has.entry(*c).or_default();
                    e.0 |= names_something(i) || narrows;
                    e.1 += 1;
                }
                if has.values().any(|v| v.0) {
                    ids.iter().map(|c| !has[c].0 && has[c].1 >= 5).collect()
                } else {
                    vec![false; w.len()]
                }
            }
            None => vec![false; w.len()],
        };
        for (i, word) in w.low.iter().enumerate() {
            if claimed[i] || chatter[i] || read_stems.contains(&stem(word)) {
                continue;
            }
            if vocab::is_outside(word, &self.model.vocabulary.out_of_scope) {
                r.outside.push(word.clone());
            } else if (!vocab::is_filler(word) || vocab::is_code(&w.raw[i]))
                && quantity(word).is_none()
            {
                r.unknown.push(w.raw[i].clone());
            }
        }
        r
    }

    /// Names the lexicon matched outright, one item per run of words.
    fn mentions(
        &self,
        w: &Words,
        all: &[LexHit],
        claimed: &mut [bool],
        partial: &mut Vec<((usize, usize), Vec<String>)>,
        choices: &mut Vec<ValueChoice>,
    ) -> Vec<Mention> {
        let docs = self.lexicon.docs();
        let mut firm: Vec<&LexHit> = all
            .iter()
            .filter(|h| {
                matches!(h.kind, MatchKind::Exact | MatchKind::Misspelling)
                    && !h.nested
                    && docs
                        .get(h.doc)
                        .is_some_and(|d| d.kind != ItemKind::VerifiedQuery)
            })
            .collect();
        // Longer names first; exact before misspelt.
        firm.sort_by(|a, b| {
            (b.span.1 - b.span.0)
                .cmp(&(a.span.1 - a.span.0))
                .then(a.kind.cmp(&b.kind))
                .then(a.span.0.cmp(&b.span.0))
        });
        let mut groups: Vec<((usize, usize), Vec<&LexHit>)> = Vec::new();
        for h in firm {
            if let Some(g) = groups.iter_mut().find(|(s, _)| *s == h.span) {
                // A misspelling never competes with an exact name.
                if g.1.first().is_some_and(|f| f.kind == h.kind) {
                    g.1.push(h);
                }
                continue;
            }
            let (a, b) = h.span;
            if claimed[a..b.min(claimed.len())].iter().any(|c| *c) {
                continue;
            }
            // Misspellings of short words are too often real words
            // ("spent" is not "spend" misspelt when the metric is named).
            if h.kind == MatchKind::Misspelling && vocab::is_filler(&w.low[a]) && b - a == 1 {
                continue;
            }
            let end = b.min(claimed.len());
            for c in &mut claimed[a..end] {
                *c = true;
            }
            groups.push((h.span, vec![h]));
        }
        groups.sort_by_key(|(s, _)| s.0);
        let dim_spans: Vec<((usize, usize), String)> = groups
            .iter()
            .flat_map(|(s, hs)| hs.iter().map(move |h| (*s, h)))
            .filter_map(|(s, h)| {
                let d = docs.get(h.doc)?;
                (d.kind == ItemKind::Dimension).then(|| (s, d.key.clone()))
            })
            .collect();
        // Metrics whose names hold the word ("retention" is in the names
        // of D1, D7 and D30 retention).
        let named_in = |word: &str| -> Vec<String> {
            self.model
                .metrics
                .values()
                .filter(|m| {
                    std::iter::once(&m.name)
                        .chain(std::iter::once(&m.label))
                        .any(|n| {
                            n.to_lowercase()
                                .split(|c: char| !c.is_alphanumeric())
                                .any(|x| x == word)
                        })
                })
                .map(|m| m.name.clone())
                .collect()
        };
        let metric_starts: BTreeSet<usize> = groups
            .iter()
            .filter(|(_, hs)| {
                hs.iter()
                    .any(|h| docs.get(h.doc).is_some_and(|d| d.kind == ItemKind::Metric))
            })
            .map(|(s, _)| s.0)
            .collect();
        let mut out = Vec::new();
        let group_dims: Vec<((usize, usize), Vec<String>)> = groups
            .iter()
            .map(|(s, hs)| {
                let dims = hs
                    .iter()
                    .filter_map(|h| {
                        let d = docs.get(h.doc)?;
                        (d.kind == ItemKind::Value)
                            .then(|| d.dimension.clone())
                            .flatten()
                    })
                    .collect();
                (*s, dims)
            })
            .collect();
        for (span, hs) in groups {
            let mut items: Vec<Item> = Vec::new();
            for h in &hs {
                let Some(d) = docs.get(h.doc) else { continue };
                let item = match d.kind {
                    ItemKind::Metric => Item::Metric(d.key.clone()),
                    ItemKind::Dimension => Item::Dimension(d.key.clone()),
                    ItemKind::Value => match (&d.dimension, &d.value) {
                        (Some(dim), Some(v)) => Item::Value {
                            dimension: dim.clone(),
                            value: v.clone(),
                        },
                        _ => continue,
                    },
                    ItemKind::Glossary => Item::Term {
                        term: d.key.clone(),
                        metrics: d
                            .maps_to
                            .iter()
                            .filter_map(|m| m.strip_prefix("metric:"))
                            .map(str::to_string)
                            .collect(),
                    },
                    ItemKind::VerifiedQuery => continue,
                };
                if !items.contains(&item) {
                    items.push(item);
                }
            }
            // A word that is a value and also starts several metrics' names
            // ("retention" is a campaign objective and the start of D1, D7
            // and D30 retention) names the metrics, unless its context makes
            // it the value ("retention campaigns", "objective retention").
            let values_only =
                !items.is_empty() && items.iter().all(|i| matches!(i, Item::Value { .. }));
            let family = if values_only && span.1 - span.0 == 1 {
                // A misspelt word counts as the name it was read as.
                let name = hs
                    .first()
                    .filter(|h| h.kind == MatchKind::Misspelling)
                    .map_or_else(|| w.at(span.0).to_string(), |h| h.name.to_lowercase());
                named_in(&name)
            } else {
                Vec::new()
            };
            if family.len() >= 2
                && !items.iter().any(|i| match i {
                    Item::Value { dimension, .. } => {
                        self.value_context(w, span, dimension, &dim_spans)
                    }
                    _ => false,
                })
            {
                let end = span.1.min(claimed.len());
                for c in &mut claimed[span.0..end] {
                    *c = false;
                }
                partial.push((span, family));
                continue;
            }
            // After a negation or "only", or paired with a value of the same
            // dimension ("paid vs organic"), a word that also names a metric
            // names the value.
            let cue_before = span.0 > 0
                && (vocab::is_negation(w, span.0 - 1)
                    || matches!(w.at(span.0 - 1), "only" | "just" | "non" | "excluding"));
            let paired = (span.0 >= 2
                && matches!(w.at(span.0 - 1), "vs" | "versus" | "and" | "or"))
            .then(|| out.last())
            .flatten()
            .and_then(|prev: &Mention| match &prev.item {
                Item::Value { dimension, .. } if prev.span.1 + 1 == span.0 => {
                    Some(dimension.clone())
                }
                _ => None,
            });
            // "purchases, subscription starts and renewals": followed by a
            // value of the same dimension, a word that also names a metric
            // names the value.
            let paired_next = group_dims
                .iter()
                .find(|(s, _)| {
                    s.0 == span.1
                        || (s.0 == span.1 + 1
                            && matches!(w.at(span.1), "and" | "or" | "vs" | "versus"))
                })
                .and_then(|(_, dims)| {
                    dims.iter()
                        .find(|d| {
                            items.iter().any(
                                |i| matches!(i, Item::Value { dimension, .. } if dimension == *d),
                            )
                        })
                        .cloned()
                });
            let paired = paired.or(paired_next);
            let value_of = |dim: Option<&String>| {
                items
                    .iter()
                    .find(|i| {
                        matches!(i, Item::Value { dimension, .. } if dim.is_none_or(|d| d == dimension))
                    })
                    .cloned()
            };
            // "organic users": a word that is a value and also a metric,
            // right before another metric, is that metric's qualifier.
            let before_metric = span.1 - span.0 == 1
                && items.iter().any(|i| matches!(i, Item::Metric(_)))
                && metric_starts.contains(&span.1);
            let item = if before_metric {
                value_of(None).or_else(|| self.choose(w, span, &items, &dim_spans))
            } else if paired.is_some() {
                value_of(paired.as_ref()).or_else(|| self.choose(w, span, &items, &dim_spans))
            } else if cue_before {
                value_of(None).or_else(|| self.choose(w, span, &items, &dim_spans))
            } else {
                self.choose(w, span, &items, &dim_spans)
            };
            let Some(item) = item else {
                continue;
            };
            if let Item::Value { dimension, value } = &item
                && span.1 - span.0 == 1
                && !self.value_context(w, span, dimension, &dim_spans)
            {
                let others = self.word_values(all, span, dimension);
                if !others.is_empty() {
                    choices.push(ValueChoice {
                        said: w.raw[span.0].clone(),
                        dimension: dimension.clone(),
                        value: value.clone(),
                        others,
                    });
                }
            }
            let also = items.iter().filter(|i| **i != item).cloned().collect();
            out.push(Mention {
                span,
                item,
                also,
                misspelled: hs.iter().all(|h| h.kind == MatchKind::Misspelling),
                said: w.raw[span.0..span.1.min(w.raw.len())].join(" "),
            });
        }
        out
    }

    /// Which of the items a run of words names is meant.
    /// The "yes" of a dimension whose values are a yes/no pair (Yes/No,
    /// true/false, 1/0), with perhaps a third "not applicable" value.
    fn yes_value(&self, dimension: &str) -> Option<String> {
        let values = &self.model.dimensions.get(dimension)?.sample_values;
        let is = |v: &String, words: &[&str]| words.contains(&v.trim().to_lowercase().as_str());
        let yes = values.iter().find(|v| is(v, &["yes", "true", "y", "1"]))?;
        values
            .iter()
            .any(|v| is(v, &["no", "false", "n", "0"]))
            .then(|| yes.clone())
            .filter(|_| values.len() <= 3)
    }

    fn choose(
        &self,
        w: &Words,
        span: (usize, usize),
        items: &[Item],
        dim_spans: &[((usize, usize), String)],
    ) -> Option<Item> {
        let real: Vec<&Item> = items
            .iter()
            .filter(|i| !matches!(i, Item::Term { .. }))
            .collect();
        if real.is_empty() {
            return items.first().cloned();
        }
        // A value whose context makes it one wins ("objective installs",
        // "campaigns optimised for purchases"; not "installs by
        // objective"), then a metric, then a dimension, then other values,
        // the most general dimension first.
        let in_context: Vec<&&Item> = real
            .iter()
            .filter(|i| {
                matches!(i, Item::Value { dimension, .. } if self.value_context(w, span, dimension, dim_spans))
            })
            .collect();
        // Of several, the one whose dimension the question's entity
        // carries ("campaigns optimised for purchases": the campaign's
        // objective, not the event's name).
        let stem = quarry_retrieval::lexical::stem;
        let question: BTreeSet<String> = w.low.iter().map(|x| stem(x)).collect();
        let named_entity = |dimension: &str| {
            self.model.dimensions.get(dimension).is_some_and(|d| {
                d.bindings
                    .iter()
                    .any(|b| question.contains(&stem(&b.entity)))
            })
        };
        if let Some(v) = in_context
            .iter()
            .find(|i| matches!(i, Item::Value { dimension, .. } if named_entity(dimension)))
            .or(in_context.first())
        {
            return Some((**v).clone());
        }
        if let Some(m) = real.iter().find(|i| matches!(i, Item::Metric(_))) {
            return Some((*m).clone());
        }
        if let Some(d) = real.iter().find(|i| matches!(i, Item::Dimension(_))) {
            return Some((*d).clone());
        }
        real.iter()
            .min_by_key(|i| match i {
                Item::Value { dimension, .. } => {
                    self.value_counts.get(dimension).copied().unwrap_or(0)
                }
                _ => usize::MAX,
            })
            .map(|i| (*i).clone())
    }

    /// "how many paid and how many organic installs": a value followed by
    /// a metric whose name is another value and a noun names the metric
    /// of its own ("paid installs"). And a value that starts a metric named
    /// in the question ("the number of paid installs") says no more than
    /// the metric does.
    fn share_nouns(&self, w: &Words, r: &mut Reading) {
        let docs = self.lexicon.docs();
        let metric_mentions: Vec<(usize, usize, String)> = r
            .mentions
            .iter()
            .filter_map(|m| match &m.item {
                // Still read as a metric (not dropped as a population).
                Item::Metric(name)
                    if m.span.1 - m.span.0 >= 2
                        && r.metrics.iter().any(|(a, _)| *a == m.span.0) =>
                {
                    Some((m.span.0, m.span.1, name.clone()))
                }
                _ => None,
            })
            .collect();
        let mut drop = Vec::new();
        for v in &r.values {
            if v.negated {
                continue;
            }
            let word = w.at(v.at);
            // Named by a metric of the question.
            if metric_mentions.iter().any(|(a, _, _)| w.at(*a) == word) {
                drop.push(v.at);
                continue;
            }
            // Distributed: "paid and how many organic installs".
            let Some((a, b, _)) = metric_mentions.iter().find(|(a, _, _)| {
                *a > v.at
                    && *a - v.at <= 4
                    && (v.at + 1..*a).all(|j| {
                        matches!(
                            w.at(j),
                            "and" | "or" | "vs" | "versus" | "how" | "many" | "much"
                        )
                    })
                    && self.lexicon.matches(w.at(*a)).iter().any(|h| {
                        docs.get(h.doc).is_some_and(|d| {
                            d.kind == ItemKind::Value && d.dimension.as_ref() == Some(&v.dimension)
                        })
                    })
            }) else {
                continue;
            };
            let noun = w.low[a + 1..*b].join(" ");
            if let Some(m) = self.metric_by_name(&format!("{word} {noun}")) {
                drop.push(v.at);
                r.metrics.push((v.at, m));
            }
        }
        if !drop.is_empty() {
            r.values.retain(|v| !drop.contains(&v.at));
            r.metrics.sort();
            r.metrics.dedup();
        }
    }

    /// "D7 retention of installs from TikTok", "predicted LTV of users from
    /// Facebook", "how many of our users are likely to churn": a count
    /// named after "of", "for", "from" or "among", when the question names
    /// another metric, says whose rows the other metric is about; it is
    /// not asked for itself ("the number of installs" is).
    /// "what percent of installs were organic", "share of spend by
    /// network": a share of the total. "what percent of installs were
    /// flagged" names a ratio instead: its denominator after "of", its
    /// numerator later.
    fn share_of(&self, w: &Words, r: &mut Reading, claimed: &mut [bool]) {
        for i in 0..w.len() {
            let cue = matches!(
                w.at(i),
                "percent" | "percentage" | "share" | "proportion" | "fraction" | "pct" | "portion"
            ) && w.at(i + 1) == "of"
                && !claimed[i]
                // "20 percent of" is a number, not a question.
                && !(i > 0 && w.at(i - 1).parse::<f64>().is_ok());
            if !cue {
                continue;
            }
            claimed[i] = true;
            claimed[i + 1] = true;
            // Metrics named after the cue; a word of one metric's name
            // ("flagged") counts as naming it.
            let mut after: Vec<(usize, String)> = r
                .metrics
                .iter()
                .filter(|(at, _)| *at > i)
                .cloned()
                .collect();
            for (said, list) in &r.partial_metrics {
                let first = said
                    .split_whitespace()
                    .next()
                    .unwrap_or_default()
                    .to_lowercase();
                if let ([m], Some(at)) = (
                    list.as_slice(),
                    (i + 2..w.len()).find(|j| w.at(*j) == first),
                ) {
                    after.push((at, m.clone()));
                }
            }
            after.sort_by_key(|(at, _)| *at);
            let ratio = after.first().and_then(|(den_at, den)| {
                after[1..].iter().find_map(|(num_at, num)| {
                    self.model
                        .ratio_of(num, den)
                        .map(|name| (*den_at, *num_at, name))
                })
            });
            match ratio {
                Some((from, to, name)) => {
                    r.metrics.retain(|(at, _)| *at < from || *at > to);
                    let used: Vec<&String> = after
                        .iter()
                        .filter(|(at, _)| (from..=to).contains(at))
                        .map(|(_, m)| m)
                        .collect();
                    r.partial_metrics
                        .retain(|(_, list)| !(list.len() == 1 && used.contains(&&list[0])));
                    r.metrics.push((from, name));
                    r.metrics.sort_by_key(|(at, _)| *at);
                }
                None => r.share = true,
            }
        }
    }

    /// "attributed revenue we've earned relative to what we've spent": a
    /// ratio's numerator, "relative to" (or "divided by"), then its
    /// denominator name the ratio, not the two side by side; what is named
    /// between them describes the numerator again.
    fn ratio_phrases(&self, w: &Words, r: &mut Reading) {
        for i in 0..w.len() {
            // "revenue per active user" too.
            let cue = matches!(
                (w.at(i), w.at(i + 1)),
                ("relative" | "divided", "to" | "by")
            ) || w.at(i) == "per";
            if !cue {
                continue;
            }
            let Some((den_at, den)) = r.metrics.iter().find(|(at, _)| *at > i).cloned() else {
                continue;
            };
            let ratio = r
                .metrics
                .iter()
                .filter(|(at, _)| *at < i)
                .find_map(|(num_at, num)| {
                    self.model.ratio_of(num, &den).map(|name| (*num_at, name))
                });
            let Some((num_at, name)) = ratio else {
                continue;
            };
            r.metrics.retain(|(at, _)| *at < num_at || *at > den_at);
            if !r.metrics.iter().any(|(_, m)| *m == name) {
                r.metrics.push((num_at, name));
                r.metrics.sort_by_key(|(at, _)| *at);
            }
        }
    }

    fn drop_populations(&self, w: &Words, r: &mut Reading) {
        let named = r.metrics.len() + r.partial_metrics.len() + r.vague_terms.len();
        if named < 2 {
            return;
        }
        let is_count = |name: &str| {
            self.model.metrics.get(name).is_some_and(|m| match &m.kind {
                quarry_schema::model::MetricKind::Simple { measure } => self
                    .model
                    .measures
                    .get(measure)
                    .is_some_and(|x| x.agg == quarry_schema::model::Aggregation::Count),
                _ => false,
            })
        };
        let in_time = |j: usize| r.time.iter().any(|f| f.span.0 <= j && j < f.span.1);
        let in_value = |j: usize| {
            r.mentions
                .iter()
                .any(|m| m.span.0 <= j && j < m.span.1 && matches!(m.item, Item::Value { .. }))
        };
        let population: Vec<usize> = r
            .metrics
            .iter()
            .filter(|(at, name)| {
                if !is_count(name) {
                    return false;
                }
                let mut j = *at;
                while j > 0 {
                    j -= 1;
                    let word = w.at(j);
                    if matches!(word, "of" | "for" | "from" | "among" | "amongst") {
                        return j == 0
                            || !matches!(
                                w.at(j - 1),
                                "number" | "count" | "total" | "sum" | "amount" | "numbers"
                            );
                    }
                    if !(matches!(
                        word,
                        "our" | "the" | "all" | "those" | "these" | "new" | "my"
                    ) || in_time(j)
                        || in_value(j))
                    {
                        return false;
                    }
                }
                false
            })
            .map(|(at, _)| *at)
            .collect();
        if population.len() < named {
            r.metrics.retain(|(at, _)| !population.contains(at));
            // "the average bill of churned customers": a word of the
            // population's name that is a value selects it.
            let docs = self.lexicon.docs();
            for at in &population {
                let Some(m) = r.mentions.iter().find(|m| m.span.0 == *at) else {
                    continue;
                };
                // The modifiers only: the head noun names what is counted.
                let value = (m.span.0..m.span.1.saturating_sub(1)).find_map(|j| {
                    self.lexicon.matches(w.at(j)).into_iter().find_map(|h| {
                        let d = docs.get(h.doc)?;
                        match (h.kind, d.kind, &d.dimension, &d.value) {
                            (MatchKind::Exact, ItemKind::Value, Some(dim), Some(v)) => {
                                Some((dim.clone(), v.clone()))
                            }
                            _ => None,
                        }
                    })
                });
                if let Some((dimension, value)) = value
                    && !r.values.iter().any(|v| v.dimension == dimension)
                {
                    r.values.push(ValueRef {
                        dimension,
                        value,
                        negated: false,
                        only: false,
                        at: *at,
                    });
                }
            }
        }
    }

    /// Values of dimensions more general than `dimension` (fewer distinct
    /// values) that hold the word at `span`, each the only one of its
    /// dimension to hold it.
    fn word_values(
        &self,
        all: &[LexHit],
        span: (usize, usize),
        dimension: &str,
    ) -> Vec<(String, String)> {
        let docs = self.lexicon.docs();
        let size = |d: &str| self.value_counts.get(d).copied().unwrap_or(usize::MAX);
        let mut by_dim: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for h in all {
            if h.kind != MatchKind::Word || h.span != span {
                continue;
            }
            let Some(d) = docs.get(h.doc) else { continue };
            if let (ItemKind::Value, Some(dim), Some(v)) = (d.kind, &d.dimension, &d.value)
                && dim != dimension
                && size(dim) < size(dimension)
            {
                let list = by_dim.entry(dim.as_str()).or_default();
                if !list.contains(&v.as_str()) {
                    list.push(v.as_str());
                }
            }
        }
        by_dim
            .into_iter()
            .filter(|(_, vs)| vs.len() == 1)
            .map(|(d, vs)| (d.to_string(), vs[0].to_string()))
            .collect()
    }

    /// The metric a phrase names exactly, if any.
    fn metric_by_name(&self, phrase: &str) -> Option<String> {
        let docs = self.lexicon.docs();
        let len = phrase.split_whitespace().count();
        self.lexicon.matches(phrase).into_iter().find_map(|h| {
            let d = docs.get(h.doc)?;
            (h.kind == MatchKind::Exact && d.kind == ItemKind::Metric && h.span == (0, len))
                .then(|| d.key.clone())
        })
    }

    /// Whether the words around `span` make it a value of `dimension`: the
    /// dimension is named next to it ("objective retention", "retention
    /// objective", "objective is installs"), a campaign attribute comes
    /// right before "campaigns" ("retention campaigns"), or it follows
    /// "optimised for".
    fn value_context(
        &self,
        w: &Words,
        span: (usize, usize),
        dimension: &str,
        dim_spans: &[((usize, usize), String)],
    ) -> bool {
        let beside = dim_spans.iter().any(|(s, d)| {
            d == dimension
                && (s.1 == span.0
                    || s.0 == span.1
                    || (s.1 + 1 == span.0 && matches!(w.at(s.1), "is" | "of" | "for" | "equals")))
        });
        // The value names a kind of the thing that follows it: "retention
        // campaigns", where campaigns carry the dimension.
        let stem = quarry_retrieval::lexical::stem;
        let next = stem(w.at(span.1));
        let entity_noun = !next.is_empty()
            && self.model.dimensions.get(dimension).is_some_and(|d| {
                d.bindings
                    .iter()
                    .any(|b| stem(&b.entity) == next && self.model.entities.contains_key(&b.entity))
            });
        let optimised = span.0 >= 2
            && w.at(span.0 - 1) == "for"
            && matches!(
                w.at(span.0 - 2),
                "optimised" | "optimized" | "optimising" | "optimizing" | "bidding" | "aimed"
            );
        beside || entity_noun || optimised
    }

    /// Rankings, thresholds, negations, follow-up cues, and the roles of the
    /// named items.
    fn structure(&self, w: &Words, r: &mut Reading, claimed: &mut [bool]) {
        let n = w.len();
        let mark = |claimed: &mut [bool], a: usize, b: usize| {
            for c in &mut claimed[a..b.min(n)] {
                *c = true;
            }
        };
        let metric_at = |i: usize, r: &Reading| -> Option<String> {
            r.mentions.iter().find_map(|m| match &m.item {
                // "top 5 campaigns by spend": a word that also names a
                // dimension is what is ranked, not the measure.
                Item::Metric(_)
                    if m.span.0 == i && m.also.iter().any(|a| matches!(a, Item::Dimension(_))) =>
                {
                    None
                }
                Item::Metric(name) if m.span.0 == i => Some(name.clone()),
                Item::Term { metrics, .. } if m.span.0 == i && metrics.len() == 1 => {
                    metrics.first().cloned()
                }
                _ => None,
            })
        };

        // "the cheapest installs": ranked by what one of them costs.
        for i in 0..n {
            let cheap = matches!(w.at(i), "cheapest" | "cheaper");
            let dear = matches!(w.at(i), "priciest" | "costliest")
                || (w.at(i) == "most" && w.at(i + 1) == "expensive");
            if claimed[i] || !(cheap || dear) || r.ranking.is_some() {
                continue;
            }
            let mut noun_at = if w.at(i) == "most" { i + 2 } else { i + 1 };
            // "cheapest per order", "cheaper per install".
            if matches!(w.at(noun_at), "per" | "each" | "a" | "an") {
                noun_at += 1;
            }
            let Some(m) = r.mentions.iter().find(|m| m.span.0 == noun_at) else {
                continue;
            };
            // A metric named "cost per <noun>", else the ratio of a cost
            // over the noun's metric.
            let Some(metric) = self
                .metric_by_name(&format!("cost per {}", m.said.to_lowercase()))
                .or_else(|| {
                    std::iter::once(&m.item)
                        .chain(m.also.iter())
                        .find_map(|item| match item {
                            Item::Metric(n) => self.model.cost_per(n),
                            _ => None,
                        })
                })
            else {
                continue;
            };
            r.ranking = Some(Ranking {
                rank: if cheap { Rank::Low } else { Rank::High },
                n: None,
                at: i,
                metric: Some(metric.clone()),
            });
            r.skip.push(noun_at);
            r.metrics.push((i, metric));
            mark(claimed, i, noun_at);
        }
        // Rankings: "top 5", "5 best", "the worst", "highest".
        for i in 0..n {
            if claimed[i] {
                continue;
            }
            let Some(rank) = vocab::rank(w.at(i)) else {
                continue;
            };
            // "at least" and "at most" are thresholds, not rankings.
            if i > 0 && w.at(i - 1) == "at" {
                continue;
            }
            // "the most installs" ranks; "most of" does not.
            if w.at(i + 1) == "of" {
                continue;
            }
            let mut used = (i, i + 1);
            let mut count = None;
            if let Some(k) = when::number(w.at(i + 1)).filter(|_| !claimed_at(claimed, i + 1)) {
                count = Some(u64::from(k));
                used.1 = i + 2;
            } else if i > 0
                && !claimed[i - 1]
                && let Some(k) = when::number(w.at(i - 1)).filter(|k| *k > 1)
            {
                count = Some(u64::from(k));
                used.0 = i - 1;
            }
            // "highest ROAS", "top 5 campaigns by spend".
            let mut metric = metric_at(used.1, r);
            if metric.is_none() {
                for j in used.1..(used.1 + 5).min(n) {
                    if w.at(j) == "by"
                        && let Some(m) = metric_at(j + 1, r)
                    {
                        metric = Some(m);
                        break;
                    }
                }
            }
            if metric.is_none() && w.at(used.1) == "in" {
                metric = metric_at(used.1 + 1, r);
            }
            // "which 3 networks have the lowest CPI": the count sits before
            // the thing ranked.
            if count.is_none() {
                count = r.mentions.iter().find_map(|m| {
                    let named_dim = matches!(m.item, Item::Dimension(_))
                        || m.also.iter().any(|a| matches!(a, Item::Dimension(_)));
                    let k = m.span.0.checked_sub(1)?;
                    if !named_dim || claimed_at(claimed, k) {
                        return None;
                    }
                    let n = when::number(w.at(k))
                        .filter(|n| *n > 1 && !matches!(w.at(k), "a" | "an"))?;
                    claimed[k] = true;
                    Some(u64::from(n))
                });
            }
            if r.ranking.is_none() {
                r.ranking = Some(Ranking {
                    rank,
                    n: count,
                    at: i,
                    metric,
                });
            }
            mark(claimed, used.0, used.1);
        }
        // "first 3", "3 most": a count next to a ranking word was taken above.

        // Thresholds: "ROAS above 3x", "more than 1000 installs",
        // "CPI under $3", "at least 2%".
        let mut i = 0;
        while i < n {
            if claimed[i] {
                i += 1;
                continue;
            }
            let Some((op, len)) = comparator(w, i) else {
                i += 1;
                continue;
            };
            let mut j = i + len;
            if self.is_money(w.at(j)) {
                j += 1;
            }
            // "less than a dollar".
            let (quantity_at, words) =
                if matches!(w.at(j), "a" | "one") && self.is_money(w.at(j + 1)) {
                    (Some((1.0, false)), 1)
                } else {
                    (quantity(w.at(j)), 0)
                };
            let Some((value, multiple)) = quantity_at else {
                i += 1;
                continue;
            };
            let mut end = j + 1 + words;
            if words == 1 {
                end -= 1;
            }
            let mut percent = false;
            if matches!(w.at(end), "percent" | "pct") {
                percent = true;
                end += 1;
            } else if matches!(w.at(end), "x" | "times") || self.is_money(w.at(end)) {
                end += 1;
            }
            // "a dollar per install": an amount per unit is the cost of one.
            let mut per_unit = None;
            if w.at(end) == "per"
                && let Some(m) = self
                    .metric_by_name(&format!("cost per {}", w.at(end + 1)))
                    .or_else(|| metric_at(end + 1, r).and_then(|n| self.model.cost_per(&n)))
            {
                per_unit = Some(m);
                r.skip.push(end + 1);
                end += 2;
            }
            // A number after a comparison is the threshold, not part of a
            // value's name ("above 24 months" is not the 24-month plan).
            let inside: Vec<usize> = r
                .mentions
                .iter()
                .filter(|m| m.span.0 <= j && j < m.span.1 && matches!(m.item, Item::Value { .. }))
                .map(|m| m.span.0)
                .collect();
            r.skip.extend(inside);
            // A number dimension named just before the comparison ("tenure
            // above 24", "churn score of more than 0.8") is compared per row.
            let number_dim = |m: &Mention| {
                std::iter::once(&m.item)
                    .chain(m.also.iter())
                    .find_map(|it| match it {
                        Item::Dimension(d)
                            if self.model.dimensions.get(d).is_some_and(|x| {
                                x.kind == quarry_schema::model::DimensionKind::Number
                            }) =>
                        {
                            Some((m.span.0, d.clone()))
                        }
                        _ => None,
                    })
            };
            let before = r
                .mentions
                .iter()
                .filter(|m| m.span.1 <= i && i - m.span.1 <= 3)
                .rfind(|m| {
                    (m.span.1..i).all(|x| {
                        matches!(
                            w.at(x),
                            "of" | "is"
                                | "was"
                                | "a"
                                | "an"
                                | "with"
                                | "has"
                                | "have"
                                | "at"
                                | "their"
                                | "that"
                                | "are"
                                | "its"
                                | "s"
                        )
                    })
                })
                .and_then(number_dim);
            // "less than 6 months of tenure": named after the number.
            let after_number = r
                .mentions
                .iter()
                .find(|m| {
                    m.span.0 >= end
                        && m.span.0 - end <= 2
                        && (end..m.span.0).all(|x| {
                            matches!(
                                w.at(x),
                                "months"
                                    | "month"
                                    | "years"
                                    | "year"
                                    | "days"
                                    | "day"
                                    | "weeks"
                                    | "week"
                                    | "of"
                                    | "in"
                            )
                        })
                })
                .and_then(number_dim);
            let row_dim = before.or(after_number);
            if let Some((at, dimension)) = row_dim {
                r.skip.push(at);
                r.thresholds.push(Threshold {
                    metric: None,
                    dimension: Some(dimension),
                    op,
                    value,
                    percent,
                    multiple: false,
                    at: i,
                });
                mark(claimed, i, end);
                i = end;
                continue;
            }
            // The metric named right after the number ("more than 1000
            // installs"), else the nearest one before the comparison.
            let after = per_unit.or_else(|| metric_at(end, r));
            let metric = after.clone().or_else(|| {
                r.mentions
                    .iter()
                    .filter(|m| m.span.1 <= i)
                    .rev()
                    .find_map(|m| match &m.item {
                        Item::Metric(name) => Some(name.clone()),
                        _ => None,
                    })
            });
            r.thresholds.push(Threshold {
                metric,
                dimension: None,
                op,
                value,
                percent,
                multiple: multiple || matches!(w.at(j + 1), "x" | "times"),
                at: i,
            });
            mark(claimed, i, end);
            i = end;
        }

        // "which networks lost money": a loss is negative profit.
        if let Some(profit) = self.metric_by_name("profit") {
            for i in 0..n {
                let loss = matches!(w.at(i), "lost" | "losing" | "lose" | "loses")
                    && matches!(w.at(i + 1), "money" | "cash");
                let unprofitable = matches!(w.at(i), "unprofitable" | "loss-making");
                if (loss || unprofitable) && !claimed[i] {
                    let len = if loss { 2 } else { 1 };
                    r.thresholds.push(Threshold {
                        metric: Some(profit.clone()),
                        dimension: None,
                        op: CompareOp::Lt,
                        value: 0.0,
                        percent: false,
                        multiple: false,
                        at: i,
                    });
                    r.skip.extend(i..i + len);
                    mark(claimed, i, i + len);
                    r.metrics.push((i, profit.clone()));
                }
            }
        }

        // Roles of the named items.
        let negators: Vec<usize> = (0..n)
            .filter(|&i| !claimed[i] && vocab::is_negation(w, i))
            .collect();
        let onlys: Vec<usize> = (0..n)
            .filter(|&i| !claimed[i] && matches!(w.at(i), "only" | "just" | "solely"))
            .collect();
        for &i in negators.iter().chain(onlys.iter()) {
            mark(claimed, i, i + 1);
            // "other than", "apart from", "all but".
            if matches!(w.at(i + 1), "than" | "from" | "for" | "including") {
                mark(claimed, i + 1, i + 2);
            }
        }
        let mentions = r.mentions.clone();
        for (k, m) in mentions.iter().enumerate() {
            if r.skip.contains(&m.span.0) {
                continue;
            }
            // "installs that were organic": a term that is also a value
            // qualifies the metric named beside it rather than naming its
            // own (organic installs).
            let term_metric = match &m.item {
                Item::Term { metrics, .. } if metrics.len() == 1 => Some(&metrics[0]),
                Item::Metric(x)
                    if m.also.iter().any(|a| {
                        matches!(a, Item::Term { metrics, .. } if metrics.len() == 1 && metrics[0] == *x)
                    }) =>
                {
                    Some(x)
                }
                _ => None,
            };
            let as_value = match term_metric {
                Some(tm)
                    if mentions.iter().any(|o| {
                        o.span != m.span
                            && matches!(&o.item, Item::Metric(x) if x != tm)
                            && !o.also.iter().any(|a| matches!(a, Item::Dimension(_)))
                    }) =>
                {
                    m.also
                        .iter()
                        .filter_map(|a| match a {
                            Item::Value { dimension, value }
                                if value.eq_ignore_ascii_case(&m.said) =>
                            {
                                Some((
                                    self.value_counts
                                        .get(dimension)
                                        .copied()
                                        .unwrap_or(usize::MAX),
                                    a,
                                ))
                            }
                            _ => None,
                        })
                        .min_by_key(|(n, _)| *n)
                        .map(|(_, a)| a.clone())
                }
                _ => None,
            };
            match as_value.as_ref().unwrap_or(&m.item) {
                Item::Metric(name) => {
                    // "paid users", "iOS users": a count of everything ever,
                    // named right after a value, is the population the
                    // value selects, unless the question asks for a count.
                    let timeless = self.model.metrics.get(name).is_some_and(|x| !x.time_bound);
                    let after_value = mentions
                        .iter()
                        .any(|o| o.span.1 == m.span.0 && matches!(o.item, Item::Value { .. }));
                    let counted = (0..m.span.0).any(|i| {
                        (w.at(i) == "how" && w.at(i + 1) == "many")
                            || (w.at(i) == "number" && w.at(i + 1) == "of")
                    });
                    if !(timeless && after_value && !counted) {
                        r.metrics.push((m.span.0, name.clone()));
                    }
                }
                Item::Term { term, metrics } => match metrics.len() {
                    0 => {}
                    1 => r.metrics.push((m.span.0, metrics[0].clone())),
                    _ => r.vague_terms.push((term.clone(), metrics.clone())),
                },
                Item::Dimension(d) => {
                    // "platform iOS", "iOS platform": the dimension only
                    // says what the value is.
                    let labels_value = mentions.iter().enumerate().any(|(j, o)| {
                        j != k
                            && matches!(&o.item, Item::Value { dimension, .. } if dimension == d)
                            && (o.span.0 == m.span.1
                                || o.span.1 == m.span.0
                                || (o.span.0 == m.span.1 + 1
                                    && matches!(w.at(m.span.1), "is" | "equals" | "of" | "for")))
                    });
                    // "iOS campaigns", "lookalike campaigns": the noun names
                    // the population the values select, unless something
                    // asks for one row per member ("by", "each", a ranking).
                    let after_value = m.span.0 > 0
                        && mentions
                            .iter()
                            .any(|o| o.span.1 == m.span.0 && matches!(o.item, Item::Value { .. }));
                    // "by AppLovin publisher": the word before the values.
                    let mut k = m.span.0;
                    while let Some(v) = mentions
                        .iter()
                        .find(|o| o.span.1 == k && k > 0 && matches!(o.item, Item::Value { .. }))
                    {
                        k = v.span.0;
                    }
                    let per = k > 0
                        && matches!(
                            w.at(k - 1),
                            "by" | "per" | "each" | "every" | "across" | "which" | "what"
                        );
                    let population = after_value && !per;
                    // "for every country except the US": which members
                    // count, not one row each.
                    let every_but = m.span.0 > 0
                        && matches!(w.at(m.span.0 - 1), "every" | "all" | "each" | "any")
                        && (vocab::is_negation(w, m.span.1) || w.at(m.span.1) == "but");
                    // "senior citizens", "customers without tech support":
                    // a yes/no dimension named as a description, not asked
                    // per member, selects the rows it holds for (or not).
                    let paired = matches!(w.at(m.span.1), "vs" | "versus" | "or")
                        || matches!(w.at(m.span.0.saturating_sub(1)), "vs" | "versus" | "or");
                    let by_before =
                        m.span.0 >= 2 && matches!(w.at(m.span.0 - 2), "by" | "per" | "each");
                    let described = !(per || labels_value || paired || by_before);
                    if described && let Some(yes) = self.yes_value(d) {
                        let negated = scope(&negators, m.span.0, w, &mentions, claimed)
                            || (m.span.0.saturating_sub(4)..m.span.0).any(|j| {
                                matches!(
                                    w.at(j),
                                    "don"
                                        | "dont"
                                        | "doesn"
                                        | "doesnt"
                                        | "didn"
                                        | "didnt"
                                        | "never"
                                        | "isn"
                                        | "aren"
                                        | "lack"
                                        | "lacking"
                                        | "haven"
                                        | "hasn"
                                        | "without"
                                        | "no"
                                        | "not"
                                        | "non"
                                )
                            });
                        r.values.push(ValueRef {
                            dimension: d.clone(),
                            value: yes,
                            negated,
                            only: false,
                            at: m.span.0,
                        });
                    } else if !labels_value
                        && !population
                        && !every_but
                        && !r.dimensions.iter().any(|(_, x)| x == d)
                    {
                        r.dimensions.push((m.span.0, d.clone()));
                    }
                }
                Item::Value { dimension, value } => {
                    let negated = scope(&negators, m.span.0, w, &mentions, claimed);
                    // "including the ones that left": counted in, not the
                    // only ones.
                    let included = !negated
                        && (m.span.0.saturating_sub(4)..m.span.0)
                            .any(|j| matches!(w.at(j), "including" | "incl" | "inclusive"));
                    if included {
                        continue;
                    }
                    let only = scope(&onlys, m.span.0, w, &mentions, claimed);
                    // "subscriptions": one name for several values of a
                    // dimension stands for all of them.
                    let same = m.also.iter().filter_map(|a| match a {
                        Item::Value {
                            dimension: d,
                            value: v,
                        } if d == dimension && v != value => Some(v),
                        _ => None,
                    });
                    for v in std::iter::once(value).chain(same) {
                        r.values.push(ValueRef {
                            dimension: dimension.clone(),
                            value: v.clone(),
                            negated,
                            only: only || m.also.iter().any(
                                |a| matches!(a, Item::Value { dimension: d, .. } if d == dimension),
                            ),
                            at: m.span.0,
                        });
                    }
                }
            }
        }
        self.share_of(w, r, claimed);
        self.drop_populations(w, r);
        self.ratio_phrases(w, r);
        self.share_nouns(w, r);
        // A count of a dimension's members: "how many campaigns".
        r.count_words = (0..n).any(|i| {
            (w.at(i) == "how" && w.at(i + 1) == "many")
                || (w.at(i) == "number" && w.at(i + 1) == "of")
                || w.at(i) == "count"
        });
        for i in 0..n {
            if claimed[i] {
                continue;
            }
            let word = w.at(i);
            if r.ranking.is_some()
                && r.grain_noun.is_none()
                && let Some(g) = vocab::grain_noun(word)
            {
                r.grain_noun = Some(g);
                mark(claimed, i, i + 1);
                continue;
            }
            if vocab::FOLLOWUP.contains(&word) || (i == 0 && vocab::FOLLOWUP_START.contains(&word))
            {
                r.followup = true;
                mark(claimed, i, i + 1);
            }
            if matches!(word, "instead" | "rather") {
                r.instead = true;
                r.followup = true;
                mark(claimed, i, i + 1);
            }
            if matches!(word, "also" | "too" | "add" | "plus")
                || (word == "as" && w.at(i + 1) == "well")
            {
                r.also = true;
                mark(claimed, i, i + 1);
            }
        }
        if matches!(
            (w.at(0), w.at(1)),
            ("what", "about") | ("how", "about") | ("and", _) | ("same", _) | ("now", _)
        ) || (w.at(0) == "break" && matches!(w.at(1), "it" | "this" | "that" | "down"))
            || (w.at(0) == "drill" && w.at(1) == "into")
        {
            r.followup = true;
        }
    }

    /// Single words of longer value names ("lookalike"), when several
    /// values share them and nothing else explains the word.
    fn fragments(&self, w: &Words, all: &[LexHit], r: &mut Reading, claimed: &mut [bool]) {
        let docs = self.lexicon.docs();
        let mut by_word: BTreeMap<(usize, String), Vec<&str>> = BTreeMap::new();
        for h in all {
            if h.kind != MatchKind::Word || h.span.1 - h.span.0 != 1 || claimed[h.span.0] {
                continue;
            }
            let Some(d) = docs.get(h.doc) else { continue };
            if d.kind != ItemKind::Value || vocab::is_filler(&w.low[h.span.0]) {
                continue;
            }
            if let Some(dim) = &d.dimension {
                by_word
                    .entry((h.span.0, dim.clone()))
                    .or_default()
                    .push(d.value.as_deref().unwrap_or(""));
            }
        }
        let negators: Vec<usize> = (0..w.len()).filter(|&i| vocab::is_negation(w, i)).collect();
        let mut taken = BTreeSet::new();
        for ((at, dimension), values) in by_word {
            if !taken.insert(at) {
                continue;
            }
            let word = w.raw[at].clone();
            let dim_named = r.mentions.iter().any(|m| {
                matches!(&m.item, Item::Dimension(d) if *d == dimension)
                    || m.also
                        .iter()
                        .any(|a| matches!(a, Item::Dimension(d) if *d == dimension))
            });
            if !dim_named && !word.chars().next().is_some_and(char::is_uppercase) {
                continue;
            }
            if values.len() == 1 {
                // One value holds the word: it names that value.
                let negated = negators.iter().any(|&n| n < at && at - n <= 3);
                r.values.push(ValueRef {
                    dimension,
                    value: values[0].to_string(),
                    negated,
                    only: false,
                    at,
                });
            } else {
                let negated = negators.iter().any(|&n| n < at && at - n <= 3);
                r.fragments.push(Fragment {
                    dimension,
                    word,
                    negated,
                    at,
                });
            }
            claimed[at] = true;
        }
    }
}

/// The clause of each word: the question split at sentence ends, dashes,
/// semicolons and commas. None when the pieces do not add up to the
/// question's words.
fn clauses(question: &str, n: usize) -> Option<Vec<usize>> {
    let mut ids = Vec::with_capacity(n);
    for (k, piece) in question
        .split(['.', '!', '?', ';', ',', '\u{2013}', '\u{2014}'])
        .flat_map(|p| p.split(" - "))
        .enumerate()
    {
        let len = Words::new(piece).len();
        ids.extend(std::iter::repeat_n(k, len));
    }
    (ids.len() == n).then_some(ids)
}

fn claimed_at(claimed: &[bool], i: usize) -> bool {
    claimed.get(i).copied().unwrap_or(true)
}

/// Whether a cue word (a negation, "only") governs the value at `at`: it
/// comes before it with only other values, commas and "and"/"or" between.
fn scope(cues: &[usize], at: usize, w: &Words, mentions: &[Mention], claimed: &[bool]) -> bool {
    cues.iter().any(|&c| {
        if c >= at {
            return false;
        }
        (c + 1..at).all(|j| {
            matches!(
                w.at(j),
                "and"
                    | "or"
                    | "nor"
                    | "the"
                    | "than"
                    | "from"
                    | "for"
                    | "in"
                    | "on"
                    | "any"
                    | "out"
                    | "of"
                    | "including"
                    | "count"
                    | "counting"
                    | "all"
                    | "traffic"
                    | "users"
            ) || mentions
                .iter()
                .any(|m| m.span.0 <= j && j < m.span.1 && matches!(m.item, Item::Value { .. }))
                || (claimed_at(claimed, j) && vocab::is_negation(w, j))
        })
    })
}

/// A comparison word or phrase at `i` and how many words it takes.
fn comparator(w: &Words, i: usize) -> Option<(CompareOp, usize)> {
    let a = w.at(i);
    let b = w.at(i + 1);
    let c = w.at(i + 2);
    Some(match (a, b, c) {
        ("at", "least", _) | ("no", "less", "than") | ("not", "less", "than") => {
            (CompareOp::Gte, if a == "at" { 2 } else { 3 })
        }
        ("at", "most", _) | ("no", "more", "than") | ("not", "more", "than") => {
            (CompareOp::Lte, if a == "at" { 2 } else { 3 })
        }
        ("more" | "greater" | "higher" | "bigger" | "larger", "than", _) => (CompareOp::Gt, 2),
        ("less" | "fewer" | "lower" | "smaller", "than", _) => (CompareOp::Lt, 2),
        ("above" | "over" | "exceeding" | "exceeds" | "exceed" | "gt" | "beyond", _, _) => {
            (CompareOp::Gt, 1)
        }
        ("below" | "under" | "lt" | "beneath", _, _) => (CompareOp::Lt, 1),
        ("gte", _, _) => (CompareOp::Gte, 1),
        ("lte", _, _) => (CompareOp::Lte, 1),
        ("min" | "minimum", "of", _) => (CompareOp::Gte, 2),
        ("max" | "maximum", "of", _) => (CompareOp::Lte, 2),
        ("equals" | "equal", "to", _) => (CompareOp::Eq, 2),
        ("equals", _, _) => (CompareOp::Eq, 1),
        _ => return None,
    })
}

/// "1", "2", "the first", "option 2", "the second one": a choice among
/// offered options, counted from 0.
fn pick(w: &Words) -> Option<usize> {
    let content: Vec<&str> = w
        .low
        .iter()
        .map(String::as_str)
        .filter(|x| {
            !matches!(
                *x,
                "the"
                    | "option"
                    | "one"
                    | "number"
                    | "please"
                    | "pick"
                    | "choose"
                    | "i"
                    | "mean"
                    | "meant"
                    | "no"
                    | "nr"
            )
        })
        .collect();
    if content.len() != 1 {
        return None;
    }
    let k = match content[0] {
        "1" | "first" | "1st" | "a" => 0,
        "2" | "second" | "2nd" | "b" => 1,
        "3" | "third" | "3rd" | "c" => 2,
        "4" | "fourth" | "4th" | "d" => 3,
        _ => return None,
    };
    Some(k)
}

/// A request to change data: an imperative write verb aimed at something.
fn write_intent(w: &Words, actionable: &dyn Fn(&str) -> bool) -> Option<String> {
    let mut i = 0;
    // Skip politeness: "please", "can you", "could you please", "i want to".
    while i < w.len()
        && matches!(
            w.at(i),
            "please"
                | "can"
                | "could"
                | "would"
                | "will"
                | "you"
                | "i"
                | "we"
                | "want"
                | "need"
                | "to"
                | "let"
                | "lets"
                | "us"
                | "go"
                | "ahead"
                | "and"
                | "kindly"
                | "just"
                | "quickly"
                | "hey"
                | "hi"
                | "quarry"
                | "should"
        )
    {
        i += 1;
    }
    let verb = w.at(i);
    let object = w.at(i + 1);
    let sql_verb = matches!(
        verb,
        "delete" | "drop" | "truncate" | "insert" | "update" | "alter" | "create" | "grant"
    ) && matches!(
        object,
        "table"
            | "from"
            | "into"
            | "database"
            | "schema"
            | "view"
            | "index"
            | "all"
            | "the"
            | "every"
    );
    if sql_verb {
        return Some(verb.to_string());
    }
    let imperative = vocab::WRITE_VERBS.contains(&verb)
        && (actionable(object)
            || w.low[i + 1..].iter().any(|x| actionable(x))
                && matches!(
                    object,
                    "the"
                        | "all"
                        | "our"
                        | "my"
                        | "this"
                        | "that"
                        | "these"
                        | "those"
                        | "every"
                        | "each"
                        | "a"
                ));
    if imperative {
        return Some(verb.to_string());
    }
    // "delete ..." or "drop table" anywhere.
    (0..w.len())
        .find(|&j| {
            matches!(w.at(j), "delete" | "truncate" | "insert")
                || (w.at(j) == "drop" && matches!(w.at(j + 1), "table" | "database" | "view"))
                || (w.at(j) == "update" && w.at(j + 2) == "set")
        })
        .map(|j| w.at(j).to_string())
}
