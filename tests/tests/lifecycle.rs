//! Starting and stopping the real binary: graceful shutdown on signals, and one clear line for
//! each start-up mistake a user can make.

use std::time::Duration;

use idlewatch_tests::{Connect, Peer, PeerKind, Server};

#[test]
fn sigterm_with_connected_clients_exits_zero_promptly() {
    let mut server = Server::start_open();
    let mut dashboard = Peer::start(PeerKind::Node);
    dashboard.connect_ok(&server, &Connect::websocket());
    let mut poller = Peer::start(PeerKind::Python);
    poller.connect_ok(&server, &Connect::polling_then_upgrade().register("pc"));
    let status = server.signal_and_wait("TERM", Duration::from_secs(15));
    assert!(status.success(), "{status}: {}", server.log());
    assert!(server.log().contains("SIGTERM"));
    dashboard.wait_for("a disconnect", |v| v["type"] == "disconnect");
}

#[test]
fn sigint_exits_zero() {
    let mut server = Server::start_open();
    let status = server.signal_and_wait("INT", Duration::from_secs(15));
    assert!(status.success(), "{status}");
}

#[test]
fn an_unknown_config_key_is_named_and_the_server_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("server.toml");
    std::fs::write(
        &config,
        "listen = \"127.0.0.1:0\"\n[limits]\nmax_mesage_bytes = 5\n",
    )
    .unwrap();
    let failure = Server::try_start(&["--config", config.to_str().unwrap()], &[], None)
        .err()
        .expect("must not start");
    assert_eq!(failure.status.code(), Some(1));
    assert!(
        failure.stderr.contains("max_mesage_bytes"),
        "{}",
        failure.stderr
    );
    assert!(!failure.stderr.contains("panicked"), "{}", failure.stderr);
}

#[test]
fn a_port_in_use_is_reported_in_one_line() {
    let first = Server::start_open();
    let busy = first.addr.to_string();
    let failure = Server::try_start(&["--open", "--listen", &busy], &[], None)
        .err()
        .expect("must not start");
    assert_eq!(failure.status.code(), Some(1));
    let error_lines: Vec<&str> = failure
        .stderr
        .lines()
        .filter(|l| l.contains("error"))
        .collect();
    assert_eq!(error_lines.len(), 1, "{}", failure.stderr);
    assert!(error_lines[0].contains(&busy), "{}", error_lines[0]);
    assert!(error_lines[0].contains("--listen"), "{}", error_lines[0]);
}

#[test]
fn an_unusable_data_dir_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not-a-dir");
    std::fs::write(&file, "x").unwrap();
    let failure = Server::try_start(&[], &[], Some(&file.join("data")))
        .err()
        .expect("must not start");
    assert_eq!(failure.status.code(), Some(1));
    assert!(failure.stderr.contains("data dir"), "{}", failure.stderr);
}

#[test]
fn a_bad_environment_value_names_the_variable() {
    let failure = Server::try_start(
        &["--open"],
        &[("IDLEWATCH_MAX_MESSAGE_BYTES", "lots")],
        None,
    )
    .err()
    .expect("must not start");
    assert_eq!(failure.status.code(), Some(1));
    assert!(
        failure.stderr.contains("IDLEWATCH_MAX_MESSAGE_BYTES"),
        "{}",
        failure.stderr
    );
}
