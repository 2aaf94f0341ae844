//! Schema upgrades: a fresh file, the checked-in v1 fixture, and a file from the future.

use idlewatch_format::{
    BY_TIME, HOST_IDS, HostChain, META, NEXT_SEQ_KEY, RECORDS, SCHEMA_VERSION_KEY,
};
use idlewatch_migrations::legacy::V1_SNAPSHOTS;
use idlewatch_migrations::{CURRENT_VERSION, Error, migrate, schema_version};
use redb::{Database, ReadableDatabase, ReadableTable, ReadableTableMetadata};

fn fixture_copy() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.redb");
    std::fs::copy(
        concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/v1.redb"),
        &path,
    )
    .unwrap();
    (dir, path)
}

#[test]
fn a_new_file_gets_every_version_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::create(dir.path().join("new.redb")).unwrap();
    let outcome = migrate(&db).unwrap();
    assert_eq!(outcome.from, 0);
    assert_eq!(outcome.to, CURRENT_VERSION);
    assert_eq!(
        outcome.applied,
        [
            "v1_initial",
            "v2_compact",
            "v3_summaries",
            "v4_agent_tokens",
            "v5_session_summaries",
            "v6_alerts",
            "v7_licence_polls",
            "v8_host_days",
            "v9_viewer_tokens",
            "v10_structural_deltas",
            "v11_minutes",
            "v12_days",
            "v13_summary_hours"
        ]
    );
    assert_eq!(schema_version(&db).unwrap(), CURRENT_VERSION);
    let again = migrate(&db).unwrap();
    assert!(again.applied.is_empty(), "migrating twice is a no-op");
}

#[test]
fn the_v1_fixture_upgrades_keeping_every_snapshot_byte_for_byte() {
    let (_dir, path) = fixture_copy();
    let db = Database::create(&path).unwrap();
    assert_eq!(schema_version(&db).unwrap(), 1);
    let v1_rows: Vec<(u64, String, i64, String)> = {
        let txn = db.begin_read().unwrap();
        let table = txn.open_table(V1_SNAPSHOTS).unwrap();
        table
            .iter()
            .unwrap()
            .map(|r| {
                let (k, v) = r.unwrap();
                let (h, t, j) = v.value();
                (k.value(), h.to_owned(), t, j.to_owned())
            })
            .collect()
    };
    assert_eq!(v1_rows.len(), 5);

    let outcome = migrate(&db).unwrap();
    assert_eq!((outcome.from, outcome.to), (1, 13));
    assert_eq!(
        outcome.applied,
        [
            "v2_compact",
            "v3_summaries",
            "v4_agent_tokens",
            "v5_session_summaries",
            "v6_alerts",
            "v7_licence_polls",
            "v8_host_days",
            "v9_viewer_tokens",
            "v10_structural_deltas",
            "v11_minutes",
            "v12_days",
            "v13_summary_hours"
        ]
    );

    let txn = db.begin_read().unwrap();
    assert!(txn.open_table(V1_SNAPSHOTS).is_err(), "v1 table dropped");
    let meta = txn.open_table(META).unwrap();
    assert_eq!(meta.get(SCHEMA_VERSION_KEY).unwrap().unwrap().value(), 13);
    let max_seq = v1_rows.iter().map(|r| r.0).max().unwrap();
    assert_eq!(
        meta.get(NEXT_SEQ_KEY).unwrap().unwrap().value(),
        max_seq + 1
    );
    let host_ids = txn.open_table(HOST_IDS).unwrap();
    let records = txn.open_table(RECORDS).unwrap();
    let by_time = txn.open_table(BY_TIME).unwrap();
    assert_eq!(by_time.len().unwrap(), 5);
    let mut chain = HostChain::new();
    for (seq, host, received_ms, json) in &v1_rows {
        let id = host_ids.get(host.as_str()).unwrap().unwrap().value();
        let (header, decoded) = chain.get(&records, *seq).unwrap();
        assert_eq!(header.host, id, "seq {seq}");
        assert_eq!(header.received_ms, *received_ms);
        assert_eq!(String::from_utf8(decoded).unwrap(), *json, "seq {seq}");
    }
}

#[test]
fn a_file_from_a_newer_version_is_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::create(dir.path().join("future.redb")).unwrap();
    migrate(&db).unwrap();
    let txn = db.begin_write().unwrap();
    txn.open_table(META)
        .unwrap()
        .insert(SCHEMA_VERSION_KEY, 99)
        .unwrap();
    txn.commit().unwrap();
    let err = migrate(&db).unwrap_err();
    assert!(
        matches!(
            err,
            Error::TooNew {
                found: 99,
                supported: CURRENT_VERSION
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("newer"), "{err}");
    assert_eq!(schema_version(&db).unwrap(), 99);
}

#[test]
fn a_new_store_has_every_table_readable() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::create(dir.path().join("new.redb")).unwrap();
    migrate(&db).unwrap();
    let txn = db.begin_read().unwrap();
    assert!(txn.open_table(RECORDS).unwrap().is_empty().unwrap());
    assert!(txn.open_table(BY_TIME).unwrap().is_empty().unwrap());
    assert!(txn.open_table(HOST_IDS).unwrap().is_empty().unwrap());
}

#[test]
fn version_12_builds_the_day_rows_of_the_days_folded_whole() {
    use idlewatch_format::days::DayBlock;
    use idlewatch_format::minutes::{HOUR_MS, HourBlock, Minute};
    use idlewatch_format::{DAY_MS, DAYS, DETAIL_FROM, MINUTES};

    let dir = tempfile::tempdir().unwrap();
    let db = Database::create(dir.path().join("v11.redb")).unwrap();
    migrate(&db).unwrap();
    // A store of version 11 whose host 1 folded a whole day and three hours of the next.
    let day = 1_795_392_000_000;
    let minute = |active_ms| Minute {
        active_ms,
        ..Minute::default()
    };
    let txn = db.begin_write().unwrap();
    {
        let mut minutes = txn.open_table(MINUTES).unwrap();
        for (hour, active) in [(day + 2 * HOUR_MS, 1_000), (day + 23 * HOUR_MS, 2_000)]
            .into_iter()
            .chain([(day + DAY_MS + HOUR_MS, 3_000)])
        {
            let block = HourBlock {
                cover_ms: 15_000,
                minutes: vec![(0, minute(active)), (59, minute(active))],
            };
            minutes
                .insert((1, hour), block.encode().unwrap().as_slice())
                .unwrap();
        }
        txn.open_table(DETAIL_FROM)
            .unwrap()
            .insert(1, day + DAY_MS + 3 * HOUR_MS)
            .unwrap();
        txn.delete_table(DAYS).unwrap();
        txn.open_table(META)
            .unwrap()
            .insert(SCHEMA_VERSION_KEY, 11)
            .unwrap();
    }
    txn.commit().unwrap();

    let outcome = migrate(&db).unwrap();
    assert_eq!(outcome.applied, ["v12_days", "v13_summary_hours"]);
    let txn = db.begin_read().unwrap();
    let days = txn.open_table(DAYS).unwrap();
    assert_eq!(days.len().unwrap(), 1, "only the day folded whole");
    let row = DayBlock::decode(days.get((1, day)).unwrap().unwrap().value()).unwrap();
    let hours: Vec<(u8, u32)> = row
        .hours
        .iter()
        .map(|h| (h.hour, h.sum.active_ms))
        .collect();
    assert_eq!(hours, [(2, 2_000), (23, 4_000)]);
}
