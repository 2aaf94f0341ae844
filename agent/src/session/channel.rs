//! The service's side of the local channel, whatever carries it ([`super::transport`]): each
//! connected helper gets the settings, then its reports are read line by line (bounded) into
//! [`Helpers`], with the user the service finds for the helper's process — never the one the
//! helper claims.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tracing::{debug, info};

use super::merge::Helpers;
use super::report::{HelperSettings, MAX_LINE, SessionReport};

pub use crate::collect::OwnerLookup;

/// What every connection handler shares.
#[derive(Clone)]
pub struct Hub {
    /// The helpers' latest reports.
    pub helpers: Arc<Mutex<Helpers>>,
    /// The settings sent to each helper.
    pub settings: HelperSettings,
    /// The owner of a helper's process.
    pub owner: OwnerLookup,
    next_id: Arc<AtomicU64>,
}

impl Hub {
    /// A hub filling `helpers`.
    #[must_use]
    pub fn new(helpers: Arc<Mutex<Helpers>>, settings: HelperSettings, owner: OwnerLookup) -> Self {
        Self {
            helpers,
            settings,
            owner,
            next_id: Arc::new(AtomicU64::new(1)),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Helpers> {
        self.helpers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Serves one helper connection until it closes; `peer_pid` is its process, when the
    /// transport can tell.
    pub async fn serve<S>(&self, stream: S, peer_pid: Option<u32>)
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (read, mut write) = tokio::io::split(stream);
        let mut hello = serde_json::to_vec(&self.settings).unwrap_or_default();
        hello.push(b'\n');
        if write.write_all(&hello).await.is_err() {
            return;
        }
        // The owner is looked up once: a process does not change user.
        let owner = peer_pid.and_then(|pid| (self.owner)(pid));
        info!(connection = id, pid = ?peer_pid, user = ?owner, "session helper connected");
        let mut lines = BufReader::new(read);
        let mut line = Vec::with_capacity(512);
        loop {
            line.clear();
            let read = (&mut lines)
                .take(MAX_LINE as u64 + 1)
                .read_until(b'\n', &mut line)
                .await;
            match read {
                Ok(0) | Err(_) => break,
                Ok(n) if n > MAX_LINE => {
                    debug!(connection = id, "session helper line too long; closing");
                    break;
                }
                Ok(_) => {}
            }
            match serde_json::from_slice::<SessionReport>(&line) {
                Ok(report) => {
                    let bye = report.bye;
                    self.lock()
                        .report(id, report, owner.clone(), Instant::now());
                    if bye {
                        info!(connection = id, "session helper said goodbye");
                        return;
                    }
                }
                Err(e) => debug!(connection = id, "unreadable session report ignored: {e}"),
            }
        }
        self.lock().closed(id);
        info!(connection = id, "session helper disconnected");
    }
}
