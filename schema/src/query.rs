//! `SemanticQuery`: the typed plan every question becomes. It names metrics
//! and dimensions of the semantic model, never tables or columns, and has one
//! canonical form so that two plans with the same meaning serialise the same
//! (which is what makes them a safe cache key and a testable planner output).
//! Its JSON schema is derived from the same types, so a plan written by an LLM
//! is constrained to exactly what the compiler reads.

use std::fmt;

use chrono::NaiveDate;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct SemanticQuery {
    /// Metric names, in the order they should appear.
    pub metrics: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dimensions: Vec<DimensionRef>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub filters: Vec<Filter>,
    /// Conditions on metric values, applied after aggregation (`roas > 3`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// None means the model's default period for activity metrics.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_range: Option<TimeRange>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compare: Option<Comparison>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub order: Vec<OrderBy>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u64>,
    /// Also show each row's value of the metrics that add up (counts and
    /// sums) as a share of their total over every value of the breakdown:
    /// the total lifts the filters on the breakdown's dimensions and keeps
    /// the period, the time buckets and the other filters.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub share: bool,
    /// Show the metrics that add up as an average per day of the period
    /// ("average daily revenue"): each total divided by the period's days.
    /// Not with a time breakdown.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub per_day: bool,
}

/// A dimension to group by; `grain` applies to time dimensions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DimensionRef {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grain: Option<TimeGrain>,
}

impl DimensionRef {
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            grain: None,
        }
    }

    pub fn time(grain: TimeGrain) -> Self {
        Self {
            name: crate::model::TIME_DIMENSION.to_string(),
            grain: Some(grain),
        }
    }

    /// Whether this breaks down by time (the period's buckets, or a date
    /// dimension at a grain) rather than by members.
    pub fn is_time(&self) -> bool {
        self.name == crate::model::TIME_DIMENSION || self.grain.is_some()
    }

    /// The output column's name: the grain for time (`week`), else the name.
    pub fn column_name(&self) -> String {
        match (self.name.as_str(), self.grain) {
            (crate::model::TIME_DIMENSION, Some(g)) => g.to_string(),
            (crate::model::TIME_DIMENSION, None) => TimeGrain::Day.to_string(),
            (n, Some(g)) => format!("{n}_{g}"),
            (n, None) => n.to_string(),
        }
    }
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum TimeGrain {
    Day,
    Week,
    Month,
    Quarter,
    Year,
}

impl fmt::Display for TimeGrain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TimeGrain::Day => "day",
            TimeGrain::Week => "week",
            TimeGrain::Month => "month",
            TimeGrain::Quarter => "quarter",
            TimeGrain::Year => "year",
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Filter {
    pub dimension: String,
    pub op: FilterOp,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<Literal>,
}

impl Filter {
    pub fn eq(dimension: impl Into<String>, value: impl Into<Literal>) -> Self {
        Self {
            dimension: dimension.into(),
            op: FilterOp::In,
            values: vec![value.into()],
        }
    }

    pub fn not_in(dimension: impl Into<String>, values: Vec<Literal>) -> Self {
        Self {
            dimension: dimension.into(),
            op: FilterOp::NotIn,
            values,
        }
    }
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum FilterOp {
    Eq,
    Ne,
    In,
    NotIn,
    Gt,
    Gte,
    Lt,
    Lte,
    /// Two values, both inclusive.
    Between,
    /// Case-insensitive substring.
    Contains,
    IsNull,
    IsNotNull,
}

impl FilterOp {
    /// How many values the operator takes: (min, max).
    pub fn arity(self) -> (usize, usize) {
        match self {
            FilterOp::IsNull | FilterOp::IsNotNull => (0, 0),
            FilterOp::In | FilterOp::NotIn => (1, usize::MAX),
            FilterOp::Between => (2, 2),
            _ => (1, 1),
        }
    }
}

/// A value in a filter. Untagged so plans read naturally in JSON.
#[derive(Debug, Clone, PartialEq, PartialOrd, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Literal {
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
}

impl fmt::Display for Literal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Literal::Bool(b) => write!(f, "{b}"),
            Literal::Int(i) => write!(f, "{i}"),
            Literal::Float(x) => write!(f, "{x}"),
            Literal::Str(s) => f.write_str(s),
        }
    }
}

impl From<&str> for Literal {
    fn from(s: &str) -> Self {
        Literal::Str(s.to_string())
    }
}
impl From<String> for Literal {
    fn from(s: String) -> Self {
        Literal::Str(s)
    }
}
impl From<i64> for Literal {
    fn from(i: i64) -> Self {
        Literal::Int(i)
    }
}
impl From<f64> for Literal {
    fn from(x: f64) -> Self {
        Literal::Float(x)
    }
}
impl From<bool> for Literal {
    fn from(b: bool) -> Self {
        Literal::Bool(b)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Condition {
    pub metric: String,
    pub op: CompareOp,
    pub value: f64,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum CompareOp {
    Gt,
    Gte,
    Lt,
    Lte,
    Eq,
    Ne,
}

impl fmt::Display for CompareOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CompareOp::Gt => ">",
            CompareOp::Gte => ">=",
            CompareOp::Lt => "<",
            CompareOp::Lte => "<=",
            CompareOp::Eq => "=",
            CompareOp::Ne => "<>",
        })
    }
}

/// A period, absolute or relative to the warehouse's as-of date. Ranges are
/// whole days, both ends inclusive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum TimeRange {
    /// `offset` days before the as-of date: 0 is today, 1 yesterday.
    Day { offset: u32 },
    /// The `n` days ending on the as-of date.
    LastNDays { n: u32 },
    /// From the start of the as-of date's unit to the as-of date (`this month`).
    Current { unit: CalendarUnit },
    /// The `n` full units before the as-of date's unit (`last month`, `last 3 weeks`).
    Previous {
        unit: CalendarUnit,
        #[serde(default = "one")]
        n: u32,
    },
    /// A named calendar period (`October 2024`, `Q3`), inclusive.
    Between { start: NaiveDate, end: NaiveDate },
    /// From a date through the as-of date.
    Since { start: NaiveDate },
    /// No time restriction.
    All,
}

fn one() -> u32 {
    1
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum CalendarUnit {
    Week,
    Month,
    Quarter,
    Year,
}

impl From<CalendarUnit> for TimeGrain {
    fn from(u: CalendarUnit) -> Self {
        match u {
            CalendarUnit::Week => TimeGrain::Week,
            CalendarUnit::Month => TimeGrain::Month,
            CalendarUnit::Quarter => TimeGrain::Quarter,
            CalendarUnit::Year => TimeGrain::Year,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Comparison {
    /// The period just before (same length; period-to-date for `current`).
    /// With a time breakdown, each bucket is compared with the one before.
    PreviousPeriod,
    /// The same dates a year earlier (52 weeks earlier for a weekly breakdown).
    SamePeriodLastYear,
    /// Segments side by side: `compare iOS to Android`.
    Segments {
        dimension: String,
        values: Vec<Literal>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderBy {
    /// A metric or a dimension's output column.
    pub by: String,
    #[serde(default)]
    pub desc: bool,
}

impl SemanticQuery {
    pub fn new(metrics: &[&str]) -> Self {
        Self {
            metrics: metrics.iter().map(|m| m.to_string()).collect(),
            ..Self::default()
        }
    }

    /// The canonical form: same meaning, same value. Names are lower-cased,
    /// duplicates dropped, equality filters written as sets with sorted values,
    /// filters and conditions sorted, segment comparisons folded into a filter
    /// plus a breakdown, and the default order made explicit.
    pub fn canonical(&self) -> SemanticQuery {
        let mut q = self.clone();
        let lower = |s: &str| s.trim().to_lowercase();

        let mut seen = Vec::new();
        q.metrics = q
            .metrics
            .iter()
            .map(|m| lower(m))
            .filter(|m| {
                let new = !seen.contains(m);
                if new {
                    seen.push(m.clone());
                }
                new
            })
            .collect();

        let mut dims: Vec<DimensionRef> = Vec::new();
        for d in &q.dimensions {
            let d = DimensionRef {
                name: lower(&d.name),
                grain: d.grain,
            };
            if !dims.contains(&d) {
                dims.push(d);
            }
        }
        q.dimensions = dims;

        if let Some(Comparison::Segments { dimension, values }) = &q.compare {
            let dimension = lower(dimension);
            q.filters.push(Filter {
                dimension: dimension.clone(),
                op: FilterOp::In,
                values: values.clone(),
            });
            let d = DimensionRef::new(dimension);
            if !q.dimensions.contains(&d) {
                q.dimensions.push(d);
            }
            q.compare = None;
        }

        for f in &mut q.filters {
            f.dimension = lower(&f.dimension);
            f.op = match f.op {
                FilterOp::Eq => FilterOp::In,
                FilterOp::Ne => FilterOp::NotIn,
                op => op,
            };
            if matches!(f.op, FilterOp::In | FilterOp::NotIn) {
                f.values
                    .sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
                f.values.dedup();
            }
        }
        // Two `in` filters on one dimension intersect; keep them separate
        // but ordered so the key is stable.
        q.filters.sort_by(|a, b| {
            (a.dimension.as_str(), a.op)
                .cmp(&(b.dimension.as_str(), b.op))
                .then_with(|| {
                    a.values
                        .partial_cmp(&b.values)
                        .unwrap_or(std::cmp::Ordering::Equal)
                })
        });
        q.filters.dedup();

        for c in &mut q.conditions {
            c.metric = lower(&c.metric);
        }
        q.conditions.sort_by(|a, b| {
            (a.metric.as_str(), a.op)
                .cmp(&(b.metric.as_str(), b.op))
                .then(a.value.total_cmp(&b.value))
        });
        q.conditions.dedup();

        for o in &mut q.order {
            o.by = lower(&o.by);
        }
        if q.order.is_empty() {
            q.order = self.default_order(&q);
        }
        q
    }

    /// Time series read oldest first; a top-N reads biggest first; anything
    /// else by its breakdown.
    fn default_order(&self, q: &SemanticQuery) -> Vec<OrderBy> {
        if let Some(t) = q
            .dimensions
            .iter()
            .find(|d| d.name == crate::model::TIME_DIMENSION)
        {
            return vec![OrderBy {
                by: t.column_name(),
                desc: false,
            }];
        }
        if !q.dimensions.is_empty()
            && let Some(m) = q.metrics.first()
        {
            return vec![OrderBy {
                by: m.clone(),
                desc: true,
            }];
        }
        Vec::new()
    }

    /// The canonical JSON, the plan's identity.
    pub fn canonical_json(&self) -> String {
        serde_json::to_string(&self.canonical()).unwrap_or_default()
    }
}
