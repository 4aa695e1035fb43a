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

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;

use quarry_retrieval::{QuestionLookup, SemanticCache};
use quarry_schema::SemanticQuery;
use quarry_schema::compile::{CompileError, CompiledQuery, OutputColumn};
use quarry_schema::model::VerifiedQuery;
use serde::Serialize;

use crate::config::Config;
use crate::guard::Guard;
use crate::knowledge::{Knowledge, KnowledgeError, SyncMode};
use crate::semantic::{SemanticError, Workspace};
use plan::{Choice, Context, Outcome, Planner, Ranked};
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
    #[error("{0}")]
    Invalid(String),
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
    /// The turn's number in its conversation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub turn: Option<i64>,
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
            turn: None,
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

/// The parts of an answer as they become known, for front ends that
/// stream (the server's Server-Sent Events). The same parts, in the same
/// order, make up the final [`Response`].
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum AskEvent {
    /// First, once the conversation is locked for this question.
    Conversation {
        conversation_id: String,
        turn: i64,
    },
    Interpretation {
        kind: Kind,
        interpretation: Option<String>,
        confidence: Option<f32>,
    },
    Sql {
        sql: String,
    },
    Table {
        columns: Vec<OutputColumn>,
        rows: Vec<Vec<serde_json::Value>>,
    },
    Chart(crate::answer::chart::Chart),
    Narrative {
        delta: String,
    },
    Options {
        options: Vec<Choice>,
    },
    Suggestions {
        suggestions: Vec<String>,
    },
}

impl AskEvent {
    /// The SSE event name.
    pub fn name(&self) -> &'static str {
        match self {
            AskEvent::Conversation { .. } => "conversation",
            AskEvent::Interpretation { .. } => "interpretation",
            AskEvent::Sql { .. } => "sql",
            AskEvent::Table { .. } => "table",
            AskEvent::Chart(_) => "chart",
            AskEvent::Narrative { .. } => "narrative",
            AskEvent::Options { .. } => "options",
            AskEvent::Suggestions { .. } => "suggestions",
        }
    }

    /// Every part of a finished response, in streaming order.
    pub fn all(r: &Response) -> Vec<AskEvent> {
        let mut out = vec![AskEvent::Interpretation {
            kind: r.kind,
            interpretation: r.interpretation.clone(),
            confidence: r.confidence,
        }];
        if r.kind == Kind::Answer {
            if let Some(sql) = &r.sql {
                out.push(AskEvent::Sql { sql: sql.clone() });
            }
            out.push(AskEvent::Table {
                columns: r.columns.clone(),
                rows: r.rows.clone(),
            });
        }
        if let Some(c) = &r.chart {
            out.push(AskEvent::Chart(c.clone()));
        }
        out.push(AskEvent::Narrative {
            delta: r.narrative.clone(),
        });
        if !r.options.is_empty() {
            out.push(AskEvent::Options {
                options: r.options.clone(),
            });
        }
        out.push(AskEvent::Suggestions {
            suggestions: r.suggestions.clone(),
        });
        out
    }
}

/// Where streamed parts go; `&|_| {}` when nobody listens.
pub type Sink<'a> = &'a (dyn Fn(AskEvent) + Send + Sync);

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
    /// Questions saved as verified through the API, answered from their
    /// plan word for word (the model's own are in `ws.model`).
    saved: RwLock<Vec<VerifiedQuery>>,
    /// One question at a time per conversation, so two tabs on the same
    /// conversation cannot interleave their context.
    sessions: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    /// The optional LLM: plans what the deterministic planner would ask
    /// back about, and words narrations, when `[llm]` is configured.
    llm: Option<llm::LlmPlanner>,
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
        let asker = Self::new(ws, knowledge, Some(store), cfg);
        asker.load_saved().await?;
        Ok(asker)
    }

    /// Puts the verified questions saved in the store back into the
    /// planner and the index (an index rebuilt from the model alone drops
    /// them; only new or changed ones are embedded).
    async fn load_saved(&self) -> Result<(), AskError> {
        let Some(store) = &self.store else {
            return Ok(());
        };
        let saved: Vec<VerifiedQuery> = store
            .verified()?
            .into_iter()
            .filter(|s| self.ws.compile(&s.semantic_query).is_ok())
            .map(|s| VerifiedQuery {
                question: s.question,
                query: s.semantic_query,
            })
            .collect();
        if saved.is_empty() {
            return Ok(());
        }
        let docs = saved
            .iter()
            .map(|v| quarry_retrieval::docs::verified_document(&v.question, &v.query))
            .collect();
        let r = &self.knowledge.retriever;
        let n = quarry_retrieval::indexer::upsert(r.embedder(), r.index().as_ref(), docs)
            .await
            .map_err(KnowledgeError::from)?;
        if n > 0 {
            r.reload().await.map_err(KnowledgeError::from)?;
        }
        if let Ok(mut s) = self.saved.write() {
            *s = saved;
        }
        Ok(())
    }

    /// Saves a question and its plan as verified: checked by compiling it,
    /// stored, indexed and used at once.
    pub async fn save_verified(
        &self,
        question: &str,
        query: &SemanticQuery,
        source: &str,
    ) -> Result<store::SavedQuery, AskError> {
        let question = question.trim();
        if question.is_empty() {
            return Err(AskError::Empty);
        }
        if question.chars().count() > MAX_QUESTION {
            return Err(AskError::TooLong(question.chars().count()));
        }
        let query = query.canonical();
        match self.ws.compile(&query) {
            Ok(_) => {}
            Err(SemanticError::Compile(e)) => {
                return Err(AskError::Invalid(format!(
                    "the plan cannot be saved because it does not compile: {e}"
                )));
            }
            Err(e) => return Err(e.into()),
        }
        let Some(store) = &self.store else {
            return Err(AskError::Invalid(
                "verified questions need the conversation store, which this run has not opened"
                    .into(),
            ));
        };
        let saved = store.save_verified(question, &query, source)?;
        let r = &self.knowledge.retriever;
        let doc = quarry_retrieval::docs::verified_document(question, &query);
        quarry_retrieval::indexer::upsert(r.embedder(), r.index().as_ref(), vec![doc])
            .await
            .map_err(KnowledgeError::from)?;
        r.reload().await.map_err(KnowledgeError::from)?;
        if let Ok(mut s) = self.saved.write() {
            s.retain(|v| v.question != question);
            s.push(VerifiedQuery {
                question: question.to_string(),
                query,
            });
        }
        // A cached plan for the same words must not win over the verified one.
        self.cache.invalidate();
        Ok(saved)
    }

    /// Every verified question: the model's, then those saved at run time.
    pub fn verified_questions(&self) -> Vec<VerifiedQuery> {
        let mut out = self.ws.model.verified_queries.clone();
        if let Ok(s) = self.saved.read() {
            for v in s.iter() {
                if !out.iter().any(|m| m.question == v.question) {
                    out.push(v.clone());
                }
            }
        }
        out
    }

    /// Forgets cached answers, so an answer marked wrong is worked out
    /// afresh next time.
    pub fn forget_cached(&self) {
        self.cache.invalidate();
    }

    fn saved_plan(&self, question: &str) -> Option<SemanticQuery> {
        let norm = |s: &str| quarry_retrieval::lexical::normalise(s).join(" ");
        let q = norm(question);
        let saved = self.saved.read().ok()?;
        saved
            .iter()
            .find(|v| norm(&v.question) == q)
            .map(|v| v.query.canonical())
    }

    fn session_lock(&self, id: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut map = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
        // Drop locks nobody holds, so the map does not grow without bound.
        if map.len() > 1024 {
            map.retain(|_, l| Arc::strong_count(l) > 1);
        }
        Arc::clone(map.entry(id.to_string()).or_default())
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
        let llm = match llm::LlmPlanner::new(&cfg.llm) {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!("the LLM is off: {e}");
                None
            }
        };
        Self {
            ws,
            knowledge,
            store,
            guard,
            cache,
            saved: RwLock::new(Vec::new()),
            sessions: Mutex::new(HashMap::new()),
            llm,
        }
    }

    pub fn guard(&self) -> &Guard {
        &self.guard
    }

    pub async fn ask(&self, question: &str, opts: &AskOptions) -> Result<Response, AskError> {
        self.ask_with(question, opts, &|_| {}).await
    }

    /// Answers a question, sending its parts to `sink` as they are known.
    pub async fn ask_with(
        &self,
        question: &str,
        opts: &AskOptions,
        sink: Sink<'_>,
    ) -> Result<Response, AskError> {
        let t0 = Instant::now();
        let question = question.trim();
        if question.is_empty() {
            return Err(AskError::Empty);
        }
        if question.chars().count() > MAX_QUESTION {
            return Err(AskError::TooLong(question.chars().count()));
        }
        let lock = opts.session.as_deref().map(|id| self.session_lock(id));
        let _held = match &lock {
            Some(l) => Some(l.lock().await),
            None => None,
        };
        let turn = match (&self.store, &opts.session) {
            (Some(s), Some(id)) => {
                let seq = s.next_seq(id)?;
                sink(AskEvent::Conversation {
                    conversation_id: id.clone(),
                    turn: seq,
                });
                Some(seq)
            }
            _ => None,
        };
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
        let verified = self.saved_plan(question);
        if verified.is_some() {
            planner_name = "verified";
        }
        let outcome = match verified.or(cached_plan) {
            Some(plan) => {
                if planner_name != "verified" {
                    planner_name = "cache";
                }
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
        // What the deterministic planner would ask back about, an LLM (when
        // configured) may plan instead; its plan is compiled and checked
        // like any other, and anything it cannot settle stays a question.
        let mut llm_sql: Option<(String, String)> = None;
        let outcome = match (&self.llm, outcome) {
            (Some(llm), Outcome::Clarify(c)) if planner_name == "deterministic" => {
                match self.llm_plan(llm, question, &search.hits, &ctx).await {
                    Some(llm::LlmPlan::Plan(q)) => {
                        planner_name = "llm";
                        Outcome::Plan(Planned {
                            query: q.canonical(),
                            confidence: 0.8,
                            followup: ctx.last.is_some(),
                            notes: vec![
                                "Planned by the LLM from the semantic model; the plan was checked by the compiler.".into(),
                            ],
                        })
                    }
                    Some(llm::LlmPlan::Refuse { reason }) => {
                        planner_name = "llm";
                        Outcome::Refuse(Refusal {
                            reason,
                            suggestions: Vec::new(),
                        })
                    }
                    Some(llm::LlmPlan::Sql { sql, note }) => {
                        planner_name = "llm-sql";
                        llm_sql = Some((sql, note));
                        Outcome::Clarify(c)
                    }
                    Some(llm::LlmPlan::Clarify { .. }) | None => Outcome::Clarify(c),
                }
            }
            (_, o) => o,
        };
        let plan_ms = ms(t);

        let mut streamed = 0;
        let (mut response, next) = if let Some((sql, note)) = llm_sql {
            let (r, sent) = self.answer_sql(question, &sql, &note, sink).await?;
            streamed = sent;
            // The conversation keeps its last plan: raw SQL is no plan to
            // follow up on.
            (
                r,
                Context {
                    pending: None,
                    ..ctx.clone()
                },
            )
        } else {
            match outcome {
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
                            pending: Some(c),
                            ..ctx.clone()
                        },
                    )
                }
                Outcome::Plan(p) => {
                    let (resp, sent) = self
                        .answer(question, &p, planner_name, !opts.no_cache, sink)
                        .await?;
                    streamed = sent;
                    if resp.kind == Kind::Answer
                        && fresh
                        && !opts.no_cache
                        && planner_name == "deterministic"
                    {
                        self.cache.remember_question(
                            &lexicon,
                            question,
                            search.embedding.clone(),
                            p.query.clone(),
                        );
                    }
                    let next = if resp.kind == Kind::Answer {
                        let ranked = Ranked::of(&p.query, |name| {
                            let i = resp.columns.iter().position(|c| c.name == name)?;
                            resp.rows
                                .iter()
                                .map(|row| row.get(i)?.as_str().map(str::to_string))
                                .collect()
                        });
                        Context {
                            last: Some(p.query.clone()),
                            pending: None,
                            ranked,
                        }
                    } else {
                        Context {
                            pending: None,
                            ..ctx.clone()
                        }
                    };
                    (resp, next)
                }
            }
        };
        response.timings.retrieval_ms = retrieval_ms;
        response.timings.plan_ms = plan_ms;
        for e in AskEvent::all(&response).into_iter().skip(streamed) {
            sink(e);
        }
        response.timings.total_ms = ms(t0);
        if let (Some(s), Some(id)) = (&self.store, &opts.session) {
            response.session = Some(id.clone());
            response.turn = turn;
            let json = serde_json::to_value(&response).unwrap_or_default();
            let seq = s.record(id, question, response.kind.as_str(), &json, &next)?;
            response.turn = Some(seq);
        }
        Ok(response)
    }

    /// Compiles, checks, runs and presents a plan. Also returns how many of
    /// the answer's parts (see [`AskEvent::all`]) went to `sink` already.
    async fn answer(
        &self,
        question: &str,
        p: &Planned,
        planner: &str,
        use_cache: bool,
        sink: Sink<'_>,
    ) -> Result<(Response, usize), AskError> {
        let model = &self.ws.model;
        if use_cache && let Some(hit) = self.cache.get_result(&p.query) {
            let mut r = (*hit).clone();
            r.question = question.to_string();
            r.planner = format!("{planner}+result-cache");
            r.timings = Timings::default();
            return Ok((r, 0));
        }
        let t = Instant::now();
        let finer;
        let (p, compiled) = match self.ws.compile(&p.query) {
            Ok(c) => (p, c),
            Err(SemanticError::Compile(e)) => match self.finer_grain(p, &e) {
                Some((q, c)) => {
                    finer = q;
                    (&finer, c)
                }
                None => return Ok((self.cannot(question, p, &e), 0)),
            },
            Err(e) => return Err(e.into()),
        };
        self.guard
            .check(&compiled.sql)
            .map_err(|e| AskError::Guard(e.to_string()))?;
        let compile_ms = ms(t);
        let interpretation = interpret::interpretation(model, &compiled);
        sink(AskEvent::Interpretation {
            kind: Kind::Answer,
            interpretation: Some(interpretation.clone()),
            confidence: Some(p.confidence),
        });
        sink(AskEvent::Sql {
            sql: compiled.sql.clone(),
        });
        let t = Instant::now();
        let result = self
            .ws
            .engine
            .run_statement(&compiled.statement)
            .await
            .map_err(SemanticError::from)?;
        let execute_ms = ms(t);
        let t = Instant::now();
        let mut rows = result.rows_json();
        let unmeasured = trim_unmeasured(&compiled.query, &mut rows);
        sink(AskEvent::Table {
            columns: compiled.columns.clone(),
            rows: rows.clone(),
        });
        let mut r = Response::new(Kind::Answer, question);
        let mut sent = 3;
        r.interpretation = Some(interpretation);
        r.chart = Some(crate::answer::chart::choose(&compiled, model, &rows));
        r.narrative = match self.llm.as_ref().filter(|l| l.narrates()) {
            Some(llm) => {
                let facts = crate::answer::narrate::narration_facts(&compiled, model, &rows);
                // The chart goes out first so it is drawn while the words
                // arrive.
                if let Some(chart) = &r.chart {
                    sink(AskEvent::Chart(chart.clone()));
                }
                sent = 4;
                let mut on_token = |piece: &str| {
                    sink(AskEvent::Narrative {
                        delta: piece.to_string(),
                    })
                };
                match llm.narrate(&facts, &mut on_token).await {
                    Ok(text) => {
                        sent = 5;
                        text
                    }
                    Err(e) => {
                        tracing::warn!("LLM narration failed, using the template: {e}");
                        r.notes
                            .push(format!("The narration template was used: {e}"));
                        crate::answer::narrate::narrate(&compiled, model, &rows)
                            .unwrap_or_else(|e| format!("({e})"))
                    }
                }
            }
            None => crate::answer::narrate::narrate(&compiled, model, &rows)
                .unwrap_or_else(|e| format!("({e})")),
        };
        r.suggestions = crate::answer::suggest::suggest(&compiled.query, model);
        r.semantic_query = Some(compiled.query.clone());
        r.sql = Some(compiled.sql.clone());
        r.columns = compiled.columns.clone();
        r.rows = rows;
        let mut notes: Vec<String> = p
            .notes
            .iter()
            .cloned()
            .chain(compiled.notes.clone())
            .collect();
        notes.append(&mut r.notes);
        if unmeasured > 0 {
            notes.push(format!(
                "{unmeasured} period(s) at the edge of the range have no value yet (for retention, installs too recent to have reached the day), so they are left out"
            ));
        }
        r.notes = notes;
        r.confidence = Some(p.confidence);
        r.planner = planner.to_string();
        r.timings.compile_ms = compile_ms;
        r.timings.execute_ms = execute_ms;
        r.timings.answer_ms = ms(t);
        if use_cache {
            self.cache.put_result(&p.query, Arc::new(r.clone()));
        }
        Ok((r, sent))
    }

    /// Asks the LLM for a plan; `None` when it fails (the deterministic
    /// outcome stands, and the failure is logged with what to check).
    async fn llm_plan(
        &self,
        llm: &llm::LlmPlanner,
        question: &str,
        hits: &[quarry_retrieval::Hit],
        ctx: &Context,
    ) -> Option<llm::LlmPlan> {
        let req = llm::PlanRequest {
            question,
            model: &self.ws.model,
            hits,
            last: ctx.last.as_ref(),
            as_of: self.ws.period.as_of,
        };
        match llm.plan(&req, &Checks(self)).await {
            Ok(p) => Some(p),
            Err(e) => {
                tracing::warn!("the LLM planner failed; asking the user instead: {e}");
                None
            }
        }
    }

    /// Runs SQL the LLM wrote (already through the guard) and shows it as a
    /// table, saying plainly that no semantic plan was used.
    async fn answer_sql(
        &self,
        question: &str,
        sql: &str,
        note: &str,
        sink: Sink<'_>,
    ) -> Result<(Response, usize), AskError> {
        sink(AskEvent::Interpretation {
            kind: Kind::Answer,
            interpretation: Some(format!("SQL written for this question: {note}")),
            confidence: None,
        });
        sink(AskEvent::Sql {
            sql: sql.to_string(),
        });
        let t = Instant::now();
        let result = self.ws.engine.sql(sql).await.map_err(SemanticError::from)?;
        let rows = result.rows_json();
        let columns: Vec<OutputColumn> = result
            .batches
            .first()
            .map(|b| b.schema())
            .map(|schema| {
                schema
                    .fields()
                    .iter()
                    .map(|f| OutputColumn {
                        name: f.name().clone(),
                        label: f.name().replace('_', " "),
                        role: if f.data_type().is_numeric() {
                            quarry_schema::compile::OutputRole::Metric
                        } else {
                            quarry_schema::compile::OutputRole::Dimension
                        },
                        format: None,
                    })
                    .collect()
            })
            .unwrap_or_default();
        sink(AskEvent::Table {
            columns: columns.clone(),
            rows: rows.clone(),
        });
        let mut r = Response::new(Kind::Answer, question);
        r.interpretation = Some(format!("SQL written for this question: {note}"));
        r.sql = Some(sql.to_string());
        r.narrative = format!(
            "The semantic layer has no plan for this, so this table comes from SQL written for the question and checked by the SQL guard ({} rows). Check the SQL before relying on it.",
            rows.len()
        );
        r.columns = columns;
        r.rows = rows;
        r.chart = Some(crate::answer::chart::Chart {
            kind: crate::answer::chart::ChartKind::Table,
            title: question.to_string(),
            spec: None,
        });
        r.notes = vec!["Not from a verified metric definition.".into()];
        r.planner = "llm-sql".into();
        r.timings.execute_ms = ms(t);
        Ok((r, 3))
    }

    /// A plan whose metric cannot reach a dimension, with the metric the
    /// model names as its `finer_grain` in its place, when that one can.
    fn finer_grain(&self, p: &Planned, e: &CompileError) -> Option<(Planned, CompiledQuery)> {
        let CompileError::Unreachable {
            metric, dimension, ..
        } = e
        else {
            return None;
        };
        let model = &self.ws.model;
        let from = model.metrics.get(metric)?;
        let to = model.metrics.get(from.finer_grain.as_ref()?)?;
        let mut q = p.query.clone();
        for m in &mut q.metrics {
            if m == metric {
                m.clone_from(&to.name);
            }
        }
        q.metrics.dedup();
        for o in &mut q.order {
            if o.by == *metric {
                o.by.clone_from(&to.name);
            }
        }
        for c in &mut q.conditions {
            if c.metric == *metric {
                c.metric.clone_from(&to.name);
            }
        }
        let compiled = self.ws.compile(&q).ok()?;
        let dim = model
            .dimensions
            .get(dimension)
            .map_or(dimension.as_str(), |d| d.label.as_str());
        let mut notes = p.notes.clone();
        notes.push(format!(
            "{} cannot be read by {dim}, so this is {}: {}",
            from.label,
            to.label,
            to.description.trim().trim_end_matches('.')
        ));
        Some((
            Planned {
                query: q,
                notes,
                ..p.clone()
            },
            compiled,
        ))
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

/// The compiler and the guard, as the LLM planner's judges.
struct Checks<'a>(&'a Asker);

#[async_trait::async_trait]
impl llm::PlanCheck for Checks<'_> {
    async fn check_plan(&self, q: &SemanticQuery) -> Result<(), String> {
        self.0.ws.compile(q).map(|_| ()).map_err(|e| e.to_string())
    }

    async fn check_sql(&self, sql: &str) -> Result<String, String> {
        let checked = self.0.guard.check(sql).map_err(|e| e.to_string())?;
        // Planned, not run: unknown columns and type errors come back here.
        self.0
            .ws
            .engine
            .context()
            .state()
            .create_logical_plan(&checked.sql)
            .await
            .map_err(|e| e.to_string())?;
        Ok(checked.sql)
    }
}

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1e3
}

/// A time series whose first or last buckets have no value in any metric
/// (D7 retention of installs less than seven days old): those buckets are
/// not measured yet rather than zero, and are left out. Returns how many.
fn trim_unmeasured(
    q: &quarry_schema::SemanticQuery,
    rows: &mut Vec<Vec<serde_json::Value>>,
) -> usize {
    if q.dimensions.len() != 1 || q.dimensions[0].grain.is_none() || q.compare.is_some() {
        return 0;
    }
    let empty =
        |r: &Vec<serde_json::Value>| r.len() > 1 && r[1..].iter().all(serde_json::Value::is_null);
    let before = rows.len();
    while rows.last().is_some_and(empty) {
        rows.pop();
    }
    let lead = rows.iter().take_while(|r| empty(r)).count();
    rows.drain(..lead);
    before - rows.len()
}
