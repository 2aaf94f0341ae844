//! The journal on redb's in-memory backend and on files: group commits, acks after commit,
//! busy, duplicates, history paging, latest per host, retention, the in-use error.

use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use idlewatch_protocol::Snapshot;
use idlewatch_store::{Appended, Busy, DeltaKind, Error, HistoryQuery, OpenOptions, Store};

fn snap(text: &str) -> Arc<Snapshot> {
    Arc::new(Snapshot::parse(text).unwrap())
}

/// Appends and waits for the commit.
fn append(store: &Store, text: &str, received_ms: i64) -> Appended {
    let (tx, rx) = mpsc::channel();
    store
        .try_append(
            snap(text),
            received_ms,
            Box::new(move |r| tx.send(r).unwrap()),
        )
        .unwrap();
    rx.recv_timeout(Duration::from_secs(10)).unwrap().unwrap()
}

fn history(
    store: &Store,
    host: &str,
    from: Option<i64>,
    to: Option<i64>,
    limit: usize,
) -> Vec<String> {
    let q = HistoryQuery {
        host: host.to_owned(),
        from_ms: from,
        to_ms: to,
        limit,
        after: None,
    };
    store
        .history(&q)
        .unwrap()
        .snapshots
        .into_iter()
        .map(|s| s.json)
        .collect()
}

#[test]
fn appends_are_acked_after_commit_with_increasing_seq_and_read_back_exactly() {
    let (store, _writer) = Store::in_memory(&OpenOptions::default()).unwrap();
    let texts = [
        r#"{"host":"pc","captured_at":1000,"a":1}"#,
        r#"{"host":"pc","captured_at":2000,"a":2.50}"#,
        r#"{"host":"other","captured_at":1500}"#,
    ];
    let seqs: Vec<u64> = texts.iter().map(|t| append(&store, t, 5_000).seq).collect();
    assert_eq!(seqs, [1, 2, 3]);
    assert_eq!(history(&store, "pc", None, None, 100), [texts[0], texts[1]]);
    assert_eq!(history(&store, "pc", Some(1500), None, 100), [texts[1]]);
    assert_eq!(history(&store, "pc", None, Some(2000), 100), [texts[0]]);
    assert!(matches!(
        store.history(&HistoryQuery {
            host: "nope".into(),
            from_ms: None,
            to_ms: None,
            limit: 1,
            after: None
        }),
        Err(Error::UnknownHost(_))
    ));
}

#[test]
fn history_comes_in_capture_order_and_pages_with_a_cursor() {
    let (store, _writer) = Store::in_memory(&OpenOptions::default()).unwrap();
    // Replayed (older) snapshots arrive after newer ones; history is by capture time.
    for t in [5, 1, 3, 2, 4, 6, 7] {
        append(
            &store,
            &format!(r#"{{"host":"pc","captured_at":{}}}"#, t * 1000),
            0,
        );
    }
    let mut after = None;
    let mut seen = Vec::new();
    loop {
        let page = store
            .history(&HistoryQuery {
                host: "pc".into(),
                from_ms: None,
                to_ms: None,
                limit: 3,
                after,
            })
            .unwrap();
        seen.extend(page.snapshots.iter().map(|s| s.captured_ms / 1000));
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    assert_eq!(seen, [1, 2, 3, 4, 5, 6, 7]);
}

#[test]
fn a_replayed_snapshot_is_stored_once_and_acked_with_its_first_seq() {
    let (store, _writer) = Store::in_memory(&OpenOptions::default()).unwrap();
    let text = r#"{"host":"pc","captured_at":"2026-11-26T08:00:00Z","seq":41}"#;
    let first = append(&store, text, 1);
    let again = append(&store, text, 2);
    assert!(!first.duplicate);
    assert!(again.duplicate);
    assert_eq!(first.seq, again.seq);
    assert_eq!(store.snapshot_count().unwrap(), 1);
}

#[test]
fn a_full_queue_answers_busy_instead_of_growing() {
    let options = OpenOptions {
        queue: 4,
        max_batch: 4,
        ..OpenOptions::default()
    };
    let (store, _writer) = Store::in_memory(&options).unwrap();
    // Hold the writer inside a completion so the queue cannot drain.
    let gate = Arc::new(Mutex::new(()));
    let held = gate.lock().unwrap();
    let (entered_tx, entered_rx) = mpsc::channel();
    let g = gate.clone();
    store
        .try_append(
            snap(r#"{"host":"pc"}"#),
            0,
            Box::new(move |_| {
                entered_tx.send(()).unwrap();
                let _wait = g.lock().unwrap();
            }),
        )
        .unwrap();
    entered_rx.recv().unwrap();
    let mut busy = 0;
    for _ in 0..10 {
        let (tx, rx) = mpsc::channel();
        let done = Box::new(move |r: Result<Appended, Error>| {
            tx.send(matches!(r, Err(Error::Busy))).unwrap()
        });
        if store.try_append(snap(r#"{"host":"pc"}"#), 0, done) == Err(Busy) {
            assert!(
                rx.try_recv().unwrap(),
                "a refused append's completion says busy at once"
            );
            busy += 1;
        }
    }
    assert_eq!(busy, 6, "4 fit in the queue, the rest are refused");
    drop(held);
    store.flush();
    assert_eq!(store.snapshot_count().unwrap(), 5);
}

#[test]
fn latest_per_host_is_the_newest_by_capture_time() {
    let (store, _writer) = Store::in_memory(&OpenOptions::default()).unwrap();
    append(&store, r#"{"host":"a","captured_at":2000,"v":"new"}"#, 10);
    append(
        &store,
        r#"{"host":"a","captured_at":1000,"v":"replayed"}"#,
        20,
    );
    append(&store, r#"{"host":"b","v":"only"}"#, 30);
    let mut latest = store.latest_per_host(i64::MAX).unwrap();
    latest.sort_by(|x, y| x.host.cmp(&y.host));
    assert_eq!(
        latest[0].snapshot.json,
        r#"{"host":"a","captured_at":2000,"v":"new"}"#
    );
    assert_eq!(latest[0].snapshot.received_ms, 10);
    assert_eq!(latest[1].snapshot.json, r#"{"host":"b","v":"only"}"#);
}

#[test]
fn retention_removes_old_snapshots_but_keeps_what_newer_ones_need() {
    let (store, _writer) = Store::in_memory(&OpenOptions::default()).unwrap();
    // A host that stopped reporting long ago, then one that reports every second.
    append(&store, r#"{"host":"gone","i":0}"#, 0);
    for i in 0..200i64 {
        append(&store, &format!(r#"{{"host":"pc","i":{i}}}"#), 1 + i * 1000);
    }
    store.prune_before(150_000);
    // Pruning runs while the writer is idle; wait until it is done.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while store.snapshot_count().unwrap() > 200 - 128 {
        assert!(
            std::time::Instant::now() < deadline,
            "pruning did not finish"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // pc's records 0..128 go (its keyframe 128 is the last one before the cutoff, at record
    // 150); 128..200 stay and decode. All of "gone" goes.
    let kept = history(&store, "pc", None, None, 1000);
    assert_eq!(kept.len(), 72);
    assert_eq!(kept[0], r#"{"host":"pc","i":128}"#);
    assert_eq!(kept[71], r#"{"host":"pc","i":199}"#);
    assert!(history(&store, "gone", None, None, 10).is_empty());
    // Appending after pruning still works and decodes.
    append(&store, r#"{"host":"gone","i":1}"#, 300_000);
    assert_eq!(
        history(&store, "gone", None, None, 10),
        [r#"{"host":"gone","i":1}"#]
    );
}

#[test]
fn stopping_commits_what_is_queued() {
    let dir = tempfile::tempdir().unwrap();
    let (store, writer, _) = Store::open(dir.path(), &OpenOptions::default()).unwrap();
    let acked = Arc::new(Mutex::new(0));
    for i in 0..100 {
        let acked = acked.clone();
        store
            .try_append(
                snap(&format!(r#"{{"host":"pc","i":{i}}}"#)),
                i,
                Box::new(move |r| {
                    r.unwrap();
                    *acked.lock().unwrap() += 1;
                }),
            )
            .unwrap();
    }
    writer.stop();
    assert_eq!(*acked.lock().unwrap(), 100);
    drop(store);
    let (store, _writer, outcome) = Store::open(dir.path(), &OpenOptions::default()).unwrap();
    assert!(outcome.applied.is_empty());
    assert_eq!(store.snapshot_count().unwrap(), 100);
}

#[test]
fn a_second_opener_gets_a_clear_in_use_error() {
    let dir = tempfile::tempdir().unwrap();
    let (_store, _writer, _) = Store::open(dir.path(), &OpenOptions::default()).unwrap();
    let err = Store::open(dir.path(), &OpenOptions::default())
        .err()
        .unwrap();
    let text = err.to_string();
    assert!(matches!(err, Error::InUse { .. }), "{text}");
    assert!(
        text.contains("in use by another idlewatch-server"),
        "{text}"
    );
    assert!(
        text.contains(&format!("pid {}", std::process::id())),
        "{text}"
    );
}

#[test]
fn a_page_ends_early_once_it_holds_its_byte_budget() {
    let (store, _writer) = Store::in_memory(&OpenOptions::default()).unwrap();
    let pad = "x".repeat(1000);
    for i in 0..10 {
        append(
            &store,
            &format!(r#"{{"host":"pc","captured_at":{i},"pad":"{pad}"}}"#),
            5_000,
        );
    }
    let mut query = HistoryQuery {
        host: "pc".to_owned(),
        from_ms: None,
        to_ms: None,
        limit: 100,
        after: None,
    };
    let mut pages = Vec::new();
    loop {
        let page = store.history_bounded(&query, 2_500).unwrap();
        pages.push(page.snapshots.len());
        match page.next {
            Some(next) => query.after = Some(next),
            None => break,
        }
    }
    // Each snapshot is ~1 KB: the third crosses 2,500 bytes and ends the page.
    assert_eq!(pages, [3, 3, 3, 1]);
    // A budget smaller than one snapshot still makes progress, one at a time.
    query.after = None;
    assert_eq!(store.history_bounded(&query, 1).unwrap().snapshots.len(), 1);
}

/// A snapshot of `host` at step `i` whose process table changes a little at every step.
fn with_processes(host: &str, i: i64) -> String {
    let rows: Vec<String> = (0..40)
        .filter(|p| (p + i) % 17 != 0)
        .map(|p| {
            let cpu = if (p * 7 + i) % 5 == 0 { (p + i) % 90 } else { 0 };
            format!(
                r#"{{"pid":{},"name":"app{}.exe","username":"LAB\\ann","cpu_percent":{}.{},"memory_bytes":{}}}"#,
                100 + p * 4,
                p % 9,
                cpu / 10,
                cpu % 10,
                (1000 + p * 13 + i * (p % 3)) * 4096
            )
        })
        .collect();
    format!(
        r#"{{"host":"{host}","captured_at":{},"cpu_percent":{}.5,"processes":[{}]}}"#,
        1_000 + i * 5_000,
        i % 40,
        rows.join(",")
    )
}

#[test]
fn structural_deltas_store_less_and_read_back_exactly() {
    let mut stored = Vec::new();
    for deltas in [DeltaKind::Zstd, DeltaKind::Structural] {
        let options = OpenOptions {
            deltas,
            ..OpenOptions::default()
        };
        let (store, _writer) = Store::in_memory(&options).unwrap();
        let mut texts = (Vec::new(), Vec::new());
        // Two hosts interleaved, past a keyframe (every 128 records of a host).
        for i in 0..300 {
            let (a, b) = (with_processes("pc-a", i), with_processes("pc-b", i + 3));
            append(&store, &a, 1_000 + i * 5_000);
            append(&store, &b, 1_000 + i * 5_000);
            texts.0.push(a);
            texts.1.push(b);
        }
        assert_eq!(history(&store, "pc-a", None, None, 1000), texts.0);
        assert_eq!(history(&store, "pc-b", None, None, 1000), texts.1);
        // A page starting mid-chain decodes from its keyframe.
        assert_eq!(
            history(&store, "pc-a", Some(1_000 + 200 * 5_000), None, 3),
            texts.0[200..203]
        );
        stored.push(store.stats().unwrap().stored_bytes);
    }
    assert!(
        stored[1] * 10 < stored[0] * 8,
        "structural deltas should store at least 20 % less: {stored:?}"
    );
}
