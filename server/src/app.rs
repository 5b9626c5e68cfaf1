//! The HTTP application: routes, limits, compression, and serving with a
//! graceful shutdown (in-flight requests finish; no new ones are taken).
//!
//! Every connection is bounded ([`Limits`]): at most so many at once, the
//! request head within a time (which also closes idle keep-alive
//! connections), the body within another, and a stop drains for at most
//! [`Limits::drain`] whatever clients do, then closes what is left.
//!
//! The server terminates TLS itself when given a certificate and key
//! ([`ServerTls`], `serve --tls-cert/--tls-key`), within the same bounds (the
//! handshake has a timeout of its own); without them it speaks plain HTTP,
//! for a reverse proxy that terminates TLS in front of it.

use crate::auth;
use crate::error::ApiError;
use crate::handlers;
use crate::limit::{RedeemLimiter, TokenLimiter};
use crate::storage::SyncStorage;
use crate::tls::ServerTls;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use fushi_core::sync::wire::{HEADER_SERVER_TIME, MAX_BODY_BYTES};
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tower::ServiceExt;
use tower_http::compression::CompressionLayer;
use tower_http::decompression::RequestDecompressionLayer;
use tower_http::timeout::RequestBodyTimeoutLayer;

/// The server's time and resource limits (`docs/PROTOCOL.md`, "Limits").
#[derive(Clone, Debug)]
pub struct Limits {
    /// A request head must arrive within this; an idle keep-alive
    /// connection is closed after it too.
    pub header_timeout: Duration,
    /// A request body must arrive within this (408 otherwise).
    pub body_timeout: Duration,
    /// With TLS, the handshake must finish within this; the connection is
    /// closed otherwise (it holds a connection slot while it lasts).
    pub tls_handshake_timeout: Duration,
    /// Most connections open at once; more wait in the listen backlog.
    pub max_connections: usize,
    /// After a stop is asked, in-flight requests get this long; then every
    /// connection left is closed.
    pub drain: Duration,
    /// Requests a second per token …
    pub rate_per_second: u32,
    /// … with bursts of this many.
    pub rate_burst: u32,
    /// How often held changes are released and station records published.
    pub housekeeping_every: Duration,
    /// The oldest phone schema served (426 below it); phones from it to the
    /// server's schema each get the columns they know.
    pub min_schema: i64,
    /// Invite redemptions a minute per address.
    pub redeem_per_minute: u32,
    /// Accept the community platform's JWTs as well as this server's own
    /// tokens (`docs/JWT.md`).
    pub jwt: Option<Arc<crate::jwt::JwtVerifier>>,
    /// Most pull pages read and encoded at once; more wait their turn. A
    /// page is CPU work (read, render, encode), so more at once than there
    /// are cores only slows every one, and leaves pushes — short, and what
    /// a phone waits on to know its posts are safe — a thin share of the
    /// cores. Default: the machine's cores.
    pub max_concurrent_pulls: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(30),
            tls_handshake_timeout: Duration::from_secs(10),
            max_connections: 512,
            drain: Duration::from_secs(8),
            rate_per_second: 10,
            rate_burst: 100,
            housekeeping_every: Duration::from_secs(30),
            min_schema: fushi_core::store::MIN_SCHEMA_VERSION,
            redeem_per_minute: crate::limit::REDEEM_PER_MINUTE_PER_ADDRESS,
            jwt: None,
            max_concurrent_pulls: std::thread::available_parallelism().map_or(2, |n| n.get()),
        }
    }
}

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    /// The storage.
    pub storage: Arc<dyn SyncStorage>,
    /// Its schema version: the newest `Fushi-Schema` served.
    pub schema: i64,
    /// The oldest `Fushi-Schema` served ([`Limits::min_schema`], within
    /// what this build can serve).
    pub min_schema: i64,
    /// Requests per token.
    pub limiter: Arc<TokenLimiter>,
    /// Invite redemptions per address and per code.
    pub redeem_limiter: Arc<RedeemLimiter>,
    /// The platform's JWTs, if accepted.
    pub jwt: Option<Arc<crate::jwt::JwtVerifier>>,
    /// Turns for pull pages ([`Limits::max_concurrent_pulls`]).
    pub pulls: Arc<tokio::sync::Semaphore>,
}

impl AppState {
    /// State over `storage`, with the default limits.
    pub fn new(storage: Arc<dyn SyncStorage>) -> AppState {
        AppState::with_limits(storage, &Limits::default())
    }

    /// State over `storage` with `limits`.
    pub fn with_limits(storage: Arc<dyn SyncStorage>, limits: &Limits) -> AppState {
        let schema = storage.schema_version();
        let min_schema = limits
            .min_schema
            .clamp(fushi_core::store::MIN_SCHEMA_VERSION, schema);
        AppState {
            storage,
            schema,
            min_schema,
            limiter: Arc::new(TokenLimiter::new(limits.rate_per_second, limits.rate_burst)),
            redeem_limiter: Arc::new(RedeemLimiter::new(
                limits.redeem_per_minute,
                crate::limit::REDEEM_PER_MINUTE_PER_CODE,
            )),
            jwt: limits.jwt.clone(),
            pulls: Arc::new(tokio::sync::Semaphore::new(
                limits.max_concurrent_pulls.max(1),
            )),
        }
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

/// The router with its layers (body timeout: [`Limits::default`]).
pub fn router(state: AppState) -> Router {
    router_with(state, &Limits::default())
}

/// The router with its layers and `limits`' body timeout.
pub fn router_with(state: AppState, limits: &Limits) -> Router {
    let signed_in = Router::new()
        .route("/v1/push", post(handlers::push::push))
        .route("/v1/pull", get(handlers::pull::pull))
        .route("/v1/invites", post(handlers::invites::create))
        .route("/v1/devices", get(handlers::devices::list))
        .route("/v1/devices/revoke", post(handlers::devices::revoke))
        .route("/v1/token/renew", post(handlers::devices::renew))
        .route("/v1/me", get(handlers::devices::me))
        .route(
            "/v1/photos/{hash}",
            get(handlers::photos::get)
                .put(handlers::photos::put)
                // A photo may be larger than a push (10 MB, not 4 MiB).
                .layer(DefaultBodyLimit::max(fushi_core::photo::MAX_PHOTO_BYTES)),
        )
        .route_layer(middleware::from_fn_with_state(state.clone(), auth::require));
    Router::new()
        .route("/v1/health", get(handlers::health::health))
        .route("/v1/invites/redeem", post(handlers::invites::redeem))
        .merge(signed_in)
        .fallback(not_found)
        // The limit applies to the body after decompression: a small gzip
        // bomb is still cut off at 4 MiB.
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(RequestDecompressionLayer::new().gzip(true))
        .layer(RequestBodyTimeoutLayer::new(limits.body_timeout))
        // Fastest deflate: at the default level compressing pull pages was
        // a fifth of the CPU of a first sync (measured); the fastest level
        // costs about a tenth more bytes (BENCHMARKS.md, issue 16).
        .layer(
            CompressionLayer::new()
                .gzip(true)
                .quality(tower_http::CompressionLevel::Fastest),
        )
        .layer(middleware::from_fn_with_state(state.clone(), stamp_and_log))
        .with_state(state)
}

/// Serve on `listener` until `shutdown` resolves, then finish in-flight
/// requests (for at most [`Limits::drain`]) and return.
pub async fn serve(
    listener: TcpListener,
    storage: Arc<dyn SyncStorage>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with(listener, storage, shutdown, Limits::default()).await
}

/// [`serve`] with given limits.
pub async fn serve_with(
    listener: TcpListener,
    storage: Arc<dyn SyncStorage>,
    shutdown: impl Future<Output = ()> + Send + 'static,
    limits: Limits,
) -> std::io::Result<()> {
    serve_tls(listener, storage, shutdown, limits, None).await
}

/// [`serve_with`] over TLS when `tls` is given (the handshake bounded by
/// [`Limits::tls_handshake_timeout`]), plain HTTP otherwise.
pub async fn serve_tls(
    listener: TcpListener,
    storage: Arc<dyn SyncStorage>,
    shutdown: impl Future<Output = ()> + Send + 'static,
    limits: Limits,
    tls: Option<ServerTls>,
) -> std::io::Result<()> {
    let state = AppState::with_limits(storage.clone(), &limits);
    let limiter = state.limiter.clone();
    let redeem_limiter = state.redeem_limiter.clone();
    let app = router_with(state, &limits);
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .keep_alive(true);
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let graceful = GracefulShutdown::new();
    let mut conns = JoinSet::new();
    let mut tick = tokio::time::interval(limits.housekeeping_every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut housekeeping: Option<tokio::task::JoinHandle<()>> = None;
    tokio::pin!(shutdown);
    loop {
        while conns.try_join_next().is_some() {}
        tokio::select! {
            _ = &mut shutdown => break,
            _ = tick.tick() => {
                // One run at a time; a slow one is not stacked up.
                if housekeeping.as_ref().is_none_or(|h| h.is_finished()) {
                    let storage = storage.clone();
                    let limiter = limiter.clone();
                    let redeem_limiter = redeem_limiter.clone();
                    housekeeping = Some(tokio::task::spawn_blocking(move || {
                        limiter.forget_idle();
                        redeem_limiter.forget_idle();
                        if let Err(e) = storage.housekeeping() {
                            tracing::error!(error = %e, "housekeeping failed");
                        }
                    }));
                }
            }
            slot = slots.clone().acquire_owned() => {
                let Ok(slot) = slot else { break };
                let stream = tokio::select! {
                    _ = &mut shutdown => break,
                    accepted = listener.accept() => match accepted {
                        Ok(accepted) => accepted,
                        Err(e) => {
                            // Out of descriptors and the like: wait a little
                            // rather than spin.
                            tracing::warn!(error = %e, "accept failed");
                            tokio::time::sleep(Duration::from_millis(50)).await;
                            continue;
                        }
                    },
                };
                let (stream, peer) = stream;
                // The peer's address, for the limits that have no token to
                // go by (invite redemptions). Behind a reverse proxy it is
                // the proxy's: see docs/PROTOCOL.md, "Invites".
                let service = TowerToHyperService::new(app.clone().map_request(
                    move |mut req: Request<hyper::body::Incoming>| {
                        req.extensions_mut()
                            .insert(axum::extract::ConnectInfo(peer));
                        req
                    },
                ));
                // Watched from now on: a stop waits (within the drain bound)
                // for a handshake under way too.
                let watcher = graceful.watcher();
                let http = http.clone();
                let tls = tls.clone();
                let handshake = limits.tls_handshake_timeout;
                conns.spawn(async move {
                    let served = match tls {
                        None => {
                            watcher
                                .watch(http.serve_connection(TokioIo::new(stream), service))
                                .await
                        }
                        Some(tls) => {
                            match tokio::time::timeout(handshake, tls.acceptor().accept(stream)).await {
                                Ok(Ok(stream)) => {
                                    watcher
                                        .watch(http.serve_connection(TokioIo::new(stream), service))
                                        .await
                                }
                                Ok(Err(e)) => {
                                    tracing::debug!(error = %e, "TLS handshake failed");
                                    Ok(())
                                }
                                Err(_) => {
                                    tracing::debug!("TLS handshake timed out");
                                    Ok(())
                                }
                            }
                        }
                    };
                    if let Err(e) = served {
                        tracing::debug!(error = %e, "connection ended with an error");
                    }
                    drop(slot);
                });
            }
        }
    }
    drop(listener);
    tokio::select! {
        _ = graceful.shutdown() => {}
        _ = tokio::time::sleep(limits.drain) => {
            tracing::warn!(open = conns.len(), "drain bound reached: closing the connections left");
        }
    }
    conns.abort_all();
    while conns.join_next().await.is_some() {}
    Ok(())
}

/// A server running on a background task (tests, the demo, the bench).
#[derive(Debug)]
pub struct RunningServer {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Whether it speaks TLS (then [`RunningServer::url`] is `https://`).
    pub tls: bool,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl RunningServer {
    /// Start serving `storage` on `listen` (use port 0 for a free port).
    pub async fn start(
        storage: Arc<dyn SyncStorage>,
        listen: SocketAddr,
    ) -> std::io::Result<RunningServer> {
        RunningServer::start_with(storage, listen, Limits::default()).await
    }

    /// [`RunningServer::start`] with given limits.
    pub async fn start_with(
        storage: Arc<dyn SyncStorage>,
        listen: SocketAddr,
        limits: Limits,
    ) -> std::io::Result<RunningServer> {
        RunningServer::start_tls(storage, listen, limits, None).await
    }

    /// [`RunningServer::start_with`], over TLS when `tls` is given.
    pub async fn start_tls(
        storage: Arc<dyn SyncStorage>,
        listen: SocketAddr,
        limits: Limits,
        tls: Option<ServerTls>,
    ) -> std::io::Result<RunningServer> {
        let listener = TcpListener::bind(listen).await?;
        let addr = listener.local_addr()?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let is_tls = tls.is_some();
        let task = tokio::spawn(serve_tls(
            listener,
            storage,
            async {
                let _ = stopped.await;
            },
            limits,
            tls,
        ));
        Ok(RunningServer {
            addr,
            tls: is_tls,
            stop: Some(stop),
            task,
        })
    }

    /// The base URL, e.g. `http://127.0.0.1:41234` (`https://` over TLS).
    pub fn url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
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
