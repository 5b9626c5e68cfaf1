//! An HTTP front that injects faults: it forwards each request to the real
//! server unless a fault is scripted for the request's path, and counts the
//! requests per path. What a flaky network, an overloaded server or a
//! confused proxy look like to the phone, without sleeping in tests.

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

/// What the front does with one request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Answer with this status and a JSON error body, without asking the
    /// server.
    Status(u16),
    /// Answer `429 rate_limited` with this `Retry-After` value.
    RateLimited(String),
    /// Answer `503` with this `Retry-After` value.
    Unavailable(String),
    /// Forward, but put this in the answer's `Fushi-Server-Time`.
    ServerTime(i64),
}

#[derive(Default)]
struct Script {
    faults: HashMap<String, VecDeque<Fault>>,
    hits: HashMap<String, usize>,
}

#[derive(Clone)]
struct Front {
    upstream: String,
    http: reqwest::Client,
    script: Arc<Mutex<Script>>,
}

/// A running front.
pub struct FaultyFront {
    /// Where phones connect (plain HTTP).
    pub url: String,
    script: Arc<Mutex<Script>>,
}

impl FaultyFront {
    /// A front for the server at `upstream` (a plain-HTTP base URL).
    pub async fn start(upstream: &str) -> FaultyFront {
        let script = Arc::new(Mutex::new(Script::default()));
        let front = Front {
            upstream: upstream.trim_end_matches('/').to_string(),
            // Bodies pass as they are, compressed or not.
            http: crate::http_builder().gzip(false).build().unwrap(),
            script: script.clone(),
        };
        let app = axum::Router::new().fallback(forward).with_state(front);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FaultyFront { url, script }
    }

    /// The next requests to `path` (e.g. `/v1/push`) meet `faults`, in
    /// order; after them, requests are forwarded again.
    pub fn script(&self, path: &str, faults: impl IntoIterator<Item = Fault>) {
        let mut script = self.script.lock().unwrap();
        script
            .faults
            .entry(path.to_string())
            .or_default()
            .extend(faults);
    }

    /// How many requests to `path` arrived (faulted or forwarded).
    pub fn hits(&self, path: &str) -> usize {
        let script = self.script.lock().unwrap();
        script.hits.get(path).copied().unwrap_or(0)
    }
}

fn error(status: StatusCode, code: &str) -> Response {
    let body = serde_json::json!({ "code": code, "message": "injected by the test" });
    (status, axum::Json(body)).into_response()
}

async fn forward(State(front): State<Front>, req: Request) -> Response {
    let path = req.uri().path().to_string();
    let fault = {
        let mut script = front.script.lock().unwrap();
        *script.hits.entry(path.clone()).or_default() += 1;
        script.faults.get_mut(&path).and_then(VecDeque::pop_front)
    };
    let server_time = match fault {
        Some(Fault::Status(code)) => {
            let status = StatusCode::from_u16(code).unwrap();
            return error(status, &format!("injected_{code}"));
        }
        Some(Fault::RateLimited(after)) => {
            let mut resp = error(StatusCode::TOO_MANY_REQUESTS, "rate_limited");
            resp.headers_mut()
                .insert("retry-after", HeaderValue::from_str(&after).unwrap());
            return resp;
        }
        Some(Fault::Unavailable(after)) => {
            let mut resp = error(StatusCode::SERVICE_UNAVAILABLE, "unavailable");
            resp.headers_mut()
                .insert("retry-after", HeaderValue::from_str(&after).unwrap());
            return resp;
        }
        Some(Fault::ServerTime(ms)) => Some(ms),
        None => None,
    };
    let (parts, body) = req.into_parts();
    let Ok(body) = axum::body::to_bytes(body, usize::MAX).await else {
        return error(StatusCode::BAD_REQUEST, "front_body");
    };
    let target = format!(
        "{}{}",
        front.upstream,
        parts.uri.path_and_query().map_or("/", |p| p.as_str())
    );
    let mut headers = parts.headers.clone();
    for h in ["host", "content-length", "connection"] {
        headers.remove(h);
    }
    let sent = front
        .http
        .request(parts.method, target)
        .headers(headers)
        .body(body)
        .send()
        .await;
    let Ok(resp) = sent else {
        return error(StatusCode::BAD_GATEWAY, "front_upstream");
    };
    let status = resp.status();
    let mut headers: HeaderMap = resp.headers().clone();
    let bytes: Bytes = resp.bytes().await.unwrap_or_default();
    for h in ["content-length", "transfer-encoding", "connection"] {
        headers.remove(h);
    }
    if let Some(ms) = server_time {
        headers.insert(
            fushi_core::sync::wire::HEADER_SERVER_TIME,
            HeaderValue::from_str(&ms.to_string()).unwrap(),
        );
    }
    let mut out = Response::new(Body::from(bytes));
    *out.status_mut() = status;
    *out.headers_mut() = headers;
    out
}
