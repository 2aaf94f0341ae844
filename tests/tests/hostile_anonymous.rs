//! Anyone on the network, without a token, against the real server binary: slow or silent
//! connections are closed after the header timeout and capped per address, so `/healthz` keeps
//! answering; Engine.IO sessions opened without ever authenticating are capped; `/` shows no
//! host activity.

use std::time::{Duration, Instant};

use idlewatch_client::Client;
use idlewatch_tests::{Server, get, wait_until};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn server_with(config: &str, env: &[(&str, &str)]) -> (Server, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("server.toml");
    std::fs::write(&path, config).unwrap();
    let server = Server::try_start(
        &["--config", path.to_str().unwrap()],
        env,
        Some(&dir.path().join("data")),
    )
    .unwrap_or_else(|f| panic!("{}", f.stderr));
    (server, dir)
}

/// Waits until the server closes `stream` (end of file or reset), at most `limit`.
async fn closed_within(stream: &mut TcpStream, limit: Duration) -> bool {
    let mut buf = [0u8; 256];
    let deadline = Instant::now() + limit;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Ok(Ok(0) | Err(_)) => return true,
            Ok(Ok(_)) => {}
            Err(_) => return false,
        }
    }
}

#[test]
fn slow_and_silent_connections_are_closed_and_capped_per_address() {
    let (server, _dir) = server_with(
        "[limits]\nhandshake_timeout = \"2s\"\nidle_connections_per_ip = 50\n",
        &[("IDLEWATCH_IDLE_CONNECTIONS_PER_IP", "50")],
    );
    let addr = server.addr;
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        // 40 clients sending one header byte every 300 ms (slowloris).
        let started = Instant::now();
        let mut slow = Vec::new();
        for _ in 0..40 {
            slow.push(tokio::spawn(async move {
                let mut stream = TcpStream::connect(addr).await.unwrap();
                let request = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ";
                for byte in request.iter().chain(std::iter::repeat(&b'a')) {
                    if stream.write_all(&[*byte]).await.is_err() {
                        break;
                    }
                    let mut probe = [0u8; 64];
                    let read =
                        tokio::time::timeout(Duration::from_millis(300), stream.read(&mut probe));
                    if let Ok(Ok(0) | Err(_)) = read.await {
                        break;
                    }
                    assert!(started.elapsed() < Duration::from_secs(20), "never closed");
                }
                started.elapsed()
            }));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        // Others are still served meanwhile.
        let health = tokio::task::spawn_blocking(move || get(addr, "/healthz", &[]))
            .await
            .unwrap();
        assert_eq!(health.status, 200);
        for task in slow {
            let closed_after = task.await.unwrap();
            assert!(
                closed_after >= Duration::from_millis(1500)
                    && closed_after < Duration::from_secs(8),
                "a slow client closed after {closed_after:?} (header timeout 2 s)"
            );
        }
        // Silent clients: 50 wait for the timeout, the rest of the address's are closed at once.
        let mut silent = Vec::new();
        for _ in 0..60 {
            silent.push(TcpStream::connect(addr).await.unwrap());
        }
        let quick = futures_util::future::join_all(
            silent
                .iter_mut()
                .map(|stream| closed_within(stream, Duration::from_millis(500))),
        )
        .await;
        let shed = quick.iter().filter(|closed| **closed).count();
        assert_eq!(shed, 10, "past 50 waiting, connections are closed at once");
        for stream in &mut silent {
            assert!(closed_within(stream, Duration::from_secs(5)).await);
        }
    });
    assert_eq!(server.metric("idlewatch_connections_shed_total"), 10);
    assert_eq!(get(addr, "/healthz", &[]).status, 200);
}

#[test]
fn engine_io_sessions_that_never_authenticate_are_capped() {
    let (server, _dir) = server_with(
        "[limits]\nhandshake_timeout = \"2s\"\npending_handshakes = 100\n",
        &[("IDLEWATCH_PENDING_HANDSHAKES", "100")],
    );
    let addr = server.addr;
    let mut statuses = Vec::new();
    for _ in 0..200 {
        let answer = get(addr, "/socket.io/?EIO=4&transport=polling", &[]);
        if answer.status == 503 {
            assert_eq!(answer.json()["error"]["code"], "busy", "{}", answer.body);
        }
        statuses.push(answer.status);
    }
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 100);
    assert_eq!(statuses.iter().filter(|s| **s == 503).count(), 100);
    assert_eq!(server.metric("idlewatch_handshakes_refused_total"), 100);
    // Once they time out, an agent with a token connects as usual.
    let token = server.tokens().agent.clone();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let url = server.url();
    let connected = runtime.block_on(async {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok((client, _e)) = Client::connect(&url, Some(&token)).await {
                client.close().await;
                return true;
            }
            if Instant::now() > deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    });
    assert!(connected);
    wait_until("pending sessions expire", Duration::from_secs(10), || {
        get(addr, "/socket.io/?EIO=4&transport=polling", &[]).status == 200
    });
}
