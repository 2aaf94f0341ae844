//! `GET /api/v1/status` (viewer): what `idlewatch-admin status` shows — version, uptime, hosts
//! online and offline, the store's size and snapshot count, the Sheets uploader's state and the
//! server's part in a cluster. `GET /api/v1/store/stats` (viewer): what the database a cluster
//! on PostgreSQL shares holds, per tier and per host (`idlewatch-admin db stats --shared`).
//! Not for a token scoped to labs: all of it is the whole server's.

use std::time::SystemTime;

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use idlewatch_protocol::api::{
    ClusterStatus, HostCounts, ServerStatus, SharedBytes, StoreInfo, StoreStats,
};

use super::access::Viewer;
use crate::config::cluster::without_password;
use crate::state::AppState;
use idlewatch_protocol::time::rfc3339;

/// Routes of this module.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/status", get(status))
        .route("/api/v1/store/stats", get(store_stats))
}

async fn store_stats(
    viewer: Viewer,
    State(state): State<AppState>,
) -> Result<Json<StoreStats>, super::error::ApiError> {
    viewer.whole_server("the store's stats")?;
    let store = state.store.clone();
    let Some(stats) = super::error::blocking("reading the shared store's stats", move || {
        store.shared_stats().transpose()
    })
    .await?
    else {
        return Err(super::error::ApiError::not_found(
            "this server keeps its snapshots in its own file, not in a shared database; run \
             idlewatch-admin db stats --data-dir DIR on its data directory while it is stopped",
        ));
    };
    Ok(Json(StoreStats {
        path: without_password(&state.config.cluster.postgres_url),
        ..stats
    }))
}

async fn status(
    viewer: Viewer,
    State(state): State<AppState>,
) -> Result<Json<ServerStatus>, super::error::ApiError> {
    // The store, the uploads and the counts are the whole server's.
    viewer.whole_server("the server's status")?;
    let now = SystemTime::now();
    let views = state.registry.views(now);
    let online = views.iter().filter(|v| v.online).count();
    let uptime = state.started.elapsed();
    let store = state.store.clone();
    let (snapshots, shared_bytes) = tokio::task::spawn_blocking(move || {
        let bytes = store
            .shared_bytes()
            .and_then(Result::ok)
            .map(|b| SharedBytes {
                snapshots: b.snapshots,
                minutes: b.minutes,
                days: b.days,
            });
        (store.snapshot_count().ok(), bytes)
    })
    .await
    .unwrap_or_default();
    Ok(Json(ServerStatus {
        version: env!("CARGO_PKG_VERSION").to_owned(),
        started_at: rfc3339(now.checked_sub(uptime).unwrap_or(now)),
        uptime_seconds: uptime.as_secs(),
        hosts: HostCounts {
            online,
            offline: views.len() - online,
        },
        store: StoreInfo {
            path: state.store.local().path().display().to_string(),
            file_bytes: state.store.local().file_size(),
            snapshots,
            shared: state
                .store
                .shared()
                .then(|| without_password(&state.config.cluster.postgres_url)),
            shared_bytes,
        },
        retention_days: state.config.retention.days,
        retention_snapshots_seconds: state.config.retention.snapshots().map(|d| d.as_secs()),
        retention_minutes_seconds: state.config.retention.minutes().map(|d| d.as_secs()),
        sheets: state.sheets.status(),
        time_zone: state.config.report.time_zone.clone(),
        cluster: state.cluster().map(|c| ClusterStatus {
            id: c.id().to_owned(),
            servers: c.peers() + 1,
            leads: c.lead.held(),
        }),
    }))
}
