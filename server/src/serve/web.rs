//! The web chat: three files built into the binary (or read from
//! `server.web_dir` while working on them), and the chart libraries that
//! setup installed from npm into `<data>/web/node_modules`. Nothing comes
//! from a CDN, so the page works offline.

use std::path::PathBuf;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sha2::{Digest, Sha256};
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;

use super::Shared;
use super::error::ApiError;
use crate::config::Config;

const INDEX: &str = include_str!("../../../web/index.html");
const APP_JS: &str = include_str!("../../../web/app.js");
const APP_CSS: &str = include_str!("../../../web/app.css");

/// The packages the page loads, each served from its own `build/` folder.
pub const VENDOR: [&str; 3] = ["vega", "vega-lite", "vega-embed"];

pub fn routes(cfg: &Config) -> Router<Shared> {
    let modules = cfg.data_dir.join("web").join("node_modules");
    let mut r = Router::new()
        .route(
            "/",
            get(|s: State<Shared>, h: HeaderMap| asset(s, h, "index.html")),
        )
        .route(
            "/index.html",
            get(|s: State<Shared>, h: HeaderMap| asset(s, h, "index.html")),
        )
        .route(
            "/app.js",
            get(|s: State<Shared>, h: HeaderMap| asset(s, h, "app.js")),
        )
        .route(
            "/app.css",
            get(|s: State<Shared>, h: HeaderMap| asset(s, h, "app.css")),
        );
    for pkg in VENDOR {
        let dir = modules.join(pkg).join("build");
        r = r.nest_service(
            &format!("/vendor/{pkg}/build"),
            tower::ServiceBuilder::new()
                .layer(SetResponseHeaderLayer::overriding(
                    header::CACHE_CONTROL,
                    HeaderValue::from_static("public, max-age=86400"),
                ))
                .service(ServeDir::new(dir)),
        );
    }
    r
}

fn content_type(name: &str) -> &'static str {
    match name.rsplit('.').next() {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        _ => "application/octet-stream",
    }
}

fn built_in(name: &str) -> &'static str {
    match name {
        "app.js" => APP_JS,
        "app.css" => APP_CSS,
        _ => INDEX,
    }
}

/// A UI file with an ETag, so browsers revalidate cheaply and always see a
/// new version after an upgrade.
async fn asset(State(state): State<Shared>, headers: HeaderMap, name: &'static str) -> Response {
    let body: String = match &state.cfg.server.web_dir {
        Some(dir) => {
            let path: PathBuf = dir.join(name);
            match tokio::fs::read_to_string(&path).await {
                Ok(s) => s,
                Err(e) => {
                    return ApiError::not_found(format!(
                        "cannot read {} (server.web_dir): {e}",
                        path.display()
                    ))
                    .into_response();
                }
            }
        }
        None => built_in(name).to_string(),
    };
    let etag = format!(
        "\"{}\"",
        Sha256::digest(body.as_bytes())
            .iter()
            .take(12)
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    );
    let cache = [
        (header::CACHE_CONTROL, "no-cache".to_string()),
        (header::ETAG, etag.clone()),
    ];
    if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == etag)
    {
        return (StatusCode::NOT_MODIFIED, cache).into_response();
    }
    (
        [(header::CONTENT_TYPE, content_type(name).to_string())],
        cache,
        body,
    )
        .into_response()
}
