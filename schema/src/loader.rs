//! Loading a semantic model from YAML files. Every problem is collected and
//! reported with its file, line and, for a misspelt name, the closest known
//! one; a model with problems is never half-loaded. The format is documented
//! in `schema/README.md`.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use datafusion::sql::sqlparser::ast::{
    Expr, Query, Statement, Visit, VisitMut, Visitor, visit_expressions_mut,
};
use datafusion::sql::sqlparser::dialect::GenericDialect;
use datafusion::sql::sqlparser::parser::Parser;
use datafusion::sql::sqlparser::tokenizer::Token;
use marked_yaml::{Node, Span, Spanned};
use serde::Deserialize;
use serde::de::IgnoredAny;

use crate::diagnostics::{Diagnostic, LoadErrors, suggestion};
use crate::model::*;
use crate::query::{SemanticQuery, TimeRange};

type S<T> = Spanned<T>;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    model: Option<RawSettings>,
    #[serde(default)]
    entities: Vec<RawEntity>,
    #[serde(default)]
    joins: Vec<RawJoin>,
    #[serde(default)]
    dimensions: Vec<RawDimension>,
    #[serde(default)]
    metrics: Vec<RawMetric>,
    #[serde(default)]
    glossary: Vec<RawGlossary>,
    #[serde(default)]
    verified_queries: Vec<RawVerified>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSettings {
    name: S<String>,
    #[serde(default)]
    description: String,
    #[serde(default)]
    as_of: Option<S<String>>,
    #[serde(default)]
    default_time_range: Option<IgnoredAny>,
    #[serde(default)]
    default_limit: Option<u64>,
    #[serde(default)]
    currency: Option<RawCurrency>,
    #[serde(default)]
    headline_metrics: Vec<S<String>>,
    #[serde(default)]
    breakdowns: Vec<S<String>>,
    #[serde(default)]
    examples: Vec<String>,
    #[serde(default)]
    actionable: Vec<String>,
    #[serde(default)]
    out_of_scope: Vec<String>,
    #[serde(default)]
    subject: Option<String>,
    #[serde(default)]
    forecasts: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCurrency {
    code: S<String>,
    #[serde(default)]
    symbol: Option<String>,
    #[serde(default)]
    words: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntity {
    name: S<String>,
    #[serde(default)]
    description: String,
    #[serde(default)]
    table: Option<S<String>>,
    #[serde(default)]
    sql: Option<S<String>>,
    #[serde(default)]
    primary_key: Vec<S<String>>,
    #[serde(default)]
    unique_keys: Vec<Vec<S<String>>>,
    #[serde(default)]
    time: Option<RawTime>,
    #[serde(default)]
    measures: Vec<RawMeasure>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTime {
    column: S<String>,
    #[serde(rename = "type")]
    kind: S<String>,
    #[serde(default)]
    cohort: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMeasure {
    name: S<String>,
    #[serde(default)]
    description: String,
    agg: S<String>,
    #[serde(default)]
    expr: Option<S<String>>,
    #[serde(default)]
    filter: Option<S<String>>,
    #[serde(default)]
    prefer: Vec<S<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawJoin {
    from: S<String>,
    to: S<String>,
    /// `column` when both sides share the name, else `from_column = to_column`.
    on: Vec<S<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDimension {
    name: S<String>,
    #[serde(default)]
    label: Option<String>,
    #[serde(default)]
    description: String,
    #[serde(default)]
    synonyms: Vec<String>,
    #[serde(default)]
    sample_values: Vec<String>,
    #[serde(default, rename = "type")]
    kind: Option<S<String>>,
    #[serde(default)]
    index_values: Option<bool>,
    #[serde(default)]
    value_names: Option<S<String>>,
    /// value -> other names people use for it ("fb" for Facebook).
    #[serde(default)]
    value_synonyms: BTreeMap<String, Vec<String>>,
    /// The value that means "none" (Organic for installs without a campaign).
    #[serde(default)]
    unattributed: Option<S<String>>,
    /// Whether rankings of the dimension's members list that value.
    #[serde(default)]
    rank_unattributed: Option<bool>,
    /// entity -> expression, read in order from the YAML node.
    #[serde(rename = "sql")]
    _sql: IgnoredAny,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMetric {
    name: S<String>,
    #[serde(default)]
    label: Option<String>,
    #[serde(default)]
    description: String,
    #[serde(default)]
    synonyms: Vec<String>,
    #[serde(default)]
    format: Option<S<String>>,
    #[serde(default)]
    higher_is_better: Option<bool>,
    #[serde(default)]
    cost: bool,
    #[serde(default)]
    finer_grain: Option<S<String>>,
    #[serde(rename = "type")]
    kind: S<String>,
    #[serde(default)]
    measure: Option<S<String>>,
    #[serde(default)]
    numerator: Option<S<String>>,
    #[serde(default)]
    denominator: Option<S<String>>,
    #[serde(default)]
    expr: Option<S<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGlossary {
    term: S<String>,
    #[serde(default)]
    synonyms: Vec<String>,
    definition: String,
    #[serde(default)]
    maps_to: Vec<S<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawVerified {
    question: S<String>,
    #[serde(rename = "query")]
    _query: IgnoredAny,
}

/// Collects problems as the loader goes.
struct Diags {
    files: Vec<PathBuf>,
    out: Vec<Diagnostic>,
}

impl Diags {
    fn push(&mut self, span: &Span, message: impl Into<String>) {
        let (source, line, column) = span
            .start()
            .map(|m| (m.source(), m.line(), m.column()))
            .unwrap_or((0, 0, 0));
        self.out.push(Diagnostic {
            file: self.files.get(source).cloned().unwrap_or_default(),
            line,
            column,
            message: message.into(),
        });
    }

    fn at(&self, span: &Span) -> String {
        match span.start() {
            Some(m) => format!(
                "{}:{}",
                self.files
                    .get(m.source())
                    .map(|p| p.display().to_string())
                    .unwrap_or_default(),
                m.line()
            ),
            None => "?".to_string(),
        }
    }
}

/// Loads every `*.yaml`/`*.yml` file of a directory as one model.
pub fn load_dir(dir: &Path) -> Result<SemanticModel, LoadErrors> {
    let io_err = |message: String| {
        LoadErrors(vec![Diagnostic {
            file: dir.to_path_buf(),
            line: 0,
            column: 0,
            message,
        }])
    };
    let entries = std::fs::read_dir(dir).map_err(|e| {
        io_err(format!(
            "cannot read the semantic model directory: {e}; point --model (or QUARRY__MODEL__DIR) at a folder of YAML files"
        ))
    })?;
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            matches!(
                p.extension().and_then(|x| x.to_str()),
                Some("yaml") | Some("yml")
            )
        })
        .collect();
    paths.sort();
    if paths.is_empty() {
        return Err(io_err(
            "no .yaml files here; a semantic model is a folder of YAML files (see schema/README.md)"
                .to_string(),
        ));
    }
    let mut sources = Vec::new();
    for p in paths {
        let text = std::fs::read_to_string(&p).map_err(|e| {
            LoadErrors(vec![Diagnostic {
                file: p.clone(),
                line: 0,
                column: 0,
                message: format!("cannot read: {e}"),
            }])
        })?;
        sources.push((p, text));
    }
    load_sources(&sources)
}

/// Loads a model from one YAML text (tests, and models held in memory).
pub fn load_str(name: &str, yaml: &str) -> Result<SemanticModel, LoadErrors> {
    load_sources(&[(PathBuf::from(name), yaml.to_string())])
}

fn load_sources(sources: &[(PathBuf, String)]) -> Result<SemanticModel, LoadErrors> {
    let mut d = Diags {
        files: sources.iter().map(|(p, _)| p.clone()).collect(),
        out: Vec::new(),
    };
    let mut files: Vec<(RawFile, Node)> = Vec::new();
    for (i, (_, text)) in sources.iter().enumerate() {
        if let Some(parsed) = parse_file(i, text, &mut d) {
            files.push(parsed);
        }
    }
    if !d.out.is_empty() {
        return Err(LoadErrors(d.out));
    }
    let model = build(files, &mut d);
    match model {
        Some(m) if d.out.is_empty() => Ok(m),
        _ => Err(LoadErrors(d.out)),
    }
}

fn parse_file(source: usize, text: &str, d: &mut Diags) -> Option<(RawFile, Node)> {
    let options = marked_yaml::LoaderOptions::default().error_on_duplicate_keys(true);
    let node = match marked_yaml::parse_yaml_with_options(source, text, options) {
        Ok(n) => n,
        Err(e) => {
            let (span, msg) = load_error(source, &e);
            d.push(&span, msg);
            return None;
        }
    };
    match marked_yaml::from_node::<RawFile>(&node) {
        Ok(raw) => Some((raw, node)),
        Err(e) => {
            let span = e
                .start_mark()
                .map(Span::new_start)
                .unwrap_or_else(|| Span::new_start(marked_yaml::Marker::new(source, 0, 0, 0)));
            let inner = e.into_inner();
            let msg = match &inner {
                marked_yaml::spanned_serde::Error::UnknownFieldError(field, expected, _) => {
                    format!(
                        "unknown field \"{field}\"{}; allowed here: {}",
                        suggestion(field, expected.iter().copied()),
                        expected.join(", ")
                    )
                }
                other => {
                    let s = other.to_string();
                    // serde says "missing field `x`": keep its words, add the fix.
                    if s.contains("missing field") {
                        format!("{s}; add it to this entry")
                    } else {
                        s
                    }
                }
            };
            d.push(&span, msg);
            None
        }
    }
}

fn load_error(source: usize, e: &marked_yaml::LoadError) -> (Span, String) {
    use marked_yaml::LoadError as L;
    let (m, msg) = match e {
        L::TopLevelMustBeMapping(m) => (
            *m,
            "the file must be a mapping with sections such as `entities:` and `metrics:`"
                .to_string(),
        ),
        L::TopLevelMustBeSequence(m) => (*m, "expected a list".to_string()),
        L::UnexpectedAnchor(m) => (
            *m,
            "YAML anchors and aliases are not supported; repeat the value".to_string(),
        ),
        L::MappingKeyMustBeScalar(m) => (*m, "mapping keys must be plain names".to_string()),
        L::UnexpectedTag(m) => (*m, "YAML tags are not supported".to_string()),
        L::ScanError(m, err) => (*m, format!("invalid YAML: {err}")),
        L::DuplicateKey(inner) => {
            let m = inner
                .key
                .span()
                .start()
                .copied()
                .unwrap_or_else(|| marked_yaml::Marker::new(source, 0, 0, 0));
            (
                m,
                format!(
                    "key \"{}\" appears twice in the same mapping",
                    inner.key.as_str()
                ),
            )
        }
    };
    (Span::new_start(m), msg)
}

/// Parses a SQL expression from the model, rejecting trailing text.
fn parse_expr(text: &str) -> Result<Expr, String> {
    let mut p = Parser::new(&GenericDialect {})
        .try_with_sql(text)
        .map_err(|e| e.to_string())?;
    let mut expr = p.parse_expr().map_err(|e| e.to_string())?;
    match p.peek_token().token {
        Token::EOF => {
            keep_case(&mut expr);
            Ok(expr)
        }
        t => Err(format!("unexpected \"{t}\" after the expression")),
    }
}

fn parse_query(text: &str) -> Result<Query, String> {
    let mut stmts = Parser::parse_sql(&GenericDialect {}, text).map_err(|e| e.to_string())?;
    if stmts.len() != 1 {
        return Err("expected exactly one SELECT statement".to_string());
    }
    match stmts.remove(0) {
        Statement::Query(mut q) => {
            keep_case(&mut *q);
            Ok(*q)
        }
        _ => Err("only a SELECT query can define an entity".to_string()),
    }
}

/// Quotes every unquoted column name written with capitals
/// (`MonthlyCharges`), so that it names the column as written: SQL folds
/// unquoted names to lower case, and a warehouse's mixed-case columns
/// would otherwise not be found.
fn keep_case<T: VisitMut>(node: &mut T) {
    let quote = |i: &mut datafusion::sql::sqlparser::ast::Ident| {
        if i.quote_style.is_none() && i.value.chars().any(|c| c.is_uppercase()) {
            i.quote_style = Some('"');
        }
    };
    let _ = visit_expressions_mut(node, |e| {
        match e {
            Expr::Identifier(i) => quote(i),
            Expr::CompoundIdentifier(parts) => parts.iter_mut().for_each(quote),
            _ => {}
        }
        std::ops::ControlFlow::<()>::Continue(())
    });
}

/// Entity qualifiers used in an expression (`campaigns.network` -> campaigns).
pub(crate) fn qualifiers(expr: &Expr) -> Vec<String> {
    struct V(Vec<String>);
    impl Visitor for V {
        type Break = ();
        fn pre_visit_expr(&mut self, e: &Expr) -> std::ops::ControlFlow<()> {
            if let Expr::CompoundIdentifier(parts) = e
                && parts.len() == 2
            {
                let q = parts[0].value.clone();
                if !self.0.contains(&q) {
                    self.0.push(q);
                }
            }
            std::ops::ControlFlow::Continue(())
        }
    }
    let mut v = V(Vec::new());
    let _ = expr.visit(&mut v);
    v.0
}

/// Bare identifiers used in an expression (metric names in a derived metric).
fn identifiers(expr: &Expr) -> Vec<String> {
    struct V(Vec<String>);
    impl Visitor for V {
        type Break = ();
        fn pre_visit_expr(&mut self, e: &Expr) -> std::ops::ControlFlow<()> {
            if let Expr::Identifier(i) = e
                && !self.0.contains(&i.value)
            {
                self.0.push(i.value.clone());
            }
            std::ops::ControlFlow::Continue(())
        }
    }
    let mut v = V(Vec::new());
    let _ = expr.visit(&mut v);
    v.0
}

fn node_get<'a>(node: &'a Node, key: &str) -> Option<&'a Node> {
    node.as_mapping().and_then(|m| m.get_node(key))
}

fn node_index<'a>(node: &'a Node, section: &str, i: usize) -> Option<&'a Node> {
    node_get(node, section)
        .and_then(|n| n.as_sequence())
        .and_then(|s| s.get_node(i))
}

/// A YAML node as JSON, reading unquoted scalars as numbers, booleans or null
/// the way YAML does, so plans can be written in YAML and parsed by serde_json.
pub(crate) fn node_to_json(node: &Node) -> serde_json::Value {
    use serde_json::Value as J;
    match node {
        Node::Scalar(s) => {
            let text: &str = s;
            if !s.may_coerce() {
                return J::String(text.to_string());
            }
            if let Ok(i) = text.parse::<i64>() {
                return J::from(i);
            }
            if let Ok(f) = text.parse::<f64>()
                && f.is_finite()
            {
                return J::from(f);
            }
            match text {
                "true" => J::Bool(true),
                "false" => J::Bool(false),
                "null" | "~" => J::Null,
                _ => J::String(text.to_string()),
            }
        }
        Node::Sequence(seq) => J::Array(seq.iter().map(node_to_json).collect()),
        Node::Mapping(map) => J::Object(
            map.iter()
                .map(|(k, v)| (k.as_str().to_string(), node_to_json(v)))
                .collect(),
        ),
    }
}

fn build(files: Vec<(RawFile, Node)>, d: &mut Diags) -> Option<SemanticModel> {
    let mut settings: Option<(RawSettings, Node)> = None;
    let mut entities: BTreeMap<String, Entity> = BTreeMap::new();
    let mut entity_spans: HashMap<String, Span> = HashMap::new();
    let mut measures: BTreeMap<String, Measure> = BTreeMap::new();
    // Where each measure is defined, and its `prefer` entries, for messages.
    let mut measure_spans: HashMap<String, (Span, Vec<S<String>>)> = HashMap::new();
    let mut raw_joins = Vec::new();
    let mut raw_dims = Vec::new();
    let mut raw_metrics = Vec::new();
    let mut raw_glossary = Vec::new();
    let mut raw_verified = Vec::new();

    for (raw, node) in files {
        if let Some(s) = raw.model {
            if let Some((prev, _)) = &settings {
                let at = d.at(prev.name.span());
                d.push(
                    s.name.span(),
                    format!("a second `model:` section; the first is at {at}"),
                );
            } else {
                settings = Some((s, node.clone()));
            }
        }
        for e in raw.entities {
            let name = e.name.as_str().to_string();
            if let Some(prev) = entity_spans.get(&name) {
                let at = d.at(prev);
                d.push(
                    e.name.span(),
                    format!("entity \"{name}\" is defined twice; the first is at {at}"),
                );
                continue;
            }
            entity_spans.insert(name.clone(), *e.name.span());
            let source = match (&e.table, &e.sql) {
                (Some(t), None) => Source::Table(t.as_str().to_string()),
                (None, Some(sql)) => match parse_query(sql) {
                    Ok(q) => Source::Sql(Box::new(q)),
                    Err(err) => {
                        d.push(
                            sql.span(),
                            format!("the SQL of entity \"{name}\" does not parse: {err}"),
                        );
                        continue;
                    }
                },
                _ => {
                    d.push(
                        e.name.span(),
                        format!("entity \"{name}\" needs exactly one of `table:` or `sql:`"),
                    );
                    continue;
                }
            };
            if e.primary_key.is_empty() {
                d.push(e.name.span(), format!("entity \"{name}\" has no `primary_key:`; list the column(s) that identify a row"));
            }
            let time = e.time.as_ref().and_then(|t| {
                let kind = match t.kind.as_str() {
                    "date" => TimeKind::Date,
                    "timestamp" => TimeKind::Timestamp,
                    other => {
                        d.push(
                            t.kind.span(),
                            format!(
                                "unknown time type \"{other}\"{}; use date or timestamp",
                                suggestion(other, ["date", "timestamp"])
                            ),
                        );
                        return None;
                    }
                };
                Some(TimeColumn {
                    column: t.column.as_str().to_string(),
                    kind,
                    cohort: t.cohort,
                })
            });
            for m in e.measures {
                let mname = m.name.as_str().to_string();
                if let Some((prev, _)) = measure_spans.get(&mname) {
                    let at = d.at(prev);
                    d.push(
                        m.name.span(),
                        format!("measure \"{mname}\" is defined twice; the first is at {at}"),
                    );
                    continue;
                }
                const AGGS: [&str; 6] = ["sum", "count", "count_distinct", "min", "max", "avg"];
                let agg = match m.agg.as_str() {
                    "sum" => Aggregation::Sum,
                    "count" => Aggregation::Count,
                    "count_distinct" => Aggregation::CountDistinct,
                    "min" => Aggregation::Min,
                    "max" => Aggregation::Max,
                    "avg" => Aggregation::Avg,
                    other => {
                        d.push(m.agg.span(), format!("unknown aggregation \"{other}\" in measure \"{mname}\"{}; use one of {}", suggestion(other, AGGS), AGGS.join(", ")));
                        continue;
                    }
                };
                let mut parse = |s: &Option<S<String>>, what: &str| -> Option<Option<Expr>> {
                    match s {
                        None => Some(None),
                        Some(t) => {
                            match parse_expr(t) {
                                Ok(x) => Some(Some(x)),
                                Err(err) => {
                                    d.push(t.span(), format!("the {what} of measure \"{mname}\" does not parse: {err}"));
                                    None
                                }
                            }
                        }
                    }
                };
                let (Some(expr), Some(filter)) =
                    (parse(&m.expr, "expr"), parse(&m.filter, "filter"))
                else {
                    continue;
                };
                if expr.is_none() && agg != Aggregation::Count {
                    d.push(
                        m.name.span(),
                        format!(
                            "measure \"{mname}\" needs an `expr:` to aggregate with {}",
                            m.agg.as_str()
                        ),
                    );
                    continue;
                }
                measure_spans.insert(mname.clone(), (*m.name.span(), m.prefer.clone()));
                measures.insert(
                    mname.clone(),
                    Measure {
                        name: mname,
                        entity: name.clone(),
                        description: m.description,
                        agg,
                        expr,
                        filter,
                        prefer: m.prefer.iter().map(|p| p.as_str().to_string()).collect(),
                    },
                );
            }
            entities.insert(
                name.clone(),
                Entity {
                    name,
                    description: e.description,
                    source,
                    primary_key: e
                        .primary_key
                        .iter()
                        .map(|c| c.as_str().to_string())
                        .collect(),
                    unique_keys: e
                        .unique_keys
                        .iter()
                        .map(|k| k.iter().map(|c| c.as_str().to_string()).collect())
                        .collect(),
                    time,
                },
            );
        }
        raw_joins.extend(raw.joins);
        raw_dims.extend(
            raw.dimensions
                .into_iter()
                .enumerate()
                .map(|(i, x)| (x, node_index(&node, "dimensions", i).cloned())),
        );
        raw_metrics.extend(raw.metrics);
        raw_glossary.extend(raw.glossary);
        raw_verified.extend(
            raw.verified_queries
                .into_iter()
                .enumerate()
                .map(|(i, x)| (x, node_index(&node, "verified_queries", i).cloned())),
        );
    }

    let entity_names: Vec<String> = entities.keys().cloned().collect();
    let known_entity = |d: &mut Diags, s: &S<String>, what: &str| -> bool {
        if entity_names.iter().any(|n| n == s.as_str()) {
            true
        } else {
            d.push(
                s.span(),
                format!(
                    "unknown entity \"{}\" in {what}{}",
                    s.as_str(),
                    suggestion(s, entity_names.iter().map(String::as_str))
                ),
            );
            false
        }
    };

    // Joins: only many-to-one edges onto a unique key, so no join can fan out.
    let mut joins: BTreeMap<String, Vec<Join>> = BTreeMap::new();
    for j in &raw_joins {
        let ok_from = known_entity(d, &j.from, "a join");
        let ok_to = known_entity(d, &j.to, "a join");
        if !(ok_from && ok_to) {
            continue;
        }
        let mut from_columns = Vec::new();
        let mut to_columns = Vec::new();
        for on in &j.on {
            let (a, b) = match on.split_once('=') {
                Some((a, b)) => (a.trim().to_string(), b.trim().to_string()),
                None => (on.trim().to_string(), on.trim().to_string()),
            };
            if a.is_empty() || b.is_empty() {
                d.push(
                    on.span(),
                    "a join condition is `column` or `from_column = to_column`",
                );
                continue;
            }
            from_columns.push(a);
            to_columns.push(b);
        }
        if from_columns.is_empty() {
            d.push(j.from.span(), "a join needs at least one `on:` column");
            continue;
        }
        let target = &entities[j.to.as_str()];
        if !target.is_unique_key(&to_columns) {
            d.push(j.to.span(), format!(
                "the join from \"{}\" to \"{}\" uses ({}), which is not a unique key of \"{}\"; joining on it could repeat rows and inflate every sum. Join on its primary key ({}) or declare the columns under `unique_keys:` if they really are unique",
                j.from.as_str(), j.to.as_str(), to_columns.join(", "), j.to.as_str(), target.primary_key.join(", ")
            ));
            continue;
        }
        joins
            .entry(j.from.as_str().to_string())
            .or_default()
            .push(Join {
                from: j.from.as_str().to_string(),
                to: j.to.as_str().to_string(),
                from_columns,
                to_columns,
            });
    }

    let mut model = SemanticModel {
        name: String::new(),
        description: String::new(),
        as_of: None,
        vocabulary: Vocabulary::default(),
        default_time_range: TimeRange::LastNDays { n: 30 },
        default_limit: 1000,
        entities,
        joins,
        dimensions: BTreeMap::new(),
        measures,
        metrics: BTreeMap::new(),
        metric_order: Vec::new(),
        glossary: Vec::new(),
        verified_queries: Vec::new(),
    };

    // Settings.
    let mut settings_vocabulary: Option<RawSettings> = None;
    match settings {
        None => d.push(
            &Span::new_blank(),
            "no `model:` section; add one with `name:` (and `as_of:` when the data has dates; see schema/README.md)",
        ),
        Some((s, node)) => {
            model.name = s.name.as_str().to_string();
            model.description = s.description.clone();
            if let Some(limit) = s.default_limit {
                model.default_limit = limit;
            }
            if let Some(as_of) = &s.as_of {
                match as_of.split_once('.') {
                    Some((e, c)) if model.entities.contains_key(e) => {
                        model.as_of = Some(ColumnRef { entity: e.to_string(), column: c.to_string() });
                    }
                    Some((e, _)) => d.push(as_of.span(), format!("unknown entity \"{e}\" in `as_of`{}", suggestion(e, entity_names.iter().map(String::as_str)))),
                    None => d.push(as_of.span(), "`as_of` is `entity.column`, the column whose latest value is the last full day of data"),
                }
            } else if let Some(e) = model.entities.values().find(|e| e.time.is_some()) {
                d.push(s.name.span(), format!("entity \"{}\" has a time column, so the model needs `as_of:` (entity.column whose latest value is the last full day of data), for example `as_of: {}.{}`", e.name, e.name, e.time.as_ref().map_or("", |t| t.column.as_str())));
            }
            if s.default_time_range.is_some()
                && let Some(n) =
                    node_get(&node, "model").and_then(|m| node_get(m, "default_time_range"))
            {
                match serde_json::from_value::<TimeRange>(node_to_json(n)) {
                    Ok(r) => model.default_time_range = r,
                    Err(e) => d.push(n.span(), format!("invalid default_time_range: {e}")),
                }
            }
            settings_vocabulary = Some(s);
        }
    }

    // Measures: references to other entities must be reachable by joins.
    let reach: HashMap<String, HashSet<String>> = model
        .entities
        .keys()
        .map(|e| (e.clone(), model.join_paths(e).into_keys().collect()))
        .collect();
    for m in model.measures.values() {
        let span = measure_spans
            .get(&m.name)
            .map(|x| x.0)
            .unwrap_or_else(Span::new_blank);
        for x in m.expr.iter().chain(m.filter.iter()) {
            for q in qualifiers(x) {
                if !reach[&m.entity].contains(&q) {
                    d.push(&span, format!("measure \"{}\" refers to \"{q}\", which is not reachable from \"{}\" through many-to-one joins", m.name, m.entity));
                }
            }
        }
        if let Some((_, prefer)) = measure_spans.get(&m.name) {
            for p in prefer {
                known_entity(d, p, "`prefer`");
            }
        }
    }

    // Dimensions.
    for (raw, node) in raw_dims {
        let name = raw.name.as_str().to_string();
        if name == TIME_DIMENSION {
            d.push(raw.name.span(), format!("\"{TIME_DIMENSION}\" is reserved for each fact's own time column; choose another name"));
            continue;
        }
        if model.dimensions.contains_key(&name) {
            d.push(
                raw.name.span(),
                format!("dimension \"{name}\" is defined twice"),
            );
            continue;
        }
        const KINDS: [&str; 4] = ["categorical", "time", "number", "boolean"];
        let kind = match raw.kind.as_ref().map(|k| k.as_str()) {
            None | Some("categorical") => DimensionKind::Categorical,
            Some("time") => DimensionKind::Time,
            Some("number") => DimensionKind::Number,
            Some("boolean") => DimensionKind::Boolean,
            Some(other) => {
                let span = raw
                    .kind
                    .as_ref()
                    .map(|k| *k.span())
                    .unwrap_or_else(Span::new_blank);
                d.push(
                    &span,
                    format!(
                        "unknown dimension type \"{other}\"{}; use one of {}",
                        suggestion(other, KINDS),
                        KINDS.join(", ")
                    ),
                );
                continue;
            }
        };
        let value_names = match raw.value_names.as_ref().map(|v| v.as_str()) {
            None => None,
            Some("iso_country") => Some(ValueNames::IsoCountry),
            Some(other) => {
                d.push(
                    raw.value_names.as_ref().map_or(raw.name.span(), |v| v.span()),
                    format!("unknown value_names \"{other}\" on dimension \"{name}\"; the known one is iso_country"),
                );
                None
            }
        };
        let mut bindings = Vec::new();
        let sql = node.as_ref().and_then(|n| node_get(n, "sql"));
        match sql.and_then(|n| n.as_mapping()) {
            None => d.push(
                raw.name.span(),
                format!("dimension \"{name}\" needs `sql:`, a mapping from entity to expression"),
            ),
            Some(map) => {
                for (k, v) in map.iter() {
                    let ent = k.as_str();
                    if !model.entities.contains_key(ent) {
                        d.push(
                            k.span(),
                            format!(
                                "unknown entity \"{ent}\" in dimension \"{name}\"{}",
                                suggestion(ent, entity_names.iter().map(String::as_str))
                            ),
                        );
                        continue;
                    }
                    let Some(text) = v.as_scalar() else {
                        d.push(v.span(), "the expression must be a string");
                        continue;
                    };
                    match parse_expr(text) {
                        Ok(expr) => {
                            for q in qualifiers(&expr) {
                                if !reach[ent].contains(&q) {
                                    d.push(v.span(), format!("dimension \"{name}\" on \"{ent}\" refers to \"{q}\", which is not reachable from \"{ent}\" through many-to-one joins"));
                                }
                            }
                            bindings.push(Binding { entity: ent.to_string(), expr });
                        }
                        Err(err) => d.push(v.span(), format!("the expression of dimension \"{name}\" on \"{ent}\" does not parse: {err}")),
                    }
                }
            }
        }
        model.dimensions.insert(
            name.clone(),
            Dimension {
                label: raw.label.unwrap_or_else(|| title(&name)),
                name,
                description: raw.description,
                synonyms: raw.synonyms,
                sample_values: raw.sample_values,
                index_values: raw
                    .index_values
                    .unwrap_or(kind == DimensionKind::Categorical),
                value_names,
                value_synonyms: raw.value_synonyms,
                unattributed: raw.unattributed.map(|v| Unattributed {
                    value: v.as_str().to_string(),
                    in_rankings: raw.rank_unattributed.unwrap_or(false),
                }),
                kind,
                bindings,
            },
        );
    }

    // Metrics: first register names, then check references and cycles.
    let mut metric_spans: HashMap<String, Span> = HashMap::new();
    for raw in &raw_metrics {
        let name = raw.name.as_str().to_string();
        if let Some(prev) = metric_spans.get(&name) {
            let at = d.at(prev);
            d.push(
                raw.name.span(),
                format!("metric \"{name}\" is defined twice; the first is at {at}"),
            );
            continue;
        }
        metric_spans.insert(name.clone(), *raw.name.span());
        model.metric_order.push(name);
    }
    let metric_set: HashSet<String> = metric_spans.keys().cloned().collect();
    let known_names: Vec<String> = metric_set
        .iter()
        .chain(model.measures.keys())
        .cloned()
        .collect();
    let operand = |d: &mut Diags, s: &S<String>, metric: &str| -> Option<Operand> {
        if metric_set.contains(s.as_str()) {
            Some(Operand::Metric(s.as_str().to_string()))
        } else if model.measures.contains_key(s.as_str()) {
            Some(Operand::Measure(s.as_str().to_string()))
        } else {
            d.push(
                s.span(),
                format!(
                    "metric \"{metric}\" refers to unknown metric or measure \"{}\"{}",
                    s.as_str(),
                    suggestion(s, known_names.iter().map(String::as_str))
                ),
            );
            None
        }
    };
    for raw in raw_metrics {
        let name = raw.name.as_str().to_string();
        if model.metrics.contains_key(&name) {
            continue;
        }
        let need = |d: &mut Diags, f: &Option<S<String>>, field: &str| -> Option<S<String>> {
            if f.is_none() {
                d.push(
                    raw.kind.span(),
                    format!(
                        "a {} metric needs `{field}:` (metric \"{name}\")",
                        raw.kind.as_str()
                    ),
                );
            }
            f.clone()
        };
        const KINDS: [&str; 3] = ["simple", "ratio", "derived"];
        let kind = match raw.kind.as_str() {
            "simple" => need(d, &raw.measure, "measure").and_then(|m| {
                if model.measures.contains_key(m.as_str()) {
                    Some(MetricKind::Simple {
                        measure: m.as_str().to_string(),
                    })
                } else {
                    d.push(
                        m.span(),
                        format!(
                            "unknown measure \"{}\" in metric \"{name}\"{}",
                            m.as_str(),
                            suggestion(&m, model.measures.keys().map(String::as_str))
                        ),
                    );
                    None
                }
            }),
            "ratio" => {
                let n = need(d, &raw.numerator, "numerator").and_then(|s| operand(d, &s, &name));
                let dn =
                    need(d, &raw.denominator, "denominator").and_then(|s| operand(d, &s, &name));
                match (n, dn) {
                    (Some(numerator), Some(denominator)) => Some(MetricKind::Ratio {
                        numerator,
                        denominator,
                    }),
                    _ => None,
                }
            }
            "derived" => need(d, &raw.expr, "expr").and_then(|e| match parse_expr(&e) {
                Ok(expr) => {
                    let refs = identifiers(&expr);
                    let mut ok = true;
                    for r in &refs {
                        if !metric_set.contains(r) {
                            ok = false;
                            d.push(
                                e.span(),
                                format!(
                                    "derived metric \"{name}\" refers to unknown metric \"{r}\"{}",
                                    suggestion(r, metric_set.iter().map(String::as_str))
                                ),
                            );
                        }
                    }
                    ok.then_some(MetricKind::Derived { expr, refs })
                }
                Err(err) => {
                    d.push(
                        e.span(),
                        format!("the expression of metric \"{name}\" does not parse: {err}"),
                    );
                    None
                }
            }),
            other => {
                d.push(
                    raw.kind.span(),
                    format!(
                        "unknown metric type \"{other}\"{}; use one of {}",
                        suggestion(other, KINDS),
                        KINDS.join(", ")
                    ),
                );
                None
            }
        };
        let Some(kind) = kind else { continue };
        const FORMATS: [&str; 5] = ["number", "integer", "currency", "percent", "ratio"];
        let format = match raw.format.as_ref().map(|f| f.as_str()) {
            None | Some("number") => Format::Number,
            Some("integer") => Format::Integer,
            Some("currency") => Format::Currency,
            Some("percent") => Format::Percent,
            Some("ratio") => Format::Ratio,
            Some(other) => {
                let span = raw
                    .format
                    .as_ref()
                    .map(|f| *f.span())
                    .unwrap_or_else(Span::new_blank);
                d.push(
                    &span,
                    format!(
                        "unknown format \"{other}\"{}; use one of {}",
                        suggestion(other, FORMATS),
                        FORMATS.join(", ")
                    ),
                );
                Format::Number
            }
        };
        // "margin % by category" as a synonym would swallow the breakdown a
        // question asks for.
        for syn in &raw.synonyms {
            if syn
                .split(|c: char| !c.is_alphanumeric())
                .any(|w| w.eq_ignore_ascii_case("by"))
            {
                d.push(
                    raw.name.span(),
                    format!(
                        "metric \"{name}\" has the synonym \"{syn}\", which names a breakdown: a synonym names the metric alone and the question adds \"by ...\"; remove it"
                    ),
                );
            }
        }
        model.metrics.insert(
            name.clone(),
            Metric {
                label: raw.label.unwrap_or_else(|| title(&name)),
                name,
                description: raw.description,
                synonyms: raw.synonyms,
                format,
                higher_is_better: raw.higher_is_better.unwrap_or(true),
                cost: raw.cost,
                finer_grain: raw.finer_grain.as_ref().and_then(|f| {
                    if metric_set.contains(f.as_str()) && f.as_str() != raw.name.as_str() {
                        Some(f.as_str().to_string())
                    } else {
                        d.push(
                            f.span(),
                            format!(
                                "metric \"{}\" names unknown metric \"{}\" as its finer_grain{}",
                                raw.name.as_str(),
                                f.as_str(),
                                suggestion(f, metric_set.iter().map(String::as_str))
                            ),
                        );
                        None
                    }
                }),
                time_bound: true,
                kind,
            },
        );
    }
    // Cycles through ratio and derived metrics would recurse forever.
    for name in model.metric_order.clone() {
        if let Some(cycle) = find_cycle(&model, &name, &mut Vec::new())
            && let Some(span) = metric_spans.get(&name)
        {
            d.push(
                span,
                format!(
                    "metric \"{name}\" is defined in terms of itself: {}",
                    cycle.join(" -> ")
                ),
            );
        }
    }
    if !d.out.is_empty() {
        return None;
    }
    // A metric is bound to time when any of its measures lives on a fact with
    // an event time column; entity counts (campaigns) and cohort facts (users
    // dated by their install) are not, so they cover every row by default.
    let bound: Vec<(String, bool)> = model
        .metric_order
        .iter()
        .map(|m| {
            let b = model.measures_of(m).iter().any(|x| {
                model
                    .measures
                    .get(x)
                    .and_then(|me| model.entities.get(&me.entity))
                    .is_some_and(|e| e.time.as_ref().is_some_and(|t| !t.cohort))
            });
            (m.clone(), b)
        })
        .collect();
    for (m, b) in bound {
        if let Some(x) = model.metrics.get_mut(&m) {
            x.time_bound = b;
        }
    }

    if let Some(s) = settings_vocabulary {
        model.vocabulary = vocabulary(&model, s, d);
    }

    // Glossary.
    let names: Vec<String> = model
        .metric_order
        .iter()
        .cloned()
        .chain(model.dimension_names().map(str::to_string))
        .collect();
    for g in raw_glossary {
        for t in &g.maps_to {
            if !names.iter().any(|n| n == t.as_str()) {
                d.push(
                    t.span(),
                    format!(
                        "glossary term \"{}\" maps to unknown \"{}\"{}",
                        g.term.as_str(),
                        t.as_str(),
                        suggestion(t, names.iter().map(String::as_str))
                    ),
                );
            }
        }
        model.glossary.push(GlossaryTerm {
            term: g.term.as_str().to_string(),
            synonyms: g.synonyms,
            definition: g.definition,
            maps_to: g.maps_to.iter().map(|t| t.as_str().to_string()).collect(),
        });
    }

    // Verified queries: a plan that does not compile against this model is a bug.
    for (raw, node) in raw_verified {
        let Some(qnode) = node.as_ref().and_then(|n| node_get(n, "query")) else {
            d.push(raw.question.span(), "a verified query needs `query:`");
            continue;
        };
        match serde_json::from_value::<SemanticQuery>(node_to_json(qnode)) {
            Ok(q) => {
                for problem in crate::compile::check_names(&model, &q) {
                    d.push(
                        qnode.span(),
                        format!("verified query \"{}\": {problem}", raw.question.as_str()),
                    );
                }
                model.verified_queries.push(VerifiedQuery {
                    question: raw.question.as_str().to_string(),
                    query: q,
                });
            }
            Err(e) => d.push(
                qnode.span(),
                format!(
                    "verified query \"{}\" is not a valid plan: {e}",
                    raw.question.as_str()
                ),
            ),
        }
    }
    Some(model)
}

fn find_cycle(model: &SemanticModel, name: &str, stack: &mut Vec<String>) -> Option<Vec<String>> {
    if stack.iter().any(|s| s == name) {
        let mut c = stack.clone();
        c.push(name.to_string());
        return Some(c);
    }
    let m = model.metrics.get(name)?;
    stack.push(name.to_string());
    let refs: Vec<String> = match &m.kind {
        MetricKind::Simple { .. } => Vec::new(),
        MetricKind::Ratio {
            numerator,
            denominator,
        } => [numerator, denominator]
            .iter()
            .filter_map(|o| match o {
                Operand::Metric(n) => Some(n.clone()),
                Operand::Measure(_) => None,
            })
            .collect(),
        MetricKind::Derived { refs, .. } => refs.clone(),
    };
    for r in refs {
        if let Some(c) = find_cycle(model, &r, stack) {
            return Some(c);
        }
    }
    stack.pop();
    None
}

/// `paid_installs` -> `Paid installs`.
fn title(name: &str) -> String {
    let s = name.replace('_', " ");
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => s,
    }
}

/// Loads a model from named in-memory files.
pub fn load_files(files: &[(&str, &str)]) -> Result<SemanticModel, LoadErrors> {
    let sources: Vec<(PathBuf, String)> = files
        .iter()
        .map(|(n, t)| (PathBuf::from(n), t.to_string()))
        .collect();
    load_sources(&sources)
}

/// The `model:` section's words, with every name checked against the model.
fn vocabulary(model: &SemanticModel, s: RawSettings, d: &mut Diags) -> Vocabulary {
    let known = |names: &[S<String>],
                 what: &str,
                 d: &mut Diags,
                 exists: &dyn Fn(&str) -> bool,
                 all: Vec<&str>| {
        let mut out = Vec::new();
        for n in names {
            if exists(n.as_str()) {
                out.push(n.as_str().to_string());
            } else {
                d.push(
                    n.span(),
                    format!(
                        "unknown {what} \"{}\" in the model's `{what}s` list{}",
                        n.as_str(),
                        suggestion(n, all.iter().copied())
                    ),
                );
            }
        }
        out
    };
    let metric_names: Vec<&str> = model.metric_order.iter().map(String::as_str).collect();
    let dim_names: Vec<&str> = model.dimensions.keys().map(String::as_str).collect();
    let headline_metrics = known(
        &s.headline_metrics,
        "headline metric",
        d,
        &|n| model.metrics.contains_key(n),
        metric_names,
    );
    let breakdowns = known(
        &s.breakdowns,
        "breakdown",
        d,
        &|n| model.dimensions.contains_key(n),
        dim_names,
    );
    let currency = s.currency.map(|c| {
        let code = c.code.as_str().trim().to_uppercase();
        if code.len() != 3 || !code.chars().all(|x| x.is_ascii_alphabetic()) {
            d.push(
                c.code.span(),
                format!(
                    "currency code \"{}\" is not a three-letter ISO 4217 code such as EUR or JPY",
                    c.code.as_str()
                ),
            );
        }
        Currency {
            symbol: c.symbol.unwrap_or_else(|| format!("{code} ")),
            words: c
                .words
                .iter()
                .map(|w| w.trim().to_lowercase())
                .filter(|w| !w.is_empty())
                .collect(),
            code,
        }
    });
    if currency.is_none()
        && let Some(m) = model.metric_order.iter().find(|m| {
            model
                .metrics
                .get(*m)
                .is_some_and(|x| x.format == Format::Currency)
        })
    {
        d.push(s.name.span(), format!("metric \"{m}\" has `format: currency`, so the model needs its currency: add `currency: {{code: EUR, symbol: \"€\"}}` (your code and symbol) under `model:`"));
    }
    let lower = |v: Vec<String>| -> Vec<String> {
        v.into_iter()
            .map(|w| w.trim().to_lowercase())
            .filter(|w| !w.is_empty())
            .collect()
    };
    Vocabulary {
        currency,
        headline_metrics,
        breakdowns,
        examples: s.examples,
        actionable: lower(s.actionable),
        out_of_scope: lower(s.out_of_scope),
        subject: s.subject.unwrap_or_else(|| {
            if s.description.is_empty() {
                format!("the {} data", s.name.as_str())
            } else {
                s.description.trim_end_matches('.').to_string()
            }
        }),
        forecasts: s.forecasts,
    }
}
