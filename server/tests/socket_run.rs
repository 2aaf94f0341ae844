//! In-process: `run()` on port 0 with a real Socket.IO client, and its graceful shutdown.

use std::time::Duration;

use idlewatch_client::Client;
use idlewatch_server::auth::Auth;
use idlewatch_server::config::Config;
use idlewatch_server::state::AppState;
use idlewatch_server::{App, run};
use idlewatch_store::{OpenOptions, Store};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_serves_socketio_and_stops_when_told() {
    let dir = tempfile::tempdir().unwrap();
    let (store, writer, _) = Store::open(dir.path(), &OpenOptions::default()).unwrap();
    let state = AppState::new(Config::default(), Auth::Open, store.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(run(listener, None, App::new(state.clone()), async {
        let _ = stop_rx.await;
    }));

    let (dashboard, mut events) = Client::connect(&url, None).await.unwrap();
    let (agent, _agent_events) = Client::connect(&url, None).await.unwrap();
    agent
        .emit("agent_register", &json!({"host": "inproc"}))
        .await
        .unwrap();
    let ack = agent
        .emit_with_ack(
            "agent_snapshot",
            &json!({"host": "inproc", "idle_seconds": 2}),
        )
        .await
        .unwrap();
    assert_eq!(ack["ok"], true, "{ack}");
    let telemetry = tokio::time::timeout(Duration::from_secs(5), async {
        while let Some(event) = events.recv().await {
            if event.name() == "telemetry" {
                return event.data().unwrap().to_owned();
            }
        }
        panic!("events ended");
    })
    .await
    .unwrap();
    assert_eq!(telemetry, r#"{"host":"inproc","idle_seconds":2}"#);

    stop_tx.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(15), server)
        .await
        .expect("run() returns after shutdown")
        .unwrap()
        .unwrap();
    drop((dashboard, agent));
    writer.stop();
    // Stopping the writer closed the file cleanly: the handle still around is refused, and
    // the acked snapshot is there when the file is opened again.
    assert!(store.snapshot_count().is_err());
    drop(store);
    let (reopened, _writer, _) = Store::open(dir.path(), &OpenOptions::default()).unwrap();
    assert_eq!(
        reopened.snapshot_count().unwrap(),
        1,
        "the acked snapshot is on disk"
    );
}
