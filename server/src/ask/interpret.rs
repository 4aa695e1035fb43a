//! The plain reading of a plan shown with every answer ("ROAS by campaign,
//! iOS only, 1-31 October 2026, top 5"), so a user can see at a glance
//! whether the question was understood.

use chrono::Datelike;
use quarry_schema::SemanticModel;
use quarry_schema::compile::{CompiledQuery, describe_range};
use quarry_schema::query::{CompareOp, Comparison, FilterOp, SemanticQuery};
use quarry_schema::time::DateRange;

fn metric_label(model: &SemanticModel, m: &str) -> String {
    model
        .metrics
        .get(m)
        .map_or(m.to_string(), |x| x.label.clone())
}

fn dim_label(model: &SemanticModel, d: &str) -> String {
    if d == quarry_schema::model::TIME_DIMENSION {
        return "day".into();
    }
    model
        .dimensions
        .get(d)
        .map_or(d.to_string(), |x| x.label.to_lowercase())
}

fn join_and(items: &[String]) -> String {
    match items.len() {
        0 => String::new(),
        1 => items[0].clone(),
        _ => format!(
            "{} and {}",
            items[..items.len() - 1].join(", "),
            items[items.len() - 1]
        ),
    }
}

fn join_or(items: &[String]) -> String {
    match items.len() {
        0 => String::new(),
        1 => items[0].clone(),
        _ => format!(
            "{} or {}",
            items[..items.len() - 1].join(", "),
            items[items.len() - 1]
        ),
    }
}

/// "1-31 October 2026", "9-15 November 2026", "28 September to 4 October 2026".
pub fn describe_dates(r: &DateRange) -> String {
    let (s, e) = (r.start, r.end);
    if s == e {
        return s.format("%-d %B %Y").to_string();
    }
    if s.year() == e.year() && s.month() == e.month() {
        return format!("{}-{} {}", s.day(), e.day(), s.format("%B %Y"));
    }
    if s.year() == e.year() {
        return format!("{} to {}", s.format("%-d %B"), e.format("%-d %B %Y"));
    }
    format!("{} to {}", s.format("%-d %B %Y"), e.format("%-d %B %Y"))
}

fn op_words(op: CompareOp) -> &'static str {
    match op {
        CompareOp::Gt => "above",
        CompareOp::Gte => "at least",
        CompareOp::Lt => "below",
        CompareOp::Lte => "at most",
        CompareOp::Eq => "equal to",
        CompareOp::Ne => "not",
    }
}

/// Everything but the period.
fn body(model: &SemanticModel, q: &SemanticQuery) -> Vec<String> {
    let mut parts = Vec::new();
    let metrics: Vec<String> = q.metrics.iter().map(|m| metric_label(model, m)).collect();
    let mut head = join_and(&metrics);
    let dims: Vec<String> = q
        .dimensions
        .iter()
        .map(|d| match d.grain {
            Some(g) => g.to_string(),
            None => dim_label(model, &d.name),
        })
        .collect();
    if !dims.is_empty() {
        head = format!("{head} by {}", join_and(&dims));
    }
    if q.share {
        head = format!("{head}, with each one's share of the total");
    }
    if q.per_day {
        head = format!("{head}, average per day");
    }
    parts.push(head);
    for f in &q.filters {
        let values: Vec<String> = f.values.iter().map(|v| v.to_string()).collect();
        let label = dim_label(model, &f.dimension);
        parts.push(match f.op {
            FilterOp::In | FilterOp::Eq if values.len() == 1 => format!("{} only", values[0]),
            FilterOp::In | FilterOp::Eq => format!("{label} {}", join_or(&values)),
            FilterOp::NotIn | FilterOp::Ne => format!("excluding {}", join_and(&values)),
            FilterOp::Contains => format!("{label} containing \"{}\"", join_or(&values)),
            FilterOp::IsNull => format!("no {label}"),
            FilterOp::IsNotNull => format!("with a {label}"),
            op => format!("{label} {op:?} {}", join_and(&values)).to_lowercase(),
        });
    }
    for c in &q.conditions {
        parts.push(format!(
            "{} {} {}",
            metric_label(model, &c.metric),
            op_words(c.op),
            c.value
        ));
    }
    parts
}

fn ranking(model: &SemanticModel, q: &SemanticQuery) -> Option<String> {
    let limit = q.limit?;
    let o = q.order.first()?;
    let by = metric_label(model, &o.by);
    Some(if o.desc {
        format!("top {limit} by {by}")
    } else {
        format!("bottom {limit} by {by}")
    })
}

/// A plan in words, periods as the plan states them ("last month").
pub fn plan_summary(model: &SemanticModel, q: &SemanticQuery) -> String {
    let mut parts = body(model, q);
    if let Some(t) = &q.time_range {
        parts.push(describe_range(t));
    }
    match &q.compare {
        Some(Comparison::PreviousPeriod) => parts.push("vs the previous period".into()),
        Some(Comparison::SamePeriodLastYear) => parts.push("vs a year earlier".into()),
        _ => {}
    }
    if let Some(r) = ranking(model, q) {
        parts.push(r);
    }
    parts.join(", ")
}

/// The interpretation of a compiled plan, with its actual dates.
pub fn interpretation(model: &SemanticModel, c: &CompiledQuery) -> String {
    let q = &c.query;
    let mut parts = body(model, q);
    match &c.window {
        Some(w) => parts.push(describe_dates(w)),
        None if q
            .metrics
            .iter()
            .any(|m| model.metrics.get(m).is_some_and(|x| x.time_bound)) =>
        {
            parts.push("all time".into())
        }
        None => {}
    }
    if let Some(w) = &c.comparison_window {
        parts.push(format!("compared with {}", describe_dates(w)));
    }
    if let Some(r) = ranking(model, q) {
        parts.push(r);
    }
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;
    use chrono::NaiveDate;

    fn date(y: i32, m: u32, d: u32) -> Option<NaiveDate> {
        NaiveDate::from_ymd_opt(y, m, d)
    }

    #[test]
    fn dates_read_naturally() {
        let r = |a: u32, b: u32| DateRange {
            start: date(2026, a / 100, a % 100).unwrap(),
            end: date(2026, b / 100, b % 100).unwrap(),
        };
        assert_eq!(describe_dates(&r(1001, 1031)), "1-31 October 2026");
        assert_eq!(
            describe_dates(&r(928, 1004)),
            "28 September to 4 October 2026"
        );
        assert_eq!(describe_dates(&r(1118, 1118)), "18 November 2026");
    }
}
