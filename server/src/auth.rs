//! Who is asking, and in which protocol: every `/v1` request but health and
//! invite redemption carries `Fushi-Protocol`, `Fushi-Schema` and a bearer
//! token, checked once by [`require`] in front of the handlers that need a
//! user; each valid token is held to its rate ([`crate::limit`]), and every
//! answer to it says when it expires and from when to renew it.

use crate::app::AppState;
use crate::error::ApiError;
use crate::jwt::JwtVerifier;
use crate::storage::{Grant, TokenStatus};
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use fushi_core::policy::Actor;
use fushi_core::sync::wire::{
    HEADER_PROTOCOL, HEADER_SCHEMA, HEADER_TOKEN_EXPIRES, HEADER_TOKEN_RENEW_AFTER,
    PROTOCOL_VERSION,
};

fn version(headers: &HeaderMap, name: &str) -> Result<i64, ApiError> {
    let v = headers.get(name).ok_or_else(|| {
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
pub fn check_versions(headers: &HeaderMap, min: i64, schema: i64) -> Result<i64, ApiError> {
    let protocol = version(headers, HEADER_PROTOCOL)?;
    let client_schema = version(headers, HEADER_SCHEMA)?;
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

/// A request in a protocol and schema the server serves (no token needed):
/// the phone's schema.
#[derive(Clone, Copy, Debug)]
pub struct Versions(pub i64);

impl FromRequestParts<AppState> for Versions {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        check_versions(&parts.headers, state.min_schema, state.schema).map(Versions)
    }
}

/// The signed-in caller of a request that passed [`require`].
#[derive(Clone, Debug)]
pub struct Signed {
    /// The user the credential stands for.
    pub actor: Actor,
    /// The credential's key: the token's SHA-256 (what a held change keeps,
    /// to be judged again with the credential's state when released).
    pub key: [u8; 32],
    /// The phone's schema (`Fushi-Schema`): what it may send and receive.
    pub schema: i64,
    /// The token's grant (device, expiry); `None` for the platform's JWT.
    pub grant: Option<Grant>,
}

impl FromRequestParts<AppState> for Signed {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, ApiError> {
        parts
            .extensions
            .get::<Signed>()
            .cloned()
            .ok_or_else(|| ApiError::internal("a signed-in route without the auth layer"))
    }
}

fn unauthorized(code: &'static str, message: &str) -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, code, message)
}

/// The bearer token of a request.
pub fn bearer(headers: &HeaderMap) -> Result<&str, ApiError> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            unauthorized(
                "missing_token",
                "an Authorization: Bearer token is required",
            )
        })
}

async fn authenticate(state: &AppState, headers: &HeaderMap) -> Result<Signed, ApiError> {
    let schema = check_versions(headers, state.min_schema, state.schema)?;
    let token = bearer(headers)?;
    if let Some(jwt) = &state.jwt {
        if !token.starts_with(crate::tokens::PREFIX) && JwtVerifier::looks_like_jwt(token) {
            return authenticate_jwt(state, jwt, token, schema).await;
        }
    }
    let hash = crate::tokens::hash(token);
    let storage = state.storage.clone();
    let status = tokio::task::spawn_blocking(move || {
        let status = storage.token(&hash)?;
        // One write a day per token, not one a request.
        if let TokenStatus::Valid(grant) = &status {
            let today = crate::accounts::day_of(storage.now_ms());
            if grant.last_seen_day_ms.is_none_or(|d| d < today) {
                storage.seen(&hash)?;
            }
        }
        Ok::<_, fushi_core::Error>(status)
    })
    .await
    .map_err(ApiError::internal)??;
    match status {
        TokenStatus::Valid(grant) => {
            state.limiter.check(&hash)?;
            Ok(Signed {
                actor: grant.actor.clone(),
                key: hash,
                schema,
                grant: Some(grant),
            })
        }
        TokenStatus::Revoked => Err(unauthorized(
            "revoked_token",
            "this device was signed out; sign in again",
        )),
        TokenStatus::Expired => Err(unauthorized(
            "expired_token",
            "the token expired without being renewed; sign in again",
        )),
        TokenStatus::Unknown => Err(unauthorized("invalid_token", "the token is not known")),
    }
}

/// A platform JWT: verified, then mapped to this server's user for its
/// issuer and subject (made on first sight).
async fn authenticate_jwt(
    state: &AppState,
    jwt: &JwtVerifier,
    token: &str,
    schema: i64,
) -> Result<Signed, ApiError> {
    let claims = jwt.verify(token).await.map_err(|e| {
        if e.is_token_fault() {
            unauthorized(e.code(), &e.to_string())
        } else {
            ApiError::internal(e)
        }
    })?;
    let key = state.storage.identity_key(&claims.issuer, &claims.subject);
    let storage = state.storage.clone();
    let (role, community) = (claims.role, claims.community.clone());
    // Without `iat`, the token counts as issued a full life before it
    // expires: after a sign-out, only a token issued later is taken.
    let issued_at_ms = claims
        .issued_at_secs
        .unwrap_or(i64::MIN / 2_000)
        .saturating_mul(1000);
    let user = tokio::task::spawn_blocking(move || {
        storage.external_user(&key, role, &community, issued_at_ms)
    })
    .await
    .map_err(ApiError::internal)??
    .ok_or_else(|| {
        unauthorized(
            "revoked_token",
            "this user was signed out; sign in to the platform again",
        )
    })?;
    state.limiter.check(&key)?;
    Ok(Signed {
        actor: Actor {
            user,
            role: claims.role,
            community: claims.community,
        },
        key,
        schema,
        grant: None,
    })
}

/// In front of every route that needs a user: check versions and token,
/// hand the [`Signed`] caller to the handler, and stamp the answer with
/// the token's expiry and renewal time.
pub async fn require(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let signed = match authenticate(&state, req.headers()).await {
        Ok(s) => s,
        Err(e) => return e.into_response(),
    };
    let grant = signed.grant.clone();
    req.extensions_mut().insert(signed);
    let mut resp = next.run(req).await;
    // A platform JWT is renewed by the platform, not here.
    if let Some(grant) = grant {
        for (name, value) in [
            (HEADER_TOKEN_EXPIRES, grant.expires_at_ms),
            (HEADER_TOKEN_RENEW_AFTER, grant.renew_after_ms()),
        ] {
            if let Ok(v) = HeaderValue::from_str(&value.to_string()) {
                resp.headers_mut().insert(name, v);
            }
        }
    }
    resp
}
