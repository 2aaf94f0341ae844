//! Bytes written to one connection: what a client has actually taken from the server. The
//! dashboard flow control (the socket module) compares it with the bytes relayed to a
//! dashboard to know how far behind that dashboard is, since the Socket.IO library does not
//! say how much it has queued.

use std::io::IoSlice;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// The count of one connection, shared with every request made on it (a request extension).
#[derive(Debug, Default)]
pub struct ConnMeter {
    written: AtomicU64,
}

impl ConnMeter {
    /// Bytes written to the connection so far.
    #[must_use]
    pub fn written(&self) -> u64 {
        self.written.load(Relaxed)
    }
}

/// A connection whose writes are counted in a [`ConnMeter`].
#[derive(Debug)]
pub struct Metered<T> {
    inner: T,
    meter: Arc<ConnMeter>,
}

impl<T> Metered<T> {
    /// Counts the writes to `inner` in `meter`.
    pub fn new(inner: T, meter: Arc<ConnMeter>) -> Self {
        Self { inner, meter }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Metered<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Metered<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let written = Pin::new(&mut self.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = &written {
            self.meter.written.fetch_add(*n as u64, Relaxed);
        }
        written
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let written = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if let Poll::Ready(Ok(n)) = &written {
            self.meter.written.fetch_add(*n as u64, Relaxed);
        }
        written
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    #[tokio::test]
    async fn writes_are_counted_as_they_complete() {
        let (a, _b) = tokio::io::duplex(1 << 16);
        let meter = Arc::new(ConnMeter::default());
        let mut io = Metered::new(a, meter.clone());
        io.write_all(b"hello").await.unwrap();
        io.write_all(&[0u8; 1000]).await.unwrap();
        assert_eq!(meter.written(), 1005);
    }
}
