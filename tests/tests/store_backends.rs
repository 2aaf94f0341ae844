//! One suite of store behaviour, run against both stores: the embedded redb file of a single
//! server and the PostgreSQL database of a cluster (a real PostgreSQL started by the test).
//! Appends are acked after commit and read back byte for byte, in capture order, paged alike;
//! summaries are the snapshots' own; a resent snapshot is stored once; latest snapshots and
//! host names agree; pruning removes old days. Then what only the shared database does: two
//! servers' writers on one database store a snapshot resent to both once, and each reads the
//! other's delta chains. Issued tokens, alerts and licence polls are kept alike by both.

use std::time::Duration;

use idlewatch_protocol::Snapshot;
use idlewatch_protocol::api::{Alert, AlertKind, AlertState};
use idlewatch_store::{
    DeltaKind, Holder, OpenOptions, PoolPoint, RecordStore, Snapshots, Store, Summary, TokenStore,
};
use idlewatch_store_pg::{PgOptions, PgStore};
use idlewatch_tests::postgres::Postgres;
use idlewatch_tests::stored::{
    DAY, DAY0, STEP, all_history, append, query, received, series, text,
};
use idlewatch_tests::wait_until;

/// The behaviour both stores share.
fn shared_suite(store: &dyn Snapshots, name: &str) {
    // A host last heard of days ago, and one across a midnight, for pruning at the end.
    let old = series(&["lab-old"], DAY0 - 3 * DAY, 20);
    let night = series(&["lab-night"], DAY0 - DAY - 10 * STEP, 20);
    let acks_old = append(store, &received(&[old, night.clone()].concat()));
    assert!(acks_old.iter().all(|a| !a.duplicate));

    // Out of capture order on purpose: history is in capture order whatever the arrival.
    let mut all = series(&["lab-b", "lab-a"], DAY0 + 10 * STEP, 300);
    all.extend(series(&["lab-a"], DAY0, 10));
    let acks = append(store, &received(&all));
    assert!(
        acks.iter().all(|a| !a.duplicate),
        "{name}: nothing was stored before"
    );
    let mut seqs: Vec<u64> = acks.iter().map(|a| a.seq).collect();
    seqs.sort_unstable();
    seqs.dedup();
    assert_eq!(seqs.len(), all.len(), "{name}: one seq per snapshot");

    for host in ["lab-a", "lab-b"] {
        let mut want: Vec<&(String, i64, String)> = all.iter().filter(|s| s.0 == host).collect();
        want.sort_by_key(|s| s.1);
        let want: Vec<String> = want.iter().map(|s| s.2.clone()).collect();
        for (limit, max_bytes) in [(7, usize::MAX), (1000, 5_000), (usize::MAX, usize::MAX)] {
            assert_eq!(
                all_history(store, host, limit, max_bytes),
                want,
                "{name}: {host}'s history by {limit} and {max_bytes} bytes"
            );
        }
        // A range: from inclusive, to exclusive.
        let mut q = query(host, 1000);
        q.from_ms = Some(DAY0 + 20 * STEP);
        q.to_ms = Some(DAY0 + 30 * STEP);
        let page = store.history_bounded(&q, usize::MAX).unwrap();
        let times: Vec<i64> = page.snapshots.iter().map(|s| s.captured_ms).collect();
        assert_eq!(
            times,
            (20..30).map(|k| DAY0 + k * STEP).collect::<Vec<_>>(),
            "{name}"
        );
        assert!(
            page.snapshots
                .iter()
                .all(|s| s.received_ms == s.captured_ms + 100)
        );

        // Summaries: the snapshots' own, paged alike.
        let mut q = query(host, 64);
        let mut rows = Vec::new();
        loop {
            let page = store.summaries(&q).unwrap();
            rows.extend(page.rows);
            match page.next {
                Some(next) => q.after = Some(next),
                None => break,
            }
        }
        let summaries: Vec<Summary> = rows.iter().map(|r| r.summary.clone()).collect();
        let expected: Vec<Summary> = want
            .iter()
            .map(|j| Summary::of(Snapshot::parse(j).unwrap().fields()))
            .collect();
        assert_eq!(summaries, expected, "{name}: {host}'s summaries");
        assert!(summaries.iter().any(|s| s.session.is_some()));
        assert!(summaries.iter().any(|s| s.session.is_none()));
        assert!(summaries.iter().all(|s| s.apps.len() == 1));
    }

    // Latest by capture time, ignoring times after the bound.
    let latest = store.latest_per_host(i64::MAX).unwrap();
    let mut latest: Vec<(String, i64)> = latest
        .into_iter()
        .map(|l| (l.host, l.snapshot.captured_ms))
        .collect();
    latest.sort();
    let last = DAY0 + 309 * STEP;
    assert_eq!(
        latest,
        vec![
            ("lab-a".to_owned(), last),
            ("lab-b".to_owned(), last),
            ("lab-night".to_owned(), DAY0 - DAY + 9 * STEP),
            ("lab-old".to_owned(), DAY0 - 3 * DAY + 19 * STEP)
        ],
        "{name}"
    );
    let bounded = store
        .latest_of("lab-a", DAY0 + 5 * STEP + 1)
        .unwrap()
        .unwrap();
    assert_eq!(bounded.captured_ms, DAY0 + 5 * STEP, "{name}");
    assert_eq!(bounded.json, text("lab-a", DAY0 + 5 * STEP, 5), "{name}");
    assert!(store.latest_of("lab-zz", i64::MAX).unwrap().is_none());
    // The state a range starts in: the last snapshot before it, within the bound.
    let before = store
        .record_before("lab-b", DAY0, DAY0 + 20 * STEP + 1)
        .unwrap()
        .unwrap();
    assert_eq!(before.captured_ms, DAY0 + 20 * STEP, "{name}");
    assert_eq!(
        before.summary,
        Summary::of(
            Snapshot::parse(&text("lab-b", before.captured_ms, 10))
                .unwrap()
                .fields()
        ),
        "{name}"
    );
    assert!(
        store
            .record_before("lab-b", DAY0 + 11 * STEP, DAY0 + 10 * STEP)
            .unwrap()
            .is_none(),
        "{name}: nothing in an empty range"
    );
    assert!(
        store
            .record_before("lab-zz", 0, i64::MAX)
            .unwrap()
            .is_none()
    );
    assert_eq!(
        store.host_names().unwrap(),
        vec!["lab-a", "lab-b", "lab-night", "lab-old"],
        "{name}"
    );
    let count = store.snapshot_count().unwrap();
    assert_eq!(count, all.len() as u64 + 40, "{name}");

    // An unknown host is an error that names it.
    let err = store
        .history_bounded(&query("lab-zz", 10), usize::MAX)
        .unwrap_err();
    assert!(err.to_string().contains("lab-zz"), "{name}: {err}");

    // Resent: in a later group, and twice within one group; each acked with the first seq.
    let again = vec![
        received(&all)[3].clone(),
        received(&all)[400].clone(),
        received(&all)[400].clone(),
    ];
    let acks_again = append(store, &again);
    assert!(
        acks_again.iter().all(|a| a.duplicate),
        "{name}: {acks_again:?}"
    );
    assert_eq!(acks_again[0].seq, acks[3].seq, "{name}");
    assert_eq!(acks_again[1].seq, acks[400].seq, "{name}");
    assert_eq!(
        store.snapshot_count().unwrap(),
        count,
        "{name}: stored once"
    );

    // Pruning: days that end before the cutoff go, later ones stay and still decode.
    store.prune_before(DAY0 - DAY);
    wait_until(
        &format!("{name}: old days pruned"),
        Duration::from_secs(20),
        || {
            store.flush();
            store.latest_of("lab-old", i64::MAX).unwrap().is_none()
        },
    );
    let night: Vec<String> = night.into_iter().map(|s| s.2).collect();
    let night_left = all_history(store, "lab-night", 4, usize::MAX);
    assert!(
        night_left.len() >= 10 && night.ends_with(&night_left),
        "{name}: what stays of lab-night is what it sent after midnight, at least"
    );
    assert_eq!(
        all_history(store, "lab-b", 50, usize::MAX).len(),
        300,
        "{name}"
    );
}

#[test]
fn redb_store_passes_the_shared_suite() {
    for deltas in [DeltaKind::Zstd, DeltaKind::Structural] {
        let dir = tempfile::tempdir().unwrap();
        let options = OpenOptions {
            deltas,
            ..OpenOptions::default()
        };
        let (store, _writer, _) = Store::open(dir.path(), &options).unwrap();
        shared_suite(&store, &format!("redb, {deltas:?} deltas"));
    }
}

#[test]
fn postgres_store_passes_the_shared_suite() {
    let dir = tempfile::tempdir().unwrap();
    let pg = Postgres::start(&dir.path().join("pg"), false);
    for deltas in [DeltaKind::Zstd, DeltaKind::Structural] {
        let url = pg.create_database(&format!("idlewatch_{deltas:?}").to_lowercase());
        let options = PgOptions {
            deltas,
            ..PgOptions::default()
        };
        let store = PgStore::open(&url, options).unwrap();
        shared_suite(&store, &format!("postgres, {deltas:?} deltas"));
    }
}

#[test]
fn two_servers_on_one_database_store_a_resent_snapshot_once_and_read_each_others_chains() {
    let dir = tempfile::tempdir().unwrap();
    let pg = Postgres::start(&dir.path().join("pg"), false);
    let url = pg.create_database("idlewatch");
    let a = PgStore::open(&url, PgOptions::default()).unwrap();
    let b = PgStore::open(&url, PgOptions::default()).unwrap();

    // The agent talks to A, then (A lost) resends its last 20 to B and goes on there.
    let all = series(&["lab-1"], DAY0, 400);
    let texts = received(&all);
    let on_a = append(&a, &texts[..300]);
    let on_b = append(&b, &texts[280..]);
    for (i, ack) in on_b.iter().enumerate().take(20) {
        assert!(ack.duplicate, "resent {i} is a duplicate");
        assert_eq!(ack.seq, on_a[280 + i].seq);
    }
    assert!(on_b[20..].iter().all(|a| !a.duplicate));
    assert_eq!(a.snapshot_count().unwrap(), 400);

    // Each reads every record, deltas written by either, byte for byte.
    let want: Vec<String> = all.iter().map(|s| s.2.clone()).collect();
    for (name, store) in [("A", &a), ("B", &b)] {
        assert_eq!(
            all_history(store, "lab-1", 33, usize::MAX),
            want,
            "from {name}"
        );
    }
    // Concurrent first snapshots of one new host from both servers: one host row, one record
    // each.
    let one = series(&["lab-new"], DAY0, 2);
    let text_b = received(&one);
    std::thread::scope(|s| {
        s.spawn(|| append(&a, &text_b[..1]));
        s.spawn(|| append(&b, &text_b[1..]));
    });
    assert_eq!(a.host_names().unwrap(), vec!["lab-1", "lab-new"]);
    assert_eq!(all_history(&b, "lab-new", 10, usize::MAX).len(), 2);
}

#[test]
fn two_servers_storing_the_same_snapshots_at_once_store_each_once_and_every_record_decodes() {
    let dir = tempfile::tempdir().unwrap();
    let pg = Postgres::start(&dir.path().join("pg"), false);
    let url = pg.create_database("idlewatch");
    let a = PgStore::open(&url, PgOptions::default()).unwrap();
    let b = PgStore::open(&url, PgOptions::default()).unwrap();
    // Every snapshot sent to both at once (an agent resending everything after a failover,
    // as the other server commits it): groups race on the same rows, each host's records in a
    // group chained to each other.
    let hosts = ["race-1", "race-2", "race-3"];
    let all = series(&hosts, DAY0, 400);
    let texts = received(&all);
    let (on_a, on_b) = std::thread::scope(|s| {
        let on_a = s.spawn(|| append(&a, &texts));
        let on_b = s.spawn(|| append(&b, &texts));
        (on_a.join().unwrap(), on_b.join().unwrap())
    });
    for (i, (x, y)) in on_a.iter().zip(&on_b).enumerate() {
        assert_eq!(x.seq, y.seq, "snapshot {i} has one seq");
        assert_ne!(
            x.duplicate, y.duplicate,
            "snapshot {i} was stored by exactly one"
        );
    }
    assert_eq!(a.snapshot_count().unwrap(), texts.len() as u64);
    for host in hosts {
        let want: Vec<String> = all
            .iter()
            .filter(|s| s.0 == host)
            .map(|s| s.2.clone())
            .collect();
        assert_eq!(all_history(&b, host, 64, usize::MAX), want, "{host}");
    }
}

#[test]
fn postgres_store_says_what_is_wrong_with_its_url_and_server() {
    let Err(err) = PgStore::open("mysql://x", PgOptions::default()) else {
        panic!("a MySQL URL was accepted");
    };
    assert!(err.to_string().contains("postgres://"), "{err}");
    let port = idlewatch_tests::free_address();
    let options = PgOptions {
        connect_timeout: Duration::from_secs(2),
        ..PgOptions::default()
    };
    let Err(err) = PgStore::open(&format!("postgres://postgres@{port}/x"), options) else {
        panic!("nothing listens there");
    };
    assert!(
        err.to_string().contains("connecting to PostgreSQL"),
        "{err}"
    );
}

/// Tokens kept alike by both stores: listed by id with their holders and hashes, removed once.
fn token_suite(store: &dyn TokenStore, name: &str) {
    let host = Holder::Host("pc-07".to_owned());
    let groups = Holder::Groups(vec!["lab-a".to_owned(), "lab b".to_owned()]);
    let first = store.add_token(&host, &[1; 32], 10).unwrap();
    let second = store.add_token(&groups, &[2; 32], 20).unwrap();
    assert!(second > first, "{name}");
    let listed: Vec<_> = store
        .tokens()
        .unwrap()
        .into_iter()
        .map(|t| (t.id, t.holder, t.hash, t.created_ms))
        .collect();
    assert_eq!(
        listed,
        [
            (first, host, vec![1; 32], 10),
            (second, groups.clone(), vec![2; 32], 20)
        ],
        "{name}"
    );
    assert!(store.remove_token(first).unwrap(), "{name}");
    assert!(!store.remove_token(first).unwrap(), "{name}");
    let left: Vec<_> = store.tokens().unwrap().into_iter().map(|t| t.id).collect();
    assert_eq!(left, [second], "{name}");
}

#[test]
fn both_stores_keep_issued_tokens_alerts_and_licence_polls_alike() {
    let dir = tempfile::tempdir().unwrap();
    let (redb, _writer, _) =
        Store::open(&dir.path().join("redb"), &OpenOptions::default()).unwrap();
    token_suite(&redb, "redb");
    records_suite(&redb, "redb");
    let pg = Postgres::start(&dir.path().join("pg"), false);
    let shared = PgStore::open(
        &pg.create_database("idlewatch_tokens"),
        PgOptions::default(),
    )
    .unwrap();
    token_suite(&shared, "postgres");
    records_suite(&shared, "postgres");
}

fn alert(host: &str) -> Alert {
    Alert {
        id: 0,
        alert: "orphans".to_owned(),
        kind: AlertKind::LicenceOrphaned,
        state: AlertState::Firing,
        host: Some(host.to_owned()),
        group: None,
        app: Some("ansys".to_owned()),
        since: "2026-12-01T10:00:00.000Z".to_owned(),
        fired_at: "2026-12-01T10:00:00.000Z".to_owned(),
        notified_at: "2026-12-01T10:00:00.000Z".to_owned(),
        resolved_at: None,
        summary: format!("a checkout of ansys on {host}"),
    }
}

/// Alerts and licence polls kept alike by both stores: ids given in order, rewritten in place,
/// listed oldest first; only alerts resolved before the cut-off pruned; polls read by range,
/// the same instant replaced, pruned by time.
fn records_suite(store: &dyn RecordStore, name: &str) {
    let (mut first, mut second, mut third) = (alert("pc-1"), alert("pc-2"), alert("pc-3"));
    let id1 = store.add_alert(&mut first).unwrap();
    let id2 = store.add_alert(&mut second).unwrap();
    store.add_alert(&mut third).unwrap();
    assert!(id2 > id1 && first.id == id1 && second.id == id2, "{name}");
    first.state = AlertState::Resolved;
    first.resolved_at = Some("2026-12-01T11:00:00.000Z".to_owned());
    first.summary = "released".to_owned();
    store.update_alert(&first).unwrap();
    second.state = AlertState::Resolved;
    second.resolved_at = Some("2026-12-01T13:00:00.000Z".to_owned());
    store.update_alert(&second).unwrap();
    assert_eq!(
        store.alerts().unwrap(),
        [first.clone(), second.clone(), third.clone()],
        "{name}"
    );
    let noon = idlewatch_protocol::time::parse_rfc3339_ms("2026-12-01T12:00:00Z").unwrap();
    assert_eq!(store.prune_alerts_before(noon).unwrap(), 1, "{name}");
    assert_eq!(store.alerts().unwrap(), [second, third], "{name}");

    let point = |at_ms, in_use| PoolPoint {
        at_ms,
        issued: 10,
        in_use,
    };
    for (server, at_ms, in_use) in [("lic1", 300, 3), ("lic1", 100, 1), ("lic2", 200, 9)] {
        store
            .add_licence_poll(server, point(at_ms, in_use))
            .unwrap();
    }
    store.add_licence_poll("lic1", point(300, 4)).unwrap();
    assert_eq!(
        store.licence_polls("lic1", 0, 1_000).unwrap(),
        [point(100, 1), point(300, 4)],
        "{name}"
    );
    assert_eq!(
        store.licence_polls("lic1", 100, 300).unwrap(),
        [point(100, 1)],
        "{name}: [from, to)"
    );
    assert_eq!(store.prune_licence_polls_before(250).unwrap(), 2, "{name}");
    assert_eq!(
        store.licence_polls("lic1", 0, 1_000).unwrap(),
        [point(300, 4)],
        "{name}"
    );
    assert_eq!(store.licence_polls("lic2", 0, 1_000).unwrap(), [], "{name}");
}
