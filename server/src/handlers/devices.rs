//! `GET /v1/devices[?user=]`: the signed-in devices of the caller (or, for
//! staff, of a resident of their community). `POST /v1/devices/revoke`:
//! sign one device out, or every device of a user. `POST /v1/token/renew`:
//! a new token for this device (a sync does it before the old one expires).

use crate::app::AppState;
use crate::auth::Signed;
use crate::error::ApiError;
use crate::handlers::push::read_json;
use crate::tokens::log_id;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::Json;
use fushi_core::policy::{Actor, Role};
use fushi_core::sync::wire::{
    DeviceInfo, DevicesResponse, Me, RevokeRequest, RevokeResponse, SignedIn,
};
use serde::Deserialize;
use uuid::Uuid;

/// Query of the device list.
#[derive(Debug, Deserialize)]
pub struct DevicesParams {
    /// Another user's devices (staff).
    pub user: Option<Uuid>,
}

/// Whether `actor` may see and sign out the devices of `user`: their own;
/// grid staff those of a resident of their community; admins anyone's.
async fn may_manage(state: &AppState, actor: &Actor, user: Uuid) -> Result<(), ApiError> {
    if user == actor.user || actor.role == Role::Admin {
        return Ok(());
    }
    if actor.role != Role::GridStaff {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "staff_only",
            "only grid staff and admins manage other people's devices",
        ));
    }
    let storage = state.storage.clone();
    let standing = tokio::task::spawn_blocking(move || storage.user_standing(user))
        .await
        .map_err(ApiError::internal)??;
    match standing {
        None => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "unknown_user",
            "no signed-in user with this id",
        )),
        Some((_, community)) if community != actor.community => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "other_community",
            "grid staff manage the residents of their own community only",
        )),
        Some((Role::Resident, _)) => Ok(()),
        Some(_) => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "admin_only",
            "only admins sign out grid staff or admins",
        )),
    }
}

/// Handle the device list.
pub async fn list(
    State(state): State<AppState>,
    Signed { actor, grant, .. }: Signed,
    params: Result<Query<DevicesParams>, QueryRejection>,
) -> Result<Json<DevicesResponse>, ApiError> {
    let Query(params) =
        params.map_err(|_| ApiError::bad_request("bad_query", "user must be a user id"))?;
    let user = params.user.unwrap_or(actor.user);
    may_manage(&state, &actor, user).await?;
    let storage = state.storage.clone();
    let rows = tokio::task::spawn_blocking(move || storage.devices(user))
        .await
        .map_err(ApiError::internal)??;
    Ok(Json(DevicesResponse {
        devices: rows
            .into_iter()
            .map(|d| DeviceInfo {
                current: grant.as_ref().is_some_and(|g| g.device == d.device),
                device: d.device,
                platform: d.platform,
                signed_in_at_ms: d.signed_in_at_ms,
                last_seen_day_ms: d.last_seen_day_ms,
                expires_at_ms: d.expires_at_ms,
            })
            .collect(),
    }))
}

/// Handle a sign-out.
pub async fn revoke(
    State(state): State<AppState>,
    Signed { actor, .. }: Signed,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<RevokeResponse>, ApiError> {
    let req: RevokeRequest = read_json(body)?;
    let storage = state.storage.clone();
    let revoked = match (req.device, req.user) {
        (Some(device), user) => {
            let user = user.unwrap_or(actor.user);
            may_manage(&state, &actor, user).await?;
            tokio::task::spawn_blocking(move || storage.revoke_device(user, device))
                .await
                .map_err(ApiError::internal)??
                .min(1)
        }
        (None, Some(user)) => {
            may_manage(&state, &actor, user).await?;
            tokio::task::spawn_blocking(move || storage.revoke_user(user))
                .await
                .map_err(ApiError::internal)??
        }
        (None, None) => {
            return Err(ApiError::bad_request(
                "bad_body",
                "name a device or a user to sign out",
            ))
        }
    };
    if revoked == 0 {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "unknown_device",
            "no signed-in device matches",
        ));
    }
    tracing::info!(user = %log_id(&actor.user), revoked, "devices signed out");
    Ok(Json(RevokeResponse {
        revoked: u32::try_from(revoked).unwrap_or(u32::MAX),
    }))
}

/// Handle "who am I".
pub async fn me(Signed { actor, .. }: Signed) -> Json<Me> {
    Json(Me {
        user: actor.user,
        role: actor.role.as_str().into(),
        community: actor.community,
    })
}

/// Handle a renewal.
pub async fn renew(
    State(state): State<AppState>,
    Signed { key, grant, .. }: Signed,
) -> Result<Json<SignedIn>, ApiError> {
    if grant.is_none() {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "not_renewable",
            "the platform's token is renewed by the platform",
        ));
    }
    let token = crate::tokens::generate().map_err(ApiError::internal)?;
    let new = crate::tokens::hash(&token);
    let storage = state.storage.clone();
    let grant = tokio::task::spawn_blocking(move || storage.renew_token(&key, &new))
        .await
        .map_err(ApiError::internal)??
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "invalid_token",
                "only a live token of this server can be renewed",
            )
        })?;
    Ok(Json(grant.signed_in(token)))
}
