//! `POST /v1/push`: a phone's outbox batch, checked change by change with the
//! same policy as the phone, applied all in one transaction.

use crate::app::AppState;
use crate::auth::Signed;
use crate::error::ApiError;
use crate::tokens::log_id;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use fushi_core::store::Pusher;
use fushi_core::sync::wire::{self, PushRequest, PushResponse, MAX_PUSH_ROWS};

/// Read a JSON body with clear errors: too large, not UTF-8, not JSON.
pub fn read_json<T: serde::de::DeserializeOwned>(
    body: Result<Bytes, BytesRejection>,
) -> Result<T, ApiError> {
    let bytes = body.map_err(|e| {
        if timed_out(&e) {
            ApiError::new(
                StatusCode::REQUEST_TIMEOUT,
                "body_timeout",
                "the body did not arrive in time",
            )
        } else if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body_too_large",
                format!("the body may be at most {} bytes", wire::MAX_BODY_BYTES),
            )
        } else {
            ApiError::bad_request("bad_body", "the body could not be read (bad gzip?)")
        }
    })?;
    std::str::from_utf8(&bytes)
        .map_err(|_| ApiError::bad_request("invalid_utf8", "the body is not valid UTF-8"))?;
    serde_json::from_slice(&bytes).map_err(|e| {
        // serde's message gives line, column and what was expected, not data.
        ApiError::bad_request(
            "malformed_json",
            format!("the body is not a valid push request: {}", e.classify_msg()),
        )
    })
}

/// Whether reading the body failed because it did not arrive in time.
fn timed_out(e: &BytesRejection) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = source {
        if err.is::<tower_http::timeout::TimeoutError>() {
            return true;
        }
        source = err.source();
    }
    false
}

trait Classify {
    fn classify_msg(&self) -> String;
}

impl Classify for serde_json::Error {
    fn classify_msg(&self) -> String {
        format!(
            "{:?} error at line {} column {}",
            self.classify(),
            self.line(),
            self.column()
        )
    }
}

/// Handle a push.
pub async fn push(
    State(state): State<AppState>,
    Signed {
        actor, key, schema, ..
    }: Signed,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<PushResponse>, ApiError> {
    let req: PushRequest = read_json(body)?;
    if req.rows.len() > MAX_PUSH_ROWS {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "batch_too_large",
            format!("a push may carry at most {MAX_PUSH_ROWS} row changes"),
        ));
    }
    let changes = wire::decode_rows(&req.sites, &req.rows)?;
    let storage = state.storage.clone();
    let pusher = Pusher {
        actor: actor.clone(),
        key: key.to_vec(),
    };
    let outcome = tokio::task::spawn_blocking(move || storage.push(&pusher, &changes, schema))
        .await
        .map_err(ApiError::internal)??;
    tracing::info!(
        user = %log_id(&actor.user),
        rows = req.rows.len(),
        accepted = outcome.accepted,
        rejected = outcome.rejections.len(),
        quarantined = outcome.quarantined,
        "push"
    );
    Ok(Json(PushResponse::new(
        outcome.accepted,
        outcome.quarantined,
        &outcome.rejections,
        state.storage.now_ms(),
    )))
}
