use std::collections::BTreeMap;
use std::sync::Arc;

use idlewatch_protocol::{Snapshot, StateSpan};
use idlewatch_store::{DAY_MS, DeleteQuery, OpenOptions, Store};
use jiff::tz::TimeZone;

use super::*;
use crate::report::hours::OpenHours;
use crate::report::seats::{AppSpans, spans_by_app};
use crate::report::usage::Rules;

/// 2026-11-23 00:00 UTC.
const DAY0: i64 = 1_795_392_000_000;
const MINUTE: i64 = 60_000;

fn rules() -> Rules {
    Rules {
        interval_ms: MINUTE,
        time_zone: TimeZone::UTC,
        open: OpenHours::always(),
    }
}

fn cover() -> i64 {
    rules().interval_ms * 3
}

/// A snapshot of `host` captured at `at_ms` with `Ansys` (spelt per day) in `state`.
fn snapshot(host: &str, at_ms: i64, state: &str) -> Arc<Snapshot> {
    let name = if (at_ms - DAY0) / DAY_MS == 1 {
        "ANSYS"
    } else {
        "Ansys"
    };
    Arc::new(
        Snapshot::parse(&format!(
            r#"{{"host":"{host}","captured_at":{at_ms},"idle_seconds":1,
               "watched":{{"{name}":{{"state":"{state}"}},"Matlab":{{"state":"idle"}}}}}}"#
        ))
        .unwrap(),
    )
}

fn append(store: &crate::stores::Stores, snapshots: Vec<(Arc<Snapshot>, i64)>) {
    crate::report::minutes::tests::append_all(store, &snapshots);
}

/// Three days of three PCs, a snapshot a minute with the state changing every few minutes,
/// silences longer than a cover, and snapshots on either side of midnight.
fn fill(store: &crate::stores::Stores) {
    let states = ["interactive", "computing", "idle", "not_running"];
    for (h, host) in ["pc1", "pc2", "pc3"].iter().enumerate() {
        let mut batch = Vec::new();
        let mut at = DAY0 + (h as i64) * 7_000;
        let mut k = 0usize;
        while at < DAY0 + 3 * DAY_MS {
            k += 1;
            // Silent an hour from 03:00 on the second day, and 10 minutes every 5 hours.
            let of_day = (at - DAY0) % DAY_MS;
            let silent = ((at - DAY0) / DAY_MS == 1
                && (3 * 60..4 * 60).contains(&(of_day / MINUTE)))
                || (of_day / MINUTE) % 300 < 10;
            if !silent {
                let state = states[(k / (3 + h)) % states.len()];
                batch.push((snapshot(host, at, state), at + 500));
            }
            at += MINUTE;
        }
        append(store, batch);
    }
}

fn flat(apps: BTreeMap<String, AppSpans>) -> Vec<(String, String, Vec<Vec<StateSpan>>)> {
    apps.into_iter()
        .map(|(key, app)| (key, app.name, app.hosts))
        .collect()
}

fn view(
    store: &crate::stores::Stores,
    from_ms: i64,
    to_ms: i64,
) -> Vec<(String, String, Vec<Vec<StateSpan>>)> {
    let hosts = ["pc1", "pc2", "pc3"].map(str::to_owned);
    flat(spans_by_app(store, &hosts, from_ms, to_ms, &rules()).unwrap())
}

fn build_all(store: &crate::stores::Stores, now_ms: i64) -> usize {
    pending(store, cover(), now_ms, i64::MIN / 2)
        .unwrap()
        .into_iter()
        .map(|(host, days)| build(store, &host, &days, cover()).unwrap())
        .sum()
}

#[test]
fn views_read_from_rollups_give_the_spans_the_summaries_give() {
    let (store, _writer) = Store::in_memory(&OpenOptions::default()).unwrap();
    let store = crate::stores::Stores::from(store);
    fill(&store);
    let ranges = [
        (DAY0, DAY0 + 3 * DAY_MS),
        (
            DAY0 + 3 * 3_600_000 + 17,
            DAY0 + 2 * DAY_MS + 20 * 3_600_000,
        ),
        (DAY0 + DAY_MS - 30_000, DAY0 + 2 * DAY_MS + 30_000),
        (DAY0 - DAY_MS, DAY0 + 5 * DAY_MS),
    ];
    let before: Vec<_> = ranges.iter().map(|&(f, t)| view(&store, f, t)).collect();
    assert!(
        before[0]
            .iter()
            .any(|(key, name, hosts)| key == "ansys" && name == "Ansys" && hosts.len() == 3)
    );

    // The third day has not settled an hour after its end...
    let now = DAY0 + 3 * DAY_MS + 30 * MINUTE;
    assert_eq!(build_all(&store, now), 6);
    // ...and is rolled up once it has; nothing is left to do after.
    let now = DAY0 + 3 * DAY_MS + 2 * 3_600_000;
    assert_eq!(build_all(&store, now), 3);
    assert!(
        pending(&store, cover(), now, i64::MIN / 2)
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store
            .local()
            .host_days("pc2", DAY0, DAY0 + 3 * DAY_MS)
            .unwrap()
            .len(),
        3
    );

    for (&(f, t), before) in ranges.iter().zip(&before) {
        assert_eq!(&view(&store, f, t), before, "range {f}..{t}");
    }

    // Rollups built under another report interval are not read, and are pending again.
    assert_eq!(
        pending(&store, cover() * 2, now, i64::MIN / 2)
            .unwrap()
            .len(),
        3
    );
    // Retention's cut: the cutoff's day and the next are not built.
    let cut = pending(&store, cover() * 2, now, DAY0 + 5).unwrap();
    assert!(
        cut.iter().all(|(_, days)| days == &[DAY0 + 2 * DAY_MS]),
        "{cut:?}"
    );
}

#[test]
fn a_late_snapshot_or_a_deletion_has_its_days_rolled_up_again() {
    let (store, _writer) = Store::in_memory(&OpenOptions::default()).unwrap();
    let store = crate::stores::Stores::from(store);
    fill(&store);
    // The fourth day (empty) has not settled yet: three days each.
    let now = DAY0 + 4 * DAY_MS;
    assert_eq!(build_all(&store, now), 9);

    // pc1 reports, long after, a snapshot spooled just before the second midnight: it covers
    // the start of the third day too.
    let late = DAY0 + 2 * DAY_MS - 20_000;
    append(&store, vec![(snapshot("pc1", late, "computing"), now)]);
    let left: Vec<i64> = store
        .local()
        .host_days("pc1", DAY0, now)
        .unwrap()
        .into_iter()
        .map(|(d, _)| d)
        .collect();
    assert_eq!(left, [DAY0]);
    assert_eq!(
        pending(&store, cover(), now, i64::MIN / 2).unwrap(),
        [("pc1".to_owned(), vec![DAY0 + 2 * DAY_MS, DAY0 + DAY_MS])]
    );
    let from_summaries = |store: &crate::stores::Stores| {
        let spans = crate::report::seats::host_spans_from_summaries(
            store,
            "pc1",
            DAY0,
            DAY0 + 3 * DAY_MS,
            cover(),
        )
        .unwrap();
        spans.into_apps()
    };
    let expected = from_summaries(&store);
    assert!(
        expected[0].1.iter().any(|s| s.start_ms <= late
            && s.end_ms > late + 20_000
            && s.state == idlewatch_protocol::WatchedState::Computing),
        "the late snapshot's span, across midnight: {:?}",
        expected[0].1
    );
    build_all(&store, now);
    let pc1 = |view: Vec<(String, String, Vec<Vec<StateSpan>>)>| {
        view.into_iter()
            .map(|(_, name, hosts)| (name, hosts[0].clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(pc1(view(&store, DAY0, DAY0 + 3 * DAY_MS)), expected);

    // Deleting the second day's morning: its rollup goes, and what is left is rolled up.
    store
        .delete(DeleteQuery {
            host: "pc1".to_owned(),
            from_ms: Some(DAY0 + DAY_MS),
            to_ms: Some(DAY0 + DAY_MS + 6 * 3_600_000),
        })
        .unwrap();
    assert_eq!(
        store
            .local()
            .host_days("pc1", DAY0 + DAY_MS, DAY0 + 2 * DAY_MS)
            .unwrap()
            .len(),
        0
    );
    build_all(&store, now);
    assert_eq!(store.local().host_days("pc1", DAY0, now).unwrap().len(), 3);
    assert_eq!(
        pc1(view(&store, DAY0, DAY0 + 3 * DAY_MS)),
        from_summaries(&store)
    );
}

#[test]
fn an_app_watched_under_two_spellings_is_one_seat_in_both_paths() {
    let (store, _writer) = Store::in_memory(&OpenOptions::default()).unwrap();
    let store = crate::stores::Stores::from(store);
    let both = |at_ms: i64, first: &str, second: &str| {
        Arc::new(
            Snapshot::parse(&format!(
                r#"{{"host":"pc9","captured_at":{at_ms},
                   "watched":{{"Ansys":{{"state":"{first}"}},"ANSYS":{{"state":"{second}"}}}}}}"#
            ))
            .unwrap(),
        )
    };
    append(
        &store,
        (0..60)
            .map(|i| {
                let at = DAY0 + 9 * 3_600_000 + i * MINUTE;
                let (a, b) = if i < 30 {
                    ("idle", "interactive")
                } else {
                    ("idle", "not_running")
                };
                (both(at, a, b), at + 100)
            })
            .collect(),
    );
    let hosts = ["pc9".to_owned()];
    let range = (DAY0, DAY0 + DAY_MS);
    let before = flat(spans_by_app(&store, &hosts, range.0, range.1, &rules()).unwrap());
    assert_eq!(before.len(), 1, "one app: {before:?}");
    let spans = &before[0].2[0];
    assert_eq!(
        spans.iter().map(|s| s.state).collect::<Vec<_>>(),
        [
            idlewatch_protocol::WatchedState::Interactive,
            idlewatch_protocol::WatchedState::Idle
        ],
        "the most used of the two, then idle: {spans:?}"
    );
    assert_eq!(build_all(&store, DAY0 + 2 * DAY_MS), 1);
    let after = flat(spans_by_app(&store, &hosts, range.0, range.1, &rules()).unwrap());
    assert_eq!(after, before);
}
