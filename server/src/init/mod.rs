//! `quarry init`: draft a semantic model from a warehouse folder, for a
//! person to read and edit. The engine inspects the data (types, row
//! counts, keys that are really unique, joins that are really many-to-one,
//! low-cardinality columns and their values); the drafter turns that into
//! YAML with a `# check:` comment on every guess. Also home of the plan
//! sweep of `quarry model check` ([`check_all`]).

mod check;
mod draft;
mod names;
mod profile;
mod yaml;

use std::path::{Path, PathBuf};

use clap::Args;
use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};
use indicatif::{ProgressBar, ProgressStyle};

pub use check::{CheckReport, CheckResult, Outcome, check_all, check_all_with, plans};
pub use draft::{Draft, draft};
pub use names::snake_case;
pub use profile::{WarehouseProfile, profile};
pub use yaml::render;

use crate::config::Config;
use crate::engine::{Engine, EngineError};

/// The files `quarry init` writes.
pub const FILES: [&str; 4] = [
    "model.yaml",
    "entities.yaml",
    "dimensions.yaml",
    "metrics.yaml",
];

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Where to write the model's YAML files.
    #[arg(long, value_name = "MODEL_DIR", default_value = "model")]
    pub out: PathBuf,
    /// Overwrite model files that already exist there.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum InitError {
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error(
        "{} already exists; pass --force to overwrite it, or choose another folder with --out",
        .0.display()
    )]
    Exists(PathBuf),
    #[error("cannot write {}: {message}; check the folder exists and is writable, or choose another with --out", path.display())]
    Write { path: PathBuf, message: String },
}

/// A drafted model and where it was written.
#[derive(Debug)]
pub struct Drafted {
    pub draft: Draft,
    pub files: Vec<PathBuf>,
    /// YAML files in the folder that `quarry init` did not write but the
    /// loader will read with the draft.
    pub other_files: Vec<PathBuf>,
}

/// The model's name: the warehouse folder's, in snake_case; its parent's
/// when the folder is only called "warehouse" or "data".
fn model_name(warehouse: &Path) -> String {
    let named = |p: &Path| {
        let own = p.file_name()?.to_string_lossy().to_string();
        if matches!(
            own.to_lowercase().as_str(),
            "warehouse" | "data" | "tables" | "parquet"
        ) {
            p.parent()
                .and_then(|x| x.file_name())
                .map(|f| f.to_string_lossy().to_string())
                .or(Some(own))
        } else {
            Some(own)
        }
    };
    let base = warehouse
        .canonicalize()
        .ok()
        .and_then(|p| named(&p))
        .or_else(|| {
            warehouse
                .file_name()
                .map(|f| f.to_string_lossy().to_string())
        })
        .unwrap_or_default();
    snake_case(&base)
}

/// Profiles the warehouse the engine reads and drafts a model of it.
pub async fn draft_warehouse(
    engine: &Engine,
    warehouse: &Path,
    progress: &dyn Fn(&str),
) -> Result<Draft, InitError> {
    let w = profile(engine, progress).await?;
    Ok(draft(
        &w,
        &model_name(warehouse),
        &warehouse.display().to_string(),
    ))
}

fn yaml_files_in(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| matches!(p.extension().and_then(|x| x.to_str()), Some("yaml" | "yml")))
        .collect();
    out.sort();
    out
}

/// Writes the draft's files into `dir`, refusing to replace any unless
/// `force`. Nothing is written when one file already exists.
pub fn write_model(draft: Draft, dir: &Path, force: bool) -> Result<Drafted, InitError> {
    let rendered = render(&draft);
    if !force
        && let Some(p) = rendered
            .iter()
            .map(|(name, _)| dir.join(name))
            .find(|p| p.exists())
    {
        return Err(InitError::Exists(p));
    }
    let write_err = |path: &Path, e: std::io::Error| InitError::Write {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    std::fs::create_dir_all(dir).map_err(|e| write_err(dir, e))?;
    let mut files = Vec::new();
    for (name, text) in rendered {
        let path = dir.join(name);
        std::fs::write(&path, text).map_err(|e| write_err(&path, e))?;
        files.push(path);
    }
    let other_files = yaml_files_in(dir)
        .into_iter()
        .filter(|p| !files.contains(p))
        .collect();
    Ok(Drafted {
        draft,
        files,
        other_files,
    })
}

/// Opens the warehouse, drafts a model and writes it.
pub async fn init(
    warehouse: &Path,
    cfg: &crate::config::EngineConfig,
    out: &Path,
    force: bool,
    progress: &dyn Fn(&str),
) -> Result<Drafted, InitError> {
    // Fail before reading any data when the files are there already.
    if !force && let Some(p) = FILES.iter().map(|f| out.join(f)).find(|p| p.exists()) {
        return Err(InitError::Exists(p));
    }
    let engine = Engine::open(warehouse, cfg).await?;
    let d = draft_warehouse(&engine, warehouse, progress).await?;
    write_model(d, out, force)
}

/// `quarry init`.
pub async fn init_cmd(cfg: &Config, args: &InitArgs) -> anyhow::Result<()> {
    let warehouse = cfg.warehouse_dir();
    let bar = ProgressBar::new_spinner();
    bar.set_style(
        ProgressStyle::with_template("{spinner} reading {msg} ({elapsed})")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    let progress = |table: &str| bar.set_message(table.to_string());
    let result = init(&warehouse, &cfg.engine, &args.out, args.force, &progress).await;
    bar.finish_and_clear();
    let drafted = result?;
    print_summary(&drafted, &warehouse, &args.out);
    Ok(())
}

fn entity_table(d: &Draft) -> Table {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED);
    t.set_header([
        "entity",
        "rows",
        "primary key",
        "time",
        "measures",
        "dimensions",
    ]);
    for e in &d.entities {
        let dims = d
            .dimensions
            .iter()
            .filter(|x| x.bindings.iter().any(|(b, _)| b == &e.name))
            .count();
        let mut key = e.primary_key.join(", ");
        if !e.key_verified {
            key.push_str(" (placeholder: no unique key found)");
        }
        t.add_row(vec![
            e.name.clone(),
            e.rows.to_string(),
            key,
            e.time
                .as_ref()
                .map_or("-".to_string(), |x| x.column.clone()),
            e.measures.len().to_string(),
            dims.to_string(),
        ]);
    }
    t
}

fn print_summary(drafted: &Drafted, warehouse: &Path, out: &Path) {
    let d = &drafted.draft;
    println!("{}", entity_table(d));
    for j in &d.joins {
        println!("join: {} -> {} on {}", j.from, j.to, j.on);
    }
    for n in &d.join_notes {
        println!("not joined: {}", n.trim_start_matches("check: "));
    }
    match &d.as_of {
        Some(a) => println!("as of: {}.{}", a.entity, a.column),
        None => println!("as of: none (no date or time column; every metric covers all rows)"),
    }
    println!(
        "drafted {} entities, {} joins, {} dimensions, {} metrics into {}",
        d.entities.len(),
        d.joins.len(),
        d.dimensions.len(),
        d.metrics.len(),
        out.display()
    );
    for p in &drafted.other_files {
        println!(
            "note: {} is not from `quarry init` but is read with the draft; remove it if it no longer fits",
            p.display()
        );
    }
    if let Err(e) = quarry_schema::load_dir(out) {
        println!("warning: the draft does not load yet; fix these lines first:\n{e}");
    }
    println!("\nread the `# check:` comments in {}, then:", out.display());
    let (w, m) = (warehouse.display(), out.display());
    println!("  quarry --warehouse {w} --model {m} model check");
    let example = d
        .headline_metrics
        .first()
        .or(d.metrics.first().map(|m| &m.name))
        .map(|x| x.replace('_', " "))
        .unwrap_or_else(|| "how many rows".to_string());
    let by = d
        .breakdowns
        .first()
        .map(|b| format!(" by {}", b.replace('_', " ")))
        .unwrap_or_default();
    println!("  quarry --warehouse {w} --model {m} ask \"{example}{by}\"");
}
