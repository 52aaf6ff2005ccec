//! [`BufReader`]: buffering for a reader.
//!
//! Invariants: `pos <= cap <= buf.len()`; `buf[pos..cap]` is read but not yet
//! consumed. The buffer is allocated (zeroed) once, at construction; a read at
//! least as large as the buffer, made while the buffer is empty, bypasses it.

use std::fmt;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use futures_io::{AsyncBufRead, AsyncRead, AsyncWrite};
use pin_project_lite::pin_project;

/// The default buffer size of [`BufReader`] and [`BufWriter`](super::BufWriter),
/// 8 KiB as tokio's and std's.
pub(super) const DEFAULT_BUF_SIZE: usize = 8 * 1024;

pin_project! {
    /// Adds a buffer to a reader, making it [`AsyncBufRead`] (for
    /// [`AsyncBufReadExt`](super::AsyncBufReadExt)'s `read_line`, `lines`, ...) and
    /// turning many small reads into few large ones (tokio's `BufReader`).
    ///
    /// Writes pass straight through to the inner value when it is also a writer.
    ///
    /// ```
    /// use gorun::io::{AsyncBufReadExt, BufReader};
    ///
    /// # futures::executor::block_on(async {
    /// let (client, mut server) = gorun::io::duplex(64);
    /// # use gorun::io::AsyncWriteExt;
    /// server.write_all(b"PING\r\n").await.unwrap();
    /// let mut reader = BufReader::new(client);
    /// let mut line = String::new();
    /// reader.read_line(&mut line).await.unwrap();
    /// assert_eq!(line, "PING\r\n");
    /// # });
    /// ```
    pub struct BufReader<R> {
        #[pin]
        inner: R,
        buf: Box<[u8]>,
        pos: usize,
        cap: usize,
    }
}

impl<R> BufReader<R> {
    /// Wraps `inner` with an 8 KiB buffer.
    ///
    /// ```
    /// let r = gorun::io::BufReader::new(&b"data"[..]);
    /// assert!(r.buffer().is_empty());
    /// ```
    pub fn new(inner: R) -> Self {
        BufReader::with_capacity(DEFAULT_BUF_SIZE, inner)
    }

    /// Wraps `inner` with a `capacity`-byte buffer.
    ///
    /// Panics if `capacity` is 0: such a reader's `fill_buf` could only ever
    /// return an empty slice, which means end of stream.
    ///
    /// ```
    /// use gorun::io::{AsyncBufReadExt, BufReader};
    ///
    /// # futures::executor::block_on(async {
    /// let mut r = BufReader::with_capacity(2, &b"abc"[..]);
    /// assert_eq!(r.fill_buf().await.unwrap(), b"ab");
    /// # });
    /// ```
    pub fn with_capacity(capacity: usize, inner: R) -> Self {
        assert!(
            capacity > 0,
            "BufReader::with_capacity: the capacity must not be 0"
        );
        BufReader {
            inner,
            buf: vec![0; capacity].into_boxed_slice(),
            pos: 0,
            cap: 0,
        }
    }

    /// The inner reader (reading from it directly skips the buffered data).
    pub fn get_ref(&self) -> &R {
        &self.inner
    }

    /// The inner reader, mutably (reading from it directly skips the buffered data).
    pub fn get_mut(&mut self) -> &mut R {
        &mut self.inner
    }

    /// The inner reader, pinned.
    pub fn get_pin_mut(self: Pin<&mut Self>) -> Pin<&mut R> {
        self.project().inner
    }

    /// The inner reader; buffered data not yet read is lost.
    pub fn into_inner(self) -> R {
        self.inner
    }

    /// The data buffered and not yet read.
    ///
    /// ```
    /// use gorun::io::{AsyncBufReadExt, BufReader};
    ///
    /// # futures::executor::block_on(async {
    /// let mut r = BufReader::new(&b"abc"[..]);
    /// r.fill_buf().await.unwrap();
    /// r.consume(1);
    /// assert_eq!(r.buffer(), b"bc");
    /// # });
    /// ```
    pub fn buffer(&self) -> &[u8] {
        &self.buf[self.pos..self.cap]
    }

    fn discard_buffer(self: Pin<&mut Self>) {
        let me = self.project();
        *me.pos = 0;
        *me.cap = 0;
    }
}

impl<R: AsyncRead> AsyncRead for BufReader<R> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        out: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        if self.pos == self.cap && out.len() >= self.buf.len() {
            let r = ready!(self.as_mut().get_pin_mut().poll_read(cx, out));
            self.discard_buffer();
            return Poll::Ready(r);
        }
        let available = ready!(self.as_mut().poll_fill_buf(cx))?;
        let n = available.len().min(out.len());
        out[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Poll::Ready(Ok(n))
    }
}

impl<R: AsyncRead> AsyncBufRead for BufReader<R> {
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        let me = self.project();
        if *me.pos >= *me.cap {
            let n = ready!(me.inner.poll_read(cx, me.buf))?;
            assert!(
                n <= me.buf.len(),
                "AsyncRead::poll_read reported {n} bytes read into a {}-byte buffer",
                me.buf.len()
            );
            *me.cap = n;
            *me.pos = 0;
        }
        Poll::Ready(Ok(&me.buf[*me.pos..*me.cap]))
    }

    fn consume(self: Pin<&mut Self>, amt: usize) {
        let me = self.project();
        *me.pos = (*me.pos + amt).min(*me.cap);
    }
}

impl<R: AsyncWrite> AsyncWrite for BufReader<R> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.get_pin_mut().poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.get_pin_mut().poll_write_vectored(cx, bufs)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_pin_mut().poll_flush(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_pin_mut().poll_close(cx)
    }
}

impl<R: fmt::Debug> fmt::Debug for BufReader<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BufReader")
            .field("reader", &self.inner)
            .field(
                "buffer",
                &format_args!("{}/{}", self.cap - self.pos, self.buf.len()),
            )
            .finish()
    }
}
