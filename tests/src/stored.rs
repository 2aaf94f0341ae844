//! Snapshots for store tests: a generated series whose process lists change a little each
//! time (so deltas have work to do), appended to any store through
//! [`idlewatch_store::Snapshots`], waiting for the acks.

use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;

use idlewatch_protocol::Snapshot;
use idlewatch_store::{Appended, HistoryQuery, Snapshots};

/// 2026-11-23 00:00 UTC.
pub const DAY0: i64 = 1_795_392_000_000;
/// A day in ms.
pub const DAY: i64 = 86_400_000;
/// The series' interval in ms.
pub const STEP: i64 = 5_000;

/// A snapshot whose process list changes a little each time (deltas have work to do).
pub fn text(host: &str, at: i64, k: i64) -> String {
    let procs: Vec<String> = (0..30)
        .map(|p| {
            format!(
                r#"{{"pid":{p},"name":"p{p}.exe","cpu_percent":{}}}"#,
                (p * k) % 7
            )
        })
        .collect();
    let session = if k % 5 == 0 {
        String::new()
    } else {
        format!(r#","session":{{"user":"u{}","since":{}}}"#, k % 3, DAY0 + k)
    };
    format!(
        r#"{{"host":"{host}","captured_at":{at},"seq":{k},"user_active":{},"idle_seconds":{}.25,"cpu_percent":{}.5,"memory_percent":41.3,"foreground_process":"f{}.exe","watched":{{"ansys":{{"running":true,"state":"{}"}}}},"processes":[{}]{session}}}"#,
        k % 3 == 0,
        k % 40,
        k % 90,
        k % 4,
        ["idle", "interactive", "computing"][usize::try_from(k % 3).unwrap()],
        procs.join(",")
    )
}

/// Appends every text in groups, waiting for each group's acks; returns what each ack said.
pub fn append(store: &dyn Snapshots, texts: &[(i64, String)]) -> Vec<Appended> {
    let mut out = Vec::new();
    for chunk in texts.chunks(150) {
        let (tx, rx) = mpsc::channel();
        for (i, (received, json)) in chunk.iter().enumerate() {
            let tx = tx.clone();
            store
                .try_append_packed(
                    Arc::new(Snapshot::parse(json).unwrap()),
                    None,
                    *received,
                    Box::new(move |r| tx.send((i, r.map_err(|e| e.to_string()))).unwrap()),
                )
                .unwrap();
        }
        let mut acks: Vec<(usize, Appended)> = (0..chunk.len())
            .map(|_| {
                let (i, r) = rx.recv_timeout(Duration::from_secs(30)).unwrap();
                (i, r.unwrap())
            })
            .collect();
        acks.sort_by_key(|(i, _)| *i);
        out.extend(acks.into_iter().map(|(_, a)| a));
    }
    out
}

/// `hosts` × `n` snapshots [`STEP`] apart from `from`.
pub fn series(hosts: &[&str], from: i64, n: i64) -> Vec<(String, i64, String)> {
    series_every(hosts, from, n, STEP)
}

/// `hosts` × `n` snapshots `step` ms apart from `from`, in capture order.
pub fn series_every(hosts: &[&str], from: i64, n: i64, step: i64) -> Vec<(String, i64, String)> {
    let mut all = Vec::new();
    for k in 0..n {
        for host in hosts {
            let at = from + k * step;
            all.push(((*host).to_owned(), at, text(host, at, k)));
        }
    }
    all
}

/// The series as `(receive time, JSON)`, received 100 ms after capture.
pub fn received(all: &[(String, i64, String)]) -> Vec<(i64, String)> {
    all.iter().map(|(_, at, j)| (at + 100, j.clone())).collect()
}

/// A history query of `host`'s every snapshot, `limit` a page.
pub fn query(host: &str, limit: usize) -> HistoryQuery {
    HistoryQuery {
        host: host.to_owned(),
        from_ms: None,
        to_ms: None,
        limit,
        after: None,
    }
}

/// Every page of `host`'s history, `limit` at a time and at most `max_bytes` of JSON each.
pub fn all_history(
    store: &dyn Snapshots,
    host: &str,
    limit: usize,
    max_bytes: usize,
) -> Vec<String> {
    let mut q = query(host, limit);
    let mut out = Vec::new();
    loop {
        let page = store.history_bounded(&q, max_bytes).unwrap();
        assert!(!page.snapshots.is_empty(), "a page makes progress");
        assert!(page.snapshots.len() <= limit);
        out.extend(page.snapshots.into_iter().map(|s| s.json));
        match page.next {
            Some(next) => q.after = Some(next),
            None => return out,
        }
    }
}
