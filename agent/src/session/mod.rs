//! The session side of the agent. On a shared lab PC the agent runs as a system service (it
//! owns processes, watched apps, the spool, the token and the connection, and students cannot
//! stop it), while a small helper — `idlewatch-agent session`, started in each user session at
//! logon — reports what only that session can see: its idle time, its foreground window, its
//! user and logon time.
//!
//! - [`report`]: what helper and service say over the local channel;
//! - [`channel`]: the service's side of it, whatever carries it (a Unix socket, a Windows named
//!   pipe: `transport`);
//! - [`merge`]: which session a snapshot's idle time and `session` come from, and the
//!   `no_session` / `helper_missing` cases;
//! - [`os`]: who is logged on, as the operating system says (systemd-logind, WTS);
//! - [`helper`]: the `session` subcommand (on Windows it first leaves the console window a
//!   logon opens for it: `console`).

pub mod channel;
#[cfg(windows)]
#[path = "console_windows.rs"]
pub mod console;
pub mod helper;
pub mod merge;
pub mod os;
#[cfg(target_os = "linux")]
mod os_linux;
#[cfg(windows)]
mod os_windows;
pub mod report;
#[cfg(unix)]
#[path = "transport_unix.rs"]
pub mod transport;
#[cfg(windows)]
#[path = "transport_windows.rs"]
pub mod transport;
