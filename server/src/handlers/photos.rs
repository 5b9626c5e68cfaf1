//! `PUT /v1/photos/{hash}`: the owner of a listing that uses a photo
//! uploads its bytes. `GET /v1/photos/{hash}?size=thumb|full`: a user who
//! may see a listing that uses the photo downloads it. See
//! `docs/PROTOCOL.md`, "Photos".

use crate::app::AppState;
use crate::auth::Signed;
use crate::error::ApiError;
use crate::photos::make_thumbnail;
use crate::tokens::log_id;
use axum::body::{Body, Bytes};
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use fushi_core::photo::{self, PhotoRef};
use fushi_core::policy::Actor;
use fushi_core::store::{PhotoSize, PhotoUse};
use fushi_core::sync::wire::PhotoStored;
use serde::Deserialize;

/// Query of a photo download.
#[derive(Debug, Deserialize)]
pub struct PhotoParams {
    /// `thumb` (default) or `full`.
    pub size: Option<String>,
}

fn parse_ref(hash: &str) -> Result<PhotoRef, ApiError> {
    PhotoRef::from_hex(hash).map_err(|_| {
        ApiError::bad_request(
            "bad_photo_ref",
            "a photo is named by 64 lowercase hex digits (its SHA-256)",
        )
    })
}

async fn users(state: &AppState, r: PhotoRef) -> Result<Vec<PhotoUse>, ApiError> {
    let storage = state.storage.clone();
    Ok(tokio::task::spawn_blocking(move || storage.photo_users(&r))
        .await
        .map_err(ApiError::internal)??)
}

/// Whether `actor` may see a listing among `uses` with its photos, as a
/// pull would send it: items are seen by their community (and their
/// owner, and admins); a hidden one's photos only by its owner and staff.
fn may_see(actor: &Actor, uses: &[PhotoUse]) -> bool {
    uses.iter().any(|u| u.visible_to(actor))
}

/// Handle an upload.
pub async fn put(
    State(state): State<AppState>,
    Signed { actor, .. }: Signed,
    Path(hash): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<PhotoStored>, ApiError> {
    let r = parse_ref(&hash)?;
    let bytes = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "photo_too_large",
                format!("a photo may be at most {} bytes", photo::MAX_PHOTO_BYTES),
            )
        } else {
            ApiError::bad_request("bad_body", "the body could not be read")
        }
    })?;
    let uses = users(&state, r).await?;
    if uses.is_empty() {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "photo_not_referenced",
            "no listing uses this photo: push the listing before its photos",
        ));
    }
    if !uses.iter().any(|u| u.owner == Some(actor.user)) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "not_photo_owner",
            "only the owner of a listing that uses a photo may upload it",
        ));
    }
    let storage = state.storage.clone();
    let stored = tokio::task::spawn_blocking(move || -> Result<bool, ApiError> {
        let photos = storage.photos();
        if photos.has(&r)? {
            return Ok(false);
        }
        let info = photo::verify(&r, &bytes).map_err(|e| match e {
            fushi_core::Error::Invalid { reason, .. } => {
                ApiError::bad_request("invalid_photo", reason)
            }
            other => ApiError::from(other),
        })?;
        let thumb = make_thumbnail(&bytes, info.format).map_err(|e| match e {
            fushi_core::Error::Invalid { reason, .. } => {
                ApiError::bad_request("invalid_photo", reason)
            }
            other => ApiError::from(other),
        })?;
        photos.put(&r, &bytes, &thumb)?;
        Ok(true)
    })
    .await
    .map_err(ApiError::internal)??;
    tracing::info!(user = %log_id(&actor.user), stored, "photo upload");
    Ok(Json(PhotoStored { stored }))
}

/// Handle a download.
pub async fn get(
    State(state): State<AppState>,
    Signed { actor, .. }: Signed,
    Path(hash): Path<String>,
    Query(params): Query<PhotoParams>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let r = parse_ref(&hash)?;
    let size = match params.size.as_deref() {
        None | Some("thumb") => PhotoSize::Thumb,
        Some("full") => PhotoSize::Full,
        Some(_) => return Err(ApiError::bad_request("bad_size", "size is thumb or full")),
    };
    let uses = users(&state, r).await?;
    if !may_see(&actor, &uses) {
        // Not told apart from a photo that does not exist.
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "photo_not_found",
            "no listing you may see uses this photo",
        ));
    }
    let etag = format!("\"{}-{}\"", r.hex(), size.as_str());
    let cache = HeaderValue::from_static("private, max-age=31536000, immutable");
    if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == etag)
    {
        let mut resp = StatusCode::NOT_MODIFIED.into_response();
        resp.headers_mut().insert(header::CACHE_CONTROL, cache);
        return Ok(resp);
    }
    let storage = state.storage.clone();
    let bytes = tokio::task::spawn_blocking(move || storage.photos().get(&r, size))
        .await
        .map_err(ApiError::internal)??;
    let Some(bytes) = bytes else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            fushi_core::sync::wire::PHOTO_ON_ITS_WAY,
            "the photo's owner has not uploaded it yet",
        ));
    };
    let mime = photo::check::format(&bytes).map_or("application/octet-stream", |f| f.mime());
    let mut resp = Response::new(Body::from(bytes));
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(mime));
    h.insert(header::CACHE_CONTROL, cache);
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    Ok(resp)
}
