//! `quarry serve`: the HTTP API and the web chat. Every route calls the
//! same [`Asker`] as the command line; this module only speaks HTTP.
//!
//! The listener opens at once, so `/healthz` answers while the embedding
//! model and the index load; `/readyz` and the API answer 503 until then.

pub mod api;
pub mod error;
pub mod metrics;
pub mod openapi;
pub mod web;

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use tower_http::compression::CompressionLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::ask::Asker;
use crate::ask::store::Store;
use crate::config::Config;
use error::ApiError;

/// What every handler shares.
pub struct AppState {
    pub cfg: Config,
    /// Set once the question path has loaded.
    pub asker: OnceLock<Arc<Asker>>,
    /// The failure that stopped loading, for `/readyz`.
    pub load_error: OnceLock<String>,
    pub metrics: metrics::Metrics,
    /// Whether the model views are scored and held (`/readyz` says so).
    pub scores_held: std::sync::atomic::AtomicBool,
}

pub type Shared = Arc<AppState>;

impl AppState {
    pub fn new(cfg: Config) -> Self {
        Self {
            cfg,
            scores_held: std::sync::atomic::AtomicBool::new(false),
            asker: OnceLock::new(),
            load_error: OnceLock::new(),
            metrics: metrics::Metrics::default(),
        }
    }

    /// The question path, or 503 while it loads.
    pub fn asker(&self) -> Result<&Arc<Asker>, ApiError> {
        match self.asker.get() {
            Some(a) => Ok(a),
            None => Err(match self.load_error.get() {
                Some(e) => ApiError::unavailable(format!("Quarry could not start: {e}")),
                None => ApiError::unavailable(
                    "Quarry is still loading the embedding model and the index; try again in a few seconds",
                ),
            }),
        }
    }

    pub fn store(&self) -> Result<&Store, ApiError> {
        self.asker()?
            .store
            .as_ref()
            .ok_or_else(|| ApiError::unavailable("the conversation store is not open"))
    }
}

/// The whole application: API, web UI and the middleware around them.
pub fn router(state: Shared) -> Router {
    let cfg = &state.cfg.server;
    let api = api::routes()
        .route_layer(middleware::from_fn_with_state(state.clone(), require_token))
        .layer(axum::extract::DefaultBodyLimit::max(
            cfg.body_limit_kb * 1024,
        ));
    let api = with_rate_limit(api, cfg);
    let mut app = Router::new()
        .merge(api)
        .merge(api::open_routes())
        .merge(web::routes(&state.cfg))
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(state.clone(), timeout))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            metrics::track,
        ))
        .layer(CompressionLayer::new())
        .with_state(state.clone());
    if let Some(cors) = cors(&state.cfg.server.cors_origins) {
        app = app.layer(cors);
    }
    app.layer(tower_http::trace::TraceLayer::new_for_http())
}

async fn not_found(req: Request) -> ApiError {
    ApiError::not_found(format!(
        "there is no {} {}; the API is described at /api/openapi.json",
        req.method(),
        req.uri().path()
    ))
}

/// A request that takes longer than `server.request_timeout_secs` gets a
/// 408 with the usual error body. A stream that has begun is not cut: its
/// headers have gone, so the limit covers the time to the first byte.
async fn timeout(State(state): State<Shared>, req: Request, next: Next) -> Response {
    let limit = Duration::from_secs(state.cfg.server.request_timeout_secs);
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(r) => r,
        Err(_) => ApiError::with_status(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            "timeout",
            "timeout",
            &format!(
                "the request took longer than {} s and was stopped; ask about a shorter period or a narrower breakdown, or raise server.request_timeout_secs",
                limit.as_secs()
            ),
        )
        .into_response(),
    }
}

/// The SHA-256 of a token, as stored.
pub fn token_hash(token: &str) -> String {
    let d = Sha256::digest(token.as_bytes());
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// With `server.auth` on, the API needs `Authorization: Bearer <token>` of a
/// token made by `quarry tokens create` and not revoked.
async fn require_token(State(state): State<Shared>, req: Request, next: Next) -> Response {
    if !state.cfg.server.auth {
        return next.run(req).await;
    }
    let presented = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim);
    let Some(token) = presented.filter(|t| !t.is_empty()) else {
        return ApiError::unauthorized(
            "this server requires a token: send Authorization: Bearer <token>; an administrator makes one with `quarry tokens create <name>`",
        )
        .into_response();
    };
    let store = match state.store() {
        Ok(s) => s,
        Err(e) => return e.into_response(),
    };
    match store.token_valid(&token_hash(token)) {
        Ok(true) => next.run(req).await,
        Ok(false) => ApiError::unauthorized(
            "the token is not valid or was revoked; ask an administrator for a new one (`quarry tokens create <name>`)",
        )
        .into_response(),
        Err(e) => ApiError::from(e).into_response(),
    }
}

/// A token bucket per client address: `rate_limit_burst` requests at once,
/// refilled at `rate_limit_per_minute`.
fn with_rate_limit(api: Router<Shared>, cfg: &crate::config::ServerConfig) -> Router<Shared> {
    if cfg.rate_limit_per_minute == 0 {
        return api;
    }
    let every_ms = (60_000 / cfg.rate_limit_per_minute).max(1);
    let Some(conf) = tower_governor::governor::GovernorConfigBuilder::default()
        .per_millisecond(every_ms)
        .burst_size(cfg.rate_limit_burst)
        .finish()
    else {
        return api;
    };
    api.layer(tower_governor::GovernorLayer::new(conf).error_handler(|e| {
        let wait = match &e {
            tower_governor::GovernorError::TooManyRequests { wait_time, .. } => *wait_time,
            _ => 1,
        };
        let mut r = match e {
            tower_governor::GovernorError::TooManyRequests { .. } => ApiError::rate_limited(
                format!("too many requests from this address; wait {wait} s and try again"),
            ),
            tower_governor::GovernorError::UnableToExtractKey => {
                ApiError::internal("the client address is unknown, so no rate limit applies")
            }
            tower_governor::GovernorError::Other { msg, .. } => {
                ApiError::internal(msg.unwrap_or_else(|| "rate limiter failed".into()))
            }
        }
        .into_response();
        if let Ok(v) = HeaderValue::from_str(&wait.to_string()) {
            r.headers_mut().insert(header::RETRY_AFTER, v);
        }
        r
    }))
}

fn cors(origins: &[String]) -> Option<CorsLayer> {
    if origins.is_empty() {
        return None;
    }
    let allow = if origins.iter().any(|o| o == "*") {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(
            origins
                .iter()
                .filter_map(|o| HeaderValue::from_str(o).ok())
                .collect::<Vec<_>>(),
        )
    };
    Some(
        CorsLayer::new()
            .allow_origin(allow)
            .allow_methods([Method::GET, Method::POST, Method::DELETE])
            .allow_headers([header::CONTENT_TYPE, header::AUTHORIZATION, header::ACCEPT]),
    )
}

/// Binds, prints the address, loads the question path in the background and
/// serves until Ctrl-C or SIGTERM.
pub async fn run(cfg: Config, on_bound: impl FnOnce(SocketAddr)) -> anyhow::Result<()> {
    let addr = format!("{}:{}", cfg.server.host, cfg.server.port);
    let listener = tokio::net::TcpListener::bind(&addr).await.map_err(|e| {
        anyhow::anyhow!(
            "cannot listen on {addr}: {e}; pick another port with --port or server.port"
        )
    })?;
    let bound = listener.local_addr()?;
    let state: Shared = Arc::new(AppState::new(cfg));
    let app = router(state.clone());
    on_bound(bound);

    let (fail_tx, fail_rx) = tokio::sync::oneshot::channel::<String>();
    let loader = {
        let state = state.clone();
        tokio::spawn(async move {
            match Asker::open(&state.cfg).await {
                Ok(a) => {
                    let a = Arc::new(a);
                    let _ = state.asker.set(a.clone());
                    tracing::info!("ready: questions are answered");
                    // Questions are answered meanwhile, scoring only the
                    // rows they read.
                    match a.ws.hold_scores().await {
                        Ok(views) => {
                            tracing::info!(?views, "model views scored and held");
                            state
                                .scores_held
                                .store(true, std::sync::atomic::Ordering::Relaxed);
                        }
                        Err(e) => tracing::warn!("model views are scored per question: {e}"),
                    }
                }
                Err(e) => {
                    let _ = state.load_error.set(e.to_string());
                    let _ = fail_tx.send(e.to_string());
                }
            }
        })
    };
    let failed = Arc::new(OnceLock::<String>::new());
    let shutdown = {
        let failed = failed.clone();
        async move {
            tokio::select! {
                _ = shutdown_signal() => {}
                Ok(e) = fail_rx => { let _ = failed.set(e); }
            }
        }
    };
    let served = axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await;
    loader.abort();
    served?;
    if let Some(e) = failed.get() {
        anyhow::bail!("{e}");
    }
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}
