//! Puts the ML folder into a query engine: registers the scoring UDFs,
//! computes the feature tables at the as-of date (stored as Parquet in the
//! data directory and recomputed only when the warehouse or their SQL
//! changes), and registers the views that score them.
//!
//! SQL in the ML folder is a minijinja template. Feature tables see
//! `cutoffs` (a query with one TIMESTAMP column `cutoff`) and `sample`;
//! training queries and views can call `features(name, days=[..],
//! sample=n)`, `cutoffs([days..])` and `args(spec)`, and read `as_of`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::NaiveDate;
use datafusion::config::TableParquetOptions;
use datafusion::dataframe::DataFrameWriteOptions;
use datafusion::error::DataFusionError;
use datafusion::execution::SessionStateBuilder;
use datafusion::prelude::{ParquetReadOptions, SessionContext};
use minijinja::value::Kwargs;
use minijinja::{Environment, Error as JinjaError, ErrorKind};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::registry::Registry;
use super::spec::MlFolder;

#[derive(Debug, thiserror::Error)]
pub enum FeatureError {
    #[error("{what}: the SQL template does not render: {message}")]
    Template { what: String, message: String },
    #[error("feature table {name}: {message}")]
    Compute { name: String, message: String },
    #[error("view {name}: {message}")]
    View { name: String, message: String },
    #[error("cannot write {path}: {message}")]
    Io { path: PathBuf, message: String },
}

/// Renders the ML folder's templates at one as-of date.
#[derive(Clone)]
pub struct Templates {
    env: Arc<Environment<'static>>,
}

impl std::fmt::Debug for Templates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Templates")
    }
}

/// `SELECT CAST('…' AS TIMESTAMP) AS cutoff UNION ALL …`: the ends of the
/// days `days` before the as-of date (0 is the end of the as-of day).
pub fn cutoffs_sql(as_of: NaiveDate, days: &[i64]) -> String {
    let end = as_of + chrono::Days::new(1);
    let mut parts = Vec::new();
    for d in days {
        let day = end - chrono::Duration::days(*d);
        parts.push(format!(
            "SELECT CAST('{} 00:00:00' AS TIMESTAMP) AS cutoff",
            day.format("%Y-%m-%d")
        ));
    }
    if parts.is_empty() {
        parts.push("SELECT CAST(NULL AS TIMESTAMP) AS cutoff WHERE false".into());
    }
    parts.join(" UNION ALL ")
}

fn template_error(e: impl std::fmt::Display) -> JinjaError {
    JinjaError::new(ErrorKind::InvalidOperation, e.to_string())
}

impl Templates {
    pub fn new(folder: &MlFolder, as_of: NaiveDate) -> Self {
        let mut env = Environment::new();
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
        env.add_global("as_of", format!("DATE '{}'", as_of.format("%Y-%m-%d")));
        env.add_function("cutoffs", move |days: Vec<i64>| cutoffs_sql(as_of, &days));
        let tables: Vec<(String, String)> = folder
            .features
            .features
            .iter()
            .map(|t| (t.name.clone(), t.sql.clone()))
            .collect();
        env.add_function(
            "features",
            move |name: String, kwargs: Kwargs| -> Result<String, JinjaError> {
                let days: Option<Vec<i64>> = kwargs.get("days")?;
                let sample: Option<i64> = kwargs.get("sample")?;
                kwargs.assert_all_used()?;
                let Some((_, sql)) = tables.iter().find(|(n, _)| *n == name) else {
                    return Err(template_error(format!(
                        "no feature table named \"{name}\" (have: {})",
                        tables
                            .iter()
                            .map(|(n, _)| n.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )));
                };
                render_feature(sql, as_of, &days.unwrap_or_else(|| vec![0]), sample)
                    .map_err(template_error)
            },
        );
        let args: Vec<(String, Vec<String>)> = folder
            .specs
            .values()
            .map(|(_, s)| {
                (
                    s.name.clone(),
                    s.features.iter().map(|f| f.name.clone()).collect(),
                )
            })
            .collect();
        env.add_function("args", move |name: String| -> Result<String, JinjaError> {
            args.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, f)| {
                    f.iter()
                        .map(|c| format!("\"{}\"", c.replace('"', "\"\"")))
                        .collect::<Vec<_>>()
                        .join(", ")
                })
                .ok_or_else(|| {
                    template_error(format!("args(\"{name}\"): no training spec has that name"))
                })
        });
        Self { env: Arc::new(env) }
    }

    /// Renders a training query or a view.
    pub fn render(&self, what: &str, sql: &str) -> Result<String, FeatureError> {
        self.env
            .render_str(sql, minijinja::context! {})
            .map_err(|e| FeatureError::Template {
                what: what.to_string(),
                message: e.to_string(),
            })
    }
}

/// A feature table's SQL with its cutoffs.
fn render_feature(
    sql: &str,
    as_of: NaiveDate,
    days: &[i64],
    sample: Option<i64>,
) -> Result<String, JinjaError> {
    let mut env = Environment::new();
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    env.render_str(
        sql,
        minijinja::context! {
            cutoffs => cutoffs_sql(as_of, days),
            sample => sample.filter(|s| *s > 1),
            as_of => format!("DATE '{}'", as_of.format("%Y-%m-%d")),
        },
    )
}

#[derive(Debug, Serialize, Deserialize, PartialEq)]
struct Stamp {
    data_version: String,
    sql_sha256: String,
}

/// What `install` did.
#[derive(Debug, Default)]
pub struct InstallReport {
    /// Feature tables computed now (the others were up to date).
    pub computed: Vec<String>,
    /// Every feature table, registered whether computed now or before.
    pub tables: Vec<String>,
    pub views: Vec<String>,
}

/// Registers UDFs, feature tables and views. `data_version` identifies the
/// warehouse's files; a stored table with another version is recomputed.
pub async fn install(
    ctx: &SessionContext,
    folder: &MlFolder,
    registry: &Registry,
    store: &Path,
    as_of: NaiveDate,
    data_version: &str,
    notice: &(dyn Fn(&str) + Sync),
) -> Result<InstallReport, FeatureError> {
    crate::udf::register_all(ctx, registry);
    let mut report = InstallReport::default();
    for table in &folder.features.features {
        let sql =
            render_feature(&table.sql, as_of, &[0], None).map_err(|e| FeatureError::Template {
                what: format!("feature table {}", table.name),
                message: e.to_string(),
            })?;
        let dir = store.join(&table.name);
        let stamp_path = store.join(format!("{}.stamp.json", table.name));
        let stamp = Stamp {
            data_version: data_version.to_string(),
            sql_sha256: Sha256::digest(sql.as_bytes())
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect(),
        };
        let current = std::fs::read(&stamp_path)
            .ok()
            .and_then(|b| serde_json::from_slice::<Stamp>(&b).ok());
        if current.as_ref() != Some(&stamp) || !dir.is_dir() {
            notice(&format!(
                "computing the feature table {} (once per warehouse change)",
                table.name
            ));
            compute(ctx, &table.name, &sql, &dir).await?;
            let bytes = serde_json::to_vec(&stamp).unwrap_or_default();
            std::fs::write(&stamp_path, bytes).map_err(|e| FeatureError::Io {
                path: stamp_path.clone(),
                message: e.to_string(),
            })?;
            report.computed.push(table.name.clone());
        }
        ctx.register_parquet(
            &table.name,
            dir.to_string_lossy().as_ref(),
            ParquetReadOptions::default(),
        )
        .await
        .map_err(|e| FeatureError::Compute {
            name: table.name.clone(),
            message: e.to_string(),
        })?;
        report.tables.push(table.name.clone());
    }
    let templates = Templates::new(folder, as_of);
    for view in &folder.features.views {
        let sql = templates.render(&format!("view {}", view.name), &view.sql)?;
        let err = |e: datafusion::error::DataFusionError| FeatureError::View {
            name: view.name.clone(),
            message: e.to_string(),
        };
        let df = ctx.sql(&sql).await.map_err(err)?;
        let plan = df.into_view();
        ctx.deregister_table(view.name.as_str()).map_err(err)?;
        ctx.register_table(view.name.as_str(), plan).map_err(err)?;
        report.views.push(view.name.clone());
    }
    Ok(report)
}

/// Replaces every view by one scored whole and held in memory until a
/// model is promoted (see `scored`), and scores them now; returns the views
/// held (a view whose model is not trained yet is left as it is). For long-running
/// processes: a single question scores only the rows it reads, faster than
/// scoring everything.
pub async fn hold_views(
    ctx: &SessionContext,
    folder: &MlFolder,
    registry: &Registry,
    as_of: NaiveDate,
) -> Result<Vec<String>, FeatureError> {
    let templates = Templates::new(folder, as_of);
    let mut held = Vec::new();
    for view in &folder.features.views {
        let sql = templates.render(&format!("view {}", view.name), &view.sql)?;
        let err = |e: datafusion::error::DataFusionError| FeatureError::View {
            name: view.name.clone(),
            message: e.to_string(),
        };
        let plan = ctx.sql(&sql).await.map_err(err)?.logical_plan().clone();
        let scored = std::sync::Arc::new(
            super::scored::ScoredView::new(&view.name, plan, registry.clone()).map_err(err)?,
        );
        // A view whose model is not trained yet stays as it is; its
        // questions say what to train.
        if let Err(e) = scored.table(&ctx.state()).await {
            tracing::warn!(view = %view.name, "not held: {e}");
            continue;
        }
        ctx.deregister_table(view.name.as_str()).map_err(err)?;
        ctx.register_table(view.name.as_str(), scored)
            .map_err(err)?;
        held.push(view.name.clone());
    }
    Ok(held)
}

/// Runs `sql` and writes its result as Parquet files under `out`.
async fn write_table(ctx: &SessionContext, sql: &str, out: &str) -> Result<(), DataFusionError> {
    let df = ctx.sql(sql).await?;
    // Row groups small enough that a table sorted by time (`ORDER BY day`)
    // lets a question about a few days skip most of it by the groups'
    // min/max statistics.
    let mut options = TableParquetOptions::default();
    options.global.max_row_group_size = FEATURE_ROW_GROUP_ROWS;
    df.write_parquet(out, DataFrameWriteOptions::new(), Some(options))
        .await?;
    Ok(())
}

/// Rows per Parquet row group of a feature table.
const FEATURE_ROW_GROUP_ROWS: usize = 64 * 1024;

async fn compute(
    ctx: &SessionContext,
    name: &str,
    sql: &str,
    dir: &Path,
) -> Result<(), FeatureError> {
    let err = |e: datafusion::error::DataFusionError| FeatureError::Compute {
        name: name.to_string(),
        message: e.to_string(),
    };
    let parent = dir.parent().unwrap_or(dir);
    std::fs::create_dir_all(parent).map_err(|e| FeatureError::Io {
        path: parent.to_path_buf(),
        message: e.to_string(),
    })?;
    // Write beside the table, then swap, so a reader never sees half a table.
    let tmp = parent.join(format!(".{name}.{}.partial", std::process::id()));
    let empty_tmp = || {
        let _ = std::fs::remove_dir_all(&tmp);
        std::fs::create_dir_all(&tmp).map_err(|e| FeatureError::Io {
            path: tmp.clone(),
            message: e.to_string(),
        })
    };
    empty_tmp()?;
    let out = format!("{}/", tmp.to_string_lossy());
    if let Err(e) = write_table(ctx, sql, &out).await {
        // Every partition's sorts and hash tables share the memory pool;
        // one partition at a time gives each the whole of it.
        if !matches!(e.find_root(), DataFusionError::ResourcesExhausted(_)) {
            return Err(err(e));
        }
        tracing::warn!(
            table = name,
            "out of memory on every core, computing on one: {e}"
        );
        empty_tmp()?;
        write_table(&one_partition(ctx), sql, &out)
            .await
            .map_err(err)?;
    }
    let old = parent.join(format!(".{name}.{}.old", std::process::id()));
    if dir.exists() {
        std::fs::rename(dir, &old).map_err(|e| FeatureError::Io {
            path: dir.to_path_buf(),
            message: e.to_string(),
        })?;
    }
    std::fs::rename(&tmp, dir).map_err(|e| FeatureError::Io {
        path: dir.to_path_buf(),
        message: e.to_string(),
    })?;
    let _ = std::fs::remove_dir_all(&old);
    Ok(())
}

/// `ctx` computing on one partition, with the same tables. Its config must
/// not ask for a default catalog: building one would replace the catalog
/// that holds the warehouse's tables ("table not found").
fn one_partition(ctx: &SessionContext) -> SessionContext {
    let config = ctx
        .copied_config()
        .with_target_partitions(1)
        .with_create_default_catalog_and_schema(false);
    let state = SessionStateBuilder::new_from_existing(ctx.state())
        .with_config(config)
        .build();
    SessionContext::new_with_state(state)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    #[tokio::test]
    async fn the_one_partition_fallback_sees_the_tables() {
        let ctx = super::SessionContext::new();
        ctx.sql("CREATE TABLE events AS VALUES (1), (2)")
            .await
            .unwrap()
            .collect()
            .await
            .unwrap();
        let one = super::one_partition(&ctx);
        let rows = one
            .sql("SELECT count(*) FROM events")
            .await
            .unwrap()
            .collect()
            .await
            .unwrap();
        assert_eq!(rows[0].num_rows(), 1);
        assert_eq!(one.copied_config().target_partitions(), 1);
    }
    use super::*;

    #[test]
    fn cutoffs_are_ends_of_days_before_the_as_of_date() {
        let d = NaiveDate::from_ymd_opt(2024, 3, 1).unwrap();
        assert_eq!(
            cutoffs_sql(d, &[0, 30]),
            "SELECT CAST('2024-03-02 00:00:00' AS TIMESTAMP) AS cutoff UNION ALL SELECT CAST('2024-02-01 00:00:00' AS TIMESTAMP) AS cutoff"
        );
    }

    #[test]
    fn templates_expand_features_args_and_report_mistakes() {
        let ml = MlFolder::demo().unwrap();
        let t = Templates::new(&ml, NaiveDate::from_ymd_opt(2024, 3, 1).unwrap());
        let sql = t
            .render(
                "q",
                "{{ features(\"user_features\", days=[30], sample=3) }}",
            )
            .unwrap();
        assert!(
            sql.contains("CAST('2024-02-01 00:00:00' AS TIMESTAMP)"),
            "{sql}"
        );
        assert!(sql.contains("e.user_id % 3 = 0"), "{sql}");
        let args = t.render("q", "{{ args(\"churn\") }}").unwrap();
        assert!(
            args.starts_with("\"tenure_days\", \"days_since_last_session\""),
            "{args}"
        );
        let e = t.render("q", "{{ features(\"nope\") }}").unwrap_err();
        assert!(
            e.to_string().contains("no feature table named \"nope\""),
            "{e}"
        );
        let e = t.render("q", "{{ args(\"nope\") }}").unwrap_err();
        assert!(e.to_string().contains("no training spec"), "{e}");
        let e = t.render("q", "{{ undefined_thing }}").unwrap_err();
        assert!(e.to_string().contains("undefined"), "{e}");
    }
}
