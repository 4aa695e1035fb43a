//! Errors of the HTTP API: `{message, code, type}` with a fixed status per
//! kind. A user's mistake is a 4xx that says what to do; a 5xx is a bug or
//! an outage, never a user's mistake.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::ask::AskError;
use crate::ask::store::StoreError;
use crate::engine::EngineError;
use crate::knowledge::KnowledgeError;
use crate::semantic::SemanticError;

/// The body of every error the API returns.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct ErrorBody {
    /// What was wrong and what to do about it.
    pub message: String,
    /// Stable, machine-readable: `empty_question`, `not_found`...
    pub code: String,
    /// `invalid_request`, `auth`, `not_found`, `rate_limit`, `timeout` or
    /// `internal`.
    #[serde(rename = "type")]
    pub kind: String,
}

#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub body: ErrorBody,
}

impl ApiError {
    fn new(status: StatusCode, code: &str, kind: &str, message: impl Into<String>) -> Self {
        Self {
            status,
            body: ErrorBody {
                message: message.into(),
                code: code.into(),
                kind: kind.into(),
            },
        }
    }

    pub fn invalid(code: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, "invalid_request", message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", "not_found", message)
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", "auth", message)
    }

    pub fn rate_limited(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "rate_limit",
            message,
        )
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal",
            message,
        )
    }

    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "internal",
            message,
        )
    }

    pub fn with_status(status: StatusCode, code: &str, kind: &str, message: &str) -> Self {
        Self::new(status, code, kind, message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(self.body)).into_response()
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Open { .. } | StoreError::Poisoned => ApiError::unavailable(e.to_string()),
            StoreError::Sql(_) | StoreError::Json(_) => ApiError::internal(e.to_string()),
        }
    }
}

impl From<AskError> for ApiError {
    fn from(e: AskError) -> Self {
        let message = e.to_string();
        match e {
            AskError::Empty => ApiError::invalid("empty_question", message),
            AskError::TooLong(_) => ApiError::invalid("question_too_long", message),
            AskError::Invalid(_) => ApiError::invalid("invalid_plan", message),
            AskError::Store(s) => s.into(),
            AskError::Semantic(s) => match s {
                SemanticError::Compile(_) => ApiError::invalid("invalid_plan", message),
                SemanticError::Engine(e) => match e {
                    EngineError::Timeout(_) => ApiError::with_status(
                        StatusCode::GATEWAY_TIMEOUT,
                        "query_timeout",
                        "timeout",
                        &message,
                    ),
                    EngineError::Memory(_) => ApiError::with_status(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "query_memory",
                        "internal",
                        &message,
                    ),
                    EngineError::MissingWarehouse(_)
                    | EngineError::EmptyWarehouse(_)
                    | EngineError::MissingTable { .. }
                    | EngineError::Register { .. }
                    | EngineError::NoAsOf(_) => ApiError::unavailable(message),
                    EngineError::Query(_) => ApiError::internal(message),
                },
                SemanticError::Model(_) | SemanticError::MlSpec(_) | SemanticError::Features(_) => {
                    ApiError::unavailable(message)
                }
            },
            AskError::Knowledge(k) => match k {
                KnowledgeError::Retrieval(_) | KnowledgeError::Join(_) => {
                    ApiError::unavailable(message)
                }
                KnowledgeError::Semantic(_) => ApiError::unavailable(message),
            },
            AskError::Guard(_) => ApiError::internal(message),
        }
    }
}
