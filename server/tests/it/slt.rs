//! Runs the `.slt` files in `tests/slt/` with sqllogictest over a generated
//! warehouse. A record's SQL is either plain SQL, run by the engine as is, or
//! `PLAN <json>`, a SemanticQuery compiled by the semantic layer and run.
//! Floats print with 4 decimals; dates as YYYY-MM-DD.
//!
//! To rewrite expected results after a deliberate change to the generator:
//! `QUARRY_SLT_COMPLETE=1 cargo nextest run -E 'test(slt)'`, then review the
//! diff: every semantic result must still equal its hand-written twin.

use std::path::PathBuf;

use quarry::engine::QueryResult;
use quarry::semantic::Workspace;
use quarry_schema::SemanticQuery;
use sqllogictest::{DBOutput, DefaultColumnType};

use super::support;

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct SltError(String);

struct QuarryDb {
    ws: std::sync::Arc<Workspace>,
}

fn render(r: &QueryResult) -> DBOutput<DefaultColumnType> {
    let rows: Vec<Vec<String>> = r
        .rows_json()
        .into_iter()
        .map(|row| {
            row.into_iter()
                .map(|v| match v {
                    serde_json::Value::Null => "NULL".to_string(),
                    serde_json::Value::Number(n) if n.is_f64() => {
                        let s = format!("{:.4}", n.as_f64().unwrap_or(0.0));
                        if s == "-0.0000" {
                            "0.0000".to_string()
                        } else {
                            s
                        }
                    }
                    serde_json::Value::String(s) => {
                        // Timestamps at midnight print as their date.
                        s.strip_suffix("T00:00:00").map(str::to_string).unwrap_or(s)
                    }
                    other => other.to_string(),
                })
                .collect()
        })
        .collect();
    let types = vec![DefaultColumnType::Any; r.columns.len()];
    DBOutput::Rows { types, rows }
}

#[async_trait::async_trait]
impl sqllogictest::AsyncDB for QuarryDb {
    type Error = SltError;
    type ColumnType = DefaultColumnType;

    async fn run(&mut self, sql: &str) -> Result<DBOutput<DefaultColumnType>, SltError> {
        let sql = sql.trim();
        let result = if let Some(plan) = sql.strip_prefix("PLAN") {
            let q: SemanticQuery =
                serde_json::from_str(plan).map_err(|e| SltError(format!("bad plan: {e}")))?;
            self.ws
                .answer(&q)
                .await
                .map_err(|e| SltError(e.to_string()))?
                .result
        } else {
            self.ws
                .engine
                .sql(sql)
                .await
                .map_err(|e| SltError(e.to_string()))?
        };
        Ok(render(&result))
    }

    async fn shutdown(&mut self) {}

    fn engine_name(&self) -> &str {
        "quarry"
    }

    async fn sleep(dur: std::time::Duration) {
        tokio::time::sleep(dur).await;
    }
}

fn slt_files() -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/slt");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/slt exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "slt"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no .slt files in {}", dir.display());
    files
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slt() {
    let wh = support::warehouse();
    let ws = std::sync::Arc::new(wh.workspace().await);
    let complete = std::env::var_os("QUARRY_SLT_COMPLETE").is_some();
    let mut failures = Vec::new();
    for file in slt_files() {
        let ws2 = ws.clone();
        let mut runner = sqllogictest::Runner::new(move || {
            let ws = ws2.clone();
            async move { Ok::<_, SltError>(QuarryDb { ws }) }
        });
        if complete {
            runner
                .update_test_file(
                    &file,
                    " ",
                    sqllogictest::default_validator,
                    sqllogictest::default_normalizer,
                    sqllogictest::default_column_validator,
                )
                .await
                .unwrap_or_else(|e| panic!("cannot complete {}: {e}", file.display()));
        } else if let Err(e) = runner.run_file_async(&file).await {
            failures.push(format!("{}: {}", file.display(), e.display(true)));
        }
    }
    assert!(
        failures.is_empty(),
        "sqllogictest failures:\n{}",
        failures.join("\n\n")
    );
}
