//! From a profile of the warehouse to a draft of the semantic model: entities
//! with their keys, time columns and measures; joins; dimensions bound on
//! every entity that reaches them; simple and ratio metrics. Every guess
//! carries a note saying what to check. No I/O here, so it is tested on
//! profiles written by hand.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

use super::names::{
    article, counted_noun, is_cost, is_id_like, is_money, is_non_additive, is_start_time,
    looks_unattributed, singular, snake_case, sql_ident, sql_qualified, time_score,
};
use super::profile::{
    ColumnProfile, JoinFinding, KeyFinding, Kind, TableProfile, WarehouseProfile,
};

/// Sample values written per dimension.
const SAMPLE_VALUES: usize = 10;

#[derive(Debug, Clone)]
pub struct Draft {
    pub name: String,
    /// The warehouse folder, for comments and next steps.
    pub warehouse: String,
    pub as_of: Option<AsOf>,
    pub entities: Vec<EntityDraft>,
    pub joins: Vec<JoinDraft>,
    /// Joins the names suggested but the data refused.
    pub join_notes: Vec<String>,
    pub dimensions: Vec<DimensionDraft>,
    pub metrics: Vec<MetricDraft>,
    pub headline_metrics: Vec<String>,
    pub breakdowns: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct AsOf {
    pub entity: String,
    pub column: String,
    pub note: String,
}

#[derive(Debug, Clone)]
pub struct EntityDraft {
    pub name: String,
    pub table: String,
    pub rows: u64,
    pub primary_key: Vec<String>,
    /// Whether the data showed the key unique; else it is a placeholder.
    pub key_verified: bool,
    pub key_note: String,
    /// Other things to check about the entity.
    pub notes: Vec<String>,
    pub time: Option<TimeDraft>,
    pub measures: Vec<MeasureDraft>,
}

#[derive(Debug, Clone)]
pub struct TimeDraft {
    pub column: String,
    /// `date` or `timestamp`.
    pub kind: &'static str,
    pub cohort: bool,
    pub note: String,
}

#[derive(Debug, Clone)]
pub struct MeasureDraft {
    pub name: String,
    pub agg: &'static str,
    pub expr: Option<String>,
    pub note: Option<String>,
    /// The column it aggregates, for the metric drafts.
    pub column: Option<String>,
    pub integer: bool,
}

#[derive(Debug, Clone)]
pub struct JoinDraft {
    pub from: String,
    pub to: String,
    /// `column`, or `from_column = to_column`.
    pub on: String,
    pub note: String,
}

#[derive(Debug, Clone)]
pub struct DimensionDraft {
    pub name: String,
    /// `categorical` or `boolean`.
    pub kind: &'static str,
    pub sample_values: Vec<String>,
    pub distinct: usize,
    pub notes: Vec<String>,
    /// entity -> expression, the owner first.
    pub bindings: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MetricDraftKind {
    Simple {
        measure: String,
    },
    Ratio {
        numerator: String,
        denominator: String,
    },
}

#[derive(Debug, Clone)]
pub struct MetricDraft {
    pub name: String,
    pub kind: MetricDraftKind,
    pub format: &'static str,
    pub cost: bool,
    pub synonyms: Vec<String>,
    pub note: Option<String>,
}

/// Hands out unique snake_case names across entities' measures, metrics and
/// dimensions: a name wanted by two tables is prefixed with each table's
/// singular (`order_status`, `promotion_status`), and a name still taken gets
/// a number.
#[derive(Debug, Default)]
struct Namer {
    taken: BTreeSet<String>,
    wanted: HashMap<String, BTreeSet<String>>,
}

impl Namer {
    fn want(&mut self, base: &str, table: &str) {
        self.wanted
            .entry(base.to_string())
            .or_default()
            .insert(table.to_string());
    }

    fn shared(&self, base: &str) -> bool {
        self.wanted.get(base).is_some_and(|t| t.len() > 1)
    }

    fn take(&mut self, base: &str, table: &str) -> String {
        let mut name = if self.shared(base) || base == quarry_schema::model::TIME_DIMENSION {
            format!("{}_{base}", singular(&snake_case(table)))
        } else {
            base.to_string()
        };
        let stem = name.clone();
        let mut n = 2;
        while self.taken.contains(&name) {
            name = format!("{stem}_{n}");
            n += 1;
        }
        self.taken.insert(name.clone());
        name
    }
}

/// Tables reachable from `from` through joins, nearest first, with the
/// number of hops.
fn reachable(joins: &[JoinFinding], from: &str) -> Vec<(String, usize)> {
    let mut seen: BTreeMap<String, usize> = BTreeMap::from([(from.to_string(), 0)]);
    let mut order = Vec::new();
    let mut queue = VecDeque::from([from.to_string()]);
    while let Some(t) = queue.pop_front() {
        let d = seen.get(&t).copied().unwrap_or(0);
        for j in joins.iter().filter(|j| j.from == t) {
            if !seen.contains_key(&j.to) {
                seen.insert(j.to.clone(), d + 1);
                order.push((j.to.clone(), d + 1));
                queue.push_back(j.to.clone());
            }
        }
    }
    order
}

/// Whether a column of a table is a foreign key found in the data.
fn is_foreign_key(w: &WarehouseProfile, table: &str, column: &str) -> bool {
    w.joins
        .iter()
        .any(|j| j.from == table && j.column == column)
}

/// Whether a column is part of the table's key, a foreign key, or named
/// like an identifier: not something to sum.
fn is_keyish(w: &WarehouseProfile, t: &TableProfile, c: &ColumnProfile) -> bool {
    t.key_columns().contains(&c.name)
        || is_foreign_key(w, &t.name, &c.name)
        || is_id_like(&c.snake())
}

fn entity_names(w: &WarehouseProfile) -> BTreeMap<String, String> {
    let mut used = BTreeSet::new();
    let mut out = BTreeMap::new();
    for t in &w.tables {
        let stem = snake_case(&t.name);
        let mut name = stem.clone();
        let mut n = 2;
        while used.contains(&name) {
            name = format!("{stem}_{n}");
            n += 1;
        }
        used.insert(name.clone());
        out.insert(t.name.clone(), name);
    }
    out
}

fn key_of(t: &TableProfile) -> (Vec<String>, String) {
    let rows = t.rows;
    match &t.key {
        KeyFinding::Single(k) => (
            vec![k.clone()],
            format!(
                "check: is this the right primary key? {k} is unique and never empty in the {rows} rows"
            ),
        ),
        KeyFinding::Composite(cols) => (
            cols.clone(),
            format!(
                "check: no single column is unique, but ({}) together are in the {rows} rows: is that what identifies a row?",
                cols.join(", ")
            ),
        ),
        KeyFinding::None => {
            let first = t
                .columns
                .first()
                .map_or("id".to_string(), |c| c.name.clone());
            let why = if rows == 0 {
                "the table is empty, so no key could be checked".to_string()
            } else {
                "no column or pair of columns checked is unique in the data".to_string()
            };
            (
                vec![first],
                format!(
                    "check: {why}; this key is a placeholder and nothing joins to this table: list the column(s) that identify a row"
                ),
            )
        }
    }
}

/// The column that places a row in time, when the table has one.
fn time_of(t: &TableProfile, referenced: bool) -> Option<TimeDraft> {
    let mut dated: Vec<&ColumnProfile> = t
        .columns
        .iter()
        .filter(|c| c.kind.is_time() && c.non_null > 0)
        .collect();
    // The table's own word in a name (`install_time` for installs) counts
    // too. Stable: the first of the best-named columns wins.
    let own = singular(&snake_case(&t.name));
    let own_word = own.rsplit('_').next().unwrap_or(&own).to_string();
    dated.sort_by_key(|c| {
        let snake = c.snake();
        let mine = snake.split('_').any(|w| w == own_word);
        -(time_score(&snake) + if mine { 3 } else { 0 })
    });
    let best = dated.first()?;
    let others: Vec<&str> = dated.iter().skip(1).map(|c| c.name.as_str()).collect();
    let cohort = referenced && is_start_time(&best.snake());
    let row = own.replace('_', " ");
    let mut note = format!(
        "check: is {} the time that places {} {row} in a period?",
        best.name,
        article(&row)
    );
    if !others.is_empty() {
        note.push_str(&format!(
            " The table is also dated by {}.",
            others.join(", ")
        ));
    }
    if cohort {
        note.push_str(" cohort: true because it dates when each row began, so with no period named every row counts; set it to false if rows are events.");
    }
    if best.non_null < t.rows {
        note.push_str(&format!(
            " {} of {} rows have no {}.",
            t.rows - best.non_null,
            t.rows,
            best.name
        ));
    }
    Some(TimeDraft {
        column: best.name.clone(),
        kind: if best.kind == Kind::Date {
            "date"
        } else {
            "timestamp"
        },
        cohort,
        note,
    })
}

fn draft_entity(w: &WarehouseProfile, t: &TableProfile, name: &str) -> EntityDraft {
    let referenced = w.joins.iter().any(|j| j.to == t.name);
    let (primary_key, key_note) = key_of(t);
    EntityDraft {
        name: name.to_string(),
        table: t.name.clone(),
        rows: t.rows,
        key_verified: t.key != KeyFinding::None,
        primary_key,
        key_note,
        notes: Vec::new(),
        time: time_of(t, referenced),
        measures: Vec::new(),
    }
}

fn draft_join(j: &JoinFinding, entities: &BTreeMap<String, String>) -> Option<JoinDraft> {
    let on = if j.column == j.to_column {
        j.column.clone()
    } else {
        format!("{} = {}", j.column, j.to_column)
    };
    Some(JoinDraft {
        from: entities.get(&j.from)?.clone(),
        to: entities.get(&j.to)?.clone(),
        on,
        note: format!(
            "check: every value of {}.{} is found in {}.{}, which is unique: many {} rows to one {}",
            j.from,
            j.column,
            j.to,
            j.to_column,
            j.from,
            singular(&snake_case(&j.to)).replace('_', " ")
        ),
    })
}

/// The fact whose time column has the most rows; a cohort only when no
/// table has an event time.
fn pick_as_of(entities: &[EntityDraft]) -> Option<AsOf> {
    let dated = |cohort: bool| {
        entities
            .iter()
            .filter(|e| e.time.as_ref().is_some_and(|t| t.cohort == cohort))
            .max_by_key(|e| e.rows)
    };
    let e = dated(false).or_else(|| dated(true))?;
    let column = e.time.as_ref()?.column.clone();
    Some(AsOf {
        note: format!(
            "check: the latest {}.{column} is taken as the last full day of data (\"today\" for relative periods); choose the fact that is loaded last",
            e.name
        ),
        entity: e.name.clone(),
        column,
    })
}

/// For an entity with no time column that reaches one through joins
/// (order items through their order): how to date it.
fn undated_notes(
    w: &WarehouseProfile,
    names: &BTreeMap<String, String>,
    entities: &mut [EntityDraft],
) {
    let dated: BTreeMap<String, String> = entities
        .iter()
        .filter_map(|e| Some((e.table.clone(), e.time.as_ref()?.column.clone())))
        .collect();
    for e in entities.iter_mut().filter(|e| e.time.is_none()) {
        let Some((to, column)) = reachable(&w.joins, &e.table)
            .into_iter()
            .find_map(|(t, _)| dated.get(&t).map(|c| (t.clone(), c.clone())))
        else {
            continue;
        };
        let other = names.get(&to).cloned().unwrap_or(to);
        e.notes.push(format!(
            "check: {} has no date column, so its metrics cover all time; its rows are dated by {other}.{column} through joins: to filter them by period, define this entity with `sql:` (a SELECT that joins {other} and takes {column}) and give it `time:`",
            e.table
        ));
    }
}

/// Builds the whole draft from a profile.
pub fn draft(w: &WarehouseProfile, model_name: &str, warehouse: &str) -> Draft {
    let names = entity_names(w);
    let mut entities: Vec<EntityDraft> = w
        .tables
        .iter()
        .filter_map(|t| names.get(&t.name).map(|n| draft_entity(w, t, n)))
        .collect();
    let joins = w
        .joins
        .iter()
        .filter_map(|j| draft_join(j, &names))
        .collect();
    let join_notes = w
        .rejected
        .iter()
        .map(|r| {
            format!(
                "check: {}.{} looks like a key of {} ({}), but {}, so it is not joined; fix the data, or add the join if the gaps are expected",
                r.join.from, r.join.column, r.join.to, r.join.to_column, r.reason
            )
        })
        .collect();
    let as_of = pick_as_of(&entities);
    undated_notes(w, &names, &mut entities);
    let mut namer = Namer::default();
    let dims = dimension_candidates(w);
    let measures = measure_candidates(w);
    for (t, c) in dims.iter().chain(measures.iter()) {
        namer.want(&c.snake(), &t.name);
    }
    let dimensions = dims
        .iter()
        .map(|(t, c)| draft_dimension(w, &names, &mut namer, t, c))
        .collect();
    let mut metrics = Vec::new();
    for e in entities.iter_mut() {
        let Some(t) = w.table(&e.table) else { continue };
        let cols: Vec<&ColumnProfile> = measures
            .iter()
            .filter(|(mt, _)| mt.name == t.name)
            .map(|(_, c)| *c)
            .collect();
        e.measures = draft_measures(t, &cols, &mut namer);
        metrics.extend(draft_metrics(e, t, &mut namer));
    }
    let mut d = Draft {
        name: model_name.to_string(),
        warehouse: warehouse.to_string(),
        as_of,
        entities,
        joins,
        join_notes,
        dimensions,
        metrics,
        headline_metrics: Vec::new(),
        breakdowns: Vec::new(),
    };
    headline(&mut d);
    d
}

/// Low-cardinality text and boolean columns that are neither the table's
/// own key (which identifies rows rather than grouping them) nor foreign
/// keys (the table they point to carries their dimensions).
fn dimension_candidates(w: &WarehouseProfile) -> Vec<(&TableProfile, &ColumnProfile)> {
    let mut out = Vec::new();
    for t in &w.tables {
        for c in &t.columns {
            let has_values = c.values.as_ref().is_some_and(|v| !v.is_empty());
            let own_key = t.key == KeyFinding::Single(c.name.clone());
            if has_values && !own_key && !is_foreign_key(w, &t.name, &c.name) {
                out.push((t, c));
            }
        }
    }
    out
}

/// Numeric columns that are not keys.
fn measure_candidates(w: &WarehouseProfile) -> Vec<(&TableProfile, &ColumnProfile)> {
    let mut out = Vec::new();
    for t in &w.tables {
        for c in &t.columns {
            if c.kind.is_numeric() && c.non_null > 0 && !is_keyish(w, t, c) {
                out.push((t, c));
            }
        }
    }
    out
}

fn dimension_notes(
    w: &WarehouseProfile,
    t: &TableProfile,
    c: &ColumnProfile,
    values: &[(String, u64)],
    shared: bool,
) -> Vec<String> {
    let n = values.len();
    let mut first = format!("check: {n} distinct value{}", if n == 1 { "" } else { "s" });
    match values.iter().find(|(v, _)| looks_unattributed(v)) {
        Some((v, _)) => first.push_str(&format!(
            "; is '{v}' the unattributed value? If so, add `unattributed: '{v}'`"
        )),
        None if n == 1 => first.push_str("; a column with one value breaks nothing down: delete it unless more values are coming"),
        None => {}
    }
    let mut notes = vec![first];
    if c.non_null < t.rows {
        notes.push(format!(
            "check: {} of {} rows of {} have no {}; answers show them as empty",
            t.rows - c.non_null,
            t.rows,
            t.name,
            c.name
        ));
    }
    if shared {
        let others: Vec<&str> = w
            .tables
            .iter()
            .filter(|o| o.name != t.name && o.columns.iter().any(|x| x.snake() == c.snake()))
            .map(|o| o.name.as_str())
            .collect();
        notes.push(format!(
            "check: {} also has a column {}; merge the two dimensions if they mean the same thing",
            others.join(", "),
            c.name
        ));
    }
    notes
}

/// Bindings of a dimension: its own table, then every table that reaches
/// it through joins, nearest first.
fn bindings(
    w: &WarehouseProfile,
    names: &BTreeMap<String, String>,
    t: &TableProfile,
    c: &ColumnProfile,
) -> Vec<(String, String)> {
    let Some(owner) = names.get(&t.name) else {
        return Vec::new();
    };
    let mut out = vec![(owner.clone(), sql_ident(&c.name))];
    let mut others: Vec<(usize, &str)> = w
        .tables
        .iter()
        .filter(|o| o.name != t.name)
        .filter_map(|o| {
            reachable(&w.joins, &o.name)
                .into_iter()
                .find(|(x, _)| x == &t.name)
                .map(|(_, d)| (d, o.name.as_str()))
        })
        .collect();
    others.sort();
    for (_, o) in others {
        if let Some(entity) = names.get(o) {
            out.push((entity.clone(), sql_qualified(owner, &c.name)));
        }
    }
    out
}

fn draft_dimension(
    w: &WarehouseProfile,
    names: &BTreeMap<String, String>,
    namer: &mut Namer,
    t: &TableProfile,
    c: &ColumnProfile,
) -> DimensionDraft {
    let values: &[(String, u64)] = c.values.as_deref().unwrap_or(&[]);
    let shared = namer.shared(&c.snake());
    DimensionDraft {
        name: namer.take(&c.snake(), &t.name),
        kind: if c.kind == Kind::Bool {
            "boolean"
        } else {
            "categorical"
        },
        sample_values: values
            .iter()
            .take(SAMPLE_VALUES)
            .map(|(v, _)| v.clone())
            .collect(),
        distinct: values.len(),
        notes: dimension_notes(w, t, c, values, shared),
        bindings: bindings(w, names, t, c),
    }
}

fn draft_measures(
    t: &TableProfile,
    cols: &[&ColumnProfile],
    namer: &mut Namer,
) -> Vec<MeasureDraft> {
    let count_name = namer.take(
        &format!("{}_count", singular(&snake_case(&t.name))),
        &t.name,
    );
    let mut out = vec![MeasureDraft {
        name: count_name,
        agg: "count",
        expr: None,
        note: None,
        column: None,
        integer: true,
    }];
    for c in cols {
        let snake = c.snake();
        let avg = is_non_additive(&snake);
        let note = if avg {
            Some(format!(
                "check: averaged, since a total of {} means little; use agg: sum if it adds up",
                c.name
            ))
        } else if c.kind == Kind::Int && c.approx_distinct.is_some_and(|d| d <= 2) {
            Some(format!(
                "check: {} has at most 2 distinct values: a 0/1 flag? Its sum counts the rows where it is 1",
                c.name
            ))
        } else {
            None
        };
        out.push(MeasureDraft {
            name: namer.take(&snake, &t.name),
            agg: if avg { "avg" } else { "sum" },
            expr: Some(sql_ident(&c.name)),
            note,
            column: Some(c.name.clone()),
            integer: c.kind == Kind::Int && !avg,
        });
    }
    out
}

fn simple_metric(m: &MeasureDraft, entity: &EntityDraft) -> MetricDraft {
    let snake = m.column.as_deref().map(snake_case).unwrap_or_default();
    let cost = m.agg == "sum" && is_cost(&snake);
    let (synonyms, note) = match &m.column {
        None => {
            let words = snake_case(&entity.table).replace('_', " ");
            (vec![words.clone(), format!("number of {words}")], None)
        }
        Some(col) if cost => (
            Vec::new(),
            Some(format!(
                "check: {col} is money paid out (cost: true, lower is better)? For money also set `format: currency` and the model's currency"
            )),
        ),
        Some(col) if is_money(&snake) && m.agg == "sum" => (
            Vec::new(),
            Some(format!(
                "check: {col} is money? Set `format: currency` and add the model's currency"
            )),
        ),
        Some(_) => (Vec::new(), None),
    };
    MetricDraft {
        name: m.name.clone(),
        kind: MetricDraftKind::Simple {
            measure: m.name.clone(),
        },
        format: if m.integer { "integer" } else { "number" },
        cost,
        synonyms,
        note,
    }
}

fn ratio_metric(
    namer: &mut Namer,
    table: &str,
    num: &MeasureDraft,
    den: &MeasureDraft,
    per: &str,
    cost: bool,
) -> MetricDraft {
    let name = namer.take(&format!("{}_per_{per}", num.name), table);
    let words = per.replace('_', " ");
    let mut synonyms = vec![format!("{} per {words}", num.name.replace('_', " "))];
    let spend_words = ["cost", "spend", "spent"];
    if cost && num.name.split('_').any(|w| spend_words.contains(&w)) {
        synonyms.push(format!("cost per {words}"));
    }
    MetricDraft {
        name,
        kind: MetricDraftKind::Ratio {
            numerator: num.name.clone(),
            denominator: den.name.clone(),
        },
        format: "number",
        cost: false,
        synonyms,
        note: Some(format!(
            "check: {} divided by {}, both summed at the grain asked for; delete it if it means nothing",
            num.name, den.name
        )),
    }
}

/// A simple metric per measure, then ratios the names suggest: money per
/// row of a table with an identity (revenue per order), and a cost per
/// counted thing on the same table (spend per click).
fn draft_metrics(e: &EntityDraft, t: &TableProfile, namer: &mut Namer) -> Vec<MetricDraft> {
    let mut out: Vec<MetricDraft> = e.measures.iter().map(|m| simple_metric(m, e)).collect();
    let Some(count) = e.measures.iter().find(|m| m.agg == "count") else {
        return out;
    };
    let sums: Vec<&MeasureDraft> = e.measures.iter().filter(|m| m.agg == "sum").collect();
    let snake = |m: &MeasureDraft| m.column.as_deref().map(snake_case).unwrap_or_default();
    let per_row = matches!(t.key, KeyFinding::Single(_));
    for num in sums.iter().filter(|m| is_money(&snake(m))) {
        let cost = is_cost(&snake(num));
        if per_row {
            let row = singular(&snake_case(&t.name));
            out.push(ratio_metric(namer, &t.name, num, count, &row, cost));
        }
        if !cost {
            continue;
        }
        for den in sums.iter().filter(|d| d.integer && d.name != num.name) {
            if let Some(noun) = counted_noun(&snake(den)) {
                out.push(ratio_metric(namer, &t.name, num, den, &noun, true));
            }
        }
    }
    out
}

/// The metrics and breakdowns offered first: the as-of fact's (else the
/// biggest table's) count and first sums, and its first dimensions.
fn headline(d: &mut Draft) {
    let main = match &d.as_of {
        Some(a) => d.entities.iter().find(|e| e.name == a.entity),
        None => d.entities.iter().max_by_key(|e| e.rows),
    };
    let Some(main) = main else { return };
    d.headline_metrics = main
        .measures
        .iter()
        .filter(|m| m.agg != "avg")
        .take(3)
        .map(|m| m.name.clone())
        .collect();
    // Its own dimensions first, then those nearest through joins.
    let mut near: Vec<(usize, &str)> = d
        .dimensions
        .iter()
        .filter(|x| x.distinct > 1)
        .filter_map(|x| {
            let at = x.bindings.iter().position(|(e, _)| e == &main.name)?;
            Some((usize::from(at > 0), x.name.as_str()))
        })
        .collect();
    near.sort_by_key(|(at, _)| *at);
    d.breakdowns = near
        .into_iter()
        .take(3)
        .map(|(_, n)| n.to_string())
        .collect();
}
