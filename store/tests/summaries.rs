//! Snapshot summaries: read from new records without decompressing, and computed from the JSON
//! of records written under schema 2 (before summaries existed), after the upgrade to 3.

use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;

use idlewatch_format::{META, SCHEMA_VERSION_KEY};
use idlewatch_migrations::{legacy, migrate};
use idlewatch_protocol::{Snapshot, WatchedState};
use idlewatch_store::{HistoryQuery, OpenOptions, STORE_FILE, Store, Summary};

fn snapshot(i: i64) -> Snapshot {
    Snapshot::parse(&format!(
        r#"{{"host":"pc","captured_at":{},"idle_seconds":{i}.5,"user_active":{},
            "cpu_percent":41.3,"memory_percent":50,"foreground_process":"ansys.exe",
            "processes":[{{"pid":1}},{{"pid":2}},{{"pid":{i}}}],
            "watched":{{"Ansys":{{"state":"computing"}}}}}}"#,
        1_000_000 + i * 5000,
        i % 2 == 0
    ))
    .unwrap()
}

fn expected(i: i64) -> Summary {
    Summary {
        idle_seconds: Some(i as f64 + 0.5),
        user_active: Some(i % 2 == 0),
        cpu_percent: Some(41.3),
        memory_percent: Some(50.0),
        processes: Some(3),
        foreground_process: Some("ansys.exe".to_owned()),
        apps: vec![("Ansys".to_owned(), WatchedState::Computing)],
        session: None,
    }
}

fn summaries(store: &Store) -> Vec<Summary> {
    let page = store
        .summaries(&HistoryQuery {
            host: "pc".to_owned(),
            from_ms: None,
            to_ms: None,
            limit: 1000,
            after: None,
        })
        .unwrap();
    page.rows.into_iter().map(|r| r.summary).collect()
}

#[test]
fn schema_2_records_are_summarized_from_their_json_and_new_ones_carry_a_summary() {
    let dir = tempfile::tempdir().unwrap();
    {
        // A file as schema 2 wrote it: records without summaries.
        let db = redb::Database::create(dir.path().join(STORE_FILE)).unwrap();
        migrate(&db).unwrap();
        let txn = db.begin_write().unwrap();
        {
            let mut writer = legacy::schema_2_writer();
            let mut batch = writer.batch(&txn).unwrap();
            for i in 0..200 {
                batch.append(&snapshot(i), 1_000_000 + i * 5000).unwrap();
            }
            batch.finish().unwrap();
            txn.open_table(META)
                .unwrap()
                .insert(SCHEMA_VERSION_KEY, 2)
                .unwrap();
        }
        txn.commit().unwrap();
    }
    let (store, writer, outcome) = Store::open(dir.path(), &OpenOptions::default()).unwrap();
    assert_eq!(
        outcome.applied,
        [
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
    let old = summaries(&store);
    assert_eq!(old.len(), 200);
    for (i, s) in old.iter().enumerate() {
        assert_eq!(*s, expected(i as i64), "record {i}");
    }
    // New records (deltas on top of schema-2 ones) carry their summary.
    let (tx, rx) = mpsc::channel();
    for i in 200..260 {
        let tx = tx.clone();
        store
            .try_append(
                Arc::new(snapshot(i)),
                1_000_000 + i * 5000,
                Box::new(move |r| tx.send(r.is_ok()).unwrap()),
            )
            .unwrap();
    }
    for _ in 200..260 {
        assert!(rx.recv_timeout(Duration::from_secs(10)).unwrap());
    }
    let all = summaries(&store);
    assert_eq!(all.len(), 260);
    assert_eq!(all[259], expected(259));
    let history = store
        .history(&HistoryQuery {
            host: "pc".to_owned(),
            from_ms: None,
            to_ms: None,
            limit: 1000,
            after: None,
        })
        .unwrap();
    assert_eq!(history.snapshots[259].json, snapshot(259).raw().get());
    writer.stop();
}
