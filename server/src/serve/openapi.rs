//! The OpenAPI 3.1 document at `/api/openapi.json`. Request bodies and the
//! error body are described by schemas derived from the Rust types that
//! parse them (schemars), so the document cannot drift from the code.

use axum::Json;
use schemars::{JsonSchema, SchemaGenerator, generate::SchemaSettings};
use serde_json::{Value, json};

use super::api::{ChatRequest, FeedbackRequest, VerifiedRequest};
use super::error::ErrorBody;

fn schema_of<T: JsonSchema>(generator: &mut SchemaGenerator) -> Value {
    serde_json::to_value(generator.subschema_for::<T>()).unwrap_or(Value::Null)
}

fn error_responses() -> Value {
    let e = json!({"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}});
    json!({
        "400": {"description": "The request was wrong; the message says how", "content": e},
        "401": {"description": "A token is required or was refused (server.auth on)", "content": e},
        "404": {"description": "No such conversation or turn", "content": e},
        "413": {"description": "The body is larger than server.body_limit_kb", "content": e},
        "429": {"description": "Too many requests from this address", "content": e},
        "503": {"description": "Still loading, or the store or index is unavailable", "content": e},
    })
}

fn body(schema: &str) -> Value {
    json!({"required": true, "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{schema}")}}}})
}

pub fn build() -> Value {
    let mut generator = SchemaGenerator::new(SchemaSettings::openapi3().with(|s| {
        s.definitions_path = "#/components/schemas/".into();
    }));
    let chat = schema_of::<ChatRequest>(&mut generator);
    let feedback = schema_of::<FeedbackRequest>(&mut generator);
    let verified = schema_of::<VerifiedRequest>(&mut generator);
    let error = schema_of::<ErrorBody>(&mut generator);
    let mut schemas = serde_json::Map::new();
    for (name, s) in generator.take_definitions(true) {
        schemas.insert(name, s);
    }
    for (name, s) in [
        ("ChatRequest", chat),
        ("FeedbackRequest", feedback),
        ("VerifiedRequest", verified),
        ("Error", error),
    ] {
        // Inline schemas come back as themselves; referenced ones as a $ref
        // into the definitions already collected.
        if s.get("$ref").is_none() {
            schemas.insert(name.into(), s);
        } else if let Some(target) = s["$ref"].as_str().and_then(|r| r.rsplit('/').next())
            && let Some(def) = schemas.get(target).cloned()
        {
            schemas.insert(name.into(), def);
        }
    }
    schemas.insert("Answer".into(), answer_schema());
    let errors = error_responses();
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Quarry",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Questions about marketing data in plain words, answered with the number, the SQL behind it, a chart and a sentence. With server.auth on, /api routes other than this document need Authorization: Bearer <token>."
        },
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}
        },
        "security": [{"bearer": []}, {}],
        "paths": {
            "/api/chat": {"post": {
                "summary": "Ask a question",
                "description": "Streams Server-Sent Events by default: conversation, interpretation, sql, table, chart, narrative (deltas), options, suggestions, then done (the whole answer) or error. With Accept: application/json, returns the answer at once.",
                "requestBody": body("ChatRequest"),
                "responses": merge(json!({
                    "200": {"description": "The answer", "content": {
                        "text/event-stream": {"schema": {"type": "string"}},
                        "application/json": {"schema": {"$ref": "#/components/schemas/Answer"}}
                    }},
                    "504": {"description": "The query took longer than engine.query_timeout_secs"}
                }), &errors)
            }},
            "/api/conversations": {"get": {
                "summary": "Conversations, most recent first",
                "parameters": [{"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 500, "default": 50}}],
                "responses": merge(json!({"200": {"description": "{conversations: [{id, title, turns, created_at, updated_at}]}"}}), &errors)
            }},
            "/api/conversations/{id}": {
                "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,64}$"}}],
                "get": {"summary": "A conversation with every turn", "responses": merge(json!({"200": {"description": "{id, title, turns: [{seq, question, kind, response, created_at}]}"}}), &errors)},
                "delete": {"summary": "Delete a conversation", "responses": merge(json!({"204": {"description": "Deleted"}}), &errors)}
            },
            "/api/feedback": {"post": {
                "summary": "Thumbs up or down on an answer, with an optional correction",
                "description": "A thumbs down also empties the semantic cache, so the question is worked out afresh next time.",
                "requestBody": body("FeedbackRequest"),
                "responses": merge(json!({"201": {"description": "{id}"}}), &errors)
            }},
            "/api/verified-queries": {
                "post": {
                    "summary": "Save a question and its plan as verified",
                    "description": "Either a turn of a conversation (its question and plan) or a question with a SemanticQuery. The plan must compile; it is indexed and used at once.",
                    "requestBody": body("VerifiedRequest"),
                    "responses": merge(json!({"201": {"description": "{question, semantic_query, source, created_at}"}}), &errors)
                },
                "get": {"summary": "Every verified question", "responses": merge(json!({"200": {"description": "{verified_queries: [{question, semantic_query}]}"}}), &errors)}
            },
            "/api/catalog": {"get": {
                "summary": "Metrics, dimensions and sample questions",
                "responses": merge(json!({"200": {"description": "{model, as_of, metrics, dimensions, sample_questions}"}}), &errors)
            }},
            "/healthz": {"get": {"summary": "The process is up", "security": [], "responses": {"200": {"description": "{status: ok}"}}}},
            "/readyz": {"get": {"summary": "Questions can be answered", "security": [], "responses": {"200": {"description": "{status: ready, indexed_items, scores_held: whether the model views are scored and held in memory yet}"}, "503": {"description": "Loading or unavailable"}}}},
            "/metrics": {"get": {"summary": "Prometheus metrics", "security": [], "responses": {"200": {"description": "OpenMetrics text"}}}},
            "/api/openapi.json": {"get": {"summary": "This document", "security": [], "responses": {"200": {"description": "OpenAPI 3.1"}}}}
        }
    })
}

fn merge(mut a: Value, b: &Value) -> Value {
    if let (Some(a), Some(b)) = (a.as_object_mut(), b.as_object()) {
        for (k, v) in b {
            a.entry(k.clone()).or_insert_with(|| v.clone());
        }
    }
    a
}

/// The answer document's main fields (the whole of it is the JSON of
/// `quarry ask --format json`).
fn answer_schema() -> Value {
    json!({
        "type": "object",
        "required": ["conversation_id", "kind", "question", "narrative", "columns", "rows", "suggestions", "options", "timings"],
        "properties": {
            "conversation_id": {"type": "string"},
            "turn": {"type": "integer"},
            "kind": {"enum": ["answer", "clarification", "refusal"]},
            "question": {"type": "string"},
            "interpretation": {"type": ["string", "null"]},
            "semantic_query": {"type": ["object", "null"]},
            "sql": {"type": ["string", "null"]},
            "columns": {"type": "array", "items": {"type": "object", "properties": {
                "name": {"type": "string"}, "label": {"type": "string"},
                "role": {"enum": ["dimension", "time", "metric", "previous", "change", "change_pct"]},
                "format": {"enum": ["number", "integer", "currency", "percent", "ratio"]}
            }}},
            "rows": {"type": "array", "items": {"type": "array"}},
            "narrative": {"type": "string"},
            "chart": {"type": ["object", "null"], "properties": {
                "kind": {"enum": ["kpi", "line", "bar", "grouped_bar", "table"]},
                "title": {"type": "string"},
                "spec": {"type": ["object", "null"], "description": "Vega-Lite v5"}
            }},
            "suggestions": {"type": "array", "items": {"type": "string"}},
            "options": {"type": "array", "items": {"type": "object", "properties": {"label": {"type": "string"}, "query": {"type": "object"}}}},
            "notes": {"type": "array", "items": {"type": "string"}},
            "confidence": {"type": ["number", "null"]},
            "planner": {"type": "string"},
            "timings": {"type": "object"}
        }
    })
}

pub async fn document() -> Json<Value> {
    Json(build())
}
