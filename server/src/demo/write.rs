//! Table schemas, Arrow batches and Parquet files, and the output directory
//! protocol (staging folder, manifest written last).

use std::fs::{self, File};
use std::io::{BufWriter, Write as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use datafusion::arrow::array::{
    ArrayRef, BooleanArray, Date32Array, Float64Array, Int32Array, Int64Array, StringBuilder,
    TimestampMicrosecondArray,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::basic::{Compression, ZstdLevel};
use datafusion::parquet::file::properties::WriterProperties;

use super::Ctx;
use super::DemoError;
use super::catalog::{AGE_GROUPS, COUNTRIES, FORMATS, NETWORKS, OBJECTIVES};
use super::facts::{DayFacts, EVENT_NAMES, Event, Install};
use super::manifest::{ColumnInfo, GENERATOR_NAME};
use super::spend::DayPlan;
use super::util::{date32, hex16};

// ---------------------------------------------------------------------------
// Schemas
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SqlType {
    BigInt,
    Varchar,
    Double,
    Date,
    Timestamp,
    Int,
    Boolean,
}

impl SqlType {
    pub fn sql(self) -> &'static str {
        match self {
            SqlType::BigInt => "BIGINT",
            SqlType::Varchar => "VARCHAR",
            SqlType::Double => "DOUBLE",
            SqlType::Date => "DATE",
            SqlType::Timestamp => "TIMESTAMP",
            SqlType::Int => "INT",
            SqlType::Boolean => "BOOLEAN",
        }
    }

    pub fn arrow(self) -> DataType {
        match self {
            SqlType::BigInt => DataType::Int64,
            SqlType::Varchar => DataType::Utf8,
            SqlType::Double => DataType::Float64,
            SqlType::Date => DataType::Date32,
            SqlType::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, None),
            SqlType::Int => DataType::Int32,
            SqlType::Boolean => DataType::Boolean,
        }
    }
}

pub(crate) struct Column {
    pub name: &'static str,
    pub ty: SqlType,
    pub nullable: bool,
}

const fn col(name: &'static str, ty: SqlType) -> Column {
    Column {
        name,
        ty,
        nullable: false,
    }
}

const fn nullable(name: &'static str, ty: SqlType) -> Column {
    Column {
        name,
        ty,
        nullable: true,
    }
}

pub(crate) struct TableSpec {
    pub name: &'static str,
    pub columns: &'static [Column],
}

impl TableSpec {
    pub fn schema(&self) -> SchemaRef {
        Arc::new(Schema::new(
            self.columns
                .iter()
                .map(|c| Field::new(c.name, c.ty.arrow(), c.nullable))
                .collect::<Vec<_>>(),
        ))
    }

    pub fn column_info(&self) -> Vec<ColumnInfo> {
        self.columns
            .iter()
            .map(|c| ColumnInfo {
                name: c.name.to_string(),
                sql_type: c.ty.sql().to_string(),
                nullable: c.nullable,
            })
            .collect()
    }
}

use SqlType::{BigInt, Boolean, Date, Double, Int, Timestamp, Varchar};

pub(crate) const CAMPAIGNS: TableSpec = TableSpec {
    name: "campaigns",
    columns: &[
        col("campaign_id", BigInt),
        col("campaign_name", Varchar),
        col("network", Varchar),
        col("platform", Varchar),
        col("country", Varchar),
        col("objective", Varchar),
        col("creative_format", Varchar),
        col("start_date", Date),
        nullable("end_date", Date),
        col("daily_budget", Double),
    ],
};

pub(crate) const PUBLISHERS: TableSpec = TableSpec {
    name: "publishers",
    columns: &[
        col("publisher_id", BigInt),
        col("publisher_name", Varchar),
        col("network", Varchar),
        col("parent_company", Varchar),
    ],
};

pub(crate) const AD_SPEND: TableSpec = TableSpec {
    name: "ad_spend",
    columns: &[
        col("date", Date),
        col("campaign_id", BigInt),
        col("publisher_id", BigInt),
        col("impressions", BigInt),
        col("clicks", BigInt),
        col("spend", Double),
    ],
};

pub(crate) const INSTALLS: TableSpec = TableSpec {
    name: "installs",
    columns: &[
        col("install_id", BigInt),
        col("user_id", BigInt),
        nullable("campaign_id", BigInt),
        nullable("publisher_id", BigInt),
        nullable("click_time", Timestamp),
        col("install_time", Timestamp),
        col("platform", Varchar),
        col("os_version", Varchar),
        col("device_model", Varchar),
        col("country", Varchar),
        col("ip_hash", Varchar),
        col("connection_type", Varchar),
        col("is_vpn", Boolean),
        col("device_age_days", Int),
        nullable("is_fraud", Boolean),
    ],
};

pub(crate) const EVENTS: TableSpec = TableSpec {
    name: "events",
    columns: &[
        col("event_id", BigInt),
        col("user_id", BigInt),
        col("event_time", Timestamp),
        col("event_name", Varchar),
        col("revenue", Double),
        nullable("session_seconds", Int),
    ],
};

pub(crate) const USERS: TableSpec = TableSpec {
    name: "users",
    columns: &[
        col("user_id", BigInt),
        col("install_id", BigInt),
        col("first_seen", Timestamp),
        col("platform", Varchar),
        col("country", Varchar),
        col("age_group", Varchar),
        col("acquisition", Varchar),
    ],
};

/// All tables, in manifest order.
pub(crate) const TABLES: [&TableSpec; 6] = [
    &CAMPAIGNS,
    &PUBLISHERS,
    &AD_SPEND,
    &INSTALLS,
    &EVENTS,
    &USERS,
];

// ---------------------------------------------------------------------------
// Batches
// ---------------------------------------------------------------------------

/// Rows per Arrow batch handed to the Parquet writer.
const BATCH_ROWS: usize = 65_536;
/// Rows per Parquet row group.
const ROW_GROUP_ROWS: usize = 262_144;

fn strings<'a>(values: impl Iterator<Item = &'a str>, len: usize) -> ArrayRef {
    let mut b = StringBuilder::with_capacity(len, len * 8);
    for v in values {
        b.append_value(v);
    }
    Arc::new(b.finish())
}

fn batch(spec: &TableSpec, columns: Vec<ArrayRef>) -> Result<RecordBatch, DemoError> {
    RecordBatch::try_new(spec.schema(), columns).map_err(|source| DemoError::Arrow {
        table: spec.name,
        source,
    })
}

pub(crate) fn campaigns_batch(ctx: &Ctx) -> Result<RecordBatch, DemoError> {
    let cs = &ctx.catalog.campaigns;
    let n = cs.len();
    batch(
        &CAMPAIGNS,
        vec![
            Arc::new(Int64Array::from_iter_values(cs.iter().map(|c| c.id))),
            strings(cs.iter().map(|c| c.name.as_str()), n),
            strings(cs.iter().map(|c| NETWORKS[c.network].name), n),
            strings(cs.iter().map(|c| c.platform.name()), n),
            strings(cs.iter().map(|c| COUNTRIES[c.country].code), n),
            strings(cs.iter().map(|c| OBJECTIVES[c.objective]), n),
            strings(cs.iter().map(|c| FORMATS[c.format]), n),
            Arc::new(Date32Array::from_iter_values(
                cs.iter().map(|c| date32(c.start)),
            )),
            Arc::new(Date32Array::from_iter(cs.iter().map(|c| c.end.map(date32)))),
            Arc::new(Float64Array::from_iter_values(
                cs.iter().map(|c| c.daily_budget),
            )),
        ],
    )
}

pub(crate) fn publishers_batch(ctx: &Ctx) -> Result<RecordBatch, DemoError> {
    let ps = &ctx.catalog.publishers;
    let n = ps.len();
    batch(
        &PUBLISHERS,
        vec![
            Arc::new(Int64Array::from_iter_values(ps.iter().map(|p| p.id))),
            strings(ps.iter().map(|p| p.name.as_str()), n),
            strings(ps.iter().map(|p| NETWORKS[p.network].name), n),
            strings(ps.iter().map(|p| p.parent.as_str()), n),
        ],
    )
}

pub(crate) fn ad_spend_batches(
    ctx: &Ctx,
    plans: &[DayPlan],
) -> Result<Vec<RecordBatch>, DemoError> {
    let rows: Vec<(i32, &super::spend::SpendRow)> = plans
        .iter()
        .enumerate()
        .flat_map(|(day, plan)| {
            let date = ctx.first_date32 + day as i32;
            plan.rows.iter().map(move |r| (date, r))
        })
        .collect();
    let cat = &ctx.catalog;
    rows.chunks(BATCH_ROWS)
        .map(|chunk| {
            batch(
                &AD_SPEND,
                vec![
                    Arc::new(Date32Array::from_iter_values(chunk.iter().map(|r| r.0))),
                    Arc::new(Int64Array::from_iter_values(
                        chunk
                            .iter()
                            .map(|r| cat.campaigns[r.1.campaign as usize].id),
                    )),
                    Arc::new(Int64Array::from_iter_values(
                        chunk
                            .iter()
                            .map(|r| cat.publishers[r.1.publisher as usize].id),
                    )),
                    Arc::new(Int64Array::from_iter_values(
                        chunk.iter().map(|r| r.1.impressions),
                    )),
                    Arc::new(Int64Array::from_iter_values(
                        chunk.iter().map(|r| r.1.clicks),
                    )),
                    Arc::new(Float64Array::from_iter_values(
                        chunk.iter().map(|r| r.1.spend),
                    )),
                ],
            )
        })
        .collect()
}

fn installs_batch(ctx: &Ctx, rows: &[&Install]) -> Result<RecordBatch, DemoError> {
    let cat = &ctx.catalog;
    let n = rows.len();
    let mut ip = StringBuilder::with_capacity(n, n * 16);
    let mut buf = [0u8; 16];
    for r in rows {
        ip.append_value(hex16(r.ip_hash, &mut buf));
    }
    batch(
        &INSTALLS,
        vec![
            Arc::new(Int64Array::from_iter_values(
                rows.iter().map(|r| r.install_id),
            )),
            Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.user_id))),
            Arc::new(Int64Array::from_iter(
                rows.iter()
                    .map(|r| r.campaign.map(|c| cat.campaigns[c as usize].id)),
            )),
            Arc::new(Int64Array::from_iter(
                rows.iter()
                    .map(|r| r.publisher.map(|p| cat.publishers[p as usize].id)),
            )),
            Arc::new(TimestampMicrosecondArray::from_iter(
                rows.iter().map(|r| r.click_time),
            )),
            Arc::new(TimestampMicrosecondArray::from_iter_values(
                rows.iter().map(|r| r.install_time),
            )),
            strings(rows.iter().map(|r| r.platform.name()), n),
            strings(rows.iter().map(|r| r.os_version_name()), n),
            strings(rows.iter().map(|r| r.device_model_name()), n),
            strings(
                rows.iter().map(|r| COUNTRIES[usize::from(r.country)].code),
                n,
            ),
            Arc::new(ip.finish()),
            strings(
                rows.iter()
                    .map(|r| if r.wifi { "wifi" } else { "cellular" }),
                n,
            ),
            Arc::new(BooleanArray::from_iter(rows.iter().map(|r| Some(r.is_vpn)))),
            Arc::new(Int32Array::from_iter_values(
                rows.iter().map(|r| r.device_age_days),
            )),
            Arc::new(BooleanArray::from_iter(rows.iter().map(|r| r.is_fraud))),
        ],
    )
}

fn users_batch(rows: &[&Install]) -> Result<RecordBatch, DemoError> {
    let n = rows.len();
    batch(
        &USERS,
        vec![
            Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.user_id))),
            Arc::new(Int64Array::from_iter_values(
                rows.iter().map(|r| r.install_id),
            )),
            Arc::new(TimestampMicrosecondArray::from_iter_values(
                rows.iter().map(|r| r.install_time),
            )),
            strings(rows.iter().map(|r| r.platform.name()), n),
            strings(
                rows.iter().map(|r| COUNTRIES[usize::from(r.country)].code),
                n,
            ),
            strings(rows.iter().map(|r| AGE_GROUPS[usize::from(r.age_group)]), n),
            strings(
                rows.iter().map(|r| {
                    if r.campaign.is_some() {
                        "paid"
                    } else {
                        "organic"
                    }
                }),
                n,
            ),
        ],
    )
}

fn events_batch(rows: &[&Event], first_id: i64) -> Result<RecordBatch, DemoError> {
    let n = rows.len();
    batch(
        &EVENTS,
        vec![
            Arc::new(Int64Array::from_iter_values(first_id..first_id + n as i64)),
            Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.user_id))),
            Arc::new(TimestampMicrosecondArray::from_iter_values(
                rows.iter().map(|r| r.time),
            )),
            strings(rows.iter().map(|r| EVENT_NAMES[usize::from(r.name)]), n),
            Arc::new(Float64Array::from_iter_values(
                rows.iter().map(|r| r.revenue),
            )),
            Arc::new(Int32Array::from_iter(
                rows.iter().map(|r| r.session_seconds),
            )),
        ],
    )
}

// ---------------------------------------------------------------------------
// Parquet files
// ---------------------------------------------------------------------------

pub(crate) fn part_name(part: usize) -> String {
    format!("part-{part:05}.parquet")
}

fn is_part_file(name: &str) -> bool {
    name.strip_prefix("part-")
        .and_then(|rest| rest.strip_suffix(".parquet"))
        .is_some_and(|digits| !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
}

fn writer_properties() -> Result<WriterProperties, DemoError> {
    let level = ZstdLevel::try_new(1).map_err(|source| DemoError::Parquet {
        path: PathBuf::new(),
        source,
    })?;
    Ok(WriterProperties::builder()
        .set_compression(Compression::ZSTD(level))
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
        .build())
}

/// Write `batches` to a new Parquet file at `path`; returns the row count.
pub(crate) fn write_parquet(
    path: &Path,
    spec: &TableSpec,
    batches: impl IntoIterator<Item = Result<RecordBatch, DemoError>>,
) -> Result<u64, DemoError> {
    let io_err = |source| DemoError::Io {
        path: path.to_path_buf(),
        source,
    };
    let pq_err = |source| DemoError::Parquet {
        path: path.to_path_buf(),
        source,
    };
    let file = File::create(path).map_err(io_err)?;
    let mut writer = ArrowWriter::try_new(
        BufWriter::with_capacity(1 << 20, file),
        spec.schema(),
        Some(writer_properties()?),
    )
    .map_err(pq_err)?;
    let mut rows = 0u64;
    for b in batches {
        let b = b?;
        rows += b.num_rows() as u64;
        writer.write(&b).map_err(pq_err)?;
    }
    let mut inner = writer.into_inner().map_err(pq_err)?;
    inner.flush().map_err(io_err)?;
    Ok(rows)
}

/// Which of a part's three cohort tables to write.
#[derive(Debug, Clone, Copy)]
pub(crate) enum CohortTable {
    Installs,
    Users,
    Events { first_id: i64 },
}

/// Write one part file of installs, users or events from a group of days.
pub(crate) fn write_cohort_part(
    ctx: &Ctx,
    path: &Path,
    days: &[DayFacts],
    table: CohortTable,
) -> Result<u64, DemoError> {
    match table {
        CohortTable::Installs | CohortTable::Users => {
            let rows: Vec<&Install> = days.iter().flat_map(|d| d.installs.iter()).collect();
            let spec = if matches!(table, CohortTable::Installs) {
                &INSTALLS
            } else {
                &USERS
            };
            write_parquet(
                path,
                spec,
                rows.chunks(BATCH_ROWS).map(|chunk| match table {
                    CohortTable::Installs => installs_batch(ctx, chunk),
                    _ => users_batch(chunk),
                }),
            )
        }
        CohortTable::Events { first_id } => {
            let rows: Vec<&Event> = days.iter().flat_map(|d| d.events.iter()).collect();
            write_parquet(
                path,
                &EVENTS,
                rows.chunks(BATCH_ROWS)
                    .enumerate()
                    .map(|(i, chunk)| events_batch(chunk, first_id + (i * BATCH_ROWS) as i64)),
            )
        }
    }
}

// ---------------------------------------------------------------------------
// Output directory
// ---------------------------------------------------------------------------

pub(crate) const MANIFEST_FILE: &str = "manifest.json";
/// Where a run writes before moving its tables into place.
pub(crate) const STAGING_DIR: &str = ".quarry-demo-staging";

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> DemoError + '_ {
    move |source| DemoError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn is_table_name(name: &str) -> bool {
    TABLES.iter().any(|t| t.name == name)
}

/// Check that `out` is safe to write into and create the staging folder.
/// Returns the staging folder.
pub(crate) fn prepare_out(out: &Path) -> Result<PathBuf, DemoError> {
    if out.exists() {
        if !out.is_dir() {
            return Err(DemoError::NotADirectory {
                path: out.to_path_buf(),
            });
        }
        check_existing(out)?;
    } else {
        fs::create_dir_all(out).map_err(io(out))?;
    }
    let staging = out.join(STAGING_DIR);
    if staging.exists() {
        // Left over from an interrupted run of ours.
        fs::remove_dir_all(&staging).map_err(io(&staging))?;
    }
    for t in TABLES {
        let dir = staging.join(t.name);
        fs::create_dir_all(&dir).map_err(io(&dir))?;
    }
    Ok(staging)
}

fn check_existing(out: &Path) -> Result<(), DemoError> {
    let manifest = out.join(MANIFEST_FILE);
    let has_manifest = manifest.is_file();
    if has_manifest {
        let text = fs::read_to_string(&manifest).map_err(io(&manifest))?;
        let ours = serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .and_then(|v| v.get("generator")?.as_str().map(str::to_owned))
            .is_some_and(|g| g.starts_with(GENERATOR_NAME));
        if !ours {
            return Err(DemoError::ForeignManifest { path: manifest });
        }
    }
    for entry in fs::read_dir(out).map_err(io(out))? {
        let entry = entry.map_err(io(out))?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let path = entry.path();
        if name == STAGING_DIR || name == MANIFEST_FILE {
            continue;
        }
        if is_table_name(&name) && path.is_dir() {
            check_table_dir(&path)?;
            continue;
        }
        if !has_manifest {
            return Err(DemoError::DirectoryNotEmpty {
                path: out.to_path_buf(),
            });
        }
        // With a manifest, unrelated files next to our tables are left alone.
    }
    Ok(())
}

/// A table folder we may replace must hold nothing but our part files.
fn check_table_dir(dir: &Path) -> Result<(), DemoError> {
    for entry in fs::read_dir(dir).map_err(io(dir))? {
        let entry = entry.map_err(io(dir))?;
        let name = entry.file_name();
        if !(is_part_file(&name.to_string_lossy()) && entry.path().is_file()) {
            return Err(DemoError::UnexpectedFile { path: entry.path() });
        }
    }
    Ok(())
}

/// Move the staged tables into `out` and write the manifest last, so a
/// directory without `manifest.json` is recognisably incomplete.
pub(crate) fn finish(out: &Path, staging: &Path, manifest_json: &str) -> Result<(), DemoError> {
    let manifest = out.join(MANIFEST_FILE);
    if manifest.exists() {
        fs::remove_file(&manifest).map_err(io(&manifest))?;
    }
    for t in TABLES {
        let target = out.join(t.name);
        if target.exists() {
            check_table_dir(&target)?;
            for entry in fs::read_dir(&target).map_err(io(&target))? {
                let path = entry.map_err(io(&target))?.path();
                fs::remove_file(&path).map_err(io(&path))?;
            }
            fs::remove_dir(&target).map_err(io(&target))?;
        }
        let staged = staging.join(t.name);
        fs::rename(&staged, &target).map_err(io(&staged))?;
    }
    let staged_manifest = staging.join(MANIFEST_FILE);
    let mut f = File::create(&staged_manifest).map_err(io(&staged_manifest))?;
    f.write_all(manifest_json.as_bytes())
        .and_then(|()| f.write_all(b"\n"))
        .and_then(|()| f.sync_all())
        .map_err(io(&staged_manifest))?;
    drop(f);
    fs::rename(&staged_manifest, &manifest).map_err(io(&manifest))?;
    fs::remove_dir_all(staging).map_err(io(staging))?;
    Ok(())
}
