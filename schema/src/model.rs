//! The validated semantic model: what the loader produces and the compiler
//! reads. Every cross-reference in here has been checked, so the compiler can
//! look names up without re-validating them.

use std::collections::{BTreeMap, HashMap, VecDeque};

use datafusion::sql::sqlparser::ast::{Expr, Query};
use serde::Serialize;

use crate::query::TimeRange;

/// The name under which every fact's own time column is exposed.
pub const TIME_DIMENSION: &str = "date";

#[derive(Debug, Clone)]
pub struct SemanticModel {
    pub name: String,
    pub description: String,
    /// Where the as-of date comes from: the latest value of this column.
    /// `None` for a snapshot with no dates (customers, subscriptions): no
    /// period applies to it.
    pub as_of: Option<ColumnRef>,
    /// What the business calls things that are neither metrics nor
    /// dimensions: its currency, what matters most, what can be changed,
    /// what the data does not hold.
    pub vocabulary: Vocabulary,
    /// Applied to activity metrics when a question names no period.
    pub default_time_range: TimeRange,
    /// Rows returned when a plan asks for no limit.
    pub default_limit: u64,
    pub entities: BTreeMap<String, Entity>,
    /// Keyed by the entity the join starts from.
    pub joins: BTreeMap<String, Vec<Join>>,
    pub dimensions: BTreeMap<String, Dimension>,
    pub measures: BTreeMap<String, Measure>,
    pub metrics: BTreeMap<String, Metric>,
    /// Metric names in the order the model declares them.
    pub metric_order: Vec<String>,
    pub glossary: Vec<GlossaryTerm>,
    pub verified_queries: Vec<VerifiedQuery>,
}

/// The model's words for the things the planner and the answers must know
/// about a business but that no metric or dimension says.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Vocabulary {
    /// The currency of every `format: currency` metric.
    pub currency: Option<Currency>,
    /// The metrics that matter most, in order: offered when a question names
    /// none, used in the coverage sentence and in suggestions.
    pub headline_metrics: Vec<String>,
    /// The dimensions people break numbers down by first, in order.
    pub breakdowns: Vec<String>,
    /// Example questions, shown in messages ("try for example ...").
    pub examples: Vec<String>,
    /// Nouns for things of this business that can be changed (campaigns,
    /// budgets, subscriptions): "pause the X" names a change to refuse.
    pub actionable: Vec<String>,
    /// Nouns for data this warehouse does not hold; a question about them is
    /// refused rather than answered with something else.
    pub out_of_scope: Vec<String>,
    /// What the data is about, as a phrase ("the app's marketing").
    pub subject: String,
    /// What the data says about the future, for a question asking for a
    /// forecast (predictions the models make).
    pub forecasts: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Currency {
    /// ISO 4217 code: USD, EUR.
    pub code: String,
    /// Written before amounts: "$", "€".
    pub symbol: String,
    /// Words people write after amounts ("dollars", "bucks"), lower case.
    pub words: Vec<String>,
}

impl Currency {
    /// Whether a lower-case word names this currency.
    pub fn is_word(&self, w: &str) -> bool {
        w == self.code.to_lowercase() || self.words.iter().any(|x| x == w)
    }
}

/// The value a dimension takes when a row has none (installs without a
/// campaign read "Organic").
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unattributed {
    pub value: String,
    /// Whether a ranking of the dimension's members lists it ("which network
    /// brought the most users" may answer "Organic"); when not, rankings of
    /// metrics that can carry it leave it out.
    pub in_rankings: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ColumnRef {
    pub entity: String,
    pub column: String,
}

#[derive(Debug, Clone)]
pub enum Source {
    /// A relation registered with the engine under this name.
    Table(String),
    /// A derived table defined by a query over other relations.
    Sql(Box<Query>),
}

#[derive(Debug, Clone)]
pub struct Entity {
    pub name: String,
    pub description: String,
    pub source: Source,
    pub primary_key: Vec<String>,
    /// Other column sets that are unique per row, usable as join targets.
    pub unique_keys: Vec<Vec<String>>,
    /// The column that places a row in time, for facts.
    pub time: Option<TimeColumn>,
}

impl Entity {
    pub fn is_unique_key(&self, columns: &[String]) -> bool {
        let mut wanted: Vec<&String> = columns.iter().collect();
        wanted.sort();
        std::iter::once(&self.primary_key)
            .chain(self.unique_keys.iter())
            .filter(|k| !k.is_empty())
            .any(|k| {
                let mut have: Vec<&String> = k.iter().collect();
                have.sort();
                have == wanted
            })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TimeKind {
    Date,
    Timestamp,
}

#[derive(Debug, Clone)]
pub struct TimeColumn {
    pub column: String,
    pub kind: TimeKind,
    /// The column dates when each row began (a user's install) rather than
    /// an event: a period selects a cohort, and with no period named every
    /// row counts, as for an entity count.
    pub cohort: bool,
}

/// A many-to-one edge: each row of `from` matches at most one row of `to`,
/// because `to_columns` is a unique key of `to`. Only such edges exist, which
/// is what lets the compiler join dimensions onto a fact without fan-out.
#[derive(Debug, Clone)]
pub struct Join {
    pub from: String,
    pub to: String,
    pub from_columns: Vec<String>,
    pub to_columns: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DimensionKind {
    Categorical,
    Time,
    Number,
    Boolean,
}

/// A known naming scheme for a dimension's values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ValueNames {
    /// ISO 3166 alpha-2 codes, also known by their English country names.
    IsoCountry,
}

#[derive(Debug, Clone)]
pub struct Dimension {
    pub name: String,
    pub label: String,
    pub description: String,
    pub synonyms: Vec<String>,
    pub sample_values: Vec<String>,
    pub kind: DimensionKind,
    /// Whether retrieval indexes the dimension's distinct values from the
    /// warehouse, so a question naming one becomes a filter. Default: yes
    /// for categorical dimensions.
    pub index_values: bool,
    /// Other names of the values, for retrieval ("Germany" for `DE`).
    pub value_names: Option<ValueNames>,
    /// Other names of particular values ("fb" for Facebook).
    pub value_synonyms: BTreeMap<String, Vec<String>>,
    /// The value that stands for "none" on this dimension, if any.
    pub unattributed: Option<Unattributed>,
    /// How the dimension reads on each entity that carries it, in order of
    /// preference when several are equally close to a fact.
    pub bindings: Vec<Binding>,
}

#[derive(Debug, Clone)]
pub struct Binding {
    pub entity: String,
    /// Columns of `entity` unqualified; columns of entities reachable from it
    /// qualified by entity name.
    pub expr: Expr,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Aggregation {
    Sum,
    Count,
    CountDistinct,
    Min,
    Max,
    Avg,
}

impl Aggregation {
    /// Whether "no rows" means zero rather than unknown.
    pub fn zero_when_empty(self) -> bool {
        matches!(
            self,
            Aggregation::Sum | Aggregation::Count | Aggregation::CountDistinct
        )
    }
}

#[derive(Debug, Clone)]
pub struct Measure {
    pub name: String,
    pub entity: String,
    pub description: String,
    pub agg: Aggregation,
    /// None counts rows.
    pub expr: Option<Expr>,
    pub filter: Option<Expr>,
    /// Entities whose bindings win when a dimension is read for this measure,
    /// e.g. attributed revenue reads `country` from the campaign, not the user.
    pub prefer: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    Number,
    Integer,
    Currency,
    Percent,
    Ratio,
}

#[derive(Debug, Clone)]
pub struct Metric {
    pub name: String,
    pub label: String,
    pub description: String,
    pub synonyms: Vec<String>,
    pub format: Format,
    /// Whether a bigger value is good news (drives narration and ordering).
    pub higher_is_better: bool,
    /// Money paid out (spend, fees): a ratio of it over a count is what one
    /// of those costs, so "the cheapest X" ranks by it.
    pub cost: bool,
    /// The metric that answers for this one by dimensions this one cannot
    /// reach (revenue of order lines for revenue of orders, by product):
    /// the answer says which one it used.
    pub finer_grain: Option<String>,
    /// Activity metrics take the default period; entity counts cover all rows.
    pub time_bound: bool,
    pub kind: MetricKind,
}

#[derive(Debug, Clone)]
pub enum MetricKind {
    Simple {
        measure: String,
    },
    Ratio {
        numerator: Operand,
        denominator: Operand,
    },
    Derived {
        expr: Expr,
        refs: Vec<String>,
    },
}

/// A ratio's side: another metric or a bare measure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Operand {
    Metric(String),
    Measure(String),
}

#[derive(Debug, Clone, Serialize)]
pub struct GlossaryTerm {
    pub term: String,
    pub synonyms: Vec<String>,
    pub definition: String,
    /// Metrics or dimensions the term stands for.
    pub maps_to: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct VerifiedQuery {
    pub question: String,
    pub query: crate::query::SemanticQuery,
}

impl SemanticModel {
    /// Whether a metric's value over a group is part of its value over all
    /// groups (a count or a sum), so that it makes sense as a share of it.
    pub fn adds_up(&self, metric: &str) -> bool {
        self.metrics.get(metric).is_some_and(|m| match &m.kind {
            MetricKind::Simple { measure } => self.measures.get(measure).is_some_and(|x| {
                matches!(
                    x.agg,
                    Aggregation::Sum | Aggregation::Count | Aggregation::CountDistinct
                )
            }),
            MetricKind::Ratio { .. } | MetricKind::Derived { .. } => false,
        })
    }

    /// Whether a ratio's side is this metric: the metric itself, or the
    /// measure of a simple metric.
    pub fn is_operand(&self, op: &Operand, metric: &str) -> bool {
        match op {
            Operand::Metric(m) => m == metric,
            Operand::Measure(x) => self
                .metrics
                .get(metric)
                .is_some_and(|m| matches!(&m.kind, MetricKind::Simple { measure } if measure == x)),
        }
    }

    /// The ratio metric of this numerator over this denominator.
    pub fn ratio_of(&self, numerator: &str, denominator: &str) -> Option<String> {
        self.metrics.iter().find_map(|(name, m)| match &m.kind {
            MetricKind::Ratio {
                numerator: n,
                denominator: d,
            } if self.is_operand(n, numerator) && self.is_operand(d, denominator) => {
                Some(name.clone())
            }
            _ => None,
        })
    }

    /// The measures a metric is built from, depth first, without duplicates.
    pub fn measures_of(&self, metric: &str) -> Vec<String> {
        let mut out = Vec::new();
        self.collect_measures(metric, &mut out);
        out
    }

    fn collect_measures(&self, metric: &str, out: &mut Vec<String>) {
        let Some(m) = self.metrics.get(metric) else {
            if self.measures.contains_key(metric) && !out.iter().any(|x| x == metric) {
                out.push(metric.to_string());
            }
            return;
        };
        match &m.kind {
            MetricKind::Simple { measure } => {
                if !out.contains(measure) {
                    out.push(measure.clone());
                }
            }
            MetricKind::Ratio {
                numerator,
                denominator,
            } => {
                for op in [numerator, denominator] {
                    match op {
                        Operand::Metric(n) => self.collect_measures(n, out),
                        Operand::Measure(n) => {
                            if !out.contains(n) {
                                out.push(n.clone());
                            }
                        }
                    }
                }
            }
            MetricKind::Derived { refs, .. } => {
                for r in refs {
                    self.collect_measures(r, out);
                }
            }
        }
    }

    /// Shortest many-to-one paths from `root` to every reachable entity, as
    /// the list of joins to apply in order. Ties go to the join declared first.
    pub fn join_paths(&self, root: &str) -> HashMap<String, Vec<Join>> {
        let mut paths: HashMap<String, Vec<Join>> = HashMap::new();
        paths.insert(root.to_string(), Vec::new());
        let mut queue = VecDeque::from([root.to_string()]);
        while let Some(e) = queue.pop_front() {
            let base = paths.get(&e).cloned().unwrap_or_default();
            for j in self.joins.get(&e).map(Vec::as_slice).unwrap_or(&[]) {
                if paths.contains_key(&j.to) {
                    continue;
                }
                let mut p = base.clone();
                p.push(j.clone());
                paths.insert(j.to.clone(), p);
                queue.push_back(j.to.clone());
            }
        }
        paths
    }

    /// Every name a question or a plan can use for a metric.
    pub fn metric_names(&self) -> impl Iterator<Item = &str> {
        self.metric_order.iter().map(String::as_str)
    }

    /// The ratio metric that says what one unit of `noun_metric` costs: a
    /// ratio over it (or over a metric measured the same way) whose
    /// numerator is a cost.
    pub fn cost_per(&self, noun_metric: &str) -> Option<String> {
        let costs: Vec<&str> = self
            .metric_order
            .iter()
            .filter(|m| self.metrics.get(*m).is_some_and(|x| x.cost))
            .map(String::as_str)
            .collect();
        costs.iter().find_map(|c| self.ratio_of(c, noun_metric))
    }

    /// Whether the model has dates at all.
    pub fn is_dated(&self) -> bool {
        self.as_of.is_some()
    }

    pub fn dimension_names(&self) -> impl Iterator<Item = &str> {
        std::iter::once(TIME_DIMENSION).chain(self.dimensions.keys().map(String::as_str))
    }
}
