//! The child's standard streams on the reactor: [`ChildStdin`] (write end),
//! [`ChildStdout`] and [`ChildStderr`] (read ends), each a non-blocking pipe
//! registered with the reactor of the runtime it was made in.
//!
//! # Invariants
//! - The descriptor is non-blocking from `from_std` until `into_owned_fd` (which
//!   hands back a blocking duplicate after deregistering and closing the original).
//! - Reads and writes go through `poll_stream_io`: a short transfer on a pipe shows
//!   its buffer drained (read) or full (write), so readiness is cleared then, as for
//!   stream sockets; edge-triggered epoll raises a new event for later data.

use std::fmt;
use std::io::{self, Read, Write};
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::pin::Pin;
use std::process::Stdio;
use std::task::{Context, Poll};

use futures_io::{AsyncRead, AsyncWrite};
use mio::unix::pipe::{Receiver, Sender};
use mio::Interest;

use crate::io::{Direction, PollEvented};

/// The child's standard input: [`AsyncWrite`]. Drop it to close the pipe (the
/// child reads end-of-file); [`Child::wait`](super::Child::wait) drops it first.
pub struct ChildStdin {
    io: PollEvented<Sender>,
}

/// The child's standard output: [`AsyncRead`].
pub struct ChildStdout {
    io: PollEvented<Receiver>,
}

/// The child's standard error: [`AsyncRead`].
pub struct ChildStderr {
    io: PollEvented<Receiver>,
}

/// `read(2)` into possibly uninitialized memory; `Ok(n)`: the first `n` bytes of
/// `buf` are initialized.
fn read_uninit(fd: RawFd, buf: &mut [MaybeUninit<u8>]) -> io::Result<usize> {
    // SAFETY: [1] `buf` is valid for writes of `buf.len()` bytes for the call, and
    // `MaybeUninit<u8>` has `u8`'s layout; [2] read(2) only writes to it, never
    // reads; [3] `fd` is open: the caller borrows the pipe that owns it.
    let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
    if n < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(n as usize) // `0 <= n <= buf.len()`
    }
}

/// The common parts: `from_std`, the descriptor traits, `into_owned_fd`, the
/// conversion into a [`Stdio`] (to pipe one child into another) and `Debug`.
macro_rules! pipe_common {
    ($t:ident, $std:ty, $mio:ty, $interest:expr, $what:literal) => {
        impl $t {
            #[doc = concat!("Wraps std's `", stringify!($std), "`: makes it non-blocking and")]
            /// registers it with the reactor of the current runtime (the global one
            /// outside any).
            pub fn from_std(inner: $std) -> io::Result<$t> {
                let pipe = <$mio>::from(inner);
                pipe.set_nonblocking(true)?;
                Ok($t {
                    io: PollEvented::new(pipe, $interest)?,
                })
            }

            #[doc = concat!("Turns the ", $what, " back into a plain, blocking descriptor")]
            /// (off the reactor), e.g. to hand it to a thread or another library.
            pub fn into_owned_fd(self) -> io::Result<OwnedFd> {
                // The reactor owns the registered descriptor and closes it on drop,
                // after deregistering it: keep a duplicate (the same open pipe).
                let fd = self.io.get().as_fd().try_clone_to_owned()?;
                drop(self);
                // O_NONBLOCK belongs to the open pipe, which the duplicate shares.
                let pipe = <$mio>::from(fd);
                pipe.set_nonblocking(false)?;
                Ok(OwnedFd::from(pipe))
            }
        }

        impl AsRawFd for $t {
            fn as_raw_fd(&self) -> RawFd {
                self.io.get().as_raw_fd()
            }
        }

        impl AsFd for $t {
            fn as_fd(&self) -> BorrowedFd<'_> {
                self.io.get().as_fd()
            }
        }

        /// Hands the pipe to another command (`cmd.stdin(stdout.try_into()?)`),
        /// as a blocking descriptor.
        impl TryFrom<$t> for Stdio {
            type Error = io::Error;

            fn try_from(pipe: $t) -> io::Result<Stdio> {
                pipe.into_owned_fd().map(Stdio::from)
            }
        }

        impl fmt::Debug for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($t))
                    .field("fd", &self.as_raw_fd())
                    .finish()
            }
        }
    };
}

pipe_common!(
    ChildStdin,
    std::process::ChildStdin,
    Sender,
    Interest::WRITABLE,
    "child's stdin"
);
pipe_common!(
    ChildStdout,
    std::process::ChildStdout,
    Receiver,
    Interest::READABLE,
    "child's stdout"
);
pipe_common!(
    ChildStderr,
    std::process::ChildStderr,
    Receiver,
    Interest::READABLE,
    "child's stderr"
);

/// A read end that reads into uninitialized memory.
pub(crate) trait ReadEnd {
    /// Reads into `buf`, initialized or not; `Ready(Ok(n))`: its first `n` bytes
    /// were written (0: end of file).
    fn poll_read_uninit(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [MaybeUninit<u8>],
    ) -> Poll<io::Result<usize>>;
}

/// The reading side of both read ends.
macro_rules! reader {
    ($t:ident) => {
        impl ReadEnd for $t {
            fn poll_read_uninit(
                &self,
                cx: &mut Context<'_>,
                buf: &mut [MaybeUninit<u8>],
            ) -> Poll<io::Result<usize>> {
                let len = buf.len();
                self.io.poll_stream_io(cx, Direction::Read, len, |p| {
                    read_uninit(p.as_raw_fd(), &mut *buf)
                })
            }
        }

        impl AsyncRead for $t {
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &mut [u8],
            ) -> Poll<io::Result<usize>> {
                let len = buf.len();
                self.io
                    .poll_stream_io(cx, Direction::Read, len, |mut p| p.read(&mut *buf))
            }
        }

        #[cfg(feature = "tokio-io")]
        impl tokio::io::AsyncRead for $t {
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &mut tokio::io::ReadBuf<'_>,
            ) -> Poll<io::Result<()>> {
                // SAFETY: only the unfilled part is written to, and
                // `poll_read_uninit` never de-initializes bytes.
                let dst = unsafe { buf.unfilled_mut() };
                let n = std::task::ready!(self.poll_read_uninit(cx, dst))?;
                // SAFETY: `poll_read_uninit` initialized the first `n` unfilled
                // bytes (`n <= dst.len()`).
                unsafe { buf.assume_init(n) };
                buf.advance(n);
                Poll::Ready(Ok(()))
            }
        }
    };
}

reader!(ChildStdout);
reader!(ChildStderr);

impl AsyncWrite for ChildStdin {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.io
            .poll_stream_io(cx, Direction::Write, buf.len(), |mut p| p.write(buf))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let len = bufs.iter().map(|b| b.len()).sum();
        self.io
            .poll_stream_io(cx, Direction::Write, len, |mut p| p.write_vectored(bufs))
    }

    /// A no-op: writes are not buffered.
    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    /// A no-op, as tokio's `poll_shutdown`: a pipe has no half-close; drop the
    /// `ChildStdin` to close it.
    fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[cfg(feature = "tokio-io")]
impl tokio::io::AsyncWrite for ChildStdin {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        AsyncWrite::poll_write(self, cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        AsyncWrite::poll_write_vectored(self, cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        AsyncWrite::poll_flush(self, cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        AsyncWrite::poll_close(self, cx)
    }
}
