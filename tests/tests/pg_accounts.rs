//! The PostgreSQL accounts and photo store against a real PostgreSQL (a
//! fresh database per test, see `fushi_tests::pg`): every rule of the
//! SQLite accounts (expiry, renewals and their day of grace, revocations
//! remembered, sign-outs, invites within their uses and time, platform
//! identities), and what only several processes on one database can break:
//! the identity secret they share, an invite's last use redeemed at once
//! from many threads of two processes, a sign-out racing a renewal.

use fushi_core::photo::PhotoRef;
use fushi_core::policy::{Actor, Role};
use fushi_core::store::PhotoSize;
use fushi_server::accounts::{day_of, RENEW_GRACE_MS};
use fushi_server::photos::PhotoStore;
use fushi_server::postgres::accounts::PgAccounts;
use fushi_server::postgres::photos::PgPhotos;
use fushi_server::postgres::Pg;
use fushi_server::storage::AccountBook;
use fushi_server::storage::{InviteRefusal, NewInvite, TokenStatus};
use std::sync::{Arc, Barrier};
use uuid::Uuid;

const NOW: i64 = 1_800_000_000_000;
const DAY: i64 = 86_400_000;
const TTL: i64 = 90 * DAY;

/// A fresh database, migrated; its connection string and one connection.
fn database() -> (String, Arc<Pg>) {
    let url = fushi_tests::pg::fresh_database();
    let pg = Arc::new(Pg::connect(&url).unwrap());
    (url, pg)
}

/// The accounts of a fresh database.
fn accounts() -> PgAccounts {
    PgAccounts::new(database().1, TTL).unwrap()
}

/// Another server process on the database at `url`: a pool of its own.
fn process(url: &str) -> PgAccounts {
    PgAccounts::new(Arc::new(Pg::connect(url).unwrap()), TTL).unwrap()
}

fn actor(n: u128, role: Role, community: &str) -> Actor {
    Actor {
        user: Uuid::from_u128(n),
        role,
        community: community.into(),
    }
}

fn resident(n: u128) -> Actor {
    actor(n, Role::Resident, "fushi")
}

fn h(n: u8) -> [u8; 32] {
    [n; 32]
}

fn valid(acc: &PgAccounts, hash: &[u8; 32], now: i64) -> fushi_server::storage::Grant {
    match acc.token(hash, now).unwrap() {
        TokenStatus::Valid(g) => g,
        other => panic!("not valid: {other:?}"),
    }
}

fn invite(uses: u32, expires_at_ms: i64, for_user: Option<Uuid>) -> NewInvite {
    NewInvite {
        role: Role::Resident,
        community: "fushi".into(),
        created_by: Uuid::from_u128(99),
        uses,
        expires_at_ms,
        for_user,
    }
}

#[test]
fn a_device_token_lives_one_token_life_and_remembers_the_day_it_was_used() {
    let acc = accounts();
    let device = Uuid::from_u128(1001);
    let grant = acc
        .add_device_token(&h(1), &resident(7), device, "android", NOW)
        .unwrap();
    assert_eq!(grant.actor, resident(7));
    assert_eq!(
        (grant.device, grant.issued_at_ms, grant.expires_at_ms),
        (device, NOW, NOW + TTL)
    );
    assert_eq!(valid(&acc, &h(1), NOW), grant, "what was kept is read back");
    assert_eq!(acc.token(&h(2), NOW).unwrap(), TokenStatus::Unknown);
    // Valid to the last ms of its life, expired from its end.
    valid(&acc, &h(1), NOW + TTL - 1);
    assert_eq!(acc.token(&h(1), NOW + TTL).unwrap(), TokenStatus::Expired);

    // Used: kept to the day, and never moved back.
    acc.seen(&h(1), NOW + 3 * DAY + 5).unwrap();
    let day = day_of(NOW + 3 * DAY);
    assert_eq!(valid(&acc, &h(1), NOW).last_seen_day_ms, Some(day));
    acc.seen(&h(1), NOW + DAY).unwrap();
    assert_eq!(valid(&acc, &h(1), NOW).last_seen_day_ms, Some(day));
    let devices = acc.devices(resident(7).user, NOW).unwrap();
    assert_eq!(devices.len(), 1);
    assert_eq!(
        (
            devices[0].device,
            devices[0].platform.as_str(),
            devices[0].signed_in_at_ms,
            devices[0].last_seen_day_ms,
            devices[0].expires_at_ms
        ),
        (device, "android", NOW, Some(day), NOW + TTL)
    );
    // A token of the same hash cannot be kept twice.
    assert!(matches!(
        acc.add_device_token(&h(1), &resident(8), Uuid::from_u128(1002), "ios", NOW),
        Err(fushi_core::Error::Database(_))
    ));
}

#[test]
fn renewals_follow_the_rules() {
    let acc = accounts();
    let old = acc
        .add_device_token(&h(1), &resident(7), Uuid::from_u128(1), "ios", NOW)
        .unwrap();

    // Renewed: a new token of the same device, user and platform; the old
    // one has a day of grace.
    let new = acc.renew(&h(1), &h(2), NOW + DAY).unwrap().unwrap();
    assert_eq!(
        (
            new.actor.clone(),
            new.device,
            new.issued_at_ms,
            new.expires_at_ms
        ),
        (resident(7), old.device, NOW + DAY, NOW + DAY + TTL)
    );
    assert_eq!(valid(&acc, &h(2), NOW + DAY), new);
    assert_eq!(
        valid(&acc, &h(1), NOW + DAY).expires_at_ms,
        NOW + DAY + RENEW_GRACE_MS
    );
    valid(&acc, &h(1), NOW + DAY + RENEW_GRACE_MS - 1);
    assert_eq!(
        acc.token(&h(1), NOW + DAY + RENEW_GRACE_MS).unwrap(),
        TokenStatus::Expired
    );
    let devices = acc.devices(resident(7).user, NOW + DAY).unwrap();
    assert_eq!(devices.len(), 1, "one device, two tokens");
    assert_eq!(
        (devices[0].platform.as_str(), devices[0].signed_in_at_ms),
        ("ios", NOW)
    );
    assert_eq!(devices[0].expires_at_ms, NOW + DAY + TTL);

    // Renewing again from the new token revokes the other live one.
    acc.renew(&h(2), &h(3), NOW + DAY + 1).unwrap().unwrap();
    assert_eq!(
        acc.token(&h(1), NOW + DAY + 2).unwrap(),
        TokenStatus::Revoked
    );
    // Renewing a token that is not live gives nothing (and keeps nothing).
    assert!(acc.renew(&h(1), &h(9), NOW + DAY + 2).unwrap().is_none());
    assert!(acc.renew(&h(8), &h(9), NOW + DAY + 2).unwrap().is_none());
    assert!(acc
        .renew(&h(3), &h(9), NOW + DAY + 1 + TTL)
        .unwrap()
        .is_none());
    assert_eq!(acc.token(&h(9), NOW).unwrap(), TokenStatus::Unknown);

    // A signed-out device renews nothing.
    assert_eq!(
        acc.revoke_device(resident(7).user, old.device, NOW + DAY + 3)
            .unwrap(),
        2,
        "the token in its grace and the newest"
    );
    assert!(acc.renew(&h(3), &h(4), NOW + DAY + 4).unwrap().is_none());
    assert_eq!(acc.token(&h(4), NOW).unwrap(), TokenStatus::Unknown);
    assert_eq!(acc.token(&h(3), NOW).unwrap(), TokenStatus::Revoked);
    assert!(acc
        .devices(resident(7).user, NOW + DAY + 4)
        .unwrap()
        .is_empty());
}

#[test]
fn a_user_sees_her_live_devices_and_signs_one_out() {
    let acc = accounts();
    let me = resident(7);
    let (phone, tablet, old) = (Uuid::from_u128(1), Uuid::from_u128(2), Uuid::from_u128(3));
    acc.add_device_token(&h(1), &me, phone, "android", NOW)
        .unwrap();
    acc.add_device_token(&h(2), &me, tablet, "other", NOW + 10)
        .unwrap();
    // A device whose token expired is not listed; nor another user's.
    acc.add_device_token(&h(3), &me, old, "ios", NOW - TTL)
        .unwrap();
    acc.add_device_token(&h(4), &resident(8), Uuid::from_u128(4), "ios", NOW)
        .unwrap();
    let listed: Vec<_> = acc
        .devices(me.user, NOW + 20)
        .unwrap()
        .into_iter()
        .map(|d| (d.device, d.platform))
        .collect();
    assert_eq!(
        listed,
        vec![(phone, "android".to_owned()), (tablet, "other".to_owned())],
        "first signed in first"
    );

    // Not someone else's device.
    assert_eq!(
        acc.revoke_device(resident(8).user, tablet, NOW + 30)
            .unwrap(),
        0
    );
    assert_eq!(acc.revoke_device(me.user, tablet, NOW + 30).unwrap(), 1);
    assert_eq!(acc.token(&h(2), NOW + 31).unwrap(), TokenStatus::Revoked);
    assert_eq!(
        acc.revoke_device(me.user, tablet, NOW + 32).unwrap(),
        0,
        "signed out once"
    );
    let left = acc.devices(me.user, NOW + 40).unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].device, phone);
    valid(&acc, &h(4), NOW + 40);
}

#[test]
fn a_revoked_token_is_remembered_as_revoked_until_forgotten() {
    let acc = accounts();
    acc.add_device_token(&h(1), &resident(7), Uuid::from_u128(1), "cli", NOW)
        .unwrap();
    assert!(acc.revoke_token(&h(1), NOW + 1).unwrap());
    assert!(!acc.revoke_token(&h(1), NOW + 2).unwrap(), "not live twice");
    assert!(!acc.revoke_token(&h(2), NOW + 2).unwrap(), "unknown");
    // Revoked, not expired, even after its end.
    assert_eq!(acc.token(&h(1), NOW + 2).unwrap(), TokenStatus::Revoked);
    assert_eq!(
        acc.token(&h(1), NOW + 2 * TTL).unwrap(),
        TokenStatus::Revoked
    );
    assert!(acc.renew(&h(1), &h(2), NOW + 3).unwrap().is_none());
    assert_eq!(acc.user_standing(resident(7).user, NOW + 3).unwrap(), None);
}

#[test]
fn forget_old_drops_ended_invites_and_tokens_a_token_life_after_their_end() {
    let acc = accounts();
    // Revoked a token life ago (expiring later): forgotten; revoked less
    // long ago: still remembered as revoked.
    acc.add_device_token(&h(1), &resident(1), Uuid::from_u128(1), "cli", NOW)
        .unwrap();
    acc.revoke_token(&h(1), NOW + 10).unwrap();
    acc.add_device_token(&h(2), &resident(2), Uuid::from_u128(2), "cli", NOW)
        .unwrap();
    acc.revoke_token(&h(2), NOW + TTL).unwrap();
    // Expired a token life ago: forgotten; expired less long ago: expired.
    acc.add_device_token(
        &h(3),
        &resident(3),
        Uuid::from_u128(3),
        "cli",
        NOW - TTL + 5,
    )
    .unwrap();
    acc.add_device_token(&h(4), &resident(4), Uuid::from_u128(4), "cli", NOW + 20)
        .unwrap();
    // Live.
    acc.add_device_token(&h(5), &resident(5), Uuid::from_u128(5), "cli", NOW + TTL)
        .unwrap();
    // Invites: one ended more than a day ago, one less, one running.
    acc.create_invite(&h(11), &invite(1, NOW + TTL - DAY - 1, None), NOW)
        .unwrap();
    acc.create_invite(&h(12), &invite(1, NOW + TTL - DAY + 50, None), NOW)
        .unwrap();
    acc.create_invite(&h(13), &invite(1, NOW + TTL + DAY, None), NOW)
        .unwrap();

    let now = NOW + 2 * TTL;
    acc.forget_old(NOW + TTL + 15).unwrap();
    assert_eq!(acc.token(&h(1), now).unwrap(), TokenStatus::Unknown);
    assert_eq!(acc.token(&h(2), now).unwrap(), TokenStatus::Revoked);
    assert_eq!(acc.token(&h(3), now).unwrap(), TokenStatus::Unknown);
    assert_eq!(acc.token(&h(4), now).unwrap(), TokenStatus::Expired);
    valid(&acc, &h(5), NOW + TTL + 15);
    let at = NOW + TTL + 15;
    assert_eq!(
        acc.redeem(&h(11), &h(21), "ios", at).unwrap(),
        Err(InviteRefusal::Unknown)
    );
    assert_eq!(
        acc.redeem(&h(12), &h(22), "ios", at).unwrap(),
        Err(InviteRefusal::Expired)
    );
    assert!(acc.redeem(&h(13), &h(23), "ios", at).unwrap().is_ok());
}

#[test]
fn the_token_life_is_at_least_a_minute_and_applies_to_new_tokens() {
    let mut acc = accounts();
    assert_eq!(acc.ttl_ms(), TTL);
    let before = acc
        .add_device_token(&h(1), &resident(1), Uuid::from_u128(1), "cli", NOW)
        .unwrap();
    acc.set_ttl_ms(5);
    assert_eq!(acc.ttl_ms(), 60_000);
    acc.set_ttl_ms(3 * DAY);
    assert_eq!(acc.ttl_ms(), 3 * DAY);
    let after = acc
        .add_device_token(&h(2), &resident(2), Uuid::from_u128(2), "cli", NOW)
        .unwrap();
    assert_eq!(
        (before.expires_at_ms, after.expires_at_ms),
        (NOW + TTL, NOW + 3 * DAY)
    );
    assert_eq!(
        acc.renew(&h(2), &h(3), NOW + 2 * DAY)
            .unwrap()
            .unwrap()
            .expires_at_ms,
        NOW + 5 * DAY
    );
}

#[test]
fn invites_are_redeemed_within_their_uses_and_time() {
    let acc = accounts();
    let staff = actor(99, Role::GridStaff, "fushi");
    acc.add_device_token(&h(99), &staff, Uuid::from_u128(99), "android", NOW)
        .unwrap();
    let ends = NOW + 3_600_000;
    acc.create_invite(&h(10), &invite(2, ends, None), NOW)
        .unwrap();

    let li = acc
        .redeem(&h(10), &h(1), "android", NOW + 1)
        .unwrap()
        .unwrap();
    assert_eq!(
        (li.actor.role, li.actor.community.as_str()),
        (Role::Resident, "fushi")
    );
    assert_eq!(
        (li.issued_at_ms, li.expires_at_ms, li.last_seen_day_ms),
        (NOW + 1, NOW + 1 + TTL, None)
    );
    assert_eq!(valid(&acc, &h(1), NOW + 2), li);
    let devices = acc.devices(li.actor.user, NOW + 2).unwrap();
    assert_eq!(
        (
            devices.len(),
            devices[0].device,
            devices[0].platform.as_str()
        ),
        (1, li.device, "android")
    );
    assert_eq!(
        acc.user_standing(li.actor.user, NOW + 2).unwrap(),
        Some((Role::Resident, "fushi".to_owned()))
    );

    // A token hash already kept: refused, and the use is not taken.
    assert!(acc.redeem(&h(10), &h(99), "ios", NOW + 3).is_err());
    let wang = acc.redeem(&h(10), &h(2), "ios", NOW + 3).unwrap().unwrap();
    assert_ne!(wang.actor.user, li.actor.user, "a new user");
    assert_ne!(wang.device, li.device, "on a new device");
    assert_eq!(
        acc.redeem(&h(10), &h(3), "ios", NOW + 4).unwrap(),
        Err(InviteRefusal::UsedUp)
    );
    assert_eq!(acc.token(&h(3), NOW + 4).unwrap(), TokenStatus::Unknown);
    assert_eq!(
        acc.redeem(&h(11), &h(3), "ios", NOW + 4).unwrap(),
        Err(InviteRefusal::Unknown)
    );

    // Expired: from its end, even with uses left; expiry is said before
    // used up.
    acc.create_invite(&h(12), &invite(5, ends, None), NOW)
        .unwrap();
    assert_eq!(
        acc.redeem(&h(12), &h(4), "ios", ends).unwrap(),
        Err(InviteRefusal::Expired)
    );
    assert_eq!(
        acc.redeem(&h(10), &h(4), "ios", ends).unwrap(),
        Err(InviteRefusal::Expired)
    );
    assert_eq!(acc.token(&h(4), ends).unwrap(), TokenStatus::Unknown);
    assert!(acc.redeem(&h(12), &h(4), "ios", ends - 1).unwrap().is_ok());

    // One code is kept once.
    assert!(acc
        .create_invite(&h(12), &invite(1, ends, None), NOW)
        .is_err());
}

#[test]
fn a_code_for_another_device_joins_the_same_user_on_a_new_device() {
    let acc = accounts();
    let me = actor(7, Role::GridStaff, "lianhua");
    let phone = acc
        .add_device_token(&h(1), &me, Uuid::from_u128(1), "android", NOW)
        .unwrap();
    acc.create_invite(
        &h(10),
        &NewInvite {
            role: Role::GridStaff,
            community: "lianhua".into(),
            created_by: me.user,
            uses: 1,
            expires_at_ms: NOW + DAY,
            for_user: Some(me.user),
        },
        NOW,
    )
    .unwrap();
    let tablet = acc
        .redeem(&h(10), &h(2), "other", NOW + 5)
        .unwrap()
        .unwrap();
    assert_eq!(tablet.actor, me, "the same account");
    assert_ne!(tablet.device, phone.device, "a device of its own");
    let devices: Vec<_> = acc
        .devices(me.user, NOW + 6)
        .unwrap()
        .into_iter()
        .map(|d| d.device)
        .collect();
    assert_eq!(devices, vec![phone.device, tablet.device]);
}

#[test]
fn platform_identities_are_one_user_each_and_a_staff_sign_out_refuses_older_tokens() {
    let acc = accounts();
    let iss = "https://zhihui-fushi.example.org";
    let key = acc.identity_key(iss, "tel-13800138000");
    assert_eq!(key, acc.identity_key(iss, "tel-13800138000"));
    assert_ne!(key, acc.identity_key(iss, "tel-13900139000"));
    assert_ne!(
        key,
        acc.identity_key("https://other.example.org", "tel-13800138000")
    );
    assert_ne!(
        acc.identity_key("a", "bc"),
        acc.identity_key("ab", "c"),
        "issuer and subject are kept apart"
    );
    assert_eq!(acc.identity(&key).unwrap(), None, "not seen yet");

    let user = acc
        .external_user(&key, Role::Resident, "fushi", NOW, NOW)
        .unwrap()
        .unwrap();
    // The same user for every token; the latest token's role and community.
    assert_eq!(
        acc.external_user(&key, Role::GridStaff, "lianhua", NOW + 1, NOW + 1)
            .unwrap(),
        Some(user)
    );
    assert_eq!(
        acc.identity(&key).unwrap(),
        Some(actor(user.as_u128(), Role::GridStaff, "lianhua"))
    );
    assert_eq!(
        acc.user_standing(user, NOW + 2).unwrap(),
        Some((Role::GridStaff, "lianhua".to_owned()))
    );
    let other = acc
        .external_user(
            &acc.identity_key(iss, "tel-13900139000"),
            Role::Resident,
            "fushi",
            NOW,
            NOW,
        )
        .unwrap()
        .unwrap();
    assert_ne!(other, user);

    // Staff sign the user out: its devices (here: one, of two tokens) and
    // its identity.
    acc.add_device_token(
        &h(1),
        &actor(user.as_u128(), Role::GridStaff, "lianhua"),
        Uuid::from_u128(1),
        "android",
        NOW,
    )
    .unwrap();
    acc.renew(&h(1), &h(2), NOW + 5).unwrap().unwrap();
    let signed_out = NOW + 10;
    assert_eq!(
        acc.revoke_user(user, signed_out).unwrap(),
        2,
        "a device and an identity"
    );
    assert_eq!(acc.token(&h(1), NOW + 11).unwrap(), TokenStatus::Revoked);
    assert_eq!(acc.token(&h(2), NOW + 11).unwrap(), TokenStatus::Revoked);
    assert_eq!(acc.identity(&key).unwrap(), None);
    assert_eq!(acc.user_standing(user, NOW + 11).unwrap(), None);
    assert!(acc.devices(user, NOW + 11).unwrap().is_empty());
    // The platform's tokens issued before (or at) the sign-out: refused,
    // whenever they are shown.
    for issued in [NOW, signed_out] {
        assert_eq!(
            acc.external_user(&key, Role::Resident, "fushi", issued, NOW + 20)
                .unwrap(),
            None
        );
    }
    assert_eq!(acc.identity(&key).unwrap(), None, "still signed out");
    // One issued after (she signed in again): the same user, back.
    assert_eq!(
        acc.external_user(&key, Role::Resident, "fushi", signed_out + 1, NOW + 21)
            .unwrap(),
        Some(user)
    );
    assert_eq!(
        acc.identity(&key).unwrap(),
        Some(actor(user.as_u128(), Role::Resident, "fushi"))
    );
    // The other platform user was not touched.
    assert!(acc
        .identity(&acc.identity_key(iss, "tel-13900139000"))
        .unwrap()
        .is_some());
    // A user the server does not know: nothing signed out.
    assert_eq!(acc.revoke_user(Uuid::from_u128(12345), NOW).unwrap(), 0);
}

#[test]
fn the_platforms_subject_is_stored_nowhere_in_the_database() {
    let (url, pg) = database();
    let acc = PgAccounts::new(pg, TTL).unwrap();
    let subject = "tel-13800138000";
    let key = acc.identity_key("https://zhihui-fushi.example.org", subject);
    acc.external_user(&key, Role::Resident, "fushi-subject-test", NOW, NOW)
        .unwrap()
        .unwrap();
    let out = std::process::Command::new("pg_dump")
        .args(["--data-only", "-d", &url])
        .output()
        .expect("pg_dump runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dump = String::from_utf8_lossy(&out.stdout);
    assert!(
        dump.contains("fushi-subject-test"),
        "the identity's row is in the dump"
    );
    assert!(!dump.contains(subject), "the subject is not");
    assert!(!dump.contains("13800138000"));
}

#[test]
fn two_processes_on_one_database_compute_the_same_identity_keys() {
    let (url, pg) = database();
    // Four processes starting at once draw the secret together.
    let barrier = Arc::new(Barrier::new(4));
    let started: Vec<PgAccounts> = (0..4)
        .map(|_| {
            let (url, barrier) = (url.clone(), barrier.clone());
            std::thread::spawn(move || {
                let pg = Arc::new(Pg::connect(&url).unwrap());
                barrier.wait();
                PgAccounts::new(pg, TTL).unwrap()
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|t| t.join().unwrap())
        .collect();
    let later = PgAccounts::new(pg, TTL).unwrap();
    let key = later.identity_key("iss", "sub");
    for acc in &started {
        assert_eq!(acc.identity_key("iss", "sub"), key);
    }
    // A platform user first seen by one process is the same user in the
    // other.
    let user = started[0]
        .external_user(&key, Role::Resident, "fushi", NOW, NOW)
        .unwrap()
        .unwrap();
    let again = process(&url);
    assert_eq!(
        again
            .external_user(
                &again.identity_key("iss", "sub"),
                Role::Resident,
                "fushi",
                NOW,
                NOW
            )
            .unwrap(),
        Some(user)
    );
    // Another database has a secret of its own.
    assert_ne!(accounts().identity_key("iss", "sub"), key);
}

#[test]
fn a_platform_user_first_seen_by_two_processes_at_once_is_one_user() {
    let (url, pg) = database();
    let processes = [
        Arc::new(PgAccounts::new(pg, TTL).unwrap()),
        Arc::new(process(&url)),
    ];
    for round in 0..5u8 {
        let subject = format!("sub-{round}");
        let barrier = Arc::new(Barrier::new(8));
        let users: Vec<Uuid> = (0..8)
            .map(|i| {
                let acc = processes[i % 2].clone();
                let (barrier, subject) = (barrier.clone(), subject.clone());
                std::thread::spawn(move || {
                    let key = acc.identity_key("iss", &subject);
                    barrier.wait();
                    acc.external_user(&key, Role::Resident, "fushi", NOW, NOW)
                        .unwrap()
                        .unwrap()
                })
            })
            .collect::<Vec<_>>()
            .into_iter()
            .map(|t| t.join().unwrap())
            .collect();
        assert!(
            users.iter().all(|u| *u == users[0]),
            "round {round}: {users:?}"
        );
    }
}

#[test]
fn an_invite_of_one_use_redeemed_from_eight_threads_of_two_processes_admits_one() {
    let (url, pg) = database();
    let processes = [
        Arc::new(PgAccounts::new(pg, TTL).unwrap()),
        Arc::new(process(&url)),
    ];
    for (round, uses) in [(0u8, 1u32), (1, 1), (2, 1), (3, 3), (4, 1)] {
        let code = h(100 + round);
        processes[0]
            .create_invite(&code, &invite(uses, NOW + DAY, None), NOW)
            .unwrap();
        let barrier = Arc::new(Barrier::new(8));
        let results: Vec<_> = (0..8u8)
            .map(|i| {
                let acc = processes[usize::from(i % 2)].clone();
                let barrier = barrier.clone();
                std::thread::spawn(move || {
                    let mut token = [round; 32];
                    token[0] = 200 + i;
                    barrier.wait();
                    (
                        token,
                        acc.redeem(&code, &token, "android", NOW + 1).unwrap(),
                    )
                })
            })
            .collect::<Vec<_>>()
            .into_iter()
            .map(|t| t.join().unwrap())
            .collect();
        let outcomes: Vec<_> = results.iter().map(|(_, r)| r.as_ref().err()).collect();
        let admitted = outcomes.iter().filter(|o| o.is_none()).count();
        assert_eq!(admitted, uses as usize, "round {round}: {outcomes:?}");
        assert!(results
            .iter()
            .all(|(_, r)| matches!(r, Ok(_) | Err(InviteRefusal::UsedUp))));
        // Exactly the admitted devices hold a live token.
        for (token, r) in &results {
            let live = matches!(
                processes[1].token(token, NOW + 2).unwrap(),
                TokenStatus::Valid(_)
            );
            assert_eq!(live, r.is_ok(), "round {round}");
        }
        assert_eq!(
            processes[1].redeem(&code, &h(250), "ios", NOW + 3).unwrap(),
            Err(InviteRefusal::UsedUp)
        );
    }
}

#[test]
fn a_sign_out_racing_a_renewal_in_another_process_leaves_no_live_token() {
    let (url, pg) = database();
    let renewer = Arc::new(PgAccounts::new(pg, TTL).unwrap());
    let staff = Arc::new(process(&url));
    for round in 0..30u8 {
        let user = resident(1000 + u128::from(round));
        let device = Uuid::from_u128(5000 + u128::from(round));
        let (old, new) = ([round; 32], {
            let mut t = [round; 32];
            t[0] = 255;
            t
        });
        renewer
            .add_device_token(&old, &user, device, "android", NOW)
            .unwrap();
        let barrier = Arc::new(Barrier::new(2));
        let renewal = {
            let (acc, barrier) = (renewer.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                acc.renew(&old, &new, NOW + 1).unwrap()
            })
        };
        let sign_out = {
            let (acc, barrier) = (staff.clone(), barrier.clone());
            let by_device = round % 2 == 0;
            std::thread::spawn(move || {
                barrier.wait();
                if by_device {
                    acc.revoke_device(user.user, device, NOW + 1).unwrap()
                } else {
                    acc.revoke_user(user.user, NOW + 1).unwrap()
                }
            })
        };
        let renewed = renewal.join().unwrap();
        let revoked = sign_out.join().unwrap();
        assert!(revoked >= 1, "round {round}");
        assert!(
            renewer.devices(user.user, NOW + 2).unwrap().is_empty(),
            "round {round}: renewed {renewed:?}"
        );
        for t in [&old, &new] {
            assert!(
                !matches!(renewer.token(t, NOW + 2).unwrap(), TokenStatus::Valid(_)),
                "round {round}"
            );
        }
        assert_eq!(renewer.user_standing(user.user, NOW + 2).unwrap(), None);
    }
}

#[test]
fn photos_round_trip_through_postgres() {
    let (url, pg) = database();
    let photos = PgPhotos::new(pg);
    let full = b"\xff\xd8\xff\xe0 a photo".to_vec();
    let thumb = b"\xff\xd8\xff\xe0 its thumbnail".to_vec();
    let r = PhotoRef::of(&full);
    let other = PhotoRef::of(b"another photo");
    assert!(!photos.has(&r).unwrap());
    assert_eq!(photos.get(&r, PhotoSize::Full).unwrap(), None);
    assert!(photos.list().unwrap().is_empty());

    let ms = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64
    };
    let before = ms();
    photos.put(&r, &full, &thumb).unwrap();
    let after = ms();
    photos.put(&other, b"another photo", b"thumb").unwrap();
    assert!(photos.has(&r).unwrap());
    assert_eq!(photos.get(&r, PhotoSize::Full).unwrap(), Some(full.clone()));
    assert_eq!(
        photos.get(&r, PhotoSize::Thumb).unwrap(),
        Some(thumb.clone())
    );
    // A second put of the same reference changes nothing.
    photos.put(&r, &full, b"another thumbnail").unwrap();
    assert_eq!(
        photos.get(&r, PhotoSize::Thumb).unwrap(),
        Some(thumb.clone())
    );
    let listed = photos.list().unwrap();
    assert_eq!(listed.len(), 2);
    let (_, at) = listed.iter().find(|(p, _)| *p == r).unwrap();
    assert!((before..=after).contains(at), "{before} <= {at} <= {after}");
    assert!(listed.iter().any(|(p, _)| *p == other));

    // Another process sees the same photos.
    let elsewhere = PgPhotos::new(Arc::new(Pg::connect(&url).unwrap()));
    assert_eq!(
        elsewhere.get(&r, PhotoSize::Full).unwrap(),
        Some(full.clone())
    );

    // Erased: both pictures; erasing again is no error.
    photos.delete(&r).unwrap();
    assert!(!photos.has(&r).unwrap());
    assert_eq!(photos.get(&r, PhotoSize::Full).unwrap(), None);
    assert_eq!(photos.get(&r, PhotoSize::Thumb).unwrap(), None);
    photos.delete(&r).unwrap();
    assert!(!elsewhere.has(&r).unwrap());
    let listed = photos.list().unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].0, other);

    // A photo of a few MB, byte for byte.
    let big: Vec<u8> = (0..3_000_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let big_ref = PhotoRef::of(&big);
    photos.put(&big_ref, &big, &thumb).unwrap();
    assert_eq!(photos.get(&big_ref, PhotoSize::Full).unwrap(), Some(big));
}
