//! The metrics' exposition and the socket slots' atomic accounting.

use super::*;

#[test]
fn render_lists_counters_and_rejections_by_code() {
    let m = Metrics::default();
    m.snapshots_accepted.inc_by(3);
    m.reject(ErrorCode::InvalidField);
    m.reject(ErrorCode::InvalidField);
    let text = m.render(Readings {
        hosts: HostCounts {
            online: 2,
            offline: 1,
        },
        store_bytes: 4096,
        disk_free_bytes: 1 << 30,
        uptime_secs: 1.5,
    });
    assert!(text.contains("idlewatch_disk_free_bytes 1073741824\n"));
    assert!(text.contains("idlewatch_snapshots_accepted_total 3\n"));
    assert!(text.contains("idlewatch_snapshots_rejected_total{code=\"invalid_field\"} 2\n"));
    assert!(text.contains("idlewatch_hosts{state=\"online\"} 2\n"));
    assert_eq!(m.rejected(ErrorCode::InvalidField), 2);
    assert!(text.contains("idlewatch_store_bytes 4096\n"));
}

#[test]
fn racing_connections_never_take_more_slots_than_there_are() {
    let m = std::sync::Arc::new(Metrics::default());
    let admitted: u64 = (0..8)
        .map(|_| {
            let m = m.clone();
            std::thread::spawn(move || (0..1000).filter(|_| m.try_open_socket(100)).count())
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|t| t.join().unwrap() as u64)
        .sum();
    assert_eq!(admitted, 100);
    assert_eq!(m.sockets_open.load(Relaxed), 100);
    m.socket_closed();
    assert!(m.try_open_socket(100));
    assert!(!m.try_open_socket(100));
    assert!(m.try_open_socket(0), "0 is no limit");
}
