//! Long messages leave the client as WebSocket fragments no larger than
//! `ClientOptions::fragment_bytes`, and arrive whole: checked against a WebSocket server that
//! refuses any frame over 4 KiB, which a message sent in one frame cannot pass.

use std::net::SocketAddr;

use futures_util::{SinkExt, StreamExt};
use idlewatch_client::{Client, ClientOptions};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

const SERVER_MAX_FRAME: usize = 4096;

/// A one-connection Engine.IO/Socket.IO server: handshake, then the first event's text.
async fn serve_once() -> (SocketAddr, JoinHandle<Result<String, String>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.map_err(|e| e.to_string())?;
        let config = WebSocketConfig::default()
            .max_frame_size(Some(SERVER_MAX_FRAME))
            .max_message_size(Some(1 << 20));
        let mut ws = tokio_tungstenite::accept_async_with_config(tcp, Some(config))
            .await
            .map_err(|e| e.to_string())?;
        let open = r#"0{"sid":"e","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}"#;
        ws.send(Message::text(open))
            .await
            .map_err(|e| e.to_string())?;
        loop {
            let message = ws
                .next()
                .await
                .ok_or("closed")?
                .map_err(|e| e.to_string())?;
            let Message::Text(text) = message else {
                continue;
            };
            if text.starts_with("40") {
                ws.send(Message::text(r#"40{"sid":"s"}"#))
                    .await
                    .map_err(|e| e.to_string())?;
            } else if text.starts_with("42") {
                return Ok(text.to_string());
            }
        }
    });
    (addr, task)
}

/// A 40 KB payload with multi-byte characters, so that fragment boundaries fall inside them.
fn big_payload() -> serde_json::Value {
    // Names of varying length with 2- and 3-byte characters: the cuts fall inside some.
    let names: Vec<String> = (0..2_000).map(|i| format!("processo-ção-€{i}")).collect();
    serde_json::json!({ "host": "pc-ü", "processes": names })
}

async fn send_big(fragment_bytes: usize) -> Result<String, String> {
    let (addr, server) = serve_once().await;
    let options = ClientOptions {
        fragment_bytes,
        ..ClientOptions::default()
    };
    let (client, _events) = Client::connect_with(&format!("http://{addr}"), &options)
        .await
        .map_err(|e| e.to_string())?;
    client
        .emit("agent_snapshot", &big_payload())
        .await
        .map_err(|e| e.to_string())?;
    let received = server.await.map_err(|e| e.to_string())?;
    client.close().await;
    received
}

#[tokio::test]
async fn long_messages_go_out_in_fragments_and_arrive_whole() {
    let expected = format!(
        r#"42["agent_snapshot",{}]"#,
        serde_json::to_string(&big_payload()).unwrap()
    );
    assert!(expected.len() > 10 * SERVER_MAX_FRAME);
    let fragment = idlewatch_client::DEFAULT_FRAGMENT_BYTES;
    assert!(
        (fragment..expected.len())
            .step_by(fragment)
            .any(|cut| !expected.is_char_boundary(cut)),
        "some fragment boundary must fall inside a multi-byte character"
    );
    let received = send_big(idlewatch_client::DEFAULT_FRAGMENT_BYTES)
        .await
        .expect("fragmented message accepted");
    assert_eq!(received, expected);
}

#[tokio::test]
async fn without_fragments_the_same_message_is_one_frame_too_large() {
    let refused = send_big(0).await.expect_err("one 40 KB frame");
    assert!(
        refused.contains(&format!("> {SERVER_MAX_FRAME}")),
        "refused for its frame size: {refused}"
    );
}
