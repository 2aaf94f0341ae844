//! The writer thread of one server: it commits the appends queued on this server in groups
//! (one transaction per group: multi-row inserts from arrays), runs each append's completion
//! only after COMMIT, and drops old day partitions when asked.
//!
//! Records are encoded as the redb store encodes them; a record is a delta against the
//! previous record this writer stored for the same host on the same UTC day (a keyframe
//! otherwise, and every [`idlewatch_format::KEYFRAME_INTERVAL`]th), so that a chain never crosses a partition
//! that pruning may drop, and never depends on another server's cursor.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::mpsc::{self, Receiver};

use idlewatch_format::{Appended, DeltaKind, Encoder};
use idlewatch_protocol::time::now_ms;
use idlewatch_store::Error;
use postgres::{Client, IsolationLevel, Statement};
use tokio_postgres_rustls::MakeRustlsConnect;
use tracing::{info, warn};

use crate::columns::{Columns, INSERT, unsigned};
use crate::counts;
use crate::error::pg;
use crate::group::{Cursor, Key, Pending, add_hosts, encode, lock_hosts, resent, take_seqs};
use crate::partitions::{Partitions, day_index};

/// Appends committed in one transaction, at most.
pub(crate) const GROUP: usize = 1_024;

/// Work for the writer.
pub(crate) enum Command {
    Append(Pending),
    Prune { cutoff_ms: i64 },
    Flush(mpsc::Sender<()>),
}

struct Connection {
    client: Client,
    insert: Statement,
    resent: Statement,
}

pub(crate) struct Writer {
    config: postgres::Config,
    tls: MakeRustlsConnect,
    connection: Option<Connection>,
    hosts: HashMap<String, i32>,
    cursors: HashMap<i32, Cursor>,
    partitions: Partitions,
    encoder: Encoder,
}

const RESENT: &str = "SELECT s.host_id, s.captured_ms, s.agent_seq, s.seq FROM snapshots s \
     JOIN unnest($1::int4[], $2::int8[], $3::int8[]) AS k(h, c, a) \
     ON s.host_id = k.h AND s.captured_ms = k.c AND s.agent_seq = k.a";

/// What one append of a group comes to.
enum Outcome {
    /// Already stored (resent), under this seq.
    Resent(i64),
    /// Inserted now, under this seq.
    New(i64),
}

/// Why a group was not stored.
enum GroupError {
    /// It could not be (the database's error).
    Failed(Error),
    /// Another server stored some of its snapshots while its transaction ran (rolled back):
    /// try again, they are visible now.
    Raced,
}

impl From<Error> for GroupError {
    fn from(e: Error) -> Self {
        Self::Failed(e)
    }
}

impl Writer {
    pub(crate) fn new(
        config: postgres::Config,
        tls: MakeRustlsConnect,
        client: Client,
        deltas: DeltaKind,
    ) -> Result<Self, Error> {
        let mut writer = Self {
            config,
            tls,
            connection: None,
            hosts: HashMap::new(),
            cursors: HashMap::new(),
            partitions: Partitions::default(),
            encoder: Encoder::new(deltas),
        };
        writer.connection = Some(Self::prepare(client)?);
        Ok(writer)
    }

    fn prepare(mut client: Client) -> Result<Connection, Error> {
        let insert = client
            .prepare(INSERT)
            .map_err(|e| pg("preparing the snapshot insert", &e))?;
        let resent = client
            .prepare(RESENT)
            .map_err(|e| pg("preparing the resend lookup", &e))?;
        Ok(Connection {
            client,
            insert,
            resent,
        })
    }

    /// Runs until every handle on the store is dropped.
    pub(crate) fn run(mut self, commands: &Receiver<Command>) {
        while let Ok(first) = commands.recv() {
            let mut group = Vec::new();
            let mut flushes = Vec::new();
            let mut prune = None;
            let mut next = Some(first);
            while let Some(command) = next.take() {
                match command {
                    Command::Append(pending) => group.push(pending),
                    Command::Prune { cutoff_ms } => prune = Some(cutoff_ms),
                    Command::Flush(tx) => flushes.push(tx),
                }
                if group.len() < GROUP {
                    next = commands.try_recv().ok();
                }
            }
            if !group.is_empty() {
                self.commit_group(group);
            }
            if let Some(cutoff_ms) = prune {
                self.prune(cutoff_ms);
            }
            for flush in flushes {
                let _ = flush.send(());
            }
        }
    }

    fn commit_group(&mut self, group: Vec<Pending>) {
        match self.store_group(&group) {
            Ok(outcomes) => {
                for (pending, appended) in group.into_iter().zip(outcomes) {
                    (pending.done)(Ok(appended));
                }
            }
            Err(e) => {
                warn!(error = %e, snapshots = group.len(), "a group of snapshots was not stored");
                // What this writer believed of the database may be wrong now.
                self.cursors.clear();
                self.hosts.clear();
                self.partitions.forget();
                let message = match e {
                    Error::Postgres(message) => message,
                    other => other.to_string(),
                };
                for pending in group {
                    (pending.done)(Err(Error::Postgres(message.clone())));
                }
            }
        }
    }

    /// Stores a group in one transaction (twice when another server stored some of it
    /// meanwhile); returns what came of each append, in order.
    fn store_group(&mut self, group: &[Pending]) -> Result<Vec<Appended>, Error> {
        match self.try_group(group) {
            Ok(done) => Ok(done),
            Err(GroupError::Failed(e)) => Err(e),
            Err(GroupError::Raced) => match self.try_group(group) {
                Ok(done) => Ok(done),
                Err(GroupError::Failed(e)) => Err(e),
                Err(GroupError::Raced) => Err(Error::Postgres(
                    "other servers kept storing the same snapshots at the same moment; they \
                     are sent again"
                        .to_owned(),
                )),
            },
        }
    }

    fn try_group(&mut self, group: &[Pending]) -> Result<Vec<Appended>, GroupError> {
        let keys: Vec<Key<'_>> = group.iter().map(Key::of).collect();
        let today = day_index(now_ms());
        let days = keys
            .iter()
            .map(|k| day_index(k.captured_ms))
            .chain([today, today + 1]);
        let Self {
            config,
            tls,
            connection,
            hosts,
            cursors,
            partitions,
            encoder,
        } = self;
        let connection = connect(connection, config, tls)?;
        partitions.ensure(&mut connection.client, days)?;
        let what = "storing a group of snapshots";
        // Read committed: what other servers committed while this waited for the host locks is
        // seen (their snapshots, deletions).
        let mut tx = connection
            .client
            .build_transaction()
            .isolation_level(IsolationLevel::ReadCommitted)
            .start()
            .map_err(|e| pg(what, &e))?;
        let new_hosts = add_hosts(&mut tx, hosts, &keys)?;
        let ids = keys
            .iter()
            .map(|k| {
                hosts
                    .get(k.host)
                    .or_else(|| new_hosts.get(k.host))
                    .copied()
                    .ok_or_else(|| Error::Postgres(format!("host {:?} has no id", k.host)))
            })
            .collect::<Result<Vec<i32>, Error>>()?;
        let deletions = lock_hosts(&mut tx, &ids)?;
        let mut stored = resent(&mut tx, &connection.resent, &keys, &ids)?;
        let fresh = keys
            .iter()
            .zip(&ids)
            .filter(|(k, id)| {
                k.agent_seq
                    .is_none_or(|a| !stored.contains_key(&(**id, k.captured_ms, a)))
            })
            .count();
        let mut seqs = take_seqs(&mut tx, fresh)?.into_iter();

        let mut columns = Columns::default();
        let mut outcomes = Vec::with_capacity(group.len());
        for ((pending, key), id) in group.iter().zip(&keys).zip(&ids) {
            if let Some(a) = key.agent_seq
                && let Some(seq) = stored.get(&(*id, key.captured_ms, a))
            {
                outcomes.push(Outcome::Resent(*seq));
                continue;
            }
            let seq = seqs
                .next()
                .ok_or_else(|| Error::Postgres("too few sequence numbers".to_owned()))?;
            if let Some(a) = key.agent_seq {
                // The same snapshot twice in one group is stored once.
                stored.insert((*id, key.captured_ms, a), seq);
            }
            let epoch = deletions.get(id).copied().unwrap_or_default();
            let (row, summary) = encode(encoder, cursors, pending, key, (*id, epoch), seq)?;
            columns.push(row, &summary);
            outcomes.push(Outcome::New(seq));
        }

        if !columns.is_empty() {
            let inserted: HashSet<i64> = tx
                .query(&connection.insert, &columns.params())
                .map_err(|e| pg(what, &e))?
                .iter()
                .map(|r| r.get(0))
                .collect();
            let raced = outcomes
                .iter()
                .any(|o| matches!(o, Outcome::New(seq) if !inserted.contains(seq)));
            if raced {
                // A record of this group may be the base of another: store none of them.
                drop(tx);
                for id in &ids {
                    cursors.remove(id);
                }
                return Err(GroupError::Raced);
            }
        }
        // Every new snapshot was inserted (else the group was raced): count them by day.
        let mut per_day: BTreeMap<i64, i64> = BTreeMap::new();
        for (outcome, key) in outcomes.iter().zip(&keys) {
            if matches!(outcome, Outcome::New(_)) {
                *per_day.entry(day_index(key.captured_ms)).or_default() += 1;
            }
        }
        counts::add(&mut tx, &per_day.into_iter().collect::<Vec<_>>())?;
        tx.commit().map_err(|e| pg(what, &e))?;
        hosts.extend(new_hosts);
        Ok(outcomes
            .into_iter()
            .map(|outcome| {
                let (seq, duplicate) = match outcome {
                    Outcome::Resent(seq) => (seq, true),
                    Outcome::New(seq) => (seq, false),
                };
                Appended {
                    seq: unsigned(seq),
                    duplicate,
                    uncounted: false,
                }
            })
            .collect())
    }

    fn prune(&mut self, cutoff_ms: i64) {
        let result =
            connect(&mut self.connection, &self.config, &self.tls).and_then(|connection| {
                self.partitions
                    .drop_before(&mut connection.client, cutoff_ms)
            });
        match result {
            Ok(0) => {}
            Ok(days) => {
                // A dropped day may hold a cursor's record: start every host on a keyframe.
                self.cursors.clear();
                info!(days, cutoff_ms, "dropped day partitions of old snapshots");
            }
            Err(e) => warn!(error = %e, "old snapshots were not pruned; tried again next round"),
        }
    }
}

/// The writer's connection, opened again when it was lost.
fn connect<'c>(
    slot: &'c mut Option<Connection>,
    config: &postgres::Config,
    tls: &MakeRustlsConnect,
) -> Result<&'c mut Connection, Error> {
    if slot.as_ref().is_none_or(|c| c.client.is_closed()) {
        *slot = None;
        let client = config
            .connect(tls.clone())
            .map_err(|e| pg("connecting to PostgreSQL", &e))?;
        info!("connected to PostgreSQL again");
        return Ok(slot.insert(Writer::prepare(client)?));
    }
    slot.as_mut()
        .ok_or_else(|| Error::Postgres("no connection".to_owned()))
}
