//! Joining from a phone, through the real server over HTTP: grid staff
//! invite, residents redeem and sync, every device has its own token that a
//! sync renews before it expires, users and staff sign devices out, and
//! every refusal the abuse list names.

use fushi_core::crdt::ManualTime;
use fushi_core::policy::{Actor, Role};
use fushi_core::sync::account::STATE_AUTH_TOKEN;
use fushi_core::sync::wire::{InviteRequest, SignedIn};
use fushi_core::Error;
use fushi_tests::{http, install, item, send_raw, Install, Phone, Server};

fn new_phone(server: &Server) -> Install {
    install(server, "")
}

trait Join {
    async fn join(&self, code: &str) -> fushi_core::Result<SignedIn>;
}

impl Join for Install {
    async fn join(&self, code: &str) -> fushi_core::Result<SignedIn> {
        let signed = self.client.redeem_invite(code, "android").await?;
        self.store.set_actor(Some(Actor {
            user: signed.user,
            role: Role::parse(&signed.role).unwrap(),
            community: signed.community.clone(),
        }));
        Ok(signed)
    }
}

fn code_of(e: &Error) -> &str {
    match e {
        Error::Server { code, .. } | Error::SignedOut { code, .. } => code,
        other => panic!("not a refusal: {other:?}"),
    }
}

fn resident_invite(uses: u32) -> InviteRequest {
    InviteRequest {
        uses: Some(uses),
        ..InviteRequest::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resident_joins_from_her_phone_with_a_code_from_grid_staff() {
    let server = Server::start().await;
    let staff = server.phone(Role::GridStaff, "fushi");
    let invite = staff
        .client
        .create_invite(&resident_invite(2))
        .await
        .unwrap();
    assert_eq!(invite.role, "resident");
    assert_eq!(invite.community, "fushi");
    assert_eq!(invite.code.len(), 14, "XXXX-XXXX-XXXX");

    // Typed sloppily: lower case, spaces for hyphens, an O for a zero.
    let li = new_phone(&server);
    let typed = invite
        .code
        .to_lowercase()
        .replace('-', " ")
        .replace('0', "o");
    let signed = li.join(&typed).await.unwrap();
    assert_eq!(signed.role, "resident");
    assert_eq!(signed.community, "fushi");
    assert!(li.store.state_get(STATE_AUTH_TOKEN).unwrap().is_some());
    let bike = li.store.post_item(item("儿童自行车")).unwrap();
    li.client.sync().await.unwrap();
    staff.client.sync().await.unwrap();
    assert_eq!(staff.store.item(bike).unwrap().owner, signed.user);

    // A second person with the same code; then it is used up.
    let wang = new_phone(&server);
    let second = wang.join(&invite.code).await.unwrap();
    assert_ne!(second.user, signed.user);
    let late = new_phone(&server);
    let e = late.join(&invite.code).await.unwrap_err();
    assert_eq!(code_of(&e), "invite_used");
    assert!(matches!(
        late.client.sync().await,
        Err(Error::SignedOut { .. })
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_lists_her_devices_and_signs_a_lost_one_out() {
    let server = Server::start().await;
    let staff = server.phone(Role::GridStaff, "fushi");
    let code = staff
        .client
        .create_invite(&resident_invite(1))
        .await
        .unwrap()
        .code;
    let phone = new_phone(&server);
    let me = phone.join(&code).await.unwrap();
    // Her tablet joins her own account with a code from her phone.
    let link = phone
        .client
        .create_invite(&InviteRequest {
            own_device: true,
            ..InviteRequest::default()
        })
        .await
        .unwrap();
    let tablet = new_phone(&server);
    let on_tablet = tablet.join(&link.code).await.unwrap();
    assert_eq!(on_tablet.user, me.user, "the same account");
    assert_ne!(on_tablet.device, me.device, "a device of its own");

    let devices = phone.client.devices(None).await.unwrap();
    assert_eq!(devices.len(), 2);
    assert_eq!(devices.iter().filter(|d| d.current).count(), 1);
    assert!(devices.iter().any(|d| d.current && d.device == me.device));
    assert!(devices.iter().all(|d| d.platform == "android"));

    // The tablet is lost: her phone signs it out.
    assert_eq!(
        phone
            .client
            .revoke(Some(on_tablet.device), None)
            .await
            .unwrap(),
        1
    );
    let e = tablet.client.sync().await.unwrap_err();
    assert!(
        matches!(&e, Error::SignedOut { code, .. } if code == "revoked_token"),
        "{e:?}"
    );
    phone.client.sync().await.unwrap();
    assert_eq!(phone.client.devices(None).await.unwrap().len(), 1);
    // Not someone else's device.
    let e = phone
        .client
        .revoke(Some(staff_device(&staff).await), None)
        .await
        .unwrap_err();
    assert_eq!(code_of(&e), "unknown_device");
}

async fn staff_device(staff: &Phone) -> uuid::Uuid {
    staff.client.devices(None).await.unwrap()[0].device
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_sign_out_residents_of_their_community_and_no_one_else() {
    let server = Server::start().await;
    let staff = server.phone(Role::GridStaff, "fushi");
    let other_staff = server.phone(Role::GridStaff, "fushi");
    let resident = server.phone(Role::Resident, "fushi");
    let neighbour = server.phone(Role::Resident, "fushi");
    let elsewhere = server.phone(Role::Resident, "lianhua");
    let admin = server.phone(Role::Admin, "fushi");

    // A resident manages no one else's devices, and invites no one.
    for e in [
        resident
            .client
            .devices(Some(neighbour.actor.user))
            .await
            .unwrap_err(),
        resident
            .client
            .revoke(None, Some(neighbour.actor.user))
            .await
            .unwrap_err(),
        resident
            .client
            .create_invite(&resident_invite(1))
            .await
            .unwrap_err(),
    ] {
        assert_eq!(code_of(&e), "staff_only");
    }
    // Staff: not another community's residents, not other staff, and no
    // invites for grid staff or into another community.
    let e = staff
        .client
        .revoke(None, Some(elsewhere.actor.user))
        .await
        .unwrap_err();
    assert_eq!(code_of(&e), "other_community");
    let e = staff
        .client
        .revoke(None, Some(other_staff.actor.user))
        .await
        .unwrap_err();
    assert_eq!(code_of(&e), "admin_only");
    let e = staff
        .client
        .create_invite(&InviteRequest {
            role: Some("grid_staff".into()),
            ..InviteRequest::default()
        })
        .await
        .unwrap_err();
    assert_eq!(code_of(&e), "admin_only");
    let e = staff
        .client
        .create_invite(&InviteRequest {
            community: Some("lianhua".into()),
            ..InviteRequest::default()
        })
        .await
        .unwrap_err();
    assert_eq!(code_of(&e), "other_community");
    for bad in [
        InviteRequest {
            uses: Some(0),
            ..InviteRequest::default()
        },
        InviteRequest {
            uses: Some(51),
            ..InviteRequest::default()
        },
        InviteRequest {
            valid_hours: Some(721),
            ..InviteRequest::default()
        },
        InviteRequest {
            role: Some("admin".into()),
            ..InviteRequest::default()
        },
    ] {
        let e = admin.client.create_invite(&bad).await.unwrap_err();
        assert!(code_of(&e).starts_with("invalid_"), "{e:?}");
    }

    // What staff may do: see and sign out a resident of their community.
    let devices = staff
        .client
        .devices(Some(resident.actor.user))
        .await
        .unwrap();
    assert_eq!(devices.len(), 1);
    assert!(!devices[0].current);
    assert_eq!(
        staff
            .client
            .revoke(None, Some(resident.actor.user))
            .await
            .unwrap(),
        1
    );
    let e = resident.client.sync().await.unwrap_err();
    assert_eq!(code_of(&e), "revoked_token");
    neighbour.client.sync().await.unwrap();

    // An admin: anyone, and invites grid staff into any community.
    assert_eq!(
        admin
            .client
            .revoke(None, Some(other_staff.actor.user))
            .await
            .unwrap(),
        1
    );
    let invite = admin
        .client
        .create_invite(&InviteRequest {
            role: Some("grid_staff".into()),
            community: Some("lianhua".into()),
            ..InviteRequest::default()
        })
        .await
        .unwrap();
    let joined = new_phone(&server).join(&invite.code).await.unwrap();
    assert_eq!(
        (joined.role.as_str(), joined.community.as_str()),
        ("grid_staff", "lianhua")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_syncing_phone_renews_its_token_unnoticed_and_an_idle_one_expires() {
    const DAY: i64 = 86_400_000;
    let time = ManualTime::new(1_800_000_000_000);
    let server = Server::start_token_ttl(time.clone(), 3 * DAY).await;
    let li = server.phone(Role::Resident, "fushi");
    let idle = server.phone(Role::Resident, "fushi");
    li.client.sync().await.unwrap();
    idle.client.sync().await.unwrap();
    assert!(li.store.state_get(STATE_AUTH_TOKEN).unwrap().is_none());

    // Two thirds into the token's life: the sync renews it.
    time.advance(2 * DAY + DAY / 10);
    li.client.sync().await.unwrap();
    let renewed = li.store.state_get(STATE_AUTH_TOKEN).unwrap();
    assert!(renewed.is_some(), "renewed and kept");
    // Another sign-in configured on the same phone (another token) takes
    // over from the kept one; the old configuration gets the kept one back.
    let (other, other_token) = server.user(Role::Resident, "fushi");
    let switched = li.client_with(|c| fushi_core::sync::SyncConfig {
        server_url: server.url.clone(),
        token: other_token,
        ..c
    });
    assert_eq!(switched.who_am_i().await.unwrap().user, other.user);
    assert_eq!(li.client.who_am_i().await.unwrap().user, li.actor.user);
    // The app still configures the old token: the renewed one is used, and
    // lives on past the old one's end (and its day of grace).
    time.advance(2 * DAY);
    li.store.post_item(item("电饭煲")).unwrap();
    let report = li.client.sync().await.unwrap();
    assert_eq!(report.pushed, 1);
    // The old token is over.
    let (status, body) = send_raw(fushi_tests::raw(
        &http(),
        reqwest::Method::GET,
        &format!("{}/v1/pull", server.url),
        &li.token,
    ))
    .await;
    assert_eq!(status, 401);
    assert_eq!(body["code"], "expired_token");
    // A phone that did not sync for a whole token life must sign in again.
    let e = idle.client.sync().await.unwrap_err();
    assert!(
        matches!(&e, Error::SignedOut { code, .. } if code == "expired_token"),
        "{e:?}"
    );
    // Renewed again and again while it keeps syncing.
    for _ in 0..4 {
        time.advance(2 * DAY + DAY / 10);
        li.client.sync().await.unwrap();
    }
    let devices = li.client.devices(None).await.unwrap();
    assert_eq!(devices.len(), 1, "one device");
    // Last seen today (kept to the day), though it synced on many days.
    use fushi_core::crdt::TimeSource;
    assert_eq!(
        devices[0].last_seen_day_ms,
        Some(fushi_server::accounts::day_of(time.now_ms()))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invite_codes_cannot_be_guessed_reused_or_stretched() {
    let time = ManualTime::new(1_800_000_000_000);
    let server = Server::start_with(time.clone()).await;
    let staff = server.phone(Role::GridStaff, "fushi");
    let redeem = |code: String| {
        let url = server.url.clone();
        async move {
            send_raw(
                http()
                    .post(format!("{url}/v1/invites/redeem"))
                    .header("Fushi-Protocol", "1")
                    .header(
                        "Fushi-Schema",
                        fushi_core::store::SCHEMA_VERSION.to_string(),
                    )
                    .json(&serde_json::json!({ "code": code, "platform": "ios" })),
            )
            .await
        }
    };
    // Not a code at all.
    let (status, body) = redeem("12345".into()).await;
    assert_eq!(
        (status.as_u16(), body["code"].as_str()),
        (400, Some("invalid_code"))
    );
    // Expired: an invite of one hour, two hours later.
    let invite = staff
        .client
        .create_invite(&InviteRequest {
            valid_hours: Some(1),
            ..InviteRequest::default()
        })
        .await
        .unwrap();
    time.advance(2 * 3_600_000);
    let (status, body) = redeem(invite.code.clone()).await;
    assert_eq!(
        (status.as_u16(), body["code"].as_str()),
        (403, Some("invite_expired")),
        "{body}"
    );
    // Guesses: unknown, then the address is slowed down.
    let mut limited = false;
    for i in 0..12 {
        let (status, body) = redeem(format!("ABCD-EFGH-{:04}", 1000 + i)).await;
        match status.as_u16() {
            404 => assert_eq!(body["code"], "invite_unknown"),
            429 => {
                assert_eq!(body["code"], "rate_limited");
                limited = true;
                break;
            }
            other => panic!("{other}: {body}"),
        }
    }
    assert!(limited, "ten guesses a minute per address at most");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_code_is_tried_at_most_five_times_a_minute() {
    let server = Server::start().await;
    let mut statuses = Vec::new();
    for _ in 0..6 {
        let (status, body) = send_raw(
            http()
                .post(format!("{}/v1/invites/redeem", server.url))
                .header("Fushi-Protocol", "1")
                .header(
                    "Fushi-Schema",
                    fushi_core::store::SCHEMA_VERSION.to_string(),
                )
                .json(&serde_json::json!({ "code": "ZZZZ-ZZZZ-ZZZZ" })),
        )
        .await;
        statuses.push((status.as_u16(), body["code"].as_str().map(str::to_owned)));
    }
    assert!(statuses[..5]
        .iter()
        .all(|s| *s == (404, Some("invite_unknown".into()))));
    assert_eq!(statuses[5], (429, Some("rate_limited".into())));
}
