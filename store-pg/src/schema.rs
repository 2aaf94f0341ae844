//! The database's schema, brought up to date when a server opens the store: the SQL steps in
//! `migrations/sql/postgres/`, applied in order in one transaction under an advisory lock (two
//! servers starting together apply them once), each recorded in `idlewatch_schema`.

use postgres::Client;

use idlewatch_store::Error;

use crate::error::pg;

/// Every step: its version, name and SQL.
const STEPS: &[(i32, &str, &str)] = &[
    (
        1,
        "snapshots",
        include_str!("../../migrations/sql/postgres/0001_snapshots.sql"),
    ),
    (
        2,
        "tiers",
        include_str!("../../migrations/sql/postgres/0002_tiers.sql"),
    ),
    (
        3,
        "records",
        include_str!("../../migrations/sql/postgres/0003_records.sql"),
    ),
    (
        4,
        "token_changes",
        include_str!("../../migrations/sql/postgres/0004_token_changes.sql"),
    ),
];

/// The advisory lock held while migrating ("idlewatch" in ASCII, truncated).
const LOCK: i64 = 0x6964_6c65_7761_7463;

/// The newest schema this version knows.
#[must_use]
pub fn latest() -> i32 {
    STEPS.last().map_or(0, |(v, _, _)| *v)
}

/// Applies the steps the database lacks; returns the schema version it is now at.
///
/// # Errors
/// When a step fails (nothing of the round is applied), or the database was migrated by a
/// newer version of the server.
pub fn migrate(client: &mut Client) -> Result<i32, Error> {
    let mut tx = client
        .transaction()
        .map_err(|e| pg("starting the schema update", &e))?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&LOCK])
        .map_err(|e| pg("waiting for another server's schema update", &e))?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS idlewatch_schema (
             version integer PRIMARY KEY,
             name text NOT NULL,
             applied_at timestamptz NOT NULL DEFAULT now()
         )",
    )
    .map_err(|e| pg("creating idlewatch_schema", &e))?;
    let applied: i32 = tx
        .query_one(
            "SELECT coalesce(max(version), 0) FROM idlewatch_schema",
            &[],
        )
        .map_err(|e| pg("reading the schema version", &e))?
        .get(0);
    if applied > latest() {
        return Err(Error::Postgres(format!(
            "the database is at schema version {applied}, newer than this server knows ({}); \
             run the newer idlewatch-server that migrated it",
            latest()
        )));
    }
    for (version, name, sql) in STEPS.iter().filter(|(v, _, _)| *v > applied) {
        tx.batch_execute(sql)
            .map_err(|e| pg(&format!("applying schema step {version} ({name})"), &e))?;
        tx.execute(
            "INSERT INTO idlewatch_schema (version, name) VALUES ($1, $2)",
            &[version, name],
        )
        .map_err(|e| pg("recording the schema version", &e))?;
    }
    tx.commit()
        .map_err(|e| pg("committing the schema update", &e))?;
    Ok(latest())
}
