//! Offline inspection of a store file that no server has open (`idlewatch-admin db stats` and
//! `db check`): opened read-only, never migrated or repaired, so inspecting cannot change it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use idlewatch_format::{
    BY_TIME, DAYS, DETAIL_FROM, HOST_DAYS, HOST_IDS, HOST_LAST, HOST_NAMES, HostChain, META,
    MINUTES, NEXT_SEQ_KEY, RECORDS, SUMMARY_HOURS, Summary, read_summary,
};
use idlewatch_migrations::{CURRENT_VERSION, schema_version};
use idlewatch_protocol::SnapshotFields;
use idlewatch_protocol::api::{HostStoreStats, StoreStats};
use idlewatch_protocol::time::rfc3339_ms;
use redb::{
    DatabaseError, ReadOnlyDatabase, ReadableDatabase, ReadableTable, ReadableTableMetadata,
};

use crate::Error;
use crate::open::{STORE_FILE, read_pid};
use crate::summary_hours;

/// A store file opened read-only.
pub struct Offline {
    db: ReadOnlyDatabase,
    path: PathBuf,
}

/// What `db check` found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckReport {
    /// Records decoded and verified.
    pub records_checked: u64,
    /// Hosts checked.
    pub hosts_checked: u64,
    /// Problems, each one line (empty: the store is sound).
    pub problems: Vec<String>,
}

/// Problems listed before `check` stops collecting them.
const MAX_PROBLEMS: usize = 50;

impl Offline {
    /// Opens the store in `data_dir` read-only.
    ///
    /// # Errors
    /// [`Error::InUse`] while a server has it open; [`Error::Open`] when there is no store
    /// there or it was not closed cleanly (the server repairs it at its next start).
    pub fn open(data_dir: &Path) -> Result<Self, Error> {
        let path = data_dir.join(STORE_FILE);
        if !path.is_file() {
            return Err(Error::Open {
                path,
                reason: "there is no store here; check --data-dir (the server's data_dir)"
                    .to_owned(),
            });
        }
        let db = ReadOnlyDatabase::open(&path).map_err(|e| match e {
            DatabaseError::DatabaseAlreadyOpen => Error::InUse {
                dir: data_dir.to_owned(),
                pid: read_pid(data_dir),
            },
            DatabaseError::RepairAborted => Error::Open {
                path: path.clone(),
                reason: "it was not closed cleanly; start idlewatch-server on it once (it \
                         repairs the file at start), stop it, then retry"
                    .to_owned(),
            },
            other => Error::Open {
                path: path.clone(),
                reason: other.to_string(),
            },
        })?;
        Ok(Self { db, path })
    }

    /// Sizes and counts, per host.
    ///
    /// # Errors
    /// Storage errors, or a file of another schema version.
    pub fn stats(&self) -> Result<StoreStats, Error> {
        let version = self.current_version()?;
        let txn = self.db.begin_read()?;
        let names = txn.open_table(HOST_NAMES)?;
        let records = txn.open_table(RECORDS)?;
        let by_time = txn.open_table(BY_TIME)?;
        let mut record_bytes = 0u64;
        for entry in records.iter()? {
            let (_, value) = entry?;
            record_bytes += value.value().len() as u64;
        }
        let mut minutes_of: std::collections::HashMap<u32, u64> = std::collections::HashMap::new();
        let (mut minute_hours, mut minute_bytes) = (0u64, 0u64);
        for entry in txn.open_table(MINUTES)?.iter()? {
            let (key, value) = entry?;
            minute_hours += 1;
            minute_bytes += value.value().len() as u64;
            *minutes_of.entry(key.value().0).or_default() += 1;
        }
        let (mut day_rows, mut day_bytes) = (0u64, 0u64);
        for entry in txn.open_table(DAYS)?.iter()? {
            day_rows += 1;
            day_bytes += entry?.1.value().len() as u64;
        }
        let detail = txn.open_table(DETAIL_FROM)?;
        let (mut host_days, mut host_day_bytes) = (0u64, 0u64);
        for entry in txn.open_table(HOST_DAYS)?.iter()? {
            host_days += 1;
            host_day_bytes += entry?.1.value().len() as u64;
        }
        let (mut summary_hours, mut summary_hour_bytes) = (0u64, 0u64);
        for entry in txn.open_table(SUMMARY_HOURS)?.iter()? {
            summary_hours += 1;
            summary_hour_bytes += entry?.1.value().len() as u64;
        }
        let mut hosts = Vec::new();
        for entry in names.iter()? {
            let (id, name) = entry?;
            let id = id.value();
            let detail_from = detail.get(id)?.map(|v| v.value());
            let (mut snapshots, mut first_ms, mut last_ms) = (0, None, None);
            // Records before the detail are kept only as delta bases: not counted.
            let from = detail_from.unwrap_or(i64::MIN);
            for key in by_time.range((id, from, 0)..=(id, i64::MAX, u64::MAX))? {
                let (_, captured, _) = key?.0.value();
                snapshots += 1;
                first_ms.get_or_insert(captured);
                last_ms = Some(captured);
            }
            let time = |ms: Option<i64>| ms.map(rfc3339_ms).unwrap_or_default();
            hosts.push(HostStoreStats {
                host: name.value().to_owned(),
                snapshots,
                first: time(first_ms),
                last: time(last_ms),
                detail_from: detail_from.map(rfc3339_ms),
                minute_hours: minutes_of.get(&id).copied().unwrap_or(0),
            });
        }
        hosts.sort_by(|a, b| a.host.cmp(&b.host));
        Ok(StoreStats {
            file_bytes: std::fs::metadata(&self.path).map_or(0, |m| m.len()),
            path: self.path.display().to_string(),
            schema_version: version,
            snapshots: records.len()?,
            record_bytes,
            minute_hours,
            minute_bytes,
            day_rows,
            day_bytes,
            host_days,
            host_day_bytes,
            summary_hours,
            summary_hour_bytes,
            hosts,
        })
    }

    fn current_version(&self) -> Result<u64, Error> {
        let version = schema_version(&self.db)?;
        if version != CURRENT_VERSION {
            return Err(Error::Open {
                path: self.path.clone(),
                reason: format!(
                    "its schema version is {version}, this tool reads version {CURRENT_VERSION}; \
                     {}",
                    if version < CURRENT_VERSION {
                        "start idlewatch-server on it once to upgrade it"
                    } else {
                        "use the idlewatch-admin of the server version that wrote it"
                    }
                ),
            });
        }
        Ok(version)
    }

    /// Verifies every table against the others and decodes every record: each indexed
    /// snapshot exists, decodes (following its host's delta chain) to JSON, and matches its
    /// index entry; every record is indexed once; host ids and names agree; each host's last
    /// record and the next sequence number are consistent.
    ///
    /// # Errors
    /// Storage errors that stop the check itself (problems in the data are reported instead).
    pub fn check(&self) -> Result<CheckReport, Error> {
        self.current_version()?;
        let txn = self.db.begin_read()?;
        let ids = txn.open_table(HOST_IDS)?;
        let names = txn.open_table(HOST_NAMES)?;
        let records = txn.open_table(RECORDS)?;
        let by_time = txn.open_table(BY_TIME)?;
        let last = txn.open_table(HOST_LAST)?;
        let meta = txn.open_table(META)?;
        let mut report = CheckReport::default();
        let problem = |report: &mut CheckReport, text: String| {
            if report.problems.len() < MAX_PROBLEMS {
                report.problems.push(text);
            }
        };
        let mut name_of = BTreeMap::new();
        for entry in names.iter()? {
            let (id, name) = entry?;
            let (id, name) = (id.value(), name.value().to_owned());
            if ids.get(name.as_str())?.map(|v| v.value()) != Some(id) {
                problem(
                    &mut report,
                    format!("host {name:?}: id {id} is not in host_ids"),
                );
            }
            name_of.insert(id, name);
        }
        if ids.len()? != names.len()? {
            problem(
                &mut report,
                format!(
                    "host_ids has {} entries, host_names {}",
                    ids.len()?,
                    names.len()?
                ),
            );
        }
        let mut indexed = 0u64;
        let mut max_seq = 0u64;
        for (&id, name) in &name_of {
            report.hosts_checked += 1;
            let mut chain = HostChain::new();
            for key in by_time.range((id, i64::MIN, 0)..=(id, i64::MAX, u64::MAX))? {
                let (_, captured, seq) = key?.0.value();
                indexed += 1;
                max_seq = max_seq.max(seq);
                match chain.get(&records, seq) {
                    Ok((header, json)) => {
                        if header.captured_ms != captured {
                            problem(
                                &mut report,
                                format!(
                                    "{name}: record {seq} captured at {} but indexed at {captured}",
                                    header.captured_ms
                                ),
                            );
                        }
                        match std::str::from_utf8(&json).map(SnapshotFields::parse) {
                            Ok(Ok(fields)) => {
                                let stored = records
                                    .get(seq)?
                                    .map(|b| read_summary(seq, b.value()))
                                    .transpose()?
                                    .flatten();
                                if stored.is_some_and(|s| s != Summary::of(&fields)) {
                                    problem(
                                        &mut report,
                                        format!(
                                            "{name}: record {seq}'s summary differs from its JSON"
                                        ),
                                    );
                                }
                            }
                            _ => problem(
                                &mut report,
                                format!("{name}: record {seq} is not a valid snapshot"),
                            ),
                        }
                        report.records_checked += 1;
                    }
                    Err(e) => problem(&mut report, format!("{name}: record {seq}: {e}")),
                }
            }
            match last.get(id)?.map(|v| v.value()) {
                Some(seq) if records.get(seq)?.is_none() => {
                    problem(&mut report, format!("{name}: last record {seq} is missing"));
                }
                _ => {}
            }
        }
        let total = records.len()?;
        if total != indexed {
            problem(
                &mut report,
                format!("{total} records stored but {indexed} indexed by time"),
            );
        }
        for entry in txn.open_table(MINUTES)?.iter()? {
            let (key, value) = entry?;
            let (id, hour) = key.value();
            let name = name_of.get(&id).map_or("?", String::as_str);
            if !name_of.contains_key(&id) {
                problem(&mut report, format!("minute rows of unknown host id {id}"));
            }
            if let Err(e) = idlewatch_format::minutes::HourBlock::decode(value.value()) {
                problem(&mut report, format!("{name}: minutes of hour {hour}: {e}"));
            }
        }
        for entry in txn.open_table(DAYS)?.iter()? {
            let (key, value) = entry?;
            let (id, day) = key.value();
            let name = name_of.get(&id).map_or("?", String::as_str);
            if !name_of.contains_key(&id) {
                problem(&mut report, format!("day rows of unknown host id {id}"));
            }
            if let Err(e) = idlewatch_format::days::DayBlock::decode(value.value()) {
                problem(&mut report, format!("{name}: day row of {day}: {e}"));
            }
        }
        for entry in txn.open_table(SUMMARY_HOURS)?.iter()? {
            let (key, value) = entry?;
            let (id, hour) = key.value();
            let name = name_of.get(&id).map_or("?", String::as_str);
            if let Some(what) = summary_hours::differs(&txn, id, hour, value.value())? {
                problem(&mut report, format!("{name}: summary hour {hour}: {what}"));
            }
        }
        let next = meta.get(NEXT_SEQ_KEY)?.map_or(0, |v| v.value());
        if indexed > 0 && next <= max_seq {
            problem(
                &mut report,
                format!("next sequence number {next} is not above the highest record {max_seq}"),
            );
        }
        Ok(report)
    }
}
