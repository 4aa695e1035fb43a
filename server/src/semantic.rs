//! The bridge between the semantic layer and the engine: load the model the
//! configuration names, compile a plan against the warehouse's as-of date and
//! run it.

use std::time::{Duration, Instant};

use quarry_schema::{CompileContext, CompiledQuery, SemanticModel, SemanticQuery};
use serde::Serialize;

use crate::config::Config;
use crate::engine::{DataPeriod, Engine, EngineError, QueryResult};
use crate::ml::features::{Templates, install};
use crate::ml::registry::Registry;
use crate::ml::spec::MlFolder;

#[derive(Debug, thiserror::Error)]
pub enum SemanticError {
    #[error(transparent)]
    Model(#[from] quarry_schema::LoadErrors),
    #[error(transparent)]
    Compile(#[from] quarry_schema::CompileError),
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error(transparent)]
    MlSpec(#[from] crate::ml::spec::SpecError),
    #[error(transparent)]
    Features(#[from] crate::ml::features::FeatureError),
}

/// The configured model's ML folder: the demo's, or `<model dir>/ml/`.
pub fn load_ml(cfg: &Config) -> Result<MlFolder, crate::ml::spec::SpecError> {
    match &cfg.model.dir {
        Some(dir) => MlFolder::load(dir),
        None => MlFolder::demo(),
    }
}

/// The workspace when the semantic model fits the warehouse, `None` when
/// the built-in demo model does not fit a folder of one's own files, so the
/// caller can fall back to [`bare_engine`]. A model the user named is never
/// set aside: its load errors (with file and line), a warehouse it does not
/// fit and a broken ML folder or feature table are all errors.
pub async fn open_if_modelled(cfg: &Config) -> Result<Option<Workspace>, SemanticError> {
    match Workspace::open(cfg).await {
        Ok(ws) => Ok(Some(ws)),
        Err(e) if cfg.model.dir.is_some() => Err(e),
        Err(
            e @ (SemanticError::Model(_) | SemanticError::Features(_) | SemanticError::MlSpec(_)),
        ) => Err(e),
        Err(SemanticError::Engine(_) | SemanticError::Compile(_)) => Ok(None),
    }
}

/// The warehouse alone, with the scoring UDFs.
pub async fn bare_engine(cfg: &Config) -> Result<Engine, SemanticError> {
    let engine = Engine::open(&cfg.warehouse_dir(), &cfg.engine).await?;
    crate::udf::register_all(engine.context(), &registry(cfg));
    Ok(engine)
}

/// Where trained models live.
pub fn registry(cfg: &Config) -> Registry {
    Registry::new(cfg.data_dir.join("registry"))
}

/// The configured model: a YAML folder, or the built-in demo model.
pub fn load_model(cfg: &Config) -> Result<SemanticModel, quarry_schema::LoadErrors> {
    match &cfg.model.dir {
        Some(dir) => quarry_schema::load_dir(dir),
        None => quarry_schema::demo_model::load(),
    }
}

/// A compiled and executed plan.
#[derive(Debug, Clone)]
pub struct Answer {
    pub compiled: CompiledQuery,
    pub result: QueryResult,
    pub compile_time: Duration,
    pub run_time: Duration,
}

/// A model, an engine over the warehouse it describes, and the data period.
#[derive(Debug)]
pub struct Workspace {
    pub model: SemanticModel,
    pub engine: Engine,
    pub period: DataPeriod,
    pub ml: MlFolder,
    pub registry: Registry,
    /// Identifies the warehouse's files as they were when opened.
    pub data_version: String,
}

#[derive(Debug, Serialize)]
pub struct AnswerJson<'a> {
    pub sql: &'a str,
    pub columns: Vec<String>,
    pub rows: Vec<Vec<serde_json::Value>>,
    pub semantic_query: &'a SemanticQuery,
    pub window: Option<quarry_schema::time::DateRange>,
    pub comparison_window: Option<quarry_schema::time::DateRange>,
    pub notes: &'a [String],
}

impl Workspace {
    pub async fn open(cfg: &Config) -> Result<Self, SemanticError> {
        let model = load_model(cfg)?;
        crate::engine::use_currency(model.vocabulary.currency.as_ref());
        let mut engine = Engine::open(&cfg.warehouse_dir(), &cfg.engine).await?;
        let period = engine.data_period(&model).await?;
        let ml = load_ml(cfg)?;
        let registry = registry(cfg);
        let notice = |m: &str| {
            if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
                eprintln!("{m}");
            }
        };
        let data_version = crate::knowledge::data_version(cfg);
        let report = install(
            engine.context(),
            &ml,
            &registry,
            &cfg.data_dir.join("features"),
            period.as_of,
            &data_version,
            &notice,
        )
        .await?;
        engine.add_tables(report.tables);
        engine.add_tables(report.views);
        engine.check_model(&model)?;
        Ok(Self {
            model,
            engine,
            period,
            ml,
            registry,
            data_version,
        })
    }

    /// Scores the model views whole once and keeps them in memory until a
    /// model is promoted: for a server or an evaluation that asks many
    /// questions about fraud, churn and lifetime value.
    pub async fn hold_scores(&self) -> Result<Vec<String>, SemanticError> {
        Ok(crate::ml::features::hold_views(
            self.engine.context(),
            &self.ml,
            &self.registry,
            self.period.as_of,
        )
        .await?)
    }

    /// The ML folder's templates at this warehouse's as-of date.
    pub fn templates(&self) -> Templates {
        Templates::new(&self.ml, self.period.as_of)
    }

    pub fn context(&self) -> CompileContext {
        CompileContext {
            as_of: self.period.as_of,
            data_start: Some(self.period.first),
        }
    }

    pub fn compile(&self, q: &SemanticQuery) -> Result<CompiledQuery, SemanticError> {
        Ok(quarry_schema::compile(&self.model, q, &self.context())?)
    }

    pub async fn answer(&self, q: &SemanticQuery) -> Result<Answer, SemanticError> {
        let t0 = Instant::now();
        let compiled = self.compile(q)?;
        let compile_time = t0.elapsed();
        let t1 = Instant::now();
        let result = self.engine.run_statement(&compiled.statement).await?;
        Ok(Answer {
            compiled,
            result,
            compile_time,
            run_time: t1.elapsed(),
        })
    }
}

impl Answer {
    pub fn to_json(&self) -> AnswerJson<'_> {
        AnswerJson {
            sql: &self.compiled.sql,
            columns: self.result.columns.clone(),
            rows: self.result.rows_json(),
            semantic_query: &self.compiled.query,
            window: self.compiled.window,
            comparison_window: self.compiled.comparison_window,
            notes: &self.compiled.notes,
        }
    }
}
