//! Chart choice: picks the chart a result's shape calls for and writes it as
//! a Vega-Lite v5 spec with the data inlined, so any client can draw it with
//! vega-embed and nothing else. A single number is a KPI tile, a time series
//! a line, a ranking horizontal bars in the order the query ranked them, two
//! breakdowns or a period comparison grouped bars. Anything a chart would
//! make harder to read (too many series or categories, mixed units, no rows)
//! stays a table, which the client always shows anyway.

use std::collections::BTreeSet;

use chrono::{Datelike, NaiveDate};
use quarry_schema::model::Format;
use quarry_schema::query::TimeGrain;
use quarry_schema::{CompiledQuery, OutputRole, SemanticModel};
use serde::Serialize;
use serde_json::{Map, Value, json};

use super::shape::{self, DimCol, MetricCols, Shape};
use super::words;

/// The Vega-Lite version the specs are written for; clients resolve it to
/// the library they bundle, nothing fetches it.
pub const VEGA_LITE_SCHEMA: &str = "https://vega.github.io/schema/vega-lite/v5.json";

/// More lines than this and a legend stops helping.
const MAX_SERIES: usize = 10;
/// Horizontal bars stay readable up to about this many categories.
const MAX_BARS: usize = 30;
/// Categories of a grouped bar chart, and bars within each category.
const MAX_GROUPS: usize = 20;
const MAX_GROUP_SIZE: usize = 6;
/// Metrics side by side in one KPI tile.
const MAX_TILES: usize = 4;

// Field names the fold transforms create; unlikely to clash with a metric.
const SERIES: &str = "series_";
const SERIES_KEY: &str = "series_key_";
const VALUE: &str = "value_";

const CURRENT_COLOUR: &str = "#4c78a8";
const PREVIOUS_COLOUR: &str = "#bab0ac";
const SECOND_COLOUR: &str = "#f58518";
const GOOD_COLOUR: &str = "#2e7d32";
const BAD_COLOUR: &str = "#c62828";
const NEUTRAL_COLOUR: &str = "#666666";

#[derive(Debug, Clone, Serialize)]
pub struct Chart {
    pub kind: ChartKind,
    pub title: String,
    /// A Vega-Lite v5 spec; `None` for a table.
    pub spec: Option<Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChartKind {
    Kpi,
    Line,
    Bar,
    GroupedBar,
    Table,
}

/// The chart for a compiled plan's result.
pub fn choose(compiled: &CompiledQuery, model: &SemanticModel, rows: &[Vec<Value>]) -> Chart {
    crate::engine::use_currency(model.vocabulary.currency.as_ref());
    let shape = Shape::of(compiled, model);
    let title = title(compiled, model, &shape);
    let view = View {
        compiled,
        shape: &shape,
        rows,
        title: &title,
        currency: model
            .vocabulary
            .currency
            .as_ref()
            .map(|c| c.symbol.as_str()),
    };
    match view
        .build()
        .map(|(k, spec)| (k, with_currency(spec, view.currency)))
    {
        Some((kind, spec)) => Chart {
            kind,
            title,
            spec: Some(spec),
        },
        None => Chart {
            kind: ChartKind::Table,
            title,
            spec: None,
        },
    }
}

/// "CPI by network, October 2026 vs September 2026".
fn title(compiled: &CompiledQuery, model: &SemanticModel, shape: &Shape) -> String {
    let mut t = metric_list(&shape.metrics);
    let by: Vec<String> = shape
        .time
        .iter()
        .chain(shape.dims.iter())
        .map(|d| words::noun(&d.label))
        .collect();
    if !by.is_empty() {
        t = format!("{t} by {}", words::and_list(&by));
    }
    let scope: Vec<String> = words::scoping_filters(&compiled.query)
        .map(|f| words::scope(model, f))
        .collect();
    if !scope.is_empty() {
        t = format!("{t} {}", scope.join(", "));
    }
    if let Some(p) = words::period(compiled) {
        t = format!("{t}, {}", p.short);
        if shape.compared() && shape.time.is_none() {
            let against = words::against(compiled, None);
            t = format!(
                "{t} vs {}",
                against.strip_prefix("the ").unwrap_or(&against)
            );
        }
    }
    t
}

struct View<'a> {
    compiled: &'a CompiledQuery,
    shape: &'a Shape,
    rows: &'a [Vec<Value>],
    title: &'a str,
    /// The model's currency symbol, which d3's `$` formats write.
    currency: Option<&'a str>,
}

/// d3's `$` in a number format writes the locale's currency: make it the
/// model's own.
fn with_currency(mut spec: Value, symbol: Option<&str>) -> Value {
    if let (Some(symbol), Some(obj)) = (symbol, spec.as_object_mut()) {
        let config = obj.entry("config").or_insert_with(|| json!({}));
        if let Some(c) = config.as_object_mut() {
            c.insert(
                "locale".into(),
                json!({"number": {
                    "decimal": ".", "thousands": ",", "grouping": [3], "currency": [symbol, ""]
                }}),
            );
        }
    }
    spec
}

impl View<'_> {
    fn build(&self) -> Option<(ChartKind, Value)> {
        let s = self.shape;
        if self.rows.is_empty() || s.metrics.is_empty() {
            return None;
        }
        match (&s.time, s.dims.as_slice()) {
            (Some(t), []) => self.line(t),
            (Some(t), [d]) => self.lines_by(t, d),
            (None, []) if self.rows.len() == 1 => self.kpi(),
            (None, [d]) if s.compared() => self.bars_against_previous(d),
            (None, [d]) => self.bars(d),
            (None, [a, b]) if !s.compared() => self.grouped_bars(a, b),
            _ => None,
        }
    }

    /// The top-level properties every spec shares.
    fn base(&self, height: Value, values: Vec<Value>) -> Map<String, Value> {
        let mut spec = Map::new();
        spec.insert("$schema".into(), json!(VEGA_LITE_SCHEMA));
        spec.insert("title".into(), json!(self.title));
        spec.insert("width".into(), json!("container"));
        spec.insert("height".into(), height);
        spec.insert("data".into(), json!({ "values": values }));
        spec
    }

    /// Rows as objects keyed by column name; a missing breakdown value gets
    /// a name so it shows as a category rather than vanishing.
    fn records(&self) -> Vec<Value> {
        let cols = &self.compiled.columns;
        self.rows
            .iter()
            .map(|row| {
                let mut o = Map::new();
                for (i, c) in cols.iter().enumerate() {
                    let v = shape::cell(row, i);
                    let v = match (c.role, v) {
                        (OutputRole::Dimension, Value::Null) => json!(shape::item(v)),
                        _ => v.clone(),
                    };
                    o.insert(c.name.clone(), v);
                }
                Value::Object(o)
            })
            .collect()
    }

    fn distinct(&self, d: &DimCol) -> usize {
        self.rows
            .iter()
            .map(|r| shape::item(shape::cell(r, d.index)))
            .collect::<BTreeSet<_>>()
            .len()
    }

    /// Every column of the result, formatted, for the hover text.
    fn tooltip(&self) -> Value {
        let tips: Vec<Value> = self
            .compiled
            .columns
            .iter()
            .map(|c| match c.role {
                OutputRole::Dimension => nominal(&c.name, &c.label),
                OutputRole::Time => {
                    let g = self.shape.time.as_ref().and_then(|t| t.grain);
                    let (unit, _) = time_unit(g.unwrap_or(TimeGrain::Day));
                    json!({
                        "field": field(&c.name),
                        "type": "temporal",
                        "timeUnit": unit,
                        "title": c.label,
                        "format": tooltip_time_format(g.unwrap_or(TimeGrain::Day)),
                    })
                }
                _ => json!({
                    "field": field(&c.name),
                    "type": "quantitative",
                    "title": c.label,
                    "format": tooltip_format(c.format.unwrap_or(Format::Number)),
                }),
            })
            .collect();
        Value::Array(tips)
    }

    fn kpi(&self) -> Option<(ChartKind, Value)> {
        let s = self.shape;
        if s.metrics.len() > MAX_TILES {
            return None;
        }
        let row = self.rows.first()?;
        let compared = s.compared();
        let against = words::against(self.compiled, None);
        let tiles: Vec<Value> = s
            .metrics
            .iter()
            .map(|m| {
                let (change, tone) = kpi_change(row, m, &against);
                json!({
                    "metric": m.column,
                    "label": m.label,
                    "value": shape::cell(row, m.index),
                    "text": words::value(shape::number(row, m.index), m.format),
                    "change": change,
                    "tone": tone,
                })
            })
            .collect();
        let mut layers = vec![
            json!({
                "mark": {"type": "text", "fontSize": 14, "dy": -44, "color": NEUTRAL_COLOUR},
                "encoding": {"text": {"field": "label", "type": "nominal"}},
            }),
            json!({
                "mark": {"type": "text", "fontSize": 40, "fontWeight": "bold"},
                "encoding": {"text": {"field": "text", "type": "nominal"}},
            }),
        ];
        if compared {
            layers.push(json!({
                "mark": {"type": "text", "fontSize": 14, "dy": 40},
                "encoding": {
                    "text": {"field": "change", "type": "nominal"},
                    "color": {
                        "field": "tone",
                        "type": "nominal",
                        "legend": null,
                        "scale": {
                            "domain": ["good", "bad", "neutral"],
                            "range": [GOOD_COLOUR, BAD_COLOUR, NEUTRAL_COLOUR],
                        },
                    },
                },
            }));
        }
        let mut spec = self.base(json!(150), tiles);
        spec.insert(
            "encoding".into(),
            json!({"x": {"field": "label", "type": "nominal", "axis": null, "sort": null}}),
        );
        spec.insert("layer".into(), Value::Array(layers));
        spec.insert("config".into(), json!({"view": {"stroke": null}}));
        Some((ChartKind::Kpi, Value::Object(spec)))
    }

    fn line(&self, t: &DimCol) -> Option<(ChartKind, Value)> {
        let s = self.shape;
        let x = time_encoding(t, self.rows);
        let mut spec = self.base(json!(300), self.records());
        let mark = json!({"type": "line", "point": true, "tooltip": true});
        match s.metrics.as_slice() {
            [m] if !m.compared() => {
                spec.insert("mark".into(), mark);
                spec.insert(
                    "encoding".into(),
                    json!({"x": x, "y": measure(m), "tooltip": self.tooltip()}),
                );
            }
            [m] => {
                let series = self.current_and_previous(m);
                spec.insert("transform".into(), fold(&series));
                spec.insert("mark".into(), mark);
                spec.insert(
                    "encoding".into(),
                    json!({
                        "x": x,
                        "y": folded_measure(&m.label, m.format),
                        "color": series_colour(&series, Some([CURRENT_COLOUR, PREVIOUS_COLOUR])),
                        "strokeDash": {"field": SERIES, "type": "nominal", "sort": labels(&series), "legend": null},
                        "tooltip": self.tooltip(),
                    }),
                );
            }
            [a, b] if a.format != b.format && !s.compared() => {
                // Two units: one axis each, coloured to match its line.
                spec.insert(
                    "encoding".into(),
                    json!({"x": x, "tooltip": self.tooltip()}),
                );
                let layer = |m: &MetricCols, colour: &str, orient: &str| {
                    let mut y = measure(m);
                    if let Some(axis) = y.get_mut("axis").and_then(Value::as_object_mut) {
                        axis.insert("orient".into(), json!(orient));
                        axis.insert("titleColor".into(), json!(colour));
                    }
                    json!({
                        "mark": {"type": "line", "point": true, "tooltip": true, "color": colour},
                        "encoding": {"y": y},
                    })
                };
                spec.insert(
                    "layer".into(),
                    json!([
                        layer(a, CURRENT_COLOUR, "left"),
                        layer(b, SECOND_COLOUR, "right")
                    ]),
                );
                spec.insert("resolve".into(), json!({"scale": {"y": "independent"}}));
            }
            ms if !s.compared()
                && ms.len() <= MAX_SERIES
                && ms.iter().all(|m| m.format == ms[0].format) =>
            {
                let series: Vec<(String, String)> = ms
                    .iter()
                    .map(|m| (m.column.clone(), m.label.clone()))
                    .collect();
                let title = metric_list(ms);
                spec.insert("transform".into(), fold(&series));
                spec.insert("mark".into(), mark);
                spec.insert(
                    "encoding".into(),
                    json!({
                        "x": x,
                        "y": folded_measure(&title, ms[0].format),
                        "color": series_colour(&series, None),
                        "tooltip": self.tooltip(),
                    }),
                );
            }
            _ => return None,
        }
        Some((ChartKind::Line, Value::Object(spec)))
    }

    fn lines_by(&self, t: &DimCol, d: &DimCol) -> Option<(ChartKind, Value)> {
        let [m] = self.shape.metrics.as_slice() else {
            return None;
        };
        if m.compared() || self.distinct(d) > MAX_SERIES {
            return None;
        }
        let mut spec = self.base(json!(300), self.records());
        spec.insert(
            "mark".into(),
            json!({"type": "line", "point": true, "tooltip": true}),
        );
        spec.insert(
            "encoding".into(),
            json!({
                "x": time_encoding(t, self.rows),
                "y": measure(m),
                "color": nominal(&d.column, &d.label),
                "tooltip": self.tooltip(),
            }),
        );
        Some((ChartKind::Line, Value::Object(spec)))
    }

    fn bars(&self, d: &DimCol) -> Option<(ChartKind, Value)> {
        let ms = &self.shape.metrics;
        let y = category(d);
        match ms.as_slice() {
            [m] if self.rows.len() <= MAX_BARS => {
                let mut spec = self.base(json!({"step": 22}), self.records());
                spec.insert("mark".into(), json!({"type": "bar", "tooltip": true}));
                spec.insert(
                    "encoding".into(),
                    json!({"y": y, "x": measure(m), "tooltip": self.tooltip()}),
                );
                Some((ChartKind::Bar, Value::Object(spec)))
            }
            [first, ..]
                if ms.len() <= MAX_GROUP_SIZE
                    && self.rows.len() <= MAX_GROUPS
                    && ms.iter().all(|m| m.format == first.format) =>
            {
                let series: Vec<(String, String)> = ms
                    .iter()
                    .map(|m| (m.column.clone(), m.label.clone()))
                    .collect();
                let title = metric_list(ms);
                let mut spec = self.base(group_height(series.len()), self.records());
                spec.insert("transform".into(), fold(&series));
                spec.insert("mark".into(), json!({"type": "bar", "tooltip": true}));
                spec.insert(
                    "encoding".into(),
                    json!({
                        "y": y,
                        "yOffset": {"field": SERIES, "type": "nominal", "sort": labels(&series)},
                        "x": folded_measure(&title, first.format),
                        "color": series_colour(&series, None),
                        "tooltip": self.tooltip(),
                    }),
                );
                Some((ChartKind::GroupedBar, Value::Object(spec)))
            }
            _ => None,
        }
    }

    /// Each category's previous and current value side by side.
    fn bars_against_previous(&self, d: &DimCol) -> Option<(ChartKind, Value)> {
        let [m] = self.shape.metrics.as_slice() else {
            return None;
        };
        if self.rows.len() > MAX_GROUPS {
            return None;
        }
        let mut series = self.current_and_previous(m);
        // Side by side, the bars read best named by their periods.
        if let (Some(p), [current, previous]) =
            (words::period(self.compiled), series.as_mut_slice())
        {
            let against = words::against(self.compiled, None);
            current.1 = words::capitalise(&p.short);
            previous.1 = words::capitalise(against.strip_prefix("the ").unwrap_or(&against));
        }
        series.reverse();
        let mut spec = self.base(group_height(2), self.records());
        spec.insert("transform".into(), fold(&series));
        spec.insert("mark".into(), json!({"type": "bar", "tooltip": true}));
        spec.insert(
            "encoding".into(),
            json!({
                "y": category(d),
                "yOffset": {"field": SERIES, "type": "nominal", "sort": labels(&series)},
                "x": folded_measure(&m.label, m.format),
                "color": series_colour(&series, Some([PREVIOUS_COLOUR, CURRENT_COLOUR])),
                "tooltip": self.tooltip(),
            }),
        );
        Some((ChartKind::GroupedBar, Value::Object(spec)))
    }

    /// Two breakdowns: the one with fewer values groups the bars inside each
    /// category of the other, so the categories keep the ranked order.
    fn grouped_bars(&self, a: &DimCol, b: &DimCol) -> Option<(ChartKind, Value)> {
        let [m] = self.shape.metrics.as_slice() else {
            return None;
        };
        let (na, nb) = (self.distinct(a), self.distinct(b));
        let (outer, inner, n_outer, n_inner) = if nb <= na {
            (a, b, na, nb)
        } else {
            (b, a, nb, na)
        };
        if n_inner > MAX_GROUP_SIZE || n_outer > MAX_GROUPS {
            return None;
        }
        let mut spec = self.base(group_height(n_inner), self.records());
        spec.insert("mark".into(), json!({"type": "bar", "tooltip": true}));
        spec.insert(
            "encoding".into(),
            json!({
                "y": category(outer),
                "yOffset": {"field": field(&inner.column), "type": "nominal"},
                "x": measure(m),
                "color": nominal(&inner.column, &inner.label),
                "tooltip": self.tooltip(),
            }),
        );
        Some((ChartKind::GroupedBar, Value::Object(spec)))
    }

    /// A compared metric's two series, current first: (column, label).
    fn current_and_previous(&self, m: &MetricCols) -> Vec<(String, String)> {
        let mut out = vec![(m.column.clone(), m.label.clone())];
        if let Some(c) = m.previous.and_then(|i| self.compiled.columns.get(i)) {
            out.push((c.name.clone(), c.label.clone()));
        }
        out
    }
}

/// "Spend and installs": the labels as a phrase that starts a title.
fn metric_list(ms: &[MetricCols]) -> String {
    let labels: Vec<String> = ms
        .iter()
        .enumerate()
        .map(|(i, m)| {
            if i == 0 {
                m.label.clone()
            } else {
                words::noun(&m.label)
            }
        })
        .collect();
    words::and_list(&labels)
}

/// The change line of a KPI tile, and whether it is good news.
fn kpi_change(row: &[Value], m: &MetricCols, against: &str) -> (String, &'static str) {
    let prev = m.previous.and_then(|i| shape::number(row, i));
    let delta = m.change.and_then(|i| shape::number(row, i));
    let ratio = m.change_pct.and_then(|i| shape::number(row, i));
    let Some(delta) = delta else {
        return (format!("no value for {against}"), "neutral");
    };
    let was = words::value(prev, m.format);
    if words::negligible(delta, ratio, m.format) {
        return (format!("unchanged vs {against} ({was})"), "neutral");
    }
    let arrow = if delta > 0.0 { "▲" } else { "▼" };
    let good = (delta > 0.0) == m.higher_is_better;
    (
        format!(
            "{arrow} {} vs {against} ({was})",
            words::change_size(delta, ratio, m.format)
        ),
        if good { "good" } else { "bad" },
    )
}

/// A field name as Vega-Lite reads it: dots and brackets would address
/// nested fields, so they are escaped.
fn field(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        if matches!(c, '.' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A JavaScript string literal for a Vega expression.
fn js_string(s: &str) -> String {
    let mut out = String::from("'");
    for c in s.chars() {
        match c {
            '\'' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

fn nominal(name: &str, label: &str) -> Value {
    json!({"field": field(name), "type": "nominal", "title": label})
}

/// A category axis that keeps the order of the rows (the query ranked them)
/// and leaves room for long campaign names.
fn category(d: &DimCol) -> Value {
    json!({
        "field": field(&d.column),
        "type": "nominal",
        "sort": null,
        "title": d.label,
        "axis": {"labelLimit": 260},
    })
}

fn measure(m: &MetricCols) -> Value {
    json!({
        "field": field(&m.column),
        "type": "quantitative",
        "title": m.label,
        "axis": axis(m.format),
    })
}

fn folded_measure(title: &str, format: Format) -> Value {
    json!({
        "field": VALUE,
        "type": "quantitative",
        "title": title,
        "axis": axis(format),
    })
}

fn axis(format: Format) -> Value {
    let mut a = json!({"format": axis_format(format)});
    if format == Format::Integer {
        a["tickMinStep"] = json!(1);
    }
    a
}

/// d3-format strings: axes drop trailing zeros, hover text keeps them.
fn axis_format(f: Format) -> &'static str {
    match f {
        Format::Currency => "$,.2~f",
        Format::Percent => ".1~%",
        Format::Integer => ",d",
        Format::Ratio => ".2~f",
        Format::Number => ",.2~f",
    }
}

fn tooltip_format(f: Format) -> &'static str {
    match f {
        Format::Currency => "$,.2f",
        Format::Percent => ".1%",
        Format::Integer => ",d",
        Format::Ratio => ".2f",
        Format::Number => ",.2f",
    }
}

/// Buckets are calendar dates, so they are read and shown in UTC: a viewer
/// west of Greenwich would otherwise see each bucket a day early.
fn time_unit(g: TimeGrain) -> (&'static str, &'static str) {
    match g {
        TimeGrain::Day | TimeGrain::Week => ("utcyearmonthdate", "%-d %b"),
        TimeGrain::Month => ("utcyearmonth", "%b %Y"),
        TimeGrain::Quarter => ("utcyearquarter", "Q%q %Y"),
        TimeGrain::Year => ("utcyear", "%Y"),
    }
}

fn tooltip_time_format(g: TimeGrain) -> &'static str {
    match g {
        TimeGrain::Day | TimeGrain::Week => "%-d %B %Y",
        TimeGrain::Month => "%B %Y",
        TimeGrain::Quarter => "Q%q %Y",
        TimeGrain::Year => "%Y",
    }
}

fn time_encoding(t: &DimCol, rows: &[Vec<Value>]) -> Value {
    let grain = t.grain.unwrap_or(TimeGrain::Day);
    let (unit, format) = time_unit(grain);
    let mut axis = json!({"format": format});
    // Automatic weekly ticks fall on Sundays, between the Monday buckets;
    // tick the buckets themselves instead.
    if grain == TimeGrain::Week {
        let mut starts: Vec<Value> = Vec::new();
        for r in rows {
            if let Some(d) = shape::cell(r, t.index)
                .as_str()
                .and_then(|s| s.get(..10))
                .and_then(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
            {
                let v = json!({"year": d.year(), "month": d.month(), "date": d.day(), "utc": true});
                if !starts.contains(&v) {
                    starts.push(v);
                }
            }
        }
        axis["values"] = Value::Array(starts);
    }
    json!({
        "field": field(&t.column),
        "type": "temporal",
        "timeUnit": unit,
        "title": t.label,
        "axis": axis,
    })
}

/// Wide to long: one row per (row, metric column), with the column's label
/// as the series name so legends read like the question.
fn fold(series: &[(String, String)]) -> Value {
    let cols: Vec<String> = series.iter().map(|(c, _)| c.clone()).collect();
    let key = format!("datum[{}]", js_string(SERIES_KEY));
    let mut expr = key.clone();
    for (c, l) in series.iter().rev() {
        expr = format!("{key} === {} ? {} : {expr}", js_string(c), js_string(l));
    }
    json!([
        {"fold": cols, "as": [SERIES_KEY, VALUE]},
        {"calculate": expr, "as": SERIES},
    ])
}

fn labels(series: &[(String, String)]) -> Vec<String> {
    series.iter().map(|(_, l)| l.clone()).collect()
}

fn series_colour(series: &[(String, String)], colours: Option<[&str; 2]>) -> Value {
    let mut c = json!({
        "field": SERIES,
        "type": "nominal",
        "title": null,
        "sort": labels(series),
    });
    if let Some(range) = colours
        && series.len() == 2
    {
        c["scale"] = json!({"domain": labels(series), "range": range});
    }
    c
}

/// Each category's band holds `n` bars of about 12 pixels.
fn group_height(n: usize) -> Value {
    json!({"step": (12 * n + 8).max(22)})
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{self, Case, MODEL};
    use super::*;

    fn chart(c: &Case) -> Chart {
        choose(&c.compiled, &MODEL, &c.rows)
    }

    /// Every case the tests know, with the chart kind it must get.
    fn cases() -> Vec<(&'static str, Case, ChartKind)> {
        use fixtures::*;
        vec![
            (
                "installs_last_month_vs_previous",
                installs_last_month_vs_previous(),
                ChartKind::Kpi,
            ),
            (
                "spend_installs_cpi_last_week",
                spend_installs_cpi_last_week(),
                ChartKind::Kpi,
            ),
            (
                "d7_retention_vs_previous",
                d7_retention_vs_previous(),
                ChartKind::Kpi,
            ),
            (
                "ios_roas_vs_previous",
                ios_roas_vs_previous(),
                ChartKind::Kpi,
            ),
            ("daily_spend", daily_spend(), ChartKind::Line),
            (
                "spend_and_installs_weekly",
                spend_and_installs_weekly(),
                ChartKind::Line,
            ),
            (
                "monthly_spend_and_revenue",
                monthly_spend_and_revenue(),
                ChartKind::Line,
            ),
            (
                "weekly_installs_vs_previous",
                weekly_installs_vs_previous(),
                ChartKind::Line,
            ),
            (
                "weekly_installs_by_platform",
                weekly_installs_by_platform(),
                ChartKind::Line,
            ),
            (
                "top_5_campaigns_by_roas",
                top_5_campaigns_by_roas(),
                ChartKind::Bar,
            ),
            ("installs_by_network", installs_by_network(), ChartKind::Bar),
            (
                "installs_ios_vs_android",
                installs_ios_vs_android(),
                ChartKind::Bar,
            ),
            ("cpi_ios_vs_android", cpi_ios_vs_android(), ChartKind::Bar),
            (
                "cpi_by_network_vs_previous",
                cpi_by_network_vs_previous(),
                ChartKind::GroupedBar,
            ),
            (
                "installs_by_network_and_platform",
                installs_by_network_and_platform(),
                ChartKind::GroupedBar,
            ),
            (
                "installs_by_campaign",
                installs_by_campaign(),
                ChartKind::Table,
            ),
            (
                "installs_in_unknown_country",
                installs_in_unknown_country(),
                ChartKind::Table,
            ),
            (
                "campaigns_with_roas_above_3",
                campaigns_with_roas_above_3(),
                ChartKind::Table,
            ),
        ]
    }

    #[test]
    fn each_shape_gets_its_chart() {
        for (name, case, kind) in cases() {
            let c = chart(&case);
            assert_eq!(c.kind, kind, "{name}: {}", c.title);
            assert_eq!(c.spec.is_none(), kind == ChartKind::Table, "{name}");
        }
    }

    #[test]
    fn many_metrics_in_several_units_are_a_table() {
        let c = fixtures::compile(
            r#"{"metrics": ["spend", "installs", "cpi"], "dimensions": [{"name": "date", "grain": "week"}], "time_range": {"kind": "last_n_days", "n": 14}}"#,
        );
        let rows = vec![
            vec![
                json!("2026-11-02"),
                json!(82477.62),
                json!(47559),
                json!(2.71),
            ],
            vec![
                json!("2026-11-09"),
                json!(89325.92),
                json!(45357),
                json!(2.77),
            ],
        ];
        assert_eq!(choose(&c, &MODEL, &rows).kind, ChartKind::Table);
        let many = fixtures::compile(
            r#"{"metrics": ["spend", "installs", "cpi", "revenue", "roas"], "time_range": {"kind": "previous", "unit": "month"}}"#,
        );
        let row = vec![vec![
            json!(1.0),
            json!(2),
            json!(0.5),
            json!(3.0),
            json!(3.0),
        ]];
        assert_eq!(choose(&many, &MODEL, &row).kind, ChartKind::Table);
    }

    #[test]
    fn bars_keep_the_ranked_order() {
        let c = chart(&fixtures::top_5_campaigns_by_roas());
        let spec = c.spec.expect("a bar chart");
        assert_eq!(spec["encoding"]["y"]["sort"], Value::Null);
        let names: Vec<&str> = spec["data"]["values"]
            .as_array()
            .expect("inline rows")
            .iter()
            .filter_map(|r| r["campaign"].as_str())
            .collect();
        assert_eq!(names.first(), Some(&"Facebook_Android_KR_Lookalike"));
        assert_eq!(names.last(), Some(&"Facebook_iOS_JP_Interest"));
        assert_eq!(spec["encoding"]["x"]["axis"]["format"], ".2~f");
        assert_eq!(c.title, "ROAS by campaign, October 2026");
    }

    #[test]
    fn kpi_change_is_judged_by_the_metric() {
        let c = chart(&fixtures::cpi_by_network_vs_previous());
        assert_eq!(c.title, "CPI by network, October 2026 vs September 2026");
        let kpi = chart(&fixtures::ios_roas_vs_previous())
            .spec
            .expect("a tile");
        assert_eq!(kpi["data"]["values"][0]["text"], "1.22x");
        assert_eq!(kpi["data"]["values"][0]["tone"], "bad");
        assert_eq!(
            kpi["data"]["values"][0]["change"],
            "▼ 2.7% vs September 2026 (1.26x)"
        );
    }

    #[test]
    fn field_names_are_escaped() {
        assert_eq!(field("a.b[0]"), "a\\.b\\[0\\]");
        assert_eq!(js_string("it's"), "'it\\'s'");
    }

    #[test]
    fn representative_specs() {
        for name in [
            "installs_last_month_vs_previous",
            "spend_and_installs_weekly",
            "weekly_installs_vs_previous",
            "top_5_campaigns_by_roas",
            "cpi_by_network_vs_previous",
            "installs_by_network_and_platform",
        ] {
            let (_, case, _) = cases()
                .into_iter()
                .find(|(n, _, _)| *n == name)
                .expect("a known case");
            insta::assert_json_snapshot!(name, chart(&case));
        }
    }

    /// The Vega-Lite schema from the npm package the web UI ships, installed
    /// by `make setup` into the data directory.
    fn vega_lite_schema() -> Result<Value, String> {
        let data = std::env::var_os("QUARRY_DATA_DIR")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../.quarry"));
        let path = data.join("web/node_modules/vega-lite/build/vega-lite-schema.json");
        let text = std::fs::read_to_string(&path).map_err(|e| {
            format!(
                "cannot read the Vega-Lite schema at {}: {e}; run `make setup`",
                path.display()
            )
        })?;
        let mut schema: Value = serde_json::from_str(&text)
            .map_err(|e| format!("{}: {e}; run `make setup`", path.display()))?;
        encode_refs(&mut schema);
        Ok(schema)
    }

    /// Vega-Lite names definitions after TypeScript generics
    /// (`MarkPropDef<(Gradient|string|null)>`), and `<`, `>` and `|` are not
    /// allowed in a URI (nor `[`, `]` in a fragment), so a strict validator
    /// rejects those `$ref`s.
    /// Percent-encoded they point at the same definitions (RFC 6901, 6).
    fn encode_refs(v: &mut Value) {
        match v {
            Value::Object(o) => {
                for (k, x) in o.iter_mut() {
                    match x {
                        Value::String(r) if k == "$ref" => {
                            let mut out = String::with_capacity(r.len());
                            for b in r.bytes() {
                                if b.is_ascii_alphanumeric()
                                    || b"-._~:/?#@!$&'()*+,;=%".contains(&b)
                                {
                                    out.push(char::from(b));
                                } else {
                                    out.push_str(&format!("%{b:02X}"));
                                }
                            }
                            *r = out;
                        }
                        _ => encode_refs(x),
                    }
                }
            }
            Value::Array(a) => a.iter_mut().for_each(encode_refs),
            _ => {}
        }
    }

    #[test]
    fn every_spec_validates_against_vega_lite_v5() -> Result<(), String> {
        let schema = vega_lite_schema()?;
        let validator = jsonschema::validator_for(&schema).expect("the schema compiles");
        let mut kinds = BTreeSet::new();
        for (name, case, _) in cases() {
            let c = chart(&case);
            let Some(spec) = c.spec else { continue };
            let errors: Vec<String> = validator
                .iter_errors(&spec)
                .map(|e| format!("{} at {}", e, e.instance_path()))
                .collect();
            assert!(errors.is_empty(), "{name}: {errors:#?}\n{spec:#}");
            kinds.insert(format!("{:?}", c.kind));
        }
        assert_eq!(kinds.len(), 4, "every drawn kind was checked: {kinds:?}");
        // The schema is strict enough to catch a wrong value or a misspelt
        // property.
        let broken = json!({"mark": "bar", "encoding": {"x": {"field": "a", "type": "size"}}});
        assert!(!validator.is_valid(&broken));
        let misspelt = json!({"mark": "bar", "encodings": {}});
        assert!(!validator.is_valid(&misspelt));
        Ok(())
    }
}
