//! Authentication: generated tokens, refused Socket.IO connections with a clear
//! `connect_error`, 401/403 on HTTP, and roles.

use idlewatch_tests::{Connect, Peer, PeerKind, Server, get};
use serde_json::json;

#[test]
fn tokens_are_generated_into_a_private_file_on_first_start() {
    let server = Server::start();
    let path = server.data_dir().join("tokens.toml");
    let tokens = server.tokens();
    assert_ne!(tokens.agent, tokens.viewer);
    assert_ne!(tokens.viewer, tokens.admin);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    let log = server.log();
    assert!(log.contains("tokens.toml"), "{log}");
    assert!(!log.contains(&tokens.admin), "a token was logged");
}

#[test]
fn socket_without_token_is_refused_with_a_clear_message() {
    let server = Server::start();
    for kind in [PeerKind::Python, PeerKind::Node] {
        let mut peer = Peer::start(kind);
        let outcome = peer.connect(&server, &Connect::websocket());
        assert_eq!(outcome["type"], "connect_error", "{kind:?}: {outcome}");
        let message = outcome["message"].as_str().unwrap();
        assert!(
            message.contains("authentication required"),
            "{kind:?}: {message}"
        );
    }
}

#[test]
fn socket_with_a_wrong_token_is_refused() {
    let server = Server::start();
    for how in [Connect::polling_then_upgrade(), Connect::websocket()] {
        let mut peer = Peer::start(PeerKind::Node);
        let outcome = peer.connect(&server, &how.token("not-a-real-token"));
        assert_eq!(outcome["type"], "connect_error", "{outcome}");
        assert!(
            outcome["message"]
                .as_str()
                .unwrap()
                .contains("invalid token"),
            "{outcome}"
        );
    }
    assert!(server.log().contains("refused"), "refusals are logged");
}

#[test]
fn token_in_the_query_string_is_accepted() {
    let server = Server::start();
    let mut peer = Peer::start(PeerKind::Python);
    let mut how = Connect::websocket();
    how.query = Some(json!({ "token": server.tokens().viewer }));
    peer.connect_ok(&server, &how);
}

#[test]
fn a_viewer_token_cannot_send_snapshots_or_register() {
    let server = Server::start();
    let mut peer = Peer::start(PeerKind::Python);
    peer.connect_ok(
        &server,
        &Connect::websocket().token(&server.tokens().viewer),
    );
    let ack = peer
        .emit("agent_snapshot", &json!({"host": "sneaky"}), true)
        .unwrap();
    assert_eq!(ack["error"]["code"], "forbidden", "{ack}");
    let ack = peer
        .emit("agent_register", &json!({"host": "sneaky"}), true)
        .unwrap();
    assert_eq!(ack["error"]["code"], "forbidden", "{ack}");
    assert_eq!(
        server.get("/data", Some(&server.tokens().viewer)).json(),
        json!({})
    );
}

#[test]
fn an_agent_token_socket_gets_no_dashboard_traffic() {
    let server = Server::start();
    let mut lurker = Peer::start(PeerKind::Node);
    lurker.connect_ok(&server, &Connect::websocket().token(&server.tokens().agent));
    let mut agent = Peer::start(PeerKind::Python);
    agent.connect_ok(
        &server,
        &Connect::websocket()
            .token(&server.tokens().agent)
            .register("pc"),
    );
    agent.emit("agent_snapshot", &json!({"host": "pc"}), true);
    lurker.settle(std::time::Duration::from_millis(300));
    assert!(lurker.events("telemetry").is_empty());
    assert!(lurker.events("agent_list").is_empty());
    assert_eq!(lurker.events("hello").len(), 1);
}

#[test]
fn http_routes_answer_401_without_and_403_with_an_insufficient_token() {
    let server = Server::start();
    let tokens = server.tokens().clone();
    for path in ["/data", "/api/v1/hosts", "/metrics"] {
        let none = server.get(path, None);
        assert_eq!(none.status, 401, "{path}");
        assert_eq!(none.json()["error"]["code"], "unauthorized", "{path}");
        assert!(none.header("www-authenticate").is_some(), "{path}");
        assert_eq!(
            server.get(path, Some("wrong-token-123456")).status,
            401,
            "{path}"
        );
        let agent = server.get(path, Some(&tokens.agent));
        assert_eq!(agent.status, 403, "{path}");
        assert_eq!(agent.json()["error"]["code"], "forbidden", "{path}");
        assert_eq!(server.get(path, Some(&tokens.viewer)).status, 200, "{path}");
        assert_eq!(server.get(path, Some(&tokens.admin)).status, 200, "{path}");
    }
    let via_query = get(server.addr, &format!("/data?token={}", tokens.viewer), &[]);
    assert_eq!(via_query.status, 200);
    for open in ["/", "/healthz", "/dashboard"] {
        assert_eq!(server.get(open, None).status, 200, "{open}");
    }
}

#[test]
fn open_mode_warns_and_needs_no_token() {
    let server = Server::start_open();
    assert!(
        server.log().contains("no authentication"),
        "{}",
        server.log()
    );
    assert_eq!(server.get("/data", None).status, 200);
    assert!(!server.data_dir().join("tokens.toml").exists());
}

#[test]
fn tokens_from_the_environment_replace_generated_ones() {
    let server = Server::start_with(
        &[],
        &[
            ("IDLEWATCH_AGENT_TOKEN", "agent-token-from-env-0001"),
            ("IDLEWATCH_VIEWER_TOKEN", "viewer-token-from-env-001"),
            ("IDLEWATCH_ADMIN_TOKEN", "admin-token-from-env-0001"),
        ],
    );
    assert!(!server.data_dir().join("tokens.toml").exists());
    assert_eq!(
        server
            .get("/data", Some("viewer-token-from-env-001"))
            .status,
        200
    );
    let mut agent = Peer::start(PeerKind::Python);
    agent.connect_ok(
        &server,
        &Connect::websocket().token("agent-token-from-env-0001"),
    );
}

#[test]
fn tokens_never_appear_in_the_log_even_at_debug_level_for_the_server() {
    let server = Server::start_with(
        &[],
        &[(
            "IDLEWATCH_LOG",
            "debug,socketioxide=warn,engineioxide=warn,hyper=warn",
        )],
    );
    let tokens = server.tokens().clone();
    let wrong = "wrong-token-0123456789-abcdef";
    // HTTP: header and query, right and wrong.
    for token in [
        &tokens.viewer,
        &tokens.admin,
        &tokens.agent,
        &wrong.to_owned(),
    ] {
        let _ = server.get("/data", Some(token));
        let _ = get(server.addr, &format!("/api/v1/hosts?token={token}"), &[]);
    }
    // A per-host token issued and used, then revoked.
    let issued = idlewatch_tests::request(
        server.addr,
        "POST",
        "/api/v1/tokens",
        &[("Authorization", &format!("Bearer {}", tokens.admin))],
        Some(r#"{"host": "pc-log"}"#),
    )
    .json();
    let host_token = issued["token"].as_str().unwrap().to_owned();
    // Socket.IO: right and wrong tokens, in the auth object.
    for token in [
        &tokens.agent,
        &host_token,
        &wrong.to_owned(),
        &tokens.viewer,
    ] {
        let mut peer = Peer::start(PeerKind::Python);
        let answer = peer.connect(&server, &Connect::websocket().token(token));
        if answer["type"] == "connected" {
            peer.emit(
                "agent_snapshot",
                &json!({"host": "pc-log", "idle_seconds": 1}),
                true,
            );
            peer.disconnect();
        }
    }
    let _ = idlewatch_tests::request(
        server.addr,
        "DELETE",
        &format!("/api/v1/tokens/{}", issued["id"]),
        &[("Authorization", &format!("Bearer {}", tokens.admin))],
        None,
    );
    std::thread::sleep(std::time::Duration::from_millis(300));
    let log = server.log();
    assert!(
        log.contains("token issued") && log.contains("DEBUG"),
        "{log}"
    );
    for (name, token) in [
        ("viewer", tokens.viewer.as_str()),
        ("admin", tokens.admin.as_str()),
        ("agent", tokens.agent.as_str()),
        ("per-host", host_token.as_str()),
        ("wrong", wrong),
    ] {
        assert!(
            !log.contains(token),
            "the {name} token is in the log:\n{log}"
        );
    }
}
