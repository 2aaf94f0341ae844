//! `GET /export.xlsx?from=&to=&host=&group=` (admin): the XLSX report, written to an anonymous
//! temporary file off the async runtime and streamed back, so memory stays flat whatever the
//! range. `host` may repeat; `group` selects the hosts of a group (from `[report.groups]` or
//! the hosts' own `group` field). The range defaults to the last 7 days; it is narrowed to
//! where data can be (from the first stored day to now).

use std::io::Seek;

use axum::Router;
use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use jiff::tz::TimeZone;
use tokio_util::io::ReaderStream;
use tracing::{error, info};

use super::access::Admin;
use super::error::ApiError;
use super::selection;
use crate::report::xlsx::{ExportRequest, write_report};
use crate::state::AppState;

/// Routes of this module.
pub fn routes() -> Router<AppState> {
    Router::new().route("/export.xlsx", get(export))
}

const WEEK_MS: i64 = 7 * 86_400_000;

fn local_date(ms: i64, tz: &TimeZone) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.to_zoned_datetime(tz.clone()).date().to_string())
        .unwrap_or_default()
}

async fn export(
    _: Admin,
    State(state): State<AppState>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let (from_ms, to_ms) = selection::time_range(&pairs, WEEK_MS)?;
    let hosts = selection::hosts(&state, &pairs, None).await?;
    // The file is named for the range asked; its rows start where the data does.
    let (data_from, data_to) = selection::bound_to_data(&state, &hosts, from_ms, to_ms).await?;
    let store = state.store.clone();
    let rules = state.config.report.rules();
    let tz = rules.time_zone.clone();
    let request = ExportRequest::new(hosts, data_from, data_to.max(data_from));
    let file = tokio::task::spawn_blocking(move || -> Result<std::fs::File, String> {
        let mut file =
            tempfile::tempfile().map_err(|e| format!("cannot create a temporary file: {e}"))?;
        let counts =
            write_report(&store, &request, &rules, &mut file).map_err(|e| e.to_string())?;
        info!(
            hosts = request.hosts.len(),
            snapshots = counts.snapshots,
            days = counts.days,
            "XLSX export written"
        );
        file.rewind().map_err(|e| e.to_string())?;
        Ok(file)
    })
    .await
    .map_err(|_| ApiError::internal("export failed"))?
    .map_err(|e| {
        error!("XLSX export failed: {e}");
        ApiError::unavailable("the export failed; see the server log")
    })?;
    let name = format!(
        "idlewatch-{}-{}.xlsx",
        local_date(from_ms, &tz),
        local_date(to_ms, &tz)
    );
    let body = Body::from_stream(ReaderStream::new(tokio::fs::File::from_std(file)));
    Ok((
        [
            (
                header::CONTENT_TYPE,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".to_owned(),
            ),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        body,
    )
        .into_response())
}
