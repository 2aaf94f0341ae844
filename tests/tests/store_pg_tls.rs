//! TLS between the servers and PostgreSQL, against a real PostgreSQL that accepts only TLS
//! connections (its certificate signed by a private CA): `sslmode=require` with the CA file
//! connects and stores; the same URL trusting only the system's authorities is refused for the
//! certificate; a URL that does not ask for TLS is refused by the database; a CA file without
//! `sslmode=require` is a configuration error that says what to add.

use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;

use idlewatch_protocol::Snapshot;
use idlewatch_store::{HistoryQuery, Snapshots};
use idlewatch_store_pg::{PgOptions, PgStore};
use idlewatch_tests::Pki;
use idlewatch_tests::postgres::Postgres;

fn open(url: &str, ca_file: Option<&std::path::Path>) -> Result<PgStore, String> {
    let options = PgOptions {
        ca_file: ca_file.map(std::path::Path::to_path_buf),
        connect_timeout: Duration::from_secs(5),
        ..PgOptions::default()
    };
    PgStore::open(url, options).map_err(|e| e.to_string())
}

#[test]
fn the_store_talks_to_postgres_over_verified_tls_when_the_url_asks_for_it() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::issue(dir.path(), "pg");
    let pg = Postgres::start_tls_only(&dir.path().join("pg"), &pki);
    let url = pg.create_database("idlewatch");

    let store = open(&format!("{url}?sslmode=require"), Some(&pki.ca)).unwrap();
    let (tx, rx) = mpsc::channel();
    let json = r#"{"host":"tls-pc","captured_at":1795392000000,"seq":1,"cpu_percent":3.5}"#;
    store
        .try_append_packed(
            Arc::new(Snapshot::parse(json).unwrap()),
            None,
            1_795_392_000_100,
            Box::new(move |r| tx.send(r.map_err(|e| e.to_string())).unwrap()),
        )
        .unwrap();
    assert!(
        !rx.recv_timeout(Duration::from_secs(30))
            .unwrap()
            .unwrap()
            .duplicate
    );
    let page = store
        .history_bounded(
            &HistoryQuery {
                host: "tls-pc".to_owned(),
                from_ms: None,
                to_ms: None,
                limit: 10,
                after: None,
            },
            usize::MAX,
        )
        .unwrap();
    assert_eq!(page.snapshots[0].json, json);

    // The system's authorities do not know the private CA.
    let Err(err) = open(&format!("{url}?sslmode=require"), None) else {
        panic!("a certificate no trusted authority signed was accepted");
    };
    assert!(
        err.contains("connecting to PostgreSQL") && err.contains("certificate"),
        "{err}"
    );
    // Without TLS the database refuses the connection.
    let Err(err) = open(&url, None) else {
        panic!("a plain connection got through");
    };
    assert!(
        err.contains("no encryption") || err.contains("pg_hba"),
        "{err}"
    );
    // A CA file for a URL that does not ask for TLS.
    let Err(err) = open(&url, Some(&pki.ca)) else {
        panic!("a CA file without sslmode=require was accepted");
    };
    assert!(err.contains("add ?sslmode=require"), "{err}");
}
