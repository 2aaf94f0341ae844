//! The record writer and reader: duplicates, keyframes, chains, compactness.

use idlewatch_format::{
    FrameKind, HostChain, KEYFRAME_INTERVAL, RECORDS, RecordWriter, read_header,
};
use idlewatch_migrations::migrate;
use idlewatch_protocol::Snapshot;
use redb::{Database, ReadableDatabase};

fn db() -> (tempfile::TempDir, Database) {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::create(dir.path().join("s.redb")).unwrap();
    migrate(&db).unwrap();
    (dir, db)
}

fn snap(text: &str) -> Snapshot {
    Snapshot::parse(text).unwrap()
}

fn append(db: &Database, writer: &mut RecordWriter, snapshots: &[Snapshot]) -> Vec<(u64, bool)> {
    let txn = db.begin_write().unwrap();
    let out = {
        let mut batch = writer.batch(&txn).unwrap();
        let out = snapshots
            .iter()
            .map(|s| {
                let a = batch.append(s, 1_000).unwrap();
                (a.seq, a.duplicate)
            })
            .collect();
        batch.finish().unwrap();
        out
    };
    txn.commit().unwrap();
    out
}

#[test]
fn replays_with_the_same_capture_time_and_seq_are_stored_once() {
    let (_d, db) = db();
    let mut writer = RecordWriter::new();
    let a = snap(r#"{"host":"h","captured_at":5000,"seq":1}"#);
    let b = snap(r#"{"host":"h","captured_at":10000,"seq":2}"#);
    assert_eq!(
        append(&db, &mut writer, &[a.clone(), b.clone()]),
        [(1, false), (2, false)]
    );
    // A fresh writer (a restarted server) recognises them too.
    let mut writer = RecordWriter::new();
    assert_eq!(append(&db, &mut writer, &[b, a]), [(2, true), (1, true)]);
    // Same capture time but another agent seq (a reinstalled agent) is a new snapshot.
    let c = snap(r#"{"host":"h","captured_at":5000,"seq":77}"#);
    assert_eq!(append(&db, &mut writer, &[c]), [(3, false)]);
}

#[test]
fn seq_only_snapshots_are_deduplicated_by_seq_and_plain_ones_never() {
    let (_d, db) = db();
    let mut writer = RecordWriter::new();
    let s = snap(r#"{"host":"h","seq":9}"#);
    let plain = snap(r#"{"host":"h"}"#);
    assert_eq!(
        append(&db, &mut writer, &[s.clone(), s, plain.clone(), plain]),
        [(1, false), (1, true), (2, false), (3, false)]
    );
}

#[test]
fn every_record_decodes_exactly_through_its_chain() {
    let (_d, db) = db();
    let mut writer = RecordWriter::new();
    let texts: Vec<String> = (0..150)
        .map(|i| format!(r#"{{"host":"pc","i":{i},"procs":["a","b","c{}"]}}"#, i % 7))
        .collect();
    let snaps: Vec<Snapshot> = texts.iter().map(|t| snap(t)).collect();
    for chunk in snaps.chunks(40) {
        append(&db, &mut writer, chunk);
    }
    let txn = db.begin_read().unwrap();
    let records = txn.open_table(RECORDS).unwrap();
    let mut keyframes = 0;
    for seq in 1..=150u64 {
        let header = read_header(seq, records.get(seq).unwrap().unwrap().value()).unwrap();
        assert_eq!(header.n, seq - 1);
        if header.kind() == FrameKind::Key {
            keyframes += 1;
            assert_eq!(header.n % KEYFRAME_INTERVAL, 0);
        } else {
            assert_eq!(header.base, Some(seq - 1));
        }
    }
    assert_eq!(keyframes, 2);
    // Random access (a fresh chain each time) and sequential access agree with the input.
    for seq in [150u64, 1, 129, 128, 100, 2] {
        let (_, json) = HostChain::new().get(&records, seq).unwrap();
        assert_eq!(String::from_utf8(json).unwrap(), texts[seq as usize - 1]);
    }
    let mut chain = HostChain::new();
    for (i, text) in texts.iter().enumerate() {
        let (_, json) = chain.get(&records, i as u64 + 1).unwrap();
        assert_eq!(&String::from_utf8(json).unwrap(), text);
    }
}

#[test]
fn hosts_get_separate_chains_and_ids() {
    let (_d, db) = db();
    let mut writer = RecordWriter::new();
    append(
        &db,
        &mut writer,
        &[
            snap(r#"{"host":"a","x":1}"#),
            snap(r#"{"host":"b","x":2}"#),
            snap(r#"{"host":"a","x":3}"#),
        ],
    );
    let txn = db.begin_read().unwrap();
    let records = txn.open_table(RECORDS).unwrap();
    let (header, json) = HostChain::new().get(&records, 3).unwrap();
    assert_eq!(json, br#"{"host":"a","x":3}"#);
    assert_eq!(
        (header.host, header.n, header.base),
        (0, 1, Some(1)),
        "a's delta on a's first"
    );
    let (header, json) = HostChain::new().get(&records, 2).unwrap();
    assert_eq!(json, br#"{"host":"b","x":2}"#);
    assert_eq!((header.host, header.n, header.base), (1, 0, None));
}
