//! The Socket.IO client against a scripted server speaking raw Engine.IO/Socket.IO frames, so
//! each test pins one part of the protocol: the auth object, acks, refusals, pings, timeouts,
//! and both ways of closing.

use std::future::Future;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use idlewatch_client::{Client, ClientOptions, Error};
use serde_json::json;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;

type Ws = WebSocketStream<TcpStream>;

const OPEN: &str = r#"0{"sid":"eio1","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}"#;

/// Serves one WebSocket connection with `script`; returns the server URL and the script's task.
async fn serve<F, Fut>(script: F) -> (String, JoinHandle<Ws>)
where
    F: FnOnce(Ws) -> Fut + Send + 'static,
    Fut: Future<Output = Ws> + Send,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    let task = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.expect("accept");
        let ws = tokio_tungstenite::accept_async(tcp).await.expect("upgrade");
        script(ws).await
    });
    (url, task)
}

async fn send(ws: &mut Ws, text: &str) {
    ws.send(Message::text(text)).await.expect("server send");
}

async fn recv(ws: &mut Ws) -> String {
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(text))) => return text.as_str().to_owned(),
            Some(Ok(_)) => {}
            other => panic!("expected a text frame, got {other:?}"),
        }
    }
}

/// OPEN, then expects `connect` from the client and accepts it.
async fn accept(ws: &mut Ws, connect: &str) {
    send(ws, OPEN).await;
    assert_eq!(recv(ws).await, connect);
    send(ws, r#"40{"sid":"s1"}"#).await;
}

#[tokio::test]
async fn the_token_goes_in_the_auth_object_and_acks_resolve() -> Result<(), Error> {
    let (url, server) = serve(|mut ws| async move {
        accept(&mut ws, r#"40{"token":"secret"}"#).await;
        send(&mut ws, r#"42["hello",{"msg":"connected"}]"#).await;
        assert_eq!(
            recv(&mut ws).await,
            r#"420["agent_snapshot",{"host":"pc-1"}]"#
        );
        send(&mut ws, r#"430[{"ok":true,"seq":7}]"#).await;
        ws
    })
    .await;
    let (client, mut events) = Client::connect(&url, Some("secret")).await?;
    assert_eq!(client.sid(), "s1");
    let ack = client
        .emit_with_ack("agent_snapshot", &json!({"host": "pc-1"}))
        .await?;
    assert_eq!(ack, json!({"ok": true, "seq": 7}));
    let hello = events.recv().await.expect("hello event");
    assert_eq!(hello.name(), "hello");
    assert_eq!(hello.data()?, r#"{"msg":"connected"}"#);
    server.await.expect("server script");
    Ok(())
}

#[tokio::test]
async fn a_refusal_carries_the_servers_message() {
    let (url, _server) = serve(|mut ws| async move {
        send(&mut ws, OPEN).await;
        assert_eq!(recv(&mut ws).await, "40");
        send(&mut ws, r#"44{"message":"invalid token"}"#).await;
        ws
    })
    .await;
    match Client::connect(&url, None).await {
        Err(Error::Refused { message }) => assert_eq!(message, "invalid token"),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn pings_are_answered_with_pongs() -> Result<(), Error> {
    let (url, server) = serve(|mut ws| async move {
        accept(&mut ws, "40").await;
        send(&mut ws, "2").await;
        assert_eq!(recv(&mut ws).await, "3");
        ws
    })
    .await;
    let (_client, _events) = Client::connect(&url, None).await?;
    tokio::time::timeout(Duration::from_secs(5), server)
        .await
        .expect("pong within 5 s")
        .expect("server script");
    Ok(())
}

#[tokio::test]
async fn an_unanswered_ack_times_out() -> Result<(), Error> {
    let (url, _server) = serve(|mut ws| async move {
        accept(&mut ws, "40").await;
        let _ = recv(&mut ws).await;
        // Keep the connection open without answering.
        tokio::time::sleep(Duration::from_secs(5)).await;
        ws
    })
    .await;
    let options = ClientOptions {
        ack_timeout: Duration::from_millis(100),
        ..ClientOptions::default()
    };
    let (client, _events) = Client::connect_with(&url, &options).await?;
    match client.emit_with_ack("agent_snapshot", &json!({})).await {
        Err(Error::Timeout { what: "ack", .. }) => Ok(()),
        other => panic!("expected an ack timeout, got {other:?}"),
    }
}

#[tokio::test]
async fn a_server_disconnect_ends_events_and_fails_pending_acks() -> Result<(), Error> {
    let (url, _server) = serve(|mut ws| async move {
        accept(&mut ws, "40").await;
        let _ = recv(&mut ws).await;
        send(&mut ws, "41").await;
        let _ = ws.close(None).await;
        ws
    })
    .await;
    let (client, mut events) = Client::connect(&url, None).await?;
    let pending = client.send_with_ack("agent_snapshot", "{}").await?;
    assert!(matches!(pending.wait().await, Err(Error::Closed)));
    assert!(events.recv().await.is_none());
    Ok(())
}

#[tokio::test]
async fn close_sends_disconnect_then_the_close_frame() -> Result<(), Error> {
    let (url, server) = serve(|mut ws| async move {
        accept(&mut ws, "40").await;
        assert_eq!(recv(&mut ws).await, r#"42["bye",1]"#);
        assert_eq!(recv(&mut ws).await, "41");
        assert!(matches!(ws.next().await, Some(Ok(Message::Close(_)))));
        ws
    })
    .await;
    let (client, _events) = Client::connect(&url, None).await?;
    client.emit_raw("bye", "1").await?;
    client.close().await;
    assert!(client.is_closed());
    assert!(matches!(
        client.emit_raw("late", "1").await,
        Err(Error::Closed)
    ));
    server.await.expect("server script");
    Ok(())
}

#[tokio::test]
async fn events_the_user_does_not_read_are_dropped_not_waited_for() -> Result<(), Error> {
    let (url, _server) = serve(|mut ws| async move {
        accept(&mut ws, "40").await;
        for i in 0..10 {
            send(&mut ws, &format!(r#"42["tick",{i}]"#)).await;
        }
        assert_eq!(recv(&mut ws).await, r#"420["agent_snapshot",{}]"#);
        send(&mut ws, r#"430[{"ok":true}]"#).await;
        ws
    })
    .await;
    let options = ClientOptions {
        event_buffer: 2,
        ..ClientOptions::default()
    };
    let (client, mut events) = Client::connect_with(&url, &options).await?;
    // The ack still arrives although the events before it overflow the buffer.
    let ack = client.emit_with_ack("agent_snapshot", &json!({})).await?;
    assert_eq!(ack["ok"], true);
    assert_eq!(events.dropped(), 8);
    assert_eq!(
        events
            .recv()
            .await
            .map(|e| e.data().map(str::to_owned))
            .transpose()?,
        Some("0".into())
    );
    Ok(())
}
