//! What the server keeps, behind one interface: the replicated listings (the
//! same merge and policy code as the phones) and the bearer tokens.
//!
//! # Contract for an implementation (SQLite today, PostgreSQL later)
//!
//! - [`SyncStorage::push`] checks every change against the pushing user with
//!   [`fushi_core::policy::check_change`] using the storage's own facts (never
//!   the phone's), applies the allowed ones with the core merge rules, and
//!   gives each applied change a fresh sequence number — all in one
//!   transaction. A malformed change fails the whole batch with
//!   [`fushi_core::Error::Invalid`] and nothing is applied. A change already
//!   held is accepted as a no-op (pushes are retried).
//! - Sequence numbers are minted by the storage, strictly increase in commit
//!   order, and are never reused: a pull cursor below a number must see that
//!   change. (Several server processes over one database must take them from
//!   one sequence and commit in that order, e.g. by locking.)
//! - Pushed clocks more than a day ahead of the server, or before 2020, are
//!   refused per row; changes held for their clock keep their pusher and
//!   count against the pusher's cap; released, they are judged again.
//! - [`SyncStorage::pull`] returns, from one consistent snapshot, the rows
//!   numbered above the position's `after` in sequence order, each with its
//!   current winning cells numbered above the position's `floor`
//!   (`fushi_core::store::changes` explains why), within the reader's scope:
//!   its community's items, skills, needs and records, and every community's
//!   stations, station reports and check-ins. Pages are bounded in rows and
//!   bytes.
//! - [`SyncStorage::epoch`] names the database: random, made with it, never
//!   changed. Cursors carry it, so a phone's cursor from another database
//!   (or one the sequence has not reached) starts that phone over.
//! - Tokens are stored only as SHA-256 hashes; a revoked token stays known as
//!   revoked so the server can say so.
//! - Every method may block (disk, network): the server calls them from a
//!   blocking thread.

use fushi_core::crdt::RowChange;
use fushi_core::policy::Actor;
use fushi_core::store::{ChangePage, PageLimit, Position, Pusher, Rejection, Scope};
use fushi_core::Result;

/// What a push did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PushOutcome {
    /// Changes accepted (applied or already held).
    pub accepted: usize,
    /// Accepted changes held back because their clock runs ahead of ours.
    pub quarantined: usize,
    /// Refused changes, each with the row's winning state.
    pub rejections: Vec<Rejection>,
}

/// What a token says about its bearer.
#[derive(Clone, Debug, PartialEq)]
pub enum TokenStatus {
    /// A valid token for this user.
    Valid(Actor),
    /// The token was revoked.
    Revoked,
    /// No such token.
    Unknown,
}

/// The server's storage. See the module documentation for the contract.
pub trait SyncStorage: Send + Sync + 'static {
    /// Check, apply and sequence a pushed batch in one transaction. Changes
    /// held for their clock keep `pusher`, and are judged again (with the
    /// token's state then) when released.
    fn push(&self, pusher: &Pusher, changes: &[RowChange], schema: i64) -> Result<PushOutcome>;

    /// Periodic work: release held changes whose time has come (judged
    /// again with their token's current state; a revoked token's are
    /// dropped and the drop recorded), drop expired ones, and publish the
    /// station records of ended windows.
    fn housekeeping(&self) -> Result<()>;

    /// One page after `pos` within `limit` and `scope`, from one snapshot.
    fn pull(&self, scope: &Scope, pos: Position, limit: PageLimit) -> Result<ChangePage>;

    /// The identity of this database (see the module documentation).
    fn epoch(&self) -> u64;

    /// The newest sequence number handed out.
    fn current_seq(&self) -> Result<i64>;

    /// Keep a new token (its SHA-256 hash) for `actor`.
    fn add_token(&self, hash: &[u8; 32], actor: &Actor) -> Result<()>;

    /// Look a token up by its hash.
    fn token(&self, hash: &[u8; 32]) -> Result<TokenStatus>;

    /// Revoke one token. Returns whether it was known and live.
    fn revoke_token(&self, hash: &[u8; 32]) -> Result<bool>;

    /// Revoke every token of a user. Returns how many were revoked.
    fn revoke_user(&self, user: uuid::Uuid) -> Result<usize>;

    /// The server's time (Unix ms): phones correct their clocks by it.
    fn now_ms(&self) -> i64;

    /// The schema version of the stored data.
    fn schema_version(&self) -> i64;
}
