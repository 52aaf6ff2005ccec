//! `UnixListener` and `UnixStream` (Unix domain stream sockets), and the owned
//! halves of a `UnixStream` (tokio's `net::unix::{OwnedReadHalf, OwnedWriteHalf}`).

use std::fmt;
use std::io::{self, Read, Write};
use std::net::Shutdown;
use std::os::unix::net::SocketAddr;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use futures_core::Stream;
use futures_io::{AsyncRead, AsyncWrite};
use mio::Interest;

use crate::io::{Direction, PollEvented};

pub use super::unix_datagram::UnixDatagram;

/// A Unix domain socket listening for connections.
pub struct UnixListener {
    io: PollEvented<mio::net::UnixListener>,
}

impl UnixListener {
    /// Binds to `path` and listens. Fails with `AddrInUse` if the path exists.
    pub fn bind<P: AsRef<Path>>(path: P) -> io::Result<UnixListener> {
        let path = path.as_ref();
        let l = mio::net::UnixListener::bind(path)
            .map_err(|e| super::addr::context(e, format_args!("bind {}", path.display())))?;
        Ok(UnixListener {
            io: PollEvented::new(l, Interest::READABLE)?,
        })
    }

    /// Wraps a std listener (set to non-blocking here) on the current runtime.
    pub fn from_std(listener: std::os::unix::net::UnixListener) -> io::Result<UnixListener> {
        listener.set_nonblocking(true)?;
        Ok(UnixListener {
            io: PollEvented::new(
                mio::net::UnixListener::from_std(listener),
                Interest::READABLE,
            )?,
        })
    }

    /// Deregisters the listener and returns it as a std listener, still non-blocking.
    pub fn into_std(self) -> io::Result<std::os::unix::net::UnixListener> {
        Ok(self.io.into_inner().into())
    }

    /// Waits for a connection.
    pub async fn accept(&self) -> io::Result<(UnixStream, SocketAddr)> {
        std::future::poll_fn(|cx| self.poll_accept(cx)).await
    }

    /// Polls for a connection.
    pub fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(UnixStream, SocketAddr)>> {
        let (s, addr) = match self.io.poll_io(cx, Direction::Read, |l| l.accept()) {
            Poll::Ready(r) => r?,
            Poll::Pending => {
                gorun_coop::set_wait_reason(gorun_coop::WaitReason::IoAccept);
                return Poll::Pending;
            }
        };
        Poll::Ready(UnixStream::new(s).map(|s| (s, addr)))
    }

    /// The connections, as a [`Stream`] that never ends.
    pub fn incoming(&self) -> UnixIncoming<'_> {
        UnixIncoming { listener: self }
    }

    /// The address this listener is bound to.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get().local_addr()
    }
}

impl fmt::Debug for UnixListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.io.fmt(f)
    }
}

/// The stream of connections of a [`UnixListener`].
#[derive(Debug)]
#[must_use = "streams do nothing unless polled"]
pub struct UnixIncoming<'a> {
    listener: &'a UnixListener,
}

impl Stream for UnixIncoming<'_> {
    type Item = io::Result<UnixStream>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let r = ready!(self.listener.poll_accept(cx));
        Poll::Ready(Some(r.map(|(s, _)| s)))
    }
}

/// A connected Unix domain stream socket: [`AsyncRead`] + [`AsyncWrite`].
pub struct UnixStream {
    pub(super) io: PollEvented<mio::net::UnixStream>,
}

impl UnixStream {
    /// Connects to the socket at `path`.
    pub async fn connect<P: AsRef<Path>>(path: P) -> io::Result<UnixStream> {
        let path = path.as_ref();
        let named = |e| super::addr::context(e, format_args!("connect {}", path.display()));
        let s = UnixStream::new(mio::net::UnixStream::connect(path).map_err(named)?)?;
        let reg = s.io.registration();
        std::future::poll_fn(|cx| reg.poll_ready(cx, Direction::Write)).await?;
        if let Some(e) = s.io.get().take_error()? {
            return Err(named(e));
        }
        Ok(s)
    }

    /// A connected pair of sockets.
    pub fn pair() -> io::Result<(UnixStream, UnixStream)> {
        let (a, b) = mio::net::UnixStream::pair()?;
        Ok((UnixStream::new(a)?, UnixStream::new(b)?))
    }

    fn new(s: mio::net::UnixStream) -> io::Result<UnixStream> {
        Ok(UnixStream {
            io: PollEvented::new(s, Interest::READABLE | Interest::WRITABLE)?,
        })
    }

    /// The local address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get().local_addr()
    }

    /// The peer's address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.get().peer_addr()
    }

    /// Shuts down the read side, the write side (the peer reads EOF), or both, at
    /// once: std's `shutdown(how)`. Named apart from it so that tokio's spelling,
    /// `stream.shutdown().await`, resolves to `gorun::io::AsyncWriteExt::shutdown`
    /// (an inherent method would win over the trait's).
    pub fn shutdown_std(&self, how: Shutdown) -> io::Result<()> {
        self.io.get().shutdown(how)
    }

    /// Wraps a connected std stream (set to non-blocking here) on the current runtime.
    pub fn from_std(stream: std::os::unix::net::UnixStream) -> io::Result<UnixStream> {
        stream.set_nonblocking(true)?;
        UnixStream::new(mio::net::UnixStream::from_std(stream))
    }

    /// Deregisters the stream and returns it as a std stream, still non-blocking.
    pub fn into_std(self) -> io::Result<std::os::unix::net::UnixStream> {
        Ok(self.io.into_inner().into())
    }

    /// Splits into owned halves that can move to different tasks. Dropping the
    /// write half shuts the write side down.
    pub fn into_split(self) -> (OwnedReadHalf, OwnedWriteHalf) {
        let s = Arc::new(self);
        (
            OwnedReadHalf { inner: s.clone() },
            OwnedWriteHalf {
                inner: s,
                shutdown_on_drop: true,
            },
        )
    }

    fn poll_read_priv(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        let len = buf.len();
        self.io
            .poll_stream_io(cx, Direction::Read, len, |mut s| s.read(&mut *buf))
    }

    fn poll_write_priv(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.io
            .poll_stream_io(cx, Direction::Write, buf.len(), |mut s| s.write(buf))
    }

    fn shutdown_write(&self) -> io::Result<()> {
        match self.io.get().shutdown(Shutdown::Write) {
            Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(()),
            r => r,
        }
    }
}

impl fmt::Debug for UnixStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.io.fmt(f)
    }
}

impl AsyncRead for UnixStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_read_priv(cx, buf)
    }
}

impl AsyncWrite for UnixStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_write_priv(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(self.shutdown_write())
    }
}

fd_traits!(UnixListener, UnixStream);

/// The read half of a [`UnixStream`], from [`UnixStream::into_split`].
#[derive(Debug)]
pub struct OwnedReadHalf {
    inner: Arc<UnixStream>,
}

/// The write half of a [`UnixStream`], from [`UnixStream::into_split`]. Dropping it
/// (or closing it) shuts the write side down: the peer reads EOF.
#[derive(Debug)]
pub struct OwnedWriteHalf {
    inner: Arc<UnixStream>,
    shutdown_on_drop: bool,
}

impl AsRef<UnixStream> for OwnedReadHalf {
    /// The stream both halves share.
    fn as_ref(&self) -> &UnixStream {
        &self.inner
    }
}

impl AsRef<UnixStream> for OwnedWriteHalf {
    /// The stream both halves share.
    fn as_ref(&self) -> &UnixStream {
        &self.inner
    }
}

impl Drop for OwnedWriteHalf {
    fn drop(&mut self) {
        if self.shutdown_on_drop {
            let _ = self.inner.shutdown_write();
        }
    }
}

impl AsyncRead for OwnedReadHalf {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.inner.poll_read_priv(cx, buf)
    }
}

impl AsyncWrite for OwnedWriteHalf {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.inner.poll_write_priv(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_close(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let r = self.inner.shutdown_write();
        self.shutdown_on_drop = false;
        Poll::Ready(r)
    }
}
