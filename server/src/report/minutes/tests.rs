use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;

use idlewatch_protocol::{Snapshot, WatchedState};
use idlewatch_store::{HistoryQuery, MINUTE_MS, Minute, OpenOptions, Store};
use jiff::tz::TimeZone;

use super::*;
use crate::report::daily::usage_by_day;
use crate::report::hours::OpenHours;

/// 2026-11-23 00:00 UTC, a Monday.
const DAY0: i64 = 1_795_392_000_000;
const DAY: i64 = 86_400_000;
const HOUR: i64 = 3_600_000;

fn rules() -> Rules {
    Rules {
        interval_ms: 20_000,
        time_zone: TimeZone::UTC,
        open: OpenHours::parse("Mon-Fri 08:00-22:00").unwrap(),
    }
}

fn row(at_ms: i64, active_ms: u32, idle_ms: u32) -> MinuteRow {
    MinuteRow {
        at_ms,
        span_ms: MINUTE_MS,
        active_quarters: None,
        minute: Minute {
            active_ms,
            idle_ms,
            apps: vec![("Ansys".into(), WatchedState::Idle, idle_ms)].into(),
            users: vec!["ana".into()].into(),
            logons: 1,
            ..Minute::default()
        },
    }
}

#[test]
fn minute_days_add_up_minutes_and_count_the_rest_offline() {
    // 07:59 (closed) and 08:00 (open) on Monday; nothing on Tuesday.
    let rows = [
        row(DAY0 + 8 * HOUR - 60_000, 60_000, 0),
        row(DAY0 + 8 * HOUR, 45_000, 15_000),
    ];
    let days = minute_days(&rows, DAY0, DAY0 + 2 * DAY, &rules()).unwrap();
    assert_eq!(days.len(), 2);
    let monday = &days[0];
    assert_eq!(monday.active_ms, 105_000);
    assert_eq!(monday.idle_ms, 15_000);
    assert_eq!(monday.offline_ms, DAY - 120_000);
    assert_eq!(monday.open_ms, 14 * HOUR);
    assert_eq!(
        monday.active_open_ms, 45_000,
        "only the minute inside opening hours"
    );
    assert_eq!(monday.apps["Ansys"].idle_ms, 15_000);
    assert_eq!(monday.logons, 2);
    assert_eq!(monday.users.len(), 1);
    let tuesday = &days[1];
    assert_eq!((tuesday.active_ms, tuesday.offline_ms), (0, DAY));
}

#[test]
fn minute_bands_lay_each_minute_out_active_idle_offline() {
    let rows = [
        row(DAY0 + 60_000, 20_000, 10_000),
        row(DAY0 + 120_000, 60_000, 0),
    ];
    let (bands, apps) = minute_bands(&rows, DAY0, DAY0 + 240_000);
    let got: Vec<(i64, i64, &str)> = bands
        .iter()
        .map(|b| (b.start - DAY0, b.end - DAY0, b.state.as_ref()))
        .collect();
    assert_eq!(
        got,
        vec![
            (0, 60_000, "offline"),
            (60_000, 80_000, "active"),
            (80_000, 90_000, "idle"),
            (90_000, 120_000, "offline"),
            (120_000, 180_000, "active"),
            (180_000, 240_000, "offline"),
        ]
    );
    assert_eq!(
        apps["Ansys"].len(),
        1,
        "an app with no time in a minute adds nothing"
    );
}

/// A PC's two days every 20 s with silences, a user coming and going, an app changing
/// state, and a clock that does not tick on the second.
fn fill(store: &crate::stores::Stores) {
    let states = ["interactive", "computing", "idle", "not_running"];
    let mut seed = 7u64;
    let mut random = move |n: u64| {
        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        (seed >> 33) % n
    };
    let mut at = DAY0 + 3_217;
    let mut batch = Vec::new();
    let mut user: Option<(&str, i64)> = None;
    while at < DAY0 + 2 * DAY + 6 * HOUR {
        if random(400) == 0 {
            // Silent for up to an hour.
            at += i64::try_from(random(3_600_000)).unwrap();
        }
        if random(200) == 0 {
            user = match user {
                Some(_) => None,
                None => Some((
                    ["ana", "bo"][usize::try_from(random(2)).unwrap()],
                    at - 1_000,
                )),
            };
        }
        let session = match user {
            Some((name, since)) => format!(r#","session":{{"user":"{name}","since":{since}}}"#),
            None => String::new(),
        };
        let active = user.is_some() && random(3) != 0;
        let state = states[usize::try_from(random(40)).unwrap() % 4];
        let json = format!(
            r#"{{"host":"pc1","captured_at":{at},"idle_seconds":{idle},"user_active":{active},
               "cpu_percent":{cpu}.5,"memory_percent":41.3,"foreground_process":"ansys.exe",
               "watched":{{"Ansys":{{"state":"{state}"}}}}{session}}}"#,
            idle = if active { 0 } else { 300 },
            cpu = random(100),
        );
        batch.push((Arc::new(Snapshot::parse(&json).unwrap()), at + 300));
        at += 20_000 + i64::try_from(random(900)).unwrap() - 450;
    }
    append_all(store, &batch);
}

/// Appends `(snapshot, received_ms)` pairs and waits for their commits, a few hundred at a
/// time (the writer's queue is bounded).
pub(crate) fn append_all(store: &crate::stores::Stores, snapshots: &[(Arc<Snapshot>, i64)]) {
    for chunk in snapshots.chunks(256) {
        let (tx, rx) = mpsc::channel();
        for (snapshot, received_ms) in chunk {
            let tx = tx.clone();
            store
                .local()
                .try_append(
                    snapshot.clone(),
                    *received_ms,
                    Box::new(move |r| {
                        let _ = tx.send(r.is_ok());
                    }),
                )
                .unwrap();
        }
        for _ in chunk {
            assert!(rx.recv_timeout(Duration::from_secs(10)).unwrap());
        }
    }
}

/// Per state, the time the bands give it.
fn totals(
    (bands, apps): &(Vec<Band>, BTreeMap<String, Vec<Band>>),
) -> BTreeMap<(String, String), i64> {
    let mut out = BTreeMap::new();
    for (name, bands) in std::iter::once((&String::new(), bands)).chain(apps) {
        for band in bands {
            *out.entry((name.clone(), band.state.to_string()))
                .or_default() += band.end - band.start;
        }
    }
    out
}

/// Per app and running state, the time of the spans the licence views count.
fn seat_totals(
    store: &crate::stores::Stores,
    from_ms: i64,
    to_ms: i64,
) -> BTreeMap<(String, String), i64> {
    let hosts = ["pc1".to_owned()];
    let apps = crate::report::seats::spans_by_app(store, &hosts, from_ms, to_ms, &rules()).unwrap();
    let mut out = BTreeMap::new();
    for (key, app) in apps {
        for span in app.hosts.iter().flatten() {
            assert!(span.start_ms >= from_ms && span.end_ms <= to_ms, "{span:?}");
            if span.state != WatchedState::NotRunning {
                *out.entry((key.clone(), format!("{:?}", span.state)))
                    .or_default() += span.end_ms - span.start_ms;
            }
        }
    }
    out
}

#[test]
fn a_range_gives_the_same_seconds_before_and_after_its_snapshots_age_into_minutes() {
    let (store, _writer) = Store::in_memory(&OpenOptions::default()).unwrap();
    let store = crate::stores::Stores::from(store);
    fill(&store);
    let hosts = ["pc1".to_owned()];
    let rules = rules();
    let ranges = [
        (DAY0, DAY0 + 3 * DAY),
        (
            DAY0 + 7 * HOUR + 13 * 60_000,
            DAY0 + DAY + 5 * HOUR + 60_000,
        ),
        (DAY0 + DAY + 23 * 60_000, DAY0 + 2 * DAY + 3 * HOUR),
    ];
    let usage = |from, to| usage_by_day(&store, &hosts, from, to, &rules, &|_| false).unwrap();
    let bands = |from, to| host_timeline(&store, "pc1", from, to, rules.interval_ms).unwrap();
    let before: Vec<_> = ranges
        .iter()
        .map(|&(f, t)| usage(f, t)[0].days.clone())
        .collect();
    let before_bands: Vec<_> = ranges.iter().map(|&(f, t)| bands(f, t)).collect();
    let before_seats: Vec<_> = ranges
        .iter()
        .map(|&(f, t)| seat_totals(&store, f, t))
        .collect();
    assert!(
        before_seats.iter().all(|t| t.len() == 3),
        "{before_seats:?}"
    );
    let late = (DAY0 + DAY + HOUR, DAY0 + 2 * DAY);
    let late_bands = bands(late.0, late.1);
    let count = store.snapshot_count().unwrap();

    // Everything before 01:00 on the second day, and the minute of 00:59:59.999 with it.
    let aged = store
        .local()
        .age(DAY0 + DAY + HOUR + 59 * 60_000, rules.interval_ms * 3)
        .unwrap();
    assert_eq!(aged.folded_hours, 25, "from the first hour with a snapshot");
    assert!(aged.removed > 0, "a day of folded records is deleted");
    assert!(store.snapshot_count().unwrap() < count);
    assert_eq!(store.detail_from("pc1").unwrap(), Some(DAY0 + DAY + HOUR));

    for (i, &(from, to)) in ranges.iter().enumerate() {
        let after = usage(from, to)[0].days.clone();
        assert_eq!(after, before[i], "usage of range {i}");
        let after_bands = bands(from, to);
        assert_eq!(
            totals(&after_bands),
            totals(&before_bands[i]),
            "timeline of range {i}"
        );
        assert_eq!(
            seat_totals(&store, from, to),
            before_seats[i],
            "seat time of range {i}"
        );
    }
    // Where the range has not aged, the bands are the same to the millisecond.
    assert_eq!(bands(late.0, late.1), late_bands);

    // History starts where the detail does.
    let page = store
        .local()
        .history(&HistoryQuery {
            host: "pc1".to_owned(),
            from_ms: Some(DAY0),
            to_ms: None,
            limit: 1,
            after: None,
        })
        .unwrap();
    assert!(page.snapshots[0].captured_ms >= DAY0 + DAY + HOUR);

    // A second round has nothing more to fold; a later one folds on from there.
    let again = store
        .local()
        .age(DAY0 + DAY + HOUR, rules.interval_ms * 3)
        .unwrap();
    assert_eq!(again.folded_hours, 0);
    store
        .local()
        .age(DAY0 + 2 * DAY, rules.interval_ms * 3)
        .unwrap();
    for (i, &(from, to)) in ranges.iter().enumerate() {
        assert_eq!(
            usage(from, to)[0].days,
            before[i],
            "usage of range {i}, aged further"
        );
        assert_eq!(totals(&bands(from, to)), totals(&before_bands[i]));
    }
}

#[test]
fn day_rows_answer_for_whole_hours_and_minutes_for_the_hours_a_day_or_opening_cuts() {
    let (store, _writer) = Store::in_memory(&OpenOptions::default()).unwrap();
    let store = crate::stores::Stores::from(store);
    fill(&store);
    let hosts = ["pc1".to_owned()];
    // Local days half an hour off UTC, and opening hours on the quarter.
    let kolkata = Rules {
        time_zone: TimeZone::fixed(jiff::tz::Offset::from_seconds(19_800).unwrap()),
        open: OpenHours::parse("Mon-Fri 08:15-17:45").unwrap(),
        ..rules()
    };
    let utc = rules();
    // Opening hours on the quarter split hours by their quarters, minutes or not.
    let quarter = Rules {
        open: OpenHours::parse("Mon-Fri 08:15-17:45").unwrap(),
        ..rules()
    };
    let whole = [
        (DAY0, DAY0 + 3 * DAY),
        (DAY0 + 7 * HOUR, DAY0 + DAY + 5 * HOUR),
    ];
    let usage = |from, to, rules: &Rules| {
        usage_by_day(&store, &hosts, from, to, rules, &|_| false).unwrap()[0]
            .days
            .clone()
    };
    let bands = |from, to| totals(&host_timeline(&store, "pc1", from, to, 20_000).unwrap());
    let before_local = usage(DAY0, DAY0 + 3 * DAY, &kolkata);
    let before_quarter = usage(DAY0, DAY0 + 3 * DAY, &quarter);
    let before: Vec<_> = whole.iter().map(|&(f, t)| usage(f, t, &utc)).collect();
    let before_bands: Vec<_> = whole.iter().map(|&(f, t)| bands(f, t)).collect();

    store.local().age(DAY0 + 2 * DAY, 60_000).unwrap();
    assert_eq!(
        store.local().day_sizes().unwrap().0,
        2,
        "both days folded whole"
    );
    // Cut hours read their minutes: the local days and opening hours add up to the second.
    assert_eq!(usage(DAY0, DAY0 + 3 * DAY, &kolkata), before_local);

    // Deleting the minutes of the whole days before the second leaves its day row.
    let aged = store
        .age_tiers(DAY0 + 2 * DAY, 60_000, Some(DAY0 + DAY + 12 * HOUR))
        .unwrap();
    assert!(aged.trimmed_hours >= 20, "{aged:?}");
    assert!(
        store
            .local()
            .minutes("pc1", DAY0, DAY0 + DAY)
            .unwrap()
            .is_empty()
    );
    assert!(
        !store
            .local()
            .minutes("pc1", DAY0 + DAY, DAY0 + 2 * DAY)
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store.first_minute("pc1").unwrap().map(|m| m / HOUR),
        Some(DAY0 / HOUR)
    );
    assert_eq!(usage(DAY0, DAY0 + 3 * DAY, &quarter), before_quarter);
    for (i, &(from, to)) in whole.iter().enumerate() {
        assert_eq!(usage(from, to, &utc), before[i], "usage of range {i}");
        assert_eq!(bands(from, to), before_bands[i], "timeline of range {i}");
    }
    // Past the minutes, an hour counts whole where it starts in the range.
    let cut = usage(DAY0 + 7 * HOUR + 30 * 60_000, DAY0 + 9 * HOUR, &utc);
    let hour = usage(DAY0 + 8 * HOUR, DAY0 + 9 * HOUR, &utc);
    assert_eq!(
        cut[0].active_ms + cut[0].idle_ms,
        hour[0].active_ms + hour[0].idle_ms
    );
}
