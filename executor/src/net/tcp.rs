//! `TcpListener` and `TcpStream`, and the halves of a split `TcpStream` (tokio's
//! `net::tcp::{OwnedReadHalf, OwnedWriteHalf, ReadHalf, WriteHalf}`).

use std::fmt;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use futures_core::Stream;
use futures_io::{AsyncRead, AsyncWrite};
use mio::Interest;

pub use super::split::{OwnedReadHalf, OwnedWriteHalf, ReadHalf, WriteHalf};
use super::ToSocketAddrs;
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
        super::addr::each_addr("bind", addr, |a| async move {
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

    /// Deregisters the listener and returns it as a std listener, still
    /// non-blocking.
    pub fn into_std(self) -> io::Result<std::net::TcpListener> {
        Ok(self.io.into_inner().into())
    }

    /// The IP time-to-live of accepted connections' packets.
    pub fn ttl(&self) -> io::Result<u32> {
        self.io.get().ttl()
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
        Poll::Ready(TcpStream::from_mio(s).map(|s| (s, addr)))
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
        super::addr::each_addr("connect", addr, |a| async move {
            let s = TcpStream::from_mio(mio::net::TcpStream::connect(a)?)?;
            s.wait_connected().await?;
            Ok(s)
        })
        .await
    }

    pub(super) fn from_mio(s: mio::net::TcpStream) -> io::Result<TcpStream> {
        Ok(TcpStream {
            io: PollEvented::new(s, Interest::READABLE | Interest::WRITABLE)?,
        })
    }

    /// A non-blocking connect completes when the socket turns writable: then either
    /// `SO_ERROR` holds the failure or the peer address is known.
    pub(super) async fn wait_connected(&self) -> io::Result<()> {
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
        TcpStream::from_mio(mio::net::TcpStream::from_std(stream))
    }

    /// Deregisters the stream from the runtime and returns it as a std stream, still
    /// in non-blocking mode (tokio's `into_std`).
    pub fn into_std(self) -> io::Result<std::net::TcpStream> {
        Ok(self.io.into_inner().into())
    }

    /// The local address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get().local_addr()
    }

    /// The peer's address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.get().peer_addr()
    }

    /// Waits until the stream may be readable (a read may still find nothing and
    /// give `WouldBlock`: use [`try_read`](Self::try_read) in a loop). Cancel-safe.
    pub async fn readable(&self) -> io::Result<()> {
        std::future::poll_fn(|cx| self.poll_read_ready(cx)).await
    }

    /// Waits until the stream may be writable; see [`readable`](Self::readable).
    pub async fn writable(&self) -> io::Result<()> {
        std::future::poll_fn(|cx| self.poll_write_ready(cx)).await
    }

    /// Polls for read readiness (the task is woken on the next event if not ready).
    pub fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.io
            .registration()
            .poll_ready(cx, Direction::Read)
            .map_ok(drop)
    }

    /// Polls for write readiness.
    pub fn poll_write_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.io
            .registration()
            .poll_ready(cx, Direction::Write)
            .map_ok(drop)
    }

    /// Reads what is there now, without waiting: `WouldBlock` if nothing is (then
    /// wait with [`readable`](Self::readable)). `Ok(0)`: the peer closed its side.
    ///
    /// ```
    /// # gorun_executor::Runtime::builder().procs(1).build().unwrap().block_on(async {
    /// use futures::io::AsyncWriteExt;
    /// use gorun_executor::net::{TcpListener, TcpStream};
    ///
    /// let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    /// let mut c = TcpStream::connect(l.local_addr().unwrap()).await.unwrap();
    /// let (s, _) = l.accept().await.unwrap();
    /// c.write_all(b"hi").await.unwrap();
    /// let mut buf = [0; 8];
    /// let n = loop {
    ///     s.readable().await.unwrap();
    ///     match s.try_read(&mut buf) {
    ///         Ok(n) => break n,
    ///         Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
    ///         Err(e) => panic!("{e}"),
    ///     }
    /// };
    /// assert_eq!(&buf[..n], b"hi");
    /// # });
    /// ```
    pub fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.io.try_io(Direction::Read, |mut s| s.read(buf))
    }

    /// Writes what fits now, without waiting: `WouldBlock` if nothing does.
    pub fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        self.io.try_io(Direction::Write, |mut s| s.write(buf))
    }

    /// Reads into several buffers, without waiting.
    pub fn try_read_vectored(&self, bufs: &mut [io::IoSliceMut<'_>]) -> io::Result<usize> {
        self.io
            .try_io(Direction::Read, |mut s| s.read_vectored(bufs))
    }

    /// Writes from several buffers, without waiting.
    pub fn try_write_vectored(&self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        self.io
            .try_io(Direction::Write, |mut s| s.write_vectored(bufs))
    }

    /// Receives data without removing it from the socket's queue: the next read
    /// sees it again. Waits for data (or EOF, `Ok(0)`).
    pub async fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        std::future::poll_fn(|cx| self.poll_peek(cx, buf)).await
    }

    /// Polls [`peek`](Self::peek).
    pub fn poll_peek(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        self.io.poll_io(cx, Direction::Read, |s| s.peek(&mut *buf))
    }

    /// Sets `SO_LINGER` (see [`TcpSocket::set_linger`](super::TcpSocket::set_linger)).
    pub fn set_linger(&self, dur: Option<std::time::Duration>) -> io::Result<()> {
        super::socket::set_linger(self.io.get(), dur)
    }

    /// The `SO_LINGER` setting.
    pub fn linger(&self) -> io::Result<Option<std::time::Duration>> {
        super::socket::linger(self.io.get())
    }

    /// Sets the IP time-to-live of this connection's packets.
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.io.get().set_ttl(ttl)
    }

    /// The IP time-to-live.
    pub fn ttl(&self) -> io::Result<u32> {
        self.io.get().ttl()
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

    /// Splits into borrowed halves, to read and write at once in one task (as two
    /// `select!` arms or a `join!`) without an `Arc`. Dropping the write half does
    /// not shut the write side down (tokio's rule).
    pub fn split(&mut self) -> (ReadHalf<'_>, WriteHalf<'_>) {
        let s: &TcpStream = self;
        (ReadHalf { inner: s }, WriteHalf { inner: s })
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

fd_traits!(TcpListener, TcpStream);
