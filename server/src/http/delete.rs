//! `DELETE /api/v1/hosts/{host}/snapshots?from=&to=` (admin): removes one host's stored
//! snapshots captured in the range (all of them without one), a chunk at a time between the
//! store's group commits; answers once done with how many went. The live state then shows the
//! host's latest remaining snapshot, or forgets the host if nothing is left and no agent of it
//! is connected. Not bound by `limits.request_timeout`: a large host takes a while.

use std::time::{Duration, UNIX_EPOCH};

use axum::extract::{Path, Query, State};
use axum::routing::delete;
use axum::{Json, Router};
use idlewatch_protocol::api::Deleted;
use idlewatch_protocol::{Snapshot, parse_time_arg};
use idlewatch_store::{DeleteQuery, Error as StoreError};
use serde::Deserialize;
use tracing::{error, info};

use super::access::Admin;
use super::bad;
use super::error::ApiError;
use crate::registry::Latest;
use crate::state::AppState;
use idlewatch_protocol::time::now_ms;
use idlewatch_protocol::time::rfc3339_ms;

/// Routes of this module.
pub fn routes() -> axum::Router<AppState> {
    Router::new().route("/api/v1/hosts/{host}/snapshots", delete(remove))
}

#[derive(Debug, Default, Deserialize)]
struct Range {
    from: Option<String>,
    to: Option<String>,
}

async fn remove(
    _: Admin,
    State(state): State<AppState>,
    Path(host): Path<String>,
    Query(range): Query<Range>,
) -> Result<Json<Deleted>, ApiError> {
    let now = now_ms();
    let time = |name: &str, v: Option<String>| {
        v.map(|t| parse_time_arg(&t, now).map_err(|e| bad(format!("`{name}`: {e}"))))
            .transpose()
    };
    let from_ms = time("from", range.from)?;
    let to_ms = time("to", range.to)?;
    if let (Some(from), Some(to)) = (from_ms, to_ms)
        && from >= to
    {
        return Err(bad("`from` must be before `to`".to_owned()));
    }
    let query = DeleteQuery {
        host: host.clone(),
        from_ms,
        to_ms,
    };
    let store = state.store.clone();
    let horizon = now.saturating_add(state.config.limits.max_clock_skew_ms());
    let wanted = host.clone();
    let outcome = tokio::task::spawn_blocking(move || {
        let deleted = store.delete(query)?;
        let latest = store.latest_of(&wanted, horizon)?;
        Ok::<_, StoreError>((deleted, latest))
    })
    .await
    .map_err(|_| ApiError::internal("deleting failed"))?;
    let (deleted, latest) = match outcome {
        Ok(done) => done,
        Err(StoreError::UnknownHost(_)) => {
            return Err(ApiError::not_found(format!(
                "no host named {host:?} has stored snapshots"
            )));
        }
        Err(e) => {
            error!(%host, "deleting snapshots failed: {e}");
            return Err(ApiError::unavailable(
                "the store cannot delete right now; see the server log",
            ));
        }
    };
    let latest = latest.and_then(|stored| {
        let snapshot = Snapshot::parse(&stored.json).ok()?;
        let received =
            UNIX_EPOCH + Duration::from_millis(u64::try_from(stored.received_ms).unwrap_or(0));
        Some((std::sync::Arc::new(Latest::of(&snapshot)), received))
    });
    state.registry.replace_latest(&host, latest);
    info!(%host, deleted, "deleted stored snapshots on request");
    Ok(Json(Deleted {
        host,
        deleted,
        from: from_ms.map(rfc3339_ms),
        to: to_ms.map(rfc3339_ms),
    }))
}
