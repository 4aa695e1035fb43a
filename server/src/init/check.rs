//! `quarry model check`'s plan sweep: every metric alone and by every
//! (non-time) dimension it can be read by, compiled and run on the
//! warehouse, with what passed and what failed.

use std::collections::HashMap;

use comfy_table::{Cell, CellAlignment, ContentArrangement, Table, presets::UTF8_FULL_CONDENSED};
use indicatif::ProgressBar;
use quarry_schema::SemanticModel;
use quarry_schema::SemanticQuery;
use quarry_schema::model::{DimensionKind, Join};
use quarry_schema::query::{DimensionRef, TimeRange};
use serde::Serialize;

use crate::semantic::Workspace;

/// Rows each check asks for: enough to prove the plan runs.
const CHECK_LIMIT: u64 = 5;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Passed,
    Failed,
    /// Reads a model score that has no trained version yet.
    Skipped,
}

#[derive(Debug, Clone, Serialize)]
pub struct CheckResult {
    pub metric: String,
    /// None for the metric alone.
    pub dimension: Option<String>,
    pub outcome: Outcome,
    pub rows: usize,
    /// The error, for a failed or skipped check.
    pub message: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct CheckReport {
    pub results: Vec<CheckResult>,
}

impl CheckReport {
    fn count(&self, o: Outcome) -> usize {
        self.results.iter().filter(|r| r.outcome == o).count()
    }

    pub fn passed(&self) -> usize {
        self.count(Outcome::Passed)
    }

    pub fn failed(&self) -> usize {
        self.count(Outcome::Failed)
    }

    pub fn skipped(&self) -> usize {
        self.count(Outcome::Skipped)
    }

    pub fn failures(&self) -> impl Iterator<Item = &CheckResult> {
        self.results.iter().filter(|r| r.outcome == Outcome::Failed)
    }

    /// One row per metric: the metric alone, then how many breakdowns ran.
    pub fn summary_table(&self) -> Table {
        let mut t = Table::new();
        t.load_preset(UTF8_FULL_CONDENSED);
        t.set_header(["metric", "alone", "by dimension", "failed or skipped"]);
        let mut order: Vec<&str> = Vec::new();
        let mut by: HashMap<&str, Vec<&CheckResult>> = HashMap::new();
        for r in &self.results {
            if !by.contains_key(r.metric.as_str()) {
                order.push(&r.metric);
            }
            by.entry(&r.metric).or_default().push(r);
        }
        for m in order {
            let rs = by.get(m).map(Vec::as_slice).unwrap_or(&[]);
            let alone = rs
                .iter()
                .find(|r| r.dimension.is_none())
                .map_or("-", |r| label(r.outcome));
            let dims: Vec<&&CheckResult> = rs.iter().filter(|r| r.dimension.is_some()).collect();
            let ok = dims.iter().filter(|r| r.outcome == Outcome::Passed).count();
            let bad: Vec<&str> = dims
                .iter()
                .filter(|r| r.outcome != Outcome::Passed)
                .filter_map(|r| r.dimension.as_deref())
                .collect();
            t.add_row(vec![
                Cell::new(m),
                Cell::new(alone),
                Cell::new(format!("{ok}/{} ok", dims.len())).set_alignment(CellAlignment::Right),
                Cell::new(bad.join(", ")),
            ]);
        }
        t
    }

    /// The failed and skipped checks with their messages.
    pub fn problems_table(&self) -> Table {
        let mut t = Table::new();
        t.load_preset(UTF8_FULL_CONDENSED);
        // Long messages wrap to the terminal, or to 140 columns in a file.
        t.set_content_arrangement(ContentArrangement::Dynamic);
        if t.width().is_none() {
            t.set_width(140);
        }
        t.set_header(["result", "metric", "dimension", "error"]);
        for r in self.results.iter().filter(|r| r.outcome != Outcome::Passed) {
            t.add_row([
                label(r.outcome),
                &r.metric,
                r.dimension.as_deref().unwrap_or("(alone)"),
                r.message.as_deref().unwrap_or(""),
            ]);
        }
        t
    }
}

fn label(o: Outcome) -> &'static str {
    match o {
        Outcome::Passed => "ok",
        Outcome::Failed => "FAIL",
        Outcome::Skipped => "skip",
    }
}

/// Whether every measure of a metric reaches an entity that carries the
/// dimension, so the compiler can read it for that metric.
pub fn readable_by(
    model: &SemanticModel,
    paths: &mut HashMap<String, HashMap<String, Vec<Join>>>,
    metric: &str,
    dimension: &str,
) -> bool {
    let Some(dim) = model.dimensions.get(dimension) else {
        return false;
    };
    let measures = model.measures_of(metric);
    !measures.is_empty()
        && measures.iter().all(|m| {
            let Some(entity) = model.measures.get(m).map(|x| x.entity.clone()) else {
                return false;
            };
            let reach = paths
                .entry(entity.clone())
                .or_insert_with(|| model.join_paths(&entity));
            dim.bindings.iter().any(|b| reach.contains_key(&b.entity))
        })
}

/// Every check to run: (metric, dimension), the metric alone first.
pub fn plans(model: &SemanticModel) -> Vec<(String, Option<String>)> {
    let mut paths = HashMap::new();
    let mut out = Vec::new();
    for m in model.metric_names() {
        out.push((m.to_string(), None));
        for (name, d) in &model.dimensions {
            if d.kind != DimensionKind::Time && readable_by(model, &mut paths, m, name) {
                out.push((m.to_string(), Some(name.clone())));
            }
        }
    }
    out
}

fn query(model: &SemanticModel, metric: &str, dimension: Option<&str>) -> SemanticQuery {
    let mut q = SemanticQuery::new(&[metric]);
    if let Some(d) = dimension {
        q.dimensions.push(DimensionRef::new(d));
    }
    if model.is_dated() {
        q.time_range = Some(TimeRange::All);
    }
    q.limit = Some(CHECK_LIMIT);
    q
}

async fn run_one(ws: &Workspace, metric: String, dimension: Option<String>) -> CheckResult {
    let q = query(&ws.model, &metric, dimension.as_deref());
    let (outcome, rows, message) = match ws.answer(&q).await {
        Ok(a) => (Outcome::Passed, a.result.num_rows(), None),
        // A metric over a model score is fine before training; it just
        // cannot be computed yet.
        Err(e) if e.to_string().contains("has no promoted version") => {
            (Outcome::Skipped, 0, Some(e.to_string()))
        }
        Err(e) => (Outcome::Failed, 0, Some(e.to_string())),
    };
    CheckResult {
        metric,
        dimension,
        outcome,
        rows,
        message,
    }
}

/// Runs every metric alone and by every dimension it can be read by.
pub async fn check_all(ws: &Workspace) -> CheckReport {
    check_all_with(ws, &ProgressBar::hidden()).await
}

/// [`check_all`], advancing a progress bar by one per plan.
pub async fn check_all_with(ws: &Workspace, bar: &ProgressBar) -> CheckReport {
    let todo = plans(&ws.model);
    bar.set_length(todo.len() as u64);
    let mut report = CheckReport::default();
    for (metric, dimension) in todo {
        bar.set_message(metric.clone());
        report.results.push(run_one(ws, metric, dimension).await);
        bar.inc(1);
    }
    bar.finish_and_clear();
    report
}
