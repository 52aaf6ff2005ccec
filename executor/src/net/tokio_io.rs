//! tokio's I/O traits for gorun's streams (feature `tokio-io`), so crates built on
//! `tokio::io::{AsyncRead, AsyncWrite}` (tokio-util's codecs, tokio's `io-util`
//! helpers) run over gorun sockets, on the gorun runtime, with no tokio runtime in
//! the process: only the traits of the `tokio` crate are used.
//!
//! Each impl forwards to the stream's `futures-io` impl, so both trait families see
//! the same readiness, budget and shutdown behaviour: `poll_shutdown` is
//! `poll_close` (shuts the write side down; the peer reads EOF), `poll_flush` is a
//! no-op (gorun sockets do not buffer).
//!
//! Reads go straight into the `ReadBuf`'s unfilled part, initialized or not (see
//! `read_uninit.rs`): tokio-util's codecs hand a fresh uninitialized chunk of a
//! `BytesMut` on every read, which the safe path would zero each time.

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use super::read_uninit::ReadUninit;
use super::{OwnedReadHalf, OwnedWriteHalf, TcpStream, UnixStream};

macro_rules! tokio_read {
    ($($t:ty),* $(,)?) => {$(
        impl tokio::io::AsyncRead for $t {
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &mut tokio::io::ReadBuf<'_>,
            ) -> Poll<io::Result<()>> {
                // SAFETY: we only write to the unfilled part: `poll_read_uninit`
                // never de-initializes bytes.
                let dst = unsafe { buf.unfilled_mut() };
                let n = ready!(self.poll_read_uninit(cx, dst))?;
                // SAFETY: `poll_read_uninit` initialized the first `n` unfilled
                // bytes (`n <= dst.len()`).
                unsafe { buf.assume_init(n) };
                buf.advance(n);
                Poll::Ready(Ok(()))
            }
        }
    )*};
}

tokio_read!(TcpStream, OwnedReadHalf, UnixStream);
forward_write!(
    tokio::io::AsyncWrite:
    TcpStream => vectored: true,
    OwnedWriteHalf => vectored: true,
    UnixStream => vectored: false,
);
