//! `quarry train` and `quarry models`: training from spec files, and the
//! registry's versions, cards and promotions.

use std::path::PathBuf;

use anyhow::bail;
use clap::{Args, Subcommand};
use comfy_table::{Cell, CellAlignment, Table, presets::UTF8_FULL_CONDENSED};
use indicatif::{ProgressBar, ProgressStyle};

use super::{OutputFormat, write_json};
use crate::config::Config;
use crate::ml::registry::ModelCard;
use crate::ml::spec::lower_is_better;
use crate::ml::train::{TrainOutcome, TrainProgress, train};
use crate::semantic::registry;

#[derive(Debug, Args)]
pub struct TrainArgs {
    /// Training specs: paths of YAML files, or names of the model folder's
    /// specs (the demo has fraud, churn, ltv and ltv_bgnbd).
    #[arg(value_name = "SPEC")]
    pub specs: Vec<String>,
    /// Train every spec of the model folder.
    #[arg(long, conflicts_with = "specs")]
    pub all: bool,
    /// Train only specs that have no promoted model yet.
    #[arg(long)]
    pub missing: bool,
    /// Promote the new version even when another is promoted (the first
    /// version of a model is always promoted).
    #[arg(long)]
    pub promote: bool,
    /// Exit with an error when a metric misses the spec's target.
    #[arg(long)]
    pub check_targets: bool,
    /// Write the outcomes as JSON here as well.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum ModelsCommand {
    /// Every model in the registry: versions, the promoted one, headline metrics.
    List {
        #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
        format: OutputFormat,
    },
    /// One version's card: kind, inputs, metrics, feature importance, data fingerprint.
    Show {
        name: String,
        /// Version [default: the promoted one, else the latest].
        #[arg(long)]
        version: Option<u32>,
        #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
        format: OutputFormat,
    },
    /// Make a version the one the UDFs use; running queries pick it up at once.
    Promote { name: String, version: u32 },
}

/// A bar for trees, a spinner line for stages.
struct TrainBar(ProgressBar);

fn stage_style() -> ProgressStyle {
    ProgressStyle::with_template("{spinner} {msg} {elapsed}")
        .unwrap_or_else(|_| ProgressStyle::default_spinner())
}

impl TrainBar {
    fn new() -> Self {
        let bar = ProgressBar::new_spinner();
        bar.set_style(stage_style());
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
        Self(bar)
    }
}

impl TrainProgress for TrainBar {
    fn stage(&self, message: &str) {
        self.0.set_style(stage_style());
        self.0.set_message(message.to_string());
    }
    fn trees(&self, done: usize, total: usize) {
        if done <= 1 {
            self.0.set_style(
                ProgressStyle::with_template(
                    "{spinner} trees [{bar:32}] {pos}/{len} ({elapsed}, {eta} left)",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
            );
            self.0.set_length(total as u64);
        }
        self.0.set_position(done as u64);
    }
}

/// What training needs: an engine, the ML folder, the registry and the
/// templates. With a semantic model that fits the warehouse, its workspace;
/// otherwise (a folder of your own files and a spec) the bare warehouse,
/// dated today.
struct TrainContext {
    engine: crate::engine::Engine,
    ml: crate::ml::spec::MlFolder,
    registry: crate::ml::registry::Registry,
    templates: crate::ml::features::Templates,
}

async fn train_context(cfg: &Config) -> anyhow::Result<TrainContext> {
    if let Some(ws) = crate::semantic::open_if_modelled(cfg).await? {
        let templates = ws.templates();
        return Ok(TrainContext {
            engine: ws.engine,
            ml: ws.ml,
            registry: ws.registry,
            templates,
        });
    }
    let ml = match &cfg.model.dir {
        Some(d) => crate::ml::spec::MlFolder::load(d)?,
        None => crate::ml::spec::MlFolder::default(),
    };
    Ok(TrainContext {
        engine: crate::semantic::bare_engine(cfg).await?,
        templates: crate::ml::features::Templates::new(&ml, chrono::Utc::now().date_naive()),
        ml,
        registry: registry(cfg),
    })
}

pub async fn train_cmd(cfg: &Config, args: &TrainArgs) -> anyhow::Result<()> {
    let ws = train_context(cfg).await?;
    let mut specs = Vec::new();
    if args.all || args.specs.is_empty() {
        if !args.all && !args.missing {
            bail!(
                "name the specs to train (the model folder has: {}), or pass --all",
                ws.ml.specs.keys().cloned().collect::<Vec<_>>().join(", ")
            );
        }
        specs.extend(ws.ml.specs.values().map(|(_, s)| s.clone()));
    } else {
        for s in &args.specs {
            specs.push(ws.ml.spec(s)?.1);
        }
    }
    if args.missing {
        specs.retain(|s| !matches!(ws.registry.promoted(&s.name), Ok(Some(_))));
        if specs.is_empty() {
            eprintln!("every model has a promoted version; nothing to train");
            return Ok(());
        }
    }
    let templates = ws.templates.clone();
    let mut outcomes: Vec<TrainOutcome> = Vec::new();
    for spec in &specs {
        let bar = TrainBar::new();
        let t0 = std::time::Instant::now();
        let out = train(
            ws.engine.context(),
            &templates,
            &ws.registry,
            spec,
            args.promote,
            &bar,
        )
        .await;
        bar.0.finish_and_clear();
        let out = out?;
        println!(
            "{} v{} ({}) trained in {:.1} s{}",
            out.card.name,
            out.card.version,
            out.card.kind,
            t0.elapsed().as_secs_f64(),
            if out.promoted {
                ", promoted".to_string()
            } else {
                format!(
                    "; not promoted (run `quarry models promote {} {}`)",
                    out.card.name, out.card.version
                )
            }
        );
        println!("{}", metrics_table(&out.card));
        for t in &out.targets {
            let cmp = if lower_is_better(&t.metric) {
                "<="
            } else {
                ">="
            };
            let actual = t
                .actual
                .map_or("missing".to_string(), |a| format!("{a:.4}"));
            println!(
                "  target {} {cmp} {}: {actual} {}",
                t.metric,
                t.target,
                if t.met { "met" } else { "MISSED" }
            );
        }
        outcomes.push(out);
    }
    write_json(args.json.as_deref(), &outcomes)?;
    let missed: Vec<String> = outcomes
        .iter()
        .flat_map(|o| {
            o.targets
                .iter()
                .filter(|t| !t.met)
                .map(move |t| format!("{} {}", o.card.name, t.metric))
        })
        .collect();
    if args.check_targets && !missed.is_empty() {
        bail!("targets missed: {}", missed.join(", "));
    }
    Ok(())
}

fn metrics_table(card: &ModelCard) -> Table {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED);
    t.set_header(vec!["metric (held-out rows)", "value"]);
    for (k, v) in &card.metrics {
        let text = if v.fract() == 0.0 && v.abs() < 1e12 {
            format!("{v:.0}")
        } else {
            format!("{v:.4}")
        };
        t.add_row(vec![
            Cell::new(k),
            Cell::new(text).set_alignment(CellAlignment::Right),
        ]);
    }
    t
}

pub fn models_cmd(cfg: &Config, cmd: &ModelsCommand) -> anyhow::Result<()> {
    let reg = registry(cfg);
    match cmd {
        ModelsCommand::List { format } => {
            let mut rows = Vec::new();
            for name in reg.names()? {
                let versions = reg.versions(&name)?;
                let promoted = reg.promoted(&name)?;
                let latest = versions.last().copied();
                let shown = promoted.or(latest);
                let card = shown.map(|v| reg.card(&name, v)).transpose()?;
                rows.push((name, versions, promoted, card));
            }
            if *format == OutputFormat::Json {
                let v: Vec<_> = rows
                    .iter()
                    .map(|(n, vs, p, c)| {
                        serde_json::json!({"name": n, "versions": vs, "promoted": p, "card": c})
                    })
                    .collect();
                println!("{}", serde_json::to_string_pretty(&v)?);
                return Ok(());
            }
            if rows.is_empty() {
                println!(
                    "no models yet; train the demo's with `quarry train --all`, or your own with `quarry train SPEC.yaml`"
                );
                return Ok(());
            }
            let mut t = Table::new();
            t.load_preset(UTF8_FULL_CONDENSED);
            t.set_header(vec![
                "model",
                "kind",
                "versions",
                "promoted",
                "headline (held out)",
            ]);
            for (name, versions, promoted, card) in rows {
                let headline = card.as_ref().map(headline).unwrap_or_default();
                t.add_row(vec![
                    name,
                    card.map(|c| c.kind).unwrap_or_default(),
                    versions
                        .iter()
                        .map(|v| format!("v{v}"))
                        .collect::<Vec<_>>()
                        .join(" "),
                    promoted.map_or("none".into(), |v| format!("v{v}")),
                    headline,
                ]);
            }
            println!("{t}");
            Ok(())
        }
        ModelsCommand::Show {
            name,
            version,
            format,
        } => {
            let v = match version {
                Some(v) => *v,
                None => match reg.promoted(name)?.or(reg.versions(name)?.last().copied()) {
                    Some(v) => v,
                    None => bail!(
                        "no model named \"{name}\" (have: {}); train one with `quarry train`",
                        reg.names()?.join(", ")
                    ),
                },
            };
            let card = reg.card(name, v)?;
            if *format == OutputFormat::Json {
                println!("{}", serde_json::to_string_pretty(&card)?);
                return Ok(());
            }
            let promoted = reg.promoted(name)? == Some(v);
            println!(
                "{} v{} ({}){}; data fingerprint {}",
                card.name,
                card.version,
                card.kind,
                if promoted { ", promoted" } else { "" },
                card.data_fingerprint
            );
            if let Some(d) = card.spec.get("description").and_then(|d| d.as_str())
                && !d.is_empty()
            {
                println!("{d}");
            }
            if let Some(f) = card.spec.get("features").and_then(|f| f.as_array()) {
                let names: Vec<&str> = f
                    .iter()
                    .filter_map(|x| x.get("name").and_then(|n| n.as_str()))
                    .collect();
                println!("inputs, in argument order: {}", names.join(", "));
            }
            println!("{}", metrics_table(&card));
            if card.importance.iter().any(|(_, v)| *v > 0.0) {
                let mut t = Table::new();
                t.load_preset(UTF8_FULL_CONDENSED);
                t.set_header(vec!["feature", "importance"]);
                for (f, v) in card.importance.iter().filter(|(_, v)| *v > 0.0).take(12) {
                    t.add_row(vec![
                        Cell::new(f),
                        Cell::new(format!("{v:.3}")).set_alignment(CellAlignment::Right),
                    ]);
                }
                println!("{t}");
            }
            Ok(())
        }
        ModelsCommand::Promote { name, version } => {
            reg.promote(name, *version)?;
            println!("{name} v{version} is promoted; queries use it from now on");
            Ok(())
        }
    }
}

fn headline(card: &ModelCard) -> String {
    let pick = ["roc_auc", "recall_at_fpr_1pct", "mae", "baseline_mae"];
    pick.iter()
        .filter_map(|k| card.metrics.get(*k).map(|v| format!("{k} {v:.3}")))
        .collect::<Vec<_>>()
        .join(", ")
}
