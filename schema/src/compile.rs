//! The compiler: `SemanticQuery` -> one SQL statement, built as sqlparser AST.
//!
//! How it stays correct where semantic layers usually go wrong:
//! - Each measure is aggregated on its own fact table at the requested grain,
//!   joined only to entities reachable through many-to-one joins (the loader
//!   guarantees every join lands on a unique key), so no row is ever repeated.
//! - Facts are then combined on the shared dimension values: the union of the
//!   keys every fact produced, left-joined to each fact's aggregate with
//!   null-safe equality. Adding a metric from another fact never changes the
//!   numbers of the first one.
//! - Ratios are ratios of the sums at the requested grain, never averages of
//!   row-level ratios.
//! - Excluding a value keeps rows where the dimension is missing (excluding
//!   Facebook keeps organic installs), because `NOT IN` alone would drop them.
//! - Periods are whole days resolved against the warehouse's as-of date; a
//!   period outside the data is an error rather than a confident zero.

use std::collections::HashMap;

use chrono::NaiveDate;
use datafusion::sql::sqlparser::ast::{
    BinaryOperator, DataType, Expr, Ident, Query, SelectItem, SetExpr, Statement, TableWithJoins,
    Value, VisitMut, VisitorMut,
};
use serde::Serialize;

use crate::ast;
use crate::diagnostics::suggestion;
use crate::model::*;
use crate::query::*;
use crate::time::{self, DateRange, TimeError};

/// What the compiler needs to know about the data it compiles for.
#[derive(Debug, Clone, Copy)]
pub struct CompileContext {
    /// The last full day of data; relative periods resolve against it.
    pub as_of: NaiveDate,
    /// The first day of data, when known, to flag periods the data does not cover.
    pub data_start: Option<NaiveDate>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CompiledQuery {
    /// The canonical plan that was compiled.
    pub query: SemanticQuery,
    #[serde(skip)]
    pub statement: Statement,
    pub sql: String,
    pub columns: Vec<OutputColumn>,
    /// The period the numbers cover, when the plan is bound to time.
    pub window: Option<DateRange>,
    /// The period they are compared with.
    pub comparison_window: Option<DateRange>,
    /// The row cap applied when the plan asked for no limit.
    pub row_cap: Option<u64>,
    /// Things the answer must tell the user (defaulted period, partial data).
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct OutputColumn {
    pub name: String,
    pub label: String,
    pub role: OutputRole,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub format: Option<Format>,
}

#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum OutputRole {
    Dimension,
    Time,
    Metric,
    Previous,
    Change,
    ChangePct,
    /// A metric's value as a share of its total over the breakdown.
    Share,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CompileError {
    #[error("a plan needs at least one metric; available: {0}")]
    NoMetrics(String),
    #[error("unknown metric \"{name}\"{hint}")]
    UnknownMetric { name: String, hint: String },
    #[error("unknown dimension \"{name}\"{hint}")]
    UnknownDimension { name: String, hint: String },
    #[error(
        "{metric} cannot be broken down or filtered by {dimension}: nothing links {entity} to it; drop {dimension} or ask for {metric} separately"
    )]
    Unreachable {
        metric: String,
        dimension: String,
        entity: String,
    },
    #[error("{metric} has no time column, so it cannot be broken down by {grain}")]
    NoTime { metric: String, grain: String },
    #[error("invalid filter on {dimension}: {reason}")]
    BadFilter { dimension: String, reason: String },
    #[error("a time grain only applies to time dimensions; \"{0}\" is not one")]
    GrainOnNonTime(String),
    #[error("cannot order by \"{name}\": it is not a column of this answer{hint}")]
    BadOrder { name: String, hint: String },
    #[error(transparent)]
    Time(#[from] TimeError),
    #[error(
        "there is no data for {start} to {end}: the warehouse covers {first} to {last}; ask about a period inside it"
    )]
    NoData {
        start: NaiveDate,
        end: NaiveDate,
        first: NaiveDate,
        last: NaiveDate,
    },
    #[error("a limit must be at least 1")]
    ZeroLimit,
    #[error("{0}")]
    BadShare(String),
}

/// Name problems in a plan, as messages (used by the loader for verified
/// queries, and by `compile`).
pub fn check_names(model: &SemanticModel, q: &SemanticQuery) -> Vec<String> {
    let mut out = Vec::new();
    let metrics: Vec<&str> = model.metric_names().collect();
    let dims: Vec<&str> = model.dimension_names().collect();
    for m in q
        .metrics
        .iter()
        .chain(q.conditions.iter().map(|c| &c.metric))
    {
        if !model.metrics.contains_key(m.to_lowercase().trim()) {
            out.push(format!(
                "unknown metric \"{m}\"{}",
                suggestion(m, metrics.iter().copied())
            ));
        }
    }
    let mut dim_names: Vec<&String> = q.dimensions.iter().map(|d| &d.name).collect();
    dim_names.extend(q.filters.iter().map(|f| &f.dimension));
    if let Some(Comparison::Segments { dimension, .. }) = &q.compare {
        dim_names.push(dimension);
    }
    for d in dim_names {
        let d = d.to_lowercase();
        if !dims.contains(&d.trim()) {
            out.push(format!(
                "unknown dimension \"{d}\"{}",
                suggestion(&d, dims.iter().copied())
            ));
        }
    }
    out
}

/// One aggregation subquery: the measures of one fact table that read
/// dimensions the same way.
#[derive(Debug, Clone)]
struct FactGroup {
    entity: String,
    prefer: Vec<String>,
    measures: Vec<String>,
}

/// Where a measure's value lives in the outer query.
#[derive(Debug, Clone)]
struct Slot {
    /// CTE alias of the current period's subquery.
    current: String,
    /// CTE alias of the comparison period's subquery.
    previous: Option<String>,
    /// CTE alias of the total over the breakdown, for shares.
    total: Option<String>,
}

/// Which of a measure's subqueries an expression reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Current,
    Previous,
    Total,
}

pub fn compile(
    model: &SemanticModel,
    query: &SemanticQuery,
    ctx: &CompileContext,
) -> Result<CompiledQuery, CompileError> {
    let mut q = query.canonical();
    // A condition on a metric needs that metric computed: show it too.
    for c in &q.conditions {
        if !q.metrics.contains(&c.metric) {
            q.metrics.push(c.metric.clone());
        }
    }
    validate(model, &q)?;
    let mut notes = Vec::new();

    // The period.
    let time_bound = q.metrics.iter().any(|m| model.metrics[m].time_bound);
    let range = match (&q.time_range, time_bound) {
        (Some(r), _) => Some(r.clone()),
        (None, true) => {
            notes.push(format!(
                "no period was named, so this covers {}",
                describe_range(&model.default_time_range)
            ));
            Some(model.default_time_range.clone())
        }
        (None, false) => None,
    };
    let window = match &range {
        Some(r) => time::resolve(r, ctx.as_of)?,
        None => None,
    };
    // A plan over undated entities only (a snapshot of customers) has no
    // period to check: each of them says so in a note below.
    let dated = q.metrics.iter().any(|m| {
        model.measures_of(m).iter().any(|x| {
            model
                .measures
                .get(x)
                .is_some_and(|me| model.entities[&me.entity].time.is_some())
        })
    });
    if let Some(w) = window.filter(|_| dated) {
        check_coverage(&w, "the period", ctx, &mut notes)?;
    }
    let time_dim = q
        .dimensions
        .iter()
        .find(|d| d.name == TIME_DIMENSION)
        .cloned();
    let grain = time_dim.as_ref().map(|d| d.grain.unwrap_or(TimeGrain::Day));

    // A bucket cut by the period's edge holds fewer days than its label says.
    if let (Some(g), Some(w)) = (grain, window)
        && g != TimeGrain::Day
    {
        let first = time::bucket_start(w.start, g);
        if first != w.start {
            notes.push(format!(
                "the first {g} (labelled {first}) only counts from {}, where the period starts",
                w.start
            ));
        }
        let next = time::shift(time::bucket_start(w.end, g), g, 1)?;
        if w.end.succ_opt() != Some(next) {
            notes.push(format!(
                "the last {g} (labelled {}) is partial: it runs to {}",
                time::bucket_start(w.end, g),
                w.end
            ));
        }
    }
    // The comparison period, and how far previous buckets shift to line up.
    let (comparison_window, bucket_shift) = match (&q.compare, &range, window) {
        (None, _, _) | (Some(Comparison::Segments { .. }), _, _) => (None, None),
        (Some(_), _, None) | (Some(_), None, _) => {
            return Err(TimeError::NoPrevious("all time").into());
        }
        (Some(Comparison::PreviousPeriod), Some(r), Some(w)) => match grain {
            Some(g) => (
                Some(DateRange {
                    start: time::shift(w.start, g, -1)?,
                    end: time::shift(w.end, g, -1)?,
                }),
                Some((1, g)),
            ),
            None => (Some(time::previous_period(r, ctx.as_of)?), None),
        },
        (Some(Comparison::SamePeriodLastYear), _, Some(w)) => match grain {
            Some(TimeGrain::Week) | Some(TimeGrain::Day) => (
                Some(DateRange {
                    start: time::shift(w.start, TimeGrain::Week, -52)?,
                    end: time::shift(w.end, TimeGrain::Week, -52)?,
                }),
                Some((52, TimeGrain::Week)),
            ),
            Some(g) => (
                Some(time::same_period_last_year(&w)?),
                Some((year_in(g), g)),
            ),
            None => (Some(time::same_period_last_year(&w)?), None),
        },
    };
    if let Some(cw) = comparison_window {
        check_coverage(&cw, "the comparison period", ctx, &mut notes)?;
    }

    // Group measures into fact subqueries.
    let mut groups: Vec<FactGroup> = Vec::new();
    let mut measure_group: HashMap<String, usize> = HashMap::new();
    for m in &q.metrics {
        for name in model.measures_of(m) {
            if measure_group.contains_key(&name) {
                continue;
            }
            let me = &model.measures[&name];
            let idx = match groups
                .iter()
                .position(|g| g.entity == me.entity && g.prefer == me.prefer)
            {
                Some(i) => i,
                None => {
                    groups.push(FactGroup {
                        entity: me.entity.clone(),
                        prefer: me.prefer.clone(),
                        measures: Vec::new(),
                    });
                    groups.len() - 1
                }
            };
            groups[idx].measures.push(name.clone());
            measure_group.insert(name, idx);
        }
    }

    let ctx_as_of = ctx.as_of;
    let mut ctes: Vec<(String, Query)> = Vec::new();
    let mut slots: HashMap<String, Slot> = HashMap::new();
    let mut totals: Vec<String> = Vec::new();
    for (i, g) in groups.iter().enumerate() {
        let alias = format!("f{i}");
        let metric_for_errors = q
            .metrics
            .iter()
            .find(|m| model.measures_of(m).iter().any(|x| g.measures.contains(x)))
            .cloned()
            .unwrap_or_default();
        // Entity counts cover every row whatever the period (the warehouse
        // contract); say so rather than let the period look applied.
        let dated = model.entities[&g.entity].time.is_some();
        if !dated && q.time_range.as_ref().is_some_and(|t| *t != TimeRange::All) {
            let label = model
                .metrics
                .get(&metric_for_errors)
                .map_or(metric_for_errors.clone(), |m| m.label.clone());
            notes.push(format!(
                "{label} counts every row of {}: it has no dates, so the period does not apply to it",
                g.entity
            ));
        }
        let sub = fact_subquery(
            model,
            g,
            &q,
            window.filter(|_| dated),
            None,
            ctx_as_of,
            &metric_for_errors,
        )?;
        ctes.push((alias.clone(), sub));
        let previous = match comparison_window {
            Some(cw) if model.entities[&g.entity].time.is_some() => {
                let palias = format!("p{i}");
                let sub = fact_subquery(
                    model,
                    g,
                    &q,
                    Some(cw),
                    bucket_shift,
                    ctx_as_of,
                    &metric_for_errors,
                )?;
                ctes.push((palias.clone(), sub));
                Some(palias)
            }
            // Entity counts have no period: the same number on both sides.
            Some(_) => Some(alias.clone()),
            None => None,
        };
        // The total a share divides by: the same measures without the
        // breakdown (time buckets stay) and without filters on it.
        let shared = q
            .metrics
            .iter()
            .filter(|m| model.adds_up(m))
            .any(|m| model.measures_of(m).iter().any(|x| g.measures.contains(x)));
        let total = if q.share && shared {
            let talias = format!("t{i}");
            let sub = fact_subquery(
                model,
                g,
                &share_total(&q),
                window.filter(|_| dated),
                None,
                ctx_as_of,
                &metric_for_errors,
            )?;
            ctes.push((talias.clone(), sub));
            totals.push(talias.clone());
            Some(talias)
        } else {
            None
        };
        for m in &g.measures {
            slots.insert(
                m.clone(),
                Slot {
                    current: alias.clone(),
                    previous: previous.clone(),
                    total: total.clone(),
                },
            );
        }
    }

    // Combine the subqueries on the shared dimension values.
    let dims = q.dimensions.clone();
    let dim_cols: Vec<String> = (0..dims.len()).map(|i| format!("d{i}")).collect();
    let sub_aliases: Vec<String> = ctes
        .iter()
        .map(|(a, _)| a.clone())
        .filter(|a| !totals.contains(a))
        .collect();
    let single = sub_aliases.len() == 1;
    let mut combine = ast::select();
    let key_alias = if single {
        sub_aliases[0].clone()
    } else {
        "k".to_string()
    };
    if single {
        combine.from.push(ast::from(
            ast::table(&sub_aliases[0], &sub_aliases[0]),
            Vec::new(),
        ));
    } else if dims.is_empty() {
        let mut it = sub_aliases.iter();
        let first = it.next().cloned().unwrap_or_default();
        let joins = it.map(|a| ast::cross_join(ast::table(a, a))).collect();
        combine
            .from
            .push(ast::from(ast::table(&first, &first), joins));
    } else {
        let keys = sub_aliases
            .iter()
            .map(|a| {
                let mut s = ast::select();
                s.projection = dim_cols
                    .iter()
                    .map(|c| SelectItem::UnnamedExpr(ast::col(a, c)))
                    .collect();
                s.from.push(ast::from(ast::table(a, a), Vec::new()));
                SetExpr::Select(Box::new(s))
            })
            .reduce(ast::union_distinct)
            .unwrap_or_else(|| SetExpr::Select(Box::new(ast::select())));
        ctes.push(("k".to_string(), ast::query(keys)));
        let joins = sub_aliases
            .iter()
            .map(|a| {
                let on = ast::and_all(
                    dim_cols
                        .iter()
                        .map(|c| {
                            Expr::IsNotDistinctFrom(
                                Box::new(ast::col("k", c)),
                                Box::new(ast::col(a, c)),
                            )
                        })
                        .collect(),
                )
                .unwrap_or_else(|| ast::boolean(true));
                ast::left_join(ast::table(a, a), on)
            })
            .collect();
        combine.from.push(ast::from(ast::table("k", "k"), joins));
    }
    // Totals line up with the rows by their time buckets, or are one row.
    let kept = total_dims(&q);
    for t in &totals {
        let on = ast::and_all(
            kept.iter()
                .enumerate()
                .map(|(j, i)| {
                    Expr::IsNotDistinctFrom(
                        Box::new(ast::col(&key_alias, &dim_cols[*i])),
                        Box::new(ast::col(t, &format!("d{j}"))),
                    )
                })
                .collect(),
        );
        let join = match on {
            Some(on) => ast::left_join(ast::table(t, t), on),
            None => ast::cross_join(ast::table(t, t)),
        };
        if let Some(from) = combine.from.first_mut() {
            from.joins.push(join);
        }
    }
    let coalesce_missing = !single;

    let mut columns = Vec::new();
    for (d, c) in dims.iter().zip(&dim_cols) {
        let name = d.column_name();
        combine
            .projection
            .push(ast::item(ast::col(&key_alias, c), &name));
        let (label, role) = if d.name == TIME_DIMENSION {
            (title_case(&name), OutputRole::Time)
        } else {
            let dim = &model.dimensions[&d.name];
            let role = if dim.kind == DimensionKind::Time {
                OutputRole::Time
            } else {
                OutputRole::Dimension
            };
            (dim.label.clone(), role)
        };
        columns.push(OutputColumn {
            name,
            label,
            role,
            format: None,
        });
    }
    let metric_expr =
        |m: &str, side: Side| -> Expr { metric_sql(model, m, &slots, side, coalesce_missing) };
    // An average per day: the total over the period's days.
    let days = window
        .filter(|_| q.per_day && dated && grain.is_none() && comparison_window.is_none())
        .map(|w| (w.end - w.start).num_days() + 1)
        .filter(|d| *d > 0);
    if q.per_day && days.is_none() {
        notes.push("an average per day needs a period, and neither a time breakdown nor a comparison, so these are totals".into());
    }
    for m in &q.metrics {
        let metric = &model.metrics[m];
        let per_day = days.filter(|_| model.adds_up(m));
        let current = match per_day {
            Some(d) => ast::binop(
                ast::double(metric_expr(m, Side::Current)),
                BinaryOperator::Divide,
                ast::number(d),
            ),
            None => metric_expr(m, Side::Current),
        };
        combine.projection.push(ast::item(current, m));
        columns.push(OutputColumn {
            name: m.clone(),
            label: if per_day.is_some() {
                format!("{} per day (average)", metric.label)
            } else {
                metric.label.clone()
            },
            role: OutputRole::Metric,
            format: Some(metric.format),
        });
        if q.share && model.adds_up(m) {
            let share = ast::binop(
                ast::double(metric_expr(m, Side::Current)),
                BinaryOperator::Divide,
                ast::func(
                    "nullif",
                    vec![ast::double(metric_expr(m, Side::Total)), ast::number(0)],
                ),
            );
            let share_name = format!("{m}_share");
            combine.projection.push(ast::item(share, &share_name));
            columns.push(OutputColumn {
                name: share_name,
                label: format!("Share of {}", words_lower(&metric.label)),
                role: OutputRole::Share,
                format: Some(Format::Percent),
            });
        }
        if comparison_window.is_some() {
            let cur = metric_expr(m, Side::Current);
            let prev = metric_expr(m, Side::Previous);
            let prev_name = format!("{m}_previous");
            combine.projection.push(ast::item(prev.clone(), &prev_name));
            columns.push(OutputColumn {
                name: prev_name,
                label: format!("{} (previous)", metric.label),
                role: OutputRole::Previous,
                format: Some(metric.format),
            });
            let change = ast::binop(
                ast::nested(cur),
                BinaryOperator::Minus,
                ast::nested(prev.clone()),
            );
            let change_name = format!("{m}_change");
            combine
                .projection
                .push(ast::item(change.clone(), &change_name));
            columns.push(OutputColumn {
                name: change_name,
                label: format!("{} change", metric.label),
                role: OutputRole::Change,
                format: Some(metric.format),
            });
            let pct = ast::binop(
                ast::double(ast::nested(change)),
                BinaryOperator::Divide,
                ast::func(
                    "nullif",
                    vec![ast::double(ast::func("abs", vec![prev])), ast::number(0)],
                ),
            );
            let pct_name = format!("{m}_change_pct");
            combine.projection.push(ast::item(pct, &pct_name));
            columns.push(OutputColumn {
                name: pct_name,
                label: format!("{} change %", metric.label),
                role: OutputRole::ChangePct,
                format: Some(Format::Percent),
            });
        }
    }

    // Final layer: conditions on metrics, order, limit, over named columns.
    ctes.push((
        "result".to_string(),
        ast::query(SetExpr::Select(Box::new(combine))),
    ));
    let mut outer = ast::select();
    outer.projection = columns
        .iter()
        .map(|c| SelectItem::UnnamedExpr(Expr::Identifier(ast::ident(&c.name))))
        .collect();
    outer
        .from
        .push(ast::from(ast::table("result", "result"), Vec::new()));
    outer.selection = ast::and_all(
        q.conditions
            .iter()
            .map(|c| {
                let op = match c.op {
                    CompareOp::Gt => BinaryOperator::Gt,
                    CompareOp::Gte => BinaryOperator::GtEq,
                    CompareOp::Lt => BinaryOperator::Lt,
                    CompareOp::Lte => BinaryOperator::LtEq,
                    CompareOp::Eq => BinaryOperator::Eq,
                    CompareOp::Ne => BinaryOperator::NotEq,
                };
                ast::binop(
                    Expr::Identifier(ast::ident(&c.metric)),
                    op,
                    float_literal(c.value),
                )
            })
            .collect(),
    );
    let mut order = Vec::new();
    for o in &q.order {
        if !columns.iter().any(|c| c.name == o.by) {
            return Err(CompileError::BadOrder {
                name: o.by.clone(),
                hint: suggestion(&o.by, columns.iter().map(|c| c.name.as_str())),
            });
        }
        order.push((Expr::Identifier(ast::ident(&o.by)), o.desc));
    }
    // Ties resolve the same way on every run.
    for c in &columns {
        if !q.order.iter().any(|o| o.by == c.name)
            && matches!(c.role, OutputRole::Dimension | OutputRole::Time)
        {
            order.push((Expr::Identifier(ast::ident(&c.name)), false));
        }
    }
    let mut final_query = ast::query(SetExpr::Select(Box::new(outer)));
    final_query.with = Some(ast::with(ctes));
    final_query.order_by = ast::order_by(order);
    let row_cap = match q.limit {
        Some(0) => return Err(CompileError::ZeroLimit),
        Some(n) => {
            ast::limit(&mut final_query, n);
            None
        }
        None => {
            ast::limit(&mut final_query, model.default_limit);
            Some(model.default_limit)
        }
    };
    let statement = Statement::Query(Box::new(final_query));
    Ok(CompiledQuery {
        sql: format!("{statement:#}"),
        statement,
        query: q,
        columns,
        window,
        comparison_window,
        row_cap,
        notes,
    })
}

/// Positions in `q.dimensions` of the breakdowns a share's total keeps:
/// the time buckets.
fn total_dims(q: &SemanticQuery) -> Vec<usize> {
    q.dimensions
        .iter()
        .enumerate()
        .filter(|(_, d)| d.is_time())
        .map(|(i, _)| i)
        .collect()
}

/// The query whose result a share divides by: the time buckets of `q` only,
/// and its filters but those on the breakdown.
fn share_total(q: &SemanticQuery) -> SemanticQuery {
    let broken: Vec<&str> = q
        .dimensions
        .iter()
        .filter(|d| !d.is_time())
        .map(|d| d.name.as_str())
        .collect();
    SemanticQuery {
        dimensions: total_dims(q)
            .into_iter()
            .map(|i| q.dimensions[i].clone())
            .collect(),
        filters: q
            .filters
            .iter()
            .filter(|f| !broken.contains(&f.dimension.as_str()))
            .cloned()
            .collect(),
        share: false,
        ..q.clone()
    }
}

/// "Installs" as it reads after "Share of": "installs"; names that are
/// acronyms ("CPI") stay.
fn words_lower(label: &str) -> String {
    if label.chars().take(2).all(|c| c.is_uppercase()) {
        label.to_string()
    } else {
        let mut c = label.chars();
        c.next()
            .map(|f| f.to_lowercase().chain(c).collect())
            .unwrap_or_default()
    }
}

fn year_in(g: TimeGrain) -> i64 {
    match g {
        TimeGrain::Day => 365,
        TimeGrain::Week => 52,
        TimeGrain::Month => 12,
        TimeGrain::Quarter => 4,
        TimeGrain::Year => 1,
    }
}

/// A period wholly outside the data is an error; one partly outside is a note.
fn check_coverage(
    w: &DateRange,
    what: &str,
    ctx: &CompileContext,
    notes: &mut Vec<String>,
) -> Result<(), CompileError> {
    let first = ctx.data_start.unwrap_or(NaiveDate::MIN);
    if w.end < first || w.start > ctx.as_of {
        return Err(CompileError::NoData {
            start: w.start,
            end: w.end,
            first,
            last: ctx.as_of,
        });
    }
    if w.start < first {
        notes.push(format!(
            "data starts on {first}, so {what} {} to {} is only partly covered",
            w.start, w.end
        ));
    }
    if w.end > ctx.as_of {
        notes.push(format!(
            "data ends on {}, so {what} {} to {} is only partly covered",
            ctx.as_of, w.start, w.end
        ));
    }
    Ok(())
}

pub fn describe_range(r: &TimeRange) -> String {
    match r {
        TimeRange::Day { offset: 0 } => "today".into(),
        TimeRange::Day { offset: 1 } => "yesterday".into(),
        TimeRange::Day { offset } => format!("{offset} days ago"),
        TimeRange::LastNDays { n } => format!("the last {n} days"),
        TimeRange::Current { unit } => format!("this {}", TimeGrain::from(*unit)),
        TimeRange::Previous { unit, n: 1 } => format!("last {}", TimeGrain::from(*unit)),
        TimeRange::Previous { unit, n } => format!("the last {n} full {}s", TimeGrain::from(*unit)),
        TimeRange::Between { start, end } => format!("{start} to {end}"),
        TimeRange::Since { start } => format!("since {start}"),
        TimeRange::All => "all time".into(),
    }
}

fn title_case(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

fn float_literal(v: f64) -> Expr {
    if v.is_finite() {
        ast::number(v)
    } else {
        ast::null()
    }
}

fn validate(model: &SemanticModel, q: &SemanticQuery) -> Result<(), CompileError> {
    if q.metrics.is_empty() {
        return Err(CompileError::NoMetrics(model.metric_order.join(", ")));
    }
    let metrics: Vec<&str> = model.metric_names().collect();
    for m in &q.metrics {
        if !model.metrics.contains_key(m) {
            return Err(CompileError::UnknownMetric {
                name: m.clone(),
                hint: suggestion(m, metrics.iter().copied()),
            });
        }
    }
    let dims: Vec<&str> = model.dimension_names().collect();
    let unknown_dim = |n: &str| CompileError::UnknownDimension {
        name: n.to_string(),
        hint: suggestion(n, dims.iter().copied()),
    };
    for d in &q.dimensions {
        if d.name == TIME_DIMENSION {
            continue;
        }
        let dim = model
            .dimensions
            .get(&d.name)
            .ok_or_else(|| unknown_dim(&d.name))?;
        if d.grain.is_some() && dim.kind != DimensionKind::Time {
            return Err(CompileError::GrainOnNonTime(d.name.clone()));
        }
    }
    if q.share {
        if q.dimensions.iter().all(DimensionRef::is_time) {
            return Err(CompileError::BadShare(
                "a share needs a breakdown to divide the total by: add one of the dimensions the metric can be read by"
                    .into(),
            ));
        }
        if !q.metrics.iter().any(|m| model.adds_up(m)) {
            return Err(CompileError::BadShare(format!(
                "a share needs a count or a sum; {} does not add up over groups",
                q.metrics.join(", ")
            )));
        }
    }
    for f in &q.filters {
        if f.dimension == TIME_DIMENSION {
            return Err(CompileError::BadFilter {
                dimension: f.dimension.clone(),
                reason: "restrict dates with the time range, not a filter".into(),
            });
        }
        if !model.dimensions.contains_key(&f.dimension) {
            return Err(unknown_dim(&f.dimension));
        }
        let (lo, hi) = f.op.arity();
        if f.values.len() < lo || f.values.len() > hi {
            return Err(CompileError::BadFilter {
                dimension: f.dimension.clone(),
                reason: format!(
                    "{:?} takes {} value(s), got {}",
                    f.op,
                    if lo == hi {
                        lo.to_string()
                    } else {
                        format!("at least {lo}")
                    },
                    f.values.len()
                ),
            });
        }
    }
    Ok(())
}

/// Rewrites a model expression written on `entity`: bare columns gain the
/// entity's alias, `$as_of` becomes the as-of date.
fn qualify(expr: &Expr, entity: &str, as_of: NaiveDate) -> Expr {
    struct Q<'a> {
        entity: &'a str,
        as_of: NaiveDate,
    }
    impl VisitorMut for Q<'_> {
        type Break = ();
        fn post_visit_expr(&mut self, e: &mut Expr) -> std::ops::ControlFlow<()> {
            match e {
                Expr::Identifier(i) => {
                    *e = Expr::CompoundIdentifier(vec![ast::ident(self.entity), i.clone()]);
                }
                Expr::Value(v) if matches!(&v.value, Value::Placeholder(p) if p == "$as_of") => {
                    *e = ast::date(self.as_of);
                }
                _ => {}
            }
            std::ops::ControlFlow::Continue(())
        }
    }
    let mut out = expr.clone();
    let _ = out.visit(&mut Q { entity, as_of });
    out
}

/// Picks how a dimension reads from a fact: preferred entities first, then
/// the closest entity, then declaration order.
fn resolve_dimension<'m>(
    dim: &'m Dimension,
    group: &FactGroup,
    paths: &HashMap<String, Vec<Join>>,
) -> Option<&'m Binding> {
    let reachable: Vec<&Binding> = dim
        .bindings
        .iter()
        .filter(|b| paths.contains_key(&b.entity))
        .collect();
    for p in &group.prefer {
        if let Some(b) = reachable.iter().find(|b| &b.entity == p) {
            return Some(b);
        }
    }
    reachable
        .into_iter()
        .enumerate()
        .min_by_key(|(i, b)| (paths[&b.entity].len(), *i))
        .map(|(_, b)| b)
}

fn bucket(expr: Expr, grain: TimeGrain, shift: Option<(i64, TimeGrain)>) -> Expr {
    let ts = ast::cast(
        expr,
        DataType::Timestamp(None, datafusion::sql::sqlparser::ast::TimezoneInfo::None),
    );
    let mut e = ast::func("date_trunc", vec![ast::string(&grain.to_string()), ts]);
    if let Some((n, g)) = shift {
        e = ast::binop(e, BinaryOperator::Plus, ast::interval(n, &g.to_string()));
    }
    ast::cast(e, DataType::Date)
}

fn filter_literal(dim: &Dimension, v: &Literal) -> Result<Expr, CompileError> {
    let bad = |reason: String| CompileError::BadFilter {
        dimension: dim.name.clone(),
        reason,
    };
    Ok(match dim.kind {
        DimensionKind::Categorical => ast::string(&v.to_string()),
        DimensionKind::Number => match v {
            Literal::Int(i) => ast::number(i),
            Literal::Float(f) if f.is_finite() => ast::number(f),
            Literal::Str(s) if s.parse::<f64>().is_ok_and(f64::is_finite) => ast::number(s),
            other => return Err(bad(format!("\"{other}\" is not a number"))),
        },
        DimensionKind::Boolean => match v {
            Literal::Bool(b) => ast::boolean(*b),
            Literal::Str(s) if s.eq_ignore_ascii_case("true") => ast::boolean(true),
            Literal::Str(s) if s.eq_ignore_ascii_case("false") => ast::boolean(false),
            other => return Err(bad(format!("\"{other}\" is not true or false"))),
        },
        DimensionKind::Time => {
            let s = v.to_string();
            let d = NaiveDate::parse_from_str(&s, "%Y-%m-%d")
                .map_err(|_| bad(format!("\"{s}\" is not a date; write it as YYYY-MM-DD")))?;
            ast::date(d)
        }
    })
}

fn filter_sql(dim: &Dimension, x: Expr, f: &Filter) -> Result<Expr, CompileError> {
    let lits = f
        .values
        .iter()
        .map(|v| filter_literal(dim, v))
        .collect::<Result<Vec<_>, _>>()?;
    let first = || lits.first().cloned().unwrap_or_else(ast::null);
    let cmp = |op| ast::binop(x.clone(), op, first());
    Ok(match f.op {
        FilterOp::Eq | FilterOp::In if lits.len() == 1 => cmp(BinaryOperator::Eq),
        FilterOp::Eq | FilterOp::In => Expr::InList {
            expr: Box::new(x),
            list: lits,
            negated: false,
        },
        // Excluding values keeps the rows that have no value at all.
        FilterOp::Ne | FilterOp::NotIn if lits.len() == 1 => {
            Expr::IsDistinctFrom(Box::new(x), Box::new(first()))
        }
        FilterOp::Ne | FilterOp::NotIn => ast::nested(ast::binop(
            Expr::InList {
                expr: Box::new(x.clone()),
                list: lits,
                negated: true,
            },
            BinaryOperator::Or,
            Expr::IsNull(Box::new(x)),
        )),
        FilterOp::Gt => cmp(BinaryOperator::Gt),
        FilterOp::Gte => cmp(BinaryOperator::GtEq),
        FilterOp::Lt => cmp(BinaryOperator::Lt),
        FilterOp::Lte => cmp(BinaryOperator::LtEq),
        FilterOp::Between => Expr::Between {
            expr: Box::new(x),
            negated: false,
            low: Box::new(first()),
            high: Box::new(lits.get(1).cloned().unwrap_or_else(ast::null)),
        },
        FilterOp::Contains => ast::binop(
            ast::func(
                "strpos",
                vec![
                    ast::func("lower", vec![ast::cast(x, DataType::Text)]),
                    ast::func("lower", vec![first()]),
                ],
            ),
            BinaryOperator::Gt,
            ast::number(0),
        ),
        FilterOp::IsNull => Expr::IsNull(Box::new(x)),
        FilterOp::IsNotNull => Expr::IsNotNull(Box::new(x)),
    })
}

/// The aggregation subquery of one fact group over one period.
fn fact_subquery(
    model: &SemanticModel,
    g: &FactGroup,
    q: &SemanticQuery,
    window: Option<DateRange>,
    bucket_shift: Option<(i64, TimeGrain)>,
    as_of: NaiveDate,
    metric_name: &str,
) -> Result<Query, CompileError> {
    let entity = &model.entities[&g.entity];
    let paths = model.join_paths(&g.entity);
    let mut needed: Vec<String> = Vec::new();
    let need = |e: &Expr, needed: &mut Vec<String>| {
        for qn in crate::loader::qualifiers(e) {
            if !needed.contains(&qn) {
                needed.push(qn);
            }
        }
    };

    let unreachable = |dimension: &str| CompileError::Unreachable {
        metric: metric_name.to_string(),
        dimension: dimension.to_string(),
        entity: g.entity.clone(),
    };
    let dim_expr = |d: &str, needed: &mut Vec<String>| -> Result<Expr, CompileError> {
        let dim = &model.dimensions[d];
        let b = resolve_dimension(dim, g, &paths).ok_or_else(|| unreachable(d))?;
        let e = qualify(&b.expr, &b.entity, as_of);
        need(&e, needed);
        Ok(e)
    };

    let mut s = ast::select();
    let mut group_exprs = Vec::new();
    for (i, d) in q.dimensions.iter().enumerate() {
        let e = if d.name == TIME_DIMENSION {
            let tc = entity.time.as_ref().ok_or_else(|| CompileError::NoTime {
                metric: metric_name.to_string(),
                grain: d.grain.unwrap_or(TimeGrain::Day).to_string(),
            })?;
            bucket(
                ast::col(&g.entity, &tc.column),
                d.grain.unwrap_or(TimeGrain::Day),
                bucket_shift,
            )
        } else {
            let e = dim_expr(&d.name, &mut needed)?;
            match d.grain {
                Some(gr) => bucket(e, gr, bucket_shift),
                None => e,
            }
        };
        s.projection.push(ast::item(e.clone(), &format!("d{i}")));
        group_exprs.push(e);
    }

    let mut wh = Vec::new();
    if let (Some(w), Some(tc)) = (window, &entity.time) {
        let c = ast::col(&g.entity, &tc.column);
        let (lo, hi) = match tc.kind {
            TimeKind::Date => (ast::date(w.start), ast::date(w.end_exclusive()?)),
            TimeKind::Timestamp => (ast::timestamp(w.start), ast::timestamp(w.end_exclusive()?)),
        };
        wh.push(ast::binop(c.clone(), BinaryOperator::GtEq, lo));
        wh.push(ast::binop(c, BinaryOperator::Lt, hi));
    }
    for f in &q.filters {
        let dim = &model.dimensions[&f.dimension];
        let x = dim_expr(&f.dimension, &mut needed)?;
        wh.push(filter_sql(dim, x, f)?);
    }

    // A filter shared by every measure of the group goes to WHERE, which
    // also keeps rows it excludes from creating empty groups.
    let measures: Vec<&Measure> = g.measures.iter().map(|m| &model.measures[m]).collect();
    let shared_filter = measures
        .first()
        .and_then(|m| m.filter.clone())
        .filter(|f| measures.iter().all(|m| m.filter.as_ref() == Some(f)));
    if let Some(f) = &shared_filter {
        let f = qualify(f, &g.entity, as_of);
        need(&f, &mut needed);
        wh.push(ast::nested(f));
    }
    for m in &measures {
        let arg = m.expr.as_ref().map(|e| qualify(e, &g.entity, as_of));
        let filter = if shared_filter.is_some() {
            None
        } else {
            m.filter.as_ref().map(|f| qualify(f, &g.entity, as_of))
        };
        for e in arg.iter().chain(filter.iter()) {
            need(e, &mut needed);
        }
        let agg = match (m.agg, arg) {
            (Aggregation::Count, None) => ast::count_star(filter),
            (Aggregation::Count, Some(a)) => ast::func_full("count", vec![a], false, filter),
            (Aggregation::CountDistinct, Some(a)) => ast::func_full("count", vec![a], true, filter),
            (Aggregation::Sum, Some(a)) => ast::func_full("sum", vec![a], false, filter),
            (Aggregation::Min, Some(a)) => ast::func_full("min", vec![a], false, filter),
            (Aggregation::Max, Some(a)) => ast::func_full("max", vec![a], false, filter),
            (Aggregation::Avg, Some(a)) => ast::func_full("avg", vec![a], false, filter),
            // The loader requires an expression for these.
            (_, None) => ast::count_star(filter),
        };
        s.projection.push(ast::item(agg, &format!("m_{}", m.name)));
    }

    s.from
        .push(joined_from(model, &g.entity, &needed, &paths).map_err(|e| unreachable(&e))?);
    s.selection = ast::and_all(wh);
    if !group_exprs.is_empty() {
        s.group_by = ast::group_by(group_exprs);
    }
    Ok(ast::query(SetExpr::Select(Box::new(s))))
}

/// `root` with a left join to each entity in `needed`, nearest first so each
/// join's left side is already present. Every join is many-to-one onto a
/// unique key, so joining never multiplies rows. Errors with the name of an
/// entity `root` cannot reach.
fn joined_from(
    model: &SemanticModel,
    root: &str,
    needed: &[String],
    paths: &HashMap<String, Vec<Join>>,
) -> Result<TableWithJoins, String> {
    let mut by_len: Vec<&String> = Vec::new();
    for e in needed.iter().filter(|e| e.as_str() != root) {
        if !paths.contains_key(e) {
            return Err(e.clone());
        }
        by_len.push(e);
    }
    by_len.sort_by_key(|e| paths[*e].len());
    let mut joins: Vec<&Join> = Vec::new();
    for e in by_len {
        for j in &paths[e] {
            if !joins.iter().any(|x| x.to == j.to) {
                joins.push(j);
            }
        }
    }
    let join_nodes = joins
        .iter()
        .map(|j| {
            let on = ast::and_all(
                j.from_columns
                    .iter()
                    .zip(&j.to_columns)
                    .map(|(a, b)| {
                        ast::binop(ast::col(&j.from, a), BinaryOperator::Eq, ast::col(&j.to, b))
                    })
                    .collect(),
            )
            .unwrap_or_else(|| ast::boolean(false));
            ast::left_join(source(&model.entities[&j.to]), on)
        })
        .collect();
    Ok(ast::from(source(&model.entities[root]), join_nodes))
}

/// SQL listing the distinct non-empty values of a dimension across every
/// entity that carries it, sorted, at most `limit` + 1 rows (one more than
/// asked, so the caller can tell the list was cut). One column, `value`,
/// cast to text.
pub fn distinct_values_sql(
    model: &SemanticModel,
    dimension: &str,
    as_of: NaiveDate,
    limit: u64,
) -> Result<String, CompileError> {
    let dim = model
        .dimensions
        .get(dimension)
        .ok_or_else(|| CompileError::UnknownDimension {
            name: dimension.to_string(),
            hint: suggestion(dimension, model.dimension_names()),
        })?;
    let mut body: Option<SetExpr> = None;
    for b in &dim.bindings {
        let paths = model.join_paths(&b.entity);
        let e = qualify(&b.expr, &b.entity, as_of);
        let needed = crate::loader::qualifiers(&e);
        let mut s = ast::select();
        let v = ast::cast(e, DataType::Varchar(None));
        s.projection.push(ast::item(v.clone(), "value"));
        s.from.push(
            joined_from(model, &b.entity, &needed, &paths).map_err(|ent| {
                CompileError::Unreachable {
                    metric: format!("the values of {dimension}"),
                    dimension: dimension.to_string(),
                    entity: ent,
                }
            })?,
        );
        s.selection = Some(Expr::IsNotNull(Box::new(v)));
        s.distinct = Some(datafusion::sql::sqlparser::ast::Distinct::Distinct);
        let part = SetExpr::Select(Box::new(s));
        body = Some(match body {
            None => part,
            Some(prev) => ast::union_distinct(prev, part),
        });
    }
    let body = body.ok_or_else(|| CompileError::UnknownDimension {
        name: dimension.to_string(),
        hint: " (it has no expression on any entity)".to_string(),
    })?;
    let mut q = ast::query(body);
    q.order_by = ast::order_by(vec![(Expr::Identifier(ast::ident("value")), false)]);
    ast::limit(&mut q, limit.saturating_add(1));
    Ok(q.to_string())
}

fn source(e: &Entity) -> datafusion::sql::sqlparser::ast::TableFactor {
    match &e.source {
        Source::Table(t) => ast::table(t, &e.name),
        Source::Sql(q) => ast::derived((**q).clone(), &e.name),
    }
}

/// A metric as an expression over the combined subqueries.
fn metric_sql(
    model: &SemanticModel,
    name: &str,
    slots: &HashMap<String, Slot>,
    side: Side,
    coalesce_missing: bool,
) -> Expr {
    let measure_ref = |m: &str| -> Expr {
        let slot = &slots[m];
        let alias = match side {
            Side::Current => &slot.current,
            Side::Previous => slot.previous.as_deref().unwrap_or(&slot.current),
            Side::Total => slot.total.as_deref().unwrap_or(&slot.current),
        };
        let c = ast::col(alias, &format!("m_{m}"));
        if coalesce_missing && model.measures[m].agg.zero_when_empty() {
            ast::func("coalesce", vec![c, ast::number(0)])
        } else {
            c
        }
    };
    let operand = |o: &Operand| -> Expr {
        match o {
            Operand::Metric(n) => metric_sql(model, n, slots, side, coalesce_missing),
            Operand::Measure(n) => measure_ref(n),
        }
    };
    let Some(metric) = model.metrics.get(name) else {
        return measure_ref(name);
    };
    match &metric.kind {
        MetricKind::Simple { measure } => measure_ref(measure),
        MetricKind::Ratio {
            numerator,
            denominator,
        } => ast::binop(
            ast::double(operand(numerator)),
            BinaryOperator::Divide,
            ast::func(
                "nullif",
                vec![ast::double(operand(denominator)), ast::number(0)],
            ),
        ),
        MetricKind::Derived { expr, .. } => {
            struct R<'a> {
                f: &'a dyn Fn(&str) -> Expr,
            }
            impl VisitorMut for R<'_> {
                type Break = ();
                fn post_visit_expr(&mut self, e: &mut Expr) -> std::ops::ControlFlow<()> {
                    if let Expr::Identifier(Ident { value, .. }) = e {
                        *e = ast::nested((self.f)(value));
                    }
                    std::ops::ControlFlow::Continue(())
                }
            }
            let f = |n: &str| metric_sql(model, n, slots, side, coalesce_missing);
            let mut out = expr.clone();
            let _ = out.visit(&mut R { f: &f });
            ast::nested(out)
        }
    }
}
