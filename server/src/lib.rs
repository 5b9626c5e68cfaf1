//! fushi-server: the sync server of Fushi Share.
//!
//! Phones push their outbox and pull the current state of their community
//! (and the city's stations) over a small JSON protocol (`docs/PROTOCOL.md`).
//! Every pushed change passes the same policy check as on the phone, with the
//! server's own facts. Storage is behind [`storage::SyncStorage`]; the
//! default is an embedded SQLite file ([`sqlite::SqliteStorage`]). It speaks
//! HTTPS itself given a certificate and key ([`tls::ServerTls`]), or plain
//! HTTP behind a reverse proxy that terminates TLS.
#![warn(missing_docs)]

pub mod accounts;
pub mod app;
pub mod auth;
pub mod error;
pub mod handlers;
pub mod import;
pub mod invite_code;
pub mod jwt;
pub mod limit;
pub mod photos;
pub mod postgres;
pub mod sqlite;
pub mod storage;
pub mod tls;
pub mod tokens;

pub use app::{router, serve, serve_tls, serve_with, AppState, Limits, RunningServer};
pub use sqlite::SqliteStorage;
pub use storage::SyncStorage;
pub use tls::ServerTls;
