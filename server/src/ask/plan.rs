//! The deterministic planner: a reading of the question, the conversation
//! so far and the retrieval hits become a `SemanticQuery`, a clarifying
//! question with concrete options, or a polite refusal. It never guesses
//! silently: what it assumed is said in the plan's notes, and a question it
//! understands only in part gets a question back, not a number.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use quarry_retrieval::lexical::Lexicon;
use quarry_retrieval::{Hit, ItemKind};
use quarry_schema::SemanticModel;
use quarry_schema::query::{
    CalendarUnit, CompareOp, Comparison, Condition, DimensionRef, Filter, FilterOp, Literal,
    OrderBy, SemanticQuery, TimeGrain, TimeRange,
};
use quarry_schema::time;
use serde::{Deserialize, Serialize};

use super::read::{Item, Rank, Reader, Reading};
use super::when::Cue;

/// What the conversation holds for the next question.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Context {
    /// The last plan answered.
    pub last: Option<SemanticQuery>,
    /// A clarification waiting for its answer.
    pub pending: Option<Clarification>,
    /// The members the last answer ranked ("the worst publisher"), so that
    /// "its" and "their" can name them in the next question.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ranked: Option<Ranked>,
}

/// The values of the one breakdown of a ranked answer, in its order.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Ranked {
    pub dimension: String,
    pub values: Vec<String>,
}

impl Ranked {
    /// The members shown by an answer to `q`, when it ranked one breakdown
    /// (a top or bottom N); `column` gives the shown values of a column.
    pub fn of(q: &SemanticQuery, column: impl Fn(&str) -> Option<Vec<String>>) -> Option<Self> {
        if q.limit.is_none() || q.order.is_empty() {
            return None;
        }
        let [d] = q.dimensions.as_slice() else {
            return None;
        };
        if d.is_time() {
            return None;
        }
        let values = column(&d.column_name())?;
        (!values.is_empty()).then(|| Ranked {
            dimension: d.name.clone(),
            values,
        })
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Choice {
    pub label: String,
    pub query: SemanticQuery,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Clarification {
    pub question: String,
    pub options: Vec<Choice>,
    /// What was understood so far, completed by the answer.
    pub partial: SemanticQuery,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Refusal {
    pub reason: String,
    pub suggestions: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Planned {
    pub query: SemanticQuery,
    pub confidence: f32,
    /// The plan builds on the previous one.
    pub followup: bool,
    /// What the planner assumed ("\"retention\" read as D7 retention").
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Outcome {
    Plan(Planned),
    Clarify(Clarification),
    Refuse(Refusal),
}

/// Whether an expression contains this string literal.
fn writes_literal(expr: &quarry_schema::sqlparser::ast::Expr, value: &str) -> bool {
    use quarry_schema::sqlparser::ast::{Expr, Value, visit_expressions};
    let found = visit_expressions(expr, |e| match e {
        Expr::Value(v) if matches!(&v.value, Value::SingleQuotedString(s) if s == value) => {
            std::ops::ControlFlow::Break(())
        }
        _ => std::ops::ControlFlow::Continue(()),
    });
    found.is_break()
}

/// Below this the planner asks instead of answering.
pub const MIN_CONFIDENCE: f32 = 0.6;
/// A metric found by meaning alone needs this cosine similarity.
const VECTOR_METRIC: f32 = 0.55;

pub struct Planner<'a> {
    pub model: &'a SemanticModel,
    pub lexicon: &'a Lexicon,
    pub value_counts: &'a BTreeMap<String, usize>,
    pub as_of: NaiveDate,
}

/// The parts of a plan one question states.
#[derive(Debug, Default)]
struct Parts {
    metrics: Vec<String>,
    dimensions: Vec<DimensionRef>,
    filters: Vec<Filter>,
    conditions: Vec<Condition>,
    time_range: Option<TimeRange>,
    compare: Option<Comparison>,
    order: Vec<OrderBy>,
    limit: Option<u64>,
    /// Dimensions whose filters the question replaces ("what about Android").
    filtered_dims: Vec<String>,
    notes: Vec<String>,
    confidence: f32,
    grain: Option<TimeGrain>,
    trend: bool,
    share: bool,
    per_day: bool,
}

impl Planner<'_> {
    pub fn plan(&self, question: &str, hits: &[Hit], ctx: &Context) -> Outcome {
        let reader = Reader {
            model: self.model,
            lexicon: self.lexicon,
            value_counts: self.value_counts,
            as_of: self.as_of,
        };
        let r = reader.read(question);
        if r.words.is_empty() {
            return self.refuse(&format!(
                "That question has no words I can read. Ask about a metric, for example {}.",
                self.example()
            ));
        }
        if let Some(p) = &ctx.pending
            && let Some(k) = r.pick
            && let Some(choice) = p.options.get(k)
        {
            return Outcome::Plan(Planned {
                query: choice.query.canonical(),
                confidence: 1.0,
                followup: true,
                notes: Vec::new(),
            });
        }
        if looks_like_sql(&r.words) {
            return self.refuse(&format!(
                "That looks like SQL. Ask in plain words ({}); to run SQL yourself, use `quarry sql`.",
                self.example()
            ));
        }
        if let Some(verb) = &r.write {
            return self.refuse(&format!(
                "I can only read data, not change it (\"{verb}\" asks for a change). Make changes in the systems that own the data; here I can show, for example, {}.",
                self.example()
            ));
        }
        if let Some(v) = self.verified(question) {
            return Outcome::Plan(Planned {
                query: v,
                confidence: 1.0,
                followup: false,
                notes: Vec::new(),
            });
        }
        if !r.outside.is_empty() {
            return self.refuse(&format!(
                "This warehouse holds no data about {}. It covers {}: {}.",
                quote_list(&r.outside),
                self.model.vocabulary.subject,
                self.coverage()
            ));
        }
        // "next week" asks for a forecast, unless the question names a past
        // period as well and asks nothing of the future ("a deck for next
        // week's offsite: what did we spend in Q3?").
        let past = r.cues().any(|c| matches!(c, Cue::Range(_)));
        let will = r.words.iter().any(|w| {
            matches!(
                w.as_str(),
                "will"
                    | "forecast"
                    | "forecasted"
                    | "projected"
                    | "projection"
                    | "predict"
                    | "going"
            )
        });
        if r.cues().any(|c| *c == Cue::Future) && (!past || will) {
            let more = self
                .model
                .vocabulary
                .forecasts
                .as_ref()
                .map_or(String::new(), |f| format!(" {}", f.trim()));
            if self.model.as_of.is_none() {
                return self.refuse(&format!(
                    "I can only report what the data holds, and it has no dates; I cannot forecast.{more}"
                ));
            }
            return self.refuse(&format!(
                "I can only report what has happened, up to {}; I cannot forecast.{more} A weekly trend shows where a metric is heading.",
                self.as_of.format("%-d %B %Y")
            ));
        }

        // A snapshot without dates cannot be read for a period: answering
        // with every row would present all-time figures as last month's.
        if self.model.as_of.is_none()
            && let Some(said) = r.time.iter().find_map(|f| {
                matches!(
                    f.cue,
                    Cue::Range(_)
                        | Cue::Grain(_)
                        | Cue::Trend
                        | Cue::Compare(_)
                        | Cue::OverPeriod(_)
                )
                .then(|| r.words[f.span.0..f.span.1.min(r.words.len())].join(" "))
            })
        {
            return self.refuse(&format!(
                "This data has no dates: it is a snapshot of {}, so it cannot be read for a period (\"{said}\"). Ask without a period, for example {}.",
                self.model.vocabulary.subject,
                self.example()
            ));
        }

        let mut parts = self.parts(&r, ctx);
        let last = ctx
            .pending
            .as_ref()
            .map(|p| p.partial.clone())
            .or_else(|| ctx.last.clone());
        // "D7" in reply to "which retention?": the answer completes the
        // question asked back.
        let completes = ctx.pending.is_some()
            && r.dimensions.is_empty()
            && r.values.is_empty()
            && r.time.is_empty()
            && r.words.len() <= 4;
        let followup = last.is_some()
            && (completes
                || r.followup
                || parts.metrics.is_empty()
                || (r.also && !parts.metrics.is_empty()));

        if parts.metrics.is_empty() && !followup {
            return self.no_metric(&r, hits, parts);
        }
        if !r.vague_terms.is_empty() && parts.metrics.is_empty() {
            return self.no_metric(&r, hits, parts);
        }
        // "how efficient is our spend?": a word meaning one of several
        // metrics, none of which was named, qualifies the one that was;
        // answering with that one alone would drop the question's point.
        if !followup
            && r.vague_terms.iter().any(|(_, list)| {
                !parts.metrics.is_empty() && !parts.metrics.iter().any(|m| list.contains(m))
            })
        {
            parts.metrics.clear();
            return self.no_metric(&r, hits, parts);
        }

        let mut q = if followup {
            let base = last.unwrap_or_default();
            self.merge(base, &mut parts, &r, ctx.ranked.as_ref())
        } else {
            self.fresh(&mut parts)
        };
        if q.metrics.is_empty() {
            return self.no_metric(&r, hits, parts);
        }
        self.finish_time(&mut q, &parts);
        if q.share
            && let Some(c) = self.finish_share(&mut q, &mut parts.notes)
        {
            return Outcome::Clarify(c);
        }

        // A count of everything ever ("users") asked about a period.
        if let Some(c) = self.timeless_in_period(&q, &r) {
            return Outcome::Clarify(c);
        }

        let mut confidence = parts.confidence;
        for u in &r.unknown {
            // A code or abbreviation the model does not know ("the US")
            // would most likely have been a filter: ask rather than drop it.
            // So would a word after "by": a breakdown the model lacks.
            let low = u.to_lowercase();
            let after_by = r.words.iter().position(|w| *w == low).is_some_and(|i| {
                i > 0 && matches!(r.words[i - 1].as_str(), "by" | "per" | "each" | "across")
            });
            confidence *= if super::vocab::is_code(u) || after_by {
                0.5
            } else {
                0.7
            };
        }
        if !r.unknown.is_empty() {
            parts.notes.push(format!(
                "Left out, as nothing in this data matches: {}",
                quote_list(&r.unknown)
            ));
        }
        for _ in 0..r.misspellings {
            confidence *= 0.95;
        }
        let q = q.canonical();
        if let Some(c) = self.which_value(&q, &r) {
            return Outcome::Clarify(c);
        }
        if confidence < MIN_CONFIDENCE {
            let unknown = quote_list(&r.unknown);
            return Outcome::Clarify(Clarification {
                question: if r.unknown.is_empty() {
                    "I am not sure I understood. Is this what you mean?".to_string()
                } else {
                    format!(
                        "I don't know what {unknown} refers to in this data. Is this what you mean, without it?"
                    )
                },
                options: vec![Choice {
                    label: super::interpret::plan_summary(self.model, &q),
                    query: q.clone(),
                }],
                partial: q,
            });
        }
        Outcome::Plan(Planned {
            query: q,
            confidence,
            followup,
            notes: parts.notes,
        })
    }

    /// The one percentage metric whose numerator is this count.
    fn rate_of(&self, count: &str) -> Option<String> {
        use quarry_schema::model::{Format, MetricKind};
        let mut rates = self.model.metrics.iter().filter(|(_, m)| {
            m.format == Format::Percent
                && matches!(&m.kind, MetricKind::Ratio { numerator, .. } if self.model.is_operand(numerator, count))
        });
        let (name, _) = rates.next()?;
        rates.next().is_none().then(|| name.clone())
    }

    /// A share divides by the total over a breakdown: the dimensions of the
    /// values named ("what percent of installs were organic" is organic
    /// installs over installs of every acquisition type), else a question
    /// back. Metrics that do not add up have no share.
    fn finish_share(
        &self,
        q: &mut SemanticQuery,
        notes: &mut Vec<String>,
    ) -> Option<Clarification> {
        let (adds, not): (Vec<&String>, Vec<&String>) =
            q.metrics.iter().partition(|m| self.model.adds_up(m));
        if adds.is_empty() {
            q.share = false;
            let labels: Vec<String> = not
                .iter()
                .map(|m| {
                    self.model
                        .metrics
                        .get(*m)
                        .map_or((*m).clone(), |x| x.label.clone())
                })
                .collect();
            notes.push(format!(
                "{} is no count or sum, so it has no share of a total; this shows its value",
                labels.join(" and ")
            ));
            return None;
        }
        let broken = |q: &SemanticQuery| q.dimensions.iter().any(|d| !d.is_time());
        if broken(q) {
            return None;
        }
        let named: Vec<String> = q
            .filters
            .iter()
            .filter(|f| f.op == FilterOp::In)
            .map(|f| f.dimension.clone())
            .collect();
        for d in named {
            let d = DimensionRef::new(d);
            if !q.dimensions.contains(&d) {
                q.dimensions.push(d);
            }
        }
        if broken(q) {
            return None;
        }
        // Of what total? The breakdowns the metrics can take, those with a
        // handful of values first.
        let reachable = |dim: &quarry_schema::model::Dimension| {
            q.metrics.iter().all(|m| {
                self.model.measures_of(m).iter().all(|x| {
                    let Some(measure) = self.model.measures.get(x) else {
                        return false;
                    };
                    let paths = self.model.join_paths(&measure.entity);
                    dim.bindings.iter().any(|b| paths.contains_key(&b.entity))
                })
            })
        };
        let mut dims: Vec<(&String, usize)> = self
            .model
            .dimensions
            .iter()
            .filter(|(_, d)| reachable(d))
            .filter_map(|(name, _)| {
                let n = *self.value_counts.get(name)?;
                (2..=12).contains(&n).then_some((name, n))
            })
            .collect();
        dims.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        let options: Vec<Choice> = dims
            .iter()
            .take(3)
            .map(|(name, _)| {
                let mut alt = q.clone();
                alt.dimensions.push(DimensionRef::new((*name).clone()));
                let alt = alt.canonical();
                Choice {
                    label: super::interpret::plan_summary(self.model, &alt),
                    query: alt,
                }
            })
            .collect();
        Some(Clarification {
            question: "A share of the total by what? Pick a breakdown:".to_string(),
            options,
            partial: q.clone(),
        })
    }

    /// "installs from Apple": the parent company, or the network whose name
    /// holds the word? Each reading is an option.
    fn which_value(&self, q: &SemanticQuery, r: &Reading) -> Option<Clarification> {
        let c = r.value_choices.first()?;
        let chosen = Literal::Str(c.value.clone());
        let fi = q
            .filters
            .iter()
            .position(|f| f.dimension == c.dimension && f.values.contains(&chosen))?;
        let mut options = Vec::new();
        for (dim, value) in std::iter::once((&c.dimension, &c.value))
            .chain(c.others.iter().map(|(d, v)| (d, v)))
            .take(4)
        {
            let mut alt = q.clone();
            let f = &mut alt.filters[fi];
            if f.values.len() == 1 {
                f.dimension = dim.clone();
                f.values = vec![Literal::Str(value.clone())];
            } else {
                f.values.retain(|v| *v != chosen);
                alt.filters.push(Filter {
                    dimension: dim.clone(),
                    op: FilterOp::In,
                    values: vec![Literal::Str(value.clone())],
                });
            }
            let alt = alt.canonical();
            options.push(Choice {
                label: super::interpret::plan_summary(self.model, &alt),
                query: alt,
            });
        }
        Some(Clarification {
            question: format!("Which \"{}\" do you mean?", c.said),
            options,
            partial: q.clone(),
        })
    }

    /// A verified question asked word for word.
    fn verified(&self, question: &str) -> Option<SemanticQuery> {
        let norm = |s: &str| quarry_retrieval::lexical::normalise(s).join(" ");
        let q = norm(question);
        self.model
            .verified_queries
            .iter()
            .find(|v| norm(&v.question) == q)
            .map(|v| v.query.canonical())
    }

    /// An example question for messages, quoted: the model's first.
    fn example(&self) -> String {
        match self.model.vocabulary.examples.first() {
            Some(e) => format!("\"{e}\""),
            None => {
                let m = self
                    .headline(1)
                    .into_iter()
                    .next()
                    .and_then(|m| self.model.metrics.get(&m));
                match m {
                    Some(m) => format!("\"{}\"", m.label.to_lowercase()),
                    None => "a metric by name".to_string(),
                }
            }
        }
    }

    /// The model's headline metrics, else its first metrics, at most `n`.
    fn headline(&self, n: usize) -> Vec<String> {
        let v = &self.model.vocabulary.headline_metrics;
        let list = if v.is_empty() {
            &self.model.metric_order
        } else {
            v
        };
        list.iter().take(n).cloned().collect()
    }

    fn coverage(&self) -> String {
        let labels: Vec<String> = self
            .headline(8)
            .iter()
            .filter_map(|m| self.model.metrics.get(m))
            .map(|m| m.label.clone())
            .collect();
        let dims: Vec<String> = self
            .model
            .vocabulary
            .breakdowns
            .iter()
            .take(5)
            .filter_map(|d| self.model.dimensions.get(d))
            .map(|d| d.label.to_lowercase())
            .collect();
        if dims.is_empty() {
            labels.join(", ")
        } else {
            format!("{}, by {}", labels.join(", "), dims.join(", "))
        }
    }

    fn refuse(&self, reason: &str) -> Outcome {
        Outcome::Refuse(Refusal {
            reason: reason.to_string(),
            suggestions: self
                .model
                .verified_queries
                .iter()
                .take(3)
                .map(|v| v.question.clone())
                .collect(),
        })
    }

    /// Everything the question itself says.
    fn parts(&self, r: &Reading, ctx: &Context) -> Parts {
        let mut p = Parts {
            confidence: 1.0,
            share: r.share,
            ..Parts::default()
        };
        // Metrics, and the words that name both a metric and a dimension
        // ("campaigns": a count, or what to break down by).
        let mut metrics: Vec<(usize, String)> = r.metrics.clone();
        let mut dims: Vec<(usize, String)> = r.dimensions.clone();
        let either: Vec<(usize, String)> = r
            .mentions
            .iter()
            .filter_map(|m| match &m.item {
                Item::Metric(_) => m.also.iter().find_map(|a| match a {
                    Item::Dimension(d) => Some((m.span.0, d.clone())),
                    _ => None,
                }),
                _ => None,
            })
            .collect();
        let others = metrics
            .iter()
            .filter(|(at, _)| !either.iter().any(|(e, _)| e == at))
            .count();
        let has_context = ctx.last.is_some() || ctx.pending.is_some();
        for (at, dim) in &either {
            let before = if *at > 0 {
                r.words[at - 1].as_str()
            } else {
                ""
            };
            let counted = r.count_words
                && r.words[..*at]
                    .iter()
                    .rev()
                    .take(3)
                    .any(|w| matches!(w.as_str(), "many" | "of" | "count"));
            // "our Android campaigns", "lookalike campaigns", "campaigns
            // optimised for purchases": the noun names the population the
            // filters select, and the answer is its total.
            let after_value = r.mentions.iter().any(|o| {
                o.span.1 == *at && match &o.item {
                    Item::Value { .. } => true,
                    Item::Dimension(d) => r.mentions.iter().any(|v| {
                        v.span.1 == o.span.0
                            && matches!(&v.item, Item::Value { dimension, .. } if dimension == d)
                    }),
                    _ => false,
                }
            }) || r.fragments.iter().any(|f| f.at + 1 == *at)
                || r.values.iter().any(|v| v.at + 1 == *at);
            let qualified = matches!(
                r.words.get(at + 1).map(String::as_str),
                Some(
                    "optimised"
                        | "optimized"
                        | "targeting"
                        | "aimed"
                        | "running"
                        | "bidding"
                        | "that"
                        | "whose"
                )
            );
            // "by AppLovin publisher", "for each TikTok campaign": the values
            // name which members to list.
            let mut k = *at;
            while k > 0
                && (r.values.iter().any(|v| v.at == k - 1)
                    || r.fragments.iter().any(|f| f.at == k - 1)
                    || r.mentions
                        .iter()
                        .any(|m| m.span.1 == k && matches!(m.item, Item::Value { .. })))
            {
                k = r
                    .mentions
                    .iter()
                    .find(|m| m.span.1 == k)
                    .map_or(k - 1, |m| m.span.0);
            }
            let before_values = if k > 0 { r.words[k - 1].as_str() } else { "" };
            let per = |w: &str| {
                matches!(
                    w,
                    "by" | "per" | "each" | "every" | "which" | "what" | "across"
                )
            };
            let population = (after_value || qualified) && !per(before_values);
            let as_dimension = !counted
                && (per(before)
                    || per(before_values)
                    || r.ranking.is_some()
                    || !r.thresholds.is_empty()
                    || ((others > 0 || (has_context && !r.count_words)) && !population));
            if as_dimension || (population && others > 0 && !counted) {
                metrics.retain(|(a, _)| a != at);
            }
            if as_dimension && !dims.iter().any(|(_, d)| d == dim) {
                dims.push((*at, dim.clone()));
            }
        }
        dims.sort();
        for (_, m) in metrics {
            if !p.metrics.contains(&m) {
                p.metrics.push(m);
            }
        }
        // Single metric words for several metrics ("retention").
        for (said, list) in &r.partial_metrics {
            if list.len() == 1 {
                p.metrics.push(list[0].clone());
                p.confidence *= 0.85;
                p.notes.push(format!(
                    "read \"{said}\" as {}",
                    self.metric_label(&list[0])
                ));
            }
        }
        for (_, d) in dims {
            let d = DimensionRef::new(d);
            if !p.dimensions.contains(&d) {
                p.dimensions.push(d);
            }
        }

        // Filters: values named, negated or not; several values of one
        // dimension compare those segments side by side.
        let mut by_dim: BTreeMap<(String, bool), Vec<Literal>> = BTreeMap::new();
        let mut only: BTreeMap<String, bool> = BTreeMap::new();
        for v in &r.values {
            let list = by_dim.entry((v.dimension.clone(), v.negated)).or_default();
            let lit = Literal::Str(v.value.clone());
            if !list.contains(&lit) {
                list.push(lit);
            }
            if v.only {
                only.insert(v.dimension.clone(), true);
            }
        }
        for ((dim, negated), values) in by_dim {
            if !p.filtered_dims.contains(&dim) {
                p.filtered_dims.push(dim.clone());
            }
            if negated {
                p.filters.push(Filter::not_in(dim, values));
            } else {
                if values.len() > 1 && !only.contains_key(&dim) {
                    let d = DimensionRef::new(dim.clone());
                    if !p.dimensions.contains(&d) {
                        p.dimensions.push(d);
                    }
                }
                p.filters.push(Filter {
                    dimension: dim,
                    op: FilterOp::In,
                    values,
                });
            }
        }
        for f in &r.fragments {
            if f.negated {
                // No "does not contain" filter exists; asking is honest.
                p.confidence *= 0.5;
                p.notes.push(format!(
                    "cannot exclude {} names containing \"{}\"",
                    self.dimension_label(&f.dimension),
                    f.word
                ));
                continue;
            }
            p.filters.push(Filter {
                dimension: f.dimension.clone(),
                op: FilterOp::Contains,
                values: vec![Literal::Str(f.word.clone())],
            });
            if !p.filtered_dims.contains(&f.dimension) {
                p.filtered_dims.push(f.dimension.clone());
            }
        }

        // Thresholds on metrics.
        for t in &r.thresholds {
            if let Some(d) = &t.dimension {
                let op = match t.op {
                    CompareOp::Gt => FilterOp::Gt,
                    CompareOp::Gte => FilterOp::Gte,
                    CompareOp::Lt => FilterOp::Lt,
                    CompareOp::Lte => FilterOp::Lte,
                    CompareOp::Eq => FilterOp::Eq,
                    CompareOp::Ne => FilterOp::Ne,
                };
                let value = if t.percent { t.value / 100.0 } else { t.value };
                let literal = if value.fract() == 0.0 && value.abs() < 1e15 {
                    Literal::Int(value as i64)
                } else {
                    Literal::Float(value)
                };
                p.filters.push(Filter {
                    dimension: d.clone(),
                    op,
                    values: vec![literal],
                });
                if !p.filtered_dims.contains(d) {
                    p.filtered_dims.push(d.clone());
                }
                continue;
            }
            let Some(mut metric) = t.metric.clone().or_else(|| p.metrics.first().cloned()) else {
                continue;
            };
            // "more than 10% flagged installs": a percentage of a count is
            // the rate that has the count over a total (the fraud rate).
            if t.percent
                && self.model.adds_up(&metric)
                && let Some(rate) = self.rate_of(&metric)
            {
                p.metrics.retain(|m| *m != metric);
                metric = rate;
            }
            let format = self.model.metrics.get(&metric).map(|m| m.format);
            let mut value = t.value;
            match format {
                Some(quarry_schema::model::Format::Percent) if t.percent || value > 1.0 => {
                    value /= 100.0;
                }
                Some(quarry_schema::model::Format::Ratio) if t.percent => value /= 100.0,
                _ => {}
            }
            if !p.metrics.contains(&metric) {
                p.metrics.push(metric.clone());
            }
            p.conditions.push(Condition {
                metric,
                op: t.op,
                value,
            });
        }

        // Time.
        let ranges: Vec<TimeRange> = r
            .cues()
            .filter_map(|c| match c {
                Cue::Range(t) => Some(t.clone()),
                _ => None,
            })
            .collect();
        let over = r.cues().find_map(|c| match c {
            Cue::OverPeriod(g) => Some(*g),
            _ => None,
        });
        let change = r.cues().any(|c| *c == Cue::Change);
        p.compare = r.cues().find_map(|c| match c {
            Cue::Compare(c) => Some(c.clone()),
            _ => None,
        });
        p.grain = r
            .cues()
            .find_map(|c| match c {
                Cue::Grain(g) => Some(*g),
                _ => None,
            })
            .or(r.grain_noun);
        p.trend = r.cues().any(|c| *c == Cue::Trend);
        // "average daily revenue", "spend per day on average": a total over
        // the period divided by its days, not a daily series. Only for
        // metrics that add up, and when "average" is not a metric's word.
        let average_word = r.words.iter().enumerate().any(|(i, w)| {
            matches!(w.as_str(), "average" | "avg" | "mean" | "averaged")
                && !r.mentions.iter().any(|m| m.span.0 <= i && i < m.span.1)
        });
        if p.grain == Some(TimeGrain::Day)
            && average_word
            && !p.trend
            && !p.metrics.is_empty()
            && p.metrics.iter().all(|m| self.model.adds_up(m))
        {
            p.grain = None;
            p.per_day = true;
        }
        match ranges.as_slice() {
            [] => {}
            [one] => p.time_range = Some(one.clone()),
            [first, second, ..] => {
                let prev = time::previous_period(first, self.as_of).ok();
                let second_days = time::resolve(second, self.as_of).ok().flatten();
                // "this month vs last month": the period before, to date
                // when the first one is in progress.
                if prev.is_some_and(|p| second_days.is_some_and(|s| s.start == p.start)) {
                    p.time_range = Some(first.clone());
                    p.compare = Some(Comparison::PreviousPeriod);
                } else if let (Some(Some(a)), Some(b)) =
                    (time::resolve(first, self.as_of).ok(), second_days)
                {
                    // Two periods side by side: one range covering both,
                    // broken down so each shows.
                    let start = a.start.min(b.start);
                    let end = a.end.max(b.end);
                    p.time_range = Some(TimeRange::Between { start, end });
                    let whole_months = [a, b].iter().all(|x| {
                        x.start == time::bucket_start(x.start, TimeGrain::Month)
                            && x.end
                                .succ_opt()
                                .is_some_and(|n| n == time::bucket_start(n, TimeGrain::Month))
                    });
                    if p.grain.is_none() {
                        p.grain = Some(if whole_months {
                            TimeGrain::Month
                        } else if a.days() == 7 && b.days() == 7 {
                            TimeGrain::Week
                        } else {
                            TimeGrain::Day
                        });
                    }
                    p.notes.push(format!(
                        "showed {} to {} by {} so both periods can be compared",
                        start,
                        end,
                        p.grain.map_or("day".to_string(), |g| g.to_string())
                    ));
                } else {
                    p.time_range = Some(first.clone());
                }
            }
        }
        if let Some(g) = over {
            match &p.time_range {
                None => {
                    p.time_range = Some(match g {
                        TimeGrain::Day => TimeRange::Day { offset: 0 },
                        TimeGrain::Week => TimeRange::Previous {
                            unit: CalendarUnit::Week,
                            n: 1,
                        },
                        TimeGrain::Month => TimeRange::Previous {
                            unit: CalendarUnit::Month,
                            n: 1,
                        },
                        TimeGrain::Quarter => TimeRange::Previous {
                            unit: CalendarUnit::Quarter,
                            n: 1,
                        },
                        TimeGrain::Year => TimeRange::Previous {
                            unit: CalendarUnit::Year,
                            n: 1,
                        },
                    });
                    p.compare = Some(Comparison::PreviousPeriod);
                }
                Some(range) => {
                    let days = time::resolve(range, self.as_of)
                        .ok()
                        .flatten()
                        .map_or(i64::MAX, |d| d.days());
                    if days > grain_days(g) {
                        p.grain = Some(g);
                    }
                    p.compare = Some(Comparison::PreviousPeriod);
                }
            }
        }
        if change && p.compare.is_none() && p.grain.is_none() && !p.trend {
            p.compare = Some(Comparison::PreviousPeriod);
        }

        // Ranking.
        if let Some(rk) = &r.ranking {
            let metric = rk
                .metric
                .clone()
                .or_else(|| p.metrics.first().cloned())
                .or_else(|| {
                    ctx.last
                        .as_ref()
                        .or(ctx.pending.as_ref().map(|c| &c.partial))
                        .and_then(|q| q.metrics.first().cloned())
                });
            if let Some(metric) = metric {
                let inherited = ctx
                    .last
                    .as_ref()
                    .is_some_and(|q| q.metrics.contains(&metric));
                if !(p.metrics.contains(&metric) || inherited && p.metrics.is_empty()) {
                    p.metrics.push(metric.clone());
                }
                let higher = self
                    .model
                    .metrics
                    .get(&metric)
                    .is_none_or(|m| m.higher_is_better);
                let desc = match rk.rank {
                    Rank::High => true,
                    Rank::Low => false,
                    Rank::Best => higher,
                    Rank::Worst => !higher,
                };
                let singular = r.mentions.iter().any(|m| {
                    matches!(&m.item, Item::Dimension(_))
                        || m.also.iter().any(|a| matches!(a, Item::Dimension(_)))
                } && !m.said.to_lowercase().ends_with('s'))
                    || r.grain_noun.is_some() && !r.words.iter().any(|w| matches!(w.as_str(), "days" | "weeks" | "months"))
                    || r.words.windows(2).any(|w| w[0] == "which" && w[1] == "one");
                p.order.push(OrderBy {
                    by: metric.clone(),
                    desc,
                });
                p.limit = rk.n.or(Some(if singular { 1 } else { 10 }));
                // "Which campaign drove the most installs": installs without
                // a campaign read as the dimension's "none" value, which is
                // no member, so a ranking of members leaves it out.
                let unranked: Vec<(String, String)> = p
                    .dimensions
                    .iter()
                    .filter_map(|d| {
                        let u = self.model.dimensions.get(&d.name)?.unattributed.as_ref()?;
                        (!u.in_rankings && self.may_be_unattributed(&metric, &d.name, &u.value))
                            .then(|| (d.name.clone(), u.value.clone()))
                    })
                    .collect();
                for (dim, value) in unranked {
                    if p.filtered_dims.contains(&dim) {
                        continue;
                    }
                    p.filtered_dims.push(dim.clone());
                    p.filters.push(Filter {
                        dimension: dim,
                        op: FilterOp::NotIn,
                        values: vec![Literal::Str(value)],
                    });
                }
            }
        }
        p
    }

    /// Whether a metric can carry a dimension's "none" value: on the fact
    /// of one of its measures, the dimension's expression writes that value
    /// (`coalesce(campaigns.network, 'Organic')`).
    fn may_be_unattributed(&self, metric: &str, dimension: &str, value: &str) -> bool {
        let Some(dim) = self.model.dimensions.get(dimension) else {
            return false;
        };
        self.model.measures_of(metric).iter().any(|m| {
            self.model.measures.get(m).is_some_and(|measure| {
                dim.bindings
                    .iter()
                    .filter(|b| b.entity == measure.entity)
                    .any(|b| writes_literal(&b.expr, value))
            })
        })
    }

    /// A plan from this question alone.
    fn fresh(&self, p: &mut Parts) -> SemanticQuery {
        SemanticQuery {
            metrics: std::mem::take(&mut p.metrics),
            dimensions: std::mem::take(&mut p.dimensions),
            filters: std::mem::take(&mut p.filters),
            conditions: std::mem::take(&mut p.conditions),
            time_range: p.time_range.take(),
            compare: p.compare.take(),
            order: std::mem::take(&mut p.order),
            limit: p.limit.take(),
            share: p.share,
            per_day: p.per_day,
        }
    }

    /// The previous plan, changed by what this question says.
    fn merge(
        &self,
        mut q: SemanticQuery,
        p: &mut Parts,
        r: &Reading,
        ranked: Option<&Ranked>,
    ) -> SemanticQuery {
        let refers = r
            .words
            .iter()
            .any(|w| matches!(w.as_str(), "their" | "them" | "those" | "these" | "its"));
        // "the worst publisher" then "show me its flagged installs by day":
        // the members shown become a filter, because a ranking redone by
        // another breakdown or period would pick other members.
        if let Some(k) = ranked
            && refers
            && q.limit.is_some()
            && p.order.is_empty()
            && (p.grain.is_some() || p.trend || !p.dimensions.is_empty() || p.time_range.is_some())
            && q.dimensions.iter().any(|d| d.name == k.dimension)
            && !p.filtered_dims.contains(&k.dimension)
        {
            q.order.clear();
            q.limit = None;
            q.conditions.clear();
            q.filters.retain(|f| f.dimension != k.dimension);
            q.filters.push(Filter {
                dimension: k.dimension.clone(),
                op: FilterOp::In,
                values: k.values.iter().map(|v| Literal::Str(v.clone())).collect(),
            });
            // One member needs no column of its own.
            if k.values.len() == 1 {
                q.dimensions.retain(|d| d.name != k.dimension);
            }
        }
        // Undo the canonical form's folding of order defaults, so a new
        // breakdown gets its own default order.
        if !p.metrics.is_empty() {
            if r.also {
                for m in p.metrics.drain(..) {
                    if !q.metrics.contains(&m) {
                        q.metrics.push(m);
                    }
                }
            } else if q.limit.is_some() && !q.order.is_empty() && p.order.is_empty() && refers {
                // "top 5 campaigns by spend" then "what's their CPI?": the
                // same five rows, so the ranking metric stays to rank them.
                let kept: Vec<String> = q.order.iter().map(|o| o.by.clone()).collect();
                q.metrics = std::mem::take(&mut p.metrics);
                for k in kept {
                    if !q.metrics.contains(&k) {
                        q.metrics.push(k);
                    }
                }
                q.conditions.retain(|c| q.metrics.contains(&c.metric));
            } else {
                let old_first = q.metrics.first().cloned();
                q.metrics = std::mem::take(&mut p.metrics);
                // An order by a metric no longer shown follows the new one.
                if let (Some(old), Some(new)) = (old_first, q.metrics.first().cloned()) {
                    for o in &mut q.order {
                        if o.by == old {
                            o.by = new.clone();
                        }
                    }
                }
                q.conditions.retain(|c| q.metrics.contains(&c.metric));
            }
        }
        let mentions_all = |dim: &str| {
            r.words.windows(2).any(|w| {
                matches!(w[0].as_str(), "all" | "every" | "any") && self.names_dimension(&w[1], dim)
            })
        };
        q.filters.retain(|f| !mentions_all(&f.dimension));
        // "how does that compare with Snapchat?": the new value joins the
        // old one, side by side.
        let versus = r.cues().any(|c| *c == Cue::Versus)
            || r.words
                .iter()
                .any(|w| matches!(w.as_str(), "compare" | "compared" | "vs" | "versus"));
        if versus {
            for f in &mut p.filters {
                if f.op != FilterOp::In {
                    continue;
                }
                if let Some(old) = q
                    .filters
                    .iter()
                    .find(|o| o.dimension == f.dimension && o.op == FilterOp::In)
                {
                    for v in &old.values {
                        if !f.values.contains(v) {
                            f.values.push(v.clone());
                        }
                    }
                    let d = DimensionRef::new(f.dimension.clone());
                    if !q.dimensions.contains(&d) {
                        q.dimensions.push(d);
                    }
                }
            }
        }
        if !p.filtered_dims.is_empty() {
            q.filters
                .retain(|f| !p.filtered_dims.contains(&f.dimension) || r.also);
        }
        q.filters.append(&mut p.filters);
        if !p.dimensions.is_empty() {
            if r.instead {
                q.dimensions.retain(|d| d.grain.is_some());
            }
            for d in p.dimensions.drain(..) {
                if !q.dimensions.contains(&d) {
                    q.dimensions.push(d);
                }
            }
            // The ranking followed the old breakdown's rows.
            if p.order.is_empty() {
                q.order.retain(|o| q.metrics.contains(&o.by));
            }
        }
        if p.grain.is_some() || p.trend {
            q.dimensions.retain(|d| d.grain.is_none());
            // "now by week instead": the time breakdown replaces the others.
            if r.instead && p.dimensions.is_empty() {
                q.dimensions.clear();
                q.order.retain(|o| q.metrics.contains(&o.by));
            }
        }
        for c in p.conditions.drain(..) {
            q.conditions.retain(|x| x.metric != c.metric);
            q.conditions.push(c);
        }
        let old_range = q.time_range.clone();
        match (p.time_range.take(), p.compare.take(), old_range) {
            // "vs the same days last month?": the old period, compared with
            // the one before it.
            (Some(new), None, Some(old)) if versus && self.is_before(&new, &old) => {
                q.compare = Some(Comparison::PreviousPeriod);
            }
            // "and the month before?": the period before the old one.
            (None, Some(Comparison::PreviousPeriod), Some(old)) if !versus => {
                if let Ok(d) = time::previous_period(&old, self.as_of) {
                    q.time_range = Some(TimeRange::Between {
                        start: d.start,
                        end: d.end,
                    });
                }
                q.compare = None;
            }
            (t, c, _) => {
                if let Some(t) = t {
                    q.time_range = Some(t);
                }
                if let Some(c) = c {
                    q.compare = Some(c);
                }
            }
        }
        if !p.order.is_empty() {
            q.order = std::mem::take(&mut p.order);
            q.limit = p.limit.take();
        } else if let Some(l) = p.limit.take() {
            q.limit = Some(l);
        }
        q.share |= p.share;
        q
    }

    /// Whether `new` starts before `old` and ends no later than the day
    /// before `old` starts: an earlier period to compare with.
    fn is_before(&self, new: &TimeRange, old: &TimeRange) -> bool {
        let (Ok(Some(n)), Ok(Some(o))) = (
            time::resolve(new, self.as_of),
            time::resolve(old, self.as_of),
        ) else {
            return false;
        };
        n.end < o.start
    }

    /// Grains and trends become a time breakdown sized to the period.
    fn finish_time(&self, q: &mut SemanticQuery, p: &Parts) {
        let grain = p.grain.or_else(|| {
            p.trend.then(|| {
                let days = q
                    .time_range
                    .as_ref()
                    .and_then(|t| time::resolve(t, self.as_of).ok().flatten())
                    .map_or(30, |d| d.days());
                if days <= 31 {
                    TimeGrain::Day
                } else if days <= 190 {
                    TimeGrain::Week
                } else {
                    TimeGrain::Month
                }
            })
        });
        if let Some(g) = grain {
            q.dimensions.retain(|d| d.grain.is_none());
            q.dimensions.insert(0, DimensionRef::time(g));
            // A ranked time breakdown ("which day") keeps its ranking;
            // otherwise time reads oldest first.
            if q.order.is_empty() {
                q.limit = None;
            }
        }
    }

    fn names_dimension(&self, word: &str, dim: &str) -> bool {
        let Some(d) = self.model.dimensions.get(dim) else {
            return false;
        };
        let w = quarry_retrieval::lexical::stem(word);
        std::iter::once(&d.name)
            .chain(std::iter::once(&d.label))
            .chain(d.synonyms.iter())
            .any(|n| quarry_retrieval::lexical::normalise(n).join(" ") == w)
    }

    /// No metric named: ask which, with options built on what was said, or
    /// refuse when nothing in the question belongs to this data.
    fn no_metric(&self, r: &Reading, hits: &[Hit], p: Parts) -> Outcome {
        let mut candidates: Vec<String> = Vec::new();
        for (_, list) in &r.vague_terms {
            candidates.extend(list.iter().cloned());
        }
        for (_, list) in &r.partial_metrics {
            candidates.extend(list.iter().cloned());
        }
        let mut why = String::new();
        if let Some((term, _)) = r.vague_terms.first() {
            why = format!("\"{term}\" can mean several metrics. ");
        } else if let Some((said, list)) = r.partial_metrics.first()
            && list.len() > 1
        {
            why = format!("\"{said}\" can mean several metrics. ");
        }
        if candidates.is_empty() {
            // Meaning alone: the nearest metrics, when near enough.
            let mut by_meaning: Vec<&Hit> = hits
                .iter()
                .filter(|h| h.kind == ItemKind::Metric && h.lexical == 0.0)
                .collect();
            by_meaning.sort_by(|a, b| b.vector.total_cmp(&a.vector));
            if let Some(best) = by_meaning.first()
                && best.vector >= VECTOR_METRIC
                && r.unknown.len() <= 2
                && by_meaning
                    .get(1)
                    .is_none_or(|second| best.vector - second.vector >= 0.06)
            {
                // Confident enough to offer it as the one reading.
                candidates.push(best.key.clone());
            } else {
                candidates.extend(
                    by_meaning
                        .iter()
                        .filter(|h| h.vector >= 0.35)
                        .take(3)
                        .map(|h| h.key.clone()),
                );
            }
        }
        let said_something = !p.dimensions.is_empty()
            || !p.filters.is_empty()
            || p.time_range.is_some()
            || r.ranking.is_some()
            || !r.vague_terms.is_empty()
            || !r.partial_metrics.is_empty();
        // Only general words ("how are we doing?") ask for a measure; words
        // nothing here explains mean the question is about something else.
        if candidates.is_empty() && !said_something && !r.unknown.is_empty() {
            let what = if r.unknown.is_empty() {
                String::new()
            } else {
                format!(" about {}", quote_list(&r.unknown))
            };
            return self.refuse(&format!(
                "I could not find anything{what} in this data. It covers {}. Try for example {}.",
                self.coverage(),
                self.example()
            ));
        }
        if candidates.is_empty() {
            candidates = self.headline(4);
        }
        candidates.dedup();
        let partial = SemanticQuery {
            metrics: Vec::new(),
            dimensions: p.dimensions,
            filters: p.filters,
            conditions: p.conditions,
            time_range: p.time_range,
            compare: p.compare,
            order: p.order,
            limit: p.limit,
            share: false,
            per_day: false,
        };
        let options: Vec<Choice> = candidates
            .iter()
            .take(4)
            .map(|m| {
                let mut q = partial.clone();
                q.metrics = vec![m.clone()];
                for o in &mut q.order {
                    o.by = m.clone();
                }
                if let Some(metric) = self.model.metrics.get(m)
                    && r.ranking
                        .as_ref()
                        .is_some_and(|rk| matches!(rk.rank, Rank::Best | Rank::Worst))
                {
                    let best = r.ranking.as_ref().is_some_and(|rk| rk.rank == Rank::Best);
                    for o in &mut q.order {
                        o.desc = metric.higher_is_better == best;
                    }
                }
                let q = q.canonical();
                Choice {
                    label: super::interpret::plan_summary(self.model, &q),
                    query: q,
                }
            })
            .collect();
        let ask = if options.len() == 1 {
            format!("{why}Did you mean this?")
        } else {
            format!("{why}Which measure do you mean?")
        };
        Outcome::Clarify(Clarification {
            question: ask,
            options,
            partial,
        })
    }

    /// "users last week": the count of users covers all time, so a period
    /// suggests a different metric was meant.
    fn timeless_in_period(&self, q: &SemanticQuery, r: &Reading) -> Option<Clarification> {
        let explicit_range = r
            .cues()
            .any(|c| matches!(c, Cue::Range(t) if *t != TimeRange::All));
        if !explicit_range || q.metrics.len() != 1 {
            return None;
        }
        let m = self.model.metrics.get(&q.metrics[0])?;
        // A cohort fact (users dated by their install) takes a period too.
        let cohort = self.model.measures_of(&m.name).iter().any(|x| {
            self.model
                .measures
                .get(x)
                .and_then(|me| self.model.entities.get(&me.entity))
                .is_some_and(|e| e.time.is_some())
        });
        if m.time_bound || cohort {
            return None;
        }
        let words: Vec<String> = std::iter::once(m.name.clone())
            .chain(std::iter::once(m.label.to_lowercase()))
            .chain(m.synonyms.iter().map(|s| s.to_lowercase()))
            .collect();
        let related: Vec<String> = self
            .model
            .metric_order
            .iter()
            .filter_map(|n| self.model.metrics.get(n))
            .filter(|o| o.time_bound)
            .filter(|o| {
                let names: Vec<String> = std::iter::once(o.label.to_lowercase())
                    .chain(o.synonyms.iter().map(|s| s.to_lowercase()))
                    .collect();
                names
                    .iter()
                    .any(|n| n.split_whitespace().any(|w| words.iter().any(|x| x == w)))
            })
            .map(|o| o.name.clone())
            .take(3)
            .collect();
        // Nothing shares its name ("campaigns yesterday"): offer the main
        // measures for the period, per member when a dimension shares the
        // metric's name.
        let (related, per) = if related.is_empty() {
            let stem = quarry_retrieval::lexical::stem;
            let per = self
                .model
                .dimensions
                .keys()
                .find(|d| stem(d) == stem(&m.name))
                .cloned();
            let headline = self.headline(3);
            (headline, per)
        } else {
            (related, None)
        };
        let mut options = Vec::new();
        for name in &related {
            let mut alt = q.clone();
            if let Some(d) = &per
                && !alt.dimensions.iter().any(|x| x.name == *d)
            {
                alt.dimensions.push(DimensionRef::new(d.clone()));
            }
            alt.metrics = vec![name.clone()];
            for o in &mut alt.order {
                o.by = name.clone();
            }
            let alt = alt.canonical();
            options.push(Choice {
                label: super::interpret::plan_summary(self.model, &alt),
                query: alt,
            });
        }
        let mut all = q.clone();
        all.time_range = None;
        let all = all.canonical();
        options.push(Choice {
            label: format!(
                "{} (all time)",
                super::interpret::plan_summary(self.model, &all)
            ),
            query: all,
        });
        Some(Clarification {
            question: format!(
                "{} counts everything ever recorded, so a period does not apply to it. Which did you mean?",
                m.label
            ),
            options,
            partial: q.clone(),
        })
    }

    fn metric_label(&self, m: &str) -> String {
        self.model
            .metrics
            .get(m)
            .map_or(m.to_string(), |x| x.label.clone())
    }

    fn dimension_label(&self, d: &str) -> String {
        self.model
            .dimensions
            .get(d)
            .map_or(d.to_string(), |x| x.label.to_lowercase())
    }
}

/// `SELECT ... FROM ...`, `WITH x AS (...)`: a query, not a question.
fn looks_like_sql(words: &[String]) -> bool {
    let first = words.first().map_or("", String::as_str);
    let has = |w: &str| words.iter().any(|x| x == w);
    (first == "select" && has("from"))
        || (first == "with" && has("as") && has("select"))
        || (has("select") && has("from") && (has("where") || has("union") || has("join")))
}

fn grain_days(g: TimeGrain) -> i64 {
    match g {
        TimeGrain::Day => 1,
        TimeGrain::Week => 7,
        TimeGrain::Month => 31,
        TimeGrain::Quarter => 92,
        TimeGrain::Year => 366,
    }
}

fn quote_list(words: &[String]) -> String {
    let q: Vec<String> = words.iter().map(|w| format!("\"{w}\"")).collect();
    match q.len() {
        0 => String::new(),
        1 => q[0].clone(),
        _ => format!("{} and {}", q[..q.len() - 1].join(", "), q[q.len() - 1]),
    }
}
