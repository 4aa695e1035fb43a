//! Suggested follow-ups: two or three next questions derived from the plan
//! just answered, worded with the model's own labels so the question path
//! reads them back into a plan ("ROAS by platform last month", "weekly spend
//! over the last 90 days"). Each one changes one thing: a breakdown not yet
//! used, a comparison with the previous period, the trend over time, or the
//! parts of a ratio. Only breakdowns every metric of the plan can reach are
//! offered, so a suggestion never leads to an error. The same plan always
//! gets the same suggestions.

use quarry_schema::model::{
    DimensionKind, Metric, MetricKind, Operand, SemanticModel, TIME_DIMENSION,
};
use quarry_schema::query::{
    CalendarUnit, Comparison, FilterOp, SemanticQuery, TimeGrain, TimeRange,
};

use super::words;

/// A time series split by more values than this is a tangle of lines.
const MAX_SERIES: usize = 10;

/// At most this many suggestions.
const LIMIT: usize = 3;

/// Follow-up questions for a plan, best first.
pub fn suggest(query: &SemanticQuery, model: &SemanticModel) -> Vec<String> {
    let q = query.canonical();
    let metrics: Vec<&Metric> = q
        .metrics
        .iter()
        .filter_map(|m| model.metrics.get(m))
        .take(2)
        .collect();
    let Some(first) = metrics.first() else {
        return Vec::new();
    };
    let names: Vec<&str> = metrics.iter().map(|m| m.name.as_str()).collect();
    let what = words::and_list(
        &metrics
            .iter()
            .map(|m| words::noun(&m.label))
            .collect::<Vec<_>>(),
    );
    let grain = q
        .dimensions
        .iter()
        .find(|d| d.name == TIME_DIMENSION)
        .map(|d| d.grain.unwrap_or(TimeGrain::Day));
    let used: Vec<&str> = q
        .dimensions
        .iter()
        .map(|d| d.name.as_str())
        .filter(|d| *d != TIME_DIMENSION)
        .collect();
    // A dimension pinned to one value has nothing left to break down.
    let pinned: Vec<&str> = q
        .filters
        .iter()
        .filter(|f| f.op == FilterOp::In && f.values.len() == 1)
        .map(|f| f.dimension.as_str())
        .collect();
    let by_used = if used.is_empty() {
        String::new()
    } else {
        format!(
            "by {}",
            words::and_list(
                &used
                    .iter()
                    .map(|d| words::dimension_label(model, d))
                    .collect::<Vec<_>>()
            )
        )
    };
    let scope = words::scoping_filters(&q)
        .map(|f| words::scope(model, f))
        .collect::<Vec<_>>()
        .join(" ");
    let when = words::asked_period(q.time_range.as_ref());
    let over_time = metrics.iter().all(|m| has_time(model, &m.name));
    let adjective = grain.map(words::grain_adjective).unwrap_or_default();

    let candidates = breakdowns(model, &names, &used, &pinned, grain.is_some());
    let mut out: Vec<String> = Vec::new();

    let broken_down =
        |d: &str| sentence(&[adjective, &what, "by", &label(model, d), &scope, &when]);

    // A breakdown not used yet (over time: one with few values).
    if let Some(d) = candidates.first() {
        out.push(broken_down(d));
    }
    // The same question against an earlier period.
    if over_time && !matches!(q.time_range, Some(TimeRange::All)) {
        let against = match q.compare {
            None => Some("compared with the previous period"),
            Some(Comparison::PreviousPeriod) => Some("compared with the same period last year"),
            Some(_) => None,
        };
        if let Some(against) = against {
            out.push(sentence(&[
                adjective, &what, &by_used, &scope, &when, against,
            ]));
        }
    }
    // The trend, or for a time series the ranking behind it.
    if over_time {
        match grain {
            None => out.push(trend(&what, &scope, q.time_range.as_ref())),
            Some(_) => {
                if let Some(d) = breakdowns(model, &names, &used, &pinned, false).first() {
                    out.push(sentence(&[&what, "by", &label(model, d), &scope, &when]));
                }
            }
        }
    }
    // The parts of a ratio: CPI is spend over paid installs.
    if let MetricKind::Ratio {
        numerator: Operand::Metric(a),
        denominator: Operand::Metric(b),
    } = &first.kind
    {
        let parts = words::and_list(&[
            words::noun(&words::metric_label(model, a)),
            words::noun(&words::metric_label(model, b)),
        ]);
        out.push(sentence(&[adjective, &parts, &by_used, &scope, &when]));
    }
    if let Some(d) = candidates.get(1) {
        out.push(broken_down(d));
    }

    let mut seen = Vec::new();
    out.retain(|s| {
        let new = !seen.contains(s);
        seen.push(s.clone());
        new
    });
    out.truncate(LIMIT);
    out
}

fn label(model: &SemanticModel, dimension: &str) -> String {
    words::dimension_label(model, dimension)
}

/// Words joined by single spaces, empty parts skipped, first letter upper.
fn sentence(parts: &[&str]) -> String {
    let s = parts
        .iter()
        .filter(|p| !p.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join(" ");
    words::capitalise(&s)
}

/// The trend question: weekly over a quarter for short periods, monthly for
/// long ones, so the line has enough points to show a direction.
fn trend(what: &str, scope: &str, range: Option<&TimeRange>) -> String {
    let unit_days = |u: CalendarUnit| match u {
        CalendarUnit::Week => 7,
        CalendarUnit::Month => 31,
        CalendarUnit::Quarter => 92,
        CalendarUnit::Year => 366,
    };
    let days: Option<i64> = match range {
        None | Some(TimeRange::Day { .. }) => Some(1),
        Some(TimeRange::LastNDays { n }) => Some(i64::from(*n)),
        Some(TimeRange::Current { unit }) => Some(unit_days(*unit)),
        Some(TimeRange::Previous { unit, n }) => Some(unit_days(*unit) * i64::from(*n)),
        Some(TimeRange::Between { start, end }) => Some((*end - *start).num_days() + 1),
        Some(TimeRange::Since { .. }) | Some(TimeRange::All) => None,
    };
    let when = words::asked_period(range);
    match days {
        Some(d) if d <= 31 => sentence(&["weekly", what, scope, "over the last 90 days"]),
        Some(d) if d <= 183 => sentence(&["weekly", what, scope, &when]),
        _ => sentence(&["monthly", what, scope, &when]),
    }
}

/// Breakdowns every metric can reach and the plan does not use yet, best
/// first. For a time series, only those with a few known values, fewest
/// first, so the lines stay readable.
fn breakdowns(
    model: &SemanticModel,
    metrics: &[&str],
    used: &[&str],
    pinned: &[&str],
    over_time: bool,
) -> Vec<String> {
    // The model's preferred breakdowns first, in its order (at most four);
    // its other categorical dimensions follow.
    let preferred: Vec<&str> = model
        .vocabulary
        .breakdowns
        .iter()
        .take(4)
        .map(String::as_str)
        .filter(|p| model.dimensions.contains_key(*p))
        .collect();
    let mut names = preferred.clone();
    // Dimensions with known sample values are the low-cardinality ones a
    // person groups by; the rest (devices, OS versions) come last.
    let mut rest: Vec<(bool, &str)> = model
        .dimensions
        .values()
        .filter(|d| !preferred.contains(&d.name.as_str()))
        .map(|d| (d.sample_values.is_empty(), d.name.as_str()))
        .collect();
    rest.sort();
    names.extend(rest.into_iter().map(|(_, n)| n));
    let mut out: Vec<(usize, String)> = names
        .into_iter()
        .filter_map(|n| model.dimensions.get(n))
        .filter(|d| d.kind == DimensionKind::Categorical)
        .filter(|d| !used.contains(&d.name.as_str()) && !pinned.contains(&d.name.as_str()))
        .filter(|d| metrics.iter().all(|m| reachable(model, m, &d.name)))
        .filter(|d| {
            !over_time || (!d.sample_values.is_empty() && d.sample_values.len() <= MAX_SERIES)
        })
        .map(|d| (d.sample_values.len(), d.name.clone()))
        .collect();
    if over_time {
        out.sort_by_key(|(n, _)| *n);
    }
    out.into_iter().map(|(_, n)| n).collect()
}

/// Whether every fact behind a metric joins to the dimension (the compiler
/// refuses a breakdown that does not).
fn reachable(model: &SemanticModel, metric: &str, dimension: &str) -> bool {
    let Some(dim) = model.dimensions.get(dimension) else {
        return false;
    };
    let measures = model.measures_of(metric);
    !measures.is_empty()
        && measures.iter().all(|name| {
            model.measures.get(name).is_some_and(|me| {
                let paths = model.join_paths(&me.entity);
                dim.bindings.iter().any(|b| paths.contains_key(&b.entity))
            })
        })
}

/// Whether a metric can be put on a time axis.
fn has_time(model: &SemanticModel, metric: &str) -> bool {
    let measures = model.measures_of(metric);
    model.metrics.get(metric).is_some_and(|m| m.time_bound)
        && !measures.is_empty()
        && measures.iter().all(|name| {
            model
                .measures
                .get(name)
                .and_then(|me| model.entities.get(&me.entity))
                .is_some_and(|e| e.time.is_some())
        })
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{MODEL, plan};
    use super::*;

    fn s(json: &str) -> Vec<String> {
        suggest(&plan(json), &MODEL)
    }

    #[test]
    fn a_single_number_gets_a_breakdown_a_comparison_and_a_trend() {
        assert_eq!(
            s(r#"{"metrics": ["installs"], "time_range": {"kind": "previous", "unit": "month"}}"#),
            [
                "Installs by network last month",
                "Installs last month compared with the previous period",
                "Weekly installs over the last 90 days",
            ]
        );
    }

    #[test]
    fn a_ranking_switches_breakdown() {
        assert_eq!(
            s(
                r#"{"metrics": ["roas"], "dimensions": [{"name": "campaign"}], "filters": [{"dimension": "platform", "op": "in", "values": ["iOS"]}], "time_range": {"kind": "previous", "unit": "month"}, "limit": 5}"#
            ),
            [
                "ROAS by network for iOS last month",
                "ROAS by campaign for iOS last month compared with the previous period",
                "Weekly ROAS for iOS over the last 90 days",
            ]
        );
    }

    #[test]
    fn a_compared_ratio_offers_last_year_and_its_parts() {
        assert_eq!(
            s(
                r#"{"metrics": ["cpi"], "dimensions": [{"name": "network"}], "time_range": {"kind": "previous", "unit": "month"}, "compare": {"kind": "previous_period"}}"#
            ),
            [
                "CPI by platform last month",
                "CPI by network last month compared with the same period last year",
                "Weekly CPI over the last 90 days",
            ]
        );
    }

    #[test]
    fn a_time_series_gets_a_few_lines_and_the_ranking_behind_it() {
        assert_eq!(
            s(
                r#"{"metrics": ["spend"], "dimensions": [{"name": "date", "grain": "week"}], "time_range": {"kind": "last_n_days", "n": 90}}"#
            ),
            [
                "Weekly spend by platform over the last 90 days",
                "Weekly spend over the last 90 days compared with the previous period",
                "Spend by network over the last 90 days",
            ]
        );
    }

    #[test]
    fn long_periods_trend_by_month() {
        let out =
            s(r#"{"metrics": ["revenue"], "time_range": {"kind": "previous", "unit": "year"}}"#);
        assert!(
            out.contains(&"Monthly revenue last year".to_string()),
            "{out:?}"
        );
    }

    #[test]
    fn breakdowns_are_reachable_for_every_metric() {
        // Spend lives on campaigns: it cannot be split by the user's age.
        let out = s(
            r#"{"metrics": ["spend"], "dimensions": [{"name": "network"}, {"name": "platform"}, {"name": "country"}, {"name": "campaign"}]}"#,
        );
        for q in &out {
            assert!(!q.contains("age group"), "{q}");
        }
        assert!(reachable(&MODEL, "installs", "age_group"));
        assert!(!reachable(&MODEL, "spend", "age_group"));
    }

    #[test]
    fn same_plan_same_suggestions() {
        let a = r#"{"metrics": ["installs", "spend"], "dimensions": [{"name": "country"}], "time_range": {"kind": "last_n_days", "n": 7}}"#;
        let b = r#"{"metrics": ["installs", "spend"], "dimensions": [{"name": "country"}], "time_range": {"kind": "last_n_days", "n": 7}}"#;
        assert_eq!(s(a), s(b));
        let out = s(a);
        assert!((2..=3).contains(&out.len()), "{out:?}");
    }

    #[test]
    fn entity_counts_are_not_trended() {
        let out = s(r#"{"metrics": ["users"]}"#);
        assert!(!out.is_empty());
        assert!(
            out.iter()
                .all(|q| !q.contains("eekly") && !q.contains("previous")),
            "{out:?}"
        );
    }
}
