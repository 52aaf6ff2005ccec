//! `TcpListener` and `TcpStream`.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, ToSocketAddrs};
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use futures_core::Stream;
use futures_io::{AsyncRead, AsyncWrite};
use mio::Interest;

use super::split::{OwnedReadHalf, OwnedWriteHalf};
use crate::io::{Direction, PollEvented};

/// A TCP socket listening for connections (Go's `net.Listener`).
///
/// ```
/// # gorun_executor::Runtime::builder().procs(1).build().unwrap().block_on(async {
/// let listener = gorun_executor::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
/// assert!(listener.local_addr().unwrap().port() > 0);
/// # });
/// ```
pub struct TcpListener {
    io: PollEvented<mio::net::TcpListener>,
}

impl TcpListener {
    /// Binds to `addr` (trying each resolved address in turn) and listens.
    ///
    /// Fails with `AddrInUse` if another socket listens on that port.
    pub async fn bind<A: ToSocketAddrs>(addr: A) -> io::Result<TcpListener> {
        super::each_addr(addr, |a| async move {
            TcpListener::new(mio::net::TcpListener::bind(a)?)
        })
        .await
    }

    fn new(l: mio::net::TcpListener) -> io::Result<TcpListener> {
        Ok(TcpListener {
            io: PollEvented::new(l, Interest::READABLE)?,
        })
    }

    /// Wraps a std listener (set to non-blocking here) on the current runtime.
    pub fn from_std(listener: std::net::TcpListener) -> io::Result<TcpListener> {
        listener.set_nonblocking(true)?;
        TcpListener::new(mio::net::TcpListener::from_std(listener))
    }

    /// Waits for a connection (Go's `Accept`).
    pub async fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        std::future::poll_fn(|cx| self.poll_accept(cx)).await
    }

    /// Polls for a connection.
    pub fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(TcpStream, SocketAddr)>> {
        let (s, addr) = match self.io.poll_io(cx, Direction::Read, |l| l.accept()) {
            Poll::Ready(r) => r?,
            Poll::Pending => {
                gorun_coop::set_wait_reason(gorun_coop::WaitReason::IoAccept);
                return Poll::Pending;
            }
        };
        Poll::Ready(TcpStream::new(s).map(|s| (s, addr)))
    }

    /// The connections, as a [`Stream`] that never ends (an accept error is an item).
    pub fn incoming(&self) -> Incoming<'_> {
        Incoming { listener: self }
    }

    /// The address this listener is bound to.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get().local_addr()
    }

    /// Sets the IP time-to-live of accepted connections' packets.
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.io.get().set_ttl(ttl)
    }
}

impl fmt::Debug for TcpListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.io.fmt(f)
    }
}

/// The stream of connections of a [`TcpListener`], from [`TcpListener::incoming`].
#[derive(Debug)]
#[must_use = "streams do nothing unless polled"]
pub struct Incoming<'a> {
    listener: &'a TcpListener,
}

impl Stream for Incoming<'_> {
    type Item = io::Result<TcpStream>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let r = ready!(self.listener.poll_accept(cx));
        Poll::Ready(Some(r.map(|(s, _)| s)))
    }
}

/// A TCP connection (Go's `net.TCPConn`): [`AsyncRead`] + [`AsyncWrite`].
///
/// `poll_close` shuts the write side down (the peer reads EOF); the socket closes
/// when dropped.
pub struct TcpStream {
    pub(super) io: PollEvented<mio::net::TcpStream>,
}

impl TcpStream {
    /// Connects to `addr`, trying each resolved address in turn.
    ///
    /// Fails with `ConnectionRefused` if nothing listens there.
    pub async fn connect<A: ToSocketAddrs>(addr: A) -> io::Result<TcpStream> {
        super::each_addr(addr, |a| async move {
            let s = TcpStream::new(mio::net::TcpStream::connect(a)?)?;
            s.wait_connected().await?;
            Ok(s)
        })
        .await
    }

    fn new(s: mio::net::TcpStream) -> io::Result<TcpStream> {
        Ok(TcpStream {
            io: PollEvented::new(s, Interest::READABLE | Interest::WRITABLE)?,
        })
    }

    /// A non-blocking connect completes when the socket turns writable: then either
    /// `SO_ERROR` holds the failure or the peer address is known.
    async fn wait_connected(&self) -> io::Result<()> {
        let reg = self.io.registration();
        loop {
            let ev = std::future::poll_fn(|cx| reg.poll_ready(cx, Direction::Write)).await?;
            if let Some(e) = self.io.get().take_error()? {
                return Err(e);
            }
            match self.io.get().peer_addr() {
                Ok(_) => return Ok(()),
                // Hung up without an error left to report: the connect failed.
                Err(e) if e.kind() == io::ErrorKind::NotConnected && ev.is_closed() => {
                    return Err(e)
                }
                Err(e) if e.kind() == io::ErrorKind::NotConnected => reg.clear_readiness(ev),
                Err(e) => return Err(e),
            }
        }
    }

    /// Wraps a connected std stream (set to non-blocking here) on the current runtime.
    pub fn from_std(stream: std::net::TcpStream) -> io::Result<TcpStream> {
        stream.set_nonblocking(true)?;
        TcpStream::new(mio::net::TcpStream::from_std(stream))
    }

    /// The local address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get().local_addr()
    }

    /// The peer's address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.get().peer_addr()
    }

    /// Sets `TCP_NODELAY` (disables Nagle's algorithm, as Go does by default).
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.io.get().set_nodelay(nodelay)
    }

    /// Whether `TCP_NODELAY` is set.
    pub fn nodelay(&self) -> io::Result<bool> {
        self.io.get().nodelay()
    }

    /// Shuts down the read side, the write side (the peer reads EOF), or both, at
    /// once: std's `shutdown(how)`. Named apart from it so that tokio's spelling,
    /// `stream.shutdown().await`, resolves to `gorun::io::AsyncWriteExt::shutdown`
    /// (an inherent method would win over the trait's).
    pub fn shutdown_std(&self, how: Shutdown) -> io::Result<()> {
        self.io.get().shutdown(how)
    }

    /// Splits into owned halves that can move to different tasks. Dropping the
    /// write half shuts the write side down.
    pub fn into_split(self) -> (OwnedReadHalf, OwnedWriteHalf) {
        super::split::split(self)
    }

    pub(super) fn poll_read_priv(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let len = buf.len();
        self.io
            .poll_stream_io(cx, Direction::Read, len, |mut s| s.read(&mut *buf))
    }

    pub(super) fn poll_write_priv(
        &self,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.io
            .poll_stream_io(cx, Direction::Write, buf.len(), |mut s| s.write(buf))
    }

    pub(super) fn poll_write_vectored_priv(
        &self,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        // Not `poll_stream_io`: writev(2) takes at most IOV_MAX buffers (std passes
        // only that many), so a complete write of those would look short, clear the
        // readiness with room left in the socket buffer, and wait for an event that
        // never comes. tokio keeps its vectored write on the plain path too.
        self.io
            .poll_io(cx, Direction::Write, |mut s| s.write_vectored(bufs))
    }

    pub(super) fn shutdown_write(&self) -> io::Result<()> {
        match self.io.get().shutdown(Shutdown::Write) {
            // The peer is already gone: nothing left to shut down.
            Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(()),
            r => r,
        }
    }
}

impl fmt::Debug for TcpStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.io.fmt(f)
    }
}

impl AsyncRead for TcpStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_read_priv(cx, buf)
    }
}

impl AsyncWrite for TcpStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_write_priv(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.poll_write_vectored_priv(cx, bufs)
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(self.shutdown_write())
    }
}
