//! `TcpSocket`: a TCP socket not yet connected or listening, to set options on
//! first (tokio's `TcpSocket`; Go's `net.ListenConfig.Control`/`Dialer.Control`).

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, IntoRawFd, OwnedFd, RawFd};
use std::time::Duration;

use socket2::{Domain, Protocol, SockRef, Socket, Type};

use super::addr::context;
use super::{TcpListener, TcpStream};

/// A TCP socket before `connect` or `listen`: set `SO_REUSEADDR`, `SO_REUSEPORT`,
/// keepalive, linger or buffer sizes, [`bind`](Self::bind), then
/// [`connect`](Self::connect) or [`listen`](Self::listen).
///
/// ```
/// # gorun_executor::Runtime::builder().procs(1).build().unwrap().block_on(async {
/// use gorun_executor::net::TcpSocket;
///
/// let socket = TcpSocket::new_v4().unwrap();
/// socket.set_reuseaddr(true).unwrap();
/// socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
/// let listener = socket.listen(128).unwrap();
/// let addr = listener.local_addr().unwrap();
///
/// let client = TcpSocket::new_v4().unwrap();
/// client.set_keepalive(true).unwrap();
/// let stream = client.connect(addr).await.unwrap();
/// assert_eq!(stream.peer_addr().unwrap(), addr);
/// # });
/// ```
pub struct TcpSocket {
    inner: Socket,
}

impl TcpSocket {
    /// A new IPv4 TCP socket (non-blocking, close-on-exec).
    pub fn new_v4() -> io::Result<TcpSocket> {
        TcpSocket::new(Domain::IPV4)
    }

    /// A new IPv6 TCP socket (non-blocking, close-on-exec).
    pub fn new_v6() -> io::Result<TcpSocket> {
        TcpSocket::new(Domain::IPV6)
    }

    fn new(domain: Domain) -> io::Result<TcpSocket> {
        let inner = Socket::new(domain, Type::STREAM, Some(Protocol::TCP))?;
        inner.set_nonblocking(true)?;
        Ok(TcpSocket { inner })
    }

    /// Sets `SO_REUSEADDR`: bind a port still in `TIME_WAIT`.
    pub fn set_reuseaddr(&self, reuse: bool) -> io::Result<()> {
        self.inner.set_reuse_address(reuse)
    }

    /// Whether `SO_REUSEADDR` is set.
    pub fn reuseaddr(&self) -> io::Result<bool> {
        self.inner.reuse_address()
    }

    /// Sets `SO_REUSEPORT`: several sockets listen on one port, the kernel spreads
    /// connections over them.
    pub fn set_reuseport(&self, reuse: bool) -> io::Result<()> {
        self.inner.set_reuse_port(reuse)
    }

    /// Whether `SO_REUSEPORT` is set.
    pub fn reuseport(&self) -> io::Result<bool> {
        self.inner.reuse_port()
    }

    /// Sets `SO_KEEPALIVE`.
    pub fn set_keepalive(&self, keepalive: bool) -> io::Result<()> {
        self.inner.set_keepalive(keepalive)
    }

    /// Whether `SO_KEEPALIVE` is set.
    pub fn keepalive(&self) -> io::Result<bool> {
        self.inner.keepalive()
    }

    /// Sets `SO_LINGER`: `Some(d)` makes `close` wait up to `d` for unsent data
    /// (`Some(ZERO)` resets the connection instead); `None` is the default.
    pub fn set_linger(&self, dur: Option<Duration>) -> io::Result<()> {
        self.inner.set_linger(dur)
    }

    /// The `SO_LINGER` setting.
    pub fn linger(&self) -> io::Result<Option<Duration>> {
        self.inner.linger()
    }

    /// Sets `TCP_NODELAY`.
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.inner.set_tcp_nodelay(nodelay)
    }

    /// Whether `TCP_NODELAY` is set.
    pub fn nodelay(&self) -> io::Result<bool> {
        self.inner.tcp_nodelay()
    }

    /// Sets `SO_SNDBUF` (the kernel may double or clamp it).
    pub fn set_send_buffer_size(&self, size: u32) -> io::Result<()> {
        self.inner.set_send_buffer_size(size as usize)
    }

    /// The `SO_SNDBUF` size.
    pub fn send_buffer_size(&self) -> io::Result<u32> {
        self.inner.send_buffer_size().map(|n| n as u32)
    }

    /// Sets `SO_RCVBUF` (the kernel may double or clamp it).
    pub fn set_recv_buffer_size(&self, size: u32) -> io::Result<()> {
        self.inner.set_recv_buffer_size(size as usize)
    }

    /// The `SO_RCVBUF` size.
    pub fn recv_buffer_size(&self) -> io::Result<u32> {
        self.inner.recv_buffer_size().map(|n| n as u32)
    }

    /// Binds to `addr`.
    ///
    /// # Errors
    /// The system's error, naming the address (`bind 127.0.0.1:80: ...`).
    pub fn bind(&self, addr: SocketAddr) -> io::Result<()> {
        self.inner
            .bind(&addr.into())
            .map_err(|e| context(e, format_args!("bind {addr}")))
    }

    /// The address bound to.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner
            .local_addr()?
            .as_socket()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "not an IP socket address"))
    }

    /// Takes the pending `SO_ERROR`.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.inner.take_error()
    }

    /// Connects to `addr` on the current runtime.
    ///
    /// # Errors
    /// The connect error, naming the address (`connect 127.0.0.1:1: ...`).
    pub async fn connect(self, addr: SocketAddr) -> io::Result<TcpStream> {
        let named = |e| context(e, format_args!("connect {addr}"));
        match self.inner.connect(&addr.into()) {
            Ok(()) => {}
            Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {}
            Err(e) => return Err(named(e)),
        }
        let std: std::net::TcpStream = self.inner.into();
        let s = TcpStream::from_mio(mio::net::TcpStream::from_std(std))?;
        s.wait_connected().await.map_err(named)?;
        Ok(s)
    }

    /// Listens with a queue of `backlog` pending connections, on the current runtime.
    pub fn listen(self, backlog: u32) -> io::Result<TcpListener> {
        let backlog = backlog.min(i32::MAX as u32) as i32;
        self.inner.listen(backlog)?;
        TcpListener::from_std(self.inner.into())
    }

    /// Wraps a std stream's socket (to set options on it, then
    /// [`connect`](Self::connect) it if it is not connected).
    pub fn from_std_stream(stream: std::net::TcpStream) -> TcpSocket {
        TcpSocket {
            inner: Socket::from(stream),
        }
    }
}

impl fmt::Debug for TcpSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.fmt(f)
    }
}

impl AsFd for TcpSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.inner.as_fd()
    }
}

impl AsRawFd for TcpSocket {
    fn as_raw_fd(&self) -> RawFd {
        self.inner.as_raw_fd()
    }
}

impl IntoRawFd for TcpSocket {
    fn into_raw_fd(self) -> RawFd {
        self.inner.into_raw_fd()
    }
}

impl FromRawFd for TcpSocket {
    /// # Safety
    /// `fd` must be an open TCP socket that the caller owns and gives up.
    unsafe fn from_raw_fd(fd: RawFd) -> TcpSocket {
        TcpSocket {
            // SAFETY: the caller gives up ownership of an open socket fd (this
            // function's contract).
            inner: unsafe { Socket::from_raw_fd(fd) },
        }
    }
}

impl From<OwnedFd> for TcpSocket {
    fn from(fd: OwnedFd) -> TcpSocket {
        TcpSocket {
            inner: Socket::from(fd),
        }
    }
}

/// `SO_LINGER` on an open stream: the setter std lacks (std's is unstable).
pub(super) fn set_linger(fd: &impl AsFd, dur: Option<Duration>) -> io::Result<()> {
    SockRef::from(fd).set_linger(dur)
}

/// The `SO_LINGER` setting of an open stream.
pub(super) fn linger(fd: &impl AsFd) -> io::Result<Option<Duration>> {
    SockRef::from(fd).linger()
}
