//! The minute and day tiers on both stores: the same snapshots aged in the redb file of a
//! single server and in the PostgreSQL database of a cluster (a real PostgreSQL started by the
//! test) give the same `detail_from`, the same minute, hour and day rows byte for byte (so
//! every report reads the same seconds from either), the same first minute and the same tier
//! sizes; deleting an aged range removes the same rows from both; PostgreSQL drops the day
//! partitions every host has folded and keeps those whose last snapshots may still count after
//! a host's `detail_from`; aging again changes nothing.

use idlewatch_store::{
    DeleteQuery, DeltaKind, HOUR_MS, MinuteRow, OpenOptions, Snapshots, Store, day_of,
};
use idlewatch_store_pg::{PgOptions, PgStore};
use idlewatch_tests::postgres::Postgres;
use idlewatch_tests::stored::{DAY, DAY0, append, received, series_every};

/// Snapshots 30 s apart (each covers at most three intervals).
const STEP: i64 = 30_000;
const COVER: i64 = 3 * STEP;

/// pc1 reports throughout two days and a half; pc2 the first ten hours and hours 30–40, then
/// stops; pc3 only on the third day (nothing of it ages).
fn snapshots() -> Vec<(String, i64, String)> {
    let per_hour = HOUR_MS / STEP;
    let mut all = series_every(&["pc1"], DAY0, 60 * per_hour, STEP);
    all.extend(series_every(&["pc2"], DAY0, 10 * per_hour, STEP));
    all.extend(series_every(
        &["pc2"],
        DAY0 + 30 * HOUR_MS,
        10 * per_hour,
        STEP,
    ));
    all.extend(series_every(
        &["pc3"],
        DAY0 + 2 * DAY + HOUR_MS,
        per_hour,
        STEP,
    ));
    all.sort_by_key(|(_, at, _)| *at);
    all
}

/// What a store's tiers answer for `host`: its `detail_from`, first minute and rows over the
/// three days — with whole hours from day rows, and with every other hour's minutes.
type Answer = (Option<i64>, Option<i64>, Vec<MinuteRow>, Vec<MinuteRow>);

fn answer(store: &dyn Snapshots, host: &str) -> Answer {
    let rows = |fine: &dyn Fn(i64) -> bool| {
        let mut out = Vec::new();
        store
            .each_tier_row(host, DAY0 - DAY, DAY0 + 3 * DAY, fine, &mut |row| {
                out.push(row);
                Ok(true)
            })
            .unwrap();
        out
    };
    (
        store.detail_from(host).unwrap(),
        store.first_minute(host).unwrap(),
        rows(&|_| false),
        rows(&|hour| (hour / HOUR_MS) % 2 == 0),
    )
}

/// Ages what was captured before hour 49 (day 2, 01:00), and trims the minute rows of day 0.
fn age(store: &dyn Snapshots) -> idlewatch_store::Aged {
    store
        .age_tiers(DAY0 + 2 * DAY + HOUR_MS, COVER, Some(DAY0 + DAY))
        .unwrap()
}

#[test]
fn both_stores_age_the_same_snapshots_into_the_same_tiers() {
    let all = snapshots();
    let texts = received(&all);
    let dir = tempfile::tempdir().unwrap();
    let options = OpenOptions {
        deltas: DeltaKind::Structural,
        ..OpenOptions::default()
    };
    let (redb, _writer, _) = Store::open(&dir.path().join("redb"), &options).unwrap();
    let pg = Postgres::start(&dir.path().join("pg"), false);
    let shared =
        PgStore::open(&pg.create_database("idlewatch_tiers"), PgOptions::default()).unwrap();
    let stores: [(&dyn Snapshots, &str); 2] = [(&redb, "redb"), (&shared, "postgres")];
    for (store, _) in stores {
        append(store, &texts);
        assert_eq!(answer(store, "pc1"), (None, None, Vec::new(), Vec::new()));
    }
    let count_from = |from: i64| all.iter().filter(|(_, at, _)| *at >= from).count() as u64;
    assert_eq!(shared.snapshot_count().unwrap(), all.len() as u64);

    let aged: Vec<_> = stores.iter().map(|(store, _)| age(*store)).collect();
    assert_eq!(aged[0].folded_hours, aged[1].folded_hours, "{aged:?}");
    assert!(aged[0].folded_hours >= 2 * 49, "{aged:?}");
    assert_eq!(aged[0].trimmed_hours, aged[1].trimmed_hours, "{aged:?}");
    assert!(aged[1].trimmed_hours >= 24, "day 0's minutes go: {aged:?}");
    // Days 0 and 1 are folded by every host that has snapshots there: their partitions go.
    assert_eq!(
        aged[1].removed,
        all.len() as u64 - count_from(DAY0 + 2 * DAY)
    );
    assert_eq!(shared.snapshot_count().unwrap(), count_from(DAY0 + 2 * DAY));

    for host in ["pc1", "pc2", "pc3"] {
        let (a, b) = (answer(&redb, host), answer(&shared, host));
        assert_eq!((a.0, a.1), (b.0, b.1), "{host}: detail_from, first minute");
        for (x, y) in [(&a.2, &b.2), (&a.3, &b.3)] {
            let differ = x.iter().zip(y.iter()).find(|(x, y)| x != y);
            assert!(x.len() == y.len() && differ.is_none(), "{host}: {differ:?}");
        }
        if host != "pc3" {
            assert_eq!(
                a.0,
                Some(DAY0 + 2 * DAY + HOUR_MS),
                "{host} folded to the cutoff"
            );
            assert!(
                a.2.iter().any(|r| r.span_ms == HOUR_MS),
                "{host}: days by hours"
            );
            assert!(
                a.3.iter()
                    .any(|r| r.span_ms < HOUR_MS && day_of(r.at_ms) == DAY0 + DAY),
                "{host}: day 1's minutes where asked for"
            );
        }
    }
    let pc1 = answer(&shared, "pc1");
    // "From the beginning" reads the same rows as the three days.
    for (store, name) in stores {
        let mut all = Vec::new();
        store
            .each_tier_row("pc1", i64::MIN, i64::MAX, &|_| false, &mut |row| {
                all.push(row);
                Ok(true)
            })
            .unwrap();
        assert!(
            all == pc1.2,
            "{name}: {} rows, not {}",
            all.len(),
            pc1.2.len()
        );
    }
    assert_eq!(pc1.1, Some(DAY0), "pc1's first minute");
    assert!(
        pc1.2.iter().all(|r| r.at_ms < DAY0 + 2 * DAY + HOUR_MS),
        "rows end where snapshots start to count"
    );
    // Days 0 and 1, folded whole, read as 24 hour rows each; the first hour of day 2 as its 60
    // minutes.
    let day0_hours = pc1.2.iter().filter(|r| day_of(r.at_ms) == DAY0).count();
    assert_eq!(day0_hours, 24);
    assert_eq!(pc1.2.len(), 48 + 60);
    let active: i64 = pc1.2.iter().map(|r| i64::from(r.minute.active_ms)).sum();
    let whole: i64 = pc1.3.iter().map(|r| i64::from(r.minute.active_ms)).sum();
    assert_eq!(active, whole, "hour rows and minute rows add up alike");
    assert_eq!(redb.tier_sizes().unwrap(), shared.tier_sizes().unwrap());

    // Deleting an aged range takes its hours of minute rows and of day rows, alike.
    let (from, to) = (DAY0 + 2 * HOUR_MS + 1_000, DAY0 + 5 * HOUR_MS);
    for (store, name) in stores {
        let query = DeleteQuery {
            host: "pc2".to_owned(),
            from_ms: Some(from),
            to_ms: Some(to),
        };
        store
            .delete(query)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    let (a, b) = (answer(&redb, "pc2"), answer(&shared, "pc2"));
    assert_eq!(a, b, "pc2 after deleting a range");
    assert!(
        !a.3.iter()
            .any(|r| r.at_ms >= DAY0 + 2 * HOUR_MS && r.at_ms < to),
        "nothing of the hours the range touched is left"
    );
    assert!(a.3.iter().any(|r| r.at_ms < DAY0 + 2 * HOUR_MS));
    assert_eq!(redb.tier_sizes().unwrap(), shared.tier_sizes().unwrap());
    // Deleted whole, a host starts over: nothing of it has aged.
    for (store, name) in stores {
        let query = DeleteQuery {
            host: "pc2".to_owned(),
            from_ms: None,
            to_ms: None,
        };
        store
            .delete(query)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            answer(store, "pc2"),
            (None, None, Vec::new(), Vec::new()),
            "{name}"
        );
    }

    // A second round has nothing left to fold or drop.
    let again = age(&shared);
    assert_eq!((again.folded_hours, again.removed), (0, 0), "{again:?}");
    assert_eq!(answer(&shared, "pc1"), pc1);
}

#[test]
fn postgres_keeps_the_day_partitions_a_host_may_still_read() {
    let all = snapshots();
    let dir = tempfile::tempdir().unwrap();
    let pg = Postgres::start(&dir.path().join("pg"), false);
    let store =
        PgStore::open(&pg.create_database("idlewatch_cover"), PgOptions::default()).unwrap();
    append(&store, &received(&all));
    // A snapshot may cover a whole day: the last one of day 1 may still count after the
    // cutoff (day 2, 01:00), so day 1 stays; day 0 no longer counts anywhere.
    let aged = store
        .age_tiers(DAY0 + 2 * DAY + HOUR_MS, DAY, None)
        .unwrap();
    let day0 = all.iter().filter(|(_, at, _)| *at < DAY0 + DAY).count() as u64;
    assert_eq!(aged.removed, day0, "{aged:?}");
    assert_eq!(store.snapshot_count().unwrap(), all.len() as u64 - day0);
    assert_eq!(
        store.detail_from("pc1").unwrap(),
        Some(DAY0 + 2 * DAY + HOUR_MS)
    );
}
