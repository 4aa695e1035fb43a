//! The optional LLM planner and narrator, through any OpenAI-compatible chat
//! endpoint (OpenAI, vLLM, llama.cpp's server, Ollama).
//!
//! What the model sees is bounded on purpose. The planning prompt
//! (`prompts/plan.md.j2`) holds only the items retrieval found for the
//! question, with their definitions from the semantic model, plus the as-of
//! date and the previous plan; never the whole model and never a data row.
//! Narration (`prompts/narrate.md.j2`) gets the aggregates the caller
//! computed, never result rows.
//!
//! What the model answers is never trusted. The reply is constrained by a
//! JSON schema derived from `SemanticQuery` itself, parsed into the same
//! types the deterministic planner produces, and checked by the caller
//! (compiler, SQL guard, DataFusion planning) through [`PlanCheck`]. A
//! rejected reply goes back to the model with the error, at most
//! [`MAX_LLM_REPAIRS`] times, then the planner gives up with an error that
//! says what to check.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use async_openai::Client;
use async_openai::config::OpenAIConfig;
use async_openai::error::OpenAIError;
use async_openai::types::chat::{
    ChatCompletionRequestMessage, CreateChatCompletionRequest, FinishReason, ResponseFormat,
    ResponseFormatJsonSchema,
};
use async_trait::async_trait;
use chrono::NaiveDate;
use futures::StreamExt;
use minijinja::{AutoEscape, Environment, UndefinedBehavior};
use quarry_retrieval::{Hit, ItemKind};
use quarry_schema::SemanticModel;
use quarry_schema::SemanticQuery;
use quarry_schema::model::{
    Aggregation, DimensionKind, Format, Metric, MetricKind, Operand, Source, TIME_DIMENSION,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::config::{LlmConfig, MAX_LLM_REPAIRS};

const PLAN_TEMPLATE_NAME: &str = "plan.md.j2";
const PLAN_TEMPLATE: &str = include_str!("../../../prompts/plan.md.j2");
const NARRATE_TEMPLATE_NAME: &str = "narrate.md.j2";
const NARRATE_TEMPLATE: &str = include_str!("../../../prompts/narrate.md.j2");
/// The name the JSON schema goes by in the request (`[a-zA-Z0-9_-]{1,64}`).
const SCHEMA_NAME: &str = "quarry_plan";
/// Server messages are quoted in errors; a proxy's HTML error page is not
/// worth quoting whole.
const MAX_QUOTED: usize = 400;
/// Dimension bindings shown per dimension for the raw SQL fallback.
const MAX_BINDINGS: usize = 3;
const GRAINS: [&str; 5] = ["day", "week", "month", "quarter", "year"];

/// Why the LLM gave no plan or narration. Each message says what to check.
#[derive(Debug, thiserror::Error)]
pub enum LlmError {
    #[error("invalid [llm] configuration: {0}")]
    Config(String),
    #[error(
        "cannot reach the LLM endpoint at {base_url}: {message}; check llm.base_url and that the server (OpenAI, vLLM, llama-server, ollama serve) is running and reachable from here"
    )]
    Unreachable { base_url: String, message: String },
    #[error(
        "the LLM endpoint at {base_url} did not answer within {secs} s; raise llm.timeout_secs or use a smaller, faster model"
    )]
    Timeout { base_url: String, secs: u64 },
    #[error("the LLM endpoint answered HTTP {status}: {message}; {hint}")]
    Status {
        status: u16,
        message: String,
        hint: String,
    },
    #[error(
        "the LLM endpoint at {base_url} did not answer in the OpenAI chat format ({message}); check that llm.base_url is the API root, usually ending in /v1"
    )]
    Protocol { base_url: String, message: String },
    #[error(
        "the model sent an empty reply; check that llm.model (\"{model}\") is a chat model the endpoint serves"
    )]
    Empty { model: String },
    #[error("the reply is not JSON: {0}")]
    BadJson(String),
    #[error("the reply does not follow the answer schema: {0}")]
    Schema(String),
    #[error("the {what} was rejected: {message}")]
    Rejected { what: &'static str, message: String },
    #[error(
        "the model gave no usable plan in {attempts} attempts; the last problem: {last}. Check that llm.model (\"{model}\") supports structured output (response_format json_schema), or use a larger model"
    )]
    RepairsExhausted {
        attempts: usize,
        model: String,
        last: Box<LlmError>,
    },
    #[error("cannot render the prompt template: {0}")]
    Template(#[from] minijinja::Error),
}

/// What the LLM made of a question.
#[derive(Debug, Clone, PartialEq)]
pub enum LlmPlan {
    /// A plan that the caller's [`PlanCheck::check_plan`] accepted.
    Plan(SemanticQuery),
    /// Raw SQL, the last resort when the semantic layer cannot express the
    /// question: already through [`PlanCheck::check_sql`], so this is the
    /// guarded SQL. `note` is the model's reason for not writing a plan.
    Sql { sql: String, note: String },
    /// The question is ambiguous; ask it back with these choices.
    Clarify {
        question: String,
        options: Vec<String>,
    },
    /// The question is not about this data.
    Refuse { reason: String },
}

/// One question to plan, with the context retrieval found for it.
#[derive(Debug, Clone, Copy)]
pub struct PlanRequest<'a> {
    pub question: &'a str,
    /// Looked up for the hits' definitions only; the prompt never lists
    /// the whole model.
    pub model: &'a SemanticModel,
    pub hits: &'a [Hit],
    /// The conversation's previous plan, for follow-ups.
    pub last: Option<&'a SemanticQuery>,
    /// The warehouse's as-of date, which relative periods resolve against.
    pub as_of: NaiveDate,
}

/// The caller's checks of what the model proposed. An `Err` is a message the
/// model can act on (the compiler's or the guard's own words): it is sent
/// back verbatim in a repair round.
#[async_trait]
pub trait PlanCheck: Send + Sync {
    /// Ok when the plan compiles for this model and period.
    async fn check_plan(&self, q: &SemanticQuery) -> Result<(), String>;
    /// The guarded SQL (limit added, reprinted) when the guard accepts `sql`
    /// and the engine can plan it.
    async fn check_sql(&self, sql: &str) -> Result<String, String>;
}

/// The answer envelope the model must fill; its JSON schema is what the
/// request constrains the reply to.
#[derive(Debug, Deserialize, JsonSchema)]
struct Envelope {
    /// "plan" for a plan over the listed metrics and dimensions (almost
    /// always); "clarify" when the question is ambiguous; "sql" only when no
    /// plan can express it; "refuse" when it is not about this data.
    kind: EnvelopeKind,
    /// The plan, for kind "plan"; otherwise null.
    plan: Option<SemanticQuery>,
    /// One read-only SELECT, for kind "sql"; otherwise null.
    sql: Option<String>,
    /// For kind "sql": why no plan could express the question.
    note: Option<String>,
    /// For kind "clarify": the question to ask back.
    question: Option<String>,
    /// For kind "clarify": two to four short choices.
    options: Option<Vec<String>>,
    /// For kind "refuse": why, in one sentence for the user.
    reason: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
enum EnvelopeKind {
    Plan,
    Sql,
    Clarify,
    Refuse,
}

/// Plans questions and words answers with an LLM. Built once from the
/// config and shared; every call is independent.
pub struct LlmPlanner {
    client: Client<OpenAIConfig>,
    base_url: String,
    model: String,
    temperature: f32,
    timeout: Duration,
    max_repairs: u8,
    narrate: bool,
    templates: Environment<'static>,
    schema: Value,
}

impl fmt::Debug for LlmPlanner {
    // The client's config holds the API key; it stays out of logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LlmPlanner")
            .field("base_url", &self.base_url)
            .field("model", &self.model)
            .field("temperature", &self.temperature)
            .field("timeout", &self.timeout)
            .field("max_repairs", &self.max_repairs)
            .field("narrate", &self.narrate)
            .finish_non_exhaustive()
    }
}

impl LlmPlanner {
    /// The planner for `cfg`, or None when no endpoint is configured.
    pub fn new(cfg: &LlmConfig) -> Result<Option<Self>, LlmError> {
        let Some(base_url) = cfg.base_url.as_deref() else {
            return Ok(None);
        };
        cfg.validate().map_err(LlmError::Config)?;
        let base_url = base_url.trim_end_matches('/').to_string();
        let model = cfg.model.as_deref().unwrap_or_default().trim().to_string();
        let timeout = Duration::from_secs(cfg.timeout_secs);

        // reqwest is built without a crypto provider of its own (one would
        // be aws-lc, a second C crypto library); ring is compiled already.
        // An error only means a provider is installed, which is as good.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .build()
            .map_err(|e| LlmError::Config(format!("cannot set up the HTTP client: {e}")))?;
        // Every field is set, so nothing comes from OPENAI_* variables of
        // the environment: a local endpoint never receives an OpenAI key.
        let api = OpenAIConfig::new()
            .with_api_base(base_url.clone())
            .with_api_key(
                cfg.api_key
                    .as_ref()
                    .map(|k| k.0.clone())
                    .unwrap_or_default(),
            )
            .with_org_id("")
            .with_project_id("");

        let mut templates = Environment::new();
        // A typo in a template must fail the tests, not send a blank prompt.
        templates.set_undefined_behavior(UndefinedBehavior::Strict);
        templates.set_auto_escape_callback(|_| AutoEscape::None);
        templates.add_template(PLAN_TEMPLATE_NAME, PLAN_TEMPLATE)?;
        templates.add_template(NARRATE_TEMPLATE_NAME, NARRATE_TEMPLATE)?;

        Ok(Some(Self {
            client: Client::build(http, api),
            base_url,
            model,
            temperature: cfg.temperature,
            timeout,
            max_repairs: cfg.max_repairs.min(MAX_LLM_REPAIRS),
            narrate: cfg.narrate,
            templates,
            schema: plan_schema(),
        }))
    }

    /// Whether the config asks for LLM narration.
    pub fn narrates(&self) -> bool {
        self.narrate
    }

    /// The JSON schema the plan replies are constrained by.
    pub fn schema(&self) -> &Value {
        &self.schema
    }

    /// Plans `req.question`. Transport and HTTP errors end the call at once;
    /// a reply that is not JSON, does not fit the schema, or that `check`
    /// rejects is sent back with the reason, up to `max_repairs` times.
    pub async fn plan(
        &self,
        req: &PlanRequest<'_>,
        check: &dyn PlanCheck,
    ) -> Result<LlmPlan, LlmError> {
        let system = self.plan_prompt(req)?;
        let mut messages = vec![
            ChatCompletionRequestMessage::System(system.into()),
            ChatCompletionRequestMessage::User(req.question.into()),
        ];
        let mut attempts = 0;
        loop {
            attempts += 1;
            let reply = self.complete(&messages).await?;
            let problem = match reply {
                Reply::Refusal(reason) => return Ok(LlmPlan::Refuse { reason }),
                Reply::Text { text, truncated } => match accept(&text, truncated, check).await {
                    Ok(plan) => return Ok(plan),
                    Err(problem) => {
                        messages.push(ChatCompletionRequestMessage::Assistant(text.into()));
                        problem
                    }
                },
            };
            if attempts > usize::from(self.max_repairs) {
                return Err(LlmError::RepairsExhausted {
                    attempts,
                    model: self.model.clone(),
                    last: Box::new(problem),
                });
            }
            tracing::debug!(attempts, %problem, "the LLM's plan was rejected; asking again");
            messages.push(ChatCompletionRequestMessage::User(
                repair_message(&problem).into(),
            ));
        }
    }

    /// Streams a narration of one to three sentences, calling `on_token`
    /// with each piece as it arrives, and returns the whole text.
    ///
    /// `facts` must hold aggregates only: the headline values, periods,
    /// changes and leaders the caller computed from the result (as
    /// `answer::narrate` does for the templates), never result rows.
    /// Everything in it is sent to the endpoint.
    pub async fn narrate(
        &self,
        facts: &Value,
        on_token: &mut (dyn FnMut(&str) + Send),
    ) -> Result<String, LlmError> {
        let system = self
            .templates
            .get_template(NARRATE_TEMPLATE_NAME)?
            .render(minijinja::context! { facts => format!("{facts:#}") })?;
        let request = CreateChatCompletionRequest {
            model: self.model.clone(),
            messages: vec![
                ChatCompletionRequestMessage::System(system.into()),
                ChatCompletionRequestMessage::User("Write the narration.".into()),
            ],
            temperature: Some(self.temperature),
            stream: Some(true),
            ..Default::default()
        };
        let streamed = async {
            let mut stream = self
                .client
                .chat()
                .create_stream(request)
                .await
                .map_err(|e| self.api_error(e))?;
            let mut text = String::new();
            while let Some(chunk) = stream.next().await {
                let chunk = chunk.map_err(|e| self.api_error(e))?;
                for choice in chunk.choices.into_iter().filter(|c| c.index == 0) {
                    if let Some(piece) = choice.delta.content
                        && !piece.is_empty()
                    {
                        on_token(&piece);
                        text.push_str(&piece);
                    }
                }
            }
            Ok::<_, LlmError>(text)
        };
        // Dropping the stream on timeout closes the connection.
        let text = tokio::time::timeout(self.timeout, streamed)
            .await
            .map_err(|_| self.timeout_error())??;
        let text = text.trim();
        if text.is_empty() {
            return Err(LlmError::Empty {
                model: self.model.clone(),
            });
        }
        Ok(text.to_string())
    }

    /// The system prompt for `req`, from the retrieved items only.
    pub fn plan_prompt(&self, req: &PlanRequest<'_>) -> Result<String, LlmError> {
        let ctx = PromptContext::build(req);
        Ok(self
            .templates
            .get_template(PLAN_TEMPLATE_NAME)?
            .render(minijinja::value::Serde(&ctx))?)
    }

    async fn complete(&self, messages: &[ChatCompletionRequestMessage]) -> Result<Reply, LlmError> {
        let request = CreateChatCompletionRequest {
            model: self.model.clone(),
            messages: messages.to_vec(),
            temperature: Some(self.temperature),
            response_format: Some(ResponseFormat::JsonSchema {
                json_schema: ResponseFormatJsonSchema {
                    name: SCHEMA_NAME.into(),
                    description: Some(
                        "A query plan for the question, or a clarification, raw SQL or a refusal."
                            .into(),
                    ),
                    schema: self.schema.clone(),
                    strict: Some(true),
                },
            }),
            ..Default::default()
        };
        let response = tokio::time::timeout(self.timeout, self.client.chat().create(request))
            .await
            .map_err(|_| self.timeout_error())?
            .map_err(|e| self.api_error(e))?;
        let Some(choice) = response.choices.into_iter().next() else {
            return Err(LlmError::Empty {
                model: self.model.clone(),
            });
        };
        if let Some(refusal) = choice.message.refusal.filter(|r| !r.trim().is_empty()) {
            return Ok(Reply::Refusal(refusal));
        }
        match choice.message.content {
            Some(text) if !text.trim().is_empty() => Ok(Reply::Text {
                text,
                truncated: choice.finish_reason == Some(FinishReason::Length),
            }),
            _ => Err(LlmError::Empty {
                model: self.model.clone(),
            }),
        }
    }

    fn timeout_error(&self) -> LlmError {
        LlmError::Timeout {
            base_url: self.base_url.clone(),
            secs: self.timeout.as_secs(),
        }
    }

    fn api_error(&self, e: OpenAIError) -> LlmError {
        match e {
            OpenAIError::Reqwest(e) if e.is_timeout() => self.timeout_error(),
            OpenAIError::Reqwest(e) if e.is_connect() || e.is_request() => LlmError::Unreachable {
                base_url: self.base_url.clone(),
                message: with_sources(&e),
            },
            OpenAIError::Reqwest(e) => LlmError::Protocol {
                base_url: self.base_url.clone(),
                message: with_sources(&e),
            },
            OpenAIError::ApiError(r) => {
                let status = r.status_code.as_u16();
                LlmError::Status {
                    status,
                    message: quote(&r.api_error.message),
                    hint: self.status_hint(status),
                }
            }
            OpenAIError::JSONDeserialize(e, body) => LlmError::Protocol {
                base_url: self.base_url.clone(),
                message: format!("{e}; it sent: {}", quote(&body)),
            },
            OpenAIError::InvalidArgument(m) => LlmError::Config(m),
            other => LlmError::Protocol {
                base_url: self.base_url.clone(),
                message: quote(&other.to_string()),
            },
        }
    }

    fn status_hint(&self, status: u16) -> String {
        let model = &self.model;
        match status {
            401 | 403 => "check llm.api_key (or QUARRY__LLM__API_KEY): the endpoint refused the API key, or needs one".into(),
            404 => format!(
                "check llm.base_url (the API root, usually ending in /v1) and llm.model (\"{model}\"): the endpoint does not know one of them"
            ),
            429 => "the endpoint is rate-limiting or out of quota; wait, or check the account behind llm.api_key".into(),
            400 | 422 => format!(
                "the endpoint refused the request; check that llm.model (\"{model}\") exists there and supports structured output (response_format json_schema)"
            ),
            500..=599 => "the LLM server failed; check its logs, or whether the model fits in its memory".into(),
            _ => "check llm.base_url and llm.model".into(),
        }
    }
}

enum Reply {
    Text { text: String, truncated: bool },
    Refusal(String),
}

/// Turns a reply into a plan the caller accepted, or the problem to send back.
async fn accept(text: &str, truncated: bool, check: &dyn PlanCheck) -> Result<LlmPlan, LlmError> {
    let value: Value = serde_json::from_str(json_part(text)).map_err(|e| {
        LlmError::BadJson(if truncated {
            format!("{e} (the reply was cut off at the token limit)")
        } else {
            e.to_string()
        })
    })?;
    let env: Envelope =
        serde_json::from_value(value).map_err(|e| LlmError::Schema(e.to_string()))?;
    let missing = |field: &str| {
        LlmError::Schema(format!(
            "kind is \"{}\" but \"{field}\" is missing or empty",
            kind_name(env.kind)
        ))
    };
    let given = |s: &Option<String>| {
        s.as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    match env.kind {
        EnvelopeKind::Plan => {
            let plan = env.plan.ok_or_else(|| missing("plan"))?;
            check
                .check_plan(&plan)
                .await
                .map_err(|message| LlmError::Rejected {
                    what: "plan",
                    message,
                })?;
            Ok(LlmPlan::Plan(plan))
        }
        EnvelopeKind::Sql => {
            let sql = given(&env.sql).ok_or_else(|| missing("sql"))?;
            let note = given(&env.note).ok_or_else(|| missing("note"))?;
            let sql = check
                .check_sql(&sql)
                .await
                .map_err(|message| LlmError::Rejected {
                    what: "SQL",
                    message,
                })?;
            Ok(LlmPlan::Sql { sql, note })
        }
        EnvelopeKind::Clarify => {
            let question = given(&env.question).ok_or_else(|| missing("question"))?;
            let options: Vec<String> = env
                .options
                .iter()
                .flatten()
                .map(|o| o.trim().to_string())
                .filter(|o| !o.is_empty())
                .collect();
            if options.is_empty() {
                return Err(missing("options"));
            }
            Ok(LlmPlan::Clarify { question, options })
        }
        EnvelopeKind::Refuse => {
            let reason = given(&env.reason).ok_or_else(|| missing("reason"))?;
            Ok(LlmPlan::Refuse { reason })
        }
    }
}

fn kind_name(k: EnvelopeKind) -> &'static str {
    match k {
        EnvelopeKind::Plan => "plan",
        EnvelopeKind::Sql => "sql",
        EnvelopeKind::Clarify => "clarify",
        EnvelopeKind::Refuse => "refuse",
    }
}

/// The message of a repair round: the problem in the checker's own words.
fn repair_message(problem: &LlmError) -> String {
    match problem {
        LlmError::BadJson(m) => format!(
            "Your reply is not valid JSON ({m}). Reply again with only the JSON object, no other text."
        ),
        LlmError::Schema(m) => format!(
            "Your reply does not follow the required format: {m}. Reply again with one JSON object in that format."
        ),
        LlmError::Rejected {
            what: "SQL",
            message,
        } => format!(
            "That SQL was rejected: {message}\nIf a plan can express the question, reply with a plan instead; otherwise fix the SQL. Reply with the whole JSON object again."
        ),
        other => format!(
            "That answer was rejected: {other}\nFix exactly that, using only the names listed in the instructions, and reply with the whole JSON object again."
        ),
    }
}

/// The JSON object in a reply. Servers that ignore `response_format` tend
/// to wrap it in a Markdown fence or a sentence.
fn json_part(text: &str) -> &str {
    let t = text.trim();
    match (t.find('{'), t.rfind('}')) {
        (Some(start), Some(end)) if start < end => &t[start..=end],
        _ => t,
    }
}

fn with_sources(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let s_text = s.to_string();
        if !out.contains(&s_text) {
            out.push_str(": ");
            out.push_str(&s_text);
        }
        source = s.source();
    }
    quote(&out)
}

fn quote(s: &str) -> String {
    let s = s.trim();
    match s.char_indices().nth(MAX_QUOTED) {
        Some((cut, _)) => format!("{}...", &s[..cut]),
        None => s.to_string(),
    }
}

/// The envelope's JSON schema in the subset OpenAI's strict mode accepts
/// (which vLLM, llama.cpp and Ollama read as well): every object closed
/// and listing all its properties as required (optional ones are nullable
/// instead), `anyOf` rather than `oneOf`, `enum` rather than `const`, no
/// keywords beside a `$ref`, and no number formats.
pub fn plan_schema() -> Value {
    let mut schema = schemars::schema_for!(Envelope).to_value();
    if let Value::Object(root) = &mut schema {
        root.remove("$schema");
    }
    make_strict(&mut schema);
    schema
}

fn make_strict(v: &mut Value) {
    match v {
        Value::Array(items) => items.iter_mut().for_each(make_strict),
        Value::Object(o) => {
            if o.contains_key("$ref") {
                o.retain(|k, _| k == "$ref");
                return;
            }
            o.remove("default");
            if let Some(one_of) = o.remove("oneOf") {
                o.insert("anyOf".into(), one_of);
            }
            if let Some(c) = o.remove("const") {
                o.insert("enum".into(), Value::Array(vec![c]));
            }
            let is_string = match o.get("type") {
                Some(Value::String(t)) => t == "string",
                Some(Value::Array(ts)) => ts.iter().any(|t| t == "string"),
                _ => false,
            };
            if !is_string {
                o.remove("format");
            }
            if let Some(Value::Object(props)) = o.get("properties") {
                let all: Vec<Value> = props.keys().map(|k| Value::String(k.clone())).collect();
                o.insert("required".into(), Value::Array(all));
                o.insert("additionalProperties".into(), Value::Bool(false));
            }
            for key in ["properties", "$defs"] {
                if let Some(Value::Object(m)) = o.get_mut(key) {
                    m.values_mut().for_each(make_strict);
                }
            }
            for key in ["items", "anyOf", "allOf", "prefixItems"] {
                if let Some(sub) = o.get_mut(key) {
                    make_strict(sub);
                }
            }
        }
        _ => {}
    }
}

/// What the planning template is filled with.
#[derive(Debug, Serialize)]
struct PromptContext {
    as_of: String,
    as_of_weekday: String,
    default_period: String,
    time_dimension: &'static str,
    grains: [&'static str; 5],
    metrics: Vec<MetricItem>,
    dimensions: Vec<DimensionItem>,
    glossary: Vec<GlossaryItem>,
    examples: Vec<Example>,
    tables: Vec<TableItem>,
    last: Option<String>,
}

#[derive(Debug, Serialize)]
struct MetricItem {
    name: String,
    label: String,
    description: String,
    synonyms: Vec<String>,
    format: &'static str,
    higher_is_better: bool,
    time_bound: bool,
    /// How it reads from the tables, for the raw SQL fallback.
    sql: Option<String>,
}

#[derive(Debug, Serialize)]
struct DimensionItem {
    name: String,
    label: String,
    description: String,
    synonyms: Vec<String>,
    kind: &'static str,
    /// Values retrieval found in the question, as stored.
    values: Vec<String>,
    /// Sample values from the model's YAML.
    examples: Vec<String>,
    columns: Vec<String>,
}

#[derive(Debug, Serialize)]
struct GlossaryItem {
    term: String,
    synonyms: Vec<String>,
    definition: String,
    maps_to: Vec<String>,
}

#[derive(Debug, Serialize)]
struct Example {
    question: String,
    plan: String,
}

#[derive(Debug, Serialize)]
struct TableItem {
    name: String,
    description: String,
    time_column: Option<String>,
}

/// The items the hits name, in the order of the hits, each once.
#[derive(Default)]
struct Picked {
    metrics: Vec<String>,
    dimensions: Vec<String>,
    values: BTreeMap<String, Vec<String>>,
    glossary: Vec<usize>,
    examples: Vec<usize>,
}

fn push_once<T: PartialEq>(v: &mut Vec<T>, x: T) {
    if !v.contains(&x) {
        v.push(x);
    }
}

impl Picked {
    fn from_hits(model: &SemanticModel, hits: &[Hit]) -> Self {
        let mut p = Picked::default();
        for hit in hits {
            match hit.kind {
                ItemKind::Metric => p.name(model, &hit.key),
                ItemKind::Dimension => p.name(model, &hit.key),
                ItemKind::Value => {
                    if let (Some(dim), Some(value)) = (&hit.dimension, &hit.value)
                        && model.dimensions.contains_key(dim)
                    {
                        push_once(&mut p.dimensions, dim.clone());
                        push_once(p.values.entry(dim.clone()).or_default(), value.clone());
                    }
                }
                ItemKind::Glossary => {
                    if let Some(i) = model.glossary.iter().position(|g| g.term == hit.key) {
                        push_once(&mut p.glossary, i);
                        for name in &model.glossary[i].maps_to {
                            p.name(model, name);
                        }
                    }
                }
                ItemKind::VerifiedQuery => {
                    if let Some(i) = model
                        .verified_queries
                        .iter()
                        .position(|v| v.question == hit.key)
                    {
                        push_once(&mut p.examples, i);
                        let q = &model.verified_queries[i].query;
                        for m in &q.metrics {
                            p.name(model, m);
                        }
                        for d in &q.dimensions {
                            p.name(model, &d.name);
                        }
                        for f in &q.filters {
                            p.name(model, &f.dimension);
                        }
                    }
                }
            }
        }
        p
    }

    /// A metric or dimension by name; anything else (the time dimension,
    /// a stale index entry) is not listed.
    fn name(&mut self, model: &SemanticModel, name: &str) {
        if model.metrics.contains_key(name) {
            push_once(&mut self.metrics, name.to_string());
        } else if model.dimensions.contains_key(name) {
            push_once(&mut self.dimensions, name.to_string());
        }
    }
}

impl PromptContext {
    fn build(req: &PlanRequest<'_>) -> Self {
        let model = req.model;
        let picked = Picked::from_hits(model, req.hits);
        let mut tables: Vec<String> = Vec::new();

        let metrics = picked
            .metrics
            .iter()
            .filter_map(|name| model.metrics.get(name))
            .map(|m| {
                collect_metric_tables(model, m, &mut tables, 0);
                MetricItem {
                    name: m.name.clone(),
                    label: m.label.clone(),
                    description: m.description.clone(),
                    synonyms: m.synonyms.clone(),
                    format: format_name(m.format),
                    higher_is_better: m.higher_is_better,
                    time_bound: m.time_bound,
                    sql: metric_sql(model, m, 0),
                }
            })
            .collect();

        let dimensions = picked
            .dimensions
            .iter()
            .filter_map(|name| model.dimensions.get(name))
            .map(|d| {
                let columns = d
                    .bindings
                    .iter()
                    .filter_map(|b| {
                        let table = table_of(model, &b.entity)?;
                        push_once(&mut tables, b.entity.clone());
                        Some(format!("{table}: {}", b.expr))
                    })
                    .take(MAX_BINDINGS)
                    .collect();
                DimensionItem {
                    name: d.name.clone(),
                    label: d.label.clone(),
                    description: d.description.clone(),
                    synonyms: d.synonyms.clone(),
                    kind: dimension_kind_name(d.kind),
                    values: picked.values.get(&d.name).cloned().unwrap_or_default(),
                    examples: d.sample_values.clone(),
                    columns,
                }
            })
            .collect();

        let glossary = picked
            .glossary
            .iter()
            .filter_map(|&i| model.glossary.get(i))
            .map(|g| GlossaryItem {
                term: g.term.clone(),
                synonyms: g.synonyms.clone(),
                definition: g.definition.clone(),
                maps_to: g.maps_to.clone(),
            })
            .collect();

        let examples = picked
            .examples
            .iter()
            .filter_map(|&i| model.verified_queries.get(i))
            .map(|v| Example {
                question: v.question.clone(),
                plan: serde_json::to_string(&v.query).unwrap_or_default(),
            })
            .collect();

        let tables = tables
            .iter()
            .filter_map(|name| {
                let e = model.entities.get(name)?;
                Some(TableItem {
                    name: table_of(model, name)?.to_string(),
                    description: e.description.clone(),
                    time_column: e.time.as_ref().map(|t| t.column.clone()),
                })
            })
            .collect();

        PromptContext {
            as_of: req.as_of.format("%Y-%m-%d").to_string(),
            as_of_weekday: req.as_of.format("%A").to_string(),
            default_period: serde_json::to_string(&model.default_time_range).unwrap_or_default(),
            time_dimension: TIME_DIMENSION,
            grains: GRAINS,
            metrics,
            dimensions,
            glossary,
            examples,
            tables,
            last: req
                .last
                .map(|q| serde_json::to_string(q).unwrap_or_default()),
        }
    }
}

/// The engine relation behind an entity; None for entities the model
/// defines by SQL, which raw SQL cannot name.
fn table_of<'m>(model: &'m SemanticModel, entity: &str) -> Option<&'m str> {
    match &model.entities.get(entity)?.source {
        Source::Table(t) => Some(t),
        Source::Sql(_) => None,
    }
}

/// Metrics nest (a ratio of ratios); models are validated acyclic, and this
/// bounds the walk all the same.
const MAX_METRIC_DEPTH: usize = 4;

fn metric_sql(model: &SemanticModel, m: &Metric, depth: usize) -> Option<String> {
    if depth > MAX_METRIC_DEPTH {
        return None;
    }
    match &m.kind {
        MetricKind::Simple { measure } => measure_sql(model, measure),
        MetricKind::Ratio {
            numerator,
            denominator,
        } => Some(format!(
            "({}) / ({})",
            operand_sql(model, numerator, depth)?,
            operand_sql(model, denominator, depth)?
        )),
        MetricKind::Derived { expr, .. } => Some(format!("{expr}, over the metrics it names")),
    }
}

fn operand_sql(model: &SemanticModel, o: &Operand, depth: usize) -> Option<String> {
    match o {
        Operand::Metric(name) => metric_sql(model, model.metrics.get(name)?, depth + 1),
        Operand::Measure(name) => measure_sql(model, name),
    }
}

fn measure_sql(model: &SemanticModel, name: &str) -> Option<String> {
    let m = model.measures.get(name)?;
    let table = table_of(model, &m.entity)?;
    let expr = m.expr.as_ref().map(|e| e.to_string());
    let agg = match (m.agg, expr) {
        (Aggregation::Count, None) => "COUNT(*)".to_string(),
        (Aggregation::Count, Some(x)) => format!("COUNT({x})"),
        (Aggregation::CountDistinct, Some(x)) => format!("COUNT(DISTINCT {x})"),
        (Aggregation::Sum, Some(x)) => format!("SUM({x})"),
        (Aggregation::Min, Some(x)) => format!("MIN({x})"),
        (Aggregation::Max, Some(x)) => format!("MAX({x})"),
        (Aggregation::Avg, Some(x)) => format!("AVG({x})"),
        (
            Aggregation::CountDistinct
            | Aggregation::Sum
            | Aggregation::Min
            | Aggregation::Max
            | Aggregation::Avg,
            None,
        ) => return None,
    };
    let filter = m
        .filter
        .as_ref()
        .map(|f| format!(" WHERE {f}"))
        .unwrap_or_default();
    Some(format!("{agg} FROM {table}{filter}"))
}

fn collect_metric_tables(model: &SemanticModel, m: &Metric, out: &mut Vec<String>, depth: usize) {
    if depth > MAX_METRIC_DEPTH {
        return;
    }
    let measure = |name: &str, out: &mut Vec<String>| {
        if let Some(ms) = model.measures.get(name)
            && table_of(model, &ms.entity).is_some()
        {
            push_once(out, ms.entity.clone());
        }
    };
    match &m.kind {
        MetricKind::Simple { measure: name } => measure(name, out),
        MetricKind::Ratio {
            numerator,
            denominator,
        } => {
            for o in [numerator, denominator] {
                match o {
                    Operand::Measure(name) => measure(name, out),
                    Operand::Metric(name) => {
                        if let Some(inner) = model.metrics.get(name) {
                            collect_metric_tables(model, inner, out, depth + 1);
                        }
                    }
                }
            }
        }
        MetricKind::Derived { refs, .. } => {
            for name in refs {
                if let Some(inner) = model.metrics.get(name) {
                    collect_metric_tables(model, inner, out, depth + 1);
                }
            }
        }
    }
}

fn format_name(f: Format) -> &'static str {
    match f {
        Format::Number => "number",
        Format::Integer => "integer",
        Format::Currency => "currency",
        Format::Percent => "percent",
        Format::Ratio => "ratio",
    }
}

fn dimension_kind_name(k: DimensionKind) -> &'static str {
    match k {
        DimensionKind::Categorical => "categorical",
        DimensionKind::Time => "time",
        DimensionKind::Number => "number",
        DimensionKind::Boolean => "boolean",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn walk<'a>(v: &'a Value, out: &mut Vec<&'a serde_json::Map<String, Value>>) {
        match v {
            Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
            Value::Object(o) => {
                out.push(o);
                o.values().for_each(|x| walk(x, out));
            }
            _ => {}
        }
    }

    #[test]
    fn the_schema_is_in_the_strict_subset() {
        let schema = plan_schema();
        assert_eq!(schema["type"], "object", "the root must be an object");
        let mut nodes = Vec::new();
        walk(&schema, &mut nodes);
        let mut objects = 0;
        for o in nodes {
            assert!(!o.contains_key("oneOf"), "oneOf is not accepted: {o:?}");
            assert!(!o.contains_key("const"), "{o:?}");
            assert!(!o.contains_key("$schema"));
            if o.contains_key("$ref") {
                assert_eq!(o.len(), 1, "nothing beside a $ref: {o:?}");
            }
            if let Some(Value::Object(props)) = o.get("properties") {
                // `properties` of an object schema, not a property named so.
                if o.get("type") == Some(&Value::String("object".into())) {
                    objects += 1;
                    assert_eq!(o.get("additionalProperties"), Some(&Value::Bool(false)));
                    let required: Vec<&str> = o["required"]
                        .as_array()
                        .map(|r| r.iter().filter_map(Value::as_str).collect())
                        .unwrap_or_default();
                    let keys: Vec<&str> = props.keys().map(String::as_str).collect();
                    assert_eq!(required, keys, "every property is required");
                }
            }
            if let Some(Value::String(f)) = o.get("format") {
                assert_eq!(f, "date", "only string formats remain");
            }
        }
        assert!(objects >= 8, "the plan's objects are all there: {objects}");
        let text = schema.to_string();
        for name in ["last_n_days", "previous_period", "not_in", "\"grain\""] {
            assert!(text.contains(name), "{name} is in the schema");
        }
    }

    #[test]
    fn a_plan_in_the_strict_shape_parses_as_the_compiler_reads_it() {
        // What a strict-mode model sends: every field present, null or empty
        // where unused.
        let reply = r#"{"kind":"plan","plan":{"metrics":["installs"],
            "dimensions":[{"name":"date","grain":"week"}],
            "filters":[{"dimension":"platform","op":"in","values":["iOS"]}],
            "conditions":[],"time_range":{"kind":"previous","unit":"month","n":1},
            "compare":null,"order":[],"limit":null},
            "sql":null,"note":null,"question":null,"options":null,"reason":null}"#;
        let env: Envelope = serde_json::from_str(reply).expect("parses");
        let plan = env.plan.expect("a plan");
        assert_eq!(plan.metrics, vec!["installs"]);
        assert!(plan.compare.is_none() && plan.limit.is_none());
    }

    struct AcceptAll;

    #[async_trait]
    impl PlanCheck for AcceptAll {
        async fn check_plan(&self, _: &SemanticQuery) -> Result<(), String> {
            Ok(())
        }
        async fn check_sql(&self, sql: &str) -> Result<String, String> {
            Ok(sql.to_string())
        }
    }

    /// The HTTP API shares one planner across requests and awaits it inside
    /// handlers that must be `Send`.
    #[test]
    fn the_planner_is_shared_and_its_futures_are_send() {
        fn shared<T: Send + Sync>() {}
        fn send<T: Send>(_: T) {}
        shared::<LlmPlanner>();
        let cfg = LlmConfig {
            base_url: Some("http://127.0.0.1:9/v1".into()),
            model: Some("m".into()),
            ..LlmConfig::default()
        };
        let planner = LlmPlanner::new(&cfg).expect("valid").expect("enabled");
        let model = quarry_schema::demo_model::load().expect("the demo model loads");
        let req = PlanRequest {
            question: "installs",
            model: &model,
            hits: &[],
            last: None,
            as_of: NaiveDate::default(),
        };
        // Built, never polled: nothing is sent.
        send(planner.plan(&req, &AcceptAll));
        send(planner.narrate(&Value::Null, &mut |_| {}));
    }

    #[test]
    fn fenced_or_prefixed_json_is_found() {
        assert_eq!(json_part("```json\n{\"a\":1}\n```"), "{\"a\":1}");
        assert_eq!(
            json_part("Here it is: {\"a\":{\"b\":2}} done"),
            "{\"a\":{\"b\":2}}"
        );
        assert_eq!(json_part("no json"), "no json");
    }

    #[test]
    fn quotes_are_cut_on_a_character_boundary() {
        let long = "é".repeat(MAX_QUOTED + 10);
        let q = quote(&long);
        assert!(q.ends_with("..."));
        assert_eq!(q.chars().count(), MAX_QUOTED + 3);
    }
}
