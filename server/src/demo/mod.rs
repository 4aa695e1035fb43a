//! Demo warehouse generator: a synthetic mobile-game marketing warehouse
//! (campaigns, publishers, ad spend, installs, in-app events and users)
//! written as Parquet, one folder per table, plus `manifest.json`.
//!
//! The output is a pure function of (seed, scale, end date, days): every chunk
//! of work (a day of spend, a day's install cohort and its later events) draws
//! from its own ChaCha8 stream seeded from (seed, table, chunk index), sums are
//! taken sequentially, and part files are written in chunk order, so the
//! bytes do not depend on the number of threads.
//!
//! What the data contains (and what an analyst should be able to find):
//! weekly seasonality, networks and countries that differ in cost and user
//! quality, ~30% organic installs, heavy-tailed spenders, users whose
//! engagement fades before they churn, campaigns starting and stopping, a
//! few fraudulent publishers (click injection, install farms, VPN bots), and
//! the anomalies listed in [`Manifest::planted_events`].

mod catalog;
mod facts;
mod manifest;
mod planted;
mod spend;
mod util;
mod write;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::PathBuf;

use chrono::{Datelike, Days, NaiveDate};
use datafusion::arrow::error::ArrowError;
use datafusion::parquet::errors::ParquetError;
use indicatif::ProgressBar;
use rayon::prelude::*;

pub use manifest::{
    ColumnInfo, DATA_VERSION, GENERATOR_NAME, MagnitudeUnit, Manifest, PlantedEvent, PlantedKind,
    Summary, TableInfo,
};

use catalog::{
    ANDROID_VERSIONS, COUNTRIES, Catalog, IOS_DEVICES, IOS_VERSIONS, LOCAL_HOUR_PROFILE,
};
use facts::DayFacts;
use planted::Planted;
use util::{MICROS_PER_DAY, Stream, date32, day_start_micros, rng_for, round2};
use write::{CohortTable, TABLES};

/// Largest accepted `scale` (100 ≈ 100 million installs).
pub const MAX_SCALE: f64 = 100.0;
/// Largest accepted `days`.
pub const MAX_DAYS: u32 = 3_660;

/// Parameters of one generator run.
#[derive(Debug, Clone)]
pub struct GenerateOptions {
    /// Volume: 1 ≈ 1,000,000 installs and 10,000,000 events over 180 days
    /// (volume per day stays the same for other `days`).
    pub scale: f64,
    pub seed: u64,
    /// Output directory (created if missing).
    pub out: PathBuf,
    /// Last day with data (the as-of date).
    pub end_date: NaiveDate,
    /// Number of whole days of data, ending on `end_date`.
    pub days: u32,
}

impl GenerateOptions {
    pub const DEFAULT_END: &str = "2026-11-18";
    pub const DEFAULT_DAYS: u32 = 180;

    /// [`Self::DEFAULT_END`] as a date.
    pub fn default_end_date() -> NaiveDate {
        NaiveDate::parse_from_str(Self::DEFAULT_END, "%Y-%m-%d")
            .expect("DEFAULT_END is a valid date")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error(
        "invalid scale {scale}: use a number greater than 0 and at most {MAX_SCALE} \
         (1 ≈ 1,000,000 installs and 10,000,000 events; 0.01 makes a quick demo)"
    )]
    InvalidScale { scale: f64 },
    #[error("invalid number of days {days}: use a whole number from 1 to {MAX_DAYS}")]
    InvalidDays { days: u32 },
    #[error(
        "end date {end_date} with {days} days falls outside the supported calendar; \
         choose an end date between the years 1900 and 9000"
    )]
    DateOutOfRange { end_date: NaiveDate, days: u32 },
    #[error("output path {} exists and is not a directory; choose a directory path", path.display())]
    NotADirectory { path: PathBuf },
    #[error(
        "output directory {} is not empty and has no manifest.json from an earlier demo run; \
         choose a new or empty directory (the generator never deletes files it did not write)",
        path.display()
    )]
    DirectoryNotEmpty { path: PathBuf },
    #[error(
        "{} was not written by the demo generator, so its directory is left alone; \
         choose a new or empty output directory",
        path.display()
    )]
    ForeignManifest { path: PathBuf },
    #[error(
        "unexpected file {} inside a demo table folder; move it elsewhere or choose a new \
         output directory (the generator never deletes files it did not write)",
        path.display()
    )]
    UnexpectedFile { path: PathBuf },
    #[error(
        "I/O error on {}: {source}; check that the output directory is writable and the \
         disk is not full",
        path.display()
    )]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("could not build the {table} table: {source} (this is a bug in the generator)")]
    Arrow {
        table: &'static str,
        #[source]
        source: ArrowError,
    },
    #[error(
        "could not write Parquet file {}: {source}; check free disk space and permissions",
        path.display()
    )]
    Parquet {
        path: PathBuf,
        #[source]
        source: ParquetError,
    },
    #[error("could not serialise manifest.json: {0} (this is a bug in the generator)")]
    Manifest(#[from] serde_json::Error),
}

/// Everything the workers need, read-only.
pub(crate) struct Ctx {
    pub seed: u64,
    pub scale: f64,
    pub days: u32,
    pub first_date32: i32,
    /// Midnight starting the first day, in microseconds since the epoch.
    pub first_micros: i64,
    /// Midnight after the last day (exclusive bound for all timestamps).
    pub end_bound: i64,
    /// Weekday of the first day, 0 = Monday.
    pub first_weekday: i64,
    pub catalog: Catalog,
    pub planted: Planted,
    /// Per country: weights of the 24 UTC hours.
    pub hour_weights: Vec<Vec<f64>>,
    pub organic_country_weights: Vec<f64>,
    pub ios_version_weights: Vec<f64>,
    pub android_version_weights: Vec<f64>,
    pub ios_device_weights: Vec<f64>,
    pub android_device_weights: Vec<Vec<f64>>,
}

impl Ctx {
    fn new(opts: &GenerateOptions, first: NaiveDate) -> Self {
        let mut rng = rng_for(opts.seed, Stream::Catalog, 0);
        let catalog = catalog::build(&mut rng, first, opts.days);
        let planted = Planted::new(opts.days, &catalog);
        let first_micros = day_start_micros(first);
        Ctx {
            seed: opts.seed,
            scale: opts.scale,
            days: opts.days,
            first_date32: date32(first),
            first_micros,
            end_bound: first_micros + i64::from(opts.days) * MICROS_PER_DAY,
            first_weekday: i64::from(first.weekday().num_days_from_monday()),
            catalog,
            planted,
            hour_weights: COUNTRIES
                .iter()
                .map(|c| {
                    (0..24)
                        .map(|h: i64| {
                            LOCAL_HOUR_PROFILE[(h + c.utc_offset).rem_euclid(24) as usize]
                        })
                        .collect()
                })
                .collect(),
            organic_country_weights: COUNTRIES.iter().map(|c| c.organic_weight).collect(),
            ios_version_weights: IOS_VERSIONS.iter().map(|v| v.1).collect(),
            android_version_weights: ANDROID_VERSIONS.iter().map(|v| v.1).collect(),
            ios_device_weights: IOS_DEVICES.iter().map(|v| v.1).collect(),
            android_device_weights: (0..COUNTRIES.len())
                .map(catalog::android_device_weights)
                .collect(),
        }
    }

    /// Weekday (0 = Monday) of day index `day`.
    pub fn weekday(&self, day: i64) -> usize {
        (self.first_weekday + day).rem_euclid(7) as usize
    }
}

fn validate(opts: &GenerateOptions) -> Result<NaiveDate, DemoError> {
    if !(opts.scale.is_finite() && opts.scale > 0.0 && opts.scale <= MAX_SCALE) {
        return Err(DemoError::InvalidScale { scale: opts.scale });
    }
    if opts.days == 0 || opts.days > MAX_DAYS {
        return Err(DemoError::InvalidDays { days: opts.days });
    }
    let out_of_range = || DemoError::DateOutOfRange {
        end_date: opts.end_date,
        days: opts.days,
    };
    let first = opts
        .end_date
        .checked_sub_days(Days::new(u64::from(opts.days - 1)))
        .ok_or_else(out_of_range)?;
    // Campaigns may have started up to ~1.5 years before the window.
    let earliest = NaiveDate::from_ymd_opt(1900, 1, 1).ok_or_else(out_of_range)?;
    let latest = NaiveDate::from_ymd_opt(9000, 12, 31).ok_or_else(out_of_range)?;
    if first < earliest || opts.end_date > latest {
        return Err(out_of_range());
    }
    Ok(first)
}

/// Days of install cohorts per part file: about ten days at scale 1, one
/// file for small scales, smaller groups for large ones (bounds memory).
fn days_per_part(scale: f64, days: u32) -> i64 {
    ((10.0 / scale).round() as i64).clamp(1, i64::from(days))
}

/// Generate the demo warehouse into `opts.out` and return its manifest
/// (also written as `<out>/manifest.json`, last).
///
/// Progress: the bar's length is `days + 3` units (planning, dimension and
/// spend tables, one per install day, finishing).
pub fn generate(opts: &GenerateOptions, progress: &ProgressBar) -> Result<Manifest, DemoError> {
    let first = validate(opts)?;
    progress.set_length(u64::from(opts.days) + 3);
    progress.set_position(0);
    progress.set_message("preparing output directory");
    let staging = write::prepare_out(&opts.out)?;
    let result = run(opts, first, &staging, progress);
    if result.is_err() {
        // Best effort: the staging folder is ours and useless now.
        let _ = std::fs::remove_dir_all(&staging);
    }
    result
}

fn run(
    opts: &GenerateOptions,
    first: NaiveDate,
    staging: &std::path::Path,
    progress: &ProgressBar,
) -> Result<Manifest, DemoError> {
    progress.set_message("planning campaigns and spend");
    let mut ctx = Ctx::new(opts, first);
    let spend = spend::plan(&ctx);
    for (c, b) in ctx.catalog.campaigns.iter_mut().zip(&spend.budgets) {
        c.daily_budget = *b;
    }
    let ctx = ctx;
    progress.inc(1);

    progress.set_message("writing campaigns, publishers and ad_spend");
    let mut row_counts: BTreeMap<String, u64> = BTreeMap::new();
    let mut files: BTreeMap<&'static str, Vec<String>> = BTreeMap::new();
    let first_part = write::part_name(0);
    let dims = [
        (&write::CAMPAIGNS, vec![write::campaigns_batch(&ctx)]),
        (&write::PUBLISHERS, vec![write::publishers_batch(&ctx)]),
        (
            &write::AD_SPEND,
            match write::ad_spend_batches(&ctx, &spend.days) {
                Ok(batches) => batches.into_iter().map(Ok).collect(),
                Err(e) => vec![Err(e)],
            },
        ),
    ];
    let dim_rows: Vec<Result<u64, DemoError>> = dims
        .into_par_iter()
        .map(|(spec, batches)| {
            write::write_parquet(&staging.join(spec.name).join(&first_part), spec, batches)
        })
        .collect();
    for (spec, rows) in [&write::CAMPAIGNS, &write::PUBLISHERS, &write::AD_SPEND]
        .into_iter()
        .zip(dim_rows)
    {
        row_counts.insert(spec.name.to_string(), rows?);
        files
            .entry(spec.name)
            .or_default()
            .push(format!("{}/{first_part}", spec.name));
    }
    progress.inc(1);

    // Global install numbering: each day starts where the previous ended.
    let mut offsets = Vec::with_capacity(spend.days.len());
    let mut next = 0u64;
    for plan in &spend.days {
        offsets.push(next);
        next += plan.installs();
    }

    let days = i64::from(opts.days);
    let per_part = days_per_part(opts.scale, opts.days);
    let parts: Vec<Range<i64>> = (0..days)
        .step_by(per_part.max(1) as usize)
        .map(|start| start..(start + per_part).min(days))
        .collect();
    // Parts generated (then written) together; only affects scheduling.
    let window = rayon::current_num_threads().clamp(2, 8);

    progress.set_message("generating installs, users and events");
    let mut summary = Summary {
        paid_installs: 0,
        organic_installs: 0,
        fraud_installs: 0,
        reviewed_installs: 0,
        total_spend: 0.0,
        total_revenue: 0.0,
        campaigns: ctx.catalog.campaigns.len() as u64,
        publishers: ctx.catalog.publishers.len() as u64,
    };
    let mut next_event_id = 1i64;
    for (w, group) in parts.chunks(window).enumerate() {
        let range = group[0].start..group[group.len() - 1].end;
        let facts: Vec<DayFacts> = range
            .clone()
            .into_par_iter()
            .map(|day| {
                let f = facts::generate_day(
                    &ctx,
                    day,
                    &spend.days[day as usize],
                    offsets[day as usize],
                );
                progress.inc(1);
                f
            })
            .collect();

        let mut jobs = Vec::new();
        for (i, part) in group.iter().enumerate() {
            let part_index = w * window + i;
            let lo = (part.start - range.start) as usize;
            let hi = (part.end - range.start) as usize;
            let slice = &facts[lo..hi];
            let events: u64 = slice.iter().map(|d| d.events.len() as u64).sum();
            let name = write::part_name(part_index);
            jobs.push((
                write::INSTALLS.name,
                name.clone(),
                slice,
                CohortTable::Installs,
            ));
            jobs.push((write::USERS.name, name.clone(), slice, CohortTable::Users));
            jobs.push((
                write::EVENTS.name,
                name,
                slice,
                CohortTable::Events {
                    first_id: next_event_id,
                },
            ));
            next_event_id += events as i64;
        }
        let written: Vec<Result<u64, DemoError>> = jobs
            .par_iter()
            .map(|(table, name, slice, kind)| {
                write::write_cohort_part(&ctx, &staging.join(table).join(name), slice, *kind)
            })
            .collect();
        for ((table, name, _, _), rows) in jobs.iter().zip(written) {
            *row_counts.entry((*table).to_string()).or_default() += rows?;
            files
                .entry(table)
                .or_default()
                .push(format!("{table}/{name}"));
        }

        for day in &facts {
            for i in &day.installs {
                if i.campaign.is_some() {
                    summary.paid_installs += 1;
                } else {
                    summary.organic_installs += 1;
                }
                summary.fraud_installs += u64::from(i.fraud.is_some());
                summary.reviewed_installs += u64::from(i.is_fraud.is_some());
            }
            for e in &day.events {
                summary.total_revenue += e.revenue;
            }
        }
    }
    summary.total_spend = round2(
        spend
            .days
            .iter()
            .flat_map(|d| d.rows.iter())
            .map(|r| r.spend)
            .sum(),
    );
    summary.total_revenue = round2(summary.total_revenue);

    progress.set_message("writing manifest");
    let manifest = Manifest {
        generator: manifest::generator_version(),
        seed: opts.seed,
        scale: opts.scale,
        days: opts.days,
        first_date: first,
        as_of_date: opts.end_date,
        row_counts: row_counts.clone(),
        tables: TABLES
            .iter()
            .map(|t| TableInfo {
                name: t.name.to_string(),
                path: t.name.to_string(),
                files: files.get(t.name).cloned().unwrap_or_default(),
                rows: row_counts.get(t.name).copied().unwrap_or(0),
                columns: t.column_info(),
            })
            .collect(),
        planted_events: ctx.planted.describe(&ctx.catalog, first),
        summary,
    };
    let json = serde_json::to_string_pretty(&manifest)?;
    write::finish(&opts.out, staging, &json)?;
    progress.inc(1);
    progress.set_message("done");
    Ok(manifest)
}
