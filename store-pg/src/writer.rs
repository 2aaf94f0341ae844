//! The writer thread of one server: it commits the appends queued on this server in groups
//! (one transaction per group: multi-row inserts from arrays), runs each append's completion
//! only after COMMIT, and drops old day partitions when asked.
//!
//! Records are encoded as the redb store encodes them; a record is a delta against the
//! previous record this writer stored for the same host on the same UTC day (a keyframe
//! otherwise, and every [`KEYFRAME_INTERVAL`]th), so that a chain never crosses a partition
//! that pruning may drop, and never depends on another server's cursor.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::mpsc::{self, Receiver};

use idlewatch_format::structural::RowIndex;
use idlewatch_format::{
    Appended, DeltaKind, Encoder, KEYFRAME_INTERVAL, PackedJson, RecordHeader, Summary, state_byte,
};
use idlewatch_protocol::Snapshot;
use idlewatch_store::{AppendDone, Error};
use postgres::{Client, Statement};
use tokio_postgres_rustls::MakeRustlsConnect;
use tracing::{info, warn};

use crate::error::pg;
use crate::partitions::{Partitions, day_index};

/// Appends committed in one transaction, at most.
pub(crate) const GROUP: usize = 1_024;

/// Work for the writer.
pub(crate) enum Command {
    Append(Pending),
    Prune { cutoff_ms: i64 },
    Flush(mpsc::Sender<()>),
}

/// An append waiting for its group.
pub(crate) struct Pending {
    pub(crate) snapshot: Arc<Snapshot>,
    pub(crate) packed: Option<Arc<PackedJson>>,
    pub(crate) received_ms: i64,
    pub(crate) done: AppendDone,
}

/// The last record this writer stored for a host.
struct Cursor {
    seq: i64,
    day: i64,
    n: u64,
    json: Arc<PackedJson>,
    /// Where the parts of that JSON are, when structural deltas are written.
    index: Option<RowIndex>,
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

const INSERT: &str = "INSERT INTO snapshots (host_id, captured_ms, seq, received_ms, agent_seq, \
     base_seq, idle_seconds, user_active, cpu_percent, memory_percent, processes, foreground, \
     login_user, logon_ms, apps, record) \
     SELECT h, c, s, r, a, b, i, u, cp, m, p, f, lu, lo, ap::jsonb, rec FROM unnest($1::int4[], \
     $2::int8[], $3::int8[], $4::int8[], $5::int8[], $6::int8[], $7::float8[], $8::bool[], \
     $9::float8[], $10::float8[], $11::int8[], $12::text[], $13::text[], $14::int8[], \
     $15::text[], $16::bytea[]) AS t(h, c, s, r, a, b, i, u, cp, m, p, f, lu, lo, ap, rec) \
     ON CONFLICT DO NOTHING RETURNING seq";

const RESENT: &str = "SELECT s.host_id, s.captured_ms, s.agent_seq, s.seq FROM snapshots s \
     JOIN unnest($1::int4[], $2::int8[], $3::int8[]) AS k(h, c, a) \
     ON s.host_id = k.h AND s.captured_ms = k.c AND s.agent_seq = k.a";

/// The columns of the rows a group inserts, one array each.
#[derive(Default)]
struct Columns {
    host: Vec<i32>,
    captured: Vec<i64>,
    seq: Vec<i64>,
    received: Vec<i64>,
    agent_seq: Vec<Option<i64>>,
    base: Vec<Option<i64>>,
    idle: Vec<Option<f64>>,
    active: Vec<Option<bool>>,
    cpu: Vec<Option<f64>>,
    memory: Vec<Option<f64>>,
    processes: Vec<Option<i64>>,
    foreground: Vec<Option<String>>,
    login_user: Vec<Option<String>>,
    logon: Vec<Option<i64>>,
    apps: Vec<String>,
    record: Vec<Vec<u8>>,
}

impl Columns {
    fn push_summary(&mut self, summary: &Summary) {
        self.idle.push(summary.idle_seconds);
        self.active.push(summary.user_active);
        self.cpu.push(summary.cpu_percent);
        self.memory.push(summary.memory_percent);
        self.processes.push(
            summary
                .processes
                .map(|n| i64::try_from(n).unwrap_or(i64::MAX)),
        );
        self.foreground.push(summary.foreground_process.clone());
        self.login_user
            .push(summary.session.as_ref().map(|s| s.user.clone()));
        self.logon
            .push(summary.session.as_ref().and_then(|s| s.since_ms));
        let apps: Vec<(&str, u8)> = summary
            .apps
            .iter()
            .map(|(name, state)| (name.as_str(), state_byte(*state)))
            .collect();
        self.apps
            .push(serde_json::to_string(&apps).unwrap_or_else(|_| "[]".to_owned()));
    }
}

/// What one append of a group comes to.
enum Outcome {
    /// Already stored (resent), under this seq.
    Resent(i64),
    /// Inserted now, under this seq (unless another server stored it first).
    New(i64),
}

/// Agent seqs are stored as PostgreSQL's signed bigint, bit for bit.
#[allow(clippy::cast_possible_wrap)]
pub(crate) fn signed(n: u64) -> i64 {
    n as i64
}

/// The inverse of [`signed`].
#[allow(clippy::cast_sign_loss)]
pub(crate) fn unsigned(n: i64) -> u64 {
    n as u64
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

    /// Stores a group in one transaction; returns what came of each append, in order.
    fn store_group(&mut self, group: &[Pending]) -> Result<Vec<Appended>, Error> {
        let today = day_index(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX)),
        );
        let keys: Vec<(&str, i64, Option<i64>)> = group
            .iter()
            .map(|p| {
                let fields = p.snapshot.fields();
                (
                    p.snapshot.host(),
                    fields.captured_at.map_or(p.received_ms, |c| c.epoch_ms()),
                    fields.seq.map(signed),
                )
            })
            .collect();
        let days = keys
            .iter()
            .map(|(_, captured, _)| day_index(*captured))
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
        let mut tx = connection.client.transaction().map_err(|e| pg(what, &e))?;

        // Host ids, creating the new hosts in this transaction.
        let mut unknown: Vec<&str> = keys
            .iter()
            .map(|(h, _, _)| *h)
            .filter(|h| !hosts.contains_key(*h))
            .collect();
        unknown.sort_unstable();
        unknown.dedup();
        let mut new_hosts = HashMap::new();
        if !unknown.is_empty() {
            tx.execute(
                "INSERT INTO hosts (name) SELECT unnest($1::text[]) ON CONFLICT (name) DO NOTHING",
                &[&unknown],
            )
            .map_err(|e| pg("adding new hosts", &e))?;
            for row in tx
                .query(
                    "SELECT id, name FROM hosts WHERE name = ANY($1)",
                    &[&unknown],
                )
                .map_err(|e| pg("reading host ids", &e))?
            {
                new_hosts.insert(row.get::<_, String>(1), row.get::<_, i32>(0));
            }
        }
        let id_of = |host: &str| {
            hosts
                .get(host)
                .or_else(|| new_hosts.get(host))
                .copied()
                .ok_or_else(|| Error::Postgres(format!("host {host:?} has no id")))
        };
        let ids = keys
            .iter()
            .map(|(h, _, _)| id_of(h))
            .collect::<Result<Vec<i32>, Error>>()?;

        // Snapshots stored before (resent by their agent, to this server or another).
        let mut stored: HashMap<(i32, i64, i64), i64> = HashMap::new();
        let with_seq: Vec<usize> = (0..keys.len()).filter(|i| keys[*i].2.is_some()).collect();
        if !with_seq.is_empty() {
            let h: Vec<i32> = with_seq.iter().map(|i| ids[*i]).collect();
            let c: Vec<i64> = with_seq.iter().map(|i| keys[*i].1).collect();
            let a: Vec<i64> = with_seq.iter().filter_map(|i| keys[*i].2).collect();
            for row in tx
                .query(&connection.resent, &[&h, &c, &a])
                .map_err(|e| pg("looking for resent snapshots", &e))?
            {
                stored.insert((row.get(0), row.get(1), row.get(2)), row.get(3));
            }
        }

        // Sequence numbers for the new ones.
        let mut outcomes = Vec::with_capacity(group.len());
        let fresh = keys
            .iter()
            .zip(&ids)
            .filter(|((_, c, a), id)| a.is_none_or(|a| !stored.contains_key(&(**id, *c, a))))
            .count();
        let mut seqs: Vec<i64> = tx
            .query(
                "SELECT nextval('snapshot_seq') FROM generate_series(1, $1::int8)",
                &[&i64::try_from(fresh).unwrap_or(i64::MAX)],
            )
            .map_err(|e| pg("taking sequence numbers", &e))?
            .iter()
            .map(|r| r.get(0))
            .collect();
        seqs.sort_unstable();
        let mut seqs = seqs.into_iter();

        let mut columns = Columns::default();
        for ((pending, (_, captured_ms, agent_seq)), id) in group.iter().zip(&keys).zip(&ids) {
            if let Some(a) = agent_seq
                && let Some(seq) = stored.get(&(*id, *captured_ms, *a))
            {
                outcomes.push(Outcome::Resent(*seq));
                continue;
            }
            let seq = seqs
                .next()
                .ok_or_else(|| Error::Postgres("too few sequence numbers".to_owned()))?;
            if let Some(a) = agent_seq {
                // The same snapshot twice in one group is stored once.
                stored.insert((*id, *captured_ms, *a), seq);
            }
            let day = day_index(*captured_ms);
            let json = pending.snapshot.raw().get().as_bytes();
            let base = cursors
                .get(id)
                .filter(|c| c.day == day && c.n % KEYFRAME_INTERVAL != 0);
            let header = RecordHeader {
                seq: unsigned(seq),
                host: id.unsigned_abs(),
                n: base.map_or(0, |c| c.n),
                base: base.map(|c| unsigned(c.seq)),
                received_ms: pending.received_ms,
                captured_ms: *captured_ms,
                agent_seq: agent_seq.map(unsigned),
            };
            let base_json = base.map(|c| c.json.unpack());
            let summary = Summary::of(pending.snapshot.fields());
            let (record, index) = encoder
                .encode_indexed(
                    &header,
                    Some(&summary),
                    json,
                    base_json
                        .as_deref()
                        .map(|j| (j, base.and_then(|c| c.index.as_ref()))),
                )
                .map_err(|e| corrupt_encoding(&e))?;
            columns.host.push(*id);
            columns.captured.push(*captured_ms);
            columns.seq.push(seq);
            columns.received.push(pending.received_ms);
            columns.agent_seq.push(*agent_seq);
            columns.base.push(base.map(|c| c.seq));
            columns.push_summary(&summary);
            columns.record.push(record);
            let next_n = base.map_or(1, |c| c.n + 1);
            cursors.insert(
                *id,
                Cursor {
                    seq,
                    day,
                    n: next_n,
                    json: pending
                        .packed
                        .clone()
                        .unwrap_or_else(|| Arc::new(PackedJson::pack(json))),
                    index,
                },
            );
            outcomes.push(Outcome::New(seq));
        }

        let inserted: std::collections::HashSet<i64> = if columns.seq.is_empty() {
            std::collections::HashSet::new()
        } else {
            let c = &columns;
            tx.query(
                &connection.insert,
                &[
                    &c.host,
                    &c.captured,
                    &c.seq,
                    &c.received,
                    &c.agent_seq,
                    &c.base,
                    &c.idle,
                    &c.active,
                    &c.cpu,
                    &c.memory,
                    &c.processes,
                    &c.foreground,
                    &c.login_user,
                    &c.logon,
                    &c.apps,
                    &c.record,
                ],
            )
            .map_err(|e| pg(what, &e))?
            .iter()
            .map(|r| r.get(0))
            .collect()
        };
        // A snapshot another server stored between the lookup and the insert: answer with
        // its seq; the host's next record here is a keyframe (this one is not a base).
        let mut raced = Vec::new();
        for (i, outcome) in outcomes.iter().enumerate() {
            if let Outcome::New(seq) = outcome
                && !inserted.contains(seq)
            {
                raced.push(i);
            }
        }
        let mut late: HashMap<usize, i64> = HashMap::new();
        for i in raced {
            cursors.remove(&ids[i]);
            let (_, captured_ms, agent_seq) = keys[i];
            let row = tx
                .query_one(
                    "SELECT seq FROM snapshots WHERE host_id = $1 AND captured_ms = $2 \
                     AND agent_seq IS NOT DISTINCT FROM $3",
                    &[&ids[i], &captured_ms, &agent_seq],
                )
                .map_err(|e| pg("reading a snapshot another server stored", &e))?;
            late.insert(i, row.get(0));
        }
        tx.commit().map_err(|e| pg(what, &e))?;
        hosts.extend(new_hosts);
        Ok(outcomes
            .into_iter()
            .enumerate()
            .map(|(i, outcome)| {
                let (seq, duplicate) = match (outcome, late.get(&i)) {
                    (_, Some(seq)) => (*seq, true),
                    (Outcome::Resent(seq), None) => (seq, true),
                    (Outcome::New(seq), None) => (seq, false),
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

fn corrupt_encoding(e: &idlewatch_format::Error) -> Error {
    Error::Corrupt(format!("a snapshot could not be encoded: {e}"))
}
