//! Narration: the few plain sentences under an answer. Everything that takes
//! judgement or arithmetic happens here, in Rust, as facts: the headline value
//! in its format, the period in words, the change against the comparison
//! period worded by whether higher is better, the top and bottom of a ranking
//! and the top's share, the biggest mover, a time series' direction and peak.
//! The template in `prompts/narration.md.j2` only words those facts, so its
//! sentences can be reworded without touching a number, and an LLM narrator
//! can be handed the same facts instead of raw rows.

use minijinja::{AutoEscape, Environment, UndefinedBehavior};
use quarry_schema::query::{FilterOp, TimeGrain};
use quarry_schema::{CompiledQuery, SemanticModel};
use serde::Serialize;
use serde_json::Value;

use super::NarrateError;
use super::shape::{self, DimCol, MetricCols, Shape, number};
use super::words;

const TEMPLATE_NAME: &str = "narration.md.j2";
const TEMPLATE: &str = include_str!("../../../prompts/narration.md.j2");

/// A short narration of a compiled plan's result.
pub fn narrate(
    compiled: &CompiledQuery,
    model: &SemanticModel,
    rows: &[Vec<Value>],
) -> Result<String, NarrateError> {
    render(&facts(compiled, model, rows))
}

/// The facts the narration is worded from, as JSON: formatted values,
/// periods in words, changes, leaders and movers. Aggregates only, never
/// rows, so they are safe to hand to an LLM narrator in place of the
/// template.
pub fn narration_facts(
    compiled: &CompiledQuery,
    model: &SemanticModel,
    rows: &[Vec<Value>],
) -> Value {
    serde_json::to_value(facts(compiled, model, rows)).unwrap_or(Value::Null)
}

fn render(facts: &Facts) -> Result<String, NarrateError> {
    let mut env = Environment::new();
    // A typo in the template must fail the tests, not print an empty phrase.
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_auto_escape_callback(|_| AutoEscape::None);
    env.add_template(TEMPLATE_NAME, TEMPLATE)?;
    let text = env
        .get_template(TEMPLATE_NAME)?
        .render(minijinja::value::Serde(facts))?;
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    // Optional phrases (an empty scope or period) leave a space before
    // punctuation.
    Ok(text
        .replace(" ,", ",")
        .replace(" .", ".")
        .replace(" ;", ";")
        .replace(" :", ":")
        .replace(" )", ")"))
}

#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
enum Kind {
    Empty,
    Single,
    Segments,
    Ranking,
    Trend,
    Table,
}

#[derive(Debug, Serialize)]
struct Facts {
    kind: Kind,
    metric: MetricWords,
    /// "in October 2026", "over the last 30 days"; empty without a period.
    period: String,
    /// "for iOS", "excluding Organic"; empty when nothing narrows the answer.
    scope: String,
    filters: Vec<String>,
    conditions: Vec<String>,
    /// What a breakdown's rows are, for "No campaign had ROAS above 3".
    unit: Option<String>,
    single: Option<Single>,
    segments: Option<Segments>,
    ranking: Option<Ranking>,
    trend: Option<Trend>,
    table: Option<TableFacts>,
}

#[derive(Debug, Serialize)]
struct MetricWords {
    /// As it starts a sentence: "Installs", "CPI".
    label: String,
    /// As it reads mid-sentence: "installs", "CPI".
    noun: String,
    verb: &'static str,
    /// "most" and "fewest" for counts of things, else "highest", "lowest".
    most: &'static str,
    least: &'static str,
}

#[derive(Debug, Serialize)]
struct Change {
    /// up, down or unchanged.
    direction: &'static str,
    /// "10.8%", or points for a percent metric.
    size: String,
    /// The difference with its relative size: "$0.32 (7.5%)".
    by: String,
    previous: String,
    against: String,
    /// Spelled out only where higher is not better, since "CPI rose" does
    /// not read as bad news on its own.
    judgement: Option<&'static str>,
}

#[derive(Debug, Serialize)]
struct Item {
    name: String,
    value: String,
    /// Its share of the total, when the plan asked for shares.
    share: Option<String>,
}

#[derive(Debug, Serialize)]
struct Single {
    /// The breakdown value when the one row has one.
    item: Option<String>,
    value: String,
    change: Option<Change>,
    /// The other metrics: "installs at 45,357 and CPI at $2.77".
    others: String,
    /// Its share of the total over the breakdown, when asked.
    share: Option<String>,
}

#[derive(Debug, Serialize)]
struct Segments {
    first: Item,
    second: Item,
    higher: String,
    size: String,
    level: bool,
    /// The lower side, when lower is better.
    better: Option<String>,
}

#[derive(Debug, Serialize)]
struct Ranking {
    count: usize,
    /// Whether every row is shown (no top-N cut).
    complete: bool,
    /// What the rows are, in the plural: "networks".
    breakdown: String,
    highest: Item,
    lowest: Item,
    /// The highest row's share of the total, for metrics that add up.
    share: Option<String>,
    /// Whether that share is of the total over every member (the plan asked
    /// for shares), not only of the rows shown.
    share_of_all: bool,
    movers: Option<Movers>,
}

#[derive(Debug, Serialize)]
struct Movers {
    /// "rose for 7 of the 8 networks".
    spread: String,
    against: String,
    mover: Option<Mover>,
}

#[derive(Debug, Serialize)]
struct Mover {
    name: String,
    change: Change,
}

#[derive(Debug, Serialize)]
struct Trend {
    adjective: String,
    grain: String,
    first: Bucket,
    last: Bucket,
    /// "rose 12.5%", "fell 3.1%", "held steady".
    movement: String,
    peak: Option<Bucket>,
    /// Whether partial buckets at the edges were left out of the comparison.
    whole_only: bool,
    total: Option<String>,
    latest: Option<Latest>,
}

#[derive(Debug, Serialize)]
struct Bucket {
    /// With its preposition: "on 5 November 2026", "in October 2026".
    when: String,
    value: String,
}

#[derive(Debug, Serialize)]
struct Latest {
    /// As it opens a sentence: "In the week of 9 November 2026".
    when: String,
    change: Change,
}

#[derive(Debug, Serialize)]
struct TableFacts {
    metrics: String,
    by: String,
    rows: usize,
    leader: Option<Leader>,
}

#[derive(Debug, Serialize)]
struct Leader {
    /// As it opens a sentence.
    when: String,
    name: String,
    value: String,
}

fn facts(compiled: &CompiledQuery, model: &SemanticModel, rows: &[Vec<Value>]) -> Facts {
    crate::engine::use_currency(model.vocabulary.currency.as_ref());
    let shape = Shape::of(compiled, model);
    let q = &compiled.query;
    let lead = shape.lead_metric(compiled);
    let label = lead.map_or_else(|| "Results".to_string(), |m| m.label.clone());
    let mut f = Facts {
        kind: Kind::Empty,
        metric: MetricWords {
            noun: words::noun(&label),
            verb: words::verb(&label),
            most: if words::verb(&label) == "were" {
                "most"
            } else {
                "highest"
            },
            least: if words::verb(&label) == "were" {
                "fewest"
            } else {
                "lowest"
            },
            label,
        },
        period: words::period(compiled)
            .map(|p| p.phrase)
            .unwrap_or_default(),
        scope: words::scoping_filters(q)
            .map(|f| words::scope(model, f))
            .collect::<Vec<_>>()
            .join(", "),
        filters: q.filters.iter().map(|f| words::filter(model, f)).collect(),
        conditions: q
            .conditions
            .iter()
            .map(|c| words::condition(model, &c.metric, c.op, c.value))
            .collect(),
        unit: shape.dims.first().map(|d| words::noun(&d.label)),
        single: None,
        segments: None,
        ranking: None,
        trend: None,
        table: None,
    };
    let Some(m) = lead else {
        return f;
    };
    if !rows.iter().any(|r| number(r, m.index).is_some()) {
        return f;
    }
    let n = Narrator {
        compiled,
        shape: &shape,
        rows,
        m,
    };
    match (&shape.time, shape.dims.as_slice()) {
        (Some(t), []) => match n.trend(t) {
            Some(trend) => {
                f.kind = Kind::Trend;
                f.trend = Some(trend);
            }
            None => n.single(&mut f, Some(t)),
        },
        (Some(t), dims) => {
            f.kind = Kind::Table;
            f.table = Some(n.table(t, dims));
        }
        (None, _) if rows.len() == 1 => n.single(&mut f, None),
        (None, [d]) if n.is_segments(d) => {
            f.kind = Kind::Segments;
            f.segments = n.segments();
        }
        (None, dims) => {
            f.kind = Kind::Ranking;
            f.ranking = n.ranking(dims);
        }
    }
    f
}

struct Narrator<'a> {
    compiled: &'a CompiledQuery,
    shape: &'a Shape,
    rows: &'a [Vec<Value>],
    /// The metric the narration is about.
    m: &'a MetricCols,
}

impl Narrator<'_> {
    fn value(&self, row: &[Value], m: &MetricCols) -> String {
        words::value(number(row, m.index), m.format)
    }

    /// The lead metric's share of the total in this row, when asked.
    fn share(&self, row: &[Value]) -> Option<String> {
        let v = number(row, self.m.share?)?;
        Some(words::value(Some(v), quarry_schema::model::Format::Percent))
    }

    fn change(&self, row: &[Value], grain: Option<TimeGrain>) -> Option<Change> {
        let m = self.m;
        let delta = number(row, m.change?)?;
        let ratio = m.change_pct.and_then(|i| number(row, i));
        let previous = m.previous.and_then(|i| number(row, i));
        let flat = words::negligible(delta, ratio, m.format);
        let size = words::change_size(delta, ratio, m.format);
        let amount = words::amount(delta, m.format);
        Some(Change {
            direction: match (flat, delta > 0.0) {
                (true, _) => "unchanged",
                (false, true) => "up",
                (false, false) => "down",
            },
            by: if size == amount {
                amount
            } else {
                format!("{amount} ({size})")
            },
            size,
            previous: words::value(previous, m.format),
            against: words::against(self.compiled, grain),
            judgement: (!flat && !m.higher_is_better).then_some(if delta < 0.0 {
                "which is good"
            } else {
                "which is bad"
            }),
        })
    }

    /// Whether the last row may be cut off by the row limit.
    fn truncated(&self) -> bool {
        let n = self.rows.len() as u64;
        match (self.compiled.query.limit, self.compiled.row_cap) {
            (Some(limit), _) => n >= limit,
            (None, Some(cap)) => n >= cap,
            (None, None) => false,
        }
    }

    fn single(&self, f: &mut Facts, time: Option<&DimCol>) {
        let Some(row) = self.rows.first() else {
            return;
        };
        let item = (!self.shape.dims.is_empty()).then(|| shape::item_name(row, &self.shape.dims));
        // One time bucket is the period the number covers.
        if let Some(t) = time
            && let Some(g) = t.grain
        {
            f.period = words::bucket_phrase(shape::cell(row, t.index), g);
        }
        let others: Vec<String> = self
            .shape
            .metrics
            .iter()
            .filter(|o| o.index != self.m.index)
            .map(|o| format!("{} at {}", words::noun(&o.label), self.value(row, o)))
            .collect();
        f.kind = Kind::Single;
        f.single = Some(Single {
            item,
            value: self.value(row, self.m),
            change: self.change(row, time.and_then(|t| t.grain)),
            others: words::and_list(&others),
            share: self.share(row),
        });
    }

    /// Two rows that are the two values a filter picked: `iOS vs Android`.
    fn is_segments(&self, d: &DimCol) -> bool {
        let q = &self.compiled.query;
        self.rows.len() == 2
            && !self.shape.compared()
            && q.dimensions.iter().any(|qd| {
                qd.column_name() == d.column
                    && q.filters.iter().any(|f| {
                        f.dimension == qd.name && f.op == FilterOp::In && f.values.len() == 2
                    })
            })
    }

    fn segments(&self) -> Option<Segments> {
        let m = self.m;
        let [a, b] = self.rows else {
            return None;
        };
        let (va, vb) = (number(a, m.index)?, number(b, m.index)?);
        let name = |r: &[Value]| shape::item_name(r, &self.shape.dims);
        let (hi, lo, vhi, vlo) = if va >= vb {
            (a, b, va, vb)
        } else {
            (b, a, vb, va)
        };
        let delta = vhi - vlo;
        let ratio = (vlo != 0.0).then(|| delta / vlo.abs());
        let level = words::negligible(delta, ratio, m.format);
        Some(Segments {
            first: Item {
                name: name(a),
                value: self.value(a, m),
                share: self.share(a),
            },
            second: Item {
                name: name(b),
                value: self.value(b, m),
                share: self.share(b),
            },
            higher: name(hi),
            size: words::change_size(delta, ratio, m.format),
            level,
            better: (!level && !m.higher_is_better).then(|| name(lo)),
        })
    }

    fn ranking(&self, dims: &[DimCol]) -> Option<Ranking> {
        let m = self.m;
        let valued: Vec<(&Vec<Value>, f64)> = self
            .rows
            .iter()
            .filter_map(|r| number(r, m.index).map(|v| (r, v)))
            .collect();
        // Ties go to the row the query ranked first.
        let pick = |better: fn(f64, f64) -> bool| {
            valued
                .iter()
                .copied()
                .reduce(|best, x| if better(x.1, best.1) { x } else { best })
        };
        let (top, top_v) = pick(|a, b| a > b)?;
        let (bottom, _) = pick(|a, b| a < b)?;
        let item = |r: &[Value]| Item {
            name: shape::item_name(r, dims),
            value: self.value(r, m),
            share: self.share(r),
        };
        let complete = !self.truncated();
        let total: f64 = valued.iter().map(|(_, v)| v).sum();
        let share = (m.additive
            && complete
            && self.compiled.query.conditions.is_empty()
            && valued.len() == self.rows.len()
            && self.rows.len() > 1
            && valued.iter().all(|(_, v)| *v >= 0.0)
            && total > 0.0)
            .then(|| words::value(Some(top_v / total), quarry_schema::model::Format::Percent));
        // A share the plan asked for is of everything, not of the rows.
        let asked = self.share(top);
        let share_of_all = asked.is_some();
        let share = asked.or(share);
        let breakdown = match dims {
            [d] => words::plural(&words::noun(&d.label)),
            _ => format!(
                "{} combinations",
                words::and_list(
                    &dims
                        .iter()
                        .map(|d| words::noun(&d.label))
                        .collect::<Vec<_>>()
                )
            ),
        };
        let movers = m.compared().then(|| self.movers(dims, &breakdown));
        Some(Ranking {
            count: self.rows.len(),
            complete,
            breakdown,
            highest: item(top),
            lowest: item(bottom),
            share,
            share_of_all,
            movers,
        })
    }

    fn movers(&self, dims: &[DimCol], breakdown: &str) -> Movers {
        let m = self.m;
        let mut ups = 0;
        let mut downs = 0;
        let mut biggest: Option<(&Vec<Value>, f64)> = None;
        for r in self.rows {
            let Some(delta) = m.change.and_then(|i| number(r, i)) else {
                continue;
            };
            let ratio = m.change_pct.and_then(|i| number(r, i));
            if !words::negligible(delta, ratio, m.format) {
                if delta > 0.0 {
                    ups += 1;
                } else {
                    downs += 1;
                }
            }
            if biggest.is_none_or(|(_, b)| delta.abs() > b.abs()) {
                biggest = Some((r, delta));
            }
        }
        let n = self.rows.len();
        let spread = match (ups, downs) {
            (0, 0) => format!("held steady across the {n} {breakdown}"),
            (u, 0) if u == n => format!("rose for all {n} {breakdown}"),
            (0, d) if d == n => format!("fell for all {n} {breakdown}"),
            (u, d) if u >= d => format!("rose for {u} of the {n} {breakdown}"),
            (_, d) => format!("fell for {d} of the {n} {breakdown}"),
        };
        let mover = biggest.and_then(|(r, _)| {
            let change = self.change(r, None)?;
            (change.direction != "unchanged").then(|| Mover {
                name: shape::item_name(r, dims),
                change,
            })
        });
        Movers {
            spread,
            against: words::against(self.compiled, None),
            mover,
        }
    }

    fn trend(&self, t: &DimCol) -> Option<Trend> {
        let m = self.m;
        let grain = t.grain.unwrap_or(TimeGrain::Day);
        let window = self.compiled.window;
        let points: Vec<(&Vec<Value>, f64)> = self
            .rows
            .iter()
            .filter_map(|r| number(r, m.index).map(|v| (r, v)))
            .collect();
        let whole: Vec<(&Vec<Value>, f64)> = points
            .iter()
            .copied()
            .filter(|(r, _)| words::whole_bucket(shape::cell(r, t.index), grain, window))
            .collect();
        // A partial bucket at either edge would read as a fall that never
        // happened; compare whole buckets when there are enough of them.
        let (series, whole_only) = if whole.len() >= 2 {
            let dropped = whole.len() < points.len();
            (whole, dropped)
        } else {
            (points, false)
        };
        let (&(first, v0), &(last, v1)) = (series.first()?, series.last()?);
        if series.len() < 2 {
            return None;
        }
        let bucket = |r: &[Value]| Bucket {
            when: words::bucket_phrase(shape::cell(r, t.index), grain),
            value: self.value(r, m),
        };
        let delta = v1 - v0;
        let ratio = (v0 != 0.0).then(|| delta / v0.abs());
        let movement = if words::negligible(delta, ratio, m.format) {
            "held steady".to_string()
        } else {
            format!(
                "{} {}",
                if delta > 0.0 { "rose" } else { "fell" },
                words::change_size(delta, ratio, m.format)
            )
        };
        let peak = series
            .iter()
            .copied()
            .reduce(|best, x| if x.1 > best.1 { x } else { best })
            .filter(|(r, _)| !std::ptr::eq(*r, first) && !std::ptr::eq(*r, last))
            .map(|(r, _)| bucket(r));
        // Buckets partition the period, so a metric that adds up totals over
        // all of them, partial ones included.
        let total = (m.additive && !self.truncated()).then(|| {
            let sum: f64 = self.rows.iter().filter_map(|r| number(r, m.index)).sum();
            words::value(Some(sum), m.format)
        });
        let latest = self.change(last, Some(grain)).map(|change| Latest {
            when: words::capitalise(&words::bucket_phrase(shape::cell(last, t.index), grain)),
            change,
        });
        Some(Trend {
            adjective: words::capitalise(words::grain_adjective(grain)),
            grain: grain.to_string(),
            first: bucket(first),
            last: bucket(last),
            movement,
            peak,
            whole_only,
            total,
            latest,
        })
    }

    fn table(&self, t: &DimCol, dims: &[DimCol]) -> TableFacts {
        let m = self.m;
        let grain = t.grain.unwrap_or(TimeGrain::Day);
        let metrics: Vec<String> = self
            .shape
            .metrics
            .iter()
            .map(|m| words::noun(&m.label))
            .collect();
        let by: Vec<String> = std::iter::once(t)
            .chain(dims)
            .map(|d| words::noun(&d.label))
            .collect();
        // The latest whole bucket's leader, among rows with a value.
        let latest = self
            .rows
            .iter()
            .map(|r| shape::cell(r, t.index))
            .filter(|v| words::whole_bucket(v, grain, self.compiled.window))
            .filter_map(|v| v.as_str())
            .max();
        let leader = latest.and_then(|when| {
            self.rows
                .iter()
                .filter(|r| shape::cell(r, t.index).as_str() == Some(when))
                .filter_map(|r| number(r, m.index).map(|v| (r, v)))
                .reduce(|best, x| if x.1 > best.1 { x } else { best })
                .map(|(r, _)| Leader {
                    when: words::capitalise(&words::bucket_phrase(shape::cell(r, t.index), grain)),
                    name: shape::item_name(r, dims),
                    value: self.value(r, m),
                })
        });
        TableFacts {
            metrics: words::and_list(&metrics),
            by: words::and_list(&by),
            rows: self.rows.len(),
            leader,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{self, Case, MODEL};
    use super::*;

    fn say(c: &Case) -> String {
        narrate(&c.compiled, &MODEL, &c.rows).expect("the template renders")
    }

    #[test]
    fn headline_with_comparison() {
        insta::assert_snapshot!(
            say(&fixtures::installs_last_month_vs_previous()),
            @"Installs were 197,886 in October 2026, up 11% on September 2026 (178,666)."
        );
        // Percent metrics move in points.
        insta::assert_snapshot!(
            say(&fixtures::d7_retention_vs_previous()),
            @"D7 retention was 14.9% in October 2026, down 0.1 points on September 2026 (15.1%)."
        );
        insta::assert_snapshot!(
            say(&fixtures::ios_roas_vs_previous()),
            @"ROAS was 1.22x for iOS in October 2026, down 2.7% on September 2026 (1.26x)."
        );
        insta::assert_snapshot!(
            say(&fixtures::spend_installs_cpi_last_week()),
            @"Spend was $89,325.92 in the week of 9 November 2026, with installs at 45,357 and CPI at $2.77."
        );
    }

    #[test]
    fn rankings() {
        insta::assert_snapshot!(
            say(&fixtures::installs_by_network()),
            @"Organic had the most installs in October 2026 at 56,507 (28.6% of the total across the 9 networks), and Snapchat the fewest at 7,352."
        );
        // A top 5 is not the whole list: no share, and the lowest is "of the 5".
        insta::assert_snapshot!(
            say(&fixtures::top_5_campaigns_by_roas()),
            @"Facebook_Android_KR_Lookalike had the highest ROAS in October 2026 at 2.64x, and Facebook_iOS_JP_Interest the lowest of the 5 shown at 1.99x."
        );
        insta::assert_snapshot!(
            say(&fixtures::installs_by_network_and_platform()),
            @"Organic / Android had the most installs in October 2026 at 34,784 (17.6% of the total across the 17 network and platform combinations), and Snapchat / Android the fewest at 2,251."
        );
    }

    #[test]
    fn biggest_mover() {
        // Apple Search Ads moved by $0.32, more than TikTok's -$0.21; a
        // higher CPI is bad news.
        insta::assert_snapshot!(
            say(&fixtures::cpi_by_network_vs_previous()),
            @"Apple Search Ads had the highest CPI in October 2026 at $4.58, and TikTok the lowest at $1.31. CPI rose for 7 of the 8 networks compared with September 2026; the biggest mover was Apple Search Ads, up $0.32 (7.5%), which is bad."
        );
    }

    #[test]
    fn segments() {
        insta::assert_snapshot!(
            say(&fixtures::installs_ios_vs_android()),
            @"Installs were 105,288 for Android and 92,598 for iOS in October 2026: Android is 14% higher."
        );
        insta::assert_snapshot!(
            say(&fixtures::cpi_ios_vs_android()),
            @"CPI was $3.44 for iOS and $1.61 for Android in October 2026: iOS is 114% higher; lower is better, so Android comes out ahead."
        );
    }

    #[test]
    fn trends() {
        // The partial weeks at both ends would read as a dip; they are left
        // out of the comparison but counted in the total.
        insta::assert_snapshot!(
            say(&fixtures::spend_and_installs_weekly()),
            @"Weekly spend rose 22% from $73,004.26 in the week of 24 August 2026 to $89,325.92 in the week of 9 November 2026 (whole weeks only). Spend totalled $1,014,422.00 over the last 90 days."
        );
        insta::assert_snapshot!(
            say(&fixtures::daily_spend()),
            @"Daily spend rose 1.1% from $12,194.57 on 5 November 2026 to $12,323.98 on 18 November 2026, peaking at $15,186.35 on 15 November 2026. Spend totalled $173,171.73 over the last 14 days."
        );
        insta::assert_snapshot!(
            say(&fixtures::weekly_installs_vs_previous()),
            @"Weekly installs rose 1.6% from 44,643 in the week of 26 October 2026 to 45,357 in the week of 9 November 2026, peaking at 47,559 in the week of 2 November 2026 (whole weeks only). Installs totalled 182,841 over the last 28 days. In the week of 9 November 2026, installs were down 4.6% on the week before (47,559)."
        );
        insta::assert_snapshot!(
            say(&fixtures::monthly_spend_and_revenue()),
            @"Monthly spend rose 20% from $267,180.07 in July 2026 to $319,708.74 in September 2026. Spend totalled $906,552.95 in Q3 2026."
        );
        insta::assert_snapshot!(
            say(&fixtures::weekly_installs_by_platform()),
            @"Here are installs by week and platform over the last 56 days (18 rows). In the week of 9 November 2026, Android led with 23,398."
        );
    }

    #[test]
    fn empty_results() {
        insta::assert_snapshot!(
            say(&fixtures::installs_in_unknown_country()),
            @"No installs matched country ZZ in October 2026; try a wider period or fewer filters."
        );
        insta::assert_snapshot!(
            say(&fixtures::campaigns_with_roas_above_3()),
            @"No campaign had ROAS above 3.00x in October 2026; try a looser condition or a wider period."
        );
    }

    #[test]
    fn one_bucket_is_the_period() {
        let c = fixtures::compile(
            r#"{"metrics": ["installs"], "dimensions": [{"name": "date", "grain": "month"}], "time_range": {"kind": "previous", "unit": "month"}}"#,
        );
        let rows = vec![vec![
            serde_json::json!("2026-10-01"),
            serde_json::json!(197886),
        ]];
        insta::assert_snapshot!(
            narrate(&c, &MODEL, &rows).expect("renders"),
            @"Installs were 197,886 in October 2026."
        );
    }

    #[test]
    fn facts_hold_aggregates_not_rows() {
        let c = fixtures::cpi_by_network_vs_previous();
        let facts = narration_facts(&c.compiled, &MODEL, &c.rows);
        assert_eq!(facts["kind"], "ranking");
        assert_eq!(
            facts["ranking"]["movers"]["mover"]["name"],
            "Apple Search Ads"
        );
        // Values arrive formatted, so a narrator copies them rather than
        // computing or rounding them.
        assert_eq!(facts["ranking"]["highest"]["value"], "$4.58");
        let text = facts.to_string();
        assert!(!text.contains("Snapchat"), "a middle row leaked: {text}");
    }
}
