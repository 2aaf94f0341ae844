//! Writes `tests/fixtures/v1.redb`: a store of schema version 1, as that version wrote it, used
//! by the migration tests. Run `cargo run -p idlewatch-migrations --example write_v1_fixture`
//! only to rebuild the fixture.

use std::path::Path;

use idlewatch_format::{META, SCHEMA_VERSION_KEY};
use idlewatch_migrations::legacy::insert_v1;

/// The snapshots in the fixture: `(seq, host, received_ms, json)`.
pub const ROWS: [(u64, &str, i64, &str); 5] = [
    (
        1,
        "LAB-CTI-07",
        1_795_680_000_000,
        r#"{"host":"LAB-CTI-07","idle_seconds":4.2,"user_active":true,"processes":[{"pid":4,"name":"System","status":"running"},{"pid":9120,"name":"ansysedt.exe","status":"running"}]}"#,
    ),
    (
        2,
        "nome-da-maquina",
        1_795_680_001_000,
        r#"{"host":"nome-da-maquina","idle_time":12.34,"processes":[{"pid":101,"name":"chrome.exe","username":"user"}]}"#,
    ),
    (
        3,
        "LAB-CTI-07",
        1_795_680_005_000,
        r#"{"host":"LAB-CTI-07","idle_seconds":75.0,"user_active":false,"cpu_percent":63.5,"memory_percent":71.2,"rocky_running":false,"ansys_running":true,"rocky_in_focus":false,"ansys_in_focus":true,"rocky_user_active":false,"ansys_user_active":false,"foreground_process":"ansysedt.exe"}"#,
    ),
    (
        4,
        "lab-srv-01",
        1_795_680_006_000,
        r#"{"host":"lab-srv-01","idle_seconds":null,"user_active":false,"cpu_percent":3.0,"memory_percent":22.5,"foreground_process":null}"#,
    ),
    (
        6,
        "LAB-CTI-07",
        1_795_680_010_000,
        r#"{"host":"LAB-CTI-07","idle_seconds":80.0,"big":123456789012345678901234567890,"ünï":"ç☃"}"#,
    ),
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/v1.redb");
    let _ = std::fs::remove_file(&path);
    let db = redb::Database::create(&path)?;
    let txn = db.begin_write()?;
    txn.open_table(META)?.insert(SCHEMA_VERSION_KEY, 1)?;
    for (seq, host, received_ms, json) in ROWS {
        insert_v1(&txn, seq, host, received_ms, json)?;
    }
    txn.commit()?;
    drop(db);
    println!("wrote {}", path.display());
    Ok(())
}
