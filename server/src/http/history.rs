//! `GET /api/v1/hosts/{host}/history?from=&to=&limit=&cursor=`: stored snapshots of one host,
//! oldest first by capture time, each exactly as sent plus the server's `received_at`, paged
//! with an opaque cursor; a page holds at most `limit` snapshots and [`MAX_PAGE_BYTES`]. Where
//! the range reaches back before the host's whole snapshots start (they were folded into
//! minutes), the pages first answer that part as minute rows, and say where snapshots start.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use idlewatch_protocol::parse_time_arg;
use idlewatch_store::{Error as StoreError, HistoryQuery};
use serde::Deserialize;
use tracing::error;

use super::access::Viewer;
use super::bad;
use super::error::ApiError;
use crate::state::AppState;
use idlewatch_protocol::time::now_ms;
use idlewatch_protocol::time::rfc3339_ms;

/// Snapshots per page unless `limit` says otherwise.
pub const DEFAULT_LIMIT: usize = 1000;
/// Most snapshots per page.
pub const MAX_LIMIT: usize = 10_000;
/// Most bytes of snapshot JSON per page: a page ends early (with a cursor) rather than grow
/// past it, whatever `limit` says.
pub const MAX_PAGE_BYTES: usize = 16 << 20;

mod aged;

/// Routes of this module.
pub fn routes() -> Router<AppState> {
    Router::new().route("/api/v1/hosts/{host}/history", get(history))
}

#[derive(Debug, Default, Deserialize)]
struct Params {
    from: Option<String>,
    to: Option<String>,
    limit: Option<String>,
    cursor: Option<String>,
}

fn parse_query(host: String, params: Params) -> Result<(HistoryQuery, Option<i64>), ApiError> {
    let now = now_ms();
    let time = |name: &str, v: Option<String>| {
        v.map(|t| parse_time_arg(&t, now).map_err(|e| bad(format!("`{name}`: {e}"))))
            .transpose()
    };
    let from_ms = time("from", params.from)?;
    let to_ms = time("to", params.to)?;
    if let (Some(from), Some(to)) = (from_ms, to_ms)
        && from >= to
    {
        return Err(bad("`from` must be before `to`".to_owned()));
    }
    let limit = match params.limit {
        None => DEFAULT_LIMIT,
        Some(text) => match text.parse::<usize>() {
            Ok(n) if (1..=MAX_LIMIT).contains(&n) => n,
            _ => {
                return Err(bad(format!(
                    "`limit` must be a number from 1 to {MAX_LIMIT}, got `{text}`"
                )));
            }
        },
    };
    let (after, after_minute) = match params.cursor.map(|c| decode_cursor(&c)).transpose()? {
        Some(Cursor::Snapshot(at)) => (Some(at), None),
        Some(Cursor::Minute(at)) => (None, Some(at)),
        None => (None, None),
    };
    Ok((
        HistoryQuery {
            host,
            from_ms,
            to_ms,
            limit,
            after,
        },
        after_minute,
    ))
}

/// Where a page continues: after a snapshot `(captured_ms, seq)`, or after a minute row of an
/// aged range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cursor {
    Snapshot((i64, u64)),
    Minute(i64),
}

fn encode_cursor(cursor: Cursor) -> String {
    URL_SAFE_NO_PAD.encode(match cursor {
        Cursor::Snapshot((captured_ms, n)) => format!("{captured_ms}.{n}"),
        Cursor::Minute(at_ms) => format!("m{at_ms}"),
    })
}

fn decode_cursor(text: &str) -> Result<Cursor, ApiError> {
    let invalid = || bad("`cursor` is not a cursor this server gave out".to_owned());
    let bytes = URL_SAFE_NO_PAD.decode(text).map_err(|_| invalid())?;
    let text = String::from_utf8(bytes).map_err(|_| invalid())?;
    if let Some(at) = text.strip_prefix('m') {
        return Ok(Cursor::Minute(at.parse().map_err(|_| invalid())?));
    }
    let (t, n) = text.split_once('.').ok_or_else(invalid)?;
    Ok(Cursor::Snapshot((
        t.parse().map_err(|_| invalid())?,
        n.parse().map_err(|_| invalid())?,
    )))
}

async fn history(
    viewer: Viewer,
    State(state): State<AppState>,
    Path(host): Path<String>,
    Query(params): Query<Params>,
) -> Result<impl IntoResponse, ApiError> {
    viewer.may_read(&state.groups, &host)?;
    let (query, after_minute) = parse_query(host.clone(), params)?;
    let store = state.store.clone();
    let page = tokio::task::spawn_blocking(move || aged::read(&store, query, after_minute))
        .await
        .map_err(|e| {
            error!("history query task failed: {e}");
            ApiError::internal("history query failed")
        })?;
    let page = match page {
        Ok(page) => page,
        Err(StoreError::UnknownHost(_)) if state.registry.knows(&host) => aged::Page::default(),
        Err(StoreError::UnknownHost(_)) => {
            return Err(ApiError::not_found(format!(
                "no host named {host:?} is known"
            )));
        }
        Err(e) => {
            error!(%host, "history query failed: {e}");
            return Err(ApiError::unavailable(
                "the store cannot be read right now; see the server log",
            ));
        }
    };
    Ok((
        [(header::CONTENT_TYPE, "application/json")],
        render(&host, &page),
    ))
}

/// `{"host", ["detail_from", "minutes": [...],] "snapshots": [...], "next_cursor"}`, written by
/// hand so every snapshot keeps its exact text; `received_at` is added as its last key.
fn render(host: &str, page: &aged::Page) -> String {
    let size: usize = page.snapshots.iter().map(|s| s.json.len() + 48).sum();
    let mut out = String::with_capacity(size + 128 + page.minutes.len() * 128);
    out.push_str("{\"host\":");
    out.push_str(&serde_json::to_string(host).unwrap_or_default());
    if let Some(detail_from) = page.detail_from {
        out.push_str(",\"detail_from\":\"");
        out.push_str(&rfc3339_ms(detail_from));
        out.push('"');
    }
    if !page.minutes.is_empty() {
        out.push_str(",\"minutes\":");
        out.push_str(&serde_json::to_string(&page.minutes).unwrap_or_default());
    }
    out.push_str(",\"snapshots\":[");
    for (i, s) in page.snapshots.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let body = s.json.trim_end();
        let body = body.strip_suffix('}').unwrap_or(body);
        out.push_str(body);
        out.push_str(",\"received_at\":\"");
        out.push_str(&rfc3339_ms(s.received_ms));
        out.push_str("\"}");
    }
    out.push_str("],\"next_cursor\":");
    match page.next {
        Some(next) => {
            out.push('"');
            out.push_str(&encode_cursor(next));
            out.push('"');
        }
        None => out.push_str("null"),
    }
    out.push('}');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::StatusCode;

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        for cursor in [
            Cursor::Snapshot((-5, 42)),
            Cursor::Minute(1_795_392_060_000),
        ] {
            assert_eq!(decode_cursor(&encode_cursor(cursor)).unwrap(), cursor);
        }
        assert!(decode_cursor(&URL_SAFE_NO_PAD.encode("mx")).is_err());
        assert!(decode_cursor("not-a-cursor!").is_err());
        assert!(decode_cursor(&URL_SAFE_NO_PAD.encode("1.x")).is_err());
    }

    #[test]
    fn bad_times_and_limits_say_which_parameter() {
        let err = parse_query(
            "h".into(),
            Params {
                from: Some("soon".into()),
                ..Params::default()
            },
        )
        .unwrap_err();
        assert_eq!(err.status_code(), StatusCode::BAD_REQUEST);
        let err = parse_query(
            "h".into(),
            Params {
                limit: Some("0".into()),
                ..Params::default()
            },
        )
        .unwrap_err();
        assert_eq!(err.status_code(), StatusCode::BAD_REQUEST);
    }
}
