//! Deleting a host's snapshots, alike on both stores (the redb file of a single server and the
//! PostgreSQL database of a cluster, a real PostgreSQL started by the test): a range in the
//! middle of a day goes and every kept snapshot still reads back byte for byte (the records
//! that leaned on deleted ones were rewritten); the tail of a host's history goes and the
//! snapshots that arrive next are stored and read back (no writer builds on a deleted record);
//! a host deleted whole is no longer listed, and deleting it again says it is unknown; the
//! store's count follows every deletion.

use idlewatch_store::{DeleteQuery, DeltaKind, Error, OpenOptions, Snapshots, Store};
use idlewatch_store_pg::{PgOptions, PgStore};
use idlewatch_tests::postgres::Postgres;
use idlewatch_tests::stored::{DAY0, all_history, append, received, series};

fn texts_of(all: &[(String, i64, String)], host: &str, keep: impl Fn(i64) -> bool) -> Vec<String> {
    all.iter()
        .filter(|(h, at, _)| h == host && keep(*at))
        .map(|(_, _, json)| json.clone())
        .collect()
}

fn range(host: &str, from_ms: Option<i64>, to_ms: Option<i64>) -> DeleteQuery {
    DeleteQuery {
        host: host.to_owned(),
        from_ms,
        to_ms,
    }
}

fn deleting_suite(store: &dyn Snapshots, name: &str) {
    // Two hours of pc1 and pc2, 5 s apart, each record a delta on the one before.
    let all = series(&["pc1", "pc2"], DAY0 + 3_600_000, 1_440);
    append(store, &received(&all));

    // A range in the middle of the day: what follows it leaned on it.
    let (from, to) = (DAY0 + 4_000_000, DAY0 + 5_000_000 + 2_500);
    let gone = store.delete(range("pc1", Some(from), Some(to))).unwrap();
    let kept = texts_of(&all, "pc1", |at| !(from..to).contains(&at));
    assert_eq!(gone as usize, 1_440 - kept.len(), "{name}");
    assert_eq!(all_history(store, "pc1", 100, usize::MAX), kept, "{name}");
    assert_eq!(
        store.snapshot_count().unwrap() as usize,
        kept.len() + 1_440,
        "{name}"
    );
    assert_eq!(
        all_history(store, "pc2", 100, usize::MAX),
        texts_of(&all, "pc2", |_| true),
        "{name}: the other host is untouched"
    );

    // The tail, then more of the same day: the next records cannot lean on deleted ones.
    let tail = DAY0 + 8_000_000;
    store.delete(range("pc1", Some(tail), None)).unwrap();
    let more = series(&["pc1"], DAY0 + 9_000_000, 200);
    append(store, &received(&more));
    let mut want = texts_of(&all, "pc1", |at| !(from..to).contains(&at) && at < tail);
    want.extend(more.iter().map(|(_, _, json)| json.clone()));
    assert_eq!(all_history(store, "pc1", 64, usize::MAX), want, "{name}");
    assert_eq!(
        store.snapshot_count().unwrap() as usize,
        want.len() + 1_440,
        "{name}"
    );

    // A host deleted whole.
    assert_eq!(
        store.delete(range("pc2", None, None)).unwrap(),
        1_440,
        "{name}"
    );
    assert_eq!(store.host_names().unwrap(), ["pc1"], "{name}");
    assert_eq!(
        store.snapshot_count().unwrap() as usize,
        want.len(),
        "{name}"
    );
    assert!(
        matches!(
            store.delete(range("pc2", None, None)),
            Err(Error::UnknownHost(_))
        ),
        "{name}"
    );
    assert!(
        matches!(
            store.delete(range("nobody", None, None)),
            Err(Error::UnknownHost(_))
        ),
        "{name}"
    );
}

#[test]
fn redb_store_deletes_as_the_suite_says() {
    let dir = tempfile::tempdir().unwrap();
    let options = OpenOptions {
        deltas: DeltaKind::Structural,
        ..OpenOptions::default()
    };
    let (store, _writer, _) = Store::open(dir.path(), &options).unwrap();
    deleting_suite(&store, "redb");
}

#[test]
fn postgres_store_deletes_as_the_suite_says() {
    let dir = tempfile::tempdir().unwrap();
    let pg = Postgres::start(&dir.path().join("pg"), false);
    for deltas in [DeltaKind::Structural, DeltaKind::Zstd] {
        let url = pg.create_database(&format!("idlewatch_delete_{deltas:?}").to_lowercase());
        let options = PgOptions {
            deltas,
            ..PgOptions::default()
        };
        let store = PgStore::open(&url, options).unwrap();
        deleting_suite(&store, &format!("postgres, {deltas:?} deltas"));
    }
}
