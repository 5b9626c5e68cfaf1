//! `POST /v1/invites`: grid staff invite residents of their community (an
//! admin also grid staff, of any community). `POST /v1/invites/redeem`: a
//! person joins with a code and this device is signed in; no token needed,
//! attempts limited per address and per code.

use crate::app::AppState;
use crate::auth::{Signed, Versions};
use crate::error::ApiError;
use crate::handlers::push::read_json;
use crate::invite_code;
use crate::storage::{InviteRefusal, NewInvite};
use crate::tokens::log_id;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{ConnectInfo, State};
use axum::http::StatusCode;
use axum::Json;
use fushi_core::policy::Role;
use fushi_core::sync::wire::{InviteRequest, InviteResponse, RedeemRequest, SignedIn};
use std::net::SocketAddr;

/// Most people one invite may let in.
pub const MAX_USES: u32 = 50;
/// Longest an invite lives, in hours (30 days).
pub const MAX_VALID_HOURS: u32 = 720;

fn forbidden(code: &'static str, message: &str) -> ApiError {
    ApiError::new(StatusCode::FORBIDDEN, code, message)
}

/// Handle an invite.
pub async fn create(
    State(state): State<AppState>,
    Signed { actor, .. }: Signed,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<InviteResponse>, ApiError> {
    let req: InviteRequest = read_json(body)?;
    let own_device = req.own_device;
    let role = match req.role.as_deref() {
        _ if own_device => actor.role,
        None => Role::Resident,
        Some(r) => Role::parse(r)
            .filter(|r| *r != Role::Admin)
            .ok_or_else(|| {
                ApiError::bad_request("invalid_role", "role must be resident or grid_staff")
            })?,
    };
    match (actor.role, role) {
        _ if own_device => {}
        (Role::Resident, _) => {
            return Err(forbidden("staff_only", "only grid staff and admins invite"))
        }
        (Role::GridStaff, Role::GridStaff) => {
            return Err(forbidden("admin_only", "only admins invite grid staff"))
        }
        _ => {}
    }
    let community = match (actor.role, req.community) {
        _ if own_device => actor.community.clone(),
        (Role::Admin, Some(c)) => {
            fushi_core::model::tables::check_content(
                fushi_core::model::tables::Check::Community,
                &c.as_str().into(),
            )
            .map_err(|r| ApiError::bad_request("invalid_community", format!("community {r}")))?;
            c
        }
        (_, Some(c)) if c != actor.community => {
            return Err(forbidden(
                "other_community",
                "grid staff invite into their own community only",
            ))
        }
        _ => actor.community.clone(),
    };
    let uses = req.uses.unwrap_or(1);
    if !(1..=MAX_USES).contains(&uses) {
        return Err(ApiError::bad_request(
            "invalid_uses",
            format!("uses must be from 1 to {MAX_USES}"),
        ));
    }
    let hours = req.valid_hours.unwrap_or(72);
    if !(1..=MAX_VALID_HOURS).contains(&hours) {
        return Err(ApiError::bad_request(
            "invalid_valid_hours",
            format!("valid_hours must be from 1 to {MAX_VALID_HOURS}"),
        ));
    }
    let code = invite_code::generate().map_err(ApiError::internal)?;
    let canonical = invite_code::normalize(&code)
        .ok_or_else(|| ApiError::internal("a generated invite code did not read back"))?;
    let invite = NewInvite {
        role,
        community: community.clone(),
        created_by: actor.user,
        uses,
        expires_at_ms: state.storage.now_ms() + i64::from(hours) * 3_600_000,
        for_user: own_device.then_some(actor.user),
    };
    let storage = state.storage.clone();
    let kept = invite.clone();
    tokio::task::spawn_blocking(move || {
        storage.create_invite(&invite_code::hash(&canonical), &kept)
    })
    .await
    .map_err(ApiError::internal)??;
    tracing::info!(user = %log_id(&actor.user), uses, hours, "invite created");
    Ok(Json(InviteResponse {
        code,
        role: role.as_str().into(),
        community,
        uses,
        expires_at_ms: invite.expires_at_ms,
    }))
}

/// Handle a redemption.
pub async fn redeem(
    State(state): State<AppState>,
    Versions(_): Versions,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<SignedIn>, ApiError> {
    state.redeem_limiter.check_address(peer.ip())?;
    let req: RedeemRequest = read_json(body)?;
    let platform = match req.platform.as_deref() {
        None => "other",
        Some(p @ ("android" | "ios" | "other")) => p,
        Some(_) => {
            return Err(ApiError::bad_request(
                "invalid_platform",
                "platform must be android, ios or other",
            ))
        }
    };
    let canonical = invite_code::normalize(&req.code).ok_or_else(|| {
        ApiError::bad_request(
            "invalid_code",
            "an invite code is 12 letters and digits, like ABCD-EFGH-JKMN",
        )
    })?;
    let code_hash = invite_code::hash(&canonical);
    state.redeem_limiter.check_code(&code_hash)?;
    let token = crate::tokens::generate().map_err(ApiError::internal)?;
    let token_hash = crate::tokens::hash(&token);
    let storage = state.storage.clone();
    let platform_owned = platform.to_owned();
    let outcome = tokio::task::spawn_blocking(move || {
        storage.redeem_invite(&code_hash, &token_hash, &platform_owned)
    })
    .await
    .map_err(ApiError::internal)??;
    let grant = outcome.map_err(|refusal| match refusal {
        InviteRefusal::Unknown => ApiError::new(
            StatusCode::NOT_FOUND,
            "invite_unknown",
            "no such invite code; check it with the person who gave it",
        ),
        InviteRefusal::UsedUp => forbidden("invite_used", "this invite was already used"),
        InviteRefusal::Expired => forbidden("invite_expired", "this invite has expired"),
    })?;
    tracing::info!(user = %log_id(&grant.actor.user), platform, "invite redeemed");
    Ok(Json(grant.signed_in(token)))
}
