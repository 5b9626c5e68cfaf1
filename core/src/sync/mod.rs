//! Sync with the community's server: push the outbox, pull what changed.
//!
//! - [`wire`]: the JSON shapes of the protocol (`docs/PROTOCOL.md`) and the
//!   compact form of row changes.
//! - `client`: the phone's side, `SyncClient` (feature `client`, on by
//!   default; the server builds without it, and so without an HTTP client),
//!   over HTTPS (`Trust`: the platform's store or a pinned CA; cleartext
//!   only where `SyncConfig::allow_cleartext` says so), sending a request
//!   again after a transient failure (`RetryPolicy`).
//!
//! - `state`: what a phone keeps for sync beside its data: the outbox mark,
//!   the pull cursor, the schema pulled in full (an upgraded app catches up
//!   on the columns its new schema added) and the time of the last good
//!   sync in `crdt_state`; the
//!   changes the server refused in `sync_rejection` (recorded, and our copies
//!   rolled back to the server's word, in one transaction), so the app can
//!   show them.

#[cfg(feature = "client")]
pub mod account;
#[cfg(feature = "client")]
pub mod client;
pub mod cursor;
#[cfg(feature = "client")]
mod photos;
pub mod progress;
#[cfg(feature = "client")]
mod retry;
mod state;
mod status;
#[cfg(feature = "client")]
mod tls;
pub mod wire;

#[cfg(feature = "client")]
pub use client::{SyncClient, SyncConfig, SyncReport};
#[cfg(feature = "client")]
pub use retry::RetryPolicy;
#[cfg(feature = "client")]
pub use tls::{install_crypto_provider, Trust};

pub use progress::{ProgressListener, SyncProgress};
pub use state::{
    SyncRejection, STATE_CATCHUP_CURSOR, STATE_CURSOR, STATE_LAST_SUCCESS, STATE_PULLED_SCHEMA,
    STATE_PUSHED, STATE_PUSH_FLOOR,
};
