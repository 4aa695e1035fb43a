//! The API's routes. Handlers check input, call the [`Asker`] or the store,
//! and shape the answer; nothing here plans or runs a query itself.
//!
//! [`Asker`]: crate::ask::Asker

use std::convert::Infallible;
use std::sync::Arc;

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use quarry_schema::SemanticQuery;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::Shared;
use super::error::ApiError;
use crate::ask::{AskEvent, AskOptions, Response as Answer};

/// Routes that need a token when `server.auth` is on.
pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/api/chat", post(chat))
        .route("/api/conversations", get(list_conversations))
        .route(
            "/api/conversations/{id}",
            get(get_conversation).delete(delete_conversation),
        )
        .route("/api/feedback", post(feedback))
        .route(
            "/api/verified-queries",
            post(save_verified).get(list_verified),
        )
        .route("/api/catalog", get(catalog))
}

/// Routes open to anyone who can reach the server.
pub fn open_routes() -> Router<Shared> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(super::metrics::render))
        .route("/api/openapi.json", get(super::openapi::document))
}

/// `Json<T>` whose rejections use the API's error body.
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    Json<T>: FromRequest<S, Rejection = JsonRejection>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(v)) => Ok(Self(v)),
            Err(rejection) => {
                let status = rejection.status();
                let (code, hint) = match status {
                    StatusCode::PAYLOAD_TOO_LARGE => (
                        "body_too_large",
                        "the request body is larger than server.body_limit_kb allows",
                    ),
                    StatusCode::UNSUPPORTED_MEDIA_TYPE => (
                        "unsupported_media_type",
                        "send the body as JSON with Content-Type: application/json",
                    ),
                    _ => (
                        "invalid_json",
                        "the body is not the JSON this route expects (see /api/openapi.json)",
                    ),
                };
                Err(ApiError::with_status(
                    status,
                    code,
                    "invalid_request",
                    &format!("{hint}: {}", rejection.body_text()),
                ))
            }
        }
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ChatRequest {
    /// The question in plain words, or the number of a clarification's
    /// option ("2").
    pub question: String,
    /// Continue this conversation; a new one is started when absent.
    #[serde(default)]
    pub conversation_id: Option<String>,
    /// Work the answer out afresh rather than from the semantic cache.
    #[serde(default)]
    pub no_cache: bool,
}

/// The answer document: the response of `quarry ask --format json` with the
/// conversation it belongs to.
#[derive(Debug, Serialize)]
pub struct ChatAnswer {
    pub conversation_id: String,
    #[serde(flatten)]
    pub answer: Answer,
}

fn check_id(id: &str) -> Result<(), ApiError> {
    let ok = !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(ApiError::invalid(
            "invalid_conversation_id",
            "a conversation id is 1 to 64 letters, digits, '-' or '_'; leave it out to start a new conversation",
        ))
    }
}

/// A fresh conversation id: `c_` and 16 random hex digits.
pub fn new_conversation_id() -> String {
    use rand::TryRngCore;
    let mut b = [0u8; 8];
    if rand::rngs::OsRng.try_fill_bytes(&mut b).is_err() {
        // The clock is enough to keep two conversations apart.
        let n = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        b = (n as u64).to_be_bytes();
    }
    format!(
        "c_{}",
        b.iter().map(|x| format!("{x:02x}")).collect::<String>()
    )
}

fn wants_json(headers: &HeaderMap) -> bool {
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    accept.contains("application/json") && !accept.contains("text/event-stream")
}

/// Events of one answer waiting to be sent: a handful per answer (see
/// [`AskEvent::all`]), so the channel never fills in practice; if a client
/// stops reading, the answer still completes and `done` carries all of it.
const EVENT_BUFFER: usize = 256;

async fn chat(
    State(state): State<Shared>,
    headers: HeaderMap,
    ApiJson(req): ApiJson<ChatRequest>,
) -> Result<Response, ApiError> {
    let asker = state.asker()?.clone();
    let id = match req.conversation_id {
        Some(id) => {
            check_id(&id)?;
            id
        }
        None => new_conversation_id(),
    };
    let opts = AskOptions {
        session: Some(id.clone()),
        no_cache: req.no_cache,
    };
    if req.question.trim().is_empty() {
        return Err(crate::ask::AskError::Empty.into());
    }
    if wants_json(&headers) {
        let answer = asker.ask(&req.question, &opts).await?;
        state.metrics.answered(&answer);
        return Ok(Json(ChatAnswer {
            conversation_id: id,
            answer,
        })
        .into_response());
    }

    let (tx, rx) = tokio::sync::mpsc::channel::<Event>(EVENT_BUFFER);
    let question = req.question;
    let metrics_state = state.clone();
    let task = tokio::spawn(async move {
        let sink_tx = tx.clone();
        let sink = move |e: AskEvent| {
            let _ = sink_tx.try_send(sse_event(e.name(), &e));
        };
        let last = match asker.ask_with(&question, &opts, &sink).await {
            Ok(answer) => {
                metrics_state.metrics.answered(&answer);
                sse_event(
                    "done",
                    &ChatAnswer {
                        conversation_id: opts.session.clone().unwrap_or_default(),
                        answer,
                    },
                )
            }
            Err(e) => {
                let e = ApiError::from(e);
                metrics_state.metrics.failed();
                sse_event("error", &e.body)
            }
        };
        let _ = tx.send(last).await;
    });
    // The stream owns the task: when the client goes, the stream is
    // dropped and the answer is abandoned (and not recorded).
    let guard = AbortOnDrop(task);
    let stream = futures::stream::unfold((rx, guard), |(mut rx, guard)| async move {
        rx.recv()
            .await
            .map(|e| (Ok::<_, Infallible>(e), (rx, guard)))
    });
    Ok(Sse::new(stream)
        .keep_alive(KeepAlive::default())
        .into_response())
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

fn sse_event<T: Serialize>(name: &str, data: &T) -> Event {
    let data = serde_json::to_string(data).unwrap_or_else(|e| {
        json!({"message": format!("an event could not be encoded: {e}"), "code": "internal", "type": "internal"}).to_string()
    });
    Event::default().event(name).data(data)
}

#[derive(Debug, Deserialize)]
pub struct ListParams {
    limit: Option<usize>,
}

async fn list_conversations(
    State(state): State<Shared>,
    Query(p): Query<ListParams>,
) -> Result<Json<Value>, ApiError> {
    let limit = p.limit.unwrap_or(50).clamp(1, 500);
    let list = state.store()?.list(limit)?;
    Ok(Json(json!({ "conversations": list })))
}

async fn get_conversation(
    State(state): State<Shared>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    check_id(&id)?;
    let store = state.store()?;
    let Some(turns) = store.turns(&id)? else {
        return Err(ApiError::not_found(format!(
            "there is no conversation \"{id}\"; GET /api/conversations lists them"
        )));
    };
    let title = store.title(&id)?.unwrap_or_default();
    Ok(Json(json!({ "id": id, "title": title, "turns": turns })))
}

async fn delete_conversation(
    State(state): State<Shared>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    check_id(&id)?;
    if state.store()?.delete(&id)? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found(format!(
            "there is no conversation \"{id}\" to delete"
        )))
    }
}

#[derive(Debug, Clone, Copy, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Rating {
    Up,
    Down,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FeedbackRequest {
    pub conversation_id: String,
    /// The turn's number, as in the answer's `turn`.
    pub turn: i64,
    pub rating: Rating,
    /// What the answer should have been, in the user's words.
    #[serde(default)]
    pub correction: Option<String>,
}

const MAX_CORRECTION: usize = 2000;

/// Stores a thumbs up or down. A thumbs down also empties the semantic
/// cache, so the same question is worked out afresh rather than served
/// the answer that was marked wrong.
async fn feedback(
    State(state): State<Shared>,
    ApiJson(req): ApiJson<FeedbackRequest>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    check_id(&req.conversation_id)?;
    let correction = req
        .correction
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty());
    if correction.is_some_and(|c| c.chars().count() > MAX_CORRECTION) {
        return Err(ApiError::invalid(
            "correction_too_long",
            format!("a correction is at most {MAX_CORRECTION} characters"),
        ));
    }
    let asker = state.asker()?;
    let store = state.store()?;
    let Some(turn) = store.turn(&req.conversation_id, req.turn)? else {
        return Err(ApiError::not_found(format!(
            "conversation \"{}\" has no turn {}",
            req.conversation_id, req.turn
        )));
    };
    let rating = match req.rating {
        Rating::Up => "up",
        Rating::Down => "down",
    };
    let id = store.add_feedback(&req.conversation_id, req.turn, rating, correction, &turn)?;
    if req.rating == Rating::Down {
        asker.forget_cached();
    }
    state.metrics.feedback(rating);
    Ok((StatusCode::CREATED, Json(json!({ "id": id }))))
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifiedRequest {
    /// With `semantic_query`: the question to save.
    #[serde(default)]
    pub question: Option<String>,
    #[serde(default)]
    pub semantic_query: Option<SemanticQuery>,
    /// Or: save the question and plan of this answered turn.
    #[serde(default)]
    pub conversation_id: Option<String>,
    #[serde(default)]
    pub turn: Option<i64>,
}

async fn save_verified(
    State(state): State<Shared>,
    ApiJson(req): ApiJson<VerifiedRequest>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let asker = state.asker()?.clone();
    let (question, query, source) = match (
        req.conversation_id,
        req.turn,
        req.question,
        req.semantic_query,
    ) {
        (Some(id), Some(seq), None, None) => {
            check_id(&id)?;
            let Some(turn) = state.store()?.turn(&id, seq)? else {
                return Err(ApiError::not_found(format!(
                    "conversation \"{id}\" has no turn {seq}"
                )));
            };
            if turn.kind != "answer" {
                return Err(ApiError::invalid(
                    "not_an_answer",
                    format!(
                        "turn {seq} is a {}, not an answer; only answers have a plan to save",
                        turn.kind
                    ),
                ));
            }
            let plan: SemanticQuery = serde_json::from_value(
                turn.response
                    .get("semantic_query")
                    .cloned()
                    .unwrap_or(Value::Null),
            )
            .map_err(|_| {
                ApiError::invalid("not_an_answer", format!("turn {seq} has no plan to save"))
            })?;
            (turn.question, plan, format!("conversation {id} turn {seq}"))
        }
        (None, None, Some(q), Some(plan)) => (q, plan, "api".to_string()),
        _ => {
            return Err(ApiError::invalid(
                "invalid_request",
                "send either conversation_id and turn (save that answer), or question and semantic_query",
            ));
        }
    };
    let saved = asker.save_verified(&question, &query, &source).await?;
    Ok((StatusCode::CREATED, Json(json!(saved))))
}

async fn list_verified(State(state): State<Shared>) -> Result<Json<Value>, ApiError> {
    let asker = state.asker()?;
    let list: Vec<Value> = asker
        .verified_questions()
        .into_iter()
        .map(|v| json!({ "question": v.question, "semantic_query": v.query }))
        .collect();
    Ok(Json(json!({ "verified_queries": list })))
}

/// What can be asked: metrics, dimensions and sample questions (the
/// verified ones) for onboarding.
async fn catalog(State(state): State<Shared>) -> Result<Json<Value>, ApiError> {
    let asker = state.asker()?;
    let model = &asker.ws.model;
    let metrics: Vec<Value> = model
        .metric_order
        .iter()
        .filter_map(|m| model.metrics.get(m))
        .map(|m| {
            json!({
                "name": m.name,
                "label": m.label,
                "description": m.description,
                "format": m.format,
                "synonyms": m.synonyms,
            })
        })
        .collect();
    let dimensions: Vec<Value> = model
        .dimensions
        .values()
        .map(|d| {
            json!({
                "name": d.name,
                "label": d.label,
                "description": d.description,
                "sample_values": d.sample_values,
            })
        })
        .collect();
    let samples: Vec<String> = asker
        .verified_questions()
        .into_iter()
        .map(|v| v.question)
        .take(8)
        .collect();
    Ok(Json(json!({
        "model": model.name,
        "as_of": asker.ws.period.as_of,
        "metrics": metrics,
        "dimensions": dimensions,
        "sample_questions": samples,
    })))
}

async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// Ready once the question path has loaded and its store and index answer.
async fn readyz(State(state): State<Shared>) -> Response {
    let check = async {
        let asker: &Arc<_> = state.asker()?;
        if let Some(s) = &asker.store {
            s.list(1)?;
        }
        let items = asker
            .knowledge
            .retriever
            .index()
            .count()
            .await
            .map_err(|e| {
                ApiError::unavailable(format!("the retrieval index does not answer: {e}"))
            })?;
        if items == 0 {
            return Err(ApiError::unavailable(
                "the retrieval index is empty; run `quarry index`",
            ));
        }
        Ok::<_, ApiError>(items)
    };
    match check.await {
        Ok(items) => Json(json!({
            "status": "ready",
            "indexed_items": items,
            "scores_held": state.scores_held.load(std::sync::atomic::Ordering::Relaxed),
        }))
        .into_response(),
        Err(e) => e.into_response(),
    }
}
