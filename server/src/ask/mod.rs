//! Asking: the one path every question takes, from the CLI, the HTTP API,
//! Slack or the report job. Conversation context, retrieval, the planner,
//! the compiler, the guard, the engine, then the answer (table, chart,
//! narration, suggestions), stored with the conversation.

pub mod eval;
pub mod interpret;
pub mod llm;
pub mod plan;
pub mod read;
pub mod store;
#[cfg(test)]
mod tests;
pub mod vocab;
pub mod when;
pub mod words;

use std::sync::Arc;
use std::time::Instant;

use quarry_retrieval::{QuestionLookup, SemanticCache};
use quarry_schema::SemanticQuery;
use quarry_schema::compile::{CompileError, OutputColumn};
use serde::Serialize;

use crate::config::Config;
use crate::guard::Guard;
use crate::knowledge::{Knowledge, KnowledgeError, SyncMode};
use crate::semantic::{SemanticError, Workspace};
use plan::{Choice, Context, Outcome, Planner};
use store::{Store, StoreError};

pub use plan::{Clarification, Planned, Refusal};

#[derive(Debug, thiserror::Error)]
pub enum AskError {
    #[error(transparent)]
    Knowledge(#[from] KnowledgeError),
    #[error(transparent)]
    Semantic(#[from] SemanticError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(
        "the question is empty; ask about a metric, for example \"installs by network last week\""
    )]
    Empty,
    #[error("the question is too long ({0} characters); keep it under 1,000")]
    TooLong(usize),
    #[error("the compiled query was rejected by the SQL guard, which is a bug: {0}")]
    Guard(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Answer,
    Clarification,
    Refusal,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Answer => "answer",
            Kind::Clarification => "clarification",
            Kind::Refusal => "refusal",
        }
    }
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Timings {
    pub retrieval_ms: f64,
    pub plan_ms: f64,
    pub compile_ms: f64,
    pub execute_ms: f64,
    pub answer_ms: f64,
    pub total_ms: f64,
}

/// Everything an answer holds; the JSON of `quarry ask --format json` and
/// of the HTTP API.
#[derive(Debug, Clone, Serialize)]
pub struct Response {
    pub kind: Kind,
    pub question: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
    pub interpretation: Option<String>,
    pub semantic_query: Option<SemanticQuery>,
    pub sql: Option<String>,
    pub columns: Vec<OutputColumn>,
    pub rows: Vec<Vec<serde_json::Value>>,
    /// The narration of an answer, the question of a clarification, the
    /// reason of a refusal.
    pub narrative: String,
    pub chart: Option<crate::answer::chart::Chart>,
    pub suggestions: Vec<String>,
    pub options: Vec<Choice>,
    pub notes: Vec<String>,
    pub confidence: Option<f32>,
    /// Which planner made the plan: `deterministic`, `verified`, `cache`.
    pub planner: String,
    pub timings: Timings,
}

impl Response {
    fn new(kind: Kind, question: &str) -> Self {
        Self {
            kind,
            question: question.to_string(),
            session: None,
            interpretation: None,
            semantic_query: None,
            sql: None,
            columns: Vec::new(),
            rows: Vec::new(),
            narrative: String::new(),
            chart: None,
            suggestions: Vec::new(),
            options: Vec::new(),
            notes: Vec::new(),
            confidence: None,
            planner: "deterministic".into(),
            timings: Timings::default(),
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct AskOptions {
    pub session: Option<String>,
    /// Skip the semantic cache (evaluation measures the planner itself).
    pub no_cache: bool,
}

/// The question path, built once and shared by every front end.
pub struct Asker {
    pub ws: Workspace,
    pub knowledge: Knowledge,
    pub store: Option<Store>,
    guard: Guard,
    cache: SemanticCache<Arc<Response>>,
}

impl std::fmt::Debug for Asker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Asker").finish_non_exhaustive()
    }
}

pub const MAX_QUESTION: usize = 1000;

impl Asker {
    /// Opens the workspace and retrieval (bringing the index up to date) and
    /// the conversation store.
    pub async fn open(cfg: &Config) -> Result<Self, AskError> {
        let ws = Workspace::open(cfg).await?;
        let knowledge = Knowledge::open(
            cfg,
            &ws,
            SyncMode::IfStale,
            &quarry_retrieval::indexer::Silent,
        )
        .await?;
        let store = Store::open(&cfg.data_dir.join("quarry.sqlite"))?;
        Ok(Self::new(ws, knowledge, Some(store), cfg))
    }

    pub fn new(ws: Workspace, knowledge: Knowledge, store: Option<Store>, cfg: &Config) -> Self {
        let guard = Guard::from_model(
            &ws.model,
            ws.engine.tables().iter().cloned(),
            crate::udf::names().iter().map(|s| s.to_string()),
            ws.model.default_limit.max(1),
        );
        let cache = SemanticCache::new(&cfg.retrieval.cache);
        cache.set_versions(&knowledge.data_version, &knowledge.model_version);
        Self {
            ws,
            knowledge,
            store,
            guard,
            cache,
        }
    }

    pub fn guard(&self) -> &Guard {
        &self.guard
    }

    pub async fn ask(&self, question: &str, opts: &AskOptions) -> Result<Response, AskError> {
        let t0 = Instant::now();
        let question = question.trim();
        if question.is_empty() {
            return Err(AskError::Empty);
        }
        if question.chars().count() > MAX_QUESTION {
            return Err(AskError::TooLong(question.chars().count()));
        }
        let ctx = match (&self.store, &opts.session) {
            (Some(s), Some(id)) => s.context(id)?,
            _ => Context::default(),
        };
        let fresh = ctx.last.is_none() && ctx.pending.is_none();

        let t = Instant::now();
        let search = self
            .knowledge
            .retriever
            .search(question, 24)
            .await
            .map_err(KnowledgeError::from)?;
        let retrieval_ms = ms(t);
        let lexicon = self.knowledge.retriever.lexicon();

        let t = Instant::now();
        let mut planner_name = "deterministic";
        let cached_plan = if fresh && !opts.no_cache {
            match self
                .cache
                .lookup_question(&lexicon, question, &search.embedding)
            {
                QuestionLookup::Hit { plan, .. } => Some(plan),
                QuestionLookup::Miss { .. } => None,
            }
        } else {
            None
        };
        let outcome = match cached_plan {
            Some(plan) => {
                planner_name = "cache";
                Outcome::Plan(Planned {
                    query: plan,
                    confidence: 1.0,
                    followup: false,
                    notes: Vec::new(),
                })
            }
            None => {
                let counts = read::value_counts(&lexicon);
                let planner = Planner {
                    model: &self.ws.model,
                    lexicon: &lexicon,
                    value_counts: &counts,
                    as_of: self.ws.period.as_of,
                };
                planner.plan(question, &search.hits, &ctx)
            }
        };
        let plan_ms = ms(t);

        let (mut response, next) = match outcome {
            Outcome::Refuse(r) => {
                let mut resp = Response::new(Kind::Refusal, question);
                resp.narrative = r.reason;
                resp.suggestions = r.suggestions;
                // A refusal leaves the conversation where it was.
                (
                    resp,
                    Context {
                        pending: None,
                        ..ctx.clone()
                    },
                )
            }
            Outcome::Clarify(c) => {
                let mut resp = Response::new(Kind::Clarification, question);
                resp.narrative = c.question.clone();
                resp.options = c.options.clone();
                (
                    resp,
                    Context {
                        last: ctx.last.clone(),
                        pending: Some(c),
                    },
                )
            }
            Outcome::Plan(p) => {
                let resp = self
                    .answer(question, &p, planner_name, !opts.no_cache)
                    .await?;
                if resp.kind == Kind::Answer && fresh && !opts.no_cache && planner_name != "cache" {
                    self.cache.remember_question(
                        &lexicon,
                        question,
                        search.embedding.clone(),
                        p.query.clone(),
                    );
                }
                let next = if resp.kind == Kind::Answer {
                    Context {
                        last: Some(p.query.clone()),
                        pending: None,
                    }
                } else {
                    Context {
                        pending: None,
                        ..ctx.clone()
                    }
                };
                (resp, next)
            }
        };
        response.timings.retrieval_ms = retrieval_ms;
        response.timings.plan_ms = plan_ms;
        response.timings.total_ms = ms(t0);
        if let (Some(s), Some(id)) = (&self.store, &opts.session) {
            response.session = Some(id.clone());
            let json = serde_json::to_value(&response).unwrap_or_default();
            s.record(id, question, response.kind.as_str(), &json, &next)?;
        }
        Ok(response)
    }

    /// Compiles, checks, runs and presents a plan.
    async fn answer(
        &self,
        question: &str,
        p: &Planned,
        planner: &str,
        use_cache: bool,
    ) -> Result<Response, AskError> {
        let model = &self.ws.model;
        if use_cache && let Some(hit) = self.cache.get_result(&p.query) {
            let mut r = (*hit).clone();
            r.question = question.to_string();
            r.planner = format!("{planner}+result-cache");
            r.timings = Timings::default();
            return Ok(r);
        }
        let t = Instant::now();
        let compiled = match self.ws.compile(&p.query) {
            Ok(c) => c,
            Err(SemanticError::Compile(e)) => return Ok(self.cannot(question, p, &e)),
            Err(e) => return Err(e.into()),
        };
        self.guard
            .check(&compiled.sql)
            .map_err(|e| AskError::Guard(e.to_string()))?;
        let compile_ms = ms(t);
        let t = Instant::now();
        let result = self
            .ws
            .engine
            .run_statement(&compiled.statement)
            .await
            .map_err(SemanticError::from)?;
        let execute_ms = ms(t);
        let t = Instant::now();
        let rows = result.rows_json();
        let mut r = Response::new(Kind::Answer, question);
        r.interpretation = Some(interpret::interpretation(model, &compiled));
        r.chart = Some(crate::answer::chart::choose(&compiled, model, &rows));
        r.narrative = crate::answer::narrate::narrate(&compiled, model, &rows)
            .unwrap_or_else(|e| format!("({e})"));
        r.suggestions = crate::answer::suggest::suggest(&compiled.query, model);
        r.semantic_query = Some(compiled.query.clone());
        r.sql = Some(compiled.sql.clone());
        r.columns = compiled.columns.clone();
        r.rows = rows;
        r.notes = p
            .notes
            .iter()
            .cloned()
            .chain(compiled.notes.clone())
            .collect();
        r.confidence = Some(p.confidence);
        r.planner = planner.to_string();
        r.timings.compile_ms = compile_ms;
        r.timings.execute_ms = execute_ms;
        r.timings.answer_ms = ms(t);
        if use_cache {
            self.cache.put_result(&p.query, Arc::new(r.clone()));
        }
        Ok(r)
    }

    /// A plan the semantic layer cannot run: say why, never a number.
    fn cannot(&self, question: &str, p: &Planned, e: &CompileError) -> Response {
        let mut r = Response::new(Kind::Refusal, question);
        r.narrative = format!(
            "I understood this as {}, but {e}.",
            interpret::plan_summary(&self.ws.model, &p.query)
        );
        r.semantic_query = Some(p.query.clone());
        r.suggestions = crate::answer::suggest::suggest(&p.query, &self.ws.model);
        r
    }
}

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1e3
}
