//! The two tasks behind each connected [`Client`](super::Client): a reader that answers pings,
//! resolves acks and hands events to the user, and a writer that owns the socket's sink and
//! batches outgoing packets into one flush.
//!
//! Shutdown: the writer ends when every `Client` handle is dropped, on `close`, on a write
//! error or when the reader ends; it then sends the close frame and raises the shared `closed`
//! flag. The reader ends on the server's close, a read error, silence past the server's
//! ping deadline, or a short grace after the writer closed; it then fails every pending ack.
//!
//! The reader never waits for the user: events that find the user's buffer full are dropped
//! and counted, as a browser would never push back on the server either.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
use tokio_tungstenite::tungstenite::{Bytes, Message, Utf8Bytes};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use tracing::debug;

use super::Error;
use super::event::Event;
use crate::frame::{self, Inbound};

pub(super) type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// How long the reader keeps draining after the writer sent the close frame.
const CLOSE_GRACE: Duration = Duration::from_secs(2);
/// Most packets written before one flush.
const WRITE_BATCH: usize = 64;

/// A packet for the writer.
pub(super) enum Outgoing {
    /// One Engine.IO/Socket.IO text packet.
    Packet(String),
    /// Send DISCONNECT and the close frame, then stop.
    Close,
}

/// The ack arguments of one acknowledged event: `frame[array]` is the JSON array.
pub(super) struct AckReply {
    pub frame: Utf8Bytes,
    pub array: std::ops::Range<usize>,
}

/// Acks awaited, by id. A std mutex: nothing awaits while it is held.
#[derive(Default)]
pub(super) struct AckTable {
    pending: HashMap<u64, oneshot::Sender<AckReply>>,
    next_id: u64,
    /// Set when the reader has ended: no ack can arrive any more.
    closed: bool,
}

/// State the client handles and both tasks share.
pub(super) struct Shared {
    acks: Mutex<AckTable>,
    /// True once the writer has stopped: nothing more can be sent.
    pub closed: watch::Sender<bool>,
}

impl Shared {
    pub fn new() -> Self {
        Self {
            acks: Mutex::new(AckTable::default()),
            closed: watch::Sender::new(false),
        }
    }

    /// Reserves an ack id and the channel its reply will arrive on.
    pub fn register_ack(&self) -> Result<(u64, oneshot::Receiver<AckReply>), Error> {
        let mut table = self.acks.lock().unwrap_or_else(PoisonError::into_inner);
        if table.closed {
            return Err(Error::Closed);
        }
        let id = table.next_id;
        table.next_id += 1;
        let (tx, rx) = oneshot::channel();
        table.pending.insert(id, tx);
        Ok((id, rx))
    }

    /// Forgets an ack nobody waits for any more.
    pub fn forget_ack(&self, id: u64) {
        let mut table = self.acks.lock().unwrap_or_else(PoisonError::into_inner);
        table.pending.remove(&id);
    }

    fn resolve_ack(&self, id: u64) -> Option<oneshot::Sender<AckReply>> {
        let mut table = self.acks.lock().unwrap_or_else(PoisonError::into_inner);
        table.pending.remove(&id)
    }

    /// Fails every pending ack (their receivers see a closed channel) and refuses new ones.
    fn close_acks(&self) {
        let pending = {
            let mut table = self.acks.lock().unwrap_or_else(PoisonError::into_inner);
            table.closed = true;
            std::mem::take(&mut table.pending)
        };
        drop(pending);
    }
}

/// Writes packets from `rx` until told to stop, then closes the socket. Packets longer than
/// `fragment_bytes` (when not 0) go out as several WebSocket frames of at most that size.
pub(super) async fn write(
    mut sink: SplitSink<Socket, Message>,
    mut rx: mpsc::Receiver<Outgoing>,
    shared: Arc<Shared>,
    fragment_bytes: usize,
) {
    let end = pump(&mut sink, &mut rx, &shared, fragment_bytes).await;
    // Refuse further packets before announcing the close, so that a send after `close`
    // returned fails instead of queueing into a channel nobody reads.
    rx.close();
    if end == WriterEnd::Graceful {
        let _ = sink.close().await;
    }
    shared.closed.send_replace(true);
}

/// Why the writer stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum WriterEnd {
    /// Asked to, or every handle is gone: send the close frame.
    Graceful,
    /// The reader ended or the socket failed: nothing more can be sent.
    Broken,
}

async fn pump(
    sink: &mut SplitSink<Socket, Message>,
    rx: &mut mpsc::Receiver<Outgoing>,
    shared: &Shared,
    fragment_bytes: usize,
) -> WriterEnd {
    let mut reader_gone = shared.closed.subscribe();
    loop {
        let first = tokio::select! {
            biased;
            cmd = rx.recv() => cmd,
            _ = reader_gone.wait_for(|closed| *closed) => return WriterEnd::Broken,
        };
        let Some(first) = first else {
            return WriterEnd::Graceful;
        };
        let mut closing = false;
        let mut next = Some(first);
        let mut batch = 0;
        while let Some(cmd) = next.take() {
            match cmd {
                Outgoing::Packet(text) => {
                    if let Err(e) = feed_text(sink, text, fragment_bytes).await {
                        debug!("socket write failed: {e}");
                        return WriterEnd::Broken;
                    }
                }
                Outgoing::Close => {
                    let _ = sink.feed(Message::text(frame::DISCONNECT)).await;
                    closing = true;
                    break;
                }
            }
            batch += 1;
            if batch < WRITE_BATCH {
                next = rx.try_recv().ok();
            }
        }
        if let Err(e) = sink.flush().await {
            debug!("socket flush failed: {e}");
            return WriterEnd::Broken;
        }
        if closing {
            return WriterEnd::Graceful;
        }
    }
}

/// Queues one text message: one frame, or — longer than `fragment_bytes` (not 0) — a TEXT
/// frame and CONTINUATION frames of at most that size (RFC 6455 §5.4; every server
/// reassembles them). A WebSocket server sizes its read buffer to the largest frame it has
/// received and keeps that capacity for the connection's life: a 30 KB snapshot in one frame
/// costs it ~64 KiB per connection for good, in fragments only a message buffer it frees once
/// the message is read. The fragments of one message are queued back to back, never
/// interleaved with another message.
async fn feed_text(
    sink: &mut SplitSink<Socket, Message>,
    text: String,
    fragment_bytes: usize,
) -> Result<(), tokio_tungstenite::tungstenite::Error> {
    if fragment_bytes == 0 || text.len() <= fragment_bytes {
        return sink.feed(Message::text(text)).await;
    }
    let bytes = Bytes::from(text.into_bytes());
    let mut start = 0;
    while start < bytes.len() {
        let end = (start + fragment_bytes).min(bytes.len());
        let opcode = if start == 0 {
            Data::Text
        } else {
            Data::Continue
        };
        let frame = Frame::message(
            bytes.slice(start..end),
            OpCode::Data(opcode),
            end == bytes.len(),
        );
        sink.feed(Message::Frame(frame)).await?;
        start = end;
    }
    Ok(())
}

/// What the reader needs besides the socket.
pub(super) struct ReaderContext {
    pub shared: Arc<Shared>,
    pub events: mpsc::Sender<Event>,
    /// Events dropped because the user's buffer was full.
    pub events_dropped: Arc<AtomicU64>,
    /// For pongs; weak so that it alone does not keep the writer alive.
    pub pong: mpsc::WeakSender<Outgoing>,
    /// The server pings every `pingInterval` and gives up after `pingTimeout` more: silence for
    /// longer than both means the server is gone.
    pub liveness: Duration,
}

/// Reads packets until the connection ends.
pub(super) async fn read(mut stream: SplitStream<Socket>, cx: ReaderContext) {
    let ReaderContext {
        shared,
        events,
        events_dropped,
        pong,
        liveness,
    } = cx;
    let mut events = Some(events);
    let mut writer_gone = shared.closed.subscribe();
    let mut writer_done = false;
    let deadline = tokio::time::sleep(liveness);
    tokio::pin!(deadline);
    loop {
        let message = tokio::select! {
            message = stream.next() => message,
            () = &mut deadline => {
                debug!("no ping from the server within {liveness:?}; closing");
                break;
            }
            _ = writer_gone.wait_for(|closed| *closed), if !writer_done => {
                writer_done = true;
                deadline.as_mut().reset(Instant::now() + CLOSE_GRACE);
                continue;
            }
        };
        let text = match message {
            Some(Ok(Message::Text(text))) => text,
            Some(Ok(Message::Close(_))) | None => break,
            Some(Ok(_)) => continue,
            Some(Err(e)) => {
                debug!("socket read failed: {e}");
                break;
            }
        };
        match frame::decode(&text) {
            Ok(Inbound::Ping) => {
                if !writer_done {
                    deadline.as_mut().reset(Instant::now() + liveness);
                }
                if let Some(tx) = pong.upgrade() {
                    let _ = tx.send(Outgoing::Packet(frame::PONG.to_owned())).await;
                }
            }
            Ok(Inbound::Event { array, .. }) => {
                // Acks the server asks for are not sent: no Idlewatch event needs one.
                let Some(tx) = &events else { continue };
                let range = offset_in(&text, array);
                match Event::new(text, range) {
                    // Never wait for the user here: a user awaiting an ack while not reading
                    // events would deadlock, and pings would go unanswered.
                    Ok(event) => match tx.try_send(event) {
                        Ok(()) => {}
                        Err(TrySendError::Full(_)) => {
                            events_dropped.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(TrySendError::Closed(_)) => events = None,
                    },
                    Err(e) => debug!("dropping event: {e}"),
                }
            }
            Ok(Inbound::Ack { id, array }) => {
                let array = offset_in(&text, array);
                if let Some(tx) = shared.resolve_ack(id) {
                    let _ = tx.send(AckReply { frame: text, array });
                }
            }
            Ok(Inbound::Close | Inbound::Disconnect) => break,
            Ok(Inbound::Ignored) => {}
            Ok(other) => debug!("ignoring packet {other:?}"),
            Err(e) => debug!("ignoring frame: {e}"),
        }
    }
    shared.close_acks();
    shared.closed.send_replace(true);
}

/// The byte range of `tail` within `whole`, of which the decoder always returns a suffix (the
/// payload of a packet runs to the end of its frame).
fn offset_in(whole: &str, tail: &str) -> std::ops::Range<usize> {
    debug_assert!(whole.ends_with(tail));
    whole.len() - tail.len()..whole.len()
}
