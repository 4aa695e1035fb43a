//! `quarry eval ask`: runs a set of questions with hand-written gold SQL
//! through the whole question path and scores the answers as BIRD does:
//! the gold query's result must come back, each gold column found among the
//! answer's columns by its values (numbers within a small relative
//! tolerance), rows compared as a multiset unless order is part of the
//! question. Ambiguous and unanswerable questions must get a clarification
//! or a refusal, never a number. Latency is measured end to end per
//! question, with the cache off.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::{AskOptions, Asker, Kind, Response};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuestionSet {
    /// The as-of date the gold SQL was written for; none for a model whose
    /// data has no dates.
    #[serde(default)]
    pub as_of: Option<NaiveDate>,
    pub questions: Vec<Item>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Expect {
    #[default]
    Answer,
    Clarification,
    Refusal,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Item {
    pub id: String,
    #[serde(default)]
    pub question: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub gold: Option<String>,
    #[serde(default)]
    pub ordered: bool,
    #[serde(default)]
    pub expect: Expect,
    #[serde(default)]
    pub note: Option<String>,
    /// The model metrics the question asks for (coverage bookkeeping).
    #[serde(default)]
    pub metrics: Vec<String>,
    /// Answer rows with one of these texts in a cell (the "Organic" row of
    /// a publisher breakdown) may be there or not.
    #[serde(default)]
    pub optional_rows: Vec<String>,
    /// The question names no count: an ordered answer that starts with the
    /// gold rows and lists more is right.
    #[serde(default)]
    pub more_rows_ok: bool,
    #[serde(default)]
    pub turns: Vec<TurnSpec>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TurnSpec {
    pub question: String,
    #[serde(default)]
    pub gold: Option<String>,
    #[serde(default)]
    pub ordered: bool,
    #[serde(default)]
    pub expect: Expect,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub note: Option<String>,
    #[serde(default)]
    pub metrics: Vec<String>,
    /// Answer rows with one of these texts in a cell (the "Organic" row of
    /// a publisher breakdown) may be there or not.
    #[serde(default)]
    pub optional_rows: Vec<String>,
    /// The question names no count: an ordered answer that starts with the
    /// gold rows and lists more is right.
    #[serde(default)]
    pub more_rows_ok: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    pub id: String,
    pub question: String,
    pub expect: Expect,
    pub got: Kind,
    pub pass: bool,
    /// An answer whose numbers differ from the gold ones.
    pub wrong_number: bool,
    pub tags: Vec<String>,
    pub ms: f64,
    pub detail: String,
    pub interpretation: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Score {
    pub n: usize,
    pub passed: usize,
    pub accuracy: f64,
    pub p50_ms: f64,
    pub p95_ms: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub questions: usize,
    /// Execution accuracy over answerable questions.
    pub execution_accuracy: f64,
    pub answerable: usize,
    pub answered_right: usize,
    /// Answerable questions answered with different numbers.
    pub wrong_numbers: usize,
    /// Answerable questions met with a clarification or refusal.
    pub declined: usize,
    /// Ambiguous or unanswerable questions given the expected kind.
    pub not_answerable: usize,
    pub expected_kind: usize,
    /// Ambiguous or unanswerable questions answered with a number.
    pub answered_anyway: usize,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub by_tag: BTreeMap<String, Score>,
    pub outcomes: Vec<Outcome>,
}

#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    #[error("cannot read {path}: {message}")]
    Read { path: String, message: String },
    #[error(
        "{path} was written for a warehouse whose as-of date is {set}, but this one's is {warehouse}; generate the demo warehouse with its default end date (`quarry demo generate`)"
    )]
    AsOf {
        path: String,
        set: NaiveDate,
        warehouse: NaiveDate,
    },
    #[error("{0}")]
    Invalid(String),
    #[error("gold SQL of {id} failed: {message}")]
    Gold { id: String, message: String },
}

pub fn load(path: &Path) -> Result<QuestionSet, EvalError> {
    let set: QuestionSet = quarry_retrieval::evaluate::load(path).map_err(|e| EvalError::Read {
        path: path.display().to_string(),
        message: e.to_string(),
    })?;
    let mut ids = std::collections::BTreeSet::new();
    for q in &set.questions {
        if !ids.insert(q.id.clone()) {
            return Err(EvalError::Invalid(format!("duplicate id {}", q.id)));
        }
        let turns = q.question.is_some() as usize + q.turns.len();
        if q.question.is_some() != q.turns.is_empty() || turns == 0 {
            return Err(EvalError::Invalid(format!(
                "{} needs either `question` or `turns`",
                q.id
            )));
        }
    }
    Ok(set)
}

/// The items as conversations: one turn for a plain question.
fn conversations(set: &QuestionSet) -> Vec<(String, Vec<TurnSpec>, Vec<String>)> {
    set.questions
        .iter()
        .map(|q| {
            let turns = match &q.question {
                Some(text) => vec![TurnSpec {
                    question: text.clone(),
                    gold: q.gold.clone(),
                    ordered: q.ordered,
                    expect: q.expect,
                    tags: Vec::new(),
                    note: q.note.clone(),
                    metrics: q.metrics.clone(),
                    optional_rows: q.optional_rows.clone(),
                    more_rows_ok: q.more_rows_ok,
                }],
                None => q.turns.clone(),
            };
            (q.id.clone(), turns, q.tags.clone())
        })
        .collect()
}

pub async fn run(
    asker: &Asker,
    set: &QuestionSet,
    path: &Path,
    filter: &dyn Fn(&str, &[String]) -> bool,
    progress: &dyn Fn(usize, usize),
) -> Result<Report, EvalError> {
    if let Some(as_of) = set.as_of
        && (as_of != asker.ws.period.as_of || !asker.ws.period.dated)
    {
        return Err(EvalError::AsOf {
            path: path.display().to_string(),
            set: as_of,
            warehouse: asker.ws.period.as_of,
        });
    }
    let convs: Vec<_> = conversations(set)
        .into_iter()
        .filter(|(id, _, tags)| filter(id, tags))
        .collect();
    let total: usize = convs.iter().map(|c| c.1.len()).sum();
    let mut outcomes = Vec::new();
    let mut done = 0;
    for (k, (id, turns, tags)) in convs.iter().enumerate() {
        let session = format!("eval-{k}-{}", std::process::id());
        for (i, t) in turns.iter().enumerate() {
            let tid = if turns.len() > 1 {
                format!("{id}#{}", i + 1)
            } else {
                id.clone()
            };
            let mut all_tags = tags.clone();
            all_tags.extend(t.tags.iter().cloned());
            if turns.len() > 1 && i > 0 && !all_tags.iter().any(|x| x == "followup") {
                all_tags.push("followup".into());
            }
            let opts = AskOptions {
                session: Some(session.clone()),
                no_cache: true,
            };
            let resp = asker.ask(&t.question, &opts).await;
            let o = match resp {
                Ok(r) => judge(asker, &tid, t, &r, all_tags).await?,
                Err(e) => Outcome {
                    id: tid,
                    question: t.question.clone(),
                    expect: t.expect,
                    got: Kind::Refusal,
                    pass: false,
                    wrong_number: false,
                    tags: all_tags,
                    ms: 0.0,
                    detail: format!("error: {e}"),
                    interpretation: None,
                },
            };
            outcomes.push(o);
            done += 1;
            progress(done, total);
        }
    }
    Ok(report(outcomes))
}

async fn judge(
    asker: &Asker,
    id: &str,
    t: &TurnSpec,
    r: &Response,
    tags: Vec<String>,
) -> Result<Outcome, EvalError> {
    let mut o = Outcome {
        id: id.to_string(),
        question: t.question.clone(),
        expect: t.expect,
        got: r.kind,
        pass: false,
        wrong_number: false,
        tags,
        ms: r.timings.total_ms,
        detail: String::new(),
        interpretation: r.interpretation.clone(),
    };
    match t.expect {
        Expect::Answer => {
            let Some(gold) = &t.gold else {
                return Err(EvalError::Invalid(format!(
                    "{id} expects an answer but has no gold SQL"
                )));
            };
            if r.kind != Kind::Answer {
                o.detail = format!("{}: {}", r.kind.as_str(), r.narrative);
                return Ok(o);
            }
            let g = asker
                .ws
                .engine
                .sql(gold)
                .await
                .map_err(|e| EvalError::Gold {
                    id: id.to_string(),
                    message: e.to_string(),
                })?;
            let gold_rows = g.rows_json();
            let got = t.leeway(&gold_rows, &r.rows);
            match compare(&gold_rows, &got, t.ordered) {
                Ok(()) => o.pass = true,
                Err(why) => {
                    o.wrong_number = true;
                    o.detail = format!(
                        "{why}; gold {} row(s) {}, got {} row(s) {}",
                        gold_rows.len(),
                        preview(&gold_rows),
                        r.rows.len(),
                        preview(&r.rows)
                    );
                }
            }
        }
        Expect::Clarification | Expect::Refusal => {
            o.pass = r.kind != Kind::Answer;
            if r.kind == Kind::Answer {
                o.wrong_number = true;
                o.detail = format!(
                    "answered ({}) instead of a {}",
                    r.interpretation.clone().unwrap_or_default(),
                    if t.expect == Expect::Refusal {
                        "refusal"
                    } else {
                        "clarification"
                    }
                );
            } else if !matches!(
                (t.expect, r.kind),
                (Expect::Clarification, Kind::Clarification) | (Expect::Refusal, Kind::Refusal)
            ) {
                o.detail = format!(
                    "{} instead of the expected kind: {}",
                    r.kind.as_str(),
                    r.narrative
                );
            }
        }
    }
    Ok(o)
}

fn preview(rows: &[Vec<serde_json::Value>]) -> String {
    let shown: Vec<String> = rows
        .iter()
        .take(3)
        .map(|r| serde_json::to_string(r).unwrap_or_default())
        .collect();
    let more = if rows.len() > 3 { " ..." } else { "" };
    format!("{}{more}", shown.join(" "))
}

#[derive(Debug, Clone, PartialEq, PartialOrd)]
enum Cell {
    Null,
    Num(f64),
    Text(String),
}

fn cell(v: &serde_json::Value) -> Cell {
    match v {
        serde_json::Value::Null => Cell::Null,
        serde_json::Value::Bool(b) => Cell::Num(if *b { 1.0 } else { 0.0 }),
        serde_json::Value::Number(n) => n.as_f64().map_or(Cell::Null, Cell::Num),
        serde_json::Value::String(s) => {
            let s = s.trim();
            // Dates and midnight timestamps compare as dates.
            let date_like = s.len() >= 10
                && s.as_bytes().get(4) == Some(&b'-')
                && s.as_bytes().get(7) == Some(&b'-');
            if date_like {
                let rest = &s[10..];
                let midnight = rest.is_empty()
                    || rest
                        .trim_start_matches(['T', ' '])
                        .chars()
                        .all(|c| c == '0' || c == ':' || c == '.' || c == 'Z');
                if midnight {
                    return Cell::Text(s[..10].to_string());
                }
            }
            if let Ok(x) = s.parse::<f64>() {
                return Cell::Num(x);
            }
            Cell::Text(s.to_string())
        }
        other => Cell::Text(other.to_string()),
    }
}

fn same(a: &Cell, b: &Cell) -> bool {
    match (a, b) {
        (Cell::Num(x), Cell::Num(y)) => {
            let tol = 1e-6_f64.max(1e-5 * x.abs().max(y.abs()));
            (x - y).abs() <= tol
        }
        _ => a == b,
    }
}

fn cmp_cells(a: &Cell, b: &Cell) -> std::cmp::Ordering {
    match (a, b) {
        (Cell::Num(x), Cell::Num(y)) => x.total_cmp(y),
        _ => a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal),
    }
}

fn sorted_column(rows: &[Vec<Cell>], c: usize) -> Vec<Cell> {
    let mut v: Vec<Cell> = rows
        .iter()
        .map(|r| r.get(c).cloned().unwrap_or(Cell::Null))
        .collect();
    v.sort_by(cmp_cells);
    v
}

/// Whether the gold rows come back: each gold column matched to a distinct
/// answer column, the projected rows equal as a multiset (or in order).
impl TurnSpec {
    /// The answer rows to compare with the gold ones, after what the item
    /// lets an answer hold beyond them.
    fn leeway(
        &self,
        gold: &[Vec<serde_json::Value>],
        got: &[Vec<serde_json::Value>],
    ) -> Vec<Vec<serde_json::Value>> {
        let mut rows: Vec<Vec<serde_json::Value>> = got
            .iter()
            .filter(|r| {
                !r.iter().any(|c| {
                    c.as_str()
                        .is_some_and(|s| self.optional_rows.iter().any(|o| o == s))
                })
            })
            .cloned()
            .collect();
        if self.more_rows_ok && rows.len() > gold.len() {
            rows.truncate(gold.len());
        }
        rows
    }
}

pub fn compare(
    gold: &[Vec<serde_json::Value>],
    got: &[Vec<serde_json::Value>],
    ordered: bool,
) -> Result<(), String> {
    if gold.len() != got.len() {
        return Err(format!("{} rows instead of {}", got.len(), gold.len()));
    }
    if gold.is_empty() {
        return Ok(());
    }
    let g: Vec<Vec<Cell>> = gold.iter().map(|r| r.iter().map(cell).collect()).collect();
    let a: Vec<Vec<Cell>> = got.iter().map(|r| r.iter().map(cell).collect()).collect();
    let gw = g[0].len();
    let aw = a[0].len();
    // Candidate answer columns for each gold column: same values, any order.
    let mut cands: Vec<Vec<usize>> = Vec::with_capacity(gw);
    for gc in 0..gw {
        let gv = sorted_column(&g, gc);
        let list: Vec<usize> = (0..aw)
            .filter(|&ac| {
                let av = sorted_column(&a, ac);
                gv.iter().zip(&av).all(|(x, y)| same(x, y))
            })
            .collect();
        if list.is_empty() {
            return Err(format!(
                "no answer column holds the values of gold column {}",
                gc + 1
            ));
        }
        cands.push(list);
    }
    let mut chosen = vec![usize::MAX; gw];
    if assign(0, &cands, &mut chosen, &g, &a, ordered) {
        Ok(())
    } else {
        Err("the columns match one by one but not row by row".into())
    }
}

fn assign(
    k: usize,
    cands: &[Vec<usize>],
    chosen: &mut Vec<usize>,
    g: &[Vec<Cell>],
    a: &[Vec<Cell>],
    ordered: bool,
) -> bool {
    if k == cands.len() {
        return rows_match(chosen, g, a, ordered);
    }
    for &c in &cands[k] {
        if chosen[..k].contains(&c) {
            continue;
        }
        chosen[k] = c;
        if assign(k + 1, cands, chosen, g, a, ordered) {
            return true;
        }
    }
    false
}

fn rows_match(cols: &[usize], g: &[Vec<Cell>], a: &[Vec<Cell>], ordered: bool) -> bool {
    let project = |r: &Vec<Cell>| -> Vec<Cell> {
        cols.iter()
            .map(|&c| r.get(c).cloned().unwrap_or(Cell::Null))
            .collect()
    };
    let mut ap: Vec<Vec<Cell>> = a.iter().map(project).collect();
    let mut gp: Vec<Vec<Cell>> = g.to_vec();
    let row_cmp = |x: &Vec<Cell>, y: &Vec<Cell>| {
        x.iter()
            .zip(y)
            .map(|(p, q)| cmp_cells(p, q))
            .find(|o| *o != std::cmp::Ordering::Equal)
            .unwrap_or(std::cmp::Ordering::Equal)
    };
    if !ordered {
        ap.sort_by(row_cmp);
        gp.sort_by(row_cmp);
    }
    gp.iter()
        .zip(&ap)
        .all(|(x, y)| x.iter().zip(y).all(|(p, q)| same(p, q)))
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * (sorted.len() as f64)).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn score(items: &[&Outcome]) -> Score {
    let mut ms: Vec<f64> = items.iter().map(|o| o.ms).collect();
    ms.sort_by(f64::total_cmp);
    let passed = items.iter().filter(|o| o.pass).count();
    Score {
        n: items.len(),
        passed,
        accuracy: if items.is_empty() {
            0.0
        } else {
            passed as f64 / items.len() as f64
        },
        p50_ms: percentile(&ms, 50.0),
        p95_ms: percentile(&ms, 95.0),
    }
}

pub fn report(outcomes: Vec<Outcome>) -> Report {
    let answerable: Vec<&Outcome> = outcomes
        .iter()
        .filter(|o| o.expect == Expect::Answer)
        .collect();
    let others: Vec<&Outcome> = outcomes
        .iter()
        .filter(|o| o.expect != Expect::Answer)
        .collect();
    let all: Vec<&Outcome> = outcomes.iter().collect();
    let overall = score(&all);
    let mut tags: BTreeMap<String, Vec<&Outcome>> = BTreeMap::new();
    for o in &outcomes {
        for t in &o.tags {
            tags.entry(t.clone()).or_default().push(o);
        }
    }
    let answered_right = answerable.iter().filter(|o| o.pass).count();
    Report {
        questions: outcomes.len(),
        execution_accuracy: if answerable.is_empty() {
            0.0
        } else {
            answered_right as f64 / answerable.len() as f64
        },
        answerable: answerable.len(),
        answered_right,
        wrong_numbers: answerable.iter().filter(|o| o.wrong_number).count(),
        declined: answerable.iter().filter(|o| o.got != Kind::Answer).count(),
        not_answerable: others.len(),
        expected_kind: others
            .iter()
            .filter(|o| {
                matches!(
                    (o.expect, o.got),
                    (Expect::Clarification, Kind::Clarification) | (Expect::Refusal, Kind::Refusal)
                )
            })
            .count(),
        answered_anyway: others.iter().filter(|o| o.got == Kind::Answer).count(),
        p50_ms: overall.p50_ms,
        p95_ms: overall.p95_ms,
        by_tag: tags.into_iter().map(|(t, v)| (t, score(&v))).collect(),
        outcomes,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;
    use serde_json::json;

    fn rows(v: serde_json::Value) -> Vec<Vec<serde_json::Value>> {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn gold_columns_are_found_among_the_answers() {
        let gold = rows(json!([["Facebook", 1.5], ["Google", 2.0]]));
        // Extra columns, other order of columns and rows.
        let got = rows(json!([[2.0, "Google", 10], [1.500_000_1, "Facebook", 20]]));
        assert!(compare(&gold, &got, false).is_ok());
        assert!(compare(&gold, &got, true).is_err());
        // A different number is caught.
        let wrong = rows(json!([[2.0, "Google"], [1.6, "Facebook"]]));
        assert!(compare(&gold, &wrong, false).is_err());
        // Values swapped between rows are caught even if each column matches.
        let swapped = rows(json!([["Facebook", 2.0], ["Google", 1.5]]));
        assert!(compare(&gold, &swapped, false).is_err());
        // Row counts must agree.
        assert!(compare(&gold, &rows(json!([["Google", 2.0]])), false).is_err());
        // Dates and midnight timestamps agree.
        let d = rows(json!([["2026-10-05", 1]]));
        let t = rows(json!([["2026-10-05T00:00:00", 1]]));
        assert!(compare(&d, &t, true).is_ok());
    }
}
