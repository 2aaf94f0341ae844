//! Where the agent logs: stderr (a terminal, systemd's journal), or — for the Windows service,
//! whose stderr goes nowhere — daily files under `%ProgramData%\Idlewatch\logs` (seven kept).
//! `IDLEWATCH_LOG` sets the level (default `info`).

/// Where to log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// Standard error.
    Stderr,
    /// The service's log files (Windows; stderr elsewhere).
    ServiceLog,
}

fn filter() -> tracing_subscriber::EnvFilter {
    tracing_subscriber::EnvFilter::try_from_env("IDLEWATCH_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"))
}

/// Installs the global subscriber.
pub fn init(target: Target) {
    #[cfg(windows)]
    if target == Target::ServiceLog {
        let dir = crate::config::program_data().join("logs");
        let appender = std::fs::create_dir_all(&dir).ok().and_then(|()| {
            tracing_appender::rolling::Builder::new()
                .rotation(tracing_appender::rolling::Rotation::DAILY)
                .filename_prefix("agent")
                .filename_suffix("log")
                .max_log_files(7)
                .build(&dir)
                .ok()
        });
        if let Some(appender) = appender {
            tracing_subscriber::fmt()
                .with_env_filter(filter())
                .with_writer(std::sync::Mutex::new(appender))
                .with_ansi(false)
                .init();
            return;
        }
    }
    let _ = target;
    tracing_subscriber::fmt()
        .with_env_filter(filter())
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
}
