//! Deleting one host's snapshots: a range in the middle of its delta chains, or all of it,
//! with other hosts untouched, every kept record still reading back exactly, the store sound
//! (`db check`) and appends to the host working afterwards.

use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;

use idlewatch_protocol::Snapshot;
use idlewatch_store::{DeleteQuery, Error, HistoryQuery, Offline, OpenOptions, Store};

const T0: i64 = 1_795_680_000_000;

fn text(host: &str, k: i64) -> String {
    // Similar consecutive snapshots: most records are deltas on the previous one.
    format!(
        r#"{{"host":"{host}","captured_at":{},"seq":{k},"processes":[{{"pid":{}}},{{"pid":7}}],"n":{}}}"#,
        T0 + k * 5000,
        k % 13,
        k * 31
    )
}

fn fill(store: &Store, hosts: &[&str], count: i64) {
    let (tx, rx) = mpsc::channel();
    let mut sent = 0;
    for k in 0..count {
        for host in hosts {
            let tx = tx.clone();
            store
                .try_append(
                    Arc::new(Snapshot::parse(&text(host, k)).unwrap()),
                    T0 + k * 5000,
                    Box::new(move |r| tx.send(r.is_ok()).unwrap()),
                )
                .unwrap();
            sent += 1;
        }
        if sent >= 1000 {
            for _ in 0..sent {
                assert!(rx.recv_timeout(Duration::from_secs(10)).unwrap());
            }
            sent = 0;
        }
    }
    for _ in 0..sent {
        assert!(rx.recv_timeout(Duration::from_secs(10)).unwrap());
    }
}

fn all_of(store: &Store, host: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut query = HistoryQuery {
        host: host.to_owned(),
        from_ms: None,
        to_ms: None,
        limit: 1000,
        after: None,
    };
    loop {
        let page = store.history(&query).unwrap();
        out.extend(page.snapshots.into_iter().map(|s| s.json));
        match page.next {
            Some(next) => query.after = Some(next),
            None => return out,
        }
    }
}

#[test]
fn a_range_in_the_middle_of_the_chains_goes_and_the_rest_reads_back() {
    let dir = tempfile::tempdir().unwrap();
    let (store, writer, _) = Store::open(dir.path(), &OpenOptions::default()).unwrap();
    // 2,600 records of pc-a interleaved with pc-b: several keyframe intervals, several chunks.
    fill(&store, &["pc-a", "pc-b"], 2600);
    let removed = store
        .delete(DeleteQuery {
            host: "pc-a".to_owned(),
            from_ms: Some(T0 + 150 * 5000),
            to_ms: Some(T0 + 2_450 * 5000),
        })
        .unwrap();
    assert_eq!(removed, 2300);
    let expected: Vec<String> = (0..150)
        .chain(2450..2600)
        .map(|k| text("pc-a", k))
        .collect();
    assert_eq!(all_of(&store, "pc-a"), expected);
    let untouched: Vec<String> = (0..2600).map(|k| text("pc-b", k)).collect();
    assert_eq!(all_of(&store, "pc-b"), untouched);
    // The host goes on: a new snapshot is a delta on its last kept record.
    let (tx, rx) = mpsc::channel();
    store
        .try_append(
            Arc::new(Snapshot::parse(&text("pc-a", 3000)).unwrap()),
            T0,
            Box::new(move |r| tx.send(r.is_ok()).unwrap()),
        )
        .unwrap();
    assert!(rx.recv_timeout(Duration::from_secs(10)).unwrap());
    assert_eq!(all_of(&store, "pc-a").last().unwrap(), &text("pc-a", 3000));
    writer.stop();
    let report = Offline::open(dir.path()).unwrap().check().unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert_eq!(report.records_checked, 300 + 1 + 2600);
}

#[test]
fn a_whole_host_goes_with_its_name_and_may_report_again() {
    let dir = tempfile::tempdir().unwrap();
    let (store, writer, _) = Store::open(dir.path(), &OpenOptions::default()).unwrap();
    fill(&store, &["pc-a", "pc-b"], 300);
    let removed = store
        .delete(DeleteQuery {
            host: "pc-a".to_owned(),
            from_ms: None,
            to_ms: None,
        })
        .unwrap();
    assert_eq!(removed, 300);
    assert_eq!(store.host_names().unwrap(), ["pc-b"]);
    let gone = store.history(&HistoryQuery {
        host: "pc-a".to_owned(),
        from_ms: None,
        to_ms: None,
        limit: 10,
        after: None,
    });
    assert!(matches!(gone, Err(Error::UnknownHost(_))));
    assert_eq!(all_of(&store, "pc-b").len(), 300);
    fill(&store, &["pc-a"], 5);
    assert_eq!(all_of(&store, "pc-a").len(), 5);
    let unknown = store.delete(DeleteQuery {
        host: "nobody".to_owned(),
        from_ms: None,
        to_ms: None,
    });
    assert!(matches!(unknown, Err(Error::UnknownHost(_))));
    writer.stop();
    let report = Offline::open(dir.path()).unwrap().check().unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
}

#[test]
fn snapshots_arriving_while_a_host_is_deleted_stay_readable_and_chained() {
    let dir = tempfile::tempdir().unwrap();
    let (store, writer, _) = Store::open(dir.path(), &OpenOptions::default()).unwrap();
    fill(&store, &["pc1"], 3000);
    // Appends go on one at a time while the oldest 2,500 are deleted, a chunk per group
    // commit: the deletion must leave the newest record as the next one's base.
    let appender = {
        let store = store.clone();
        std::thread::spawn(move || fill_from(&store, 3000, 3400))
    };
    std::thread::sleep(Duration::from_millis(20));
    let deleted = store
        .delete(DeleteQuery {
            host: "pc1".to_owned(),
            from_ms: None,
            to_ms: Some(T0 + 2500 * 5000),
        })
        .unwrap();
    appender.join().unwrap();
    assert_eq!(deleted, 2500);
    // A second deletion, up to past where the first one ran, relies on each record's base
    // being the one before it by arrival.
    store
        .delete(DeleteQuery {
            host: "pc1".to_owned(),
            from_ms: None,
            to_ms: Some(T0 + 3200 * 5000),
        })
        .unwrap();
    fill_from(&store, 3400, 3410);
    let expected: Vec<String> = (3200..3410).map(|k| text("pc1", k)).collect();
    assert_eq!(all_of(&store, "pc1"), expected);

    // Everything deleted while snapshots keep coming: those after the plan stay readable,
    // the first of them a delta on a record the deletion removes.
    fill_from(&store, 3410, 6000);
    let appender = {
        let store = store.clone();
        std::thread::spawn(move || fill_from(&store, 6000, 6300))
    };
    std::thread::sleep(Duration::from_millis(20));
    store
        .delete(DeleteQuery {
            host: "pc1".to_owned(),
            from_ms: None,
            to_ms: None,
        })
        .unwrap();
    appender.join().unwrap();
    let kept = all_of(&store, "pc1");
    let first = 6300 - kept.len() as i64;
    assert!(first > 6000, "some arrived after the plan");
    let expected: Vec<String> = (first..6300).map(|k| text("pc1", k)).collect();
    assert_eq!(kept, expected);
    writer.stop();
    let check = Offline::open(dir.path()).unwrap().check().unwrap();
    assert!(check.problems.is_empty(), "{:?}", check.problems);
}

fn fill_from(store: &Store, from: i64, to: i64) {
    for k in from..to {
        let (tx, rx) = mpsc::channel();
        store
            .try_append(
                Arc::new(Snapshot::parse(&text("pc1", k)).unwrap()),
                T0 + k * 5000,
                Box::new(move |r| tx.send(r.is_ok()).unwrap()),
            )
            .unwrap();
        assert!(rx.recv_timeout(Duration::from_secs(10)).unwrap());
    }
}
