//! hyper's I/O traits for gorun's streams (feature `hyper`): `hyper::rt::Read` and
//! `hyper::rt::Write` are implemented on the stream types themselves, so a gorun
//! [`TcpStream`] or [`UnixStream`] goes straight into
//! `hyper::server::conn::http1::Builder::serve_connection` or
//! `hyper::client::conn::http1::handshake`, with no wrapper type (hyper-util's
//! `TokioIo` is what tokio users need instead). The owned halves implement one
//! trait each.
//!
//! Each impl forwards to the stream's `futures-io` impl: `poll_shutdown` shuts the
//! write side down, `poll_flush` is a no-op (gorun sockets do not buffer).
//!
//! Reads go straight into hyper's uninitialized buffer (see `read_uninit.rs`),
//! with no zeroing first.

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use super::read_uninit::ReadUninit;
use super::{OwnedReadHalf, OwnedWriteHalf, TcpStream, UnixStream};

macro_rules! hyper_read {
    ($($t:ty),* $(,)?) => {$(
        impl hyper::rt::Read for $t {
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                mut buf: hyper::rt::ReadBufCursor<'_>,
            ) -> Poll<io::Result<()>> {
                // SAFETY: `as_mut` lets us write the unfilled bytes, never
                // de-initialize them: `poll_read_uninit` only writes.
                let dst = unsafe { buf.as_mut() };
                let n = ready!(self.poll_read_uninit(cx, dst))?;
                // SAFETY: `poll_read_uninit` initialized the first `n` bytes of the
                // unfilled part (`n <= dst.len()`).
                unsafe { buf.advance(n) };
                Poll::Ready(Ok(()))
            }
        }
    )*};
}

hyper_read!(TcpStream, OwnedReadHalf, UnixStream);
forward_write!(
    hyper::rt::Write:
    TcpStream => vectored: true,
    OwnedWriteHalf => vectored: true,
    UnixStream => vectored: false,
);
