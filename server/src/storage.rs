//! What the server keeps, behind one interface: the replicated listings (the
//! same merge and policy code as the phones) and the bearer tokens.
//!
//! # Contract for an implementation ([`crate::SqliteStorage`], [`crate::postgres::PgStorage`])
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
//!   change. (Several server processes over one database take them from one
//!   counter under one lock held until commit: see
//!   `server/src/postgres/listings.rs`.)
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
//! - Tokens are stored only as SHA-256 hashes, one per signed-in device,
//!   each expiring unless renewed; a revoked or expired token stays known as
//!   such (for a token life) so the server can say so. Invite codes are
//!   stored only as keyed hashes; a redemption takes a use and keeps the new
//!   device's token in one step. Nothing names a person.
//! - Photo bytes are kept by a [`crate::photos::PhotoStore`]
//!   ([`SyncStorage::photos`]), named by their SHA-256. A push that deletes
//!   an item or removes a photo from it erases the bytes of every photo no
//!   live listing uses any more; housekeeping erases any other photo no
//!   listing uses once it is older than a grace period.
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

/// What a live token grants.
#[derive(Clone, Debug, PartialEq)]
pub struct Grant {
    /// Its user, with role and community.
    pub actor: Actor,
    /// The device it was issued to.
    pub device: uuid::Uuid,
    /// When it was issued (Unix ms).
    pub issued_at_ms: i64,
    /// When it expires unless renewed (Unix ms).
    pub expires_at_ms: i64,
    /// The day it was last used (Unix ms at midnight UTC), if it was.
    pub last_seen_day_ms: Option<i64>,
}

impl Grant {
    /// From when the device should renew it: two thirds into its life.
    pub fn renew_after_ms(&self) -> i64 {
        self.issued_at_ms + (self.expires_at_ms - self.issued_at_ms) / 3 * 2
    }

    /// The answer that hands `token`, of this grant, to its device.
    pub fn signed_in(self, token: String) -> fushi_core::sync::wire::SignedIn {
        fushi_core::sync::wire::SignedIn {
            token,
            device: self.device,
            user: self.actor.user,
            role: self.actor.role.as_str().into(),
            community: self.actor.community,
            expires_at_ms: self.expires_at_ms,
        }
    }
}

/// What a token says about its bearer.
#[derive(Clone, Debug, PartialEq)]
pub enum TokenStatus {
    /// A valid token.
    Valid(Grant),
    /// The token was revoked.
    Revoked,
    /// The token expired without being renewed.
    Expired,
    /// No such token.
    Unknown,
}

/// One signed-in device of a user.
#[derive(Clone, Debug, PartialEq)]
pub struct DeviceRow {
    /// The device's id.
    pub device: uuid::Uuid,
    /// `android`, `ios`, `other` or `cli`.
    pub platform: String,
    /// When it signed in (Unix ms).
    pub signed_in_at_ms: i64,
    /// The day it last synced (Unix ms at midnight UTC).
    pub last_seen_day_ms: Option<i64>,
    /// When its newest token expires (Unix ms).
    pub expires_at_ms: i64,
}

/// An invite to keep (under the keyed hash of its code).
#[derive(Clone, Debug, PartialEq)]
pub struct NewInvite {
    /// The role it gives.
    pub role: fushi_core::policy::Role,
    /// The community it joins.
    pub community: String,
    /// Who made it.
    pub created_by: uuid::Uuid,
    /// How many may join with it.
    pub uses: u32,
    /// When it stops working (Unix ms).
    pub expires_at_ms: i64,
    /// A code for another device of this user (not a new user).
    pub for_user: Option<uuid::Uuid>,
}

/// Why an invite code was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InviteRefusal {
    /// No such code.
    Unknown,
    /// Every use was taken.
    UsedUp,
    /// Its time is over.
    Expired,
}

/// Where tokens, devices, invites and platform identities are kept (one
/// book per backend: `crate::accounts::Accounts` beside a SQLite file,
/// `crate::postgres::accounts::PgAccounts` in PostgreSQL). Tokens and codes
/// are kept only as hashes; nothing names a person. `now_ms` is the
/// server's time.
pub trait AccountBook: Send + Sync + std::fmt::Debug {
    /// The key a platform identity is kept under
    /// (`crate::accounts::keyed_identity` with the book's secret).
    fn identity_key(&self, issuer: &str, subject: &str) -> [u8; 32];
    /// Keep a new token of `device` for `actor`, living one token life.
    fn add_device_token(
        &self,
        hash: &[u8; 32],
        actor: &Actor,
        device: uuid::Uuid,
        platform: &str,
        now_ms: i64,
    ) -> Result<Grant>;
    /// What the token with `hash` says.
    fn token(&self, hash: &[u8; 32], now_ms: i64) -> Result<TokenStatus>;
    /// Note the day a live token was used.
    fn seen(&self, hash: &[u8; 32], now_ms: i64) -> Result<()>;
    /// Renew the live token `old`: a new token (`new`) for the same device
    /// and user, living one token life; every other live token of the
    /// device is revoked, and `old` keeps working for
    /// `crate::accounts::RENEW_GRACE_MS` (its answer may be lost). `None`
    /// if `old` is not live.
    fn renew(&self, old: &[u8; 32], new: &[u8; 32], now_ms: i64) -> Result<Option<Grant>>;
    /// The live devices of a user.
    fn devices(&self, user: uuid::Uuid, now_ms: i64) -> Result<Vec<DeviceRow>>;
    /// The role and community a user holds, if known.
    fn user_standing(
        &self,
        user: uuid::Uuid,
        now_ms: i64,
    ) -> Result<Option<(fushi_core::policy::Role, String)>>;
    /// Sign out one device of a user; how many tokens were revoked.
    fn revoke_device(&self, user: uuid::Uuid, device: uuid::Uuid, now_ms: i64) -> Result<usize>;
    /// Revoke one token; whether it was known and live.
    fn revoke_token(&self, hash: &[u8; 32], now_ms: i64) -> Result<bool>;
    /// Sign out every device of a user and refuse the platform's tokens for
    /// the user issued before now; how many were signed out.
    fn revoke_user(&self, user: uuid::Uuid, now_ms: i64) -> Result<usize>;
    /// Keep an invite under the keyed hash of its code.
    fn create_invite(&self, code_hash: &[u8; 32], invite: &NewInvite, now_ms: i64) -> Result<()>;
    /// Redeem an invite: a use taken and the new device's token kept, in
    /// one step.
    fn redeem(
        &self,
        code_hash: &[u8; 32],
        token_hash: &[u8; 32],
        platform: &str,
        now_ms: i64,
    ) -> Result<std::result::Result<Grant, InviteRefusal>>;
    /// Forget tokens and invites ended more than a token life ago.
    fn forget_old(&self, now_ms: i64) -> Result<()>;
    /// The user of a platform identity, made on first sight; `None` if
    /// staff signed the user out after `issued_at_ms`.
    fn external_user(
        &self,
        key: &[u8; 32],
        role: fushi_core::policy::Role,
        community: &str,
        issued_at_ms: i64,
        now_ms: i64,
    ) -> Result<Option<uuid::Uuid>>;
    /// The user a platform identity's key stands for, unless signed out.
    fn identity(&self, key: &[u8; 32]) -> Result<Option<Actor>>;
}

/// Held changes are judged with the credential they were pushed with, as
/// it stands when they are released: a token's user while the token is
/// live, a platform identity's while not signed out.
pub struct TokenCredentials<'a>(pub &'a dyn SyncStorage);

impl fushi_core::store::Credentials for TokenCredentials<'_> {
    fn current(&self, key: &[u8]) -> Result<Option<Actor>> {
        let Ok(hash) = <[u8; 32]>::try_from(key) else {
            return Ok(None);
        };
        Ok(match self.0.token(&hash)? {
            TokenStatus::Valid(grant) => Some(grant.actor),
            // A platform identity's key is not a token's hash.
            TokenStatus::Unknown => self.0.accounts().identity(&hash)?,
            TokenStatus::Revoked | TokenStatus::Expired => None,
        })
    }
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

    /// The tokens, devices, invites and platform identities.
    fn accounts(&self) -> &dyn AccountBook;

    /// Keep a new token (its SHA-256 hash) for `actor` on a device of its
    /// own (platform `cli`: the command line and tests).
    fn add_token(&self, hash: &[u8; 32], actor: &Actor) -> Result<Grant> {
        self.accounts()
            .add_device_token(hash, actor, uuid::Uuid::new_v4(), "cli", self.now_ms())
    }

    /// Look a token up by its hash.
    fn token(&self, hash: &[u8; 32]) -> Result<TokenStatus> {
        self.accounts().token(hash, self.now_ms())
    }

    /// Note that a live token was used today (kept to the day; the caller
    /// skips it when [`Grant::last_seen_day_ms`] is already today).
    fn seen(&self, hash: &[u8; 32]) -> Result<()> {
        self.accounts().seen(hash, self.now_ms())
    }

    /// Renew the live token `old` with a new one (`new`) for the same
    /// device: see [`AccountBook::renew`].
    fn renew_token(&self, old: &[u8; 32], new: &[u8; 32]) -> Result<Option<Grant>> {
        self.accounts().renew(old, new, self.now_ms())
    }

    /// Revoke one token. Returns whether it was known and live.
    fn revoke_token(&self, hash: &[u8; 32]) -> Result<bool> {
        self.accounts().revoke_token(hash, self.now_ms())
    }

    /// Sign out every device of a user (and refuse the platform's tokens
    /// for the user issued before now). Returns how many were signed out.
    fn revoke_user(&self, user: uuid::Uuid) -> Result<usize> {
        self.accounts().revoke_user(user, self.now_ms())
    }

    /// The live devices of a user.
    fn devices(&self, user: uuid::Uuid) -> Result<Vec<DeviceRow>> {
        self.accounts().devices(user, self.now_ms())
    }

    /// Sign out one device of a user. Returns how many tokens were revoked.
    fn revoke_device(&self, user: uuid::Uuid, device: uuid::Uuid) -> Result<usize> {
        self.accounts().revoke_device(user, device, self.now_ms())
    }

    /// The role and community a user holds, if the server knows the user.
    fn user_standing(
        &self,
        user: uuid::Uuid,
    ) -> Result<Option<(fushi_core::policy::Role, String)>> {
        self.accounts().user_standing(user, self.now_ms())
    }

    /// Keep an invite under the keyed hash of its code.
    fn create_invite(&self, code_hash: &[u8; 32], invite: &NewInvite) -> Result<()> {
        self.accounts()
            .create_invite(code_hash, invite, self.now_ms())
    }

    /// Redeem an invite for a new user on a new device whose token has
    /// `token_hash`, in one step (a use taken, the token kept).
    fn redeem_invite(
        &self,
        code_hash: &[u8; 32],
        token_hash: &[u8; 32],
        platform: &str,
    ) -> Result<std::result::Result<Grant, InviteRefusal>> {
        self.accounts()
            .redeem(code_hash, token_hash, platform, self.now_ms())
    }

    /// The key of a platform identity (a keyed hash of issuer and subject;
    /// the subject is never stored).
    fn identity_key(&self, issuer: &str, subject: &str) -> [u8; 32] {
        self.accounts().identity_key(issuer, subject)
    }

    /// The user of a platform identity (`key`: a keyed hash of issuer and
    /// subject), made on first sight; `None` if staff signed the user out
    /// after the platform's token was issued.
    fn external_user(
        &self,
        key: &[u8; 32],
        role: fushi_core::policy::Role,
        community: &str,
        issued_at_ms: i64,
    ) -> Result<Option<uuid::Uuid>> {
        self.accounts()
            .external_user(key, role, community, issued_at_ms, self.now_ms())
    }

    /// The server's time (Unix ms): phones correct their clocks by it.
    fn now_ms(&self) -> i64;
    /// Where photo bytes are kept.
    fn photos(&self) -> &dyn crate::photos::PhotoStore;
    /// The live listings that use the photo `r` (owner and community).
    fn photo_users(
        &self,
        r: &fushi_core::photo::PhotoRef,
    ) -> Result<Vec<fushi_core::store::PhotoUse>>;

    /// The schema version of the stored data.
    fn schema_version(&self) -> i64;

    /// The changes held for their clock, oldest first (for the operator).
    fn quarantine(&self) -> Result<Vec<fushi_core::store::QuarantinedChange>>;

    /// Held changes dropped rather than applied, oldest first.
    fn quarantine_drops(&self) -> Result<Vec<fushi_core::store::QuarantineDrop>>;

    /// Station records held for their window's batch.
    fn held_records(&self) -> Result<usize>;

    /// Apply changes the operator vouches for (a restore, or rows a newer
    /// server version wrote): validated as received (a catalogue code this
    /// version does not know passes if shaped like one), merged and
    /// numbered, judged by no user's policy. A row this version cannot read
    /// fails the whole call.
    fn apply_trusted(&self, changes: &[RowChange]) -> Result<()>;
}

/// Write as `actor` on the server itself (the importer of stations, the
/// publisher of holidays, a test's fixtures): `write` runs on a scratch
/// store that holds what the server holds (for look-ups), signed in as
/// `actor`; what it wrote is then pushed like any phone's push, checked by
/// the same policy and numbered by the storage — so it works the same on
/// every backend. A refused change fails the whole write, naming its reason.
pub fn write_as<T>(
    storage: &dyn SyncStorage,
    actor: &Actor,
    write: impl FnOnce(&fushi_core::Store) -> Result<T>,
) -> Result<T> {
    use fushi_core::store::SCHEMA_VERSION;
    let dir = tempfile::tempdir()
        .map_err(|e| fushi_core::Error::Corrupt(format!("scratch store: {}", e.kind())))?;
    let scratch = fushi_core::Store::open_with(
        dir.path().join("scratch.db"),
        fushi_core::crdt::SystemClock::new(),
        fushi_core::StoreConfig {
            search_in_background: false,
            ..fushi_core::StoreConfig::default()
        },
    )?;
    // What the server holds, whole, page by page.
    let mut pos = Position {
        floor: -1,
        after: -1,
    };
    loop {
        let page = storage.pull(&Scope::default(), pos, PageLimit::rows(1_000))?;
        scratch.apply_remote(&page.changes)?;
        if !page.more {
            break;
        }
        pos = pos.after_page(&page);
    }
    scratch.set_actor(Some(actor.clone()));
    let out = write(&scratch)?;
    let pusher = Pusher {
        actor: actor.clone(),
        key: Vec::new(),
    };
    // The scratch store's outbox: only its own writes are numbered.
    let mut pos = Position::at(0);
    loop {
        let batch = scratch.outbox_batch(pos, PageLimit::rows(500))?;
        if batch.changes.is_empty() {
            break;
        }
        let outcome = storage.push(&pusher, &batch.changes, SCHEMA_VERSION)?;
        if let Some(r) = outcome.rejections.first() {
            return Err(fushi_core::Error::Invalid {
                field: format!("{} {}", r.table, r.index + 1),
                reason: format!("refused: {}", r.code),
            });
        }
        if !batch.more {
            break;
        }
        pos = pos.after_page(&batch);
    }
    Ok(out)
}
