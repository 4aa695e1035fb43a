//! Prometheus metrics at `/metrics`: requests by route and status, their
//! latency, answers by kind and planner, feedback.

use std::sync::Mutex;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use super::Shared;
use crate::ask::Response as Answer;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
    status: u16,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct AnswerLabels {
    kind: String,
    planner: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RatingLabels {
    rating: String,
}

type Latency = Family<RouteLabels, Histogram, fn() -> Histogram>;

fn latency_buckets() -> Histogram {
    // 1 ms to about 16 s.
    Histogram::new(exponential_buckets(0.001, 2.0, 15))
}

fn answer_buckets() -> Histogram {
    Histogram::new(exponential_buckets(0.005, 2.0, 12))
}

pub struct Metrics {
    registry: Mutex<Registry>,
    requests: Family<RequestLabels, Counter>,
    latency: Latency,
    in_flight: Gauge,
    answers: Family<AnswerLabels, Counter>,
    answer_seconds: Histogram,
    errors: Counter,
    feedback: Family<RatingLabels, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        let requests = Family::<RequestLabels, Counter>::default();
        let latency: Latency = Family::new_with_constructor(latency_buckets);
        let in_flight = Gauge::default();
        let answers = Family::<AnswerLabels, Counter>::default();
        let answer_seconds = answer_buckets();
        let errors = Counter::default();
        let feedback = Family::<RatingLabels, Counter>::default();
        let mut r = Registry::with_prefix("quarry");
        r.register(
            "http_requests",
            "HTTP requests by method, route and status",
            requests.clone(),
        );
        r.register(
            "http_request_duration_seconds",
            "Time to the response's headers, by route",
            latency.clone(),
        );
        r.register(
            "http_requests_in_flight",
            "Requests being handled",
            in_flight.clone(),
        );
        r.register(
            "answers",
            "Questions answered, by kind (answer, clarification, refusal) and planner",
            answers.clone(),
        );
        r.register(
            "answer_duration_seconds",
            "Time to answer a question, end to end",
            answer_seconds.clone(),
        );
        r.register(
            "answer_errors",
            "Questions that ended in an error",
            errors.clone(),
        );
        r.register(
            "feedback",
            "Thumbs up and down on answers",
            feedback.clone(),
        );
        Self {
            registry: Mutex::new(r),
            requests,
            latency,
            in_flight,
            answers,
            answer_seconds,
            errors,
            feedback,
        }
    }
}

impl Metrics {
    pub fn answered(&self, a: &Answer) {
        self.answers
            .get_or_create(&AnswerLabels {
                kind: a.kind.as_str().into(),
                planner: a.planner.clone(),
            })
            .inc();
        self.answer_seconds.observe(a.timings.total_ms / 1e3);
    }

    pub fn failed(&self) {
        self.errors.inc();
    }

    pub fn feedback(&self, rating: &str) {
        self.feedback
            .get_or_create(&RatingLabels {
                rating: rating.into(),
            })
            .inc();
    }

    pub fn encode(&self) -> String {
        let mut out = String::new();
        let r = self.registry.lock().unwrap_or_else(|p| p.into_inner());
        if prometheus_client::encoding::text::encode(&mut out, &r).is_err() {
            out.clear();
        }
        out
    }
}

/// Counts and times every request, labelled by its route pattern (not its
/// path, so conversation ids do not explode the label space).
pub async fn track(State(state): State<Shared>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| {
            if req.uri().path().starts_with("/api/") {
                "unmatched".into()
            } else {
                "static".into()
            }
        });
    let method = req.method().to_string();
    let m = &state.metrics;
    m.in_flight.inc();
    let t = Instant::now();
    let resp = next.run(req).await;
    m.in_flight.dec();
    m.latency
        .get_or_create(&RouteLabels {
            route: route.clone(),
        })
        .observe(t.elapsed().as_secs_f64());
    m.requests
        .get_or_create(&RequestLabels {
            method,
            route,
            status: resp.status().as_u16(),
        })
        .inc();
    resp
}

pub async fn render(State(state): State<Shared>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.metrics.encode(),
    )
        .into_response()
}
