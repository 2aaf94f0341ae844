//! One history page over tiers: the minute rows of the part of the range before the host's
//! `detail_from` (its whole snapshots start there; hour rows of its day rows where the minutes
//! were deleted), then its snapshots, `limit` items in all; the cursor says which part the
//! next page continues in.

use std::collections::BTreeMap;

use idlewatch_protocol::api::{MeanMax, MinuteRow};
use idlewatch_protocol::time::rfc3339_ms;
use idlewatch_store::{Error, HistoryQuery, Level, MINUTE_MS, StoredSnapshot};

use super::{Cursor, MAX_PAGE_BYTES};
use crate::stores::Stores;

/// What one page holds.
#[derive(Debug, Default)]
pub(super) struct Page {
    /// Where the host's whole snapshots start, when some were folded into minutes.
    pub detail_from: Option<i64>,
    /// Minute (and hour) rows of the aged part of the range.
    pub minutes: Vec<MinuteRow>,
    /// Snapshots.
    pub snapshots: Vec<StoredSnapshot>,
    /// Where the next page starts.
    pub next: Option<Cursor>,
}

/// Reads the page `query` asks for, continuing after the minute `after_minute` when the
/// cursor was one of the minutes.
pub(super) fn read(
    store: &Stores,
    mut query: HistoryQuery,
    after_minute: Option<i64>,
) -> Result<Page, Error> {
    let detail_from = store.detail_from(&query.host)?;
    let mut page = Page {
        detail_from,
        ..Page::default()
    };
    if let Some(split) = detail_from
        && query.after.is_none()
    {
        let from = after_minute.map_or(query.from_ms.unwrap_or(i64::MIN), |at| at + MINUTE_MS);
        let to = query.to_ms.unwrap_or(i64::MAX).min(split);
        if from < to {
            let mut rows = Vec::new();
            // One more than a page, to know whether another follows.
            // Minutes where kept, else the hours of the day rows.
            store.each_tier_row(
                &query.host,
                from,
                to,
                |_| true,
                |row| {
                    rows.push(row);
                    Ok::<bool, Error>(rows.len() <= query.limit)
                },
            )?;
            if rows.len() > query.limit {
                rows.truncate(query.limit);
                page.next = rows.last().map(|r| Cursor::Minute(r.at_ms));
                page.minutes = rows.iter().map(minute_row).collect();
                return Ok(page);
            }
            page.minutes = rows.iter().map(minute_row).collect();
        }
        query.limit -= page.minutes.len();
        if query.limit == 0 {
            // The minutes filled the page: the next one starts after the last aged minute.
            page.next = Some(Cursor::Minute(to.saturating_sub(MINUTE_MS)));
            return Ok(page);
        }
        query.from_ms = Some(query.from_ms.unwrap_or(i64::MIN).max(split));
    }
    let snapshots = store.history_bounded(&query, MAX_PAGE_BYTES)?;
    page.snapshots = snapshots.snapshots;
    page.next = snapshots.next.map(Cursor::Snapshot);
    Ok(page)
}

fn minute_row(row: &idlewatch_store::MinuteRow) -> MinuteRow {
    let m = &row.minute;
    let mut apps: BTreeMap<String, BTreeMap<String, u32>> = BTreeMap::new();
    for (app, state, ms) in &m.apps {
        *apps
            .entry(app.to_string())
            .or_default()
            .entry(state.as_str().to_owned())
            .or_default() += ms;
    }
    let level = |l: Level| MeanMax {
        mean: f64::from(l.mean_tenths) / 10.0,
        max: f64::from(l.max_tenths) / 10.0,
    };
    let covered = i64::from(m.active_ms) + i64::from(m.idle_ms);
    MinuteRow {
        at: rfc3339_ms(row.at_ms),
        span_ms: u32::try_from(row.span_ms).unwrap_or(u32::MAX),
        active_ms: m.active_ms,
        idle_ms: m.idle_ms,
        offline_ms: u32::try_from((row.span_ms - covered).max(0)).unwrap_or(0),
        apps,
        cpu_percent: m.cpu.map(level),
        memory_percent: m.memory.map(level),
        foreground_process: m.foreground.as_deref().map(str::to_owned),
        users: m.users.iter().map(|u| u.to_string()).collect(),
        logons: m.logons,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use idlewatch_protocol::Snapshot;
    use idlewatch_store::{OpenOptions, Store};

    use super::*;
    use crate::report::minutes::tests::append_all;

    /// 2026-11-23 00:00 UTC.
    const DAY0: i64 = 1_795_392_000_000;
    const HOUR: i64 = 3_600_000;

    #[test]
    fn pages_walk_the_minutes_then_the_snapshots_and_say_where_detail_starts() {
        let (store, _writer) = Store::in_memory(&OpenOptions::default()).unwrap();
        let store = crate::stores::Stores::from(store);
        // A snapshot every 30 s for three hours.
        let snapshots: Vec<_> = (0..360)
            .map(|i| {
                let at = DAY0 + i * 30_000;
                let json = format!(
                    r#"{{"host":"pc1","captured_at":{at},"user_active":true,"cpu_percent":12.5,
                       "watched":{{"Ansys":{{"state":"interactive"}}}}}}"#
                );
                (Arc::new(Snapshot::parse(&json).unwrap()), at)
            })
            .collect();
        append_all(&store, &snapshots);
        store.local().age(DAY0 + 2 * HOUR, 90_000).unwrap();

        let (minutes, shots, pages) = walk(&store, DAY0 + HOUR, 50);
        assert_eq!(
            store.detail_from("pc1").unwrap(),
            Some(DAY0 + 2 * HOUR),
            "the snapshots start where aging stopped"
        );
        // The second hour as 60 minute rows, then the third hour's 120 snapshots.
        assert_eq!(minutes.len(), 60);
        assert_eq!(minutes[0].at, rfc3339_ms(DAY0 + HOUR));
        assert_eq!(minutes[0].active_ms, 60_000);
        assert_eq!(minutes[0].apps["Ansys"]["interactive"], 60_000);
        assert_eq!(minutes[0].cpu_percent.map(|c| c.mean), Some(12.5));
        let expected: Vec<i64> = (240..360).map(|i| DAY0 + i * 30_000).collect();
        assert_eq!(shots, expected);
        assert_eq!(pages, 4, "180 items in pages of 50");
    }

    /// Every page of `host`'s history from `from_ms`, walked with the cursor: its minute (hour)
    /// rows and its snapshots' capture times.
    fn walk(store: &Stores, from_ms: i64, limit: usize) -> (Vec<MinuteRow>, Vec<i64>, usize) {
        let (mut rows, mut shots, mut cursor, mut pages) = (Vec::new(), Vec::new(), None, 0);
        loop {
            let query = HistoryQuery {
                host: "pc1".to_owned(),
                from_ms: Some(from_ms),
                to_ms: None,
                limit,
                after: match cursor {
                    Some(Cursor::Snapshot(at)) => Some(at),
                    _ => None,
                },
            };
            let after_minute = match cursor {
                Some(Cursor::Minute(at)) => Some(at),
                _ => None,
            };
            let page = read(store, query, after_minute).unwrap();
            assert!(page.minutes.len() + page.snapshots.len() <= limit);
            assert!(page.detail_from.is_some());
            pages += 1;
            rows.extend(page.minutes);
            shots.extend(page.snapshots.into_iter().map(|s| s.captured_ms));
            match page.next {
                Some(next) => cursor = Some(next),
                None => return (rows, shots, pages),
            }
        }
    }

    #[test]
    fn hours_whose_minutes_were_deleted_come_as_hour_rows_from_the_day_rows() {
        let (store, _writer) = Store::in_memory(&OpenOptions::default()).unwrap();
        let store = crate::stores::Stores::from(store);
        // A snapshot a minute for 26 hours: the first day, then two hours of the next.
        let snapshots: Vec<_> = (0..26 * 60)
            .map(|i| {
                let at = DAY0 + i * 60_000;
                let json = format!(
                    r#"{{"host":"pc1","captured_at":{at},"user_active":{},"cpu_percent":20,
                       "watched":{{"Ansys":{{"state":"computing"}}}}}}"#,
                    i % 2 == 0
                );
                (Arc::new(Snapshot::parse(&json).unwrap()), at)
            })
            .collect();
        append_all(&store, &snapshots);
        // Fold the first 25 hours, then delete the first day's minute rows (its day row stays).
        store
            .age_tiers(DAY0 + 25 * HOUR, 90_000, Some(DAY0 + 24 * HOUR))
            .unwrap();
        assert!(
            store
                .local()
                .minutes("pc1", DAY0, DAY0 + 24 * HOUR)
                .unwrap()
                .is_empty()
        );

        let (rows, shots, _) = walk(&store, DAY0 + 22 * HOUR, 7);
        // Hours 22 and 23 of the first day as hour rows, then the next day's first hour as
        // minutes, then the snapshots of its second hour.
        assert_eq!(rows.len(), 2 + 60);
        for (i, hour) in rows[..2].iter().enumerate() {
            assert_eq!(hour.at, rfc3339_ms(DAY0 + (22 + i as i64) * HOUR));
            assert_eq!(hour.span_ms, 3_600_000);
            assert_eq!(hour.active_ms + hour.idle_ms, 3_600_000);
            assert_eq!(hour.active_ms, 1_800_000);
            assert_eq!(hour.offline_ms, 0);
            assert_eq!(hour.apps["Ansys"]["computing"], 3_600_000);
        }
        assert_eq!(rows[2].at, rfc3339_ms(DAY0 + 24 * HOUR));
        assert!(rows[2..].iter().all(|m| m.span_ms == 60_000));
        assert!(
            rows[2..]
                .iter()
                .all(|m| m.active_ms + m.idle_ms + m.offline_ms == 60_000)
        );
        let expected: Vec<i64> = (25 * 60..26 * 60).map(|i| DAY0 + i * 60_000).collect();
        assert_eq!(shots, expected);
    }
}
