//! What the data says: each table's columns and types, row count, null and
//! distinct counts, the values of low-cardinality columns, a key verified to
//! be unique, and joins verified to be many-to-one. Everything here is read
//! with the engine (DataFusion); nothing is guessed from names alone.

use datafusion::arrow::datatypes::DataType;
use serde_json::Value;

use super::names::{is_generic_key, is_id_like, normalized, singular, snake_case, sql_ident};
use crate::engine::{Engine, EngineError};

/// At most this many distinct values make a column a dimension.
pub const MAX_DIMENSION_VALUES: usize = 50;
/// Key candidates checked exactly per table, single columns and pairs each.
const MAX_KEY_CHECKS: usize = 8;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Text,
    Bool,
    Int,
    Float,
    Date,
    Timestamp,
    Other,
}

impl Kind {
    fn of(t: &DataType) -> Kind {
        match t {
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => Kind::Text,
            DataType::Dictionary(_, v) => Kind::of(v),
            DataType::Boolean => Kind::Bool,
            DataType::Int8
            | DataType::Int16
            | DataType::Int32
            | DataType::Int64
            | DataType::UInt8
            | DataType::UInt16
            | DataType::UInt32
            | DataType::UInt64 => Kind::Int,
            DataType::Float16
            | DataType::Float32
            | DataType::Float64
            | DataType::Decimal32(..)
            | DataType::Decimal64(..)
            | DataType::Decimal128(..)
            | DataType::Decimal256(..) => Kind::Float,
            DataType::Date32 | DataType::Date64 => Kind::Date,
            DataType::Timestamp(..) => Kind::Timestamp,
            _ => Kind::Other,
        }
    }

    pub fn is_numeric(self) -> bool {
        matches!(self, Kind::Int | Kind::Float)
    }

    pub fn is_time(self) -> bool {
        matches!(self, Kind::Date | Kind::Timestamp)
    }

    /// Whether values of the kind can identify a row or be counted apart.
    fn is_discrete(self) -> bool {
        matches!(
            self,
            Kind::Text | Kind::Bool | Kind::Int | Kind::Date | Kind::Timestamp
        )
    }
}

#[derive(Debug, Clone)]
pub struct ColumnProfile {
    pub name: String,
    pub kind: Kind,
    /// The Arrow type, for messages.
    pub data_type: String,
    pub non_null: u64,
    /// Approximate number of distinct values (HyperLogLog), when the type
    /// allows it.
    pub approx_distinct: Option<u64>,
    /// For text and boolean columns with few values: every value with its
    /// row count, most frequent first.
    pub values: Option<Vec<(String, u64)>>,
}

impl ColumnProfile {
    pub fn snake(&self) -> String {
        snake_case(&self.name)
    }
}

/// A set of columns verified to be unique and non-null in the data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyFinding {
    Single(String),
    /// Two or three columns unique together (a date and a campaign).
    Composite(Vec<String>),
    /// Nothing unique among the candidates checked, or no rows.
    None,
}

#[derive(Debug, Clone)]
pub struct TableProfile {
    pub name: String,
    pub rows: u64,
    pub columns: Vec<ColumnProfile>,
    pub key: KeyFinding,
}

impl TableProfile {
    pub fn column(&self, name: &str) -> Option<&ColumnProfile> {
        self.columns.iter().find(|c| c.name == name)
    }

    pub fn key_columns(&self) -> Vec<String> {
        match &self.key {
            KeyFinding::Single(k) => vec![k.clone()],
            KeyFinding::Composite(cols) => cols.clone(),
            KeyFinding::None => Vec::new(),
        }
    }
}

/// A many-to-one edge verified in the data: every non-null `from.column`
/// value is a `to.to_column` value, and `to_column` is unique in `to`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinFinding {
    pub from: String,
    pub column: String,
    pub to: String,
    pub to_column: String,
}

/// A join the names suggested but the data refused, and why.
#[derive(Debug, Clone)]
pub struct RejectedJoin {
    pub join: JoinFinding,
    pub reason: String,
}

#[derive(Debug, Clone, Default)]
pub struct WarehouseProfile {
    pub tables: Vec<TableProfile>,
    pub joins: Vec<JoinFinding>,
    pub rejected: Vec<RejectedJoin>,
}

impl WarehouseProfile {
    pub fn table(&self, name: &str) -> Option<&TableProfile> {
        self.tables.iter().find(|t| t.name == name)
    }
}

fn count(v: Option<&Value>) -> u64 {
    v.and_then(|v| v.as_u64().or_else(|| v.as_i64().map(|i| i.max(0) as u64)))
        .unwrap_or(0)
}

/// The count a one-row, one-column query returns.
async fn scalar_count(engine: &Engine, sql: &str) -> Result<u64, EngineError> {
    let rows = engine.sql(sql).await?.rows_json();
    Ok(count(rows.first().and_then(|r| r.first())))
}

fn table_ref(t: &str) -> String {
    format!("\"{}\"", t.replace('"', "\"\""))
}

/// The columns of a table and their kinds, from its registered schema.
async fn columns_of(engine: &Engine, table: &str) -> Result<Vec<(String, DataType)>, EngineError> {
    let df = engine
        .context()
        .table(table_ref(table).as_str())
        .await
        .map_err(|e| EngineError::Register {
            table: table.to_string(),
            message: e.to_string(),
        })?;
    Ok(df
        .schema()
        .fields()
        .iter()
        .map(|f| (f.name().clone(), f.data_type().clone()))
        .collect())
}

/// Row count, non-null and approximate distinct counts of every column,
/// in one scan.
async fn basic_stats(
    engine: &Engine,
    table: &str,
    cols: &mut [ColumnProfile],
) -> Result<u64, EngineError> {
    let mut select = vec!["COUNT(*)".to_string()];
    for c in cols.iter() {
        let id = sql_ident(&c.name);
        select.push(format!("COUNT({id})"));
        if c.kind.is_discrete() {
            select.push(format!("approx_distinct({id})"));
        }
    }
    let sql = format!("SELECT {} FROM {}", select.join(", "), table_ref(table));
    let r = engine.sql(&sql).await?;
    let rows = r.rows_json();
    let row = rows.first().cloned().unwrap_or_default();
    let mut i = 1;
    for c in cols.iter_mut() {
        c.non_null = count(row.get(i));
        i += 1;
        if c.kind.is_discrete() {
            c.approx_distinct = Some(count(row.get(i)));
            i += 1;
        }
    }
    Ok(count(row.first()))
}

/// Every value of a low-cardinality text or boolean column with its count,
/// most frequent first; `None` when it has more than
/// [`MAX_DIMENSION_VALUES`].
async fn value_counts(
    engine: &Engine,
    table: &str,
    column: &str,
) -> Result<Option<Vec<(String, u64)>>, EngineError> {
    let id = sql_ident(column);
    let sql = format!(
        "SELECT CAST({id} AS VARCHAR) AS v, COUNT(*) AS n FROM {} WHERE {id} IS NOT NULL GROUP BY 1 ORDER BY n DESC, v LIMIT {}",
        table_ref(table),
        MAX_DIMENSION_VALUES + 1
    );
    let r = engine.sql(&sql).await?;
    let values: Vec<(String, u64)> = r
        .rows_json()
        .into_iter()
        .map(|row| {
            let v = match row.first() {
                Some(Value::String(s)) => s.clone(),
                Some(other) => other.to_string(),
                None => String::new(),
            };
            (v, count(row.get(1)))
        })
        .collect();
    Ok((values.len() <= MAX_DIMENSION_VALUES).then_some(values))
}

/// Profiles one table: schema, counts, and the values of likely dimensions.
pub async fn profile_table(engine: &Engine, table: &str) -> Result<TableProfile, EngineError> {
    let mut cols: Vec<ColumnProfile> = columns_of(engine, table)
        .await?
        .into_iter()
        .map(|(name, t)| ColumnProfile {
            kind: Kind::of(&t),
            data_type: t.to_string(),
            name,
            non_null: 0,
            approx_distinct: None,
            values: None,
        })
        .collect();
    let rows = basic_stats(engine, table, &mut cols).await?;
    for c in cols.iter_mut() {
        let few = c
            .approx_distinct
            .is_some_and(|d| d > 0 && d as usize <= MAX_DIMENSION_VALUES + 10);
        if matches!(c.kind, Kind::Text | Kind::Bool) && few {
            c.values = value_counts(engine, table, &c.name).await?;
        }
    }
    let mut t = TableProfile {
        name: table.to_string(),
        rows,
        columns: cols,
        key: KeyFinding::None,
    };
    t.key = find_key(engine, &t).await?;
    Ok(t)
}

/// Single-column key candidates, best first: the table's own id
/// (`customers.customer_id`, `id`), other id-like columns, then any column
/// that looks unique.
fn key_candidates(t: &TableProfile) -> Vec<&ColumnProfile> {
    let own = normalized(&singular(&snake_case(&t.name)));
    let rank = |c: &ColumnProfile| {
        let n = normalized(&c.name);
        if n == format!("{own}id") || n == "id" {
            0
        } else if is_id_like(&c.snake()) {
            1
        } else {
            2
        }
    };
    let mut cands: Vec<&ColumnProfile> = t
        .columns
        .iter()
        .filter(|c| {
            matches!(c.kind, Kind::Int | Kind::Text)
                && t.rows > 0
                && c.non_null == t.rows
                // HyperLogLog is within a few percent.
                && c.approx_distinct.is_some_and(|d| d as f64 >= 0.9 * t.rows as f64)
        })
        .collect();
    cands.sort_by_key(|c| rank(c));
    cands.truncate(MAX_KEY_CHECKS);
    cands
}

/// Columns a two-column key may be made of: non-null and discrete, id-like
/// and time columns first.
fn pair_candidates(t: &TableProfile) -> Vec<&ColumnProfile> {
    let mut cands: Vec<&ColumnProfile> = t
        .columns
        .iter()
        .filter(|c| {
            c.kind.is_discrete() && c.kind != Kind::Bool && t.rows > 0 && c.non_null == t.rows
        })
        .collect();
    cands.sort_by_key(|c| {
        if is_id_like(&c.snake()) {
            0
        } else if c.kind.is_time() {
            1
        } else if c.values.is_some() {
            2
        } else {
            3
        }
    });
    cands.truncate(5);
    cands
}

/// Index sets of `n` items taken `k` at a time, in order.
fn combinations(n: usize, k: usize) -> Vec<Vec<usize>> {
    if k == 0 {
        return vec![Vec::new()];
    }
    let mut out = Vec::new();
    for first in 0..n {
        for mut rest in combinations(n, k - 1) {
            if rest.first().is_none_or(|r| *r > first) {
                rest.insert(0, first);
                out.push(rest);
            }
        }
    }
    out
}

async fn distinct_rows(engine: &Engine, tref: &str, cols: &[&str]) -> Result<u64, EngineError> {
    let list: Vec<String> = cols.iter().map(|c| sql_ident(c)).collect();
    let sql = format!(
        "SELECT COUNT(*) FROM (SELECT DISTINCT {} FROM {tref}) AS d",
        list.join(", ")
    );
    scalar_count(engine, &sql).await
}

/// The first candidate (a column, else two or three columns together)
/// that is unique and non-null in the data, checked exactly.
async fn find_key(engine: &Engine, t: &TableProfile) -> Result<KeyFinding, EngineError> {
    let tref = table_ref(&t.name);
    for c in key_candidates(t) {
        let sql = format!("SELECT COUNT(DISTINCT {}) FROM {tref}", sql_ident(&c.name));
        if count(
            engine
                .sql(&sql)
                .await?
                .rows_json()
                .first()
                .and_then(|r| r.first()),
        ) == t.rows
        {
            return Ok(KeyFinding::Single(c.name.clone()));
        }
    }
    let cands = pair_candidates(t);
    let sets = combinations(cands.len(), 2)
        .into_iter()
        .chain(combinations(cands.len(), 3))
        .take(2 * MAX_KEY_CHECKS);
    for set in sets {
        let cols: Vec<&str> = set
            .iter()
            .filter_map(|i| cands.get(*i))
            .map(|c| c.name.as_str())
            .collect();
        if distinct_rows(engine, &tref, &cols).await? == t.rows {
            return Ok(KeyFinding::Composite(
                cols.iter().map(|c| c.to_string()).collect(),
            ));
        }
    }
    Ok(KeyFinding::None)
}

/// Whether `column` of a table names the single-column key `key` of
/// `target`: the same name in any case or spelling (`customerID`,
/// `customer_id`), or `<target>_id` for a key called just `id`.
pub fn names_key(column: &str, target: &str, key: &str) -> bool {
    let c = normalized(column);
    let k = normalized(key);
    if is_generic_key(&k) {
        let t = normalized(target);
        let one = normalized(&singular(&snake_case(target)));
        !is_generic_key(&c) && (c == format!("{one}{k}") || c == format!("{t}{k}"))
    } else {
        c == k
    }
}

/// Join candidates by name: columns of one table naming another's key.
fn join_candidates(w: &WarehouseProfile) -> Vec<JoinFinding> {
    let mut out = Vec::new();
    for a in &w.tables {
        for c in &a.columns {
            if a.key == KeyFinding::Single(c.name.clone()) || c.non_null == 0 {
                continue;
            }
            let target = w.tables.iter().find_map(|b| match &b.key {
                KeyFinding::Single(k) if b.name != a.name && names_key(&c.name, &b.name, k) => {
                    Some((b.name.clone(), k.clone()))
                }
                _ => None,
            });
            if let Some((to, to_column)) = target {
                out.push(JoinFinding {
                    from: a.name.clone(),
                    column: c.name.clone(),
                    to,
                    to_column,
                });
            }
        }
    }
    out
}

/// How many non-null values of the join's column have no match in the target.
async fn orphans(engine: &Engine, j: &JoinFinding) -> Result<u64, EngineError> {
    let sql = format!(
        "SELECT COUNT(*) FROM {} AS a LEFT JOIN {} AS b ON a.{} = b.{} WHERE a.{} IS NOT NULL AND b.{} IS NULL",
        table_ref(&j.from),
        table_ref(&j.to),
        sql_ident(&j.column),
        sql_ident(&j.to_column),
        sql_ident(&j.column),
        sql_ident(&j.to_column),
    );
    scalar_count(engine, &sql).await
}

/// Checks each join the names suggest against the data.
async fn verify_joins(engine: &Engine, w: &mut WarehouseProfile) {
    for j in join_candidates(w) {
        let kinds = (
            w.table(&j.from)
                .and_then(|t| t.column(&j.column))
                .map(|c| c.kind),
            w.table(&j.to)
                .and_then(|t| t.column(&j.to_column))
                .map(|c| c.kind),
        );
        if kinds.0 != kinds.1 {
            let reason = format!(
                "{}.{} and {}.{} hold different types of values",
                j.from, j.column, j.to, j.to_column
            );
            w.rejected.push(RejectedJoin { join: j, reason });
            continue;
        }
        match orphans(engine, &j).await {
            Ok(0) => w.joins.push(j),
            Ok(n) => {
                let reason = format!(
                    "{n} non-null value(s) of {}.{} are not in {}.{}",
                    j.from, j.column, j.to, j.to_column
                );
                w.rejected.push(RejectedJoin { join: j, reason });
            }
            Err(e) => {
                let reason = format!("the check query failed: {e}");
                w.rejected.push(RejectedJoin { join: j, reason });
            }
        }
    }
}

/// Profiles every table of the engine, then finds the joins between them.
/// `progress` is called with each table's name before it is read.
pub async fn profile(
    engine: &Engine,
    progress: &dyn Fn(&str),
) -> Result<WarehouseProfile, EngineError> {
    let mut w = WarehouseProfile::default();
    let mut names: Vec<String> = engine.tables().to_vec();
    names.sort();
    for name in names {
        progress(&name);
        w.tables.push(profile_table(engine, &name).await?);
    }
    progress("joins");
    verify_joins(engine, &mut w).await;
    Ok(w)
}

#[cfg(test)]
mod tests {
    use super::{combinations, names_key};

    #[test]
    fn index_sets() {
        assert_eq!(combinations(3, 2), [[0, 1], [0, 2], [1, 2]]);
        assert_eq!(combinations(4, 3).len(), 4);
    }

    #[test]
    fn key_names() {
        assert!(names_key("customer_id", "customers", "customer_id"));
        assert!(names_key("CustomerID", "customers", "customer_id"));
        assert!(names_key("customer_id", "customers", "id"));
        assert!(names_key("RegionCode", "regions", "RegionCode"));
        assert!(!names_key("id", "customers", "id"));
        assert!(!names_key("product_id", "customers", "customer_id"));
    }
}
