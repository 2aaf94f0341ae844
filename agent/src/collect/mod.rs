//! The collectors: idle time, foreground window, processes and system load, each behind a
//! small trait so tests can substitute it, and [`Collectors::detect`], which picks what works
//! on this machine.

mod foreground;
mod idle;
#[cfg(target_os = "linux")]
mod mutter;
mod processes;
#[cfg(target_os = "linux")]
mod procfs;
#[cfg(windows)]
mod win32;
#[cfg(target_os = "linux")]
mod x11;

pub use foreground::{Foreground, ForegroundSource, NoForeground};
pub use idle::{IdleReading, IdleSource, NoIdle};
pub use processes::{
    OwnerLookup, ProcessInfo, ProcessSource, SysinfoProcesses, SystemSample, owner_lookup, round1,
};
#[cfg(windows)]
pub use win32::known_program_data;

use tracing::info;

/// The three sources the agent reads every interval.
pub struct Collectors {
    /// Seconds since the last user input.
    pub idle: Box<dyn IdleSource>,
    /// The foreground window's process.
    pub foreground: Box<dyn ForegroundSource>,
    /// Processes, CPU and memory.
    pub processes: Box<dyn ProcessSource>,
}

impl Collectors {
    /// The sources that work here: a missing idle or foreground source reports why instead,
    /// and that reason is logged once. Call it off the async runtime.
    ///
    /// # Errors
    /// Only when the process list cannot be read at all.
    pub fn detect() -> Result<Self, String> {
        let processes = process_source()?;
        let (idle, foreground) = session_sources();
        info!(
            idle_source = idle.name(),
            foreground_source = foreground.name(),
            "collectors ready"
        );
        Ok(Self {
            idle,
            foreground,
            processes,
        })
    }
}

#[cfg(target_os = "linux")]
fn process_source() -> Result<Box<dyn ProcessSource>, String> {
    Ok(Box::new(procfs::ProcFs::new()?))
}

#[cfg(not(target_os = "linux"))]
fn process_source() -> Result<Box<dyn ProcessSource>, String> {
    Ok(Box::new(SysinfoProcesses::new()?))
}

/// The idle and foreground sources of the session this process runs in (what the session
/// helper reads). Call it off the async runtime.
#[cfg(target_os = "linux")]
#[must_use]
pub fn session_sources() -> (Box<dyn IdleSource>, Box<dyn ForegroundSource>) {
    // user-idle crashes without an X display, so Linux uses X11 directly, then Mutter over
    // D-Bus (GNOME on Wayland), and otherwise reports idle time as unknown.
    let x11_error = match x11::X11::connect() {
        Ok(display) => {
            let foreground = Box::new(display.clone());
            return (Box::new(display), foreground);
        }
        Err(e) => e,
    };
    match mutter::MutterIdle::connect() {
        Ok(mutter) => (
            Box::new(mutter),
            Box::new(NoForeground::new("no X display")),
        ),
        Err(mutter_error) => {
            let why =
                format!("no X display ({x11_error}) and no GNOME idle monitor ({mutter_error})");
            (
                Box::new(NoIdle::new(why.clone())),
                Box::new(NoForeground::new(why)),
            )
        }
    }
}

/// The idle and foreground sources of this process's session.
#[cfg(windows)]
#[must_use]
pub fn session_sources() -> (Box<dyn IdleSource>, Box<dyn ForegroundSource>) {
    (Box::new(win32::Win32Idle), Box::new(win32::Win32Foreground))
}

/// The idle and foreground sources of this process's session.
#[cfg(target_os = "macos")]
#[must_use]
pub fn session_sources() -> (Box<dyn IdleSource>, Box<dyn ForegroundSource>) {
    (
        Box::new(idle::UserIdle),
        Box::new(NoForeground::new("not supported on macOS")),
    )
}

/// The idle and foreground sources of this process's session.
#[cfg(not(any(target_os = "linux", windows, target_os = "macos")))]
#[must_use]
pub fn session_sources() -> (Box<dyn IdleSource>, Box<dyn ForegroundSource>) {
    (
        Box::new(NoIdle::new("not supported on this OS".to_owned())),
        Box::new(NoForeground::new("not supported on this OS")),
    )
}
