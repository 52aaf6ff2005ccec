//! Networking: Go's `net` package on gorun's mio reactor.
//!
//! | Go | gorun |
//! |----|-------|
//! | `net.Listen("tcp", addr)`, `l.Accept()` | [`TcpListener::bind`], [`TcpListener::accept`] / [`TcpListener::incoming`] |
//! | `net.Dial("tcp", addr)` | [`TcpStream::connect`] |
//! | `conn.(*net.TCPConn).CloseWrite()` | [`TcpStream::shutdown_std`]`(Shutdown::Write)`, or `shutdown().await` ([`io::AsyncWriteExt`](crate::io::AsyncWriteExt)) |
//! | `net.ListenUDP`, `ReadFrom`, `WriteTo` | [`UdpSocket::bind`], [`UdpSocket::recv_from`], [`UdpSocket::send_to`] |
//! | `net.Listen("unix", path)` | [`UnixListener::bind`], [`UnixStream::connect`] |
//! | `conn.SetReadDeadline` | wrap the read in [`time::timeout`](crate::time::timeout): the socket stays usable |
//! | `net.LookupHost`, `net.ResolveTCPAddr` | [`lookup_host`] (a name goes to the blocking pool; so do names given to `connect`, `bind` and `send_to`) |
//! | `net.ListenConfig{Control: ...}`, `Dialer{Control: ...}` (socket options) | [`TcpSocket`]: `set_reuseaddr`, `set_reuseport`, `set_keepalive`, `set_linger`, buffer sizes, then `bind`/`listen`/`connect` |
//! | `net.ListenUnixgram`, `net.DialUnix("unixgram", ..)` | [`UnixDatagram`] |
//! | `ipv4.PacketConn.JoinGroup`, `SetTTL` (x/net) | [`UdpSocket::join_multicast_v4`], [`UdpSocket::set_ttl`] |
//! | `conn.(*net.TCPConn).File()`, `SyscallConn` | `AsFd`/`AsRawFd` on every socket, `into_std`; any other fd: [`io::unix::AsyncFd`](crate::io::unix::AsyncFd) |
//!
//! Errors from `connect`, `bind` and name lookups name the address or host
//! (`connect 127.0.0.1:1: Connection refused (os error 111)`), keep the
//! [`ErrorKind`](std::io::ErrorKind), and carry the OS error as their `source()`.
//!
//! Streams implement the `futures-io` `AsyncRead`/`AsyncWrite` traits, so
//! `futures::io::{AsyncReadExt, AsyncWriteExt}` give `read_exact`, `write_all`,
//! `copy` and the rest. With the `tokio-io` feature, [`TcpStream`], its owned
//! halves and [`UnixStream`] also implement `tokio::io::AsyncRead`/`AsyncWrite`
//! (tokio-util codecs run over them; no tokio runtime is involved); with `hyper`,
//! hyper 1.x's `rt::Read`/`rt::Write`, so they go to hyper as they are (see
//! `gorun::hyper`). Sockets register with the reactor of the runtime they are
//! created in (the global runtime outside any); the worker that holds the driver
//! blocks in `epoll`/`kqueue` with the next timer's deadline as its timeout.
//!
//! ```
//! use futures::io::{AsyncReadExt, AsyncWriteExt};
//! use gorun::net::{TcpListener, TcpStream};
//!
//! #[gorun::main(procs = 2)]
//! async fn main() -> std::io::Result<()> {
//!     let listener = TcpListener::bind("127.0.0.1:0").await?;
//!     let addr = listener.local_addr()?;
//!     gorun::go(async move {
//!         while let Ok((conn, _)) = listener.accept().await {
//!             gorun::go(async move {
//!                 let (r, mut w) = conn.into_split();
//!                 let _ = futures::io::copy(r, &mut w).await; // echo
//!             });
//!         }
//!     });
//!     let mut c = TcpStream::connect(addr).await?;
//!     c.write_all(b"ping").await?;
//!     let mut buf = [0; 4];
//!     c.read_exact(&mut buf).await?;
//!     assert_eq!(&buf, b"ping");
//!     Ok(())
//! }
//! ```

#[doc(inline)]
pub use gorun_executor::net::*;
