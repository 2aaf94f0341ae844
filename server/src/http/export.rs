//! `GET /export.xlsx?from=&to=&host=&group=` (admin): the XLSX report, written to an anonymous
//! temporary file off the async runtime and streamed back, so memory stays flat whatever the
//! range. `host` may repeat; `group` selects the hosts of a group (from `[report.groups]` or
//! the hosts' own `group` field). The range defaults to the last 7 days.

use std::io::Seek;
use std::time::SystemTime;

use axum::Router;
use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use idlewatch_protocol::{ErrorCode, parse_time_arg};
use jiff::tz::TimeZone;
use tokio_util::io::ReaderStream;
use tracing::{error, info};

use super::access::Admin;
use super::error::ApiError;
use crate::report::usage::Rules;
use crate::report::xlsx::{ExportRequest, write_report};
use crate::state::AppState;

/// Routes of this module.
pub fn routes() -> Router<AppState> {
    Router::new().route("/export.xlsx", get(export))
}

const WEEK_MS: i64 = 7 * 86_400_000;

fn bad(message: String) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, ErrorCode::BadRequest, message)
}

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
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(0));
    let value = |key: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    };
    let time = |key: &str, default: i64| -> Result<i64, ApiError> {
        value(key).map_or(Ok(default), |t| {
            parse_time_arg(t, now).map_err(|e| bad(format!("`{key}`: {e}")))
        })
    };
    let (from_ms, to_ms) = (time("from", now - WEEK_MS)?, time("to", now)?);
    if from_ms >= to_ms {
        return Err(bad("`from` must be before `to`".to_owned()));
    }
    let wanted: Vec<&str> = pairs
        .iter()
        .filter(|(k, _)| k == "host")
        .map(|(_, v)| v.as_str())
        .collect();
    let group = value("group").map(str::to_owned);
    let store = state.store.clone();
    let rules = Rules::from_config(&state.config.report);
    let tz = rules.time_zone.clone();
    let known = {
        let store = store.clone();
        tokio::task::spawn_blocking(move || store.host_names())
            .await
            .map_err(|_| ApiError::internal("export failed"))?
            .map_err(|e| {
                error!("export: cannot list hosts: {e}");
                ApiError::unavailable("the store cannot be read right now")
            })?
    };
    for host in &wanted {
        if !known.iter().any(|k| k == host) {
            return Err(ApiError::not_found(format!(
                "no host named {host:?} is known"
            )));
        }
    }
    let in_group = |host: &str| match &group {
        None => true,
        Some(g) => {
            state
                .config
                .report
                .groups
                .get(g)
                .is_some_and(|hs| hs.iter().any(|h| h == host))
                || state.registry.group_of(host).as_deref() == Some(g.as_str())
        }
    };
    let hosts: Vec<String> = known
        .into_iter()
        .filter(|h| wanted.is_empty() || wanted.contains(&h.as_str()))
        .filter(|h| in_group(h))
        .collect();
    if let Some(g) = &group
        && hosts.is_empty()
    {
        return Err(ApiError::not_found(format!(
            "no host belongs to group {g:?}"
        )));
    }
    let request = ExportRequest {
        hosts,
        from_ms,
        to_ms,
    };
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
