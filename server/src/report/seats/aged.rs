//! Spans of the time a PC's snapshots were folded into minute rows (or, past `[retention]
//! minutes`, hour rows), where no host-day rollup serves: each row's milliseconds per app and
//! state laid out from the row's start in the order they were counted. Seat-hours stay exact;
//! a peak is placed to the minute (to the hour from hour rows), as the timeline does.

use idlewatch_store::Error;

use super::HostSpans;
use crate::stores::Stores;
use idlewatch_protocol::StateSpan;

/// `host`'s spans in `[from_ms, to_ms)` from its minute and hour rows.
///
/// # Errors
/// The store's.
pub(super) fn host_spans_from_tiers(
    store: &Stores,
    host: &str,
    from_ms: i64,
    to_ms: i64,
) -> Result<HostSpans, Error> {
    let mut out = HostSpans::default();
    for row in store.tier_rows(host, from_ms, to_ms, |_| true)? {
        let end = row.at_ms.saturating_add(row.span_ms);
        // How far into the row each app (without case: one seat) is laid out so far.
        let mut laid: Vec<(String, i64)> = Vec::new();
        for (name, state, ms) in &row.minute.apps {
            let key = name.to_lowercase();
            let offset = match laid.iter_mut().find(|(k, _)| *k == key) {
                Some((_, offset)) => offset,
                None => {
                    laid.push((key, 0));
                    &mut laid.last_mut().expect("just pushed").1
                }
            };
            let start = row.at_ms.saturating_add(*offset);
            *offset = offset.saturating_add(i64::from(*ms));
            let stop = row.at_ms.saturating_add(*offset).min(end);
            let (start, stop) = (start.max(from_ms), stop.min(to_ms));
            if start < stop {
                out.push(
                    name,
                    StateSpan {
                        start_ms: start,
                        end_ms: stop,
                        state: *state,
                    },
                );
            }
        }
    }
    Ok(out)
}
