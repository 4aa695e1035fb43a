//! The real server, started as `quarry serve --port 0` on a small warehouse
//! with the demo's dates and its own data directory, spoken to over HTTP:
//! event order of the stream, the JSON mode, conversations that survive a
//! kill, feedback and verified questions, auth, limits and error bodies.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::{TestWarehouse, assert_same_rows, assets_dir, eval_warehouse};

pub struct Server {
    child: Child,
    pub url: String,
    client: reqwest::Client,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The environment that points a `quarry` process at the test warehouse,
/// its data directory and the real embedding assets.
pub fn env(w: &TestWarehouse) -> Vec<(String, String)> {
    let assets = assets_dir();
    vec![
        (
            "QUARRY_DATA_DIR".into(),
            w.data.path().display().to_string(),
        ),
        (
            "QUARRY__WAREHOUSE__PATH".into(),
            w.path().display().to_string(),
        ),
        (
            "QUARRY__RETRIEVAL__MODEL_DIR".into(),
            assets
                .join(quarry_retrieval::assets::DEFAULT_MODEL_DIR)
                .display()
                .to_string(),
        ),
        (
            "QUARRY__RETRIEVAL__ONNXRUNTIME".into(),
            assets
                .join(quarry_retrieval::assets::ORT_DIR)
                .join(quarry_retrieval::assets::ORT_FILE)
                .display()
                .to_string(),
        ),
        ("QUARRY__ENGINE__TARGET_PARTITIONS".into(), "2".into()),
    ]
}

pub fn quarry(w: &TestWarehouse, extra: &[(&str, &str)]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_quarry"));
    c.current_dir(w.data.path());
    for (k, v) in env(w) {
        c.env(k, v);
    }
    for (k, v) in extra {
        c.env(k, v);
    }
    c
}

impl Server {
    /// Starts the server and waits until `/readyz` says it can answer.
    pub async fn start(w: &TestWarehouse, args: &[&str], extra: &[(&str, &str)]) -> Server {
        let mut cmd = quarry(w, extra);
        cmd.arg("serve")
            .arg("--port")
            .arg("0")
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let mut child = cmd.spawn().expect("quarry serve starts");
        let stdout = child.stdout.take().expect("stdout");
        let mut reader = BufReader::new(stdout);
        let mut line = String::new();
        reader
            .read_line(&mut line)
            .expect("the server prints its address");
        // Keep reading what it prints, as a terminal would.
        std::thread::spawn(move || std::io::copy(&mut reader, &mut std::io::sink()));
        let url = line
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .unwrap_or_else(|| panic!("no address in {line:?}"))
            .trim_end_matches('/')
            .to_string();
        // reqwest is built without a default TLS provider (see Cargo.toml).
        let _ = rustls::crypto::ring::default_provider().install_default();
        let s = Server {
            child,
            url,
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(120))
                .build()
                .unwrap(),
        };
        let t = Instant::now();
        loop {
            if let Ok(r) = s.client.get(format!("{}/readyz", s.url)).send().await
                && r.status() == 200
            {
                break;
            }
            assert!(
                t.elapsed() < Duration::from_secs(180),
                "the server did not become ready"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        s
    }

    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub async fn request(
        &self,
        method: reqwest::Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<String>,
    ) -> (u16, reqwest::header::HeaderMap, String) {
        let mut r = self.client.request(method, format!("{}{path}", self.url));
        for (k, v) in headers {
            r = r.header(*k, *v);
        }
        if let Some(b) = body {
            r = r.header("content-type", "application/json").body(b);
        }
        let resp = r.send().await.expect("the request is answered");
        let status = resp.status().as_u16();
        let h = resp.headers().clone();
        (status, h, resp.text().await.unwrap_or_default())
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        let (s, _, b) = self.request(reqwest::Method::GET, path, &[], None).await;
        (s, serde_json::from_str(&b).unwrap_or(Value::String(b)))
    }

    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        let (s, _, b) = self
            .request(
                reqwest::Method::POST,
                path,
                &[("accept", "application/json")],
                Some(body.to_string()),
            )
            .await;
        (s, serde_json::from_str(&b).unwrap_or(Value::String(b)))
    }

    /// Asks in JSON mode.
    pub async fn ask(&self, question: &str, conversation: Option<&str>) -> Value {
        let mut body = json!({ "question": question });
        if let Some(c) = conversation {
            body["conversation_id"] = json!(c);
        }
        let (status, v) = self.post("/api/chat", body).await;
        assert_eq!(status, 200, "{question}: {v}");
        v
    }

    /// Asks over Server-Sent Events; returns (event, data) in order.
    pub async fn ask_stream(
        &self,
        question: &str,
        conversation: Option<&str>,
    ) -> Vec<(String, Value)> {
        let mut body = json!({ "question": question });
        if let Some(c) = conversation {
            body["conversation_id"] = json!(c);
        }
        let (status, h, text) = self
            .request(
                reqwest::Method::POST,
                "/api/chat",
                &[("accept", "text/event-stream")],
                Some(body.to_string()),
            )
            .await;
        assert_eq!(status, 200, "{text}");
        assert!(
            h.get("content-type")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.starts_with("text/event-stream")),
            "{h:?}"
        );
        parse_sse(&text)
    }
}

fn parse_sse(text: &str) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for frame in text.split("\n\n") {
        let mut name = String::from("message");
        let mut data = String::new();
        for line in frame.lines() {
            if let Some(n) = line.strip_prefix("event:") {
                name = n.trim().to_string();
            } else if let Some(d) = line.strip_prefix("data:") {
                if !data.is_empty() {
                    data.push('\n');
                }
                data.push_str(d.strip_prefix(' ').unwrap_or(d));
            }
        }
        if !data.is_empty() {
            out.push((
                name,
                serde_json::from_str(&data).unwrap_or(Value::String(data)),
            ));
        }
    }
    out
}

fn names(events: &[(String, Value)]) -> Vec<&str> {
    events.iter().map(|(n, _)| n.as_str()).collect()
}

fn interpretation(v: &Value) -> String {
    v["interpretation"].as_str().unwrap_or_default().to_string()
}

#[tokio::test]
async fn the_api_streams_answers_and_keeps_conversations_through_a_kill() {
    let w = eval_warehouse();
    let s = Server::start(&w, &[], &[]).await;

    // The stream: every part of an answer, in order, then done.
    let ev = s
        .ask_stream("top iOS campaigns by ROAS last month", None)
        .await;
    assert_eq!(
        names(&ev),
        [
            "conversation",
            "interpretation",
            "sql",
            "table",
            "chart",
            "narrative",
            "suggestions",
            "done"
        ]
    );
    let conv = ev[0].1["conversation_id"].as_str().unwrap().to_string();
    assert_eq!(ev[0].1["turn"], 1);
    assert!(interpretation(&ev[1].1).contains("iOS"), "{}", ev[1].1);
    assert!(ev[2].1["sql"].as_str().unwrap().contains("SELECT"));
    let rows = ev[3].1["rows"].as_array().unwrap();
    assert!(!rows.is_empty(), "a table with rows");
    assert_eq!(ev[4].1["kind"], "bar");
    assert!(
        ev[4].1["spec"]["$schema"]
            .as_str()
            .unwrap()
            .contains("vega-lite/v5")
    );
    let done = &ev[7].1;
    assert_eq!(done["kind"], "answer");
    assert_eq!(done["conversation_id"], conv.as_str());
    assert_eq!(done["turn"], 1);
    assert_eq!(done["rows"], ev[3].1["rows"], "done repeats the table");
    assert_eq!(done["narrative"], ev[5].1["delta"]);
    assert!(!done["narrative"].as_str().unwrap().is_empty());

    // The JSON mode, and a follow-up that uses the conversation.
    let a = s.ask("what about Android?", Some(&conv)).await;
    assert_eq!(a["kind"], "answer", "{a}");
    assert_eq!(a["turn"], 2);
    let i = interpretation(&a);
    assert!(i.contains("Android") && !i.contains("iOS"), "{i}");
    assert_eq!(
        a["semantic_query"]["metrics"], done["semantic_query"]["metrics"],
        "the follow-up keeps the metric"
    );
    assert!(!a["rows"].as_array().unwrap().is_empty());

    // A clarification streams its options; picking one answers it.
    let ev = s.ask_stream("how are we doing?", None).await;
    assert_eq!(
        names(&ev),
        [
            "conversation",
            "interpretation",
            "narrative",
            "options",
            "suggestions",
            "done"
        ]
    );
    assert_eq!(ev[1].1["kind"], "clarification");
    let other = ev[0].1["conversation_id"].as_str().unwrap().to_string();
    assert_ne!(other, conv);
    let picked = s.ask("1", Some(&other)).await;
    assert_eq!(picked["kind"], "answer", "{picked}");

    // Two conversations at once never see each other's context.
    let (x, y) = tokio::join!(
        s.ask("and last month?", Some(&conv)),
        s.ask("break it down by country", Some(&other)),
    );
    assert_eq!(x["kind"], "answer", "{x}");
    assert!(interpretation(&x).contains("Android"), "{x}");
    assert_eq!(y["kind"], "answer", "{y}");
    assert!(!interpretation(&y).contains("Android"), "{y}");

    // Conversations: listed newest first, read back, turn by turn.
    let (st, list) = s.get("/api/conversations").await;
    assert_eq!(st, 200);
    let ids: Vec<&str> = list["conversations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 2);
    let (st, c) = s.get(&format!("/api/conversations/{conv}")).await;
    assert_eq!(st, 200);
    assert_eq!(c["turns"].as_array().unwrap().len(), 3);
    assert_eq!(c["turns"][1]["question"], "what about Android?");
    assert_eq!(c["turns"][1]["response"]["kind"], "answer");

    // Feedback: stored; a missing turn is a 404.
    let (st, f) = s
        .post(
            "/api/feedback",
            json!({"conversation_id": conv, "turn": 1, "rating": "up"}),
        )
        .await;
    assert_eq!(st, 201, "{f}");
    assert!(f["id"].as_i64().unwrap() >= 1);
    let (st, f) = s
        .post(
            "/api/feedback",
            json!({"conversation_id": conv, "turn": 2, "rating": "down", "correction": "should exclude test campaigns"}),
        )
        .await;
    assert_eq!(st, 201, "{f}");
    let (st, e) = s
        .post(
            "/api/feedback",
            json!({"conversation_id": conv, "turn": 99, "rating": "up"}),
        )
        .await;
    assert_eq!(st, 404);
    assert_eq!(e["code"], "not_found");
    let (st, e) = s
        .post(
            "/api/feedback",
            json!({"conversation_id": conv, "turn": 1, "rating": "meh"}),
        )
        .await;
    assert_eq!(st, 422, "{e}");
    assert_eq!(e["type"], "invalid_request");

    // A verified question: saved from a turn, then answered from its plan
    // word for word, and offered in the catalogue.
    let (st, v) = s
        .post(
            "/api/verified-queries",
            json!({"conversation_id": conv, "turn": 1}),
        )
        .await;
    assert_eq!(st, 201, "{v}");
    assert_eq!(v["question"], "top iOS campaigns by ROAS last month");
    let again = s.ask("Top iOS campaigns by ROAS last month", None).await;
    assert_eq!(again["planner"], "verified", "{again}");
    assert_same_rows(&again["rows"], &done["rows"]);
    let (_, cat) = s.get("/api/catalog").await;
    assert!(
        cat["sample_questions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|q| q == "top iOS campaigns by ROAS last month")
    );
    assert!(cat["metrics"].as_array().unwrap().len() > 10);
    let (st, e) = s
        .post(
            "/api/verified-queries",
            json!({"conversation_id": other, "turn": 1}),
        )
        .await;
    assert_eq!(st, 400, "a clarification has no plan: {e}");
    assert_eq!(e["code"], "not_an_answer");

    // Metrics and the API description.
    let (st, _, m) = s.request(reqwest::Method::GET, "/metrics", &[], None).await;
    assert_eq!(st, 200);
    assert!(m.contains("quarry_http_requests_total"), "{m}");
    assert!(m.contains("quarry_answers_total{kind=\"answer\""), "{m}");
    let (st, doc) = s.get("/api/openapi.json").await;
    assert_eq!(st, 200);
    assert_eq!(doc["openapi"], "3.1.0");
    for p in [
        "/api/chat",
        "/api/conversations/{id}",
        "/api/feedback",
        "/api/verified-queries",
        "/api/catalog",
    ] {
        assert!(doc["paths"][p].is_object(), "{p} is described");
    }
    assert!(doc["components"]["schemas"]["ChatRequest"]["properties"]["question"].is_object());

    // Killed in the middle of an answer: nothing said before is lost, and
    // the conversation goes on after a restart.
    let pending = {
        let url = format!("{}/api/chat", s.url);
        let body = json!({"question": "installs by country and platform last 90 days", "conversation_id": conv});
        tokio::spawn(async move {
            reqwest::Client::new()
                .post(url)
                .header("content-type", "application/json")
                .body(body.to_string())
                .send()
                .await
        })
    };
    tokio::time::sleep(Duration::from_millis(30)).await;
    s.kill();
    let _ = pending.await;
    let s = Server::start(&w, &[], &[]).await;
    let (st, c) = s.get(&format!("/api/conversations/{conv}")).await;
    assert_eq!(st, 200);
    let turns = c["turns"].as_array().unwrap();
    assert!(
        turns.len() == 3 || turns.len() == 4,
        "the three earlier turns survive; the interrupted one is whole or absent: {}",
        turns.len()
    );
    assert_eq!(turns[0]["question"], "top iOS campaigns by ROAS last month");
    assert_eq!(turns[2]["response"]["kind"], "answer");
    let (st, _, _) = s
        .request(
            reqwest::Method::DELETE,
            &format!("/api/conversations/{other}"),
            &[],
            None,
        )
        .await;
    assert_eq!(st, 204);
    let (st, e) = s.get(&format!("/api/conversations/{other}")).await;
    assert_eq!(st, 404, "{e}");
    // The saved verified question is still there after the restart.
    let again = s.ask("top iOS campaigns by ROAS last month", None).await;
    assert_eq!(again["planner"], "verified", "{again}");
}

#[tokio::test]
async fn bad_requests_get_clear_errors_and_limits_hold() {
    let w = eval_warehouse();
    let s = Server::start(
        &w,
        &[],
        &[
            ("QUARRY__SERVER__BODY_LIMIT_KB", "4"),
            ("QUARRY__SERVER__RATE_LIMIT_PER_MINUTE", "6"),
            ("QUARRY__SERVER__RATE_LIMIT_BURST", "12"),
        ],
    )
    .await;
    let check = |status: u16, v: &Value, want_status: u16, code: &str| {
        assert_eq!(status, want_status, "{v}");
        assert_eq!(v["code"], code, "{v}");
        assert!(
            v["message"].as_str().is_some_and(|m| m.len() > 20),
            "a message that says what to do: {v}"
        );
        assert!(v["type"].is_string(), "{v}");
    };
    let (st, v) = s.post("/api/chat", json!({"question": "   "})).await;
    check(st, &v, 400, "empty_question");
    let (st, v) = s
        .post("/api/chat", json!({"question": "x".repeat(1500)}))
        .await;
    check(st, &v, 400, "question_too_long");
    let (st, v) = s
        .post(
            "/api/chat",
            json!({"question": "spend", "conversation_id": "../../etc"}),
        )
        .await;
    check(st, &v, 400, "invalid_conversation_id");
    let (st, _, b) = s
        .request(
            reqwest::Method::POST,
            "/api/chat",
            &[("accept", "application/json")],
            Some("{\"question\": ".into()),
        )
        .await;
    check(st, &serde_json::from_str(&b).unwrap(), 400, "invalid_json");
    let (st, v) = s
        .post("/api/chat", json!({"question": "spend", "sessoin": "x"}))
        .await;
    check(st, &v, 422, "invalid_json");
    let (st, v) = s
        .post("/api/chat", json!({"question": "y".repeat(8000)}))
        .await;
    check(st, &v, 413, "body_too_large");
    let (st, _, b) = s
        .request(
            reqwest::Method::POST,
            "/api/chat",
            &[("content-type", "text/plain")],
            None,
        )
        .await;
    check(
        st,
        &serde_json::from_str(&b).unwrap(),
        415,
        "unsupported_media_type",
    );
    let (st, v) = s.get("/api/conversations/nope").await;
    check(st, &v, 404, "not_found");
    let (st, v) = s.get("/api/nothing-here").await;
    check(st, &v, 404, "not_found");
    let (st, v) = s
        .post(
            "/api/verified-queries",
            json!({"question": "spend on the moon", "semantic_query": {"metrics": ["moon_spend"]}}),
        )
        .await;
    check(st, &v, 400, "invalid_plan");

    // The rate limit: the burst is spent on the requests above and a few
    // more; then 429 with Retry-After, and the health check stays open.
    let mut limited = None;
    for _ in 0..20 {
        let (st, h, b) = s
            .request(reqwest::Method::GET, "/api/catalog", &[], None)
            .await;
        if st == 429 {
            limited = Some((h, b));
            break;
        }
    }
    let (h, b) = limited.expect("the rate limit answers 429");
    assert!(h.get("retry-after").is_some(), "{h:?}");
    let v: Value = serde_json::from_str(&b).unwrap();
    check(429, &v, 429, "rate_limited");
    let (st, _) = s.get("/healthz").await;
    assert_eq!(st, 200);
}

#[tokio::test]
async fn with_auth_on_the_api_needs_a_valid_token() {
    let w = eval_warehouse();
    let refused = quarry(&w, &[])
        .args(["serve", "--port", "0", "--auth"])
        .output()
        .unwrap();
    assert!(!refused.status.success(), "no token yet: refuse to start");
    assert!(String::from_utf8_lossy(&refused.stderr).contains("quarry tokens create"));

    let out = quarry(&w, &[])
        .args(["tokens", "create", "tests"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let token = String::from_utf8(out.stdout).unwrap().trim().to_string();
    assert!(token.starts_with("qk_") && token.len() > 40, "{token}");
    let db = std::fs::read(w.data.path().join("quarry.sqlite")).unwrap_or_default();
    assert!(
        !db.windows(token.len()).any(|x| x == token.as_bytes()),
        "only the hash is stored"
    );

    let s = Server::start(&w, &["--auth"], &[]).await;
    let (st, _, b) = s
        .request(reqwest::Method::GET, "/api/catalog", &[], None)
        .await;
    assert_eq!(st, 401, "{b}");
    assert!(b.contains("Authorization: Bearer"), "{b}");
    let (st, _, _) = s
        .request(
            reqwest::Method::GET,
            "/api/catalog",
            &[("authorization", "Bearer qk_wrong")],
            None,
        )
        .await;
    assert_eq!(st, 401);
    let bearer = format!("Bearer {token}");
    let (st, _, b) = s
        .request(
            reqwest::Method::GET,
            "/api/catalog",
            &[("authorization", bearer.as_str())],
            None,
        )
        .await;
    assert_eq!(st, 200, "{b}");
    let (st, _) = s.get("/healthz").await;
    assert_eq!(st, 200, "health checks need no token");
    let (st, _, _) = s.request(reqwest::Method::GET, "/", &[], None).await;
    assert_eq!(st, 200, "the page itself loads, then asks for a token");

    let out = quarry(&w, &[])
        .args(["tokens", "revoke", "1"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let (st, _, _) = s
        .request(
            reqwest::Method::GET,
            "/api/catalog",
            &[("authorization", bearer.as_str())],
            None,
        )
        .await;
    assert_eq!(st, 401, "a revoked token is refused at once");
}

/// The web chat in headless Chromium, driven by playwright-core: a
/// question, its chart drawn, a follow-up, the conversation reopened, and
/// screenshots in `<target>/e2e-screenshots`.
#[tokio::test]
async fn the_web_chat_answers_in_a_real_browser() {
    let data = assets_dir();
    let modules = data.join("web").join("node_modules");
    assert!(
        modules.join("playwright-core").exists() && modules.join("vega-embed").exists(),
        "the web packages are missing from {}; run `make setup`",
        modules.display()
    );
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(
        Path::new(&chromium).exists(),
        "Chromium is missing ({chromium}); run `make setup`, which installs Debian's chromium package"
    );
    let w = eval_warehouse();
    // The chart libraries come from the data directory's node_modules.
    std::fs::create_dir_all(w.data.path().join("web")).unwrap();
    std::os::unix::fs::symlink(&modules, w.data.path().join("web").join("node_modules")).unwrap();
    let s = Server::start(&w, &[], &[]).await;
    let shots = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target-e2e-screenshots");
    let shots = std::env::var_os("CARGO_TARGET_DIR")
        .map(|t| Path::new(&t).join("e2e-screenshots"))
        .unwrap_or(shots);
    std::fs::create_dir_all(&shots).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../web/e2e/chat.mjs");
    let out = tokio::process::Command::new("node")
        .arg(&script)
        .arg(&s.url)
        .arg(&shots)
        .env("QUARRY_WEB_MODULES", &modules)
        .env("CHROMIUM", &chromium)
        .output()
        .await
        .expect("node runs (install Node.js 18 or newer)");
    assert!(
        out.status.success(),
        "the browser test failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    for f in ["answer.png", "followup.png", "phone.png"] {
        let meta = std::fs::metadata(shots.join(f)).unwrap();
        assert!(meta.len() > 10_000, "{f} is a real screenshot");
    }
}
