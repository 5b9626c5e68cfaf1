//! Who may write what, enforced by the server with the phone's own policy
//! code: hand-made requests from a modified app, and phones that believe
//! they have rights their token does not give. Each refusal names its
//! reason, carries the winning value, and the phone rolls its copy back.

use fushi_core::model::StationEdit;
use fushi_core::policy::{Actor, Role};
use fushi_core::{Error, Table};
use fushi_tests::*;
use reqwest::StatusCode;

fn code(body: &serde_json::Value, i: usize) -> &str {
    body["rejections"][i]["code"].as_str().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hand_made_changes_are_refused_with_the_reason_and_the_winning_value() {
    let server = Server::start().await;
    let (li, _staff, bike, st) = fushi_tests::bike_and_station(&server).await;
    let (mallory, token) = server.user(Role::Resident, "fushi");
    let (_cuiwei_staff, cuiwei_token) = server.user(Role::GridStaff, "cuiwei");
    let before = server.held().snapshot().unwrap();

    // A resident changes someone else's item.
    let (status, body) = push_raw(
        &server.url,
        &token,
        &[cell_change("item", bike, "title", "已被别人领走".into())],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["accepted"], 0);
    assert_eq!(code(&body, 0), "not_owner");
    let resp: fushi_core::sync::wire::PushResponse = serde_json::from_value(body).unwrap();
    let winning = resp.decode_rejections().unwrap()[0]
        .winning
        .clone()
        .unwrap();
    let title = winning.cells.iter().find(|c| c.column == "title").unwrap();
    assert_eq!(
        title.op,
        fushi_core::crdt::CellOp::Set("九成新儿童自行车".into())
    );

    // A forged owner field: an item "posted by" Li, pushed by Mallory.
    let forged_item = forged(
        Actor {
            user: li.actor.user,
            ..mallory.clone()
        },
        |s| {
            s.post_item(item("假冒的物品")).unwrap();
        },
    );
    let (_, body) = push_raw(&server.url, &token, &forged_item).await;
    assert_eq!(code(&body, 0), "forged_owner");
    assert!(body["rejections"][0]["winning"].is_null());

    // A station edit by a resident.
    let (_, body) = push_raw(
        &server.url,
        &token,
        &[cell_change(
            "station",
            st,
            "opening_hours",
            "Mo-Su 00:00-01:00".into(),
        )],
    )
    .await;
    assert_eq!(code(&body, 0), "staff_only");
    assert!(
        body["rejections"][0]["winning"]["cells"].is_null(),
        "compact wire form"
    );
    assert!(body["rejections"][0]["winning"].is_array());

    // A write into another community: a new item there, and another
    // community's staff editing our station.
    let elsewhere = forged(
        Actor {
            community: "cuiwei".into(),
            ..mallory.clone()
        },
        |s| {
            s.post_item(item("别的社区的物品")).unwrap();
        },
    );
    let (_, body) = push_raw(&server.url, &token, &elsewhere).await;
    assert_eq!(code(&body, 0), "other_community");
    let (_, body) = push_raw(
        &server.url,
        &cuiwei_token,
        &[cell_change("station", st, "note", "翠微接管".into())],
    )
    .await;
    assert_eq!(code(&body, 0), "other_community");

    // Nothing of it reached the server.
    assert_eq!(server.held().snapshot().unwrap(), before);

    // In a mixed batch the allowed change goes through and only the other is refused.
    let own = forged(mallory.clone(), |s| {
        s.post_item(item("自己的旧台灯")).unwrap();
    });
    let mut batch = own.clone();
    batch.push(cell_change("item", bike, "status", "given".into()));
    let (_, body) = push_raw(&server.url, &token, &batch).await;
    assert_eq!(body["accepted"], 1);
    assert_eq!(body["rejections"][0]["index"], 1);
    assert_eq!(code(&body, 0), "not_owner");
    assert!(server.held().item(own[0].id).is_ok());
    assert_eq!(server.held().item(bike).unwrap().status, "available");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phone_claiming_more_rights_than_its_token_is_rolled_back_and_told_why() {
    let server = Server::start().await;
    let staff = server.phone(Role::GridStaff, "fushi");
    let st = staff
        .store
        .post_station(station("福石清凉驿站（示例）"))
        .unwrap();
    staff.client.sync().await.unwrap();

    // Li's token says resident of fushi; her (modified) app thinks otherwise.
    let li = server.phone(Role::Resident, "fushi");
    li.client.sync().await.unwrap();
    li.store.set_actor(Some(Actor {
        role: Role::GridStaff,
        ..li.actor.clone()
    }));
    li.store
        .edit_station(
            st,
            StationEdit {
                opening_hours: Some("Mo-Su 00:00-01:00".into()),
                add_amenities: vec!["wifi".into()],
                ..Default::default()
            },
        )
        .unwrap();
    li.store.set_actor(Some(Actor {
        community: "cuiwei".into(),
        ..li.actor.clone()
    }));
    let elsewhere = li.store.post_item(item("别的社区的物品")).unwrap();
    li.store.set_actor(Some(li.actor.clone()));

    let r = li.client.sync().await.unwrap();
    assert_eq!((r.pushed, r.rejected), (2, 2));
    // Rolled back to the server's word; the row the server never held is gone.
    let s = li.store.station(st).unwrap();
    assert_eq!(s.opening_hours.as_deref(), Some("Mo-Su 08:00-20:00"));
    assert_eq!(s.amenities, vec!["drinking_water", "seating"]);
    assert!(li
        .store
        .fetch_row(Table::Item, elsewhere)
        .unwrap()
        .is_none());
    assert!(matches!(li.store.item(elsewhere), Err(Error::NotFound(_))));
    // The app can show why.
    let mut codes: Vec<String> = li
        .client
        .rejections()
        .unwrap()
        .into_iter()
        .map(|r| r.code)
        .collect();
    codes.sort();
    assert_eq!(codes, vec!["other_community", "staff_only"]);
    // Nothing waits, and nothing is pushed again.
    assert_eq!(li.client.pending_changes().unwrap(), 0);
    let again = li.client.sync().await.unwrap();
    assert_eq!(again.pushed, 0);
    assert_eq!(li.snapshot(), server.snapshot_for("fushi"));
    assert_eq!(staff.snapshot(), li.snapshot());
    li.store.clear_sync_rejections().unwrap();
    assert!(li.client.rejections().unwrap().is_empty());
    server.stop().await;
}
