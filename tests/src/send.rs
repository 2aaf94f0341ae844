//! Sending snapshots the way an agent does, with the Rust Socket.IO client, waiting for each
//! ack so that every snapshot is stored before the test goes on.

use idlewatch_client::Client;
use serde_json::{Value, json};

use crate::Server;

/// Sends `snapshot` as `agent_snapshot` with an ack and returns the ack.
///
/// # Panics
/// When sending fails or no ack comes.
pub async fn acked(client: &Client, snapshot: &Value) -> Value {
    client
        .send_with_ack("agent_snapshot", &snapshot.to_string())
        .await
        .expect("send")
        .wait()
        .await
        .expect("ack")
}

/// Open agent connections (closed before their runtime stops).
pub struct Connected {
    _clients: Vec<Client>,
    _runtime: tokio::runtime::Runtime,
}

/// Registers one connection per host of `register` (they stay connected while the returned
/// value lives, so those hosts are online) and sends every snapshot with an ack over the
/// first connection, with the agent token (none in open mode).
///
/// # Panics
/// When a connection fails or an ack is not ok.
#[must_use]
pub fn send_all(server: &Server, snapshots: &[Value], register: &[&str]) -> Connected {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let token = server.tokens.as_ref().map(|t| t.agent.clone());
    let clients = runtime.block_on(async {
        let mut clients = Vec::new();
        for host in register {
            let (client, _events) = Client::connect(&server.url(), token.as_deref())
                .await
                .expect("connect");
            client
                .emit("agent_register", &json!({"host": host}))
                .await
                .expect("register");
            clients.push(client);
        }
        if clients.is_empty() {
            let (client, _events) = Client::connect(&server.url(), token.as_deref())
                .await
                .expect("connect");
            clients.push(client);
        }
        for s in snapshots {
            let ack = acked(&clients[0], s).await;
            assert_eq!(ack["ok"], true, "{ack}");
        }
        clients
    });
    Connected {
        _clients: clients,
        _runtime: runtime,
    }
}
