//! The local channel on Unix: a socket file (default `/run/idlewatch-agent/session.sock`)
//! that every local user may connect to (mode 0666: each session's helper runs as that
//! session's user); the service learns each helper's process from the socket's peer
//! credentials.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use tokio::net::{UnixListener, UnixStream};
use tracing::warn;

use super::channel::Hub;

/// Where the socket is, unless configured.
#[must_use]
pub fn default_path() -> PathBuf {
    PathBuf::from("/run/idlewatch-agent/session.sock")
}

/// Binds the socket at `path` (replacing a stale one) so any local user may connect.
///
/// # Errors
/// When its directory cannot be created or the socket cannot be bound.
pub fn bind(path: &Path) -> std::io::Result<UnixListener> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    // A socket file left by a previous run (the service was killed) would make bind fail.
    if std::fs::symlink_metadata(path).is_ok_and(|m| !m.is_dir()) {
        std::fs::remove_file(path)?;
    }
    let listener = UnixListener::bind(path)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o666))?;
    Ok(listener)
}

/// Accepts helpers on `listener` until aborted.
pub async fn accept(listener: UnixListener, hub: Hub) {
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                let pid = stream
                    .peer_cred()
                    .ok()
                    .and_then(|c| c.pid())
                    .and_then(|p| u32::try_from(p).ok());
                let hub = hub.clone();
                tokio::spawn(async move { hub.serve(stream, pid).await });
            }
            Err(e) => {
                warn!("session socket: cannot accept a helper ({e}); retrying");
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            }
        }
    }
}

/// Connects a helper to the service's socket at `path`.
///
/// # Errors
/// When nothing listens there.
pub async fn connect(path: &Path) -> std::io::Result<UnixStream> {
    UnixStream::connect(path).await
}
