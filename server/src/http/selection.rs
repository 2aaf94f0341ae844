//! What a report request selects: the time range (`from`, `to`) and the hosts (`host`,
//! repeatable, and `group`), with the same checks and messages for every report route.

use idlewatch_protocol::parse_time_arg;

use super::error::ApiError;
use super::{bad, blocking};
use crate::auth::Scope;
use crate::report::daily::day_start_ms;
use crate::report::scan::first_capture;
use crate::state::AppState;
use idlewatch_protocol::time::now_ms;

/// Query pairs as given (keys may repeat).
pub type Pairs = [(String, String)];

fn value<'a>(pairs: &'a Pairs, key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// `[from, to)` in epoch ms; `from` defaults to `default_span_ms` before `to`, `to` to now.
///
/// # Errors
/// 400 naming the parameter that does not parse, or when `from` is not before `to`.
pub fn time_range(pairs: &Pairs, default_span_ms: i64) -> Result<(i64, i64), ApiError> {
    let now = now_ms();
    let time = |key: &str| -> Result<Option<i64>, ApiError> {
        value(pairs, key)
            .map(|t| parse_time_arg(t, now).map_err(|e| bad(format!("`{key}`: {e}"))))
            .transpose()
    };
    let to = time("to")?.unwrap_or(now);
    let from = time("from")?.unwrap_or(to - default_span_ms);
    if from >= to {
        return Err(bad("`from` must be before `to`".to_owned()));
    }
    Ok((from, to))
}

/// `[from_ms, to_ms)` narrowed to where data can be: from the start of the local day (in the
/// report zone) of the earliest snapshot of `hosts`, to now. A range asked from year 1 then
/// costs what the data costs, not a day of work per day since then. Empty (`from >= to`) when
/// the hosts have nothing before `to_ms`.
///
/// # Errors
/// 503 when the store cannot be read.
pub async fn bound_to_data(
    state: &AppState,
    hosts: &[String],
    from_ms: i64,
    to_ms: i64,
) -> Result<(i64, i64), ApiError> {
    let store = state.store.clone();
    let hosts = hosts.to_vec();
    let rules = state.config.report.rules();
    let to_ms = to_ms.min(now_ms());
    let earliest = blocking("reading the stored range", move || {
        let mut earliest: Option<i64> = None;
        for host in &hosts {
            if let Some(first) = first_capture(&store, host)? {
                earliest = Some(earliest.map_or(first, |e| e.min(first)));
            }
        }
        Ok::<_, idlewatch_store::Error>(earliest)
    })
    .await?;
    let Some(earliest) = earliest else {
        return Ok((to_ms, to_ms));
    };
    let first_day = jiff::Timestamp::from_millisecond(earliest)
        .ok()
        .map(|t| t.to_zoned_datetime(rules.time_zone.clone()).date())
        .and_then(|d| day_start_ms(d, &rules).ok())
        .unwrap_or(earliest);
    Ok((from_ms.max(first_day), to_ms))
}

/// The known hosts selected by `host` (repeatable; all when absent) and `group` (as
/// [`crate::groups::HostGroups`] decides it), sorted. The PCs the directory lists that never
/// reported are known too: they have no data, so reports count them offline all along. A
/// `scope` (a token scoped to labs) knows only the hosts of its labs.
///
/// # Errors
/// 404 for a `host` neither the store nor the directory knows (or outside the scope) or a
/// `group` with no host; 503 when the store cannot be read.
pub async fn hosts(
    state: &AppState,
    pairs: &Pairs,
    scope: Option<&Scope>,
) -> Result<Vec<String>, ApiError> {
    let wanted: Vec<&str> = pairs
        .iter()
        .filter(|(k, _)| k == "host")
        .map(|(_, v)| v.as_str())
        .collect();
    let group = value(pairs, "group");
    let store = state.store.clone();
    let mut known = blocking("listing hosts", move || store.host_names()).await?;
    let listed = state.directory.all();
    let silent: Vec<String> = crate::directory::never_seen(&listed, &known)
        .into_iter()
        .map(|h| h.host.clone())
        .collect();
    known.extend(silent);
    if let Some(scope) = scope {
        known.retain(|h| scope.admits(state.groups.of(h).as_deref()));
    }
    known.sort();
    if let Some(host) = wanted.iter().find(|h| !known.iter().any(|k| k == *h)) {
        return Err(ApiError::not_found(format!(
            "no host named {host:?} is known"
        )));
    }
    let in_group = |host: &str| group.is_none_or(|g| state.groups.of(host).as_deref() == Some(g));
    let hosts: Vec<String> = known
        .into_iter()
        .filter(|h| wanted.is_empty() || wanted.contains(&h.as_str()))
        .filter(|h| in_group(h))
        .collect();
    if let Some(g) = group
        && hosts.is_empty()
    {
        return Err(ApiError::not_found(format!(
            "no host belongs to group {g:?}"
        )));
    }
    Ok(hosts)
}
