//! What travels between a phone and the sync server: JSON shapes of the
//! protocol (`docs/PROTOCOL.md`), and the compact form of row changes.
//!
//! A row change on the wire is `[table, id, cells]` and a cell is
//! `[column, op, value, clock, site]`: `op` is 0 (set), 1 (add to a set) or
//! 2 (remove from a set), `clock` the hybrid logical clock as a number, and
//! `site` an index into the batch's `sites` table, so a 36-character site
//! UUID is sent once per batch rather than once per cell.

use crate::crdt::{Cell, CellOp, Hlc, RowChange, SiteId, Stamp, Value};
use crate::store::Rejection;
use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use uuid::Uuid;

/// The protocol version this build speaks (header `Fushi-Protocol`).
pub const PROTOCOL_VERSION: u32 = 1;
/// Header carrying the protocol version.
pub const HEADER_PROTOCOL: &str = "fushi-protocol";
/// Header carrying the schema version of the sender's database.
pub const HEADER_SCHEMA: &str = "fushi-schema";
/// Response header carrying the server's time in Unix milliseconds.
pub const HEADER_SERVER_TIME: &str = "fushi-server-time";
/// Most row changes one push may carry.
pub const MAX_PUSH_ROWS: usize = 500;
/// Largest request body the server reads, after decompression (4 MiB).
pub const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;
/// Most row changes one pull page may carry.
pub const MAX_PULL_LIMIT: usize = 1000;
/// Most bytes (uncompressed JSON, estimated) of row changes in one pull page;
/// a page always carries at least one row.
pub const MAX_PULL_PAGE_BYTES: usize = 2 * 1024 * 1024;
/// Most bytes (estimated, before compression) of row changes a phone puts in
/// one push, well inside [`MAX_BODY_BYTES`].
pub const MAX_PUSH_BATCH_BYTES: usize = 1024 * 1024;

/// Cell operation codes.
const OP_SET: u8 = 0;
const OP_ADD: u8 = 1;
const OP_REMOVE: u8 = 2;

/// One cell on the wire: `[column, op, value, clock, site index]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WireCell(pub String, pub u8, pub Value, pub u64, pub u32);

/// One row change on the wire: `[table, id, cells]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WireRow(pub String, pub Uuid, pub Vec<WireCell>);

/// Builds the site table of one batch while row changes are encoded.
#[derive(Debug, Default)]
pub struct SiteTable {
    sites: Vec<Uuid>,
    index: HashMap<Uuid, u32>,
}

impl SiteTable {
    /// The index of `site`, adding it if new.
    pub fn index(&mut self, site: SiteId) -> u32 {
        if let Some(i) = self.index.get(&site.0) {
            return *i;
        }
        let i = self.sites.len() as u32;
        self.sites.push(site.0);
        self.index.insert(site.0, i);
        i
    }

    /// Encode one row change.
    pub fn encode(&mut self, change: &RowChange) -> WireRow {
        let cells = change
            .cells
            .iter()
            .map(|c| {
                let (op, value) = match &c.op {
                    CellOp::Set(v) => (OP_SET, v.clone()),
                    CellOp::Add(e) => (OP_ADD, Value::Text(e.clone())),
                    CellOp::Remove(e) => (OP_REMOVE, Value::Text(e.clone())),
                };
                WireCell(
                    c.column.clone(),
                    op,
                    value,
                    c.stamp.clock.0,
                    self.index(c.stamp.site),
                )
            })
            .collect();
        WireRow(change.table.clone(), change.id, cells)
    }

    /// The finished table.
    pub fn into_sites(self) -> Vec<Uuid> {
        self.sites
    }
}

/// Decode row changes against their batch's site table. Fails with
/// [`Error::Invalid`] naming what is wrong; nothing is partly decoded.
pub fn decode_rows(sites: &[Uuid], rows: &[WireRow]) -> Result<Vec<RowChange>> {
    rows.iter().map(|r| decode_row(sites, r)).collect()
}

/// Decode one row change.
pub fn decode_row(sites: &[Uuid], row: &WireRow) -> Result<RowChange> {
    let WireRow(table, id, cells) = row;
    let cells = cells
        .iter()
        .map(|WireCell(column, op, value, clock, site)| {
            let site = sites
                .get(*site as usize)
                .copied()
                .ok_or_else(|| Error::invalid("sites", "unknown site index"))?;
            let elem = |v: &Value| -> Result<String> {
                v.as_str().map(str::to_owned).ok_or_else(|| {
                    Error::invalid(format!("{table}.{column}"), "set element must be text")
                })
            };
            let op = match *op {
                OP_SET => CellOp::Set(value.clone()),
                OP_ADD => CellOp::Add(elem(value)?),
                OP_REMOVE => CellOp::Remove(elem(value)?),
                _ => return Err(Error::invalid("op", "unknown cell operation")),
            };
            Ok(Cell {
                column: column.clone(),
                op,
                stamp: Stamp {
                    clock: Hlc(*clock),
                    site: SiteId(site),
                },
            })
        })
        .collect::<Result<Vec<Cell>>>()?;
    Ok(RowChange {
        table: table.clone(),
        id: *id,
        cells,
    })
}

/// Encode row changes with a fresh site table.
pub fn encode_rows(changes: &[RowChange]) -> (Vec<Uuid>, Vec<WireRow>) {
    let mut sites = SiteTable::default();
    let rows = changes.iter().map(|c| sites.encode(c)).collect();
    (sites.into_sites(), rows)
}

/// `POST /v1/push` body: the phone's outbox, one batch.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PushRequest {
    /// Site UUIDs the cells refer to by index.
    pub sites: Vec<Uuid>,
    /// Row changes, at most [`MAX_PUSH_ROWS`].
    pub rows: Vec<WireRow>,
}

/// A refused change on the wire.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WireRejection {
    /// Position of the change in the pushed batch.
    pub index: usize,
    /// Table of the row.
    pub table: String,
    /// Row id.
    pub id: Uuid,
    /// Machine-readable reason (`not_owner`, `forged_owner`, `staff_only`, …).
    pub code: String,
    /// Human-readable reason.
    pub reason: String,
    /// The row as the server holds it (sites from the response's table), or
    /// `null` when the server has no such row.
    pub winning: Option<WireRow>,
}

/// `POST /v1/push` answer.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PushResponse {
    /// How many row changes were accepted (applied or already known).
    pub accepted: usize,
    /// How many were held back because their clock runs ahead of the server's.
    pub quarantined: usize,
    /// The refused ones, with the server's winning state.
    pub rejections: Vec<WireRejection>,
    /// Site table of the winning rows.
    pub sites: Vec<Uuid>,
    /// The server's time (Unix ms) when it answered.
    pub server_time_ms: i64,
}

impl PushResponse {
    /// Build the answer from the store's rejections.
    pub fn new(
        accepted: usize,
        quarantined: usize,
        rejections: &[Rejection],
        server_time_ms: i64,
    ) -> PushResponse {
        let mut sites = SiteTable::default();
        let rejections = rejections
            .iter()
            .map(|r| WireRejection {
                index: r.index,
                table: r.table.clone(),
                id: r.id,
                code: r.code.clone(),
                reason: r.reason.clone(),
                winning: r.winning.as_ref().map(|w| sites.encode(w)),
            })
            .collect();
        PushResponse {
            accepted,
            quarantined,
            rejections,
            sites: sites.into_sites(),
            server_time_ms,
        }
    }

    /// The rejections as the store's type, winning rows decoded.
    pub fn decode_rejections(&self) -> Result<Vec<Rejection>> {
        self.rejections
            .iter()
            .map(|r| {
                Ok(Rejection {
                    index: r.index,
                    table: r.table.clone(),
                    id: r.id,
                    code: r.code.clone(),
                    reason: r.reason.clone(),
                    winning: r
                        .winning
                        .as_ref()
                        .map(|w| decode_row(&self.sites, w))
                        .transpose()?,
                })
            })
            .collect()
    }
}

/// `GET /v1/pull` answer: current winning cells above the cursor.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PullResponse {
    /// Site table of the rows.
    pub sites: Vec<Uuid>,
    /// Row changes in the server's sequence order.
    pub rows: Vec<WireRow>,
    /// The cursor to ask from next time (server-minted, opaque to phones;
    /// see [`super::cursor::PullCursor`]).
    pub next: String,
    /// Whether more changes wait after this page.
    pub more: bool,
    /// How many rows in this phone's scope wait after this page (0 from a
    /// server that does not say): the estimate a progress bar counts down.
    /// Rows that change meanwhile may be counted again on a later page.
    #[serde(default)]
    pub remaining: u64,
    /// The server's time (Unix ms) when it answered.
    pub server_time_ms: i64,
}

/// `GET /v1/health` answer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HealthResponse {
    /// Always `true` when the server answers.
    pub ok: bool,
    /// Protocol version the server speaks.
    pub protocol: u32,
    /// Schema version of the server's database: the newest phone schema it
    /// serves.
    pub schema: i64,
    /// The oldest phone schema it serves (absent from servers that serve
    /// only their own).
    #[serde(default)]
    pub min_schema: i64,
    /// The server's time (Unix ms).
    pub server_time_ms: i64,
}

/// `POST /v1/invites` body: grid staff (or an admin) invite people to join.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct InviteRequest {
    /// `resident` (default), or `grid_staff` (admins only).
    #[serde(default)]
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub role: Option<String>,
    /// How many people may join with it (1–50, default 1).
    #[serde(default)]
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub uses: Option<u32>,
    /// How long it is valid, in hours (1–720, default 72).
    #[serde(default)]
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub valid_hours: Option<u32>,
    /// The community (admins only; default the inviter's).
    #[serde(default)]
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub community: Option<String>,
    /// A code for another device of the inviter's own account (anyone may
    /// make one; `role` and `community` do not apply): her tablet, her new
    /// phone.
    #[serde(default)]
    #[cfg_attr(feature = "uniffi", uniffi(default))]
    pub own_device: bool,
}

/// `POST /v1/invites` answer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct InviteResponse {
    /// The code to read out, type or show as a QR code: `XXXX-XXXX-XXXX`
    /// (Crockford base32: no I, L, O or U; 60 random bits).
    pub code: String,
    /// The role it gives.
    pub role: String,
    /// The community it joins.
    pub community: String,
    /// How many may join with it.
    pub uses: u32,
    /// When it stops working (Unix ms).
    pub expires_at_ms: i64,
}

/// `POST /v1/invites/redeem` body (no token: this is how a phone gets one).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RedeemRequest {
    /// The invite code, as typed or scanned (case, spaces, hyphens and
    /// look-alike letters forgiven).
    pub code: String,
    /// `android`, `ios` or `other`: shown in the device list.
    #[serde(default)]
    pub platform: Option<String>,
}

/// The answer to `PUT /v1/photos/{hash}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhotoStored {
    /// Whether this upload stored the photo (false: the server already
    /// had it, and the upload was a no-op).
    pub stored: bool,
}

/// The error code of a photo that a listing uses but whose owner has not
/// uploaded it yet (`GET /v1/photos/{hash}`, 404).
pub const PHOTO_ON_ITS_WAY: &str = "photo_on_its_way";

/// A device's sign-in: what redeeming an invite or renewing a token gives.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct SignedIn {
    /// The bearer token of this device (shown once).
    pub token: String,
    /// The device's id (what the device list shows and revocation names).
    pub device: Uuid,
    /// The user.
    pub user: Uuid,
    /// `resident`, `grid_staff` or `admin`.
    pub role: String,
    /// The user's community.
    pub community: String,
    /// When the token expires unless renewed (Unix ms); a sync renews it
    /// well before.
    pub expires_at_ms: i64,
}

/// One signed-in device, as its user (or staff) sees it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct DeviceInfo {
    /// The device's id.
    pub device: Uuid,
    /// `android`, `ios`, `other` or `cli`.
    pub platform: String,
    /// When it signed in (Unix ms).
    pub signed_in_at_ms: i64,
    /// The day it last synced (Unix ms at midnight UTC), if it has.
    pub last_seen_day_ms: Option<i64>,
    /// When its token expires unless renewed (Unix ms).
    pub expires_at_ms: i64,
    /// Whether this is the device asking.
    pub current: bool,
}

/// `GET /v1/devices[?user=…]` answer.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DevicesResponse {
    /// The live devices (signed in, not revoked, not expired).
    pub devices: Vec<DeviceInfo>,
}

/// `GET /v1/me` answer: who the server takes the caller for (a phone
/// signed in with the platform's JWT learns its user id here).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Me {
    /// The user.
    pub user: Uuid,
    /// `resident`, `grid_staff` or `admin`.
    pub role: String,
    /// The user's community.
    pub community: String,
}

/// `POST /v1/devices/revoke` body: one device, or every device of a user.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RevokeRequest {
    /// This device.
    #[serde(default)]
    pub device: Option<Uuid>,
    /// Every device of this user (staff: a resident of their community).
    #[serde(default)]
    pub user: Option<Uuid>,
}

/// `POST /v1/devices/revoke` answer.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RevokeResponse {
    /// How many devices were signed out.
    pub revoked: u32,
}

/// Response header: when the bearer token expires (Unix ms).
pub const HEADER_TOKEN_EXPIRES: &str = "fushi-token-expires";
/// Response header: from when the phone should renew its token (Unix ms,
/// server time): two thirds into its life.
pub const HEADER_TOKEN_RENEW_AFTER: &str = "fushi-token-renew-after";

/// Every error answer: a stable machine-readable code and a message that
/// names fields and reasons, never values.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// Machine-readable code (`unauthorized`, `malformed_json`, …).
    pub code: String,
    /// Human-readable message.
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change() -> RowChange {
        let site = SiteId(Uuid::new_v4());
        let other = SiteId(Uuid::new_v4());
        RowChange {
            table: "station".into(),
            id: Uuid::now_v7(),
            cells: vec![
                Cell {
                    column: "name".into(),
                    op: CellOp::Set(Value::from("清凉驿站")),
                    stamp: Stamp {
                        clock: Hlc::new(1_790_000_000_000, 3),
                        site,
                    },
                },
                Cell {
                    column: "lat".into(),
                    op: CellOp::Set(Value::Real(22.25)),
                    stamp: Stamp {
                        clock: Hlc::new(1_790_000_000_000, 3),
                        site,
                    },
                },
                Cell {
                    column: "amenities".into(),
                    op: CellOp::Remove("seating".into()),
                    stamp: Stamp {
                        clock: Hlc::new(1_780_000_000_000, 0),
                        site: other,
                    },
                },
            ],
        }
    }

    #[test]
    fn rows_round_trip_through_json_with_one_site_entry_per_replica() {
        let c = change();
        let (sites, rows) = encode_rows(&[c.clone(), c.clone()]);
        assert_eq!(sites.len(), 2);
        let json = serde_json::to_string(&PushRequest { sites, rows }).unwrap();
        let back: PushRequest = serde_json::from_str(&json).unwrap();
        assert_eq!(
            decode_rows(&back.sites, &back.rows).unwrap(),
            vec![c.clone(), c]
        );
    }

    #[test]
    fn unknown_site_index_and_op_are_invalid() {
        let (_, rows) = encode_rows(&[change()]);
        assert!(matches!(
            decode_rows(&[], &rows),
            Err(Error::Invalid { field, .. }) if field == "sites"
        ));
        let bad = WireRow(
            "item".into(),
            Uuid::now_v7(),
            vec![WireCell("title".into(), 7, Value::Null, 1, 0)],
        );
        assert!(decode_rows(&[Uuid::new_v4()], &[bad]).is_err());
        let bad = WireRow(
            "item".into(),
            Uuid::now_v7(),
            vec![WireCell("photos".into(), OP_ADD, Value::Int(1), 1, 0)],
        );
        assert!(decode_rows(&[Uuid::new_v4()], &[bad]).is_err());
    }
}
