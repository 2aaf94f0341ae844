//! Summary hours answer exactly as the records do: every page of summaries read from a store
//! whose settled hours are gathered equals the same page from a store fed the same snapshots
//! without them — after gathering, after a late snapshot into a gathered hour, after a
//! deletion and after retention, each before and after gathering again.

use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;

use idlewatch_protocol::Snapshot;
use idlewatch_store::{DeleteQuery, HistoryQuery, OpenOptions, Store, SummaryRow, Writer};

/// 2100-01-01 00:00 UTC: in the future, so no round in the background gathers these hours
/// before the test asks.
const T0: i64 = 4_102_444_800_000;
const HOUR: i64 = 3_600_000;
/// Long after everything here: every hour has settled.
const LATER: i64 = T0 + 30 * 86_400_000;

fn json(host: &str, at: i64, k: i64) -> String {
    format!(
        r#"{{"host":"{host}","captured_at":{at},"user_active":{},"idle_seconds":{},"cpu_percent":{}.5,"foreground_process":"{}","session":{{"user":"u{}"}},"watched":{{"matlab":{{"state":"{}"}}}},"processes":[{{"pid":1,"name":"a.exe"}}]}}"#,
        k % 3 == 0,
        k % 400,
        k % 90,
        if k % 7 == 0 { "code.exe" } else { "matlab.exe" },
        k / 200,
        if k % 5 == 0 { "idle" } else { "interactive" },
    )
}

/// Two stores fed alike: `gathered` gets summary hours, `plain` never does.
struct Pair {
    gathered: Store,
    plain: Store,
    _writers: (Writer, Writer),
}

impl Pair {
    fn new() -> Self {
        let (gathered, a) = Store::in_memory(&OpenOptions::default()).unwrap();
        let options = OpenOptions {
            summary_hours: false,
            ..OpenOptions::default()
        };
        let (plain, b) = Store::in_memory(&options).unwrap();
        Self {
            gathered,
            plain,
            _writers: (a, b),
        }
    }

    fn append(&self, host: &str, at: i64, received: i64, k: i64) {
        for store in [&self.gathered, &self.plain] {
            let (tx, rx) = mpsc::channel();
            store
                .try_append(
                    Arc::new(Snapshot::parse(&json(host, at, k)).unwrap()),
                    received,
                    Box::new(move |r| tx.send(r.map(|a| a.seq)).unwrap()),
                )
                .unwrap();
            rx.recv_timeout(Duration::from_secs(10)).unwrap().unwrap();
        }
    }

    /// Every page of every query below equal in both stores; returns how many rows in all.
    fn assert_same(&self, when: &str) -> usize {
        let mut total = 0;
        for host in ["pc1", "pc2"] {
            for (from, to) in [
                (None, None),
                (Some(T0 + HOUR / 2), Some(T0 + 2 * HOUR + 1_234)),
                (Some(T0 + HOUR), Some(T0 + 2 * HOUR)),
                (Some(T0 + 5 * HOUR), None),
            ] {
                for limit in [1, 7, 359, 360, 361, 100_000] {
                    let a = pages(&self.gathered, host, from, to, limit);
                    let b = pages(&self.plain, host, from, to, limit);
                    assert_eq!(
                        a.len(),
                        b.len(),
                        "{when}: {host} {from:?}..{to:?} by {limit}: page counts"
                    );
                    assert!(
                        a == b,
                        "{when}: {host} {from:?}..{to:?} by {limit}: pages differ"
                    );
                    total += b.iter().map(|(rows, _)| rows.len()).sum::<usize>();
                }
            }
        }
        total
    }
}

type Page = (Vec<SummaryRow>, Option<(i64, u64)>);

fn pages(store: &Store, host: &str, from: Option<i64>, to: Option<i64>, limit: usize) -> Vec<Page> {
    let mut out = Vec::new();
    let mut after = None;
    loop {
        let page = store
            .summaries(&HistoryQuery {
                host: host.to_owned(),
                from_ms: from,
                to_ms: to,
                limit,
                after,
            })
            .unwrap();
        let next = page.next;
        out.push((page.rows, next));
        match next {
            Some(n) => after = Some(n),
            None => return out,
        }
    }
}

#[test]
fn summary_hours_answer_as_the_records_through_late_snapshots_deletions_and_retention() {
    let pair = Pair::new();
    // Three hours of two PCs at 10 s, pc2 silent in the second hour.
    for i in 0..(3 * 360) {
        let at = T0 + i * 10_000;
        pair.append("pc1", at, at + 50, i);
        if !(360..720).contains(&i) {
            pair.append("pc2", at + 3, at + 60, i);
        }
    }
    // A snapshot seven hours on, and the same one replayed (a duplicate: stored once).
    pair.append("pc1", T0 + 7 * HOUR + 1, T0 + 7 * HOUR + 2, 5);
    pair.append("pc1", T0 + 7 * HOUR + 1, T0 + 7 * HOUR + 9, 5);
    let rows = pair.assert_same("before gathering");
    assert!(rows > 0);

    // Hours settled at T0 + 3h15m: pc1's three, pc2's two; not the one at 7 h.
    assert_eq!(
        pair.gathered
            .gather_summary_hours(T0 + 3 * HOUR + 15 * 60_000)
            .unwrap(),
        5
    );
    assert_eq!(pair.gathered.gather_summary_hours(LATER).unwrap(), 1);
    assert_eq!(
        pair.gathered.gather_summary_hours(LATER).unwrap(),
        0,
        "all built"
    );
    assert_eq!(pair.assert_same("gathered"), rows);

    // A late snapshot into pc1's second hour, and one into pc2's silent hour.
    pair.append("pc1", T0 + HOUR + 4_321, LATER, 11);
    pair.append("pc2", T0 + HOUR + 99, LATER, 12);
    // Each is in three of the four ranges, read at six page sizes.
    assert_eq!(pair.assert_same("late snapshots"), rows + 2 * 3 * 6);
    assert_eq!(pair.gathered.gather_summary_hours(LATER).unwrap(), 2);
    pair.assert_same("late snapshots, gathered again");

    // A deletion from the middle of one hour to the middle of the next.
    for store in [&pair.gathered, &pair.plain] {
        store
            .delete(DeleteQuery {
                host: "pc1".to_owned(),
                from_ms: Some(T0 + HOUR / 2),
                to_ms: Some(T0 + HOUR + HOUR / 3),
            })
            .unwrap();
    }
    pair.assert_same("deleted");
    assert_eq!(pair.gathered.gather_summary_hours(LATER).unwrap(), 2);
    pair.assert_same("deleted, gathered again");

    // Retention of what was received in the first 100 minutes: wait until both stores hold
    // fewer records and have not changed for a while.
    let before = pair.plain.snapshot_count().unwrap();
    for store in [&pair.gathered, &pair.plain] {
        store.prune_before(T0 + 100 * 60_000);
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let mut last = (before, before);
    loop {
        std::thread::sleep(Duration::from_millis(300));
        let now = (
            pair.gathered.snapshot_count().unwrap(),
            pair.plain.snapshot_count().unwrap(),
        );
        if now == last && now.0 == now.1 && now.0 < before {
            break;
        }
        last = now;
        assert!(
            std::time::Instant::now() < deadline,
            "retention did not finish"
        );
    }
    pair.gathered.flush();
    pair.plain.flush();
    pair.assert_same("pruned");
    pair.gathered.gather_summary_hours(LATER).unwrap();
    pair.assert_same("pruned, gathered again");

    // All of pc2 deleted: its rows go with it, and a host of that name starts afresh.
    for store in [&pair.gathered, &pair.plain] {
        store
            .delete(DeleteQuery {
                host: "pc2".to_owned(),
                from_ms: None,
                to_ms: None,
            })
            .unwrap();
    }
    pair.append("pc2", T0 + 40, T0 + 41, 3);
    pair.assert_same("pc2 deleted and back");
    assert_eq!(pair.gathered.gather_summary_hours(LATER).unwrap(), 1);
    pair.assert_same("pc2 back, gathered");
}
