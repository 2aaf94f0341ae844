//! The future that ends the agent or a helper: SIGINT or SIGTERM (a logoff sends SIGHUP to a
//! session's processes, which ends a helper too), Ctrl-C elsewhere. Install it inside the
//! runtime, before any work starts, so no signal is missed.

/// Resolves on the first stop signal.
///
/// # Errors
/// When the handlers cannot be installed.
#[cfg(unix)]
pub fn shutdown() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    use anyhow::Context;
    use tokio::signal::unix::{SignalKind, signal};
    let mut interrupt = signal(SignalKind::interrupt()).context("cannot handle SIGINT")?;
    let mut terminate = signal(SignalKind::terminate()).context("cannot handle SIGTERM")?;
    let mut hangup = signal(SignalKind::hangup()).context("cannot handle SIGHUP")?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
            _ = hangup.recv() => {}
        }
    })
}

/// Resolves on Ctrl-C (or the end of the console session).
///
/// # Errors
/// Never; the signature matches Unix's.
#[cfg(not(unix))]
pub fn shutdown() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    Ok(async {
        let _ = tokio::signal::ctrl_c().await;
    })
}
