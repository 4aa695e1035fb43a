//! The LLM planner and narrator against a server on loopback that speaks
//! OpenAI's chat completions protocol (JSON replies, and server-sent events
//! when asked to stream), answers from a script and records every request.
//! Plans are checked with the real compiler and SQL guard over the demo model.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use chrono::NaiveDate;
use quarry::ask::llm::{LlmError, LlmPlan, LlmPlanner, PlanCheck, PlanRequest};
use quarry::ask::store::Store;
use quarry::ask::{AskEvent, AskOptions, Kind};
use quarry::config::{LlmConfig, Secret};
use quarry::guard::Guard;
use quarry_retrieval::{Hit, ItemKind};
use quarry_schema::query::{DimensionRef, Filter, TimeRange};
use quarry_schema::{CompileContext, SemanticModel, SemanticQuery, compile};
use serde_json::{Value, json};
use tokio::task::JoinHandle;

/// One scripted answer of the fake endpoint.
enum Reply {
    /// The assistant's text; streamed as one piece when streaming is asked.
    Content(String),
    /// Streamed piece by piece (joined for a non-streaming request).
    Pieces(Vec<&'static str>),
    /// An HTTP error with an OpenAI error body.
    Status(u16, Value),
}

struct Recorded {
    body: Value,
    authorization: Option<String>,
}

#[derive(Default)]
struct Script {
    replies: Mutex<VecDeque<Reply>>,
    requests: Mutex<Vec<Recorded>>,
}

/// A loopback OpenAI-compatible endpoint; stopped when dropped.
struct FakeOpenAi {
    addr: SocketAddr,
    script: Arc<Script>,
    server: JoinHandle<()>,
}

impl Drop for FakeOpenAi {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl FakeOpenAi {
    async fn start(replies: Vec<Reply>) -> Self {
        let script = Arc::new(Script {
            replies: Mutex::new(replies.into()),
            requests: Mutex::default(),
        });
        let app = Router::new()
            .route("/v1/chat/completions", post(chat_completions))
            .with_state(script.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self {
            addr,
            script,
            server,
        }
    }

    fn config(&self) -> LlmConfig {
        LlmConfig {
            base_url: Some(format!("http://{}/v1", self.addr)),
            model: Some("test-model".into()),
            ..LlmConfig::default()
        }
    }

    fn planner(&self) -> LlmPlanner {
        LlmPlanner::new(&self.config()).unwrap().unwrap()
    }

    fn requests(&self) -> Vec<Value> {
        self.script
            .requests
            .lock()
            .unwrap()
            .iter()
            .map(|r| r.body.clone())
            .collect()
    }

    fn authorizations(&self) -> Vec<Option<String>> {
        self.script
            .requests
            .lock()
            .unwrap()
            .iter()
            .map(|r| r.authorization.clone())
            .collect()
    }
}

async fn chat_completions(
    State(script): State<Arc<Script>>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let stream = body["stream"] == json!(true);
    let model = body["model"].as_str().unwrap_or_default().to_string();
    script.requests.lock().unwrap().push(Recorded {
        body,
        authorization: headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
    });
    let reply = script.replies.lock().unwrap().pop_front();
    let pieces: Vec<String> = match reply {
        None => {
            return error(500, "the test script has no reply left");
        }
        Some(Reply::Status(code, body)) => {
            return (StatusCode::from_u16(code).unwrap(), Json(body)).into_response();
        }
        Some(Reply::Content(text)) => vec![text],
        Some(Reply::Pieces(p)) => p.into_iter().map(str::to_string).collect(),
    };
    if !stream {
        return Json(json!({
            "id": "chatcmpl-test",
            "object": "chat.completion",
            "created": 1_700_000_000,
            "model": model,
            "choices": [{
                "index": 0,
                "message": {"role": "assistant", "content": pieces.concat(), "refusal": null},
                "logprobs": null,
                "finish_reason": "stop"
            }],
            "usage": {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120}
        }))
        .into_response();
    }
    let chunk = |delta: Value, finish: Value| {
        json!({
            "id": "chatcmpl-test",
            "object": "chat.completion.chunk",
            "created": 1_700_000_000,
            "model": model,
            "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}]
        })
        .to_string()
    };
    let mut events = vec![chunk(
        json!({"role": "assistant", "content": ""}),
        Value::Null,
    )];
    events.extend(
        pieces
            .iter()
            .map(|p| chunk(json!({"content": p}), Value::Null)),
    );
    events.push(chunk(json!({}), json!("stop")));
    events.push("[DONE]".into());
    let events = events
        .into_iter()
        .map(|data| Ok::<_, std::convert::Infallible>(Event::default().data(data)));
    Sse::new(futures::stream::iter(events)).into_response()
}

fn error(status: u16, message: &str) -> Response {
    (
        StatusCode::from_u16(status).unwrap(),
        Json(json!({"error": {"message": message, "type": "server_error", "param": null, "code": null}})),
    )
        .into_response()
}

/// The checks the question path runs: the compiler for plans, the guard for SQL.
struct DemoCheck {
    model: SemanticModel,
    guard: Guard,
}

const AS_OF: NaiveDate = NaiveDate::from_ymd_opt(2024, 3, 13).unwrap();

impl DemoCheck {
    fn new() -> Self {
        let model = quarry_schema::demo_model::load().unwrap();
        let guard = Guard::from_model(&model, Vec::<String>::new(), Vec::<String>::new(), 1000);
        Self { model, guard }
    }

    fn compile_error(&self, q: &SemanticQuery) -> String {
        compile(&self.model, q, &ctx()).unwrap_err().to_string()
    }
}

fn ctx() -> CompileContext {
    CompileContext {
        as_of: AS_OF,
        data_start: None,
    }
}

#[async_trait]
impl PlanCheck for DemoCheck {
    async fn check_plan(&self, q: &SemanticQuery) -> Result<(), String> {
        compile(&self.model, q, &ctx())
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    async fn check_sql(&self, sql: &str) -> Result<String, String> {
        self.guard
            .check(sql)
            .map(|c| c.sql)
            .map_err(|e| e.to_string())
    }
}

fn hit(kind: ItemKind, key: &str) -> Hit {
    Hit {
        item: format!("{}:{key}", kind.as_str()),
        kind,
        key: key.into(),
        label: key.into(),
        dimension: None,
        value: None,
        score: 1.0,
        lexical: 1.0,
        vector: 0.0,
        reasons: Vec::new(),
    }
}

fn value_hit(dimension: &str, value: &str) -> Hit {
    Hit {
        dimension: Some(dimension.into()),
        value: Some(value.into()),
        ..hit(ItemKind::Value, &format!("{dimension}={value}"))
    }
}

/// Hits for "iOS installs by week last month".
fn install_hits() -> Vec<Hit> {
    vec![
        hit(ItemKind::Metric, "installs"),
        value_hit("platform", "iOS"),
    ]
}

const QUESTION: &str = "iOS installs by week last month";

fn request<'a>(check: &'a DemoCheck, hits: &'a [Hit]) -> PlanRequest<'a> {
    PlanRequest {
        question: QUESTION,
        model: &check.model,
        hits,
        last: None,
        as_of: AS_OF,
    }
}

fn good_plan() -> SemanticQuery {
    SemanticQuery {
        dimensions: vec![DimensionRef::time(quarry_schema::query::TimeGrain::Week)],
        filters: vec![Filter::eq("platform", "iOS")],
        time_range: Some(TimeRange::Previous {
            unit: quarry_schema::query::CalendarUnit::Month,
            n: 1,
        }),
        ..SemanticQuery::new(&["installs"])
    }
}

/// A reply as a strict-mode model writes it: every field, null when unused.
fn plan_reply(plan: &SemanticQuery) -> Reply {
    Reply::Content(
        json!({"kind": "plan", "plan": plan, "sql": null, "note": null,
               "question": null, "options": null, "reason": null})
        .to_string(),
    )
}

fn sql_reply(sql: &str) -> Reply {
    Reply::Content(
        json!({"kind": "sql", "plan": null, "sql": sql,
               "note": "a median is not a metric of the semantic layer",
               "question": null, "options": null, "reason": null})
        .to_string(),
    )
}

/// The text of every message of a recorded request, by role.
fn messages(body: &Value) -> Vec<(String, String)> {
    body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["role"].as_str().unwrap().to_string(),
                m["content"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_valid_plan_comes_back_and_the_prompt_holds_only_retrieved_items() {
    let check = DemoCheck::new();
    let server = FakeOpenAi::start(vec![plan_reply(&good_plan())]).await;
    let hits = install_hits();

    let plan = server
        .planner()
        .plan(&request(&check, &hits), &check)
        .await
        .unwrap();
    assert_eq!(plan, LlmPlan::Plan(good_plan()));

    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    let body = &requests[0];
    assert_eq!(body["model"], "test-model");
    assert_eq!(body["temperature"], 0.0);
    assert_eq!(body["response_format"]["type"], "json_schema");
    assert_eq!(body["response_format"]["json_schema"]["strict"], true);
    assert_eq!(
        body["response_format"]["json_schema"]["schema"],
        quarry::ask::llm::plan_schema(),
        "the request carries the plan's JSON schema"
    );

    let msgs = messages(body);
    assert_eq!(msgs.len(), 2);
    assert_eq!(msgs[1], ("user".to_string(), QUESTION.to_string()));
    let (role, prompt) = &msgs[0];
    assert_eq!(role, "system");
    // The retrieved items, with their definitions from the model.
    assert!(prompt.contains("`installs`"), "{prompt}");
    assert!(
        prompt.contains("All installs, paid and organic"),
        "{prompt}"
    );
    assert!(prompt.contains("`platform`"), "{prompt}");
    assert!(prompt.contains("\"iOS\""), "{prompt}");
    assert!(prompt.contains("2024-03-13 (Wednesday)"), "{prompt}");
    // Nothing retrieval did not find: no other metric, dimension or term.
    for absent in [
        "roas",
        "ROAS",
        "attributed_revenue",
        "retention_d7",
        "`country`",
        "`network`",
        "Glossary",
        "Verified questions",
    ] {
        assert!(!prompt.contains(absent), "{absent} is not in the prompt");
    }
}

#[tokio::test]
async fn an_unknown_metric_is_repaired_once_with_the_compiler_error() {
    let check = DemoCheck::new();
    let bad = SemanticQuery {
        metrics: vec!["instals".into()],
        ..good_plan()
    };
    let compiler_error = check.compile_error(&bad);
    assert!(compiler_error.contains("instals"), "{compiler_error}");
    let server = FakeOpenAi::start(vec![plan_reply(&bad), plan_reply(&good_plan())]).await;
    let hits = install_hits();

    let plan = server
        .planner()
        .plan(&request(&check, &hits), &check)
        .await
        .unwrap();
    assert_eq!(plan, LlmPlan::Plan(good_plan()));

    let requests = server.requests();
    assert_eq!(requests.len(), 2, "exactly one repair round");
    let repair = messages(&requests[1]);
    assert_eq!(
        repair.len(),
        4,
        "system, question, the bad reply, the error"
    );
    assert_eq!(repair[2].0, "assistant");
    assert!(repair[2].1.contains("instals"));
    assert_eq!(repair[3].0, "user");
    assert!(
        repair[3].1.contains(&compiler_error),
        "the repair quotes the compiler: {}",
        repair[3].1
    );
}

#[tokio::test]
async fn three_invalid_answers_exhaust_the_repairs() {
    let check = DemoCheck::new();
    let bad = SemanticQuery::new(&["instals"]);
    let server = FakeOpenAi::start(vec![
        plan_reply(&bad),
        Reply::Content("I think you want installs.".into()),
        plan_reply(&bad),
        plan_reply(&good_plan()),
    ])
    .await;
    let hits = install_hits();

    let err = server
        .planner()
        .plan(&request(&check, &hits), &check)
        .await
        .unwrap_err();
    assert!(
        matches!(err, LlmError::RepairsExhausted { attempts: 3, .. }),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(message.contains("3 attempts"), "{message}");
    assert!(
        message.contains("instals"),
        "the last problem is named: {message}"
    );
    assert!(message.contains("llm.model"), "{message}");
    assert_eq!(server.requests().len(), 3, "1 + 2 repairs, then stop");
    let second = messages(&server.requests()[2]);
    assert!(
        second[5].1.contains("not valid JSON"),
        "a reply that is not JSON is repaired too: {}",
        second[5].1
    );
}

#[tokio::test]
async fn raw_sql_the_guard_rejects_is_repaired() {
    let check = DemoCheck::new();
    let rejected = "DELETE FROM installs";
    let guard_error = check.guard.check(rejected).unwrap_err().to_string();
    let server = FakeOpenAi::start(vec![
        sql_reply(rejected),
        sql_reply("SELECT count(*) AS n FROM installs"),
    ])
    .await;
    let hits = install_hits();

    let plan = server
        .planner()
        .plan(&request(&check, &hits), &check)
        .await
        .unwrap();
    let LlmPlan::Sql { sql, note } = plan else {
        panic!("raw SQL expected, got {plan:?}");
    };
    assert!(
        sql.to_uppercase().contains("LIMIT"),
        "the guarded SQL: {sql}"
    );
    assert!(note.contains("median"));

    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    let repair = messages(&requests[1]);
    assert!(
        repair[3].1.contains(&guard_error),
        "the repair quotes the guard: {}",
        repair[3].1
    );
}

#[tokio::test]
async fn a_clarification_keeps_its_options() {
    let check = DemoCheck::new();
    let server = FakeOpenAi::start(vec![Reply::Content(
        json!({"kind": "clarify", "plan": null, "sql": null, "note": null,
               "question": "Which revenue do you mean?",
               "options": ["all revenue", "revenue attributed to campaigns"],
               "reason": null})
        .to_string(),
    )])
    .await;
    let hits = install_hits();
    let plan = server
        .planner()
        .plan(&request(&check, &hits), &check)
        .await
        .unwrap();
    assert_eq!(
        plan,
        LlmPlan::Clarify {
            question: "Which revenue do you mean?".into(),
            options: vec![
                "all revenue".into(),
                "revenue attributed to campaigns".into()
            ],
        }
    );
}

#[tokio::test]
async fn streaming_narration_delivers_tokens_in_order() {
    let pieces = vec!["iOS installs ", "rose 12% ", "to 4,210 ", "last week."];
    let server = FakeOpenAi::start(vec![Reply::Pieces(pieces.clone())]).await;
    let facts = json!({"metric": "installs", "value": "4,210", "change": "+12%",
                       "period": "last week", "scope": "for iOS"});

    let mut seen = Vec::new();
    let text = server
        .planner()
        .narrate(&facts, &mut |t: &str| seen.push(t.to_string()))
        .await
        .unwrap();
    assert_eq!(seen, pieces);
    assert_eq!(text, "iOS installs rose 12% to 4,210 last week.");

    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0]["stream"], true);
    assert!(requests[0].get("response_format").is_none());
    let msgs = messages(&requests[0]);
    assert!(msgs[0].1.contains("\"value\": \"4,210\""), "{}", msgs[0].1);
}

#[tokio::test]
async fn http_401_says_to_check_the_api_key() {
    let unauthorized = || {
        Reply::Status(
            401,
            json!({"error": {"message": "Incorrect API key provided: sk-wrong.",
                             "type": "invalid_request_error", "param": null,
                             "code": "invalid_api_key"}}),
        )
    };
    let check = DemoCheck::new();
    let server = FakeOpenAi::start(vec![unauthorized(), unauthorized()]).await;
    let hits = install_hits();
    let planner = server.planner();

    let err = planner
        .plan(&request(&check, &hits), &check)
        .await
        .unwrap_err();
    assert!(
        matches!(err, LlmError::Status { status: 401, .. }),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(message.contains("llm.api_key"), "{message}");
    assert!(message.contains("Incorrect API key provided"), "{message}");
    assert_eq!(server.requests().len(), 1, "an HTTP error is not repaired");

    let err = planner.narrate(&json!({}), &mut |_| {}).await.unwrap_err();
    assert!(err.to_string().contains("llm.api_key"), "{err}");
}

#[tokio::test]
async fn the_api_key_is_a_bearer_token_that_never_prints() {
    let server = FakeOpenAi::start(vec![Reply::Content("Fine.".into())]).await;
    let cfg = LlmConfig {
        api_key: Some(Secret("sk-test-4242".into())),
        ..server.config()
    };
    let planner = LlmPlanner::new(&cfg).unwrap().unwrap();
    planner.narrate(&json!({}), &mut |_| {}).await.unwrap();

    assert_eq!(
        server.authorizations(),
        vec![Some("Bearer sk-test-4242".to_string())]
    );
    assert!(!format!("{cfg:?}").contains("sk-test-4242"));
    assert!(!format!("{planner:?}").contains("sk-test-4242"));
}

#[tokio::test]
async fn an_unreachable_endpoint_says_to_check_the_base_url() {
    // A port that was free a moment ago: nothing listens there.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let cfg = LlmConfig {
        base_url: Some(format!("http://{addr}/v1")),
        model: Some("test-model".into()),
        ..LlmConfig::default()
    };
    let planner = LlmPlanner::new(&cfg).unwrap().unwrap();
    let err = planner.narrate(&json!({}), &mut |_| {}).await.unwrap_err();
    assert!(matches!(err, LlmError::Unreachable { .. }), "{err:?}");
    assert!(err.to_string().contains("llm.base_url"), "{err}");
}

#[test]
fn no_endpoint_means_no_planner() {
    assert!(LlmPlanner::new(&LlmConfig::default()).unwrap().is_none());
    let bad = LlmConfig {
        base_url: Some("http://localhost:8080/v1".into()),
        ..LlmConfig::default()
    };
    let err = LlmPlanner::new(&bad).unwrap_err();
    assert!(err.to_string().contains("llm.model"), "{err}");
}

/// The question path hands what the deterministic planner would ask back
/// about to the LLM, runs its checked plan on the real engine and streams
/// its narration word by word.
#[tokio::test]
async fn the_question_path_plans_a_vague_question_with_the_llm_and_streams_its_words() {
    let plan = SemanticQuery {
        time_range: Some(TimeRange::Previous {
            unit: quarry_schema::query::CalendarUnit::Week,
            n: 1,
        }),
        ..SemanticQuery::new(&["installs", "spend"])
    };
    let words = vec!["Last week ", "brought ", "steady installs."];
    let server = FakeOpenAi::start(vec![plan_reply(&plan), Reply::Pieces(words.clone())]).await;
    let w = crate::support::eval_warehouse();
    let mut cfg = w.retrieval_config(w.data.path());
    cfg.llm = server.config();
    let asker = crate::ask::asker_with(&w, Store::in_memory().unwrap(), cfg).await;

    let events = Mutex::new(Vec::new());
    let sink = |e: AskEvent| events.lock().unwrap().push(e);
    let opts = AskOptions {
        session: Some("vague".into()),
        no_cache: true,
    };
    let r = asker
        .ask_with("how are we doing?", &opts, &sink)
        .await
        .unwrap();
    assert_eq!(r.kind, Kind::Answer, "{}", r.narrative);
    assert_eq!(r.planner, "llm");
    assert_eq!(r.semantic_query.as_ref(), Some(&plan.canonical()));
    assert_eq!(r.narrative, words.concat());
    assert!(
        r.notes.iter().any(|n| n.contains("Planned by the LLM")),
        "{:?}",
        r.notes
    );
    assert_eq!(r.rows.len(), 1, "one row of totals");

    // The same numbers as the plan run without any LLM.
    let direct = asker.ws.answer(&plan.canonical()).await.unwrap();
    crate::support::assert_same_rows(
        &Value::from(r.rows.clone()),
        &Value::from(direct.result.rows_json()),
    );

    let events = events.into_inner().unwrap();
    let names: Vec<&str> = events.iter().map(AskEvent::name).collect();
    let deltas: Vec<String> = events
        .iter()
        .filter_map(|e| match e {
            AskEvent::Narrative { delta } => Some(delta.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(deltas, words);
    let first_words = names.iter().position(|n| *n == "narrative").unwrap();
    for before in ["interpretation", "sql", "table", "chart"] {
        let at = names.iter().position(|n| n == &before).unwrap();
        assert!(
            at < first_words,
            "{before} comes before the words: {names:?}"
        );
    }

    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    assert!(
        messages(&requests[0])
            .iter()
            .any(|(_, m)| m.contains("how are we doing?"))
    );
    assert_eq!(requests[1]["stream"], true);
}
