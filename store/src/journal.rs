//! The writer thread: it owns every write transaction, commits appends in groups with
//! durability `Immediate`, runs each append's completion after its commit, and prunes old
//! snapshots a little at a time when there is nothing to append.

use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use idlewatch_format::{DETAIL_FROM, DeltaKind, HOST_IDS, PackedJson, RecordWriter};
use idlewatch_protocol::Snapshot;
use redb::{Durability, ReadableTable, WriteTransaction};
use tracing::{debug, error, info};

use crate::age::Ager;
use crate::delete::{DeleteQuery, Deleter};
use crate::host_days;
use crate::prune::Pruner;
use crate::slot::DbSlot;
use crate::summary_hours::{self, HourBuilder};
use crate::{Error, OpenOptions};

mod steps;

/// What happened to an append.
pub type Appended = idlewatch_format::Appended;

/// Completion of an append, run on the writer thread after the commit holding it (keep it
/// short: it delays the next group).
pub type AppendDone = Box<dyn FnOnce(Result<Appended, Error>) + Send>;

pub(crate) enum Command {
    Append {
        snapshot: Arc<Snapshot>,
        packed: Option<Arc<PackedJson>>,
        received_ms: i64,
        done: AppendDone,
    },
    Prune {
        cutoff_ms: i64,
    },
    Delete {
        query: DeleteQuery,
        done: DeleteDone,
    },
    Age {
        before_ms: i64,
        cover_ms: i64,
        minutes_before_ms: Option<i64>,
        done: AgeDone,
    },
    Hours {
        now_ms: i64,
        done: mpsc::Sender<Result<u64, Error>>,
    },
    Flush(mpsc::Sender<()>),
    Stop,
}

/// Completion of a deletion: the records removed, run on the writer thread.
pub type DeleteDone = Box<dyn FnOnce(Result<u64, Error>) + Send>;

/// Completion of an aging round: host-hours folded and records deleted.
pub type AgeDone = Box<dyn FnOnce(Result<Aged, Error>) + Send>;

/// What an aging round did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Aged {
    /// Host-hours folded into minute rows.
    pub folded_hours: u64,
    /// Records deleted once folded.
    pub removed: u64,
    /// Host-hours of minute rows deleted as older than `[retention] minutes`.
    pub trimmed_hours: u64,
}

/// One queued append.
struct Pending {
    snapshot: Arc<Snapshot>,
    packed: Option<Arc<PackedJson>>,
    received_ms: i64,
    done: AppendDone,
}

/// The running writer thread; [`Writer::stop`] commits what is queued and ends it.
pub struct Writer {
    thread: Option<JoinHandle<()>>,
    commands: SyncSender<Command>,
    db: Arc<DbSlot>,
}

impl Writer {
    /// Commits everything queued, stops the thread and waits for it, then closes the database
    /// cleanly (store handles still around get "the store is closed").
    pub fn stop(mut self) {
        self.stop_now();
    }

    fn stop_now(&mut self) {
        if let Some(thread) = self.thread.take() {
            let _ = self.commands.send(Command::Stop);
            let _ = thread.join();
            self.db.close();
        }
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        self.stop_now();
    }
}

/// Starts the writer thread: at most `options.queue` appends wait, at most `options.max_batch`
/// are committed in one transaction.
pub(crate) fn start(db: Arc<DbSlot>, options: &OpenOptions) -> (SyncSender<Command>, Writer) {
    let (tx, rx) = mpsc::sync_channel(options.queue.max(1));
    let max_batch = options.max_batch.max(1);
    let (deltas, summary_hours) = (options.deltas, options.summary_hours);
    let thread = std::thread::Builder::new()
        .name("idlewatch-store".to_owned())
        .spawn({
            let db = db.clone();
            move || Journal::new(db, max_batch, deltas, summary_hours).run(&rx)
        })
        .ok();
    if thread.is_none() {
        error!("cannot start the store writer thread; snapshots will be answered busy");
    }
    (
        tx.clone(),
        Writer {
            thread,
            commands: tx,
            db,
        },
    )
}

/// The store could not write: appends are refused at once until the database, reopened every
/// [`REOPEN_EVERY`], takes a commit again.
struct Failure {
    reason: String,
    disk_full: bool,
    next_try: Instant,
}

/// How often the writer looks for settled hours whose summaries are not gathered yet.
const HOURS_EVERY: Duration = Duration::from_secs(60);

/// How often a failed store is reopened and tried again.
pub const REOPEN_EVERY: Duration = Duration::from_secs(2);

struct Journal {
    failure: Option<Failure>,
    db: Arc<DbSlot>,
    writer: RecordWriter,
    pruner: Option<Pruner>,
    ager: Option<(Ager, AgeDone)>,
    deletions: std::collections::VecDeque<(Deleter, DeleteDone)>,
    /// Building summary hours, between rounds `None`.
    hours: Option<HourBuilder>,
    /// When the next round of summary hours starts (`None`: only when asked).
    next_hours: Option<Instant>,
    max_batch: usize,
}

impl Journal {
    fn new(db: Arc<DbSlot>, max_batch: usize, deltas: DeltaKind, summary_hours: bool) -> Self {
        Self {
            failure: None,
            db,
            writer: RecordWriter::with_deltas(deltas),
            pruner: None,
            ager: None,
            deletions: std::collections::VecDeque::new(),
            hours: None,
            next_hours: summary_hours.then(Instant::now),
            max_batch,
        }
    }

    fn run(mut self, rx: &Receiver<Command>) {
        loop {
            // With pruning or a deletion pending, wait briefly and work on it while idle;
            // otherwise block.
            let busy = self.pruner.is_some()
                || self.ager.is_some()
                || !self.deletions.is_empty()
                || self.hours.is_some();
            // Idle, it still wakes for the next round of summary hours.
            let wait = if busy {
                Duration::from_millis(20)
            } else {
                self.next_hours.map_or(Duration::MAX, |at| {
                    at.saturating_duration_since(Instant::now())
                })
            };
            let first = match rx.recv_timeout(wait) {
                Ok(c) => c,
                Err(RecvTimeoutError::Timeout) => {
                    self.delete_step();
                    self.prune_step();
                    self.age_step();
                    self.hours_step();
                    continue;
                }
                Err(RecvTimeoutError::Disconnected) => return,
            };
            let mut appends = Vec::new();
            let mut flushes = Vec::new();
            let mut stop = false;
            let mut next = Some(first);
            while let Some(command) = next.take() {
                match command {
                    Command::Append {
                        snapshot,
                        packed,
                        received_ms,
                        done,
                    } => appends.push(Pending {
                        snapshot,
                        packed,
                        received_ms,
                        done,
                    }),
                    Command::Prune { cutoff_ms } => {
                        self.pruner = Some(Pruner::new(cutoff_ms));
                    }
                    Command::Delete { query, done } => {
                        self.deletions.push_back((Deleter::new(query), done));
                    }
                    Command::Age {
                        before_ms,
                        cover_ms,
                        minutes_before_ms,
                        done,
                    } => {
                        if let Some((_, earlier)) = self.ager.take() {
                            earlier(Err(Error::Superseded));
                        }
                        self.ager = Some((Ager::new(before_ms, cover_ms, minutes_before_ms), done));
                    }
                    Command::Hours { now_ms, done } => {
                        let _ = done.send(self.gather_hours(now_ms));
                    }
                    Command::Flush(reply) => flushes.push(reply),
                    Command::Stop => stop = true,
                }
                if appends.len() < self.max_batch && !stop {
                    next = rx.try_recv().ok();
                }
            }
            if !appends.is_empty() {
                self.commit_group(appends);
                // A deletion advances one chunk per group, so it finishes under steady ingest.
                self.delete_step();
                self.age_step();
                self.hours_step();
            }
            for reply in flushes {
                let _ = reply.send(());
            }
            if stop {
                // Commit whatever arrived before the stop request.
                let rest: Vec<_> = rx
                    .try_iter()
                    .filter_map(|c| match c {
                        Command::Append {
                            snapshot,
                            packed,
                            received_ms,
                            done,
                        } => Some(Pending {
                            snapshot,
                            packed,
                            received_ms,
                            done,
                        }),
                        Command::Delete { done, .. } => {
                            done(Err(Error::Stopping));
                            None
                        }
                        Command::Age { done, .. } => {
                            done(Err(Error::Stopping));
                            None
                        }
                        _ => None,
                    })
                    .collect();
                for (_, done) in self.deletions.drain(..) {
                    done(Err(Error::Stopping));
                }
                if let Some((_, done)) = self.ager.take() {
                    done(Err(Error::Stopping));
                }
                if !rest.is_empty() {
                    self.commit_group(rest);
                }
                info!("store writer stopped");
                return;
            }
        }
    }

    fn commit_group(&mut self, appends: Vec<Pending>) {
        if let Some(failure) = &self.failure {
            if Instant::now() < failure.next_try {
                return refuse(appends, failure);
            }
            if let Err(e) = self.db.reopen() {
                debug!("store still cannot be reopened: {e}");
                let failure = Failure {
                    reason: failure.reason.clone(),
                    disk_full: failure.disk_full,
                    next_try: Instant::now() + REOPEN_EVERY,
                };
                refuse(appends, &failure);
                self.failure = Some(failure);
                return;
            }
        }
        match self.write_group(&appends) {
            Ok(results) => {
                if self.failure.take().is_some() {
                    info!("the store writes again; snapshots are stored and acked as before");
                }
                for (pending, result) in appends.into_iter().zip(results) {
                    (pending.done)(Ok(result));
                }
            }
            Err(e) => {
                // Nothing of this group is stored: the cache may be ahead of the file.
                self.writer.forget();
                let failure = Failure {
                    reason: e.to_string(),
                    disk_full: e.is_disk_full(),
                    next_try: Instant::now() + REOPEN_EVERY,
                };
                if self.failure.is_none() {
                    error!(
                        "the store cannot write ({e}): {} snapshots not stored; until it can, snapshots are answered \
                         `storage` (agents keep them and resend) while the live relay goes on; \
                         retrying every {}s — free disk space in the data dir",
                        appends.len(),
                        REOPEN_EVERY.as_secs()
                    );
                }
                refuse(appends, &failure);
                self.failure = Some(failure);
            }
        }
    }

    fn write_group(&mut self, appends: &[Pending]) -> Result<Vec<Appended>, Error> {
        let mut txn = self.db.get()?.begin_write()?;
        txn.set_durability(Durability::Immediate)?;
        let results = {
            let mut batch = self.writer.batch(&txn)?;
            let results = appends
                .iter()
                .map(|p| batch.append_packed(&p.snapshot, p.packed.clone(), p.received_ms))
                .collect::<Result<Vec<_>, _>>()?;
            batch.finish()?;
            results
        };
        let mut results = results;
        let ids = txn.open_table(HOST_IDS)?;
        let mut changes = summary_hours::Changes::open(&txn)?;
        for (pending, appended) in appends.iter().zip(&mut results) {
            if appended.duplicate {
                continue;
            }
            let captured_ms = pending
                .snapshot
                .fields()
                .captured_at
                .map_or(pending.received_ms, |c| c.epoch_ms());
            let id = ids.get(pending.snapshot.host())?.map(|v| v.value());
            if let Some(id) = id {
                // Its hour's summaries may be gathered already: they are gathered again.
                changes.records(id, captured_ms, captured_ms)?;
            }
            if host_days::is_late(captured_ms, pending.received_ms) {
                // Its day may be rolled up already: the rollups it changes are built again.
                host_days::invalidate(&txn, pending.snapshot.host(), captured_ms, captured_ms)?;
                // Its time may be folded into minutes already (only late snapshots can be).
                appended.uncounted = match id {
                    Some(id) => folded_before(&txn, id, captured_ms)?,
                    None => false,
                };
            }
        }
        drop((ids, changes));
        txn.commit()?;
        Ok(results)
    }
}

/// Answers every append of a group with the write failure.
fn refuse(appends: Vec<Pending>, failure: &Failure) {
    for pending in appends {
        (pending.done)(Err(Error::Unwritable {
            reason: failure.reason.clone(),
            disk_full: failure.disk_full,
        }));
    }
}

/// Whether host `id`'s records captured at `captured_ms` were folded into minute rows already.
fn folded_before(txn: &WriteTransaction, id: u32, captured_ms: i64) -> Result<bool, Error> {
    let detail_from = txn.open_table(DETAIL_FROM)?.get(id)?.map(|v| v.value());
    Ok(detail_from.is_some_and(|from| captured_ms < from))
}
