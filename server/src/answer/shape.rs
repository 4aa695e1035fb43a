//! How a result is laid out: which columns are breakdowns, which is the time
//! axis, which are metrics and which carry a metric's comparison. The chart
//! and the narration both read results through this one view, so they never
//! disagree about what a result is.

use quarry_schema::model::{Aggregation, Format, MetricKind, SemanticModel};
use quarry_schema::query::TimeGrain;
use quarry_schema::{CompiledQuery, OutputRole};
use serde_json::Value;

/// A breakdown column.
#[derive(Debug, Clone)]
pub(super) struct DimCol {
    pub index: usize,
    /// The output column's name, the key of the row objects in a chart.
    pub column: String,
    pub label: String,
    /// For time columns: the bucket size (a day when the plan named none).
    pub grain: Option<TimeGrain>,
}

/// A metric and, when the plan compares, the columns that go with it.
#[derive(Debug, Clone)]
pub(super) struct MetricCols {
    pub index: usize,
    pub column: String,
    pub label: String,
    pub format: Format,
    pub higher_is_better: bool,
    /// Whether values add up across the rows of a breakdown (a sum or a count,
    /// not a ratio or a distinct count), so shares and totals mean something.
    pub additive: bool,
    pub previous: Option<usize>,
    pub change: Option<usize>,
    pub change_pct: Option<usize>,
    /// The metric as a share of its total over the breakdown.
    pub share: Option<usize>,
}

impl MetricCols {
    pub fn compared(&self) -> bool {
        self.previous.is_some()
    }
}

#[derive(Debug, Clone)]
pub(super) struct Shape {
    /// Categorical breakdowns, in plan order (a second time column counts as
    /// one, since a result has one time axis at most).
    pub dims: Vec<DimCol>,
    pub time: Option<DimCol>,
    pub metrics: Vec<MetricCols>,
}

impl Shape {
    pub fn of(compiled: &CompiledQuery, model: &SemanticModel) -> Shape {
        let mut dims = Vec::new();
        let mut time: Option<DimCol> = None;
        let mut metrics = Vec::new();
        let index_of = |name: &str| compiled.columns.iter().position(|c| c.name == name);
        for (i, c) in compiled.columns.iter().enumerate() {
            match c.role {
                OutputRole::Dimension | OutputRole::Time => {
                    let grain = (c.role == OutputRole::Time).then(|| {
                        compiled
                            .query
                            .dimensions
                            .iter()
                            .find(|d| d.column_name() == c.name)
                            .and_then(|d| d.grain)
                            .unwrap_or(TimeGrain::Day)
                    });
                    let col = DimCol {
                        index: i,
                        column: c.name.clone(),
                        label: c.label.clone(),
                        grain,
                    };
                    if grain.is_some() && time.is_none() {
                        time = Some(col);
                    } else {
                        dims.push(DimCol { grain: None, ..col });
                    }
                }
                OutputRole::Metric => {
                    let metric = model.metrics.get(&c.name);
                    metrics.push(MetricCols {
                        index: i,
                        column: c.name.clone(),
                        label: c.label.clone(),
                        format: c.format.unwrap_or(Format::Number),
                        higher_is_better: metric.is_none_or(|m| m.higher_is_better),
                        additive: metric.is_some_and(|m| additive(model, &m.kind)),
                        previous: index_of(&format!("{}_previous", c.name)),
                        change: index_of(&format!("{}_change", c.name)),
                        change_pct: index_of(&format!("{}_change_pct", c.name)),
                        share: index_of(&format!("{}_share", c.name)),
                    });
                }
                OutputRole::Previous
                | OutputRole::Change
                | OutputRole::ChangePct
                | OutputRole::Share => {}
            }
        }
        Shape {
            dims,
            time,
            metrics,
        }
    }

    /// Whether the plan compares with another period.
    pub fn compared(&self) -> bool {
        self.metrics.iter().any(MetricCols::compared)
    }

    /// The metric a ranking is about: the one the plan orders by, else the
    /// first.
    pub fn lead_metric(&self, compiled: &CompiledQuery) -> Option<&MetricCols> {
        compiled
            .query
            .order
            .iter()
            .find_map(|o| self.metrics.iter().find(|m| m.column == o.by))
            .or_else(|| self.metrics.first())
    }
}

fn additive(model: &SemanticModel, kind: &MetricKind) -> bool {
    match kind {
        MetricKind::Simple { measure } => model
            .measures
            .get(measure)
            .is_some_and(|m| matches!(m.agg, Aggregation::Sum | Aggregation::Count)),
        MetricKind::Ratio { .. } | MetricKind::Derived { .. } => false,
    }
}

/// A cell, or null when the row is short.
pub(super) fn cell(row: &[Value], i: usize) -> &Value {
    row.get(i).unwrap_or(&Value::Null)
}

/// A cell as a finite number.
pub(super) fn number(row: &[Value], i: usize) -> Option<f64> {
    cell(row, i).as_f64().filter(|x| x.is_finite())
}

/// A breakdown value as people read it; a missing value reads as "(none)".
pub(super) fn item(v: &Value) -> String {
    match v {
        Value::Null => "(none)".to_string(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The row's breakdown values joined, e.g. `Facebook / iOS`.
pub(super) fn item_name(row: &[Value], dims: &[DimCol]) -> String {
    dims.iter()
        .map(|d| item(cell(row, d.index)))
        .collect::<Vec<_>>()
        .join(" / ")
}
