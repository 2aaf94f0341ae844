//! The Google Sheets upload over HTTP: `GET /api/v1/exports/status` (viewer, not scoped to
//! labs) shows the
//! uploader's state and last run; `POST /api/v1/exports/sheets` (admin) runs one now and
//! answers its result (502 with the cause when Google refused or failed). A run outlasting
//! `limits.request_timeout` is answered 408 but completes; its result shows in the status.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use idlewatch_protocol::ErrorCode;
use idlewatch_protocol::api::{SheetsFailure, SheetsRun, SheetsStatusAnswer, SheetsTrigger};

use super::access::{Admin, Viewer};
use super::error::ApiError;
use crate::state::AppState;

/// Routes of this module.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/exports/status", get(status))
        .route("/api/v1/exports/sheets", post(sheets_now))
}

async fn status(
    viewer: Viewer,
    State(state): State<AppState>,
) -> Result<Json<SheetsStatusAnswer>, ApiError> {
    // The sheet holds every lab: not for a token scoped to some.
    viewer.whole_server("the Google Sheets upload's status")?;
    Ok(Json(SheetsStatusAnswer {
        sheets: state.sheets.status(),
    }))
}

async fn sheets_now(_: Admin, State(state): State<AppState>) -> Result<Json<SheetsRun>, ApiError> {
    // On its own task: a client that gives up (or the request timeout) never cuts a run short.
    let runner = state.clone();
    let run = tokio::spawn(async move { runner.sheets.run_once(SheetsTrigger::Request).await });
    let report = run
        .await
        .map_err(|_| ApiError::internal("the upload task failed"))?;
    let Some(report) = report else {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            ErrorCode::NotConfigured,
            "Google Sheets uploads are not configured: set enabled = true, spreadsheet_id and \
             credentials_file in the [sheets] section of server.toml, then restart the server",
        ));
    };
    match &report.error {
        None => Ok(Json(report)),
        Some(e) => Err(ApiError::new(
            StatusCode::BAD_GATEWAY,
            if e.kind == SheetsFailure::Local {
                ErrorCode::Internal
            } else {
                ErrorCode::Upstream
            },
            e.message.clone(),
        )),
    }
}
