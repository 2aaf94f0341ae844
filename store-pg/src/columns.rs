//! The rows of one group as PostgreSQL arrays, one per column, for the single multi-row
//! `INSERT … SELECT FROM unnest(…)` that stores the group: one statement and one round trip
//! whatever the group's size.

use idlewatch_format::{Summary, state_byte};
use postgres::types::ToSql;

/// Stores the group's rows; returns the seq of each row inserted (a row another server stored
/// first is skipped: `ON CONFLICT DO NOTHING`).
pub(crate) const INSERT: &str = "INSERT INTO snapshots (host_id, captured_ms, seq, \
     received_ms, agent_seq, base_seq, idle_seconds, user_active, cpu_percent, memory_percent, \
     processes, foreground, login_user, logon_ms, apps, record) \
     SELECT h, c, s, r, a, b, i, u, cp, m, p, f, lu, lo, ap::jsonb, rec FROM unnest($1::int4[], \
     $2::int8[], $3::int8[], $4::int8[], $5::int8[], $6::int8[], $7::float8[], $8::bool[], \
     $9::float8[], $10::float8[], $11::int8[], $12::text[], $13::text[], $14::int8[], \
     $15::text[], $16::bytea[]) AS t(h, c, s, r, a, b, i, u, cp, m, p, f, lu, lo, ap, rec) \
     ON CONFLICT DO NOTHING RETURNING seq";

/// One row's keys and record.
pub(crate) struct Row {
    pub(crate) host: i32,
    pub(crate) captured_ms: i64,
    pub(crate) seq: i64,
    pub(crate) received_ms: i64,
    pub(crate) agent_seq: Option<i64>,
    pub(crate) base: Option<i64>,
    pub(crate) record: Vec<u8>,
}

/// The columns of the rows a group inserts, in [`INSERT`]'s order.
#[derive(Default)]
pub(crate) struct Columns {
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
    /// Adds a row and its summary.
    pub(crate) fn push(&mut self, row: Row, summary: &Summary) {
        self.host.push(row.host);
        self.captured.push(row.captured_ms);
        self.seq.push(row.seq);
        self.received.push(row.received_ms);
        self.agent_seq.push(row.agent_seq);
        self.base.push(row.base);
        self.record.push(row.record);
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

    /// No row to insert.
    pub(crate) fn is_empty(&self) -> bool {
        self.seq.is_empty()
    }

    /// [`INSERT`]'s parameters.
    pub(crate) fn params(&self) -> [&(dyn ToSql + Sync); 16] {
        [
            &self.host,
            &self.captured,
            &self.seq,
            &self.received,
            &self.agent_seq,
            &self.base,
            &self.idle,
            &self.active,
            &self.cpu,
            &self.memory,
            &self.processes,
            &self.foreground,
            &self.login_user,
            &self.logon,
            &self.apps,
            &self.record,
        ]
    }
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
