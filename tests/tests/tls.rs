//! HTTPS and WSS on the listener (`--tls-cert` / `--tls-key`) with a private CA: the real agent
//! (`--ca-file`), python-socketio and socket.io-client report through it, the API and the
//! admin CLI answer over it; untrusted clients and plain HTTP are refused without disturbing
//! anyone; SIGHUP swaps the certificate without dropping connections; unusable files stop the
//! server with the reason.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use idlewatch_client::{Client, ClientOptions, client_config};
use idlewatch_tests::{
    Agent, Connect, Peer, PeerKind, Pki, Server, binary, seed_payloads, wait_until,
    wait_until_explained,
};
use serde_json::{Value, json};

fn tls_server(pki: &Pki) -> Server {
    let cert = pki.cert.to_str().expect("path");
    let key = pki.key.to_str().expect("path");
    Server::start_with(&["--tls-cert", cert, "--tls-key", key], &[])
}

/// An HTTPS client trusting only `ca`.
fn https(ca: &Path) -> reqwest::blocking::Client {
    let pem = std::fs::read(ca).expect("read CA");
    reqwest::blocking::Client::builder()
        .tls_certs_only(reqwest::Certificate::from_pem_bundle(&pem).expect("CA PEM"))
        .no_proxy()
        .build()
        .expect("client")
}

fn get_json(client: &reqwest::blocking::Client, server: &Server, path: &str) -> Value {
    client
        .get(format!("{}{path}", server.url()))
        .bearer_auth(&server.tokens().viewer)
        .send()
        .expect("GET over HTTPS")
        .json()
        .expect("JSON")
}

fn metric(client: &reqwest::blocking::Client, server: &Server, name: &str) -> u64 {
    let text = client
        .get(format!("{}/metrics", server.url()))
        .bearer_auth(&server.tokens().viewer)
        .send()
        .expect("metrics")
        .text()
        .expect("text");
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("{name} missing:\n{text}"))
}

/// What a plain-HTTP `GET /data` to `addr` gets back (until the server closes).
fn plain_http_get(addr: std::net::SocketAddr) -> Vec<u8> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    stream
        .write_all(format!("GET /data HTTP/1.1\r\nHost: {addr}\r\n\r\n").as_bytes())
        .expect("send");
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    answer
}

/// Connects the Rust client over WSS trusting `ca`, sends one snapshot with an ack.
fn rust_client_sends(server: &Server, ca: &Path, host: &str) -> Result<Value, String> {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let options = ClientOptions {
            token: Some(server.tokens().agent.clone()),
            tls: Some(client_config(Some(ca)).map_err(|e| e.to_string())?),
            connect_timeout: Duration::from_secs(5),
            ..ClientOptions::default()
        };
        let (client, _events) = Client::connect_with(&server.url(), &options)
            .await
            .map_err(|e| e.to_string())?;
        let mut snapshot = seed_payloads()["readme_shape"].clone();
        snapshot["host"] = json!(host);
        let ack = client
            .emit_with_ack("agent_snapshot", &snapshot)
            .await
            .map_err(|e| e.to_string())?;
        client.close().await;
        Ok(ack)
    })
}

#[test]
fn agents_legacy_clients_api_and_admin_work_over_tls_with_a_private_ca() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::issue(dir.path(), "lab");
    let server = tls_server(&pki);
    assert!(server.url().starts_with("https://"), "{}", server.url());
    let ca = pki.ca.to_str().unwrap();

    // The real agent, verifying the server's certificate against the private CA.
    let spool = tempfile::tempdir().unwrap();
    let url = server.url();
    let token = server.tokens().agent.clone();
    let mut agent = Agent::start(
        &[
            "--server",
            &url,
            "--token",
            &token,
            "--ca-file",
            ca,
            "--interval",
            "1",
            "--host",
            "tls-pc",
        ],
        spool.path(),
    );
    let client = https(&pki.ca);
    wait_until_explained(
        "the agent's snapshot over TLS",
        Duration::from_secs(20),
        || get_json(&client, &server, "/data")["tls-pc"].is_object(),
        || agent.log(),
    );
    wait_until("acks to empty the spool", Duration::from_secs(10), || {
        agent.spooled() == 0
    });

    // python-socketio and socket.io-client, polling then upgrading to WSS, as unchanged
    // clients of the Python original do.
    for (kind, host) in [(PeerKind::Python, "tls-py"), (PeerKind::Node, "tls-node")] {
        let mut peer = Peer::start(kind);
        peer.connect_ok(
            &server,
            &Connect::polling_then_upgrade()
                .token(&server.tokens().agent)
                .ca_file(&pki.ca),
        );
        peer.wait_transport("websocket");
        let mut snapshot = seed_payloads()["later_agent_shape"].clone();
        snapshot["host"] = json!(host);
        let ack = peer.emit("agent_snapshot", &snapshot, true).expect("ack");
        assert_eq!(ack["ok"], true, "{kind:?}: {ack}");
    }
    let data = get_json(&client, &server, "/data");
    assert!(
        data["tls-py"].is_object() && data["tls-node"].is_object(),
        "{data}"
    );

    // The admin CLI over HTTPS: trusting the CA it works, without it it says what to pass.
    let admin = |extra: &[&str]| {
        Command::new(binary("idlewatch-admin"))
            .args([
                "--server",
                &url,
                "--token",
                &server.tokens().admin,
                "--format",
                "json",
            ])
            .args(extra)
            .arg("hosts")
            .env("HOME", dir.path())
            .env_remove("IDLEWATCH_CA_FILE")
            .output()
            .expect("run idlewatch-admin")
    };
    let trusted = admin(&["--ca-file", ca]);
    assert!(
        trusted.status.success(),
        "{}",
        String::from_utf8_lossy(&trusted.stderr)
    );
    assert!(String::from_utf8_lossy(&trusted.stdout).contains("tls-pc"));
    let untrusted = admin(&[]);
    assert_eq!(untrusted.status.code(), Some(1));
    let said = String::from_utf8_lossy(&untrusted.stderr);
    assert!(
        said.contains("cannot trust idlewatch-server") && said.contains("--ca-file"),
        "{said}"
    );

    // Plain HTTP to the TLS port: no answer, counted, and nobody else is disturbed.
    let before = metric(&client, &server, "idlewatch_tls_handshakes_failed_total");
    let plain = plain_http_get(server.addr);
    assert!(
        !plain.starts_with(b"HTTP/"),
        "plain HTTP must not be served on the TLS port: {}",
        String::from_utf8_lossy(&plain)
    );
    wait_until(
        "the failed handshake counted",
        Duration::from_secs(5),
        || metric(&client, &server, "idlewatch_tls_handshakes_failed_total") > before,
    );
    let ack = rust_client_sends(&server, &pki.ca, "tls-rust").expect("WSS after plain HTTP");
    assert_eq!(ack["ok"], true, "{ack}");
    agent.stop();
}

#[test]
fn an_untrusted_certificate_is_refused_and_the_agent_says_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::issue(dir.path(), "lab");
    let other = Pki::issue(dir.path(), "other");
    let server = tls_server(&pki);
    let url = server.url();
    let token = server.tokens().agent.clone();

    // No --ca-file: the system's authorities do not know the lab's CA.
    let spool = tempfile::tempdir().unwrap();
    let agent = Agent::start(
        &[
            "--server",
            &url,
            "--token",
            &token,
            "--interval",
            "1",
            "--host",
            "lost-pc",
        ],
        spool.path(),
    );
    agent.wait_for_log("TLS certificate is not trusted", Duration::from_secs(20));
    assert!(agent.log().contains("--ca-file"), "{}", agent.log());
    wait_until(
        "snapshots kept in the spool",
        Duration::from_secs(10),
        || agent.spooled() >= 2,
    );

    // A client trusting another CA is refused too; nothing from either reached the server.
    let e = rust_client_sends(&server, &other.ca, "wrong-ca").expect_err("other CA");
    assert!(e.contains("invalid peer certificate"), "{e}");
    let mut py = Peer::start(PeerKind::Python);
    let outcome = py.connect(
        &server,
        &Connect::websocket().token(&token).ca_file(&other.ca),
    );
    assert_eq!(outcome["type"], "connect_error", "{outcome}");
    let data = get_json(&https(&pki.ca), &server, "/data");
    assert_eq!(data, json!({}), "{data}");

    // A CA file that is not one stops the agent at start, naming it.
    let junk = dir.path().join("junk.pem");
    std::fs::write(&junk, "not a certificate\n").unwrap();
    let out = Command::new(binary("idlewatch-agent"))
        .args([
            "--server",
            &url,
            "--ca-file",
            junk.to_str().unwrap(),
            "--spool-dir",
        ])
        .arg(dir.path().join("spool2"))
        .output()
        .expect("run agent");
    assert_eq!(out.status.code(), Some(1));
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("junk.pem") && said.contains("no usable certificate"),
        "{said}"
    );
}

#[test]
fn sighup_swaps_the_certificate_and_keeps_open_connections() {
    let dir = tempfile::tempdir().unwrap();
    let first = Pki::issue(dir.path(), "first");
    let second = Pki::issue(dir.path(), "second");
    let live_cert = dir.path().join("cert.pem");
    let live_key = dir.path().join("key.pem");
    std::fs::copy(&first.cert, &live_cert).unwrap();
    std::fs::copy(&first.key, &live_key).unwrap();
    let server = Server::start_with(
        &[
            "--tls-cert",
            live_cert.to_str().unwrap(),
            "--tls-key",
            live_key.to_str().unwrap(),
        ],
        &[],
    );
    let mut dashboard = Peer::start(PeerKind::Node);
    dashboard.connect_ok(
        &server,
        &Connect::websocket()
            .token(&server.tokens().viewer)
            .ca_file(&first.ca),
    );

    // A renewal: new files, then SIGHUP.
    std::fs::copy(&second.cert, &live_cert).unwrap();
    std::fs::copy(&second.key, &live_key).unwrap();
    let hup = |server: &Server| {
        let sent = Command::new("kill")
            .args(["-HUP", &server.pid().to_string()])
            .status()
            .unwrap();
        assert!(sent.success());
    };
    hup(&server);
    wait_until("the reload", Duration::from_secs(10), || {
        server.log().contains("reloaded the TLS certificate")
    });
    let ack = rust_client_sends(&server, &second.ca, "renewed").expect("new certificate");
    assert_eq!(ack["ok"], true, "{ack}");
    let e = rust_client_sends(&server, &first.ca, "stale").expect_err("old CA refused");
    assert!(e.contains("invalid peer certificate"), "{e}");
    // The dashboard connected before the reload still gets live events.
    dashboard.wait_event("telemetry", |d| d["host"] == "renewed");

    // A broken renewal is refused and the current certificate stays.
    std::fs::write(&live_cert, "truncated").unwrap();
    hup(&server);
    wait_until("the refused reload", Duration::from_secs(10), || {
        server
            .log()
            .contains("still serving the previous certificate")
    });
    let ack = rust_client_sends(&server, &second.ca, "after-bad-renewal").expect("still served");
    assert_eq!(ack["ok"], true, "{ack}");
}

#[test]
fn unusable_tls_files_stop_the_server_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::issue(dir.path(), "a");
    let other = Pki::issue(dir.path(), "b");
    let fails = |args: &[&str]| {
        Server::try_start(args, &[], None)
            .err()
            .unwrap_or_else(|| panic!("server started with {args:?}"))
            .stderr
    };
    let cert = pki.cert.to_str().unwrap();
    let said = fails(&["--tls-cert", cert]);
    assert!(said.contains("--tls-key"), "{said}");
    let said = fails(&["--tls-cert", cert, "--tls-key", other.key.to_str().unwrap()]);
    assert!(said.contains("cannot be used together"), "{said}");
    let missing = dir.path().join("missing.pem");
    let said = fails(&["--tls-cert", missing.to_str().unwrap(), "--tls-key", cert]);
    assert!(
        said.contains("cannot read TLS certificate") && said.contains("missing.pem"),
        "{said}"
    );
    let said = fails(&["--tls-cert", cert, "--tls-key", cert]);
    assert!(said.contains("has no private key"), "{said}");
}

#[test]
fn a_client_stalled_in_its_handshake_holds_up_no_one() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::issue(dir.path(), "lab");
    let server = tls_server(&pki);
    let client = https(&pki.ca);
    let before = metric(&client, &server, "idlewatch_tls_handshakes_failed_total");
    // Connections that never start their handshake.
    let stalled: Vec<_> = (0..20)
        .map(|_| std::net::TcpStream::connect(server.addr).expect("connect"))
        .collect();
    let ack = rust_client_sends(&server, &pki.ca, "beside-stalled").expect("served meanwhile");
    assert_eq!(ack["ok"], true, "{ack}");
    // After the handshake timeout (10 s) they are closed and counted.
    wait_until(
        "the stalled handshakes to time out",
        Duration::from_secs(30),
        || metric(&client, &server, "idlewatch_tls_handshakes_failed_total") >= before + 20,
    );
    drop(stalled);
}
