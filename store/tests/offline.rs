//! Offline inspection: stats and check of a closed store, the in-use refusal while a store is
//! open, and a damaged record found by the check.

use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;

use idlewatch_format::RECORDS;
use idlewatch_protocol::Snapshot;
use idlewatch_store::{Error, Offline, OpenOptions, Store};

fn fill(dir: &std::path::Path) {
    let (store, writer, _) = Store::open(dir, &OpenOptions::default()).unwrap();
    let (tx, rx) = mpsc::channel();
    for i in 0..300i64 {
        let host = if i % 3 == 0 { "pc-b" } else { "pc-a" };
        let text = format!(
            r#"{{"host":"{host}","captured_at":{},"n":{i},"processes":[{{"pid":{i}}}]}}"#,
            1_000_000 + i * 5000
        );
        let tx = tx.clone();
        store
            .try_append(
                Arc::new(Snapshot::parse(&text).unwrap()),
                1_000_000 + i * 5000,
                Box::new(move |r| tx.send(r.is_ok()).unwrap()),
            )
            .unwrap();
    }
    for _ in 0..300 {
        assert!(rx.recv_timeout(Duration::from_secs(10)).unwrap());
    }
    writer.stop();
}

#[test]
fn stats_and_check_of_a_closed_store() {
    let dir = tempfile::tempdir().unwrap();
    fill(dir.path());
    let offline = Offline::open(dir.path()).unwrap();
    let stats = offline.stats().unwrap();
    assert_eq!(stats.snapshots, 300);
    assert_eq!(stats.hosts.len(), 2);
    assert_eq!(stats.hosts[0].host, "pc-a");
    assert_eq!(stats.hosts[0].snapshots, 200);
    assert_eq!(stats.hosts[1].snapshots, 100);
    let at = idlewatch_protocol::time::rfc3339_ms;
    assert_eq!(stats.hosts[1].first, at(1_000_000));
    assert_eq!(stats.hosts[1].last, at(1_000_000 + 297 * 5000));
    assert!(stats.record_bytes > 0 && stats.file_bytes >= stats.record_bytes);
    let report = offline.check().unwrap();
    assert_eq!(report.records_checked, 300);
    assert_eq!(report.hosts_checked, 2);
    assert!(report.problems.is_empty(), "{:?}", report.problems);
}

#[test]
fn refuses_a_store_in_use_and_a_missing_one() {
    let dir = tempfile::tempdir().unwrap();
    let (_store, _writer, _) = Store::open(dir.path(), &OpenOptions::default()).unwrap();
    let err = Offline::open(dir.path()).err().unwrap();
    assert!(matches!(err, Error::InUse { .. }), "{err}");
    let empty = tempfile::tempdir().unwrap();
    let err = Offline::open(empty.path()).err().unwrap();
    assert!(err.to_string().contains("there is no store here"), "{err}");
}

#[test]
fn check_finds_a_damaged_record() {
    let dir = tempfile::tempdir().unwrap();
    fill(dir.path());
    {
        let db = redb::Database::open(dir.path().join(idlewatch_store::STORE_FILE)).unwrap();
        let txn = db.begin_write().unwrap();
        {
            let mut records = txn.open_table(RECORDS).unwrap();
            records.insert(5u64, &b"\x01garbage"[..]).unwrap();
        }
        txn.commit().unwrap();
    }
    let report = Offline::open(dir.path()).unwrap().check().unwrap();
    assert!(!report.problems.is_empty());
    assert!(
        report.problems.iter().any(|p| p.contains("record 5")),
        "{:?}",
        report.problems
    );
}

#[cfg(unix)]
#[test]
fn the_store_and_a_new_data_dir_are_private_to_their_owner() {
    use std::os::unix::fs::PermissionsExt;
    let parent = tempfile::tempdir().unwrap();
    let dir = parent.path().join("new-data");
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let (_store, writer, _) = Store::open(&dir, &OpenOptions::default()).unwrap();
    assert_eq!(mode(&dir), 0o700);
    let file = dir.join(idlewatch_store::STORE_FILE);
    assert_eq!(mode(&file), 0o600);
    writer.stop();
    // A store file left readable by an older version is tightened when opened.
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let (_store, writer, _) = Store::open(&dir, &OpenOptions::default()).unwrap();
    assert_eq!(mode(&file), 0o600);
    writer.stop();
}
