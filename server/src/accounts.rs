//! Who may sync, in SQLite (the file `<db>.tokens`): one bearer token per
//! signed-in device, kept only as a SHA-256 hash, each expiring unless the
//! device renews it; invites (a keyed hash of the code, the role and
//! community it gives, uses left, expiry); and the users known from the
//! community's platform (JWT), under a keyed hash of issuer and subject.
//! Nothing here names a person: users are random ids.
//!
//! The file's layout is versioned with `user_version` (0 or 1: the token
//! table of before devices; 2: devices, expiry, invites, identities), each
//! step in one transaction.

use crate::storage::{AccountBook, DeviceRow, Grant, InviteRefusal, NewInvite, TokenStatus};
use fushi_core::policy::{Actor, Role};
use fushi_core::{Error, Result};
use rusqlite::{Connection, OptionalExtension, Transaction};
use std::path::Path;
use std::sync::Mutex;
use uuid::Uuid;

/// The layout before versions: tokens without devices.
const V1_SQL: &str = "CREATE TABLE IF NOT EXISTS token (
  hash BLOB PRIMARY KEY,
  user TEXT NOT NULL,
  role TEXT NOT NULL,
  community TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  revoked_at INTEGER
);
CREATE INDEX IF NOT EXISTS token_user ON token(user);";

/// Devices, expiry, invites, identities. A token of before is a device of
/// its own (platform `cli`), expiring one token life after the upgrade.
const V2_SQL: &str = "ALTER TABLE token ADD COLUMN device BLOB;
ALTER TABLE token ADD COLUMN platform TEXT NOT NULL DEFAULT 'cli';
ALTER TABLE token ADD COLUMN expires_at INTEGER;
ALTER TABLE token ADD COLUMN last_seen_day INTEGER;
UPDATE token SET device = randomblob(16) WHERE device IS NULL;
UPDATE token SET expires_at = created_at WHERE expires_at IS NULL;
CREATE INDEX token_device ON token(device);
CREATE TABLE invite (
  code_hash BLOB PRIMARY KEY,
  community TEXT NOT NULL,
  role TEXT NOT NULL,
  created_by TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  uses_left INTEGER NOT NULL,
  for_user TEXT
);
CREATE INDEX invite_expiry ON invite(expires_at);
CREATE TABLE identity (
  key BLOB PRIMARY KEY,
  user TEXT NOT NULL,
  role TEXT NOT NULL,
  community TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  revoked_at INTEGER
);
CREATE INDEX identity_user ON identity(user);
CREATE TABLE meta (
  name TEXT PRIMARY KEY,
  value BLOB NOT NULL
);
INSERT INTO meta (name, value) VALUES ('identity_secret', randomblob(32));";

/// The layout this build writes.
const VERSION: i64 = 2;
/// A day in ms (last-seen is kept to the day).
const DAY_MS: i64 = 86_400_000;
/// After a renewal, the old token still works this long (the new one may
/// not have reached the phone).
pub const RENEW_GRACE_MS: i64 = DAY_MS;

/// The accounts file.
#[derive(Debug)]
pub struct Accounts {
    conn: Mutex<Connection>,
    /// How long a token lives unless renewed (ms).
    ttl_ms: i64,
    /// Keys platform identities ([`Accounts::identity_key`]).
    secret: Vec<u8>,
}

fn corrupt(what: &str) -> Error {
    Error::Corrupt(format!("accounts: {what}"))
}

fn uuid_of(text: &str) -> Result<Uuid> {
    Uuid::parse_str(text).map_err(|_| corrupt("bad user id"))
}

fn role_of(text: &str) -> Result<Role> {
    Role::parse(text).ok_or_else(|| corrupt("bad role"))
}

impl Accounts {
    /// Open (creating or upgrading) the accounts file at `path`; tokens
    /// issued from now on live `ttl_ms`. `now_ms` dates the upgrade.
    pub fn open(path: &Path, ttl_ms: i64, now_ms: i64) -> Result<Accounts> {
        let mut conn = Connection::open(path)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        let found: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if found > VERSION {
            return Err(Error::SchemaTooNew {
                found,
                supported: VERSION,
            });
        }
        if found < VERSION {
            let tx = conn.transaction()?;
            if found < 1 {
                tx.execute_batch(V1_SQL)?;
            }
            if found < 2 {
                tx.execute_batch(V2_SQL)?;
                tx.execute(
                    "UPDATE token SET expires_at = ?1 WHERE platform = 'cli' AND revoked_at IS NULL",
                    [now_ms.saturating_add(ttl_ms)],
                )?;
            }
            tx.pragma_update(None, "user_version", VERSION)?;
            tx.commit()?;
            tracing::info!(from = found, to = VERSION, "accounts file migrated");
        }
        let secret: Vec<u8> = conn.query_row(
            "SELECT value FROM meta WHERE name = 'identity_secret'",
            [],
            |r| r.get(0),
        )?;
        Ok(Accounts {
            conn: Mutex::new(conn),
            ttl_ms,
            secret,
        })
    }

    /// How long a token lives unless renewed (ms).
    pub fn ttl_ms(&self) -> i64 {
        self.ttl_ms
    }

    /// Tokens issued from now on live `ttl_ms` (at least a minute).
    pub fn set_ttl_ms(&mut self, ttl_ms: i64) {
        self.ttl_ms = ttl_ms.max(60_000);
    }

    fn conn(&self) -> Result<std::sync::MutexGuard<'_, Connection>> {
        self.conn
            .lock()
            .map_err(|_| corrupt("connection lock poisoned"))
    }
}

impl AccountBook for Accounts {
    /// The key a platform identity is kept under: SHA-256 of a secret of
    /// this file, the issuer and the subject. The subject (which may be a
    /// phone number) is never stored, and no one without the file can
    /// compute the key from it.
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
        let mut conn = self.conn()?;
        let tx = conn.transaction()?;
        let grant = insert_token(&tx, hash, actor, device, platform, now_ms, self.ttl_ms)?;
        tx.commit()?;
        Ok(grant)
    }

    /// What the token with `hash` says.
    fn token(&self, hash: &[u8; 32], now_ms: i64) -> Result<TokenStatus> {
        let row = self
            .conn()?
            .query_row(
                "SELECT user, role, community, revoked_at, device, created_at, expires_at, last_seen_day FROM token WHERE hash = ?1",
                [hash.as_slice()],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, Option<i64>>(3)?,
                        r.get::<_, Vec<u8>>(4)?,
                        r.get::<_, i64>(5)?,
                        r.get::<_, i64>(6)?,
                        r.get::<_, Option<i64>>(7)?,
                    ))
                },
            )
            .optional()?;
        let Some((user, role, community, revoked, device, issued, expires, seen)) = row else {
            return Ok(TokenStatus::Unknown);
        };
        if revoked.is_some() {
            return Ok(TokenStatus::Revoked);
        }
        if expires <= now_ms {
            return Ok(TokenStatus::Expired);
        }
        Ok(TokenStatus::Valid(Grant {
            actor: Actor {
                user: uuid_of(&user)?,
                role: role_of(&role)?,
                community,
            },
            device: Uuid::from_slice(&device).map_err(|_| corrupt("bad device id"))?,
            issued_at_ms: issued,
            expires_at_ms: expires,
            last_seen_day_ms: seen,
        }))
    }

    /// Note that the token with `hash` was used today.
    fn seen(&self, hash: &[u8; 32], now_ms: i64) -> Result<()> {
        let day = day_of(now_ms);
        self.conn()?.execute(
            "UPDATE token SET last_seen_day = ?2 WHERE hash = ?1 AND (last_seen_day IS NULL OR last_seen_day < ?2)",
            rusqlite::params![hash.as_slice(), day],
        )?;
        Ok(())
    }

    /// Renew the live token `old`: a new token (`new`) for the same device
    /// and user, living one token life; every other live token of the
    /// device is revoked, and `old` keeps working for [`RENEW_GRACE_MS`]
    /// (its answer may be lost). `None` if `old` is not live.
    fn renew(&self, old: &[u8; 32], new: &[u8; 32], now_ms: i64) -> Result<Option<Grant>> {
        let Some(grant) = (match self.token(old, now_ms)? {
            TokenStatus::Valid(g) => Some(g),
            _ => None,
        }) else {
            return Ok(None);
        };
        let mut conn = self.conn()?;
        let tx = conn.transaction()?;
        // Still live inside the transaction: a sign-out that landed since
        // the look-up above must not be undone by a fresh token.
        let platform: Option<String> = tx
            .query_row(
                "SELECT platform FROM token WHERE hash = ?1 AND revoked_at IS NULL AND expires_at > ?2",
                rusqlite::params![old.as_slice(), now_ms],
                |r| r.get(0),
            )
            .optional()?;
        let Some(platform) = platform else {
            return Ok(None);
        };
        tx.execute(
            "UPDATE token SET revoked_at = ?3 WHERE device = ?1 AND hash <> ?2 AND revoked_at IS NULL AND expires_at > ?3",
            rusqlite::params![grant.device.as_bytes(), old.as_slice(), now_ms],
        )?;
        tx.execute(
            "UPDATE token SET expires_at = min(expires_at, ?2) WHERE hash = ?1",
            rusqlite::params![old.as_slice(), now_ms.saturating_add(RENEW_GRACE_MS)],
        )?;
        let renewed = insert_token(
            &tx,
            new,
            &grant.actor,
            grant.device,
            &platform,
            now_ms,
            self.ttl_ms,
        )?;
        tx.commit()?;
        Ok(Some(renewed))
    }

    /// The live devices of `user` (a live token: not revoked, not expired).
    fn devices(&self, user: Uuid, now_ms: i64) -> Result<Vec<DeviceRow>> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare(
            "SELECT device, platform, min(created_at), max(last_seen_day), max(expires_at)
             FROM token WHERE user = ?1 AND revoked_at IS NULL AND expires_at > ?2
             GROUP BY device ORDER BY min(created_at)",
        )?;
        let rows = stmt.query_map(rusqlite::params![user.to_string(), now_ms], |r| {
            Ok((
                r.get::<_, Vec<u8>>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, Option<i64>>(3)?,
                r.get::<_, i64>(4)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (device, platform, signed_in, seen, expires) = row?;
            out.push(DeviceRow {
                device: Uuid::from_slice(&device).map_err(|_| corrupt("bad device id"))?,
                platform,
                signed_in_at_ms: signed_in,
                last_seen_day_ms: seen,
                expires_at_ms: expires,
            });
        }
        Ok(out)
    }

    /// The role and community `user` holds (from a live token or a known
    /// platform identity), if the server knows the user.
    fn user_standing(&self, user: Uuid, now_ms: i64) -> Result<Option<(Role, String)>> {
        let conn = self.conn()?;
        let row = conn
            .query_row(
                "SELECT role, community FROM token WHERE user = ?1 AND revoked_at IS NULL AND expires_at > ?2
                 UNION ALL SELECT role, community FROM identity WHERE user = ?1 AND revoked_at IS NULL
                 LIMIT 1",
                rusqlite::params![user.to_string(), now_ms],
                |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)),
            )
            .optional()?;
        row.map(|(role, community)| Ok((role_of(&role)?, community)))
            .transpose()
    }

    /// Sign `device` of `user` out. Returns how many tokens were revoked.
    fn revoke_device(&self, user: Uuid, device: Uuid, now_ms: i64) -> Result<usize> {
        Ok(self.conn()?.execute(
            "UPDATE token SET revoked_at = ?3 WHERE user = ?1 AND device = ?2 AND revoked_at IS NULL",
            rusqlite::params![user.to_string(), device.as_bytes(), now_ms],
        )?)
    }

    /// Revoke one token. Whether it was live.
    fn revoke_token(&self, hash: &[u8; 32], now_ms: i64) -> Result<bool> {
        let n = self.conn()?.execute(
            "UPDATE token SET revoked_at = ?2 WHERE hash = ?1 AND revoked_at IS NULL",
            rusqlite::params![hash.as_slice(), now_ms],
        )?;
        Ok(n > 0)
    }

    /// Sign every device of `user` out, and refuse the platform's tokens
    /// for the user issued before now. Returns how many devices.
    fn revoke_user(&self, user: Uuid, now_ms: i64) -> Result<usize> {
        let mut conn = self.conn()?;
        let tx = conn.transaction()?;
        let devices: i64 = tx.query_row(
            "SELECT count(DISTINCT device) FROM token WHERE user = ?1 AND revoked_at IS NULL",
            [user.to_string()],
            |r| r.get(0),
        )?;
        tx.execute(
            "UPDATE token SET revoked_at = ?2 WHERE user = ?1 AND revoked_at IS NULL",
            rusqlite::params![user.to_string(), now_ms],
        )?;
        let identities = tx.execute(
            "UPDATE identity SET revoked_at = ?2 WHERE user = ?1",
            rusqlite::params![user.to_string(), now_ms],
        )?;
        tx.commit()?;
        Ok(usize::try_from(devices).unwrap_or(0) + identities)
    }

    /// Keep a new invite under the hash of its code.
    fn create_invite(&self, code_hash: &[u8; 32], invite: &NewInvite, now_ms: i64) -> Result<()> {
        self.conn()?.execute(
            "INSERT INTO invite (code_hash, community, role, created_by, created_at, expires_at, uses_left, for_user)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            rusqlite::params![
                code_hash.as_slice(),
                invite.community,
                invite.role.as_str(),
                invite.created_by.to_string(),
                now_ms,
                invite.expires_at_ms,
                invite.uses,
                invite.for_user.map(|u| u.to_string()),
            ],
        )?;
        Ok(())
    }

    /// Redeem the invite with `code_hash` for a new user on a new device,
    /// in one transaction: a use is taken and the device's token kept.
    fn redeem(
        &self,
        code_hash: &[u8; 32],
        token_hash: &[u8; 32],
        platform: &str,
        now_ms: i64,
    ) -> Result<std::result::Result<Grant, InviteRefusal>> {
        let mut conn = self.conn()?;
        let tx = conn.transaction()?;
        let row = tx
            .query_row(
                "SELECT community, role, expires_at, uses_left, for_user FROM invite WHERE code_hash = ?1",
                [code_hash.as_slice()],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, i64>(2)?,
                        r.get::<_, i64>(3)?,
                        r.get::<_, Option<String>>(4)?,
                    ))
                },
            )
            .optional()?;
        let Some((community, role, expires, uses_left, for_user)) = row else {
            return Ok(Err(InviteRefusal::Unknown));
        };
        if expires <= now_ms {
            return Ok(Err(InviteRefusal::Expired));
        }
        if uses_left <= 0 {
            return Ok(Err(InviteRefusal::UsedUp));
        }
        tx.execute(
            "UPDATE invite SET uses_left = uses_left - 1 WHERE code_hash = ?1",
            [code_hash.as_slice()],
        )?;
        let actor = Actor {
            user: for_user
                .as_deref()
                .map(uuid_of)
                .transpose()?
                .unwrap_or_else(Uuid::new_v4),
            role: role_of(&role)?,
            community,
        };
        let grant = insert_token(
            &tx,
            token_hash,
            &actor,
            Uuid::new_v4(),
            platform,
            now_ms,
            self.ttl_ms,
        )?;
        tx.commit()?;
        Ok(Ok(grant))
    }

    /// Drop invites that ended more than a day ago, and tokens that expired
    /// or were revoked more than a token life ago.
    fn forget_old(&self, now_ms: i64) -> Result<()> {
        let conn = self.conn()?;
        conn.execute(
            "DELETE FROM invite WHERE expires_at < ?1",
            [now_ms - DAY_MS],
        )?;
        conn.execute(
            "DELETE FROM token WHERE min(coalesce(revoked_at, expires_at), expires_at) < ?1",
            [now_ms.saturating_sub(self.ttl_ms)],
        )?;
        Ok(())
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
        let mut conn = self.conn()?;
        let tx = conn.transaction()?;
        let row = tx
            .query_row(
                "SELECT user, revoked_at FROM identity WHERE key = ?1",
                [key.as_slice()],
                |r| Ok((r.get::<_, String>(0)?, r.get::<_, Option<i64>>(1)?)),
            )
            .optional()?;
        let user = match row {
            Some((_, Some(revoked))) if issued_at_ms <= revoked => return Ok(None),
            Some((user, _)) => {
                tx.execute(
                    "UPDATE identity SET role = ?2, community = ?3, revoked_at = NULL WHERE key = ?1",
                    rusqlite::params![key.as_slice(), role.as_str(), community],
                )?;
                uuid_of(&user)?
            }
            None => {
                let user = Uuid::new_v4();
                tx.execute(
                    "INSERT INTO identity (key, user, role, community, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                    rusqlite::params![key.as_slice(), user.to_string(), role.as_str(), community, now_ms],
                )?;
                user
            }
        };
        tx.commit()?;
        Ok(Some(user))
    }

    /// The standing of a platform identity (for held changes judged again).
    fn identity(&self, key: &[u8; 32]) -> Result<Option<Actor>> {
        let row = self
            .conn()?
            .query_row(
                "SELECT user, role, community FROM identity WHERE key = ?1 AND revoked_at IS NULL",
                [key.as_slice()],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                    ))
                },
            )
            .optional()?;
        row.map(|(user, role, community)| {
            Ok(Actor {
                user: uuid_of(&user)?,
                role: role_of(&role)?,
                community,
            })
        })
        .transpose()
    }
}

/// The key a platform identity is kept under: SHA-256 of `secret` (the
/// storage's own, never sent anywhere), the issuer and the subject. The
/// subject (which may be a phone number) is never stored, and no one
/// without the secret can compute the key from it.
pub fn keyed_identity(secret: &[u8], issuer: &str, subject: &str) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(secret);
    h.update(issuer.as_bytes());
    h.update([0u8]);
    h.update(subject.as_bytes());
    h.finalize().into()
}

/// The start (Unix ms, midnight UTC) of the day of `ms`.
pub fn day_of(ms: i64) -> i64 {
    ms - ms.rem_euclid(DAY_MS)
}

fn insert_token(
    tx: &Transaction<'_>,
    hash: &[u8; 32],
    actor: &Actor,
    device: Uuid,
    platform: &str,
    now_ms: i64,
    ttl_ms: i64,
) -> Result<Grant> {
    let expires = now_ms.saturating_add(ttl_ms);
    tx.execute(
        "INSERT INTO token (hash, user, role, community, created_at, device, platform, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        rusqlite::params![
            hash.as_slice(),
            actor.user.to_string(),
            actor.role.as_str(),
            actor.community,
            now_ms,
            device.as_bytes(),
            platform,
            expires
        ],
    )?;
    Ok(Grant {
        actor: actor.clone(),
        device,
        issued_at_ms: now_ms,
        expires_at_ms: expires,
        last_seen_day_ms: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000_000;
    const TTL: i64 = 90 * DAY_MS;

    fn actor() -> Actor {
        Actor {
            user: Uuid::from_u128(7),
            role: Role::Resident,
            community: "fushi".into(),
        }
    }

    #[test]
    fn a_token_of_the_old_layout_becomes_a_device_and_renewals_follow_the_rules() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.tokens");
        // A tokens file as the server wrote it before devices.
        {
            let c = Connection::open(&path).unwrap();
            c.execute_batch(V1_SQL).unwrap();
            c.execute(
                "INSERT INTO token (hash, user, role, community, created_at) VALUES (?1, ?2, 'resident', 'fushi', ?3)",
                rusqlite::params![[1u8; 32].as_slice(), actor().user.to_string(), NOW - DAY_MS],
            )
            .unwrap();
        }
        let acc = Accounts::open(&path, TTL, NOW).unwrap();
        let TokenStatus::Valid(old) = acc.token(&[1; 32], NOW).unwrap() else {
            panic!("the old token still works");
        };
        assert_eq!(
            old.expires_at_ms,
            NOW + TTL,
            "one token life after the upgrade"
        );
        assert_eq!(acc.devices(actor().user, NOW).unwrap()[0].platform, "cli");

        // Renewed: a new token of the same device; the old one has a day.
        let new = acc.renew(&[1; 32], &[2; 32], NOW).unwrap().unwrap();
        assert_eq!((new.device, new.expires_at_ms), (old.device, NOW + TTL));
        assert!(matches!(
            acc.token(&[1; 32], NOW + DAY_MS / 2).unwrap(),
            TokenStatus::Valid(_)
        ));
        assert_eq!(
            acc.token(&[1; 32], NOW + DAY_MS).unwrap(),
            TokenStatus::Expired
        );
        // Renewing again from the new token revokes the other live one.
        acc.renew(&[2; 32], &[3; 32], NOW + 1).unwrap().unwrap();
        assert_eq!(acc.token(&[1; 32], NOW + 2).unwrap(), TokenStatus::Revoked);
        // A signed-out device renews nothing.
        assert_eq!(
            acc.revoke_device(actor().user, old.device, NOW + 3)
                .unwrap(),
            2
        );
        assert!(acc.renew(&[3; 32], &[4; 32], NOW + 4).unwrap().is_none());
        assert_eq!(acc.token(&[4; 32], NOW + 4).unwrap(), TokenStatus::Unknown);
        assert!(acc.devices(actor().user, NOW + 4).unwrap().is_empty());
    }
}
