//! The licence views from what the PCs reported, over a time range (`from`, `to`: default the
//! last 30 days; `host` repeatable and `group` select the PCs), all viewer:
//!
//! - `GET /api/v1/licences`: per watched app, the peak seats held and in use, licence-hours per
//!   state, and the seats the licence servers issue;
//! - `GET /api/v1/licences/{app}/heatmap`: the hour-of-week grid, mean and peak in use;
//! - `GET /api/v1/licences/{app}/simulate?reclaim_after=30m`: the peak seats needed had every
//!   seat idle longer than that been released, beside the peak held, week by week.

use std::collections::BTreeMap;

use axum::extract::{Path, Query, State};
use axum::routing::get;
use axum::{Json, Router};
use idlewatch_licences::seats::{self, Peak, WEEK_HOURS};
use idlewatch_protocol::api::{
    AppSeats, Heatmap, HeatmapCell, HeatmapDay, PeakView, ReclaimAnswer, ReclaimWeek, SeatsAnswer,
};
use idlewatch_protocol::time::{duration, now_ms, rfc3339_ms};
use jiff::Timestamp;

use super::access::Viewer;
use super::error::ApiError;
use super::selection::{self, Pairs};
use super::{bad, blocking};
use crate::licences::view;
use crate::report::hours::DAYS;
use crate::report::seats::{AppSpans, spans_by_app};
use crate::state::AppState;

const DAY_MS: i64 = 86_400_000;
/// The range asked when `from` is not given: this long before `to`.
pub const DEFAULT_SPAN_MS: i64 = 30 * DAY_MS;
/// Most host-days one answer reads (as `GET /api/v1/usage`).
pub const MAX_HOST_DAYS: i64 = 100_000;

/// Routes of this module.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/licences", get(overview))
        .route("/api/v1/licences/{app}/heatmap", get(heatmap))
        .route("/api/v1/licences/{app}/simulate", get(simulate))
}

/// The range, the selection and every app's spans in it.
struct Selected {
    from_ms: i64,
    to_ms: i64,
    group: Option<String>,
    apps: BTreeMap<String, AppSpans>,
}

async fn select(state: &AppState, pairs: &Pairs, viewer: &Viewer) -> Result<Selected, ApiError> {
    let (from_ms, to_ms) = selection::time_range(pairs, DEFAULT_SPAN_MS)?;
    let to_ms = to_ms.min(now_ms());
    if from_ms >= to_ms {
        return Err(bad("`from` must be in the past"));
    }
    let hosts = selection::hosts(state, pairs, viewer.scope.as_deref()).await?;
    let (from_ms, to_ms) = selection::bound_to_data(state, &hosts, from_ms, to_ms).await?;
    let days = (to_ms - from_ms).max(0) / DAY_MS + 2;
    let host_days = days.saturating_mul(hosts.len() as i64);
    if host_days > MAX_HOST_DAYS {
        return Err(bad(format!(
            "the range holds data on up to {days} days of {} hosts ({host_days} host-days); at \
             most {MAX_HOST_DAYS} per request: narrow `from`/`to`, or select hosts with `host` \
             or `group`",
            hosts.len()
        )));
    }
    let rules = state.config.report.rules();
    let store = state.store.clone();
    let apps = blocking("reading the seats", move || {
        spans_by_app(&store, &hosts, from_ms, to_ms, &rules)
    })
    .await?;
    let group = pairs
        .iter()
        .find(|(k, _)| k == "group")
        .map(|(_, v)| v.clone());
    Ok(Selected {
        from_ms,
        to_ms,
        group,
        apps,
    })
}

fn peak(p: Peak) -> PeakView {
    PeakView {
        seats: p.seats,
        at: p.at_ms.map(rfc3339_ms),
    }
}

fn hours(h: f64) -> f64 {
    (h * 100.0).round() / 100.0
}

/// The seats the licence servers of `app` issue (their latest successful polls, `answer`), if
/// any is configured for it.
fn issued(answer: &idlewatch_protocol::api::LicenceServersAnswer, app: &str) -> Option<u32> {
    let mine: Vec<_> = answer
        .servers
        .iter()
        .filter(|s| s.app.eq_ignore_ascii_case(app))
        .collect();
    (!mine.is_empty()).then(|| {
        mine.iter()
            .filter(|s| s.error.is_none())
            .map(|s| s.issued)
            .sum()
    })
}

async fn overview(
    viewer: Viewer,
    State(state): State<AppState>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Json<SeatsAnswer>, ApiError> {
    let selected = select(&state, &pairs, &viewer).await?;
    let tz = state.config.report.rules().time_zone;
    let servers = view::answer(&state.licence_servers, &[], &tz);
    let apps = selected
        .apps
        .values()
        .map(|app| {
            let s = seats::seats(&app.hosts, selected.from_ms, selected.to_ms, &tz);
            AppSeats {
                app: app.name.clone(),
                pcs: u32::try_from(app.pcs_running(selected.from_ms, selected.to_ms))
                    .unwrap_or(u32::MAX),
                peak_running: peak(s.peak_running),
                peak_in_use: peak(s.peak_in_use),
                interactive_hours: hours(s.hours.interactive),
                computing_hours: hours(s.hours.computing),
                idle_hours: hours(s.hours.idle),
                issued: issued(&servers, &app.name),
            }
        })
        .collect();
    Ok(Json(SeatsAnswer {
        from: rfc3339_ms(selected.from_ms),
        to: rfc3339_ms(selected.to_ms),
        time_zone: state.config.report.time_zone.clone(),
        group: selected.group,
        apps,
    }))
}

fn the_app<'a>(selected: &'a Selected, app: &str) -> Result<&'a AppSpans, ApiError> {
    selected.apps.get(&app.to_lowercase()).ok_or_else(|| {
        ApiError::not_found(format!(
            "no PC reported a watched app named {app:?} in that range; `GET /api/v1/licences` \
             lists those that did"
        ))
    })
}

async fn heatmap(
    viewer: Viewer,
    State(state): State<AppState>,
    Path(app): Path<String>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Json<Heatmap>, ApiError> {
    let selected = select(&state, &pairs, &viewer).await?;
    let spans = the_app(&selected, &app)?;
    let tz = state.config.report.rules().time_zone;
    let s = seats::seats(&spans.hosts, selected.from_ms, selected.to_ms, &tz);
    debug_assert_eq!(DAYS.len() * 24, WEEK_HOURS);
    let days = DAYS
        .iter()
        .enumerate()
        .map(|(d, day)| HeatmapDay {
            day: (*day).to_owned(),
            hours: (0..24u8)
                .map(|h| HeatmapCell {
                    hour: h,
                    mean_in_use: s
                        .week
                        .mean(d, usize::from(h))
                        .map(|m| (m * 100.0).round() / 100.0),
                    peak_in_use: s.week.peak(d, usize::from(h)),
                })
                .collect(),
        })
        .collect();
    Ok(Json(Heatmap {
        app: spans.name.clone(),
        from: rfc3339_ms(selected.from_ms),
        to: rfc3339_ms(selected.to_ms),
        time_zone: state.config.report.time_zone.clone(),
        group: selected.group.clone(),
        days,
    }))
}

async fn simulate(
    viewer: Viewer,
    State(state): State<AppState>,
    Path(app): Path<String>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Json<ReclaimAnswer>, ApiError> {
    let Some(after) = pairs
        .iter()
        .find(|(k, _)| k == "reclaim_after")
        .map(|(_, v)| v.as_str())
    else {
        return Err(bad(
            "`reclaim_after` is missing: say after how long idle a seat is released, e.g. 30m",
        ));
    };
    let after = duration::parse(after).map_err(|e| bad(format!("`reclaim_after`: {e}")))?;
    let selected = select(&state, &pairs, &viewer).await?;
    let spans = the_app(&selected, &app)?;
    let tz = state.config.report.rules().time_zone;
    let after_ms = i64::try_from(after.as_millis()).unwrap_or(i64::MAX);
    let weeks = seats::simulate(
        &spans.hosts,
        after_ms,
        selected.from_ms,
        selected.to_ms,
        &tz,
    );
    let max = |f: fn(&seats::WeekPeaks) -> Peak| {
        weeks.iter().map(f).fold(
            Peak::default(),
            |best, p| if p.seats > best.seats { p } else { best },
        )
    };
    let held = max(|w| w.held);
    let needed = max(|w| w.needed);
    let weeks = weeks
        .iter()
        .map(|w| ReclaimWeek {
            week: Timestamp::from_millisecond(w.start_ms)
                .map(|t| t.to_zoned_datetime(tz.clone()).date().to_string())
                .unwrap_or_default(),
            held: peak(w.held),
            needed: peak(w.needed),
        })
        .collect();
    Ok(Json(ReclaimAnswer {
        app: spans.name.clone(),
        reclaim_after_seconds: after.as_secs(),
        from: rfc3339_ms(selected.from_ms),
        to: rfc3339_ms(selected.to_ms),
        time_zone: state.config.report.time_zone.clone(),
        group: selected.group.clone(),
        held: peak(held),
        needed: peak(needed),
        weeks,
    }))
}
