//! `GET /v1/health`: is the server up, which protocol, what time is it.

use crate::app::AppState;
use axum::extract::State;
use axum::Json;
use fushi_core::sync::wire::{HealthResponse, PROTOCOL_VERSION};

/// Answer without authentication.
pub async fn health(State(state): State<AppState>) -> Json<HealthResponse> {
    Json(HealthResponse {
        ok: true,
        protocol: PROTOCOL_VERSION,
        schema: state.schema,
        min_schema: state.min_schema,
        server_time_ms: state.storage.now_ms(),
    })
}
