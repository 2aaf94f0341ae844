//! Appending snapshots inside a caller's write transaction: host interning, duplicate
//! detection, keyframe/delta choice, the indexes and the server sequence number.
//!
//! A [`RecordWriter`] caches, per host, its id, next ordinal, last record and that record's
//! JSON (packed; the next delta's dictionary). The cache is only valid for committed state:
//! after a transaction fails, call [`RecordWriter::forget`].

use std::collections::HashMap;
use std::sync::Arc;

use idlewatch_protocol::Snapshot;
use redb::{ReadableTable, Table, WriteTransaction};

use super::codec::{DeltaKind, Encoder, RecordHeader};
use super::packed::PackedJson;
use super::reader::{HostChain, read_header};
use super::structural::RowIndex;
use super::summary::Summary;
use super::{
    BY_TIME, DEDUP_SEQ, HOST_IDS, HOST_LAST, HOST_NAMES, KEYFRAME_INTERVAL, META, NEXT_SEQ_KEY,
    RECORDS,
};
use crate::Error;

/// What happened to an appended snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Appended {
    /// Its server sequence number (the earlier one, for a duplicate).
    pub seq: u64,
    /// It was already stored (an agent replay) and was not stored again.
    pub duplicate: bool,
    /// It was captured before its host's whole snapshots start (`detail_from`: that time was
    /// folded into minute rows before it arrived): stored, but neither history nor the reports
    /// read records there. Set by the store, after the append.
    pub uncounted: bool,
}

struct HostCursor {
    id: u32,
    next_n: u64,
    /// The host's last record and its JSON, packed (shared with the server's live state).
    last: Option<(u64, Arc<PackedJson>)>,
    /// Where the parts of that JSON are, when structural deltas are written.
    last_index: Option<RowIndex>,
}

/// Appends records; keep one for the life of the writer thread.
#[derive(Default)]
pub struct RecordWriter {
    encoder: Encoder,
    hosts: HashMap<String, HostCursor>,
    /// Write schema-2 records (no summary): only to build test fixtures of old files.
    without_summaries: bool,
}

/// The tables of one write transaction, opened once for a batch of appends.
pub struct Batch<'w, 't> {
    writer: &'w mut RecordWriter,
    meta: Table<'t, &'static str, u64>,
    host_ids: Table<'t, &'static str, u32>,
    host_names: Table<'t, u32, &'static str>,
    host_last: Table<'t, u32, u64>,
    records: Table<'t, u64, &'static [u8]>,
    by_time: Table<'t, (u32, i64, u64), ()>,
    dedup_seq: Table<'t, (u32, u64), u64>,
    next_seq: u64,
}

impl RecordWriter {
    /// A writer with an empty cache.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// A writer with an empty cache writing deltas of `kind`.
    #[must_use]
    pub fn with_deltas(kind: DeltaKind) -> Self {
        Self {
            encoder: Encoder::new(kind),
            ..Self::default()
        }
    }

    /// A writer of schema-2 records, without summaries (test fixtures of old files only).
    #[must_use]
    pub fn schema_2() -> Self {
        Self {
            without_summaries: true,
            ..Self::default()
        }
    }

    /// Drops every cached cursor (after a failed or aborted transaction, or pruning).
    pub fn forget(&mut self) {
        self.hosts.clear();
    }

    /// Opens the tables of `txn` for appending.
    ///
    /// # Errors
    /// When the tables cannot be opened.
    pub fn batch<'w, 't>(&'w mut self, txn: &'t WriteTransaction) -> Result<Batch<'w, 't>, Error> {
        let meta = txn.open_table(META)?;
        let next_seq = meta.get(NEXT_SEQ_KEY)?.map_or(1, |v| v.value());
        Ok(Batch {
            writer: self,
            meta,
            host_ids: txn.open_table(HOST_IDS)?,
            host_names: txn.open_table(HOST_NAMES)?,
            host_last: txn.open_table(HOST_LAST)?,
            records: txn.open_table(RECORDS)?,
            by_time: txn.open_table(BY_TIME)?,
            dedup_seq: txn.open_table(DEDUP_SEQ)?,
            next_seq,
        })
    }
}

impl Batch<'_, '_> {
    /// Appends `snapshot`, received at `received_ms`, unless it is already stored.
    ///
    /// # Errors
    /// On storage failure; the transaction should then be aborted and the writer forgotten.
    pub fn append(&mut self, snapshot: &Snapshot, received_ms: i64) -> Result<Appended, Error> {
        self.append_packed(snapshot, None, received_ms)
    }

    /// As [`Batch::append`], given the snapshot's JSON already packed (kept as the host's next
    /// delta base without packing it again).
    ///
    /// # Errors
    /// As [`Batch::append`].
    pub fn append_packed(
        &mut self,
        snapshot: &Snapshot,
        packed: Option<Arc<PackedJson>>,
        received_ms: i64,
    ) -> Result<Appended, Error> {
        let fields = snapshot.fields();
        let captured_ms = fields.captured_at.map_or(received_ms, |c| c.epoch_ms());
        let host = snapshot.host();
        if !self.writer.hosts.contains_key(host) {
            let cursor = self.load_cursor(host)?;
            self.writer.hosts.insert(host.to_owned(), cursor);
        }
        let id = self.writer.hosts[host].id;
        let has_captured = fields.captured_at.is_some();
        if let Some(seq) = self.find_duplicate(id, has_captured, captured_ms, fields.seq)? {
            return Ok(Appended {
                uncounted: false,
                seq,
                duplicate: true,
            });
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        let cursor = self
            .writer
            .hosts
            .get_mut(host)
            .ok_or_else(|| Error::Corrupt {
                what: host.to_owned(),
                reason: "host cursor vanished".to_owned(),
            })?;
        let n = cursor.next_n;
        let base = match &cursor.last {
            Some((base_seq, json)) if n % KEYFRAME_INTERVAL != 0 => {
                Some((*base_seq, json.unpack()))
            }
            _ => None,
        };
        let header = RecordHeader {
            seq,
            host: id,
            n,
            base: base.as_ref().map(|(s, _)| *s),
            received_ms,
            captured_ms,
            agent_seq: fields.seq,
        };
        let json = snapshot.raw().get().as_bytes();
        let summary = (!self.writer.without_summaries).then(|| Summary::of(fields));
        let base_index = cursor.last_index.take();
        let (bytes, index) = self.writer.encoder.encode_indexed(
            &header,
            summary.as_ref(),
            json,
            base.as_ref()
                .map(|(_, j)| (j.as_slice(), base_index.as_ref())),
        )?;
        self.records.insert(seq, bytes.as_slice())?;
        self.by_time.insert((id, captured_ms, seq), ())?;
        self.host_last.insert(id, seq)?;
        if !has_captured && let Some(agent_seq) = fields.seq {
            self.dedup_seq.insert((id, agent_seq), seq)?;
        }
        cursor.next_n = n + 1;
        let packed = packed.unwrap_or_else(|| Arc::new(PackedJson::pack(json)));
        cursor.last = Some((seq, packed));
        cursor.last_index = index;
        Ok(Appended {
            uncounted: false,
            seq,
            duplicate: false,
        })
    }

    /// Writes the sequence counter; call before committing.
    ///
    /// # Errors
    /// On storage failure.
    pub fn finish(mut self) -> Result<(), Error> {
        self.meta.insert(NEXT_SEQ_KEY, self.next_seq)?;
        Ok(())
    }

    fn find_duplicate(
        &self,
        id: u32,
        has_captured: bool,
        captured_ms: i64,
        agent_seq: Option<u64>,
    ) -> Result<Option<u64>, Error> {
        if has_captured {
            // Same host and capture time (and the same agent seq, when there is one): a replay.
            for entry in self
                .by_time
                .range((id, captured_ms, 0)..=(id, captured_ms, u64::MAX))?
            {
                let (key, _) = entry?;
                let seq = key.value().2;
                if let Some(bytes) = self.records.get(seq)? {
                    let header = read_header(seq, bytes.value())?;
                    if agent_seq.is_none() || header.agent_seq == agent_seq {
                        return Ok(Some(seq));
                    }
                }
            }
            return Ok(None);
        }
        let Some(agent_seq) = agent_seq else {
            return Ok(None);
        };
        let Some(seq) = self.dedup_seq.get((id, agent_seq))?.map(|v| v.value()) else {
            return Ok(None);
        };
        Ok(self.records.get(seq)?.is_some().then_some(seq))
    }

    fn load_cursor(&mut self, host: &str) -> Result<HostCursor, Error> {
        if let Some(id) = self.host_ids.get(host)?.map(|v| v.value()) {
            let last = self.host_last.get(id)?.map(|v| v.value());
            let last = match last {
                Some(seq) if self.records.get(seq)?.is_some() => {
                    let (header, json) = HostChain::new().get(&self.records, seq)?;
                    Some((header, json))
                }
                // Pruned away entirely: start a fresh chain.
                _ => None,
            };
            return Ok(match last {
                Some((header, json)) => HostCursor {
                    id,
                    next_n: header.n + 1,
                    last: Some((header.seq, Arc::new(PackedJson::pack(&json)))),
                    last_index: None,
                },
                None => HostCursor {
                    id,
                    next_n: 0,
                    last: None,
                    last_index: None,
                },
            });
        }
        let id = self
            .host_names
            .last()?
            .map_or(0, |(k, _)| k.value().saturating_add(1));
        self.host_ids.insert(host, id)?;
        self.host_names.insert(id, host)?;
        Ok(HostCursor {
            id,
            next_n: 0,
            last: None,
            last_index: None,
        })
    }
}
