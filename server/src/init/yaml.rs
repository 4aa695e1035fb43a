//! The draft as YAML text, one file per section, with comments saying what
//! to check. Written by hand rather than serialised so the comments sit next
//! to what they are about; every scalar goes through [`yaml_str`].

use std::fmt::Write;

use super::draft::{
    DimensionDraft, Draft, EntityDraft, MeasureDraft, MetricDraft, MetricDraftKind,
};
use super::names::{one_line, wrap, yaml_str};

/// The files of a drafted model: (file name, text).
pub fn render(d: &Draft) -> Vec<(&'static str, String)> {
    vec![
        ("model.yaml", model_yaml(d)),
        ("entities.yaml", entities_yaml(d)),
        ("dimensions.yaml", dimensions_yaml(d)),
        ("metrics.yaml", metrics_yaml(d)),
    ]
}

fn header(d: &Draft, what: &str) -> String {
    format!(
        "# {what}, drafted by `quarry init` from the warehouse at {}.\n\
         # Lines starting with \"# check:\" are guesses from the data: confirm or fix\n\
         # them, then run `quarry --warehouse {} --model <this folder> model check`.\n",
        one_line(&d.warehouse),
        one_line(&d.warehouse)
    )
}

/// A comment wrapped to about 90 columns; continuation lines are indented
/// under the text of a `check:`.
fn comment(out: &mut String, indent: &str, text: &str) {
    let width = 90usize.saturating_sub(indent.len() + 2).max(40);
    let hang = if text.starts_with("check: ") {
        "       "
    } else {
        ""
    };
    for (i, line) in wrap(&one_line(text), width).iter().enumerate() {
        let pad = if i == 0 { "" } else { hang };
        let _ = writeln!(out, "{indent}# {pad}{line}");
    }
}

fn flow_list(items: &[String]) -> String {
    let v: Vec<String> = items.iter().map(|s| yaml_str(s)).collect();
    format!("[{}]", v.join(", "))
}

fn model_yaml(d: &Draft) -> String {
    let mut out = header(d, "The model's settings");
    out.push_str("model:\n");
    let _ = writeln!(out, "  name: {}", yaml_str(&d.name));
    comment(
        &mut out,
        "  ",
        "check: say in a sentence what this data is about",
    );
    let desc = format!("Drafted from the warehouse at {}.", d.warehouse);
    let _ = writeln!(out, "  description: {}", yaml_str(&one_line(&desc)));
    match &d.as_of {
        Some(a) => {
            comment(&mut out, "  ", &a.note);
            let _ = writeln!(
                out,
                "  as_of: {}",
                yaml_str(&format!("{}.{}", a.entity, a.column))
            );
            comment(&mut out, "  ", "the period of a question that names none");
            out.push_str("  default_time_range: {kind: last_n_days, n: 30}\n");
        }
        None => comment(
            &mut out,
            "  ",
            "no date or time column in the warehouse, so the model has no as-of date and every metric covers all rows",
        ),
    }
    if !d.headline_metrics.is_empty() {
        comment(
            &mut out,
            "  ",
            "check: the metrics that matter most, offered when a question names none",
        );
        let _ = writeln!(
            out,
            "  headline_metrics: {}",
            flow_list(&d.headline_metrics)
        );
    }
    if !d.breakdowns.is_empty() {
        comment(
            &mut out,
            "  ",
            "check: the dimensions people break numbers down by first",
        );
        let _ = writeln!(out, "  breakdowns: {}", flow_list(&d.breakdowns));
    }
    comment(
        &mut out,
        "  ",
        "check: when metrics are money, uncomment and set the currency, then give them `format: currency`",
    );
    out.push_str("  # currency: {code: EUR, symbol: \"€\"}\n");
    out
}

fn measure_yaml(out: &mut String, m: &MeasureDraft) {
    if let Some(n) = &m.note {
        comment(out, "      ", n);
    }
    let _ = writeln!(out, "      - name: {}", yaml_str(&m.name));
    let _ = writeln!(out, "        agg: {}", m.agg);
    if let Some(e) = &m.expr {
        let _ = writeln!(out, "        expr: {}", yaml_str(e));
    }
}

fn entity_yaml(out: &mut String, e: &EntityDraft) {
    let _ = writeln!(out, "  # table {}: {} rows", one_line(&e.table), e.rows);
    let _ = writeln!(out, "  - name: {}", yaml_str(&e.name));
    let _ = writeln!(out, "    table: {}", yaml_str(&e.table));
    comment(out, "    ", "check: say what one row is");
    let _ = writeln!(
        out,
        "    description: {}",
        yaml_str(&format!("One row of the {} table.", e.table))
    );
    comment(out, "    ", &e.key_note);
    for n in &e.notes {
        comment(out, "    ", n);
    }
    let _ = writeln!(out, "    primary_key: {}", flow_list(&e.primary_key));
    if let Some(t) = &e.time {
        comment(out, "    ", &t.note);
        let cohort = if t.cohort { ", cohort: true" } else { "" };
        let _ = writeln!(
            out,
            "    time: {{column: {}, type: {}{cohort}}}",
            yaml_str(&t.column),
            t.kind
        );
    }
    if !e.measures.is_empty() {
        out.push_str("    measures:\n");
        for m in &e.measures {
            measure_yaml(out, m);
        }
    }
}

fn entities_yaml(d: &Draft) -> String {
    let mut out = header(d, "The tables");
    out.push_str("entities:\n");
    for e in &d.entities {
        entity_yaml(&mut out, e);
    }
    out.push('\n');
    comment(
        &mut out,
        "",
        "Joins found in the data: each column's values all exist in the other table's key, so reading through them never repeats rows.",
    );
    for n in &d.join_notes {
        comment(&mut out, "", n);
    }
    if d.joins.is_empty() {
        comment(
            &mut out,
            "",
            "no joins found: add `joins:` entries if tables are related",
        );
        return out;
    }
    out.push_str("joins:\n");
    for j in &d.joins {
        comment(&mut out, "  ", &j.note);
        let _ = writeln!(
            out,
            "  - {{from: {}, to: {}, on: [{}]}}",
            yaml_str(&j.from),
            yaml_str(&j.to),
            yaml_str(&j.on)
        );
    }
    out
}

fn dimension_yaml(out: &mut String, x: &DimensionDraft) {
    for n in &x.notes {
        comment(out, "  ", n);
    }
    let _ = writeln!(out, "  - name: {}", yaml_str(&x.name));
    let _ = writeln!(out, "    type: {}", x.kind);
    if !x.sample_values.is_empty() {
        let _ = writeln!(out, "    sample_values: {}", flow_list(&x.sample_values));
    }
    out.push_str("    sql:\n");
    for (entity, expr) in &x.bindings {
        let _ = writeln!(out, "      {}: {}", yaml_str(entity), yaml_str(expr));
    }
}

fn dimensions_yaml(d: &Draft) -> String {
    let mut out = header(d, "The dimensions");
    comment(
        &mut out,
        "",
        "Text and true/false columns with at most 50 distinct values, read on every table that reaches them through joins; sample values are the most frequent first.",
    );
    if d.dimensions.is_empty() {
        out.push_str("dimensions: []\n");
        return out;
    }
    out.push_str("dimensions:\n");
    for x in &d.dimensions {
        dimension_yaml(&mut out, x);
    }
    out
}

fn metric_yaml(out: &mut String, m: &MetricDraft) {
    if let Some(n) = &m.note {
        comment(out, "  ", n);
    }
    let _ = writeln!(out, "  - name: {}", yaml_str(&m.name));
    match &m.kind {
        MetricDraftKind::Simple { measure } => {
            out.push_str("    type: simple\n");
            let _ = writeln!(out, "    measure: {}", yaml_str(measure));
        }
        MetricDraftKind::Ratio {
            numerator,
            denominator,
        } => {
            out.push_str("    type: ratio\n");
            let _ = writeln!(out, "    numerator: {}", yaml_str(numerator));
            let _ = writeln!(out, "    denominator: {}", yaml_str(denominator));
        }
    }
    let _ = writeln!(out, "    format: {}", m.format);
    if m.cost {
        out.push_str("    cost: true\n    higher_is_better: false\n");
    }
    if !m.synonyms.is_empty() {
        let _ = writeln!(out, "    synonyms: {}", flow_list(&m.synonyms));
    }
}

fn metrics_yaml(d: &Draft) -> String {
    let mut out = header(d, "The metrics");
    comment(
        &mut out,
        "",
        "A count per table, a sum (or average) per numeric column, and ratios where the names suggest them.",
    );
    if d.metrics.is_empty() {
        out.push_str("metrics: []\n");
        return out;
    }
    out.push_str("metrics:\n");
    for m in &d.metrics {
        metric_yaml(&mut out, m);
    }
    out
}
