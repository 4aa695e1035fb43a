//! The command-line front end. Each command is a thin shell over the library:
//! parse flags, call the same functions the server will call, print.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand, ValueEnum};
use comfy_table::{Cell, CellAlignment, Table, presets::UTF8_FULL_CONDENSED};
use indicatif::{ProgressBar, ProgressStyle};
use quarry_schema::SemanticQuery;
use quarry_schema::model::Format;

mod ask;
mod ml;
mod serve;

use crate::config::Config;
use crate::demo::{self, GenerateOptions};
use crate::engine::{Engine, QueryResult, format_cell};
use crate::knowledge::{Knowledge, SyncMode};
use crate::semantic::{Answer, Workspace, load_model};
use quarry_retrieval::evaluate::{self, PairSet, QuestionSet};
use quarry_retrieval::indexer::Progress;

/// Quarry answers questions about marketing data with the right number, the
/// SQL behind it and a chart.
#[derive(Debug, Parser)]
#[command(name = "quarry", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// Config file (TOML). Default: ./quarry.toml when present.
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Where generated data, indexes and downloads live [default: .quarry].
    #[arg(long, global = true, value_name = "DIR", env = "QUARRY_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Warehouse folder (one sub-folder of Parquet or CSV per table)
    /// [default: <data-dir>/warehouse].
    #[arg(long, global = true, value_name = "DIR")]
    pub warehouse: Option<PathBuf>,
    /// Semantic model folder (YAML) [default: the built-in demo model].
    #[arg(long, global = true, value_name = "DIR")]
    pub model: Option<PathBuf>,
    /// More log output (-v info, -vv debug).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Draft a semantic model from the warehouse (--warehouse DIR): YAML
    /// files to read, correct and check.
    Init(crate::init::InitArgs),
    /// Ask a question in plain words and get the number, a chart spec and a
    /// sentence, or a clarifying question.
    Ask(ask::AskArgs),
    /// An interactive conversation: ask, follow up, ask again.
    Chat(ask::ChatArgs),
    /// Start the HTTP API and the web chat.
    Serve(serve::ServeArgs),
    /// API tokens for `quarry serve --auth`: create, list, revoke.
    #[command(subcommand)]
    Tokens(serve::TokensCommand),
    /// The demo warehouse: generate it, or take a tour of it.
    #[command(subcommand)]
    Demo(DemoCommand),
    /// Run one read-only SQL query over the warehouse and print the result.
    Sql {
        /// The query, e.g. "SELECT network, count(*) FROM campaigns GROUP BY 1".
        query: String,
        #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
        format: OutputFormat,
    },
    /// Compile a SemanticQuery (JSON) to SQL and run it.
    Query(QueryArgs),
    /// Check the semantic model: load and validate the YAML, then plan every
    /// metric against the warehouse.
    #[command(subcommand)]
    Model(ModelCommand),
    /// Time the compilation and execution of every metric of the catalogue.
    Bench(BenchArgs),
    /// Bring the retrieval index up to date with the semantic model and the
    /// warehouse's values (only what changed is embedded again).
    Index {
        /// Drop the index and embed everything again.
        #[arg(long)]
        rebuild: bool,
    },
    /// Show what retrieval finds for a question: metrics, dimensions, values,
    /// glossary terms and verified questions, with scores and reasons.
    Search {
        /// The question, e.g. "ROAS of the lookalike campaign in Germany".
        question: String,
        /// Hits to show.
        #[arg(long, default_value_t = 10)]
        limit: usize,
        #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
        format: OutputFormat,
    },
    /// Measure retrieval and the semantic cache against labelled sets.
    #[command(subcommand)]
    Eval(EvalCommand),
    /// Train models from spec files (SQL over the warehouse, a time split,
    /// a model kind) and store them in the registry with their metrics.
    Train(ml::TrainArgs),
    /// The model registry: list, show a card, promote a version.
    #[command(subcommand)]
    Models(ml::ModelsCommand),
}

#[derive(Debug, Subcommand)]
pub enum EvalCommand {
    /// Execution accuracy of answers against gold SQL, clarification and
    /// refusal correctness, and latency, overall and per tag.
    Ask(ask::EvalAskArgs),
    /// Recall at 5 and 10 and mean reciprocal rank of labelled items.
    Retrieval {
        #[arg(
            long,
            value_name = "FILE",
            default_value = "eval/retrieval/questions.yaml"
        )]
        file: PathBuf,
        /// Write the report as JSON here as well.
        #[arg(long, value_name = "FILE")]
        json: Option<PathBuf>,
    },
    /// False hits on near-miss pairs (must be none) and the paraphrase hit rate.
    Cache {
        #[arg(long, value_name = "FILE", default_value = "eval/cache/pairs.yaml")]
        file: PathBuf,
        #[arg(long, value_name = "FILE")]
        json: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum DemoCommand {
    /// Write the demo warehouse: Parquet tables plus manifest.json.
    Generate(GenerateArgs),
    /// Answer the model's verified questions on the warehouse, as a first look.
    Tour,
}

#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Size: 1 is about 1M installs and 10M events over 180 days.
    #[arg(long, default_value_t = 1.0)]
    pub scale: f64,
    /// Random seed; the same seed and scale give the same files.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Output folder [default: <data-dir>/warehouse].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Last day of data (the as-of date), YYYY-MM-DD.
    #[arg(long, default_value = GenerateOptions::DEFAULT_END)]
    pub end: String,
    /// Number of days of data.
    #[arg(long, default_value_t = GenerateOptions::DEFAULT_DAYS)]
    pub days: u32,
}

#[derive(Debug, Subcommand)]
pub enum ModelCommand {
    /// Validate the model and plan every metric against the warehouse.
    Check,
    /// List metrics and dimensions.
    Show,
}

#[derive(Debug, Args)]
pub struct QueryArgs {
    /// A JSON file holding a SemanticQuery ("-" reads standard input).
    #[arg(long, value_name = "FILE")]
    pub plan: PathBuf,
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    pub format: OutputFormat,
    /// Print the compiled SQL without running it.
    #[arg(long)]
    pub sql_only: bool,
}

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Runs per metric; the median is reported.
    #[arg(long, default_value_t = 5)]
    pub repeat: usize,
    /// Write the figures as JSON here as well.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Table,
    Json,
}

pub fn init_tracing(verbose: u8) {
    let level = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("QUARRY_LOG")
        // The embedded Qdrant engine warns about process-wide flags it
        // never needs in embedded use; its errors still show.
        .unwrap_or_else(|_| {
            tracing_subscriber::EnvFilter::new(format!("{level},qdrant_edge=error"))
        });
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

fn config(cli: &Cli) -> anyhow::Result<Config> {
    let mut cfg = Config::load(cli.config.as_deref())?;
    if let Some(d) = &cli.data_dir {
        cfg.data_dir = d.clone();
    }
    if let Some(w) = &cli.warehouse {
        cfg.warehouse.path = Some(w.clone());
    }
    if let Some(m) = &cli.model {
        cfg.model.dir = Some(m.clone());
    }
    Ok(cfg)
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let cfg = config(&cli)?;
    match &cli.command {
        Command::Init(args) => crate::init::init_cmd(&cfg, args).await,
        Command::Demo(DemoCommand::Generate(args)) => generate(&cfg, args).await,
        Command::Demo(DemoCommand::Tour) => tour(&cfg).await,
        Command::Train(args) => ml::train_cmd(&cfg, args).await,
        Command::Models(cmd) => ml::models_cmd(&cfg, cmd),
        Command::Sql { query, format } => {
            let engine = sql_engine(&cfg).await?;
            let r = engine.sql(query).await?;
            match format {
                OutputFormat::Json => {
                    println!("{}", serde_json::to_string_pretty(&r.to_json(query))?)
                }
                OutputFormat::Table => println!("{}", result_table(&r, &[])),
            }
            Ok(())
        }
        Command::Query(args) => query(&cfg, args).await,
        Command::Model(ModelCommand::Check) => model_check(&cfg).await,
        Command::Model(ModelCommand::Show) => model_show(&cfg),
        Command::Bench(args) => bench(&cfg, args).await,
        Command::Index { rebuild } => index(&cfg, *rebuild).await,
        Command::Search {
            question,
            limit,
            format,
        } => search(&cfg, question, *limit, *format).await,
        Command::Ask(args) => ask::ask(&cfg, args).await,
        Command::Chat(args) => ask::chat(&cfg, args).await,
        Command::Serve(args) => serve::serve(&cfg, args).await,
        Command::Tokens(cmd) => serve::tokens(&cfg, cmd),
        Command::Eval(EvalCommand::Ask(args)) => ask::eval_ask(&cfg, args).await,
        Command::Eval(EvalCommand::Retrieval { file, json }) => {
            eval_retrieval(&cfg, file, json.as_deref()).await
        }
        Command::Eval(EvalCommand::Cache { file, json }) => {
            eval_cache(&cfg, file, json.as_deref()).await
        }
    }
}

/// The engine for `quarry sql`: the model's workspace (feature tables,
/// scoring views and UDFs) when the model fits the warehouse, else the bare
/// warehouse with the scoring UDFs, so SQL over any folder of files works.
async fn sql_engine(cfg: &Config) -> anyhow::Result<Engine> {
    Ok(match crate::semantic::open_if_modelled(cfg).await? {
        Some(ws) => ws.engine,
        None => crate::semantic::bare_engine(cfg).await?,
    })
}

/// Shows indexing progress as a bar on the terminal.
struct Bar(ProgressBar);

impl Bar {
    fn new() -> Self {
        let bar = ProgressBar::new(0);
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} {msg:<12} [{bar:32}] {pos}/{len} ({elapsed}, {eta} left)",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        Self(bar)
    }
}

impl Progress for Bar {
    fn start(&self, total: u64, message: &str) {
        self.0.set_length(total);
        self.0.set_message(message.to_string());
        self.0.reset();
        if total == 0 {
            self.0.finish_and_clear();
        }
    }
    fn advance(&self, n: u64) {
        self.0.inc(n);
    }
    fn finish(&self) {
        self.0.finish_and_clear();
    }
}

async fn knowledge(cfg: &Config, mode: SyncMode) -> anyhow::Result<(Workspace, Knowledge)> {
    let ws = Workspace::open(cfg).await?;
    let k = Knowledge::open(cfg, &ws, mode, &Bar::new()).await?;
    if let Some(r) = &k.synced
        && (r.embedded > 0 || r.removed > 0)
    {
        eprintln!(
            "index: {} items ({} embedded, {} unchanged, {} removed) in {:.1} s",
            r.total, r.embedded, r.unchanged, r.removed, r.seconds
        );
    }
    for n in &k.notes {
        eprintln!("note: {n}");
    }
    Ok((ws, k))
}

async fn index(cfg: &Config, rebuild: bool) -> anyhow::Result<()> {
    let mode = if rebuild {
        SyncMode::Rebuild
    } else {
        SyncMode::Always
    };
    let (_, k) = knowledge(cfg, mode).await?;
    let r = k.synced.unwrap_or_default();
    let idx = k.retriever.index();
    println!(
        "{} index at {}: {} items; {} embedded, {} unchanged, {} removed in {:.2} s",
        idx.backend(),
        idx.location(),
        r.total,
        r.embedded,
        r.unchanged,
        r.removed,
        r.seconds
    );
    Ok(())
}

async fn search(
    cfg: &Config,
    question: &str,
    limit: usize,
    format: OutputFormat,
) -> anyhow::Result<()> {
    let (_, k) = knowledge(cfg, SyncMode::IfStale).await?;
    let r = k.retriever.search(question, limit).await?;
    match format {
        OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&r)?),
        OutputFormat::Table => {
            let mut t = Table::new();
            t.load_preset(UTF8_FULL_CONDENSED);
            t.set_header(vec!["#", "kind", "item", "score", "why"]);
            for (i, h) in r.hits.iter().enumerate() {
                t.add_row(vec![
                    Cell::new(i + 1),
                    Cell::new(h.kind.as_str()),
                    Cell::new(&h.label),
                    Cell::new(format!("{:.2}", h.score)).set_alignment(CellAlignment::Right),
                    Cell::new(h.reasons.join("; ")),
                ]);
            }
            println!("{t}");
            println!(
                "embedding {:.1} ms, search {:.1} ms",
                r.embed_ms, r.search_ms
            );
        }
    }
    Ok(())
}

async fn eval_retrieval(
    cfg: &Config,
    file: &std::path::Path,
    json: Option<&std::path::Path>,
) -> anyhow::Result<()> {
    let set: QuestionSet = evaluate::load(file)?;
    let (_, k) = knowledge(cfg, SyncMode::IfStale).await?;
    let r = evaluate::evaluate_retrieval(&k.retriever, &set).await?;
    for m in &r.misses {
        let at = m
            .rank
            .map_or("not in the top 10".to_string(), |k| format!("rank {k}"));
        println!("miss: {:?} needs {} ({at})", m.question, m.item);
    }
    println!(
        "retrieval: {} questions, {} items: recall@5 {:.3}, recall@10 {:.3}, MRR {:.3}; search p50 {:.1} ms, p95 {:.1} ms",
        r.questions, r.items, r.recall_at_5, r.recall_at_10, r.mrr, r.p50_ms, r.p95_ms
    );
    write_json(json, &r)?;
    Ok(())
}

async fn eval_cache(
    cfg: &Config,
    file: &std::path::Path,
    json: Option<&std::path::Path>,
) -> anyhow::Result<()> {
    let set: PairSet = evaluate::load(file)?;
    let (_, k) = knowledge(cfg, SyncMode::IfStale).await?;
    let r = evaluate::evaluate_cache(&k.retriever, &set, &cfg.retrieval.cache).await?;
    for m in &r.paraphrase_misses {
        println!("paraphrase miss: {m}");
    }
    for [a, b] in &r.false_hits {
        println!("FALSE HIT: {a:?} reused the plan of {b:?}");
    }
    println!(
        "cache: {} near-miss lookups, {} false hits; {} paraphrase lookups, {} hits ({:.0}%)",
        r.near_misses,
        r.false_hits.len(),
        r.paraphrases,
        r.paraphrase_hits,
        r.paraphrase_hit_rate * 100.0
    );
    write_json(json, &r)?;
    if !r.false_hits.is_empty() {
        bail!("the cache shared a plan between questions that differ");
    }
    Ok(())
}

async fn generate(cfg: &Config, args: &GenerateArgs) -> anyhow::Result<()> {
    let end = chrono::NaiveDate::parse_from_str(&args.end, "%Y-%m-%d")
        .with_context(|| format!("--end {:?} is not a date; write it as YYYY-MM-DD", args.end))?;
    let opts = GenerateOptions {
        scale: args.scale,
        seed: args.seed,
        out: args.out.clone().unwrap_or_else(|| cfg.warehouse_dir()),
        end_date: end,
        days: args.days,
    };
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg:<24} [{bar:32}] {pos}/{len} ({elapsed})")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    let t0 = Instant::now();
    let manifest =
        tokio::task::spawn_blocking(move || demo::generate(&opts, &bar).map(|m| (m, opts)))
            .await
            .context("the generator stopped unexpectedly")??;
    let (manifest, opts) = manifest;
    let json = serde_json::to_value(&manifest)?;
    let counts = json
        .get("row_counts")
        .and_then(|c| c.as_object())
        .map(|m| {
            m.iter()
                .map(|(k, v)| format!("{k} {}", format_cell(v, Some(Format::Integer))))
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default();
    println!(
        "wrote the demo warehouse to {} in {:.1} s: {counts}",
        opts.out.display(),
        t0.elapsed().as_secs_f64()
    );
    Ok(())
}

fn read_plan(path: &PathBuf) -> anyhow::Result<SemanticQuery> {
    let text = if path.as_os_str() == "-" {
        std::io::read_to_string(std::io::stdin())
            .context("cannot read the plan from standard input")?
    } else {
        std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the plan file {}", path.display()))?
    };
    serde_json::from_str(&text).with_context(|| {
        format!(
            "{} is not a valid SemanticQuery (see schema/README.md for the format)",
            path.display()
        )
    })
}

async fn query(cfg: &Config, args: &QueryArgs) -> anyhow::Result<()> {
    let plan = read_plan(&args.plan)?;
    let ws = Workspace::open(cfg).await?;
    if args.sql_only {
        let c = ws.compile(&plan)?;
        println!("{}", c.sql);
        return Ok(());
    }
    let a = ws.answer(&plan).await?;
    match args.format {
        OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&a.to_json())?),
        OutputFormat::Table => print_answer(&a),
    }
    Ok(())
}

fn print_answer(a: &Answer) {
    if let Some(w) = a.compiled.window {
        let cmp = a
            .compiled
            .comparison_window
            .map(|c| format!(" vs {} to {}", c.start, c.end))
            .unwrap_or_default();
        println!("period: {} to {}{cmp}", w.start, w.end);
    }
    for n in &a.compiled.notes {
        println!("note: {n}");
    }
    let formats: Vec<Option<Format>> = a.compiled.columns.iter().map(|c| c.format).collect();
    println!("{}", result_table(&a.result, &formats));
    if let Some(cap) = a.compiled.row_cap
        && a.result.num_rows() as u64 >= cap
    {
        println!("note: only the first {cap} rows are shown");
    }
}

/// A result as a table for people, numbers right-aligned and formatted.
pub fn result_table(r: &QueryResult, formats: &[Option<Format>]) -> Table {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED);
    t.set_header(r.columns.iter().map(Cell::new));
    for row in r.rows_json() {
        t.add_row(row.iter().enumerate().map(|(i, v)| {
            let cell = Cell::new(format_cell(v, formats.get(i).copied().flatten()));
            if v.is_number() {
                cell.set_alignment(CellAlignment::Right)
            } else {
                cell
            }
        }));
    }
    t
}

async fn tour(cfg: &Config) -> anyhow::Result<()> {
    let ws = Workspace::open(cfg).await?;
    println!(
        "Quarry demo warehouse: data from {} to {} (the as-of date, \"today\").\n",
        ws.period.first, ws.period.as_of
    );
    for v in &ws.model.verified_queries {
        println!("> {}", v.question);
        match ws.answer(&v.query).await {
            Ok(a) => print_answer(&a),
            Err(e) => println!("error: {e}"),
        }
        println!();
    }
    Ok(())
}

async fn model_check(cfg: &Config) -> anyhow::Result<()> {
    let ws = Workspace::open(cfg).await?;
    // Every metric alone and by every dimension it can be read by.
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("{spinner} checking {msg:<24} [{bar:32}] {pos}/{len}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    let report = crate::init::check_all_with(&ws, &bar).await;
    println!("{}", report.summary_table());
    if report.failed() + report.skipped() > 0 {
        println!("{}", report.problems_table());
    }
    let mut failures = report.failed();
    let untrained = report
        .results
        .iter()
        .filter(|r| r.outcome == crate::init::Outcome::Skipped && r.dimension.is_none())
        .count();
    for v in &ws.model.verified_queries {
        if let Err(e) = ws.answer(&v.query).await {
            failures += 1;
            println!("FAIL  verified query {:?}: {e}", v.question);
        }
    }
    if failures > 0 {
        bail!("{failures} check(s) failed");
    }
    println!(
        "the model \"{}\" is valid: {} metrics, {} dimensions, {} verified queries",
        ws.model.name,
        ws.model.metrics.len(),
        ws.model.dimensions.len() + 1,
        ws.model.verified_queries.len()
    );
    if untrained > 0 {
        println!(
            "{untrained} metric(s) read model scores and were not run: train the models with `quarry train --missing`"
        );
    }
    Ok(())
}

fn model_show(cfg: &Config) -> anyhow::Result<()> {
    let model = load_model(cfg)?;
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED);
    t.set_header(["metric", "label", "description"]);
    for m in model.metric_names() {
        let x = &model.metrics[m];
        t.add_row([m, &x.label, &x.description]);
    }
    println!("{t}");
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED);
    t.set_header(["dimension", "synonyms", "description"]);
    t.add_row([
        quarry_schema::model::TIME_DIMENSION,
        "day, week, month, quarter, year",
        "each fact's own time column, at a grain",
    ]);
    for (n, d) in &model.dimensions {
        t.add_row([n.as_str(), &d.synonyms.join(", "), &d.description]);
    }
    println!("{t}");
    Ok(())
}

#[derive(Debug, serde::Serialize)]
struct BenchRow {
    metric: String,
    compile_us: f64,
    run_ms_median: f64,
    run_ms_min: f64,
    rows: usize,
}

async fn bench(cfg: &Config, args: &BenchArgs) -> anyhow::Result<()> {
    let ws = Workspace::open(cfg).await?;
    let repeat = args.repeat.max(1);
    let by = ws.model.vocabulary.breakdowns.first().cloned();
    let header = format!(
        "metric (by {}, default period)",
        by.as_deref().unwrap_or("nothing")
    );
    let mut rows = Vec::new();
    for m in ws.model.metric_names() {
        // The catalogue's typical shape: the metric by the model's first
        // breakdown, over the default period.
        let mut q = SemanticQuery::new(&[m]);
        if ws.model.metrics[m].time_bound
            && let Some(d) = &by
        {
            q.dimensions
                .push(quarry_schema::query::DimensionRef::new(d.clone()));
        }
        let mut compile = Vec::new();
        let mut run = Vec::new();
        let mut n = 0;
        for _ in 0..repeat {
            let a = ws.answer(&q).await?;
            compile.push(a.compile_time);
            run.push(a.run_time);
            n = a.result.num_rows();
        }
        compile.sort();
        run.sort();
        rows.push(BenchRow {
            metric: m.to_string(),
            compile_us: micros(compile[compile.len() / 2]),
            run_ms_median: micros(run[run.len() / 2]) / 1000.0,
            run_ms_min: micros(run[0]) / 1000.0,
            rows: n,
        });
    }
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED);
    t.set_header([
        header.as_str(),
        "compile µs",
        "run ms (median)",
        "run ms (min)",
        "rows",
    ]);
    for r in &rows {
        t.add_row([
            r.metric.clone(),
            format!("{:.0}", r.compile_us),
            format!("{:.1}", r.run_ms_median),
            format!("{:.1}", r.run_ms_min),
            r.rows.to_string(),
        ]);
    }
    println!("{t}");
    write_json(args.json.as_deref(), &rows)
}

/// Writes a report as JSON when `--json FILE` was given.
fn write_json(path: Option<&std::path::Path>, value: &impl serde::Serialize) -> anyhow::Result<()> {
    if let Some(path) = path {
        std::fs::write(path, serde_json::to_vec_pretty(value)?)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}
