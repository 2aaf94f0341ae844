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

use crate::Error;
use crate::age::Ager;
use crate::delete::{DeleteQuery, Deleter};
use crate::host_days;
use crate::prune::Pruner;
use crate::slot::DbSlot;

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

/// Starts the writer thread: at most `queue` appends wait, at most `max_batch` are committed in
/// one transaction.
pub(crate) fn start(
    db: Arc<DbSlot>,
    queue: usize,
    max_batch: usize,
    deltas: DeltaKind,
) -> (SyncSender<Command>, Writer) {
    let (tx, rx) = mpsc::sync_channel(queue.max(1));
    let max_batch = max_batch.max(1);
    let thread = std::thread::Builder::new()
        .name("idlewatch-store".to_owned())
        .spawn({
            let db = db.clone();
            move || Journal::new(db, max_batch, deltas).run(&rx)
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

/// How often a failed store is reopened and tried again.
pub const REOPEN_EVERY: Duration = Duration::from_secs(2);

struct Journal {
    failure: Option<Failure>,
    db: Arc<DbSlot>,
    writer: RecordWriter,
    pruner: Option<Pruner>,
    ager: Option<(Ager, AgeDone)>,
    deletions: std::collections::VecDeque<(Deleter, DeleteDone)>,
    max_batch: usize,
}

impl Journal {
    fn new(db: Arc<DbSlot>, max_batch: usize, deltas: DeltaKind) -> Self {
        Self {
            failure: None,
            db,
            writer: RecordWriter::with_deltas(deltas),
            pruner: None,
            ager: None,
            deletions: std::collections::VecDeque::new(),
            max_batch,
        }
    }

    fn run(mut self, rx: &Receiver<Command>) {
        loop {
            // With pruning or a deletion pending, wait briefly and work on it while idle;
            // otherwise block.
            let first =
                if self.pruner.is_some() || self.ager.is_some() || !self.deletions.is_empty() {
                    match rx.recv_timeout(Duration::from_millis(20)) {
                        Ok(c) => c,
                        Err(RecvTimeoutError::Timeout) => {
                            self.delete_step();
                            self.prune_step();
                            self.age_step();
                            continue;
                        }
                        Err(RecvTimeoutError::Disconnected) => return,
                    }
                } else {
                    match rx.recv() {
                        Ok(c) => c,
                        Err(_) => return,
                    }
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
        for (pending, appended) in appends.iter().zip(&mut results) {
            let captured_ms = pending
                .snapshot
                .fields()
                .captured_at
                .map_or(pending.received_ms, |c| c.epoch_ms());
            if !appended.duplicate && host_days::is_late(captured_ms, pending.received_ms) {
                // Its day may be rolled up already: the rollups it changes are built again.
                host_days::invalidate(&txn, pending.snapshot.host(), captured_ms, captured_ms)?;
                // Its time may be folded into minutes already (only late snapshots can be).
                appended.uncounted = folded_before(&txn, pending.snapshot.host(), captured_ms)?;
            }
        }
        txn.commit()?;
        Ok(results)
    }

    fn delete_step(&mut self) {
        if self.failure.is_some() {
            return;
        }
        let Some((deleter, _)) = self.deletions.front_mut() else {
            return;
        };
        let result = self.db.get().and_then(|db| deleter.step(&db));
        // Records and cursors changed under the writer's cache.
        self.writer.forget();
        match result {
            Ok(true) => {}
            Ok(false) => {
                if let Some((deleter, done)) = self.deletions.pop_front() {
                    done(Ok(deleter.removed()));
                }
            }
            Err(e) => {
                if let Some((_, done)) = self.deletions.pop_front() {
                    done(Err(e));
                }
            }
        }
    }

    fn age_step(&mut self) {
        if self.failure.is_some() {
            return;
        }
        let Some((ager, _)) = self.ager.as_mut() else {
            return;
        };
        let removed = ager.removed();
        let result = self.db.get().and_then(|db| ager.step(&db));
        if ager.removed() != removed {
            // A sweep rewrote records under the writer's cache.
            self.writer.forget();
        }
        match result {
            Ok(true) => {}
            Ok(false) => {
                if let Some((ager, done)) = self.ager.take() {
                    let aged = Aged {
                        folded_hours: ager.folded_hours(),
                        removed: ager.removed(),
                        trimmed_hours: ager.trimmed_hours(),
                    };
                    if aged.trimmed_hours > 0 {
                        info!(
                            "aging: deleted {} host-hours of minutes kept as day rows",
                            aged.trimmed_hours
                        );
                    }
                    if aged.folded_hours > 0 {
                        info!(
                            "aging: folded {} host-hours into minutes, deleted {} records",
                            aged.folded_hours, aged.removed
                        );
                    }
                    done(Ok(aged));
                }
            }
            Err(e) => {
                error!("aging failed, will retry next round: {e}");
                if let Some((_, done)) = self.ager.take() {
                    done(Err(e));
                }
            }
        }
    }

    fn prune_step(&mut self) {
        if self.failure.is_some() {
            // Deleting needs a commit too; retention waits until the store writes again.
            return;
        }
        let Some(pruner) = self.pruner.as_mut() else {
            return;
        };
        let before = pruner.removed();
        let result = self.db.get().and_then(|db| pruner.step(&db));
        if pruner.removed() > before {
            // A host whose whole history was old may have lost the record its cached cursor
            // would use as the next delta's base: reload cursors from the file.
            self.writer.forget();
        }
        match result {
            Ok(true) => {}
            Ok(false) => {
                let removed = pruner.removed();
                if removed > 0 {
                    info!("retention: removed {removed} old snapshots");
                }
                self.pruner = None;
            }
            Err(e) => {
                error!("retention pruning failed, will retry next round: {e}");
                self.pruner = None;
            }
        }
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

/// Whether `host`'s records captured at `captured_ms` were folded into minute rows already.
fn folded_before(txn: &WriteTransaction, host: &str, captured_ms: i64) -> Result<bool, Error> {
    let Some(id) = txn.open_table(HOST_IDS)?.get(host)?.map(|v| v.value()) else {
        return Ok(false);
    };
    let detail_from = txn.open_table(DETAIL_FROM)?.get(id)?.map(|v| v.value());
    Ok(detail_from.is_some_and(|from| captured_ms < from))
}
