//! `manifest.json`: what was generated, with which parameters, and which
//! anomalies were planted on purpose.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// Prefix of [`Manifest::generator`]; a `manifest.json` whose generator does
/// not start with it was not written by us.
pub const GENERATOR_NAME: &str = "quarry-demo";

/// Bump when the generated data changes for the same seed and scale.
pub const DATA_VERSION: u32 = 1;

pub fn generator_version() -> String {
    format!(
        "{GENERATOR_NAME} {} (data v{DATA_VERSION})",
        env!("CARGO_PKG_VERSION")
    )
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// e.g. `quarry-demo 0.1.0 (data v1)`.
    pub generator: String,
    pub seed: u64,
    pub scale: f64,
    pub days: u32,
    /// First day with data.
    pub first_date: NaiveDate,
    /// Last day with data (= the requested end date = max(ad_spend.date)).
    pub as_of_date: NaiveDate,
    /// Rows per table, keyed by table name.
    pub row_counts: BTreeMap<String, u64>,
    pub tables: Vec<TableInfo>,
    pub planted_events: Vec<PlantedEvent>,
    pub summary: Summary,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableInfo {
    pub name: String,
    /// Folder relative to the output directory.
    pub path: String,
    /// Part files relative to the output directory, in order.
    pub files: Vec<String>,
    pub rows: u64,
    pub columns: Vec<ColumnInfo>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ColumnInfo {
    pub name: String,
    /// SQL type word: BIGINT, VARCHAR, DOUBLE, DATE, TIMESTAMP, INT, BOOLEAN.
    #[serde(rename = "type")]
    pub sql_type: String,
    pub nullable: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlantedKind {
    Spike,
    Drop,
    FraudBurst,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MagnitudeUnit {
    /// The metric is multiplied by `magnitude` against its usual level.
    Multiplier,
    /// The metric (a rate) rises to about `magnitude`.
    Share,
}

/// An anomaly planted on purpose, for a digest or an analyst to find.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlantedEvent {
    pub kind: PlantedKind,
    pub description: String,
    /// `installs`, `revenue`, `fraud_rate` or `spend`.
    pub metric: String,
    /// Column name to value, e.g. {"network": "TikTok", "country": "BR"}.
    pub dimensions: BTreeMap<String, String>,
    /// Inclusive.
    pub start_date: NaiveDate,
    /// Inclusive.
    pub end_date: NaiveDate,
    pub magnitude: f64,
    pub magnitude_unit: MagnitudeUnit,
}

/// Headline numbers of the generated data (handy for sanity checks).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub paid_installs: u64,
    pub organic_installs: u64,
    /// Ground truth, including installs that were never reviewed.
    pub fraud_installs: u64,
    /// Installs with a non-NULL `is_fraud`.
    pub reviewed_installs: u64,
    pub total_spend: f64,
    pub total_revenue: f64,
    pub campaigns: u64,
    pub publishers: u64,
}
