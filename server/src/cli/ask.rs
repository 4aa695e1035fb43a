//! `quarry ask`, `quarry chat` and `quarry eval ask`: the question path on
//! the command line.

use std::io::{BufRead, Write};
use std::path::PathBuf;

use anyhow::bail;
use clap::{Args, ValueEnum};
use comfy_table::{Cell, CellAlignment, Table, presets::UTF8_FULL_CONDENSED};
use indicatif::{ProgressBar, ProgressStyle};

use crate::ask::eval::{self, Report};
use crate::ask::store::Store;
use crate::ask::{AskOptions, Asker, Kind, Response};
use crate::config::Config;
use crate::knowledge::{Knowledge, SyncMode};
use crate::semantic::Workspace;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AskFormat {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct AskArgs {
    /// The question, in plain words: "top 5 iOS campaigns by ROAS last month".
    pub question: String,
    /// Keep the conversation under this name so follow-ups ("what about
    /// Android?") build on earlier questions.
    #[arg(long, value_name = "ID")]
    pub session: Option<String>,
    #[arg(long, value_enum, default_value_t = AskFormat::Text)]
    pub format: AskFormat,
    /// Show the SQL that ran.
    #[arg(long)]
    pub sql: bool,
    /// Plan and run again even if an identical question was answered.
    #[arg(long)]
    pub no_cache: bool,
}

#[derive(Debug, Args)]
pub struct ChatArgs {
    /// Continue this conversation (default: a new one).
    #[arg(long, value_name = "ID")]
    pub session: Option<String>,
    /// Show the SQL of every answer.
    #[arg(long)]
    pub sql: bool,
}

#[derive(Debug, Args)]
pub struct EvalAskArgs {
    /// The question set (YAML with gold SQL).
    #[arg(long, value_name = "FILE", default_value = "eval/ask/questions.yaml")]
    pub file: PathBuf,
    /// Write the full report as JSON here as well.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Only items with this tag (repeatable).
    #[arg(long, value_name = "TAG")]
    pub tag: Vec<String>,
    /// Only the item with this id.
    #[arg(long, value_name = "ID")]
    pub id: Option<String>,
    /// Fail when execution accuracy is below this.
    #[arg(long, value_name = "FRACTION")]
    pub min_accuracy: Option<f64>,
    /// Fail when any ambiguous or unanswerable question gets a number.
    #[arg(long)]
    pub strict: bool,
    /// List every question, not only the failures.
    #[arg(long)]
    pub all: bool,
}

async fn open(cfg: &Config, store: Option<Store>) -> anyhow::Result<Asker> {
    let ws = Workspace::open(cfg).await?;
    let k = Knowledge::open(cfg, &ws, SyncMode::IfStale, &super::Bar::new()).await?;
    Ok(Asker::new(ws, k, store, cfg))
}

fn store(cfg: &Config) -> anyhow::Result<Store> {
    Ok(Store::open(&cfg.data_dir.join("quarry.sqlite"))?)
}

pub async fn ask(cfg: &Config, args: &AskArgs) -> anyhow::Result<()> {
    let store = if args.session.is_some() {
        Some(store(cfg)?)
    } else {
        None
    };
    let asker = open(cfg, store).await?;
    let r = asker
        .ask(
            &args.question,
            &AskOptions {
                session: args.session.clone(),
                no_cache: args.no_cache,
            },
        )
        .await?;
    match args.format {
        AskFormat::Json => println!("{}", serde_json::to_string_pretty(&r)?),
        AskFormat::Text => print_text(&r, args.sql, args.session.as_deref()),
    }
    Ok(())
}

pub async fn chat(cfg: &Config, args: &ChatArgs) -> anyhow::Result<()> {
    let asker = open(cfg, Some(store(cfg)?)).await?;
    let mut session = args.session.clone().unwrap_or_else(new_session);
    let mut show_sql = args.sql;
    eprintln!(
        "Ask about your marketing data; follow-ups build on earlier answers. /sql shows the SQL, /new starts over, /quit leaves. Conversation {session}."
    );
    let stdin = std::io::stdin();
    let mut lines = stdin.lock().lines();
    loop {
        eprint!("> ");
        std::io::stderr().flush().ok();
        let Some(line) = lines.next() else { break };
        let line = line?;
        let q = line.trim();
        match q {
            "" => continue,
            "/quit" | "/exit" | "/q" => break,
            "/sql" => {
                show_sql = !show_sql;
                eprintln!("SQL {}", if show_sql { "shown" } else { "hidden" });
                continue;
            }
            "/new" => {
                session = new_session();
                eprintln!("New conversation {session}.");
                continue;
            }
            _ => {}
        }
        match asker
            .ask(
                q,
                &AskOptions {
                    session: Some(session.clone()),
                    no_cache: false,
                },
            )
            .await
        {
            Ok(r) => print_text(&r, show_sql, None),
            Err(e) => eprintln!("error: {e}"),
        }
    }
    Ok(())
}

fn new_session() -> String {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("c{:x}", t ^ u128::from(std::process::id()))
}

fn print_text(r: &Response, show_sql: bool, session: Option<&str>) {
    match r.kind {
        Kind::Answer => {
            if let Some(i) = &r.interpretation {
                println!("{i}");
            }
            println!("{}", table(r));
            if !r.narrative.is_empty() {
                println!("{}", r.narrative);
            }
            for n in &r.notes {
                println!("note: {n}");
            }
            if show_sql && let Some(sql) = &r.sql {
                println!("\n{sql}");
            }
            if !r.suggestions.is_empty() {
                println!("\nYou could also ask:");
                for s in &r.suggestions {
                    println!("  - {s}");
                }
            }
            println!(
                "({:.0} ms: retrieval {:.0}, plan {:.0}, run {:.0})",
                r.timings.total_ms, r.timings.retrieval_ms, r.timings.plan_ms, r.timings.execute_ms
            );
        }
        Kind::Clarification => {
            println!("{}", r.narrative);
            for (i, o) in r.options.iter().enumerate() {
                println!("  {}. {}", i + 1, o.label);
            }
            match session {
                Some(s) => println!(
                    "Answer with the number: quarry ask --session {s} \"1\"; or ask again in other words."
                ),
                None => println!("Reply with the number, or ask again in other words."),
            }
        }
        Kind::Refusal => {
            println!("{}", r.narrative);
            if !r.suggestions.is_empty() {
                println!("\nFor example:");
                for s in &r.suggestions {
                    println!("  - {s}");
                }
            }
        }
    }
}

fn table(r: &Response) -> Table {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED);
    t.set_header(r.columns.iter().map(|c| c.label.clone()));
    for row in &r.rows {
        t.add_row(row.iter().zip(&r.columns).map(|(v, c)| {
            let text = crate::engine::format_cell(v, c.format);
            let cell = Cell::new(text);
            if v.is_number() {
                cell.set_alignment(CellAlignment::Right)
            } else {
                cell
            }
        }));
    }
    t
}

pub async fn eval_ask(cfg: &Config, args: &EvalAskArgs) -> anyhow::Result<()> {
    let set = eval::load(&args.file)?;
    let asker = open(cfg, Some(Store::in_memory()?)).await?;
    // As a server does at startup: the model views are scored once, so the
    // latencies are those of a running server.
    if let Err(e) = asker.ws.hold_scores().await {
        eprintln!("warning: model views are scored per question: {e}");
    }
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("{spinner} asking [{bar:32}] {pos}/{len} ({elapsed})")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    let tags = args.tag.clone();
    let only = args.id.clone();
    let filter = move |id: &str, t: &[String]| {
        only.as_deref().is_none_or(|x| x == id)
            && (tags.is_empty() || tags.iter().any(|x| t.contains(x)))
    };
    let report = eval::run(&asker, &set, &args.file, &filter, &|done, total| {
        bar.set_length(total as u64);
        bar.set_position(done as u64);
    })
    .await?;
    bar.finish_and_clear();
    print_report(&report, args.all);
    super::write_json(args.json.as_deref(), &report)?;
    if let Some(min) = args.min_accuracy
        && report.execution_accuracy < min
    {
        bail!(
            "execution accuracy {:.1}% is below the target of {:.1}%",
            report.execution_accuracy * 100.0,
            min * 100.0
        );
    }
    if args.strict && report.answered_anyway > 0 {
        bail!(
            "{} ambiguous or unanswerable question(s) got a number",
            report.answered_anyway
        );
    }
    Ok(())
}

fn print_report(r: &Report, all: bool) {
    for o in &r.outcomes {
        if o.pass && !all {
            continue;
        }
        let mark = if o.pass {
            "ok  "
        } else if o.wrong_number {
            "WRONG"
        } else {
            "miss"
        };
        println!("{mark} {} {:?}", o.id, o.question);
        if let Some(i) = &o.interpretation {
            println!("      read as: {i}");
        }
        if !o.detail.is_empty() {
            println!("      {}", o.detail);
        }
    }
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED);
    t.set_header(vec![
        "tag",
        "questions",
        "right",
        "accuracy",
        "p50 ms",
        "p95 ms",
    ]);
    for (tag, s) in &r.by_tag {
        t.add_row(vec![
            Cell::new(tag),
            Cell::new(s.n).set_alignment(CellAlignment::Right),
            Cell::new(s.passed).set_alignment(CellAlignment::Right),
            Cell::new(format!("{:.1}%", s.accuracy * 100.0)).set_alignment(CellAlignment::Right),
            Cell::new(format!("{:.0}", s.p50_ms)).set_alignment(CellAlignment::Right),
            Cell::new(format!("{:.0}", s.p95_ms)).set_alignment(CellAlignment::Right),
        ]);
    }
    println!("{t}");
    println!(
        "execution accuracy {:.1}% ({} of {} answerable; {} wrong numbers, {} declined); not answerable: {} of {} got the expected kind, {} got a number; latency p50 {:.0} ms, p95 {:.0} ms",
        r.execution_accuracy * 100.0,
        r.answered_right,
        r.answerable,
        r.wrong_numbers,
        r.declined,
        r.expected_kind,
        r.not_answerable,
        r.answered_anyway,
        r.p50_ms,
        r.p95_ms
    );
}
