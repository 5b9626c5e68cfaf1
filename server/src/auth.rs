//! Who is asking, and in which protocol: every `/v1` request but health
//! carries `Fushi-Protocol`, `Fushi-Schema` and a bearer token; each valid
//! token is held to its rate ([`crate::limit`]).

use crate::app::AppState;
use crate::error::ApiError;
use crate::storage::TokenStatus;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use fushi_core::policy::Actor;
use fushi_core::sync::wire::{HEADER_PROTOCOL, HEADER_SCHEMA, PROTOCOL_VERSION};

fn version(parts: &Parts, name: &str) -> Result<i64, ApiError> {
    let v = parts.headers.get(name).ok_or_else(|| {
        ApiError::new(
            StatusCode::UPGRADE_REQUIRED,
            "upgrade_required",
            format!("missing {name} header: this app is too old for the server"),
        )
    })?;
    v.to_str()
        .ok()
        .and_then(|s| s.trim().parse::<i64>().ok())
        .ok_or_else(|| ApiError::bad_request("bad_header", format!("{name} must be a number")))
}

/// The phone's schema, if the server serves its protocol and schema: any
/// schema from `min` to `schema` (the server's own). Below `min`, or an
/// older protocol, is 426 (the app must be updated); a newer one is
/// `server_outdated` (the server must be, and the app can try later).
pub fn check_versions(parts: &Parts, min: i64, schema: i64) -> Result<i64, ApiError> {
    let protocol = version(parts, HEADER_PROTOCOL)?;
    let client_schema = version(parts, HEADER_SCHEMA)?;
    if protocol < i64::from(PROTOCOL_VERSION) || client_schema < min {
        return Err(ApiError::new(
            StatusCode::UPGRADE_REQUIRED,
            "upgrade_required",
            format!(
                "the server speaks protocol {PROTOCOL_VERSION} with schemas {min} to {schema}: update the app"
            ),
        ));
    }
    if protocol > i64::from(PROTOCOL_VERSION) || client_schema > schema {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "server_outdated",
            format!(
                "the server speaks protocol {PROTOCOL_VERSION} with schemas {min} to {schema}, older than the app's; try again after it is updated"
            ),
        ));
    }
    Ok(client_schema)
}

/// The signed-in user of a request and the key (hash) of the token it came
/// with: what a push keeps with a held change, so the change can be judged
/// again with the token's state when it is released.
#[derive(Clone, Debug)]
pub struct Signed {
    /// The user the token stands for.
    pub actor: Actor,
    /// The token's SHA-256.
    pub key: [u8; 32],
    /// The phone's schema (`Fushi-Schema`): what it may send and receive.
    pub schema: i64,
}

impl FromRequestParts<AppState> for Signed {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let schema = check_versions(parts, state.min_schema, state.schema)?;
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    "missing_token",
                    "an Authorization: Bearer token is required",
                )
            })?;
        let hash = crate::tokens::hash(token);
        let storage = state.storage.clone();
        let status = tokio::task::spawn_blocking(move || storage.token(&hash))
            .await
            .map_err(ApiError::internal)??;
        match status {
            TokenStatus::Valid(actor) => {
                state.limiter.check(&hash)?;
                Ok(Signed {
                    actor,
                    key: hash,
                    schema,
                })
            }
            TokenStatus::Revoked => Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "revoked_token",
                "the token was revoked",
            )),
            TokenStatus::Unknown => Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "invalid_token",
                "the token is not known",
            )),
        }
    }
}
