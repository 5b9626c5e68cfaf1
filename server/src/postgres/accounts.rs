//! Who may sync, in PostgreSQL: the twin of [`crate::accounts::Accounts`]
//! (same methods, same rules) for server processes that share one
//! database. One bearer token per signed-in device, kept only as a SHA-256
//! hash, each expiring unless the device renews it; invites (a keyed hash
//! of the code, the role and community it gives, uses left, expiry); and
//! the users known from the community's platform (JWT), under a keyed hash
//! of issuer and subject. Nothing here names a person: users are random
//! ids. The schema is `server/migrations/0002_accounts.sql`.
//!
//! What one SQLite connection behind a mutex gave for free is made
//! explicit here, since several processes write at once:
//! - an invite's use is taken by one `UPDATE … WHERE uses_left > 0`, so no
//!   two redemptions can take the last use;
//! - a renewal and a sign-out of the same user are serialized by an
//!   advisory lock of the user (see [`USER_LOCK_CLASS`]), so a sign-out
//!   never misses the token a concurrent renewal made;
//! - a platform identity's row is locked while it is read and updated, so a
//!   staff sign-out is never undone by a sign-in with an older token;
//! - the identity secret is drawn by the first process to start and read
//!   back by every one, so all compute the same keys.

use super::{db_error, Pg};
use crate::accounts::{day_of, RENEW_GRACE_MS};
use crate::storage::{AccountBook, DeviceRow, Grant, InviteRefusal, NewInvite, TokenStatus};
use deadpool_postgres::GenericClient;
use fushi_core::policy::{Actor, Role};
use fushi_core::{Error, Result};
use std::sync::Arc;
use tokio_postgres::types::FromSql;
use tokio_postgres::Row;
use uuid::Uuid;

/// A day in ms (invites are kept a day past their end).
const DAY_MS: i64 = 86_400_000;

/// The first key of the advisory locks that serialize a user's renewals
/// and sign-outs (`fush` in ASCII); the second is the user id's 16 bytes
/// folded to 32 bits. Two-key advisory locks do not share the key space of
/// one-key locks (the migrations' lock), and two users that fold to the
/// same key only wait for each other.
pub const USER_LOCK_CLASS: i32 = 0x6675_7368;

/// The name of the identity secret in `fushi_secret`.
const IDENTITY_SECRET: &str = "identity_secret";

/// The accounts of a PostgreSQL database.
pub struct PgAccounts {
    pg: Arc<Pg>,
    /// How long a token lives unless renewed (ms).
    ttl_ms: i64,
    /// Keys platform identities ([`PgAccounts::identity_key`]).
    secret: Vec<u8>,
}

impl std::fmt::Debug for PgAccounts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Not the secret.
        f.debug_struct("PgAccounts")
            .field("pg", &self.pg)
            .field("ttl_ms", &self.ttl_ms)
            .finish_non_exhaustive()
    }
}

fn corrupt(what: &str) -> Error {
    Error::Corrupt(format!("accounts: {what}"))
}

fn role_of(text: &str) -> Result<Role> {
    Role::parse(text).ok_or_else(|| corrupt("bad role"))
}

/// Column `i` of `row`, or an error that quotes nothing of it.
fn col<'a, T: FromSql<'a>>(row: &'a Row, i: usize) -> Result<T> {
    row.try_get(i)
        .map_err(|_| corrupt("a column of an unexpected type"))
}

/// A count of rows as usize.
fn count(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

/// The second key of `user`'s advisory lock: its 16 bytes folded to 32 bits.
fn user_lock(user: Uuid) -> i32 {
    let folded = user.as_bytes().chunks_exact(4).fold(0u32, |acc, c| {
        acc ^ u32::from_be_bytes([c[0], c[1], c[2], c[3]])
    });
    i32::from_be_bytes(folded.to_be_bytes())
}

/// Take `user`'s advisory lock until the end of the transaction. Every
/// statement after it sees what the previous holder committed.
async fn lock_user(tx: &impl GenericClient, user: Uuid) -> Result<()> {
    tx.execute(
        "SELECT pg_advisory_xact_lock($1, $2)",
        &[&USER_LOCK_CLASS, &user_lock(user)],
    )
    .await
    .map_err(db_error("accounts: lock"))?;
    Ok(())
}

/// A grant from the columns `user_id, role, community, device, created_at,
/// expires_at, last_seen_day` starting at `at`.
fn grant_of(row: &Row, at: usize) -> Result<Grant> {
    Ok(Grant {
        actor: Actor {
            user: col(row, at)?,
            role: role_of(col(row, at + 1)?)?,
            community: col(row, at + 2)?,
        },
        device: col(row, at + 3)?,
        issued_at_ms: col(row, at + 4)?,
        expires_at_ms: col(row, at + 5)?,
        last_seen_day_ms: col(row, at + 6)?,
    })
}

/// Keep a new token of `device` for `actor`, living `ttl_ms` from `now_ms`.
async fn insert_token(
    c: &impl GenericClient,
    hash: &[u8; 32],
    actor: &Actor,
    device: Uuid,
    platform: &str,
    now_ms: i64,
    ttl_ms: i64,
) -> Result<Grant> {
    let expires = now_ms.saturating_add(ttl_ms);
    c.execute(
        "INSERT INTO fushi_token (hash, user_id, role, community, created_at, device, platform, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        &[
            &hash.as_slice(),
            &actor.user,
            &actor.role.as_str(),
            &actor.community,
            &now_ms,
            &device,
            &platform,
            &expires,
        ],
    )
    .await
    .map_err(db_error("accounts: keep token"))?;
    Ok(Grant {
        actor: actor.clone(),
        device,
        issued_at_ms: now_ms,
        expires_at_ms: expires,
        last_seen_day_ms: None,
    })
}

impl PgAccounts {
    /// The accounts of the database `pg` (its schema already migrated by
    /// [`Pg::connect`]); tokens issued from now on live `ttl_ms`. The
    /// identity secret is drawn here if no process drew it before, and
    /// read back either way.
    pub fn new(pg: Arc<Pg>, ttl_ms: i64) -> Result<PgAccounts> {
        let mut fresh = [0u8; 32];
        getrandom::fill(&mut fresh).map_err(|_| {
            Error::Database("accounts: no randomness for the identity secret".into())
        })?;
        let secret = pg.run(move |pool| async move {
            let c = Pg::client(&pool).await?;
            // Two statements: the read's snapshot is taken after the insert
            // (or the concurrent one it waited for) committed.
            c.execute(
                "INSERT INTO fushi_secret (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
                &[&IDENTITY_SECRET, &fresh.as_slice()],
            )
            .await
            .map_err(db_error("accounts: identity secret"))?;
            let row = c
                .query_one(
                    "SELECT value FROM fushi_secret WHERE name = $1",
                    &[&IDENTITY_SECRET],
                )
                .await
                .map_err(db_error("accounts: identity secret"))?;
            col::<Vec<u8>>(&row, 0)
        })?;
        Ok(PgAccounts { pg, ttl_ms, secret })
    }

    /// How long a token lives unless renewed (ms).
    pub fn ttl_ms(&self) -> i64 {
        self.ttl_ms
    }

    /// Tokens issued from now on live `ttl_ms` (at least a minute).
    pub fn set_ttl_ms(&mut self, ttl_ms: i64) {
        self.ttl_ms = ttl_ms.max(60_000);
    }
}

impl AccountBook for PgAccounts {
    /// The key a platform identity is kept under: SHA-256 of a secret of
    /// this database, the issuer and the subject. The subject (which may be
    /// a phone number) is never stored, and no one without the database can
    /// compute the key from it. Every process on the database computes the
    /// same key.
    fn identity_key(&self, issuer: &str, subject: &str) -> [u8; 32] {
        crate::accounts::keyed_identity(&self.secret, issuer, subject)
    }

    /// Keep a new token of `device` for `actor`, living one token life.
    fn add_device_token(
        &self,
        hash: &[u8; 32],
        actor: &Actor,
        device: Uuid,
        platform: &str,
        now_ms: i64,
    ) -> Result<Grant> {
        let (hash, actor, platform, ttl) = (*hash, actor.clone(), platform.to_owned(), self.ttl_ms);
        self.pg.run(move |pool| async move {
            let c = Pg::client(&pool).await?;
            insert_token(&c, &hash, &actor, device, &platform, now_ms, ttl).await
        })
    }

    /// What the token with `hash` says.
    fn token(&self, hash: &[u8; 32], now_ms: i64) -> Result<TokenStatus> {
        let hash = *hash;
        self.pg.run(move |pool| async move {
            let c = Pg::client(&pool).await?;
            let row = c
                .query_opt(
                    "SELECT revoked_at, user_id, role, community, device, created_at, expires_at, last_seen_day
                     FROM fushi_token WHERE hash = $1",
                    &[&hash.as_slice()],
                )
                .await
                .map_err(db_error("accounts: token"))?;
            let Some(row) = row else {
                return Ok(TokenStatus::Unknown);
            };
            if col::<Option<i64>>(&row, 0)?.is_some() {
                return Ok(TokenStatus::Revoked);
            }
            let grant = grant_of(&row, 1)?;
            if grant.expires_at_ms <= now_ms {
                return Ok(TokenStatus::Expired);
            }
            Ok(TokenStatus::Valid(grant))
        })
    }

    /// Note that the token with `hash` was used today.
    fn seen(&self, hash: &[u8; 32], now_ms: i64) -> Result<()> {
        let (hash, day) = (*hash, day_of(now_ms));
        self.pg.run(move |pool| async move {
            let c = Pg::client(&pool).await?;
            c.execute(
                "UPDATE fushi_token SET last_seen_day = $2
                 WHERE hash = $1 AND (last_seen_day IS NULL OR last_seen_day < $2)",
                &[&hash.as_slice(), &day],
            )
            .await
            .map_err(db_error("accounts: seen"))?;
            Ok(())
        })
    }

    /// Renew the live token `old`: a new token (`new`) for the same device
    /// and user, living one token life; every other live token of the
    /// device is revoked, and `old` keeps working for [`RENEW_GRACE_MS`]
    /// (its answer may be lost). `None` if `old` is not live.
    fn renew(&self, old: &[u8; 32], new: &[u8; 32], now_ms: i64) -> Result<Option<Grant>> {
        let (old, new, ttl) = (*old, *new, self.ttl_ms);
        self.pg.run(move |pool| async move {
            let mut c = Pg::client(&pool).await?;
            let tx = c.transaction().await.map_err(db_error("accounts: renew"))?;
            const LIVE: &str = "SELECT user_id, role, community, device, platform
                 FROM fushi_token WHERE hash = $1 AND revoked_at IS NULL AND expires_at > $2";
            let Some(row) = tx
                .query_opt(LIVE, &[&old.as_slice(), &now_ms])
                .await
                .map_err(db_error("accounts: renew"))?
            else {
                return Ok(None);
            };
            let user: Uuid = col(&row, 0)?;
            // Still live once no sign-out of the user is under way: a
            // sign-out that landed since must not be undone by a fresh
            // token, and one that comes after sees the fresh token.
            lock_user(&tx, user).await?;
            let Some(row) = tx
                .query_opt(
                    format!("{LIVE} FOR UPDATE").as_str(),
                    &[&old.as_slice(), &now_ms],
                )
                .await
                .map_err(db_error("accounts: renew"))?
            else {
                return Ok(None);
            };
            let actor = Actor {
                user: col(&row, 0)?,
                role: role_of(col(&row, 1)?)?,
                community: col(&row, 2)?,
            };
            let device: Uuid = col(&row, 3)?;
            let platform: String = col(&row, 4)?;
            tx.execute(
                "UPDATE fushi_token SET revoked_at = $3
                 WHERE device = $1 AND hash <> $2 AND revoked_at IS NULL AND expires_at > $3",
                &[&device, &old.as_slice(), &now_ms],
            )
            .await
            .map_err(db_error("accounts: renew"))?;
            tx.execute(
                "UPDATE fushi_token SET expires_at = least(expires_at, $2) WHERE hash = $1",
                &[&old.as_slice(), &now_ms.saturating_add(RENEW_GRACE_MS)],
            )
            .await
            .map_err(db_error("accounts: renew"))?;
            let renewed = insert_token(&tx, &new, &actor, device, &platform, now_ms, ttl).await?;
            tx.commit().await.map_err(db_error("accounts: renew"))?;
            Ok(Some(renewed))
        })
    }

    /// The live devices of `user` (a live token: not revoked, not expired),
    /// the first signed in first.
    fn devices(&self, user: Uuid, now_ms: i64) -> Result<Vec<DeviceRow>> {
        self.pg.run(move |pool| async move {
            let c = Pg::client(&pool).await?;
            let rows = c
                .query(
                    "SELECT device, min(platform), min(created_at), max(last_seen_day), max(expires_at)
                     FROM fushi_token WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $2
                     GROUP BY device ORDER BY min(created_at), device",
                    &[&user, &now_ms],
                )
                .await
                .map_err(db_error("accounts: devices"))?;
            rows.iter()
                .map(|r| {
                    Ok(DeviceRow {
                        device: col(r, 0)?,
                        platform: col(r, 1)?,
                        signed_in_at_ms: col(r, 2)?,
                        last_seen_day_ms: col(r, 3)?,
                        expires_at_ms: col(r, 4)?,
                    })
                })
                .collect()
        })
    }

    /// The role and community `user` holds (from a live token or a known
    /// platform identity), if the server knows the user. A token's word
    /// goes before an identity's, and the newest before older ones.
    fn user_standing(&self, user: Uuid, now_ms: i64) -> Result<Option<(Role, String)>> {
        self.pg.run(move |pool| async move {
            let c = Pg::client(&pool).await?;
            let row = c
                .query_opt(
                    "SELECT role, community FROM (
                         SELECT 0 AS pref, created_at, role, community FROM fushi_token
                         WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $2
                         UNION ALL
                         SELECT 1, created_at, role, community FROM fushi_identity
                         WHERE user_id = $1 AND revoked_at IS NULL
                     ) s ORDER BY pref, created_at DESC LIMIT 1",
                    &[&user, &now_ms],
                )
                .await
                .map_err(db_error("accounts: standing"))?;
            row.map(|r| Ok((role_of(col(&r, 0)?)?, col(&r, 1)?)))
                .transpose()
        })
    }

    /// Sign `device` of `user` out. Returns how many tokens were revoked.
    fn revoke_device(&self, user: Uuid, device: Uuid, now_ms: i64) -> Result<usize> {
        self.pg.run(move |pool| async move {
            let mut c = Pg::client(&pool).await?;
            let tx = c
                .transaction()
                .await
                .map_err(db_error("accounts: sign out"))?;
            lock_user(&tx, user).await?;
            let n = tx
                .execute(
                    "UPDATE fushi_token SET revoked_at = $3
                     WHERE user_id = $1 AND device = $2 AND revoked_at IS NULL",
                    &[&user, &device, &now_ms],
                )
                .await
                .map_err(db_error("accounts: sign out"))?;
            tx.commit().await.map_err(db_error("accounts: sign out"))?;
            Ok(count(n))
        })
    }

    /// Revoke one token. Whether it was live.
    fn revoke_token(&self, hash: &[u8; 32], now_ms: i64) -> Result<bool> {
        let hash = *hash;
        self.pg.run(move |pool| async move {
            let c = Pg::client(&pool).await?;
            let n = c
                .execute(
                    "UPDATE fushi_token SET revoked_at = $2 WHERE hash = $1 AND revoked_at IS NULL",
                    &[&hash.as_slice(), &now_ms],
                )
                .await
                .map_err(db_error("accounts: revoke"))?;
            Ok(n > 0)
        })
    }

    /// Sign every device of `user` out, and refuse the platform's tokens
    /// for the user issued before now. Returns how many devices (and
    /// platform identities).
    fn revoke_user(&self, user: Uuid, now_ms: i64) -> Result<usize> {
        self.pg.run(move |pool| async move {
            let mut c = Pg::client(&pool).await?;
            let tx = c
                .transaction()
                .await
                .map_err(db_error("accounts: sign out user"))?;
            lock_user(&tx, user).await?;
            let devices: i64 = col(
                &tx.query_one(
                    "SELECT count(DISTINCT device) FROM fushi_token WHERE user_id = $1 AND revoked_at IS NULL",
                    &[&user],
                )
                .await
                .map_err(db_error("accounts: sign out user"))?,
                0,
            )?;
            tx.execute(
                "UPDATE fushi_token SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL",
                &[&user, &now_ms],
            )
            .await
            .map_err(db_error("accounts: sign out user"))?;
            let identities = tx
                .execute(
                    "UPDATE fushi_identity SET revoked_at = $2 WHERE user_id = $1",
                    &[&user, &now_ms],
                )
                .await
                .map_err(db_error("accounts: sign out user"))?;
            tx.commit()
                .await
                .map_err(db_error("accounts: sign out user"))?;
            Ok(usize::try_from(devices)
                .unwrap_or(0)
                .saturating_add(count(identities)))
        })
    }

    /// Keep a new invite under the hash of its code.
    fn create_invite(&self, code_hash: &[u8; 32], invite: &NewInvite, now_ms: i64) -> Result<()> {
        let (code_hash, invite) = (*code_hash, invite.clone());
        self.pg.run(move |pool| async move {
            let c = Pg::client(&pool).await?;
            c.execute(
                "INSERT INTO fushi_invite (code_hash, community, role, created_by, created_at, expires_at, uses_left, for_user)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                &[
                    &code_hash.as_slice(),
                    &invite.community,
                    &invite.role.as_str(),
                    &invite.created_by,
                    &now_ms,
                    &invite.expires_at_ms,
                    &i64::from(invite.uses),
                    &invite.for_user,
                ],
            )
            .await
            .map_err(db_error("accounts: keep invite"))?;
            Ok(())
        })
    }

    /// Redeem the invite with `code_hash` for a new user (or, for a code
    /// of another device, its user) on a new device, in one transaction: a
    /// use is taken and the device's token kept. The use is taken by one
    /// statement that only succeeds while uses are left, so processes
    /// redeeming together never take more uses than the invite had.
    fn redeem(
        &self,
        code_hash: &[u8; 32],
        token_hash: &[u8; 32],
        platform: &str,
        now_ms: i64,
    ) -> Result<std::result::Result<Grant, InviteRefusal>> {
        let (code_hash, token_hash, platform, ttl) =
            (*code_hash, *token_hash, platform.to_owned(), self.ttl_ms);
        self.pg.run(move |pool| async move {
            let mut c = Pg::client(&pool).await?;
            let tx = c
                .transaction()
                .await
                .map_err(db_error("accounts: redeem"))?;
            let taken = tx
                .query_opt(
                    "UPDATE fushi_invite SET uses_left = uses_left - 1
                     WHERE code_hash = $1 AND expires_at > $2 AND uses_left > 0
                     RETURNING community, role, for_user",
                    &[&code_hash.as_slice(), &now_ms],
                )
                .await
                .map_err(db_error("accounts: redeem"))?;
            let Some(row) = taken else {
                // Why not, in the order of the SQLite accounts: unknown,
                // expired, used up.
                let why = tx
                    .query_opt(
                        "SELECT expires_at FROM fushi_invite WHERE code_hash = $1",
                        &[&code_hash.as_slice()],
                    )
                    .await
                    .map_err(db_error("accounts: redeem"))?;
                return Ok(Err(match why {
                    None => InviteRefusal::Unknown,
                    Some(r) if col::<i64>(&r, 0)? <= now_ms => InviteRefusal::Expired,
                    Some(_) => InviteRefusal::UsedUp,
                }));
            };
            let actor = Actor {
                user: col::<Option<Uuid>>(&row, 2)?.unwrap_or_else(Uuid::new_v4),
                role: role_of(col(&row, 1)?)?,
                community: col(&row, 0)?,
            };
            let grant = insert_token(
                &tx,
                &token_hash,
                &actor,
                Uuid::new_v4(),
                &platform,
                now_ms,
                ttl,
            )
            .await?;
            tx.commit().await.map_err(db_error("accounts: redeem"))?;
            Ok(Ok(grant))
        })
    }

    /// Drop invites that ended more than a day ago, and tokens that expired
    /// or were revoked more than a token life ago.
    fn forget_old(&self, now_ms: i64) -> Result<()> {
        let ttl = self.ttl_ms;
        self.pg.run(move |pool| async move {
            let c = Pg::client(&pool).await?;
            c.execute(
                "DELETE FROM fushi_invite WHERE expires_at < $1",
                &[&now_ms.saturating_sub(DAY_MS)],
            )
            .await
            .map_err(db_error("accounts: forget"))?;
            c.execute(
                "DELETE FROM fushi_token WHERE least(coalesce(revoked_at, expires_at), expires_at) < $1",
                &[&now_ms.saturating_sub(ttl)],
            )
            .await
            .map_err(db_error("accounts: forget"))?;
            Ok(())
        })
    }

    /// The user of the platform identity `key` (a keyed hash of issuer and
    /// subject), made on first sight, with the role and community its
    /// latest token gave. `None` if the user was signed out by staff after
    /// `issued_at_ms` (the platform's token predates the revocation).
    fn external_user(
        &self,
        key: &[u8; 32],
        role: Role,
        community: &str,
        issued_at_ms: i64,
        now_ms: i64,
    ) -> Result<Option<Uuid>> {
        let (key, community) = (*key, community.to_owned());
        self.pg.run(move |pool| async move {
            let mut c = Pg::client(&pool).await?;
            let tx = c
                .transaction()
                .await
                .map_err(db_error("accounts: identity"))?;
            // Twice at most: a first sight that loses the race to insert
            // reads the row the winner made.
            for _ in 0..2 {
                // Locked: a sign-out waits until this is decided, or this
                // sees the sign-out.
                let row = tx
                    .query_opt(
                        "SELECT user_id, revoked_at FROM fushi_identity WHERE key = $1 FOR UPDATE",
                        &[&key.as_slice()],
                    )
                    .await
                    .map_err(db_error("accounts: identity"))?;
                if let Some(row) = row {
                    let user: Uuid = col(&row, 0)?;
                    if let Some(revoked) = col::<Option<i64>>(&row, 1)? {
                        if issued_at_ms <= revoked {
                            return Ok(None);
                        }
                    }
                    tx.execute(
                        "UPDATE fushi_identity SET role = $2, community = $3, revoked_at = NULL WHERE key = $1",
                        &[&key.as_slice(), &role.as_str(), &community],
                    )
                    .await
                    .map_err(db_error("accounts: identity"))?;
                    tx.commit().await.map_err(db_error("accounts: identity"))?;
                    return Ok(Some(user));
                }
                let made = tx
                    .query_opt(
                        "INSERT INTO fushi_identity (key, user_id, role, community, created_at)
                         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (key) DO NOTHING RETURNING user_id",
                        &[&key.as_slice(), &Uuid::new_v4(), &role.as_str(), &community, &now_ms],
                    )
                    .await
                    .map_err(db_error("accounts: identity"))?;
                if let Some(row) = made {
                    let user: Uuid = col(&row, 0)?;
                    tx.commit().await.map_err(db_error("accounts: identity"))?;
                    return Ok(Some(user));
                }
            }
            Err(Error::Database(
                "accounts: identity: neither found nor made".into(),
            ))
        })
    }

    /// The standing of a platform identity (for held changes judged again).
    fn identity(&self, key: &[u8; 32]) -> Result<Option<Actor>> {
        let key = *key;
        self.pg.run(move |pool| async move {
            let c = Pg::client(&pool).await?;
            let row = c
                .query_opt(
                    "SELECT user_id, role, community FROM fushi_identity WHERE key = $1 AND revoked_at IS NULL",
                    &[&key.as_slice()],
                )
                .await
                .map_err(db_error("accounts: identity"))?;
            row.map(|r| {
                Ok(Actor {
                    user: col(&r, 0)?,
                    role: role_of(col(&r, 1)?)?,
                    community: col(&r, 2)?,
                })
            })
            .transpose()
        })
    }
}
