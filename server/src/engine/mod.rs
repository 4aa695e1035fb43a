//! The query engine: a DataFusion session over a warehouse folder, with a
//! memory limit, a timeout and a fixed parallelism. It runs SQL text (read
//! only) and compiled statements, and returns results in a form the CLI and
//! the API can print or serialise.

mod values;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDate;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::prelude::{
    CsvReadOptions, ParquetReadOptions, SQLOptions, SessionConfig, SessionContext,
};
use datafusion::sql::parser::Statement as DfStatement;
use datafusion::sql::sqlparser::ast::Statement;
use quarry_schema::SemanticModel;
use quarry_schema::model::Source;
use serde::Serialize;
use tokio::sync::Semaphore;

use crate::config::EngineConfig;
pub use values::{cell_to_json, format_cell, use_currency};

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(
        "no warehouse at {0}: run `quarry demo generate --out {0}` for the demo data, or set warehouse.path (QUARRY__WAREHOUSE__PATH) to a folder with one sub-folder of Parquet or CSV files per table"
    )]
    MissingWarehouse(PathBuf),
    #[error(
        "the warehouse folder {0} has no tables: each table is a sub-folder of .parquet or .csv files, or a .csv file"
    )]
    EmptyWarehouse(PathBuf),
    #[error(
        "the semantic model needs table \"{table}\", which the warehouse at {path} does not have (it has: {have})"
    )]
    MissingTable {
        table: String,
        path: PathBuf,
        have: String,
    },
    #[error("cannot read table {table}: {message}")]
    Register { table: String, message: String },
    #[error(
        "the query took longer than {0} s and was stopped; narrow the period or the breakdown, or raise engine.query_timeout_secs"
    )]
    Timeout(u64),
    #[error("{0}")]
    Query(String),
    #[error("the query needs more memory than engine.memory_limit_mb allows: {0}")]
    Memory(String),
    #[error("the warehouse has no data in {0}, so there is no as-of date")]
    NoAsOf(String),
}

fn query_error(e: datafusion::error::DataFusionError) -> EngineError {
    let msg = e.to_string();
    if msg.contains("Resources exhausted") {
        EngineError::Memory(msg)
    } else {
        EngineError::Query(msg)
    }
}

/// A query's result, as Arrow batches plus the column names.
#[derive(Debug, Clone)]
pub struct QueryResult {
    pub columns: Vec<String>,
    pub batches: Vec<RecordBatch>,
}

/// The JSON shape of a result: `{"sql", "columns", "rows"}`.
#[derive(Debug, Clone, Serialize)]
pub struct JsonResult {
    pub sql: String,
    pub columns: Vec<String>,
    pub rows: Vec<Vec<serde_json::Value>>,
}

impl QueryResult {
    pub fn num_rows(&self) -> usize {
        self.batches.iter().map(RecordBatch::num_rows).sum()
    }

    /// Rows of JSON values, in column order.
    pub fn rows_json(&self) -> Vec<Vec<serde_json::Value>> {
        let mut out = Vec::with_capacity(self.num_rows());
        for b in &self.batches {
            for r in 0..b.num_rows() {
                out.push(b.columns().iter().map(|c| cell_to_json(c, r)).collect());
            }
        }
        out
    }

    pub fn to_json(&self, sql: &str) -> JsonResult {
        JsonResult {
            sql: sql.to_string(),
            columns: self.columns.clone(),
            rows: self.rows_json(),
        }
    }
}

/// The data period of a warehouse, read through the model's `as_of` column.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct DataPeriod {
    pub first: NaiveDate,
    pub as_of: NaiveDate,
    /// False for a model with no dates (a snapshot): `first` and `as_of`
    /// are then the day it was read, and no period applies.
    pub dated: bool,
}

pub struct Engine {
    ctx: SessionContext,
    timeout: Duration,
    /// Admission: at most `engine.max_concurrent_queries` run at once.
    slots: Arc<Semaphore>,
    root: PathBuf,
    tables: Vec<String>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("root", &self.root)
            .field("tables", &self.tables)
            .finish()
    }
}

fn read_only() -> SQLOptions {
    SQLOptions::new()
        .with_allow_ddl(false)
        .with_allow_dml(false)
        .with_allow_statements(false)
}

impl Engine {
    /// Opens a warehouse: every sub-folder holding Parquet (or CSV) files is a
    /// table named after the folder; every `.csv` file at the top is a table
    /// named after the file.
    pub async fn open(root: &Path, cfg: &EngineConfig) -> Result<Self, EngineError> {
        if !root.is_dir() {
            return Err(EngineError::MissingWarehouse(root.to_path_buf()));
        }
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let partitions = if cfg.target_partitions == 0 {
            cores
        } else {
            cfg.target_partitions
        };
        let concurrent = if cfg.max_concurrent_queries == 0 {
            cores
        } else {
            cfg.max_concurrent_queries
        };
        let session = SessionConfig::new()
            .with_target_partitions(partitions)
            .with_information_schema(true);
        // A fair pool: each operator that can spill (the sorts under the
        // feature tables' window functions) gets its share and spills,
        // instead of the first one taking the whole pool and the next one
        // failing.
        let limit = (cfg.memory_limit_mb as usize).saturating_mul(1024 * 1024);
        let runtime = RuntimeEnvBuilder::new()
            .with_memory_pool(std::sync::Arc::new(
                datafusion::execution::memory_pool::FairSpillPool::new(limit),
            ))
            .build_arc()
            .map_err(query_error)?;
        let ctx = SessionContext::new_with_config_rt(session, runtime);
        let mut tables = Vec::new();
        let mut entries: Vec<PathBuf> = std::fs::read_dir(root)
            .map_err(|_| EngineError::MissingWarehouse(root.to_path_buf()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        entries.sort();
        for p in entries {
            let Some(name) = p.file_stem().and_then(|s| s.to_str()).map(str::to_string) else {
                continue;
            };
            if name.starts_with('.') {
                continue;
            }
            let reg = |e: datafusion::error::DataFusionError| EngineError::Register {
                table: name.clone(),
                message: e.to_string(),
            };
            let path = p.to_string_lossy().to_string();
            if p.is_dir() {
                match dominant_format(&p) {
                    Some("parquet") => ctx
                        .register_parquet(&name, &path, ParquetReadOptions::default())
                        .await
                        .map_err(reg)?,
                    Some("csv") => ctx
                        .register_csv(&name, &path, CsvReadOptions::new())
                        .await
                        .map_err(reg)?,
                    _ => continue,
                }
            } else if p.extension().and_then(|x| x.to_str()) == Some("csv") {
                ctx.register_csv(&name, &path, CsvReadOptions::new())
                    .await
                    .map_err(reg)?;
            } else {
                continue;
            }
            tables.push(name);
        }
        if tables.is_empty() {
            return Err(EngineError::EmptyWarehouse(root.to_path_buf()));
        }
        Ok(Self {
            ctx,
            timeout: Duration::from_secs(cfg.query_timeout_secs),
            slots: Arc::new(Semaphore::new(concurrent)),
            root: root.to_path_buf(),
            tables,
        })
    }

    /// Records tables registered after opening (views over the
    /// warehouse), so model checks see them.
    pub fn add_tables(&mut self, names: impl IntoIterator<Item = String>) {
        for n in names {
            if !self.tables.contains(&n) {
                self.tables.push(n);
            }
        }
    }

    pub fn tables(&self) -> &[String] {
        &self.tables
    }

    pub fn context(&self) -> &SessionContext {
        &self.ctx
    }

    /// Checks that every table the model reads exists.
    pub fn check_model(&self, model: &SemanticModel) -> Result<(), EngineError> {
        for e in model.entities.values() {
            if let Source::Table(t) = &e.source
                && !self.tables.contains(t)
            {
                return Err(EngineError::MissingTable {
                    table: t.clone(),
                    path: self.root.clone(),
                    have: self.tables.join(", "),
                });
            }
        }
        Ok(())
    }

    /// Runs one read-only SQL query.
    pub async fn sql(&self, sql: &str) -> Result<QueryResult, EngineError> {
        let run = async {
            let df = self
                .ctx
                .sql_with_options(sql, read_only())
                .await
                .map_err(query_error)?;
            let columns = df
                .schema()
                .fields()
                .iter()
                .map(|f| f.name().clone())
                .collect();
            let batches = df.collect().await.map_err(query_error)?;
            Ok(QueryResult { columns, batches })
        };
        self.with_timeout(run).await
    }

    /// Plans and runs a statement built by the compiler, without printing and
    /// re-parsing it.
    pub async fn run_statement(&self, stmt: &Statement) -> Result<QueryResult, EngineError> {
        let run = async {
            let state = self.ctx.state();
            let plan = state
                .statement_to_plan(DfStatement::Statement(Box::new(stmt.clone())))
                .await
                .map_err(query_error)?;
            read_only().verify_plan(&plan).map_err(query_error)?;
            let df = self
                .ctx
                .execute_logical_plan(plan)
                .await
                .map_err(query_error)?;
            let columns = df
                .schema()
                .fields()
                .iter()
                .map(|f| f.name().clone())
                .collect();
            let batches = df.collect().await.map_err(query_error)?;
            Ok(QueryResult { columns, batches })
        };
        self.with_timeout(run).await
    }

    async fn with_timeout<T>(
        &self,
        fut: impl std::future::Future<Output = Result<T, EngineError>>,
    ) -> Result<T, EngineError> {
        // Waiting for a slot is not running: the timeout starts after it.
        // The semaphore is never closed, so acquiring cannot fail.
        let _slot = self.slots.acquire().await.ok();
        // Dropping the future on timeout drops the streams, which stops the work.
        tokio::time::timeout(self.timeout, fut)
            .await
            .map_err(|_| EngineError::Timeout(self.timeout.as_secs()))?
    }

    /// The first and last day of data, from the model's `as_of` column.
    pub async fn data_period(&self, model: &SemanticModel) -> Result<DataPeriod, EngineError> {
        let Some(as_of) = &model.as_of else {
            let today = chrono::Utc::now().date_naive();
            return Ok(DataPeriod {
                first: today,
                as_of: today,
                dated: false,
            });
        };
        let entity = model
            .entities
            .get(&as_of.entity)
            .ok_or_else(|| EngineError::NoAsOf(as_of.entity.clone()))?;
        let table = match &entity.source {
            Source::Table(t) => t.clone(),
            Source::Sql(_) => as_of.entity.clone(),
        };
        let s = statements::min_max(&entity.source, &as_of.column);
        let r = self.run_statement(&s).await?;
        let rows = r.rows_json();
        let date = |v: Option<&serde_json::Value>| {
            v.and_then(|v| v.as_str())
                .and_then(|s| NaiveDate::parse_from_str(&s[..s.len().min(10)], "%Y-%m-%d").ok())
        };
        let row = rows.first();
        match (
            date(row.and_then(|r| r.first())),
            date(row.and_then(|r| r.get(1))),
        ) {
            (Some(first), Some(last)) => Ok(DataPeriod {
                first,
                as_of: last,
                dated: true,
            }),
            _ => Err(EngineError::NoAsOf(format!("{table}.{}", as_of.column))),
        }
    }
}

/// Statements the engine itself needs, built as AST like all others.
mod statements {
    use datafusion::sql::sqlparser::ast::{
        Expr, Ident, ObjectName, SetExpr, Statement, TableAlias, TableFactor,
    };
    use datafusion::sql::sqlparser::dialect::GenericDialect;
    use datafusion::sql::sqlparser::parser::Parser;
    use quarry_schema::model::Source;

    /// `SELECT min(col), max(col) FROM table`, with both names as
    /// identifiers; over `(query) AS t` for an entity defined by SQL.
    pub fn min_max(source: &Source, column: &str) -> Statement {
        let mut stmt = Parser::parse_sql(&GenericDialect {}, "SELECT min(c), max(c) FROM t")
            .ok()
            .and_then(|mut v| v.pop())
            .unwrap_or_else(|| unreachable!("fixed SQL parses"));
        let _ = datafusion::sql::sqlparser::ast::visit_expressions_mut(&mut stmt, |e| {
            if let Expr::Identifier(i) = e {
                *i = Ident::with_quote('"', column);
            }
            std::ops::ControlFlow::<()>::Continue(())
        });
        match source {
            Source::Table(table) => {
                let _ = datafusion::sql::sqlparser::ast::visit_relations_mut(&mut stmt, |r| {
                    *r = ObjectName::from(vec![Ident::with_quote('"', table)]);
                    std::ops::ControlFlow::<()>::Continue(())
                });
            }
            Source::Sql(query) => {
                if let Statement::Query(q) = &mut stmt
                    && let SetExpr::Select(select) = q.body.as_mut()
                    && let Some(from) = select.from.first_mut()
                {
                    from.relation = TableFactor::Derived {
                        lateral: false,
                        subquery: query.clone(),
                        alias: Some(TableAlias {
                            explicit: true,
                            name: Ident::new("t"),
                            columns: Vec::new(),
                            at: None,
                        }),
                        sample: None,
                    };
                }
            }
        }
        stmt
    }
}

/// "parquet" or "csv", whichever a folder's files are.
fn dominant_format(dir: &Path) -> Option<&'static str> {
    let mut parquet = 0;
    let mut csv = 0;
    for e in std::fs::read_dir(dir).ok()?.flatten() {
        match e.path().extension().and_then(|x| x.to_str()) {
            Some("parquet") => parquet += 1,
            Some("csv") => csv += 1,
            _ => {}
        }
    }
    if parquet > 0 {
        Some("parquet")
    } else if csv > 0 {
        Some("csv")
    } else {
        None
    }
}
