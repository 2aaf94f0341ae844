//! What a group's transaction does, step by step: name each snapshot (host, capture time,
//! agent seq), give new hosts their ids, find the snapshots stored before (resent), take
//! sequence numbers, and encode each new record against its host's cursor.

use std::collections::HashMap;
use std::sync::Arc;

use idlewatch_format::structural::RowIndex;
use idlewatch_format::{Encoder, KEYFRAME_INTERVAL, PackedJson, RecordHeader, Summary};
use idlewatch_protocol::Snapshot;
use idlewatch_store::{AppendDone, Error};
use postgres::{Statement, Transaction};

use crate::columns::{Row, signed, unsigned};
use crate::error::pg;
use crate::partitions::day_index;

/// An append waiting for its group.
pub(crate) struct Pending {
    pub(crate) snapshot: Arc<Snapshot>,
    pub(crate) packed: Option<Arc<PackedJson>>,
    pub(crate) received_ms: i64,
    pub(crate) done: AppendDone,
}

/// The last record this writer stored for a host.
pub(crate) struct Cursor {
    seq: i64,
    day: i64,
    n: u64,
    /// The host's deletions (its own and partition drops) when this record was stored: once
    /// they changed, the record may be gone and the next is a keyframe.
    deletions: i64,
    json: Arc<PackedJson>,
    /// Where the parts of that JSON are, when structural deltas are written.
    index: Option<RowIndex>,
}

/// What names a snapshot: its host, capture time (the receive time when it has none) and
/// agent seq.
pub(crate) struct Key<'p> {
    pub(crate) host: &'p str,
    pub(crate) captured_ms: i64,
    pub(crate) agent_seq: Option<i64>,
}

impl<'p> Key<'p> {
    pub(crate) fn of(pending: &'p Pending) -> Self {
        let fields = pending.snapshot.fields();
        Self {
            host: pending.snapshot.host(),
            captured_ms: fields
                .captured_at
                .map_or(pending.received_ms, |c| c.epoch_ms()),
            agent_seq: fields.seq.map(signed),
        }
    }
}

/// The ids of the group's hosts `known` lacks, adding the new ones in `tx`.
pub(crate) fn add_hosts(
    tx: &mut Transaction<'_>,
    known: &HashMap<String, i32>,
    keys: &[Key<'_>],
) -> Result<HashMap<String, i32>, Error> {
    let mut unknown: Vec<&str> = keys
        .iter()
        .map(|k| k.host)
        .filter(|h| !known.contains_key(*h))
        .collect();
    unknown.sort_unstable();
    unknown.dedup();
    let mut ids = HashMap::new();
    if unknown.is_empty() {
        return Ok(ids);
    }
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
        ids.insert(row.get::<_, String>(1), row.get::<_, i32>(0));
    }
    Ok(ids)
}

/// The advisory locks' first key for hosts (the second is the host's id).
pub(crate) const HOST_LOCKS: i32 = 0x4957_4854;

/// Locks the group's hosts until the transaction ends, in id order (no deadlock between two
/// groups): a server storing snapshots of a host another server is storing waits for its
/// commit, then finds them stored — the rare case of an agent moving on while its server
/// still commits. Uncontended (each agent on one server) it costs one statement. Returns each
/// host's deletions read under the locks (what [`encode`] needs to know whether its last record
/// of the host may be gone).
pub(crate) fn lock_hosts(
    tx: &mut Transaction<'_>,
    ids: &[i32],
) -> Result<HashMap<i32, i64>, Error> {
    tx.execute(
        "SELECT pg_advisory_xact_lock($1, h) FROM \
         (SELECT DISTINCT h FROM unnest($2::int4[]) AS h ORDER BY h) AS hosts",
        &[&HOST_LOCKS, &ids],
    )
    .map_err(|e| pg("locking the group's hosts", &e))?;
    // Read once the locks are held: a deletion committed while this waited is seen. Both
    // counters only grow, so their sum changes whenever either does.
    Ok(tx
        .query(
            "SELECT id, deletions::int8 + (SELECT n FROM partition_drops) FROM hosts \
             WHERE id = ANY($1)",
            &[&ids],
        )
        .map_err(|e| pg("reading the group's hosts", &e))?
        .iter()
        .map(|row| (row.get(0), row.get(1)))
        .collect())
}

/// The seqs of the group's snapshots already stored (resent by their agent, to this server or
/// another), by (host id, capture time, agent seq).
pub(crate) fn resent(
    tx: &mut Transaction<'_>,
    statement: &Statement,
    keys: &[Key<'_>],
    ids: &[i32],
) -> Result<HashMap<(i32, i64, i64), i64>, Error> {
    let mut h = Vec::new();
    let mut c = Vec::new();
    let mut a = Vec::new();
    for (key, id) in keys.iter().zip(ids) {
        if let Some(agent_seq) = key.agent_seq {
            h.push(*id);
            c.push(key.captured_ms);
            a.push(agent_seq);
        }
    }
    let mut stored = HashMap::new();
    if h.is_empty() {
        return Ok(stored);
    }
    for row in tx
        .query(statement, &[&h, &c, &a])
        .map_err(|e| pg("looking for resent snapshots", &e))?
    {
        stored.insert((row.get(0), row.get(1), row.get(2)), row.get(3));
    }
    Ok(stored)
}

/// `n` new sequence numbers, in increasing order.
pub(crate) fn take_seqs(tx: &mut Transaction<'_>, n: usize) -> Result<Vec<i64>, Error> {
    let mut seqs: Vec<i64> = tx
        .query(
            "SELECT nextval('snapshot_seq') FROM generate_series(1, $1::int8)",
            &[&i64::try_from(n).unwrap_or(i64::MAX)],
        )
        .map_err(|e| pg("taking sequence numbers", &e))?
        .iter()
        .map(|r| r.get(0))
        .collect();
    seqs.sort_unstable();
    Ok(seqs)
}

/// The row of `pending` under `seq`: a delta against the host's cursor when it is of the same
/// day (and not due for a keyframe), which it then replaces.
pub(crate) fn encode(
    encoder: &mut Encoder,
    cursors: &mut HashMap<i32, Cursor>,
    pending: &Pending,
    key: &Key<'_>,
    (id, deletions): (i32, i64),
    seq: i64,
) -> Result<(Row, Summary), Error> {
    let day = day_index(key.captured_ms);
    let json = pending.snapshot.raw().get().as_bytes();
    let base = cursors
        .get(&id)
        .filter(|c| c.day == day && c.n % KEYFRAME_INTERVAL != 0 && c.deletions == deletions);
    let header = RecordHeader {
        seq: unsigned(seq),
        host: id.unsigned_abs(),
        n: base.map_or(0, |c| c.n),
        base: base.map(|c| unsigned(c.seq)),
        received_ms: pending.received_ms,
        captured_ms: key.captured_ms,
        agent_seq: key.agent_seq.map(unsigned),
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
        .map_err(|e| Error::Corrupt(format!("a snapshot could not be encoded: {e}")))?;
    let row = Row {
        host: id,
        captured_ms: key.captured_ms,
        seq,
        received_ms: pending.received_ms,
        agent_seq: key.agent_seq,
        base: base.map(|c| c.seq),
        record,
    };
    let n = base.map_or(1, |c| c.n + 1);
    cursors.insert(
        id,
        Cursor {
            seq,
            day,
            n,
            deletions,
            json: pending
                .packed
                .clone()
                .unwrap_or_else(|| Arc::new(PackedJson::pack(json))),
            index,
        },
    );
    Ok((row, summary))
}
