//! Small helpers the end-to-end tests share: waiting for a condition, a free port, and
//! checking that a host's sequence numbers arrived whole.

use std::time::{Duration, Instant};

/// Polls `check` every 100 ms until it holds; returns how long that took.
///
/// # Panics
/// When it does not hold within `timeout`, naming `what`.
pub fn wait_until(what: &str, timeout: Duration, check: impl FnMut() -> bool) -> Duration {
    wait_until_explained(what, timeout, check, String::new)
}

/// As [`wait_until`], adding `explain()` (a log, say) to the panic message.
///
/// # Panics
/// When `check` does not hold within `timeout`.
pub fn wait_until_explained(
    what: &str,
    timeout: Duration,
    mut check: impl FnMut() -> bool,
    explain: impl Fn() -> String,
) -> Duration {
    let start = Instant::now();
    while !check() {
        assert!(
            start.elapsed() < timeout,
            "timed out after {timeout:?} waiting for {what}\n{}",
            explain()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    start.elapsed()
}

/// A loopback address nothing listens on right now (`127.0.0.1:PORT`), for a server that must
/// come back on the same address.
///
/// # Panics
/// When no port can be bound.
#[must_use]
pub fn free_address() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("address").to_string()
}

/// Consecutive and increasing: nothing lost, nothing twice, in order.
///
/// # Panics
/// On an empty list, a gap or a duplicate.
pub fn assert_contiguous(seqs: &[u64]) {
    assert!(!seqs.is_empty());
    for pair in seqs.windows(2) {
        assert_eq!(pair[1], pair[0] + 1, "gap or duplicate in {seqs:?}");
    }
}
