//! The HTTP application: routes, limits, compression, and serving with a
//! graceful shutdown (in-flight requests finish; no new ones are taken).

use crate::error::ApiError;
use crate::handlers;
use crate::storage::SyncStorage;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use fushi_core::sync::wire::{HEADER_SERVER_TIME, MAX_BODY_BYTES};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;
use tokio::net::TcpListener;
use tower_http::compression::CompressionLayer;
use tower_http::decompression::RequestDecompressionLayer;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    /// The storage.
    pub storage: Arc<dyn SyncStorage>,
    /// Its schema version (checked against every request's `Fushi-Schema`).
    pub schema: i64,
}

impl AppState {
    /// State over `storage`.
    pub fn new(storage: Arc<dyn SyncStorage>) -> AppState {
        let schema = storage.schema_version();
        AppState { storage, schema }
    }
}

/// Stamp every answer with the server's time, and log it without the query
/// string, the body or anything else a person could be found by.
async fn stamp_and_log(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let mut resp = next.run(req).await;
    if let Ok(v) = HeaderValue::from_str(&state.storage.now_ms().to_string()) {
        resp.headers_mut().insert(HEADER_SERVER_TIME, v);
    }
    tracing::info!(
        %method,
        path = %path,
        status = resp.status().as_u16(),
        ms = started.elapsed().as_millis() as u64,
        "request"
    );
    resp
}

async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such endpoint")
}

/// The router with its layers.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/v1/health", get(handlers::health::health))
        .route("/v1/push", post(handlers::push::push))
        .route("/v1/pull", get(handlers::pull::pull))
        .fallback(not_found)
        // The limit applies to the body after decompression: a small gzip
        // bomb is still cut off at 4 MiB.
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(RequestDecompressionLayer::new().gzip(true))
        .layer(CompressionLayer::new().gzip(true))
        .layer(middleware::from_fn_with_state(state.clone(), stamp_and_log))
        .with_state(state)
}

/// Serve on `listener` until `shutdown` resolves, then finish in-flight
/// requests and return.
pub async fn serve(
    listener: TcpListener,
    storage: Arc<dyn SyncStorage>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = router(AppState::new(storage));
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}

/// A server running on a background task (tests, the demo, the bench).
#[derive(Debug)]
pub struct RunningServer {
    /// Where it listens.
    pub addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl RunningServer {
    /// Start serving `storage` on `listen` (use port 0 for a free port).
    pub async fn start(
        storage: Arc<dyn SyncStorage>,
        listen: SocketAddr,
    ) -> std::io::Result<RunningServer> {
        let listener = TcpListener::bind(listen).await?;
        let addr = listener.local_addr()?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(serve(listener, storage, async {
            let _ = stopped.await;
        }));
        Ok(RunningServer {
            addr,
            stop: Some(stop),
            task,
        })
    }

    /// The base URL, e.g. `http://127.0.0.1:41234`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Shut down gracefully and wait for it.
    pub async fn stop(mut self) -> std::io::Result<()> {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        match (&mut self.task).await {
            Ok(r) => r,
            Err(e) => Err(std::io::Error::other(e)),
        }
    }
}

/// Resolves on ctrl-c or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
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
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}
