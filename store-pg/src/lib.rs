//! Idlewatch's cluster store: the snapshots of every server of a cluster in one PostgreSQL
//! database, so that any server answers history for any host, and a snapshot an agent resends
//! to another server after a failure is stored once.
//!
//! Built as the redb store is: a clonable handle queuing appends for this server's writer
//! thread, which commits them in groups and runs each append's completion after COMMIT (an
//! ack still means "durable"); reads run on a small pool of connections. It implements
//! [`idlewatch_store::Snapshots`], and keeps the cluster's issued tokens, alerts and licence
//! polls ([`idlewatch_store::TokenStore`], [`idlewatch_store::RecordStore`]); the schema is in
//! `migrations/sql/postgres/` and is brought up to date when the store opens. Methods block:
//! call them off the async runtime (opening too: a blocking connection runs a small runtime of
//! its own).

mod age;
mod columns;
mod counts;
mod delete;
mod error;
mod group;
mod listen;
mod partitions;
mod read;
mod records;
pub mod schema;
mod stats;
mod tiers;
mod tls;
mod tokens;
mod writer;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc::{SyncSender, TrySendError, sync_channel};
use std::time::Duration;

use idlewatch_format::{DeltaKind, PackedJson};
use idlewatch_protocol::Snapshot;
use idlewatch_store::tier_walk;
use idlewatch_store::{
    Aged, AppendDone, Busy, DeleteQuery, Error, HistoryPage, HistoryQuery, Holder, LatestOfHost,
    MinuteRow, PoolPoint, RecordStore, Snapshots, StoredSnapshot, StoredToken, SummaryPage,
    SummaryRow, TierSizes, TokenStore,
};
use r2d2_postgres::PostgresConnectionManager;
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::error::pg;
use crate::group::Pending;
use crate::writer::{Command, Writer};

pub use crate::tiers::TableBytes;

type Pool = r2d2::Pool<PostgresConnectionManager<MakeRustlsConnect>>;

/// The read pool, dropped on a thread of its own: a blocking PostgreSQL connection owns a small
/// runtime, which may not be dropped on an async runtime's thread (where a server's last
/// handle may go).
struct Readers(Option<Pool>);

impl Drop for Readers {
    fn drop(&mut self) {
        if let Some(pool) = self.0.take() {
            let _ = std::thread::Builder::new()
                .name("idlewatch-pg-close".to_owned())
                .spawn(move || drop(pool));
        }
    }
}

/// How the store uses its database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgOptions {
    /// Appends queued before `try_append_packed` answers busy.
    pub queue: usize,
    /// Connections for reads, at most.
    pub readers: u32,
    /// How long a read waits for a connection before it fails.
    pub connect_timeout: Duration,
    /// How deltas are written (`[retention] deltas`).
    pub deltas: DeltaKind,
    /// The authorities that may sign the database's certificate (PEM), when the URL asks for
    /// TLS (`sslmode=require`); `None`: the system's.
    pub ca_file: Option<PathBuf>,
}

impl Default for PgOptions {
    fn default() -> Self {
        Self {
            queue: 8_192,
            readers: 4,
            connect_timeout: Duration::from_secs(10),
            deltas: DeltaKind::default(),
            ca_file: None,
        }
    }
}

/// A handle on the PostgreSQL store; clones share the writer thread and the read pool.
#[derive(Clone)]
pub struct PgStore {
    commands: SyncSender<Command>,
    readers: Arc<Readers>,
    /// How to connect again (for listening).
    config: postgres::Config,
    tls: MakeRustlsConnect,
}

impl PgStore {
    /// Connects to `url` (`postgres://USER:PASSWORD@HOST:PORT/DATABASE`), brings the schema up
    /// to date and starts the writer.
    ///
    /// # Errors
    /// A malformed URL, a database that cannot be reached or refuses the login, a schema step
    /// that fails, or a schema newer than this version.
    pub fn open(url: &str, options: PgOptions) -> Result<Self, Error> {
        let mut config: postgres::Config = url.parse().map_err(|e| {
            Error::Postgres(format!(
                "cluster.postgres_url is not a PostgreSQL URL ({e}); write it as \
                 postgres://USER:PASSWORD@HOST:PORT/DATABASE"
            ))
        })?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(options.connect_timeout);
        }
        config.application_name("idlewatch-server");
        let tls = tls::connector(&mut config, options.ca_file.as_deref())?;
        let mut client = config
            .connect(tls.clone())
            .map_err(|e| pg("connecting to PostgreSQL at cluster.postgres_url", &e))?;
        schema::migrate(&mut client)?;
        let writer = Writer::new(config.clone(), tls.clone(), client, options.deltas)?;
        let (commands, queue) = sync_channel(options.queue);
        std::thread::Builder::new()
            .name("idlewatch-pg-writer".to_owned())
            .spawn(move || writer.run(&queue))
            .map_err(|e| Error::Postgres(format!("cannot start the writer thread: {e}")))?;
        let pool = r2d2::Pool::builder()
            .max_size(options.readers.max(1))
            .min_idle(Some(1))
            .connection_timeout(options.connect_timeout)
            .build(PostgresConnectionManager::new(config.clone(), tls.clone()))
            .map_err(|e| error::pool(&e))?;
        Ok(Self {
            commands,
            readers: Arc::new(Readers(Some(pool))),
            config,
            tls,
        })
    }

    /// What the store's tables take on disk.
    ///
    /// # Errors
    /// When the database cannot be read.
    pub fn table_bytes(&self) -> Result<TableBytes, Error> {
        self.read(tiers::table_bytes)
    }

    /// A pooled connection.
    fn connection(
        &self,
    ) -> Result<r2d2::PooledConnection<PostgresConnectionManager<MakeRustlsConnect>>, Error> {
        let pool = self.readers.0.as_ref().ok_or(Error::Closed)?;
        pool.get().map_err(|e| error::pool(&e))
    }

    /// Calls `changed` whenever another server (or anyone) issues or revokes a token, and once
    /// each time listening starts, on a thread of its own holding one connection, until
    /// `changed` returns false.
    ///
    /// # Errors
    /// When the thread cannot be started.
    pub fn watch_tokens(&self, changed: impl Fn() -> bool + Send + 'static) -> Result<(), Error> {
        let mut config = self.config.clone();
        // A connection that died without a word (a peer gone, a NAT that forgot it) is noticed
        // within a minute or so, not after the system's two hours.
        config
            .keepalives(true)
            .keepalives_idle(Duration::from_secs(30))
            .keepalives_interval(Duration::from_secs(10))
            .keepalives_retries(3);
        listen::spawn(config, self.tls.clone(), listen::TOKENS, Box::new(changed))
    }

    /// Stores the alerts (with new ids) and licence polls a server kept in its own file before
    /// it joined the cluster, all in one transaction (an alert already moved is skipped, a
    /// poll already stored kept).
    ///
    /// # Errors
    /// When the database cannot be written (nothing is stored then).
    pub fn import_records(
        &self,
        alerts: &[idlewatch_protocol::api::Alert],
        polls: &[(String, PoolPoint)],
    ) -> Result<(), Error> {
        records::import(&mut *self.connection()?, alerts, polls)
    }

    /// What the database holds, per tier and per host (`idlewatch-admin db stats --shared`);
    /// `path` is left empty for the caller to name the database.
    ///
    /// # Errors
    /// When the database cannot be read.
    pub fn stats(&self) -> Result<idlewatch_protocol::api::StoreStats, Error> {
        self.read(stats::read)
    }

    /// Runs `read` in a read-only transaction on a pooled connection.
    fn read<T>(
        &self,
        read: impl FnOnce(&mut postgres::Transaction<'_>) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let mut connection = self.connection()?;
        let mut tx = read::begin(&mut connection)?;
        let out = read(&mut tx)?;
        tx.commit().map_err(|e| pg("ending a read", &e))?;
        Ok(out)
    }
}

impl Snapshots for PgStore {
    fn try_append_packed(
        &self,
        snapshot: Arc<Snapshot>,
        packed: Option<Arc<PackedJson>>,
        received_ms: i64,
        done: AppendDone,
    ) -> Result<(), Busy> {
        let command = Command::Append(Pending {
            snapshot,
            packed,
            received_ms,
            done,
        });
        match self.commands.try_send(command) {
            Ok(()) => Ok(()),
            Err(TrySendError::Full(command) | TrySendError::Disconnected(command)) => {
                if let Command::Append(pending) = command {
                    (pending.done)(Err(Error::Busy));
                }
                Err(Busy)
            }
        }
    }

    fn flush(&self) {
        let (tx, rx) = std::sync::mpsc::channel();
        if self.commands.send(Command::Flush(tx)).is_ok() {
            let _ = rx.recv();
        }
    }

    fn history_bounded(
        &self,
        query: &HistoryQuery,
        max_bytes: usize,
    ) -> Result<HistoryPage, Error> {
        self.read(|tx| read::history_bounded(tx, query, max_bytes))
    }

    fn summaries(&self, query: &HistoryQuery) -> Result<SummaryPage, Error> {
        self.read(|tx| read::summaries(tx, query))
    }

    fn latest_per_host(&self, not_after_ms: i64) -> Result<Vec<LatestOfHost>, Error> {
        self.read(|tx| read::latest_per_host(tx, not_after_ms))
    }

    fn latest_of(&self, host: &str, not_after_ms: i64) -> Result<Option<StoredSnapshot>, Error> {
        self.read(|tx| read::latest_of(tx, host, not_after_ms))
    }

    fn record_before(
        &self,
        host: &str,
        not_before_ms: i64,
        at_ms: i64,
    ) -> Result<Option<SummaryRow>, Error> {
        self.read(|tx| read::record_before(tx, host, not_before_ms, at_ms))
    }

    fn snapshot_count(&self) -> Result<u64, Error> {
        self.read(read::snapshot_count)
    }

    fn host_names(&self) -> Result<Vec<String>, Error> {
        self.read(read::host_names)
    }

    fn prune_before(&self, cutoff_ms: i64) {
        // A full queue means the writer is busy with ingest; pruning can wait a round.
        let _ = self.commands.try_send(Command::Prune { cutoff_ms });
    }

    fn delete(&self, query: DeleteQuery) -> Result<u64, Error> {
        delete::delete(&mut *self.connection()?, &query)
    }

    fn age_tiers(
        &self,
        before_ms: i64,
        cover_ms: i64,
        minutes_before_ms: Option<i64>,
    ) -> Result<Aged, Error> {
        age::age(
            &mut *self.connection()?,
            before_ms,
            cover_ms,
            minutes_before_ms,
        )
    }

    fn detail_from(&self, host: &str) -> Result<Option<i64>, Error> {
        self.read(|tx| match read::host_id(tx, host)? {
            Some(id) => tier_walk::TierSource::detail_from(&mut tiers::PgTiers { tx, id }),
            None => Ok(None),
        })
    }

    fn each_tier_row(
        &self,
        host: &str,
        from_ms: i64,
        to_ms: i64,
        fine: &dyn Fn(i64) -> bool,
        each: &mut dyn FnMut(MinuteRow) -> Result<bool, Error>,
    ) -> Result<(), Error> {
        self.read(|tx| match read::host_id(tx, host)? {
            Some(id) => tier_walk::each_tier_row(
                &mut tiers::PgTiers { tx, id },
                host,
                from_ms,
                to_ms,
                fine,
                each,
            ),
            None => Ok(()),
        })
    }

    fn first_minute(&self, host: &str) -> Result<Option<i64>, Error> {
        self.read(|tx| match read::host_id(tx, host)? {
            Some(id) => tier_walk::first_minute(&mut tiers::PgTiers { tx, id }, host),
            None => Ok(None),
        })
    }

    fn tier_sizes(&self) -> Result<TierSizes, Error> {
        self.read(tiers::sizes)
    }
}

impl TokenStore for PgStore {
    fn tokens(&self) -> Result<Vec<StoredToken>, Error> {
        self.read(tokens::all)
    }

    fn add_token(&self, holder: &Holder, hash: &[u8], created_ms: i64) -> Result<u64, Error> {
        tokens::add(&mut *self.connection()?, holder, hash, created_ms)
    }

    fn remove_token(&self, id: u64) -> Result<bool, Error> {
        tokens::remove(&mut *self.connection()?, id)
    }
}

impl RecordStore for PgStore {
    fn alerts(&self) -> Result<Vec<idlewatch_protocol::api::Alert>, Error> {
        self.read(records::alerts)
    }

    fn add_alert(&self, alert: &mut idlewatch_protocol::api::Alert) -> Result<u64, Error> {
        records::add_alert(&mut *self.connection()?, alert)
    }

    fn update_alert(&self, alert: &idlewatch_protocol::api::Alert) -> Result<(), Error> {
        records::update_alert(&mut *self.connection()?, alert)
    }

    fn prune_alerts_before(&self, cutoff_ms: i64) -> Result<usize, Error> {
        records::prune_alerts(&mut *self.connection()?, cutoff_ms)
    }

    fn add_licence_poll(&self, server: &str, point: PoolPoint) -> Result<(), Error> {
        records::add_poll(&mut *self.connection()?, server, point)
    }

    fn licence_polls(
        &self,
        server: &str,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<PoolPoint>, Error> {
        self.read(|tx| records::polls(tx, server, from_ms, to_ms))
    }

    fn prune_licence_polls_before(&self, cutoff_ms: i64) -> Result<usize, Error> {
        records::prune_polls(&mut *self.connection()?, cutoff_ms)
    }
}
