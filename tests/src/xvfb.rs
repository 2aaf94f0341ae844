//! A virtual X display (Xvfb) for the agent's idle-time and foreground tests, with xdotool to
//! move its pointer.

use std::process::{Child, Command};
use std::time::Duration;

use crate::wait_until;

/// A running Xvfb; stopped when dropped.
pub struct Xvfb {
    child: Child,
    /// Its display, e.g. `:123`.
    pub display: String,
    number: u32,
}

impl Xvfb {
    /// Starts one on a display number of its own.
    ///
    /// # Panics
    /// When Xvfb is missing or does not come up.
    #[must_use]
    pub fn start() -> Self {
        Self::start_at(90 + std::process::id() % 400)
    }

    /// Starts one on display `number`.
    ///
    /// # Panics
    /// When Xvfb is missing or does not come up.
    #[must_use]
    pub fn start_at(number: u32) -> Self {
        let display = format!(":{number}");
        let child = Command::new("Xvfb")
            .args([
                display.as_str(),
                "-noreset",
                "-nolisten",
                "tcp",
                "-screen",
                "0",
                "1024x768x24",
            ])
            .spawn()
            .expect("Xvfb is missing: run scripts/install-test-deps");
        let socket = format!("/tmp/.X11-unix/X{number}");
        // A connection, not the socket file: a killed Xvfb leaves its file behind.
        wait_until("Xvfb to listen", Duration::from_secs(10), || {
            std::os::unix::net::UnixStream::connect(&socket).is_ok()
        });
        Self {
            child,
            display,
            number,
        }
    }

    /// Runs xdotool on this display.
    ///
    /// # Panics
    /// When it fails.
    pub fn xdotool(&self, args: &[&str]) {
        let status = Command::new("xdotool")
            .args(args)
            .env("DISPLAY", &self.display)
            .status()
            .expect("xdotool is missing: run scripts/install-test-deps");
        assert!(status.success(), "xdotool {args:?}");
    }
}

impl Drop for Xvfb {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        // Killed, it cannot remove its socket and lock file; a later display of the same
        // number must not mistake them for a live server.
        let _ = std::fs::remove_file(format!("/tmp/.X11-unix/X{}", self.number));
        let _ = std::fs::remove_file(format!("/tmp/.X{}-lock", self.number));
    }
}
