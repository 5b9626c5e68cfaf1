//! `GET /v1/pull?cursor=&limit=`: the current winning cells above a
//! server-minted cursor, in the phone's scope.

use crate::app::AppState;
use crate::auth::Authed;
use crate::error::ApiError;
use crate::tokens::log_id;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::Json;
use fushi_core::store::Scope;
use fushi_core::sync::wire::{encode_rows, PullResponse, MAX_PULL_LIMIT};
use serde::Deserialize;

/// Query parameters.
#[derive(Debug, Deserialize)]
pub struct PullParams {
    /// The `next` of the previous page; 0 (or absent) for the beginning.
    pub cursor: Option<i64>,
    /// Most row changes in the page (1..=1000, default 500).
    pub limit: Option<usize>,
}

/// Handle a pull.
pub async fn pull(
    State(state): State<AppState>,
    Authed(actor): Authed,
    params: Result<Query<PullParams>, QueryRejection>,
) -> Result<Json<PullResponse>, ApiError> {
    let Query(params) = params.map_err(|_| {
        ApiError::bad_request(
            "bad_query",
            "cursor and limit must be non-negative integers",
        )
    })?;
    let cursor = params.cursor.unwrap_or(0);
    if cursor < 0 {
        return Err(ApiError::bad_request(
            "bad_cursor",
            "the cursor must not be negative",
        ));
    }
    let limit = params.limit.unwrap_or(500).clamp(1, MAX_PULL_LIMIT);
    // Admins see every community; everyone else their own, plus the city's stations.
    let scope = Scope::for_reader(&actor);
    let storage = state.storage.clone();
    let page = tokio::task::spawn_blocking(move || storage.pull(&scope, cursor, limit))
        .await
        .map_err(ApiError::internal)??;
    let (sites, rows) = encode_rows(&page.changes);
    tracing::debug!(user = %log_id(&actor.user), rows = rows.len(), more = page.more, "pull");
    Ok(Json(PullResponse {
        sites,
        rows,
        next: page.next,
        more: page.more,
        server_time_ms: state.storage.now_ms(),
    }))
}
