//! `UnixDatagram`: Unix domain datagram sockets.

use std::fmt;
use std::io;
use std::os::unix::net::SocketAddr;
use std::path::Path;
use std::task::{Context, Poll};

use mio::Interest;

use super::addr::context;
use crate::io::{Direction, PollEvented};

/// A Unix domain datagram socket (Go's `net.UnixConn` on `"unixgram"`). Its methods
/// take `&self`, so it can be shared by several tasks behind an `Arc`.
///
/// ```
/// # gorun_executor::Runtime::builder().procs(1).build().unwrap().block_on(async {
/// use gorun_executor::net::UnixDatagram;
///
/// let (a, b) = UnixDatagram::pair().unwrap();
/// a.send(b"ping").await.unwrap();
/// let mut buf = [0; 16];
/// let n = b.recv(&mut buf).await.unwrap();
/// assert_eq!(&buf[..n], b"ping");
/// # });
/// ```
pub struct UnixDatagram {
    io: PollEvented<mio::net::UnixDatagram>,
}

impl UnixDatagram {
    /// A socket bound to `path`.
    ///
    /// # Errors
    /// The system's error, naming the path.
    pub fn bind<P: AsRef<Path>>(path: P) -> io::Result<UnixDatagram> {
        let path = path.as_ref();
        let s = mio::net::UnixDatagram::bind(path)
            .map_err(|e| context(e, format_args!("bind {}", path.display())))?;
        UnixDatagram::new(s)
    }

    /// A socket bound to no address (it can send, and receive replies once connected
    /// or from `pair`).
    pub fn unbound() -> io::Result<UnixDatagram> {
        UnixDatagram::new(mio::net::UnixDatagram::unbound()?)
    }

    /// Two sockets connected to each other.
    pub fn pair() -> io::Result<(UnixDatagram, UnixDatagram)> {
        let (a, b) = mio::net::UnixDatagram::pair()?;
        Ok((UnixDatagram::new(a)?, UnixDatagram::new(b)?))
    }

    fn new(s: mio::net::UnixDatagram) -> io::Result<UnixDatagram> {
        Ok(UnixDatagram {
            io: PollEvented::new(s, Interest::READABLE | Interest::WRITABLE)?,
        })
    }

    /// Wraps a std socket (set to non-blocking here) on the current runtime.
    pub fn from_std(socket: std::os::unix::net::UnixDatagram) -> io::Result<UnixDatagram> {
        socket.set_nonblocking(true)?;
        UnixDatagram::new(mio::net::UnixDatagram::from_std(socket))
    }

    /// Deregisters the socket and returns it as a std socket, still non-blocking.
    pub fn into_std(self) -> io::Result<std::os::unix::net::UnixDatagram> {
        Ok(self.io.into_inner().into())
    }

    /// Sets the default peer: [`send`](Self::send) goes there and
    /// [`recv`](Self::recv) only receives from there.
    ///
    /// # Errors
    /// The system's error, naming the path.
    pub fn connect<P: AsRef<Path>>(&self, path: P) -> io::Result<()> {
        let path = path.as_ref();
        self.io
            .get()
            .connect(path)
            .map_err(|e| context(e, format_args!("connect {}", path.display())))
    }

    /// Sends `buf` to the connected peer.
    pub async fn send(&self, buf: &[u8]) -> io::Result<usize> {
        self.io.async_io(Direction::Write, |s| s.send(buf)).await
    }

    /// Receives one datagram from the connected peer.
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.io
            .async_io(Direction::Read, |s| s.recv(&mut *buf))
            .await
    }

    /// Sends `buf` to the socket at `target`.
    pub async fn send_to<P: AsRef<Path>>(&self, buf: &[u8], target: P) -> io::Result<usize> {
        let target = target.as_ref();
        self.io
            .async_io(Direction::Write, |s| s.send_to(buf, target))
            .await
    }

    /// Receives one datagram; its length and sender.
    pub async fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.io
            .async_io(Direction::Read, |s| s.recv_from(&mut *buf))
            .await
    }

    /// Polls for a datagram from the connected peer.
    pub fn poll_recv(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        self.io.poll_io(cx, Direction::Read, |s| s.recv(&mut *buf))
    }

    /// Polls to send `buf` to the connected peer.
    pub fn poll_send(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.io.poll_io(cx, Direction::Write, |s| s.send(buf))
    }

    /// Receives a datagram if one is there now, else `WouldBlock`.
    pub fn try_recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.io.try_io(Direction::Read, |s| s.recv(buf))
    }

    /// Sends `buf` if the socket has room now, else `WouldBlock`.
    pub fn try_send(&self, buf: &[u8]) -> io::Result<usize> {
        self.io.try_io(Direction::Write, |s| s.send(buf))
    }

    /// The local address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get().local_addr()
    }

    /// The connected peer's address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.get().peer_addr()
    }

    /// Takes the pending `SO_ERROR`.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.io.get().take_error()
    }
}

impl fmt::Debug for UnixDatagram {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.io.fmt(f)
    }
}

fd_traits!(UnixDatagram);
