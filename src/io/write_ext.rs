//! [`AsyncWriteExt`]: tokio's write helpers over `futures_io::AsyncWrite`.
//!
//! Every future here borrows its writer (and buffer) and is `Unpin`. `write`,
//! `write_vectored`, `write_buf` and `write_all_buf` are cancel-safe (a poll that
//! writes reports or advances before it returns); `write_all` and the integer
//! writes keep their position in the future, so dropping one mid-way leaves an
//! unknown prefix written, as in tokio.

use std::future::Future;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use bytes::Buf;
use futures_io::AsyncWrite;

/// The most slices one vectored write of a [`Buf`] gathers (tokio's limit too).
const MAX_VECTORED: usize = 64;

/// Writes an integer of each width and byte order, as [`AsyncWriteExt`]'s methods.
macro_rules! write_int_methods {
    ($($name:ident($t:ty), $to:ident, $order:literal;)*) => {$(
        #[doc = concat!("Writes a ", $order, " `", stringify!($t), "` (",
            "`size_of::<", stringify!($t), ">()` bytes, as `write_all`).")]
        ///
        /// Not cancel-safe: a future dropped mid-way leaves an unknown prefix written.
        ///
        /// ```
        /// use gorun::io::AsyncWriteExt;
        ///
        /// # futures::executor::block_on(async {
        #[doc = concat!("let v = ", stringify!($t), "::MAX / 3 as ", stringify!($t), ";")]
        /// let mut out = Vec::new();
        #[doc = concat!("out.", stringify!($name), "(v).await.unwrap();")]
        #[doc = concat!("assert_eq!(out, v.", stringify!($to), "());")]
        /// # });
        /// ```
        fn $name(&mut self, n: $t) -> WriteInt<'_, Self>
        where
            Self: Unpin,
        {
            WriteInt::new(self, &n.$to())
        }
    )*};
}

/// Writing helpers for every [`futures_io::AsyncWrite`], under tokio's names
/// (`tokio::io::AsyncWriteExt`): `use gorun::io::AsyncWriteExt` where tokio code has
/// `use tokio::io::AsyncWriteExt`.
///
/// [`shutdown`](AsyncWriteExt::shutdown) is futures-io's `poll_close` (for a TCP
/// stream: the peer reads EOF). Integers are big-endian unless the method ends in
/// `_le`.
///
/// ```
/// use gorun::io::AsyncWriteExt;
///
/// # futures::executor::block_on(async {
/// let mut out = Vec::new();
/// out.write_u16(5).await.unwrap();
/// out.write_all(b"hello").await.unwrap();
/// out.flush().await.unwrap();
/// assert_eq!(out, b"\x00\x05hello");
/// # });
/// ```
pub trait AsyncWriteExt: AsyncWrite {
    /// Writes some of `buf`: `Ok(n)` with `n <= buf.len()` (`0`: the writer takes
    /// no more). Cancel-safe.
    ///
    /// ```
    /// use gorun::io::AsyncWriteExt;
    ///
    /// # futures::executor::block_on(async {
    /// let mut out = Vec::new();
    /// let n = out.write(b"abc").await.unwrap();
    /// assert_eq!(&out[..], &b"abc"[..n]);
    /// # });
    /// ```
    fn write<'a>(&'a mut self, buf: &'a [u8]) -> Write<'a, Self>
    where
        Self: Unpin,
    {
        Write { writer: self, buf }
    }

    /// Writes some of `bufs`, in order, in one call where the writer supports it
    /// (gorun's sockets use `writev(2)`): `Ok(bytes written)`. Cancel-safe.
    ///
    /// ```
    /// use std::io::IoSlice;
    /// use gorun::io::AsyncWriteExt;
    ///
    /// # futures::executor::block_on(async {
    /// let mut out = Vec::new();
    /// let bufs = [IoSlice::new(b"ab"), IoSlice::new(b"cd")];
    /// let n = out.write_vectored(&bufs).await.unwrap();
    /// assert_eq!(&out[..], &b"abcd"[..n]);
    /// # });
    /// ```
    fn write_vectored<'a, 'b>(&'a mut self, bufs: &'a [IoSlice<'b>]) -> WriteVectored<'a, 'b, Self>
    where
        Self: Unpin,
    {
        WriteVectored { writer: self, bufs }
    }

    /// Writes all of `buf`; `WriteZero` if the writer stops taking bytes first.
    ///
    /// ```
    /// use gorun::io::AsyncWriteExt;
    ///
    /// # futures::executor::block_on(async {
    /// let mut out = Vec::new();
    /// out.write_all(b"all of it").await.unwrap();
    /// assert_eq!(out, b"all of it");
    /// # });
    /// ```
    fn write_all<'a>(&'a mut self, buf: &'a [u8]) -> WriteAll<'a, Self>
    where
        Self: Unpin,
    {
        WriteAll { writer: self, buf }
    }

    /// Writes some of `buf` (one write) and advances it past what was written:
    /// `Ok(n)`, `Ok(0)` if `buf` was empty. Cancel-safe.
    ///
    /// ```
    /// use bytes::Buf;
    /// use gorun::io::AsyncWriteExt;
    ///
    /// # futures::executor::block_on(async {
    /// let mut out = Vec::new();
    /// let mut src: &[u8] = b"bytes";
    /// let n = out.write_buf(&mut src).await.unwrap();
    /// assert_eq!(src.remaining(), 5 - n);
    /// # });
    /// ```
    fn write_buf<'a, B>(&'a mut self, buf: &'a mut B) -> WriteBuf<'a, Self, B>
    where
        Self: Unpin,
        B: Buf + ?Sized,
    {
        WriteBuf { writer: self, buf }
    }

    /// Writes all of `buf`, advancing it as the writer takes bytes (vectored when
    /// `buf` is in several chunks). Cancel-safe: after a drop, `buf` holds exactly
    /// what was not written.
    ///
    /// ```
    /// use bytes::{Buf, Bytes};
    /// use gorun::io::AsyncWriteExt;
    ///
    /// # futures::executor::block_on(async {
    /// let mut out = Vec::new();
    /// let mut src = Bytes::from_static(b"head,").chain(Bytes::from_static(b"tail"));
    /// out.write_all_buf(&mut src).await.unwrap();
    /// assert_eq!(out, b"head,tail");
    /// assert!(!src.has_remaining());
    /// # });
    /// ```
    fn write_all_buf<'a, B>(&'a mut self, buf: &'a mut B) -> WriteAllBuf<'a, Self, B>
    where
        Self: Unpin,
        B: Buf + ?Sized,
    {
        WriteAllBuf { writer: self, buf }
    }

    /// Flushes buffered data to its destination (a no-op for gorun's sockets).
    ///
    /// ```
    /// use gorun::io::{AsyncWriteExt, BufWriter};
    ///
    /// # futures::executor::block_on(async {
    /// let mut w = BufWriter::new(Vec::new());
    /// w.write_all(b"buffered").await.unwrap();
    /// assert!(w.get_ref().is_empty());
    /// w.flush().await.unwrap();
    /// assert_eq!(w.get_ref(), b"buffered");
    /// # });
    /// ```
    fn flush(&mut self) -> Flush<'_, Self>
    where
        Self: Unpin,
    {
        Flush { writer: self }
    }

    /// Flushes and shuts the writer down (futures-io's `poll_close`): on a TCP or
    /// Unix stream, or a [`DuplexStream`](super::DuplexStream), the peer reads EOF.
    ///
    /// ```
    /// use gorun::io::{AsyncReadExt, AsyncWriteExt};
    ///
    /// # futures::executor::block_on(async {
    /// let (mut a, mut b) = gorun::io::duplex(64);
    /// a.write_all(b"bye").await.unwrap();
    /// a.shutdown().await.unwrap();
    /// let mut got = Vec::new();
    /// b.read_to_end(&mut got).await.unwrap(); // ends: `a` shut down
    /// assert_eq!(got, b"bye");
    /// # });
    /// ```
    fn shutdown(&mut self) -> Shutdown<'_, Self>
    where
        Self: Unpin,
    {
        Shutdown { writer: self }
    }

    write_int_methods! {
        write_u8(u8), to_be_bytes, "";
        write_i8(i8), to_be_bytes, "";
        write_u16(u16), to_be_bytes, "big-endian";
        write_i16(i16), to_be_bytes, "big-endian";
        write_u32(u32), to_be_bytes, "big-endian";
        write_i32(i32), to_be_bytes, "big-endian";
        write_u64(u64), to_be_bytes, "big-endian";
        write_i64(i64), to_be_bytes, "big-endian";
        write_u128(u128), to_be_bytes, "big-endian";
        write_i128(i128), to_be_bytes, "big-endian";
        write_f32(f32), to_be_bytes, "big-endian";
        write_f64(f64), to_be_bytes, "big-endian";
        write_u16_le(u16), to_le_bytes, "little-endian";
        write_i16_le(i16), to_le_bytes, "little-endian";
        write_u32_le(u32), to_le_bytes, "little-endian";
        write_i32_le(i32), to_le_bytes, "little-endian";
        write_u64_le(u64), to_le_bytes, "little-endian";
        write_i64_le(i64), to_le_bytes, "little-endian";
        write_u128_le(u128), to_le_bytes, "little-endian";
        write_i128_le(i128), to_le_bytes, "little-endian";
        write_f32_le(f32), to_le_bytes, "little-endian";
        write_f64_le(f64), to_le_bytes, "little-endian";
    }
}

impl<W: AsyncWrite + ?Sized> AsyncWriteExt for W {}

fn write_zero() -> io::Error {
    io::Error::new(io::ErrorKind::WriteZero, "failed to write whole buffer")
}

/// The future of [`AsyncWriteExt::write`].
#[derive(Debug)]
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Write<'a, W: ?Sized> {
    writer: &'a mut W,
    buf: &'a [u8],
}

impl<W: AsyncWrite + Unpin + ?Sized> Future for Write<'_, W> {
    type Output = io::Result<usize>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let me = self.get_mut();
        Pin::new(&mut *me.writer).poll_write(cx, me.buf)
    }
}

/// The future of [`AsyncWriteExt::write_vectored`].
#[derive(Debug)]
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct WriteVectored<'a, 'b, W: ?Sized> {
    writer: &'a mut W,
    bufs: &'a [IoSlice<'b>],
}

impl<W: AsyncWrite + Unpin + ?Sized> Future for WriteVectored<'_, '_, W> {
    type Output = io::Result<usize>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let me = self.get_mut();
        Pin::new(&mut *me.writer).poll_write_vectored(cx, me.bufs)
    }
}

/// The future of [`AsyncWriteExt::write_all`].
#[derive(Debug)]
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct WriteAll<'a, W: ?Sized> {
    writer: &'a mut W,
    buf: &'a [u8],
}

impl<W: AsyncWrite + Unpin + ?Sized> Future for WriteAll<'_, W> {
    type Output = io::Result<()>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let me = self.get_mut();
        poll_write_all(Pin::new(&mut *me.writer), cx, &mut me.buf)
    }
}

/// Writes all of `*buf`, shrinking it from the front as bytes are taken.
fn poll_write_all<W: AsyncWrite + ?Sized>(
    mut writer: Pin<&mut W>,
    cx: &mut Context<'_>,
    buf: &mut &[u8],
) -> Poll<io::Result<()>> {
    while !buf.is_empty() {
        let n = ready!(writer.as_mut().poll_write(cx, buf))?;
        if n == 0 {
            return Poll::Ready(Err(write_zero()));
        }
        *buf = &buf[n..];
    }
    Poll::Ready(Ok(()))
}

/// One write of `buf`'s bytes (vectored if it has several chunks); advances `buf`.
fn poll_write_buf_once<W, B>(
    writer: Pin<&mut W>,
    cx: &mut Context<'_>,
    buf: &mut B,
) -> Poll<io::Result<usize>>
where
    W: AsyncWrite + ?Sized,
    B: Buf + ?Sized,
{
    let n = if buf.chunk().len() == buf.remaining() {
        ready!(writer.poll_write(cx, buf.chunk()))?
    } else {
        let mut slices = [IoSlice::new(&[]); MAX_VECTORED];
        let count = buf.chunks_vectored(&mut slices);
        ready!(writer.poll_write_vectored(cx, &slices[..count]))?
    };
    assert!(
        n <= buf.remaining(),
        "AsyncWrite reported {n} bytes written of {}",
        buf.remaining()
    );
    buf.advance(n);
    Poll::Ready(Ok(n))
}

/// The future of [`AsyncWriteExt::write_buf`].
#[derive(Debug)]
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct WriteBuf<'a, W: ?Sized, B: ?Sized> {
    writer: &'a mut W,
    buf: &'a mut B,
}

impl<W: AsyncWrite + Unpin + ?Sized, B: Buf + ?Sized> Future for WriteBuf<'_, W, B> {
    type Output = io::Result<usize>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let me = self.get_mut();
        if !me.buf.has_remaining() {
            return Poll::Ready(Ok(0));
        }
        poll_write_buf_once(Pin::new(&mut *me.writer), cx, &mut *me.buf)
    }
}

/// The future of [`AsyncWriteExt::write_all_buf`].
#[derive(Debug)]
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct WriteAllBuf<'a, W: ?Sized, B: ?Sized> {
    writer: &'a mut W,
    buf: &'a mut B,
}

impl<W: AsyncWrite + Unpin + ?Sized, B: Buf + ?Sized> Future for WriteAllBuf<'_, W, B> {
    type Output = io::Result<()>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let me = self.get_mut();
        while me.buf.has_remaining() {
            let n = ready!(poll_write_buf_once(
                Pin::new(&mut *me.writer),
                cx,
                &mut *me.buf
            ))?;
            if n == 0 {
                return Poll::Ready(Err(write_zero()));
            }
        }
        Poll::Ready(Ok(()))
    }
}

/// The future of [`AsyncWriteExt::write_u16`] and the other integer writes.
#[derive(Debug)]
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct WriteInt<'a, W: ?Sized> {
    writer: &'a mut W,
    bytes: [u8; 16],
    len: usize,
    written: usize,
}

impl<'a, W: ?Sized> WriteInt<'a, W> {
    fn new(writer: &'a mut W, src: &[u8]) -> Self {
        let mut bytes = [0; 16];
        bytes[..src.len()].copy_from_slice(src);
        WriteInt {
            writer,
            bytes,
            len: src.len(),
            written: 0,
        }
    }
}

impl<W: AsyncWrite + Unpin + ?Sized> Future for WriteInt<'_, W> {
    type Output = io::Result<()>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let me = self.get_mut();
        let mut rest = &me.bytes[me.written..me.len];
        let r = poll_write_all(Pin::new(&mut *me.writer), cx, &mut rest);
        me.written = me.len - rest.len();
        r
    }
}

/// The future of [`AsyncWriteExt::flush`].
#[derive(Debug)]
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Flush<'a, W: ?Sized> {
    writer: &'a mut W,
}

impl<W: AsyncWrite + Unpin + ?Sized> Future for Flush<'_, W> {
    type Output = io::Result<()>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.get_mut().writer).poll_flush(cx)
    }
}

/// The future of [`AsyncWriteExt::shutdown`].
#[derive(Debug)]
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Shutdown<'a, W: ?Sized> {
    writer: &'a mut W,
}

impl<W: AsyncWrite + Unpin + ?Sized> Future for Shutdown<'_, W> {
    type Output = io::Result<()>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.get_mut().writer).poll_close(cx)
    }
}
