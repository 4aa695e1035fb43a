//! Numbers, periods and names written the way people write them: $12,345.67,
//! 3.2%, 1.84x, "October 2026", "the last 30 days", "installs" but "CPI".
//! Charts, narration and suggestions share these so an answer never shows one
//! number two ways.

use chrono::{Datelike, NaiveDate};
use quarry_schema::CompiledQuery;
use quarry_schema::model::{DimensionKind, Format, SemanticModel, TIME_DIMENSION};
use quarry_schema::query::{
    CalendarUnit, CompareOp, Comparison, Filter, FilterOp, SemanticQuery, TimeGrain, TimeRange,
};
use quarry_schema::time::{self, DateRange};
use serde_json::Value;

use crate::engine::format_cell;

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// A metric value in its format; a missing one reads "no value".
pub(super) fn value(x: Option<f64>, format: Format) -> String {
    match x.and_then(serde_json::Number::from_f64) {
        Some(n) => format_cell(&Value::Number(n), Some(format)),
        None => "no value".to_string(),
    }
}

/// A relative change without its sign: 10.8%, 12%, 1,250%.
pub(super) fn pct(ratio: f64) -> String {
    let p = (ratio * 100.0).abs();
    if p < 10.0 {
        format!("{p:.1}%")
    } else {
        format!("{}%", value(Some(p.round()), Format::Integer))
    }
}

/// A difference between two values of a metric, without its sign. Percent
/// metrics move in points: retention going from 11.1% to 12.3% is "1.2
/// points", not "11%".
pub(super) fn amount(delta: f64, format: Format) -> String {
    match format {
        Format::Percent => format!("{:.1} points", (delta * 100.0).abs()),
        f => value(Some(delta.abs()), f),
    }
}

/// How big a change is in words: points for percent metrics, a relative
/// change otherwise, or the amount when there is nothing to divide by.
pub(super) fn change_size(delta: f64, ratio: Option<f64>, format: Format) -> String {
    match (format, ratio) {
        (Format::Percent, _) | (_, None) => amount(delta, format),
        (_, Some(r)) => pct(r),
    }
}

/// Whether a change is too small to call a rise or a fall.
pub(super) fn negligible(delta: f64, ratio: Option<f64>, format: Format) -> bool {
    match (format, ratio) {
        (Format::Percent, _) => (delta * 100.0).abs() < 0.05,
        (_, Some(r)) => r.abs() < 0.005,
        (_, None) => delta == 0.0,
    }
}

pub(super) fn date(d: NaiveDate) -> String {
    format!("{} {} {}", d.day(), MONTHS[d.month0() as usize], d.year())
}

fn month(d: NaiveDate) -> String {
    format!("{} {}", MONTHS[d.month0() as usize], d.year())
}

fn last_of(d: NaiveDate, grain: TimeGrain) -> Option<NaiveDate> {
    time::shift(time::bucket_start(d, grain), grain, 1)
        .ok()?
        .pred_opt()
}

fn whole(r: &DateRange, grain: TimeGrain) -> bool {
    time::bucket_start(r.start, grain) == r.start && last_of(r.start, grain) == Some(r.end)
}

/// A period as a noun: "18 November 2026", "October 2026", "Q3 2026",
/// "the week of 9 November 2026", "1-18 November 2026".
pub(super) fn range(r: &DateRange) -> String {
    if r.start == r.end {
        date(r.start)
    } else if whole(r, TimeGrain::Year) {
        r.start.year().to_string()
    } else if whole(r, TimeGrain::Quarter) {
        format!("Q{} {}", r.start.month0() / 3 + 1, r.start.year())
    } else if whole(r, TimeGrain::Month) {
        month(r.start)
    } else if whole(r, TimeGrain::Week) {
        format!("the week of {}", date(r.start))
    } else if r.start.year() != r.end.year() {
        format!("{} - {}", date(r.start), date(r.end))
    } else if r.start.month() != r.end.month() {
        format!(
            "{} {} - {}",
            r.start.day(),
            MONTHS[r.start.month0() as usize],
            date(r.end)
        )
    } else {
        format!("{}-{}", r.start.day(), date(r.end))
    }
}

/// The period an answer covers, three ways.
#[derive(Debug, Clone)]
pub(super) struct Period {
    /// With its preposition, to follow a value: "in October 2026".
    pub phrase: String,
    /// For a chart title: "October 2026", "last 30 days".
    pub short: String,
}

pub(super) fn period(compiled: &CompiledQuery) -> Option<Period> {
    let Some(w) = compiled.window else {
        return matches!(compiled.query.time_range, Some(TimeRange::All)).then(|| Period {
            phrase: "across all time".into(),
            short: "all time".into(),
        });
    };
    if let Some(TimeRange::LastNDays { n }) = compiled.query.time_range
        && n > 1
    {
        return Some(Period {
            phrase: format!("over the last {n} days"),
            short: format!("last {n} days"),
        });
    }
    let noun = range(&w);
    let phrase = if w.start == w.end {
        format!("on {noun}")
    } else if [
        TimeGrain::Week,
        TimeGrain::Month,
        TimeGrain::Quarter,
        TimeGrain::Year,
    ]
    .into_iter()
    .any(|g| whole(&w, g))
    {
        format!("in {noun}")
    } else {
        format!("over {noun}")
    };
    let short = noun.strip_prefix("the ").unwrap_or(&noun).to_string();
    Some(Period { phrase, short })
}

/// What a comparison is against, as a noun: "September 2026", "the previous
/// 30 days", or for a time series "the week before".
pub(super) fn against(compiled: &CompiledQuery, grain: Option<TimeGrain>) -> String {
    let last_n = match compiled.query.time_range {
        Some(TimeRange::LastNDays { n }) if n > 1 => Some(n),
        _ => None,
    };
    match (&compiled.query.compare, grain, last_n) {
        (Some(Comparison::SamePeriodLastYear), Some(g), _) => {
            format!("the same {g} a year earlier")
        }
        (Some(_), Some(g), _) => format!("the {g} before"),
        (Some(Comparison::SamePeriodLastYear), None, Some(n)) => {
            format!("the same {n} days a year earlier")
        }
        (_, None, Some(n)) => format!("the previous {n} days"),
        _ => match compiled.comparison_window {
            Some(cw) => range(&cw),
            None => "the previous period".into(),
        },
    }
}

/// A time bucket's label in words: "the week of 17 August 2026", "Q4 2026".
pub(super) fn bucket(v: &Value, grain: TimeGrain) -> String {
    let text = super::shape::item(v);
    let Some(d) = text
        .get(..10)
        .and_then(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
    else {
        return text;
    };
    match grain {
        TimeGrain::Day => date(d),
        TimeGrain::Week => format!("the week of {}", date(d)),
        TimeGrain::Month => month(d),
        TimeGrain::Quarter => format!("Q{} {}", d.month0() / 3 + 1, d.year()),
        TimeGrain::Year => d.year().to_string(),
    }
}

/// A time bucket as a phrase: "on 5 November 2026", "in October 2026".
pub(super) fn bucket_phrase(v: &Value, grain: TimeGrain) -> String {
    let prep = if grain == TimeGrain::Day { "on" } else { "in" };
    format!("{prep} {}", bucket(v, grain))
}

/// Whether the bucket starting on `v` lies wholly inside the window.
pub(super) fn whole_bucket(v: &Value, grain: TimeGrain, window: Option<DateRange>) -> bool {
    let Some(w) = window else {
        return true;
    };
    let start = v
        .as_str()
        .and_then(|s| s.get(..10))
        .and_then(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok());
    match start {
        Some(s) => s >= w.start && last_of(s, grain).is_some_and(|e| e <= w.end),
        None => true,
    }
}

pub(super) fn grain_adjective(g: TimeGrain) -> &'static str {
    match g {
        TimeGrain::Day => "daily",
        TimeGrain::Week => "weekly",
        TimeGrain::Month => "monthly",
        TimeGrain::Quarter => "quarterly",
        TimeGrain::Year => "yearly",
    }
}

/// A label as it reads mid-sentence: "Installs" -> "installs", while
/// acronyms and codes keep their case ("CPI", "D7 retention").
pub(super) fn noun(label: &str) -> String {
    let first = label.split_whitespace().next().unwrap_or_default();
    let mut rest = first.chars().skip(1).peekable();
    let plain = rest.peek().is_some() && rest.all(|c| !c.is_uppercase() && !c.is_ascii_digit());
    if !plain {
        return label.to_string();
    }
    let mut c = label.chars();
    match c.next() {
        Some(f) => f.to_lowercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

pub(super) fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

/// "was" or "were", by whether the label names a plural ("Installs were",
/// "ROAS was", "Spend was").
pub(super) fn verb(label: &str) -> &'static str {
    let last = label.split_whitespace().last().unwrap_or_default();
    let plural = last.len() > 2
        && last.ends_with('s')
        && !last.ends_with("ss")
        && last.chars().skip(1).all(|c| c.is_lowercase() || c == '-');
    if plural { "were" } else { "was" }
}

/// The plural of a noun: "network" -> "networks", "country" -> "countries".
pub(super) fn plural(word: &str) -> String {
    let lower = word.to_lowercase();
    let vowel_y = ["ay", "ey", "oy", "uy"].iter().any(|e| lower.ends_with(e));
    match word.strip_suffix('y') {
        Some(stem) if !vowel_y => format!("{stem}ies"),
        _ if ["s", "x", "ch", "sh"].iter().any(|e| lower.ends_with(e)) => format!("{word}es"),
        _ => format!("{word}s"),
    }
}

/// "a, b and c".
pub(super) fn and_list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// "a, b or c".
pub(super) fn or_list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

pub(super) fn dimension_label(model: &SemanticModel, name: &str) -> String {
    if name == TIME_DIMENSION {
        return "date".into();
    }
    model
        .dimensions
        .get(name)
        .map_or_else(|| name.replace('_', " "), |d| noun(&d.label))
}

pub(super) fn metric_label(model: &SemanticModel, name: &str) -> String {
    model
        .metrics
        .get(name)
        .map_or_else(|| name.replace('_', " "), |m| m.label.clone())
}

fn literals(f: &Filter) -> Vec<String> {
    f.values.iter().map(ToString::to_string).collect()
}

/// A filter as a condition: "country ZZ", "network other than Organic".
pub(super) fn filter(model: &SemanticModel, f: &Filter) -> String {
    let label = dimension_label(model, &f.dimension);
    let vals = literals(f);
    match f.op {
        FilterOp::Eq | FilterOp::In => format!("{label} {}", or_list(&vals)),
        FilterOp::Ne | FilterOp::NotIn => format!("{label} other than {}", or_list(&vals)),
        FilterOp::Gt => format!("{label} above {}", or_list(&vals)),
        FilterOp::Gte => format!("{label} of at least {}", or_list(&vals)),
        FilterOp::Lt => format!("{label} below {}", or_list(&vals)),
        FilterOp::Lte => format!("{label} of at most {}", or_list(&vals)),
        FilterOp::Between => format!("{label} between {}", and_list(&vals)),
        FilterOp::Contains => format!("{label} containing \"{}\"", or_list(&vals)),
        FilterOp::IsNull => format!("no {label}"),
        FilterOp::IsNotNull => format!("any {label}"),
    }
}

/// A filter as the scope of a value: "for iOS", "excluding Organic".
pub(super) fn scope(model: &SemanticModel, f: &Filter) -> String {
    let categorical = model
        .dimensions
        .get(&f.dimension)
        .is_some_and(|d| d.kind == DimensionKind::Categorical);
    match f.op {
        FilterOp::Eq | FilterOp::In if categorical => format!("for {}", or_list(&literals(f))),
        FilterOp::Ne | FilterOp::NotIn if categorical => {
            format!("excluding {}", and_list(&literals(f)))
        }
        _ => format!("where {}", filter(model, f)),
    }
}

/// A condition on a metric: "ROAS above 3.00x".
pub(super) fn condition(model: &SemanticModel, metric: &str, op: CompareOp, v: f64) -> String {
    let label = noun(&metric_label(model, metric));
    let format = model
        .metrics
        .get(metric)
        .map_or(Format::Number, |m| m.format);
    let v = value(Some(v), format);
    match op {
        CompareOp::Gt => format!("{label} above {v}"),
        CompareOp::Gte => format!("{label} of at least {v}"),
        CompareOp::Lt => format!("{label} below {v}"),
        CompareOp::Lte => format!("{label} of at most {v}"),
        CompareOp::Eq => format!("{label} of exactly {v}"),
        CompareOp::Ne => format!("{label} other than {v}"),
    }
}

/// A plan's period as a question would say it: "last month", "over the
/// last 90 days", "in October 2026". Empty for the model's default period.
pub(super) fn asked_period(asked: Option<&TimeRange>) -> String {
    let unit = |u: CalendarUnit| TimeGrain::from(u).to_string();
    match asked {
        None => String::new(),
        Some(TimeRange::Day { offset: 0 }) => "today".into(),
        Some(TimeRange::Day { offset: 1 }) => "yesterday".into(),
        Some(TimeRange::Day { offset }) => format!("{offset} days ago"),
        Some(TimeRange::LastNDays { n }) => format!("over the last {n} days"),
        Some(TimeRange::Current { unit: u }) => format!("this {}", unit(*u)),
        Some(TimeRange::Previous { unit: u, n: 1 }) => format!("last {}", unit(*u)),
        Some(TimeRange::Previous { unit: u, n }) => {
            format!("over the last {n} full {}s", unit(*u))
        }
        Some(TimeRange::Between { start, end }) => {
            let r = DateRange {
                start: *start,
                end: *end,
            };
            if whole(&r, TimeGrain::Month)
                || whole(&r, TimeGrain::Quarter)
                || whole(&r, TimeGrain::Year)
            {
                format!("in {}", range(&r))
            } else {
                format!("from {start} to {end}")
            }
        }
        Some(TimeRange::Since { start }) => format!("since {start}"),
        Some(TimeRange::All) => "across all time".into(),
    }
}

/// The query's filters that narrow the whole answer, leaving out those on a
/// dimension the answer is broken down by (the breakdown already shows them).
pub(super) fn scoping_filters(q: &SemanticQuery) -> impl Iterator<Item = &Filter> {
    q.filters
        .iter()
        .filter(|f| !q.dimensions.iter().any(|d| d.name == f.dimension))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("test date")
    }

    fn r(a: &str, b: &str) -> String {
        range(&DateRange {
            start: d(a),
            end: d(b),
        })
    }

    #[test]
    fn periods_read_like_calendar_names() {
        assert_eq!(r("2026-10-01", "2026-10-31"), "October 2026");
        assert_eq!(r("2026-07-01", "2026-09-30"), "Q3 2026");
        assert_eq!(r("2025-01-01", "2025-12-31"), "2025");
        assert_eq!(r("2026-11-09", "2026-11-15"), "the week of 9 November 2026");
        assert_eq!(r("2026-11-01", "2026-11-18"), "1-18 November 2026");
        assert_eq!(
            r("2026-08-21", "2026-11-18"),
            "21 August - 18 November 2026"
        );
        assert_eq!(
            r("2025-12-28", "2026-01-03"),
            "28 December 2025 - 3 January 2026"
        );
        assert_eq!(r("2026-11-18", "2026-11-18"), "18 November 2026");
    }

    #[test]
    fn numbers_and_changes() {
        crate::engine::use_currency(
            quarry_schema::demo_model::load()
                .ok()
                .and_then(|m| m.vocabulary.currency)
                .as_ref(),
        );
        assert_eq!(pct(0.0321), "3.2%");
        assert_eq!(pct(0.10757), "11%");
        assert_eq!(pct(-0.1402), "14%");
        assert_eq!(pct(12.5), "1,250%");
        assert_eq!(amount(-0.0012, Format::Percent), "0.1 points");
        assert_eq!(amount(-0.2137, Format::Currency), "$0.21");
        assert_eq!(value(Some(1.8412), Format::Ratio), "1.84x");
        assert_eq!(value(Some(12345.0), Format::Integer), "12,345");
        assert_eq!(value(None, Format::Integer), "no value");
    }

    #[test]
    fn labels_in_sentences() {
        assert_eq!(noun("Installs"), "installs");
        assert_eq!(noun("CPI"), "CPI");
        assert_eq!(noun("D7 retention"), "D7 retention");
        assert_eq!(
            noun("Likely-fraudulent installs"),
            "likely-fraudulent installs"
        );
        assert_eq!(verb("Installs"), "were");
        assert_eq!(verb("ROAS"), "was");
        assert_eq!(verb("Spend"), "was");
        assert_eq!(verb("At-risk users"), "were");
        assert_eq!(verb("Fraud rate"), "was");
        assert_eq!(plural("country"), "countries");
        assert_eq!(plural("campaign"), "campaigns");
        assert_eq!(plural("age group"), "age groups");
        assert_eq!(
            and_list(&["a".into(), "b".into(), "c".into()]),
            "a, b and c"
        );
    }
}
