//! Aging records into minute rows on a file: what is kept still decodes byte for byte, what
//! was folded is deleted only once it spans a day, `db stats` and `db check` see the tiers, a
//! deletion removes the minute rows of its hours, and retention the old ones.

use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;

use idlewatch_protocol::Snapshot;
use idlewatch_store::{DeleteQuery, DeltaKind, HistoryQuery, Offline, OpenOptions, Store};

/// 2026-11-23 00:00 UTC.
const DAY0: i64 = 1_795_392_000_000;
const DAY: i64 = 86_400_000;
const HOUR: i64 = 3_600_000;
const STEP: i64 = 60_000;

fn text(host: &str, at: i64, k: i64) -> String {
    // A process list that changes a little every snapshot, so deltas have work to do.
    let procs: Vec<String> = (0..20)
        .map(|p| {
            format!(
                r#"{{"pid":{p},"name":"p{p}.exe","cpu_percent":{}}}"#,
                (p * k) % 7
            )
        })
        .collect();
    format!(
        r#"{{"host":"{host}","captured_at":{at},"user_active":{},"cpu_percent":{}.5,"processes":[{}]}}"#,
        k % 3 == 0,
        k % 90,
        procs.join(",")
    )
}

fn fill(store: &Store, hosts: &[&str], from: i64, to: i64) -> Vec<(String, i64, String)> {
    let mut all = Vec::new();
    let mut at = from;
    let mut k = 0;
    while at < to {
        for host in hosts {
            all.push(((*host).to_owned(), at, text(host, at, k)));
        }
        at += STEP;
        k += 1;
    }
    for chunk in all.chunks(200) {
        let (tx, rx) = mpsc::channel();
        for (_, at, json) in chunk {
            let tx = tx.clone();
            store
                .try_append(
                    Arc::new(Snapshot::parse(json).unwrap()),
                    *at + 100,
                    Box::new(move |r| tx.send(r.is_ok()).unwrap()),
                )
                .unwrap();
        }
        for _ in chunk {
            assert!(rx.recv_timeout(Duration::from_secs(10)).unwrap());
        }
    }
    all
}

fn history(store: &Store, host: &str, from: i64) -> Vec<(i64, String)> {
    let mut out = Vec::new();
    let mut after = None;
    loop {
        let page = store
            .history(&HistoryQuery {
                host: host.to_owned(),
                from_ms: Some(from),
                to_ms: None,
                limit: 500,
                after,
            })
            .unwrap();
        out.extend(page.snapshots.into_iter().map(|s| (s.captured_ms, s.json)));
        match page.next {
            Some(next) => after = Some(next),
            None => return out,
        }
    }
}

#[test]
fn aged_stores_keep_every_later_snapshot_exact_and_show_their_tiers() {
    for deltas in [DeltaKind::Zstd, DeltaKind::Structural] {
        let dir = tempfile::tempdir().unwrap();
        let options = OpenOptions {
            deltas,
            ..OpenOptions::default()
        };
        let (store, writer, _) = Store::open(dir.path(), &options).unwrap();
        let hosts = ["pc1", "pc2"];
        let all = fill(&store, &hosts, DAY0, DAY0 + 2 * DAY);
        let count = store.snapshot_count().unwrap();

        // Less than a day folded: minute rows, but nothing deleted yet.
        let aged = store.age(DAY0 + 12 * HOUR, 180_000).unwrap();
        assert_eq!(aged.folded_hours, 24, "{deltas:?}");
        assert_eq!(aged.removed, 0);
        assert_eq!(store.snapshot_count().unwrap(), count);
        // More than a day: the folded records but the last go.
        let aged = store.age(DAY0 + DAY + 6 * HOUR, 180_000).unwrap();
        assert_eq!(aged.folded_hours, 2 * 18);
        let per_host = (DAY + 6 * HOUR) / STEP;
        assert_eq!(aged.removed, 2 * (per_host as u64 - 1), "{deltas:?}");
        assert_eq!(
            store.detail_from("pc1").unwrap(),
            Some(DAY0 + DAY + 6 * HOUR)
        );
        assert_eq!(
            store.minutes("pc2", DAY0, DAY0 + 2 * DAY).unwrap().len() as i64,
            per_host,
            "a minute row for every minute a snapshot covered"
        );

        // Every snapshot from where the detail starts reads back exactly.
        for host in hosts {
            let expected: Vec<(i64, String)> = all
                .iter()
                .filter(|(h, at, _)| h == host && *at >= DAY0 + DAY + 6 * HOUR)
                .map(|(_, at, json)| (*at, json.clone()))
                .collect();
            assert_eq!(history(&store, host, DAY0), expected, "{host} {deltas:?}");
        }

        // The first day was folded whole: a day row per host.
        assert_eq!(store.day_sizes().unwrap().0, 2);
        let hours = |host| -> Vec<i64> {
            let mut hours = Vec::new();
            store
                .each_tier_row(
                    host,
                    DAY0,
                    DAY0 + DAY,
                    |_| false,
                    |r| {
                        assert_eq!(r.span_ms, HOUR);
                        hours.push((r.at_ms - DAY0) / HOUR);
                        Ok::<bool, idlewatch_store::Error>(true)
                    },
                )
                .unwrap();
            hours
        };
        assert_eq!(hours("pc2"), (0..24).collect::<Vec<_>>());

        // Deleting a range takes the minute rows of its hours, and those hours of the day row.
        store
            .delete(DeleteQuery {
                host: "pc2".to_owned(),
                from_ms: Some(DAY0 + 2 * HOUR),
                to_ms: Some(DAY0 + 4 * HOUR),
            })
            .unwrap();
        assert!(
            store
                .minutes("pc2", DAY0 + 2 * HOUR, DAY0 + 4 * HOUR)
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            store.minutes("pc2", DAY0, DAY0 + 2 * HOUR).unwrap().len(),
            120
        );
        let left: Vec<i64> = (0..24).filter(|h| !(2..4).contains(h)).collect();
        assert_eq!(hours("pc2"), left);
        assert_eq!(hours("pc1"), (0..24).collect::<Vec<_>>());
        // Retention deletes the minute rows of hours that ended before its cutoff.
        store.prune_before(DAY0 + 5 * HOUR);
        store.flush();
        for _ in 0..100 {
            if store
                .minutes("pc1", DAY0, DAY0 + 5 * HOUR)
                .unwrap()
                .is_empty()
            {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        assert!(
            store
                .minutes("pc1", DAY0, DAY0 + 5 * HOUR)
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            store
                .minutes("pc1", DAY0 + 5 * HOUR, DAY0 + 6 * HOUR)
                .unwrap()
                .len(),
            60
        );
        assert_eq!(hours("pc1"), (5..24).collect::<Vec<_>>(), "and their hours");
        writer.stop();

        let offline = Offline::open(dir.path()).unwrap();
        let check = offline.check().unwrap();
        assert!(check.problems.is_empty(), "{:?}", check.problems);
        let stats = offline.stats().unwrap();
        assert!(stats.minute_hours > 0 && stats.minute_bytes > 0);
        assert!(stats.day_rows == 2 && stats.day_bytes > 0);
        let pc1 = stats.hosts.iter().find(|h| h.host == "pc1").unwrap();
        let at = idlewatch_protocol::time::rfc3339_ms(DAY0 + DAY + 6 * HOUR);
        assert_eq!(pc1.detail_from.as_deref(), Some(at.as_str()));
        assert_eq!(pc1.first, at);
        assert_eq!(pc1.snapshots as i64, (18 * HOUR) / STEP);
    }
}

/// Appends one snapshot of `host` captured at `at`, received at `received`; what the store
/// says of it.
fn append_one(store: &Store, host: &str, at: i64, received: i64) -> idlewatch_store::Appended {
    let (tx, rx) = mpsc::channel();
    store
        .try_append(
            Arc::new(Snapshot::parse(&text(host, at, 1)).unwrap()),
            received,
            Box::new(move |r| tx.send(r.unwrap()).unwrap()),
        )
        .unwrap();
    rx.recv_timeout(Duration::from_secs(10)).unwrap()
}

#[test]
fn a_snapshot_arriving_after_its_time_was_folded_says_it_is_not_counted() {
    let (store, _writer) = Store::in_memory(&OpenOptions::default()).unwrap();
    fill(&store, &["pc1"], DAY0, DAY0 + 6 * HOUR);
    store.age(DAY0 + 4 * HOUR, 180_000).unwrap();
    let now = DAY0 + 10 * DAY;
    // Into a folded hour, weeks late: stored, but minute rows answer for that time.
    let folded = append_one(&store, "pc1", DAY0 + HOUR + 30_000, now);
    assert!(folded.uncounted && !folded.duplicate);
    // As late, but after the folded hours: counted like any other.
    let kept = append_one(&store, "pc1", DAY0 + 5 * HOUR + 30_000, now);
    assert!(!kept.uncounted);
    // Another host, nothing of it folded.
    assert!(!append_one(&store, "pc2", DAY0 + HOUR + 30_000, now).uncounted);
}
