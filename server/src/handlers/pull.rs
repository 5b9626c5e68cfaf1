//! `GET /v1/pull?cursor=&limit=`: the current winning cells above a
//! server-minted cursor, in the phone's scope.

use crate::app::AppState;
use crate::auth::Signed;
use crate::error::ApiError;
use crate::tokens::log_id;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::Json;
use fushi_core::store::{PageLimit, Scope};
use fushi_core::sync::cursor::PullCursor;
use fushi_core::sync::wire::{encode_rows, PullResponse, MAX_PULL_LIMIT, MAX_PULL_PAGE_BYTES};
use serde::Deserialize;

/// Query parameters.
#[derive(Debug, Deserialize)]
pub struct PullParams {
    /// The `next` of the previous page; `0` (or absent) for the beginning.
    pub cursor: Option<String>,
    /// Most row changes in the page (1..=1000, default 500).
    pub limit: Option<usize>,
    /// A phone that upgraded from this schema catches up: only the cells of
    /// the columns added after it (from 1 to the phone's schema minus one).
    pub columns_after: Option<i64>,
}

/// Handle a pull.
pub async fn pull(
    State(state): State<AppState>,
    Signed { actor, schema, .. }: Signed,
    params: Result<Query<PullParams>, QueryRejection>,
) -> Result<Json<PullResponse>, ApiError> {
    let Query(params) = params.map_err(|_| {
        ApiError::bad_request(
            "bad_query",
            "limit and columns_after must be non-negative integers",
        )
    })?;
    if params.columns_after.is_some_and(|v| v < 1 || v >= schema) {
        return Err(ApiError::bad_request(
            "bad_query",
            "columns_after must be a schema older than the phone's",
        ));
    }
    let cursor = PullCursor::parse(params.cursor.as_deref().unwrap_or("0")).map_err(|_| {
        ApiError::bad_request("bad_cursor", "the cursor is not one this server issued")
    })?;
    let limit = PageLimit {
        rows: params.limit.unwrap_or(500).clamp(1, MAX_PULL_LIMIT),
        bytes: MAX_PULL_PAGE_BYTES,
    };
    // Admins see every community; everyone else their own, plus the city's stations.
    // Only the columns of the phone's schema (and, catching up, only those
    // added after the one it upgraded from).
    let scope = Scope {
        schema,
        columns_after: params.columns_after,
        ..Scope::for_reader(&actor)
    };
    // One turn of the pull gate for reading and encoding the page.
    let _turn = state
        .pulls
        .acquire()
        .await
        .map_err(|_| ApiError::internal("the pull gate closed"))?;
    let storage = state.storage.clone();
    let (page, next) = tokio::task::spawn_blocking(move || {
        let epoch = storage.epoch();
        // A cursor from another database, or beyond what this one has
        // numbered (a database restored from an older copy), was not minted
        // here: that phone starts over from zero, which the merge makes safe.
        let trusted = (cursor.epoch == epoch || cursor.is_start())
            && cursor.pos.after <= storage.current_seq()?;
        let cursor = if trusted {
            cursor
        } else {
            tracing::info!("pull cursor from another database: starting the phone over");
            PullCursor::start(epoch)
        };
        let page = storage.pull(&scope, cursor.pos, limit)?;
        let next = PullCursor {
            epoch,
            pos: cursor.pos.after_page(&page),
        };
        Ok::<_, fushi_core::Error>((page, next))
    })
    .await
    .map_err(ApiError::internal)??;
    let (sites, rows) = encode_rows(&page.changes);
    tracing::debug!(user = %log_id(&actor.user), rows = rows.len(), more = page.more, "pull");
    Ok(Json(PullResponse {
        sites,
        rows,
        next: next.to_string(),
        more: page.more,
        remaining: page.remaining,
        server_time_ms: state.storage.now_ms(),
    }))
}
