//! PostgreSQL's errors as the store's, each saying what failed and what to do.

use idlewatch_store::Error;

/// `e`, met while doing `what`, as a store error: the server's own message when PostgreSQL
/// sent one, else the client's (a refused or lost connection).
pub(crate) fn pg(what: &str, e: &postgres::Error) -> Error {
    if let Some(db) = e.as_db_error() {
        let detail = db.detail().map(|d| format!(" ({d})")).unwrap_or_default();
        return Error::Postgres(format!("{what}: {}{detail}", db.message()));
    }
    if e.is_closed() {
        return Error::Postgres(format!(
            "{what}: the connection to PostgreSQL was lost; it is opened again for the next \
             request"
        ));
    }
    let cause = std::error::Error::source(e)
        .map(|c| format!(": {c}"))
        .unwrap_or_default();
    Error::Postgres(format!("{what}: {e}{cause}"))
}

/// The pool could not lend a connection in time.
pub(crate) fn pool(e: &r2d2::Error) -> Error {
    Error::Postgres(format!(
        "no connection to PostgreSQL within the pool's timeout ({e}); check that the database \
         is up and reachable at cluster.postgres_url"
    ))
}

/// A row that does not decode as this version wrote it.
pub(crate) fn corrupt(what: String) -> Error {
    Error::Corrupt(what)
}
