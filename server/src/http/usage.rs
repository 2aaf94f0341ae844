//! `GET /api/v1/usage?from=&to=&host=&group=` (viewer): utilization per host per local day
//! (the `Utilization` sheet of the XLSX report as JSON), plus totals per group and day. The
//! range defaults to the last 7 days and never extends past now (the rest of today is not
//! counted as offline), and starts no earlier than the stored data: an answer holds at most
//! [`MAX_HOST_DAYS`] host-days.

use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json, Router};
use idlewatch_protocol::api::{AppHours, GroupDay, HostUsage, UsageAnswer, UsageDay};

use super::access::Viewer;
use super::error::ApiError;
use super::selection;
use crate::report::daily::usage_by_day;
use crate::report::usage::{DayUsage, group_totals};
use crate::state::AppState;

const WEEK_MS: i64 = 7 * 86_400_000;
const DAY_MS: i64 = 86_400_000;

/// Most host-days one answer holds (200 hosts over a year fit; about 30 MB of JSON).
pub const MAX_HOST_DAYS: i64 = 100_000;
const HOUR_MS: f64 = 3_600_000.0;

/// Routes of this module.
pub fn routes() -> Router<AppState> {
    Router::new().route("/api/v1/usage", get(usage))
}

fn hours(ms: i64) -> f64 {
    (ms as f64 / HOUR_MS * 100.0).round() / 100.0
}

/// One day of use as the API writes it.
fn day(d: &DayUsage) -> UsageDay {
    UsageDay {
        date: d.date.to_string(),
        active_hours: hours(d.active_ms),
        idle_hours: hours(d.idle_ms),
        offline_hours: hours(d.offline_ms),
        open_hours: hours(d.open_ms),
        active_open_hours: hours(d.active_open_ms),
        utilization_percent: d.utilization().map(|u| (u * 1000.0).round() / 10.0),
        logons: d.logons,
        distinct_users: d.users.len(),
        apps: d
            .apps
            .iter()
            .map(|(name, t)| {
                (
                    name.clone(),
                    AppHours {
                        interactive_hours: hours(t.interactive_ms),
                        computing_hours: hours(t.computing_ms),
                        idle_hours: hours(t.idle_ms),
                        not_running_hours: hours(t.not_running_ms),
                    },
                )
            })
            .collect(),
    }
}

async fn usage(
    viewer: Viewer,
    State(state): State<AppState>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Json<UsageAnswer>, ApiError> {
    let (from_ms, to_ms) = selection::time_range(&pairs, WEEK_MS)?;
    let to_ms = to_ms.min(idlewatch_protocol::time::now_ms());
    if from_ms >= to_ms {
        return Err(ApiError::new(
            axum::http::StatusCode::BAD_REQUEST,
            idlewatch_protocol::ErrorCode::BadRequest,
            "`from` must be in the past",
        ));
    }
    let hosts = selection::hosts(&state, &pairs, viewer.scope.as_deref()).await?;
    let asked = (from_ms, to_ms);
    let (from_ms, to_ms) = selection::bound_to_data(&state, &hosts, from_ms, to_ms).await?;
    // PCs that should report and never did have no data to bound the range by: they count
    // offline over the range asked.
    let (from_ms, to_ms) =
        if from_ms >= to_ms && hosts.iter().any(|h| state.directory.lookup(h).is_some()) {
            asked
        } else {
            (from_ms, to_ms)
        };
    let days = (to_ms - from_ms).max(0) / DAY_MS + 2;
    let host_days = days.saturating_mul(hosts.len() as i64);
    if host_days > MAX_HOST_DAYS {
        return Err(super::bad(format!(
            "the range holds data on up to {days} days of {} hosts ({host_days} host-days); at \
             most {MAX_HOST_DAYS} per request: narrow `from`/`to`, or select hosts with `host` \
             or `group`",
            hosts.len()
        )));
    }
    let rules = state.config.report.rules();
    let worker = state.clone();
    let computed = super::blocking("usage computation", move || {
        // The PCs the directory lists that never reported count offline all along.
        let expected = |host: &str| worker.directory.lookup(host).is_some();
        usage_by_day(&worker.store, &hosts, from_ms, to_ms, &rules, &expected)
    })
    .await?;
    let groups: Vec<Option<String>> = computed.iter().map(|h| state.groups.of(&h.host)).collect();
    let totals = group_totals(
        groups
            .iter()
            .zip(&computed)
            .filter(|(g, _)| g.is_some())
            .map(|(g, h)| (g.as_deref(), h.days.as_slice())),
    );
    let hosts: Vec<HostUsage> = computed
        .iter()
        .zip(&groups)
        .map(|(h, group)| HostUsage {
            host: h.host.clone(),
            group: group.clone(),
            days: h.days.iter().map(day).collect(),
        })
        .collect();
    let groups: Vec<GroupDay> = totals
        .iter()
        .map(|((group, _), d)| GroupDay {
            day: day(d),
            group: group.clone(),
        })
        .collect();
    Ok(Json(UsageAnswer {
        time_zone: state.config.report.time_zone.clone(),
        from: idlewatch_protocol::time::rfc3339_ms(from_ms),
        to: idlewatch_protocol::time::rfc3339_ms(to_ms),
        hosts,
        groups,
    }))
}
