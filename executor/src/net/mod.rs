//! Non-blocking sockets on the runtime's mio reactor: Go's `net` package.
//!
//! Each socket registers with the reactor of the runtime it is created in (the
//! global runtime outside any), and implements the `futures-io`
//! [`AsyncRead`](futures_io::AsyncRead)/[`AsyncWrite`](futures_io::AsyncWrite)
//! traits. Every read, write and accept charges the task's cooperative budget.
//! A socket's future can be dropped at any await point (for example by
//! `time::timeout`): no data is lost and the socket stays usable.
//!
//! With the `tokio-io` feature, the streams also implement tokio's
//! `AsyncRead`/`AsyncWrite` (without a tokio runtime); with `hyper`, hyper 1.x's
//! `rt::Read`/`rt::Write`, so they are handed to hyper as they are.
//!
//! ```
//! use futures::io::{AsyncReadExt, AsyncWriteExt};
//! use gorun_executor::net::{TcpListener, TcpStream};
//!
//! let rt = gorun_executor::Runtime::builder().procs(2).build().unwrap();
//! rt.block_on(async {
//!     let listener = TcpListener::bind("127.0.0.1:0").await?;
//!     let addr = listener.local_addr()?;
//!     let server = gorun_executor::go(async move {
//!         let (mut s, _) = listener.accept().await?;
//!         let mut buf = [0; 5];
//!         s.read_exact(&mut buf).await?;
//!         s.write_all(&buf).await?;
//!         std::io::Result::Ok(())
//!     });
//!     let mut c = TcpStream::connect(addr).await?;
//!     c.write_all(b"hello").await?;
//!     let mut buf = [0; 5];
//!     c.read_exact(&mut buf).await?;
//!     assert_eq!(&buf, b"hello");
//!     server.await.unwrap()
//! })
//! .unwrap();
//! ```

/// Implements a tokio-shaped write trait (`tokio::io::AsyncWrite`,
/// `hyper::rt::Write`: the same five methods) by forwarding to the stream's
/// `futures-io` impl: `poll_shutdown` is `poll_close`, `poll_flush` a no-op there.
#[cfg(any(feature = "hyper", feature = "tokio-io"))]
macro_rules! forward_write {
    ($tr:path: $($t:ty => vectored: $vectored:expr),* $(,)?) => {$(
        impl $tr for $t {
            fn poll_write(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &[u8],
            ) -> Poll<io::Result<usize>> {
                futures_io::AsyncWrite::poll_write(self, cx, buf)
            }

            fn poll_write_vectored(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                bufs: &[io::IoSlice<'_>],
            ) -> Poll<io::Result<usize>> {
                futures_io::AsyncWrite::poll_write_vectored(self, cx, bufs)
            }

            fn is_write_vectored(&self) -> bool {
                $vectored
            }

            fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                futures_io::AsyncWrite::poll_flush(self, cx)
            }

            fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                futures_io::AsyncWrite::poll_close(self, cx)
            }
        }
    )*};
}

/// Implements `AsFd` and `AsRawFd` for socket types whose `io` field is a
/// `PollEvented` of a mio socket.
macro_rules! fd_traits {
    ($($t:ty),* $(,)?) => {$(
        impl std::os::fd::AsFd for $t {
            fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
                std::os::fd::AsFd::as_fd(self.io.get())
            }
        }

        impl std::os::fd::AsRawFd for $t {
            fn as_raw_fd(&self) -> std::os::fd::RawFd {
                std::os::fd::AsRawFd::as_raw_fd(self.io.get())
            }
        }
    )*};
}

mod addr;
#[cfg(feature = "hyper")]
mod hyper_io;
#[cfg(any(feature = "hyper", feature = "tokio-io"))]
mod read_uninit;
mod socket;
mod split;
pub mod tcp;
#[cfg(feature = "tokio-io")]
mod tokio_io;
mod udp;
pub mod unix;
mod unix_datagram;

pub use addr::{lookup_host, ToSocketAddrs};
pub use socket::TcpSocket;
pub use split::{OwnedReadHalf, OwnedWriteHalf, ReadHalf, WriteHalf};
pub use tcp::{Incoming, TcpListener, TcpStream};
pub use udp::UdpSocket;
pub use unix::{UnixDatagram, UnixIncoming, UnixListener, UnixStream};
