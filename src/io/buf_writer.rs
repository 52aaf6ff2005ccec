//! [`BufWriter`]: buffering for a writer.
//!
//! Invariants: `written <= buf.len() <= capacity`; `buf[written..]` is accepted
//! from the caller but not yet taken by the inner writer (`buf[..written]` was
//! taken during a flush that has not finished). Nothing reaches the inner writer
//! until a write would overflow the buffer, a write is at least as large as the
//! buffer (it goes straight through, after the buffered bytes), or the caller
//! flushes or shuts down. A flush interrupted by `Pending` resumes at `written`,
//! so no byte is written twice.

use std::fmt;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use futures_io::{AsyncBufRead, AsyncRead, AsyncWrite};
use pin_project_lite::pin_project;

use super::buf_reader::DEFAULT_BUF_SIZE;

pin_project! {
    /// Adds a buffer to a writer, turning many small writes into few large ones
    /// (tokio's `BufWriter`).
    ///
    /// Call [`flush`](super::AsyncWriteExt::flush) or
    /// [`shutdown`](super::AsyncWriteExt::shutdown) before dropping it: as in tokio,
    /// dropping it does not write what is still buffered (it cannot wait).
    ///
    /// Reads pass straight through to the inner value when it is also a reader.
    ///
    /// ```
    /// use gorun::io::{AsyncWriteExt, BufWriter};
    ///
    /// # futures::executor::block_on(async {
    /// let mut w = BufWriter::with_capacity(16, Vec::new());
    /// w.write_all(b"small").await.unwrap();
    /// assert_eq!(w.buffer(), b"small"); // nothing reached the Vec yet
    /// assert!(w.get_ref().is_empty());
    /// w.flush().await.unwrap();
    /// assert_eq!(w.get_ref(), b"small");
    /// # });
    /// ```
    pub struct BufWriter<W> {
        #[pin]
        inner: W,
        buf: Vec<u8>,
        capacity: usize,
        written: usize,
    }
}

impl<W> BufWriter<W> {
    /// Wraps `inner` with an 8 KiB buffer.
    ///
    /// ```
    /// let w = gorun::io::BufWriter::new(Vec::<u8>::new());
    /// assert!(w.buffer().is_empty());
    /// ```
    pub fn new(inner: W) -> Self {
        BufWriter::with_capacity(DEFAULT_BUF_SIZE, inner)
    }

    /// Wraps `inner` with a `capacity`-byte buffer.
    ///
    /// ```
    /// use gorun::io::{AsyncWriteExt, BufWriter};
    ///
    /// # futures::executor::block_on(async {
    /// let mut w = BufWriter::with_capacity(4, Vec::new());
    /// w.write_all(b"abc").await.unwrap(); // fits: buffered
    /// w.write_all(b"de").await.unwrap(); // would overflow: "abc" is written first
    /// assert_eq!(w.get_ref(), b"abc");
    /// assert_eq!(w.buffer(), b"de");
    /// # });
    /// ```
    pub fn with_capacity(capacity: usize, inner: W) -> Self {
        BufWriter {
            inner,
            buf: Vec::with_capacity(capacity),
            capacity,
            written: 0,
        }
    }

    /// The inner writer (writing to it directly goes ahead of the buffered data).
    pub fn get_ref(&self) -> &W {
        &self.inner
    }

    /// The inner writer, mutably (writing to it directly goes ahead of the
    /// buffered data).
    pub fn get_mut(&mut self) -> &mut W {
        &mut self.inner
    }

    /// The inner writer, pinned.
    pub fn get_pin_mut(self: Pin<&mut Self>) -> Pin<&mut W> {
        self.project().inner
    }

    /// The inner writer; buffered data not yet written is lost (flush first).
    pub fn into_inner(self) -> W {
        self.inner
    }

    /// The data buffered and not yet written.
    pub fn buffer(&self) -> &[u8] {
        &self.buf[self.written..]
    }
}

impl<W: AsyncWrite> BufWriter<W> {
    /// Writes the whole buffer to the inner writer (without flushing it).
    fn poll_flush_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut me = self.project();
        while *me.written < me.buf.len() {
            let n = ready!(me.inner.as_mut().poll_write(cx, &me.buf[*me.written..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::WriteZero,
                    "failed to write the buffered data",
                )));
            }
            *me.written += n;
        }
        me.buf.clear();
        *me.written = 0;
        Poll::Ready(Ok(()))
    }
}

impl<W: AsyncWrite> AsyncWrite for BufWriter<W> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        if self.buf.len() + data.len() > self.capacity {
            ready!(self.as_mut().poll_flush_buf(cx))?;
        }
        let me = self.project();
        if data.len() >= *me.capacity {
            me.inner.poll_write(cx, data)
        } else {
            me.buf.extend_from_slice(data);
            Poll::Ready(Ok(data.len()))
        }
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let total = bufs.iter().fold(0usize, |n, b| n.saturating_add(b.len()));
        if self.buf.len() + total > self.capacity {
            ready!(self.as_mut().poll_flush_buf(cx))?;
        }
        let me = self.project();
        if total >= *me.capacity {
            me.inner.poll_write_vectored(cx, bufs)
        } else {
            for b in bufs {
                me.buf.extend_from_slice(b);
            }
            Poll::Ready(Ok(total))
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.as_mut().poll_flush_buf(cx))?;
        self.get_pin_mut().poll_flush(cx)
    }

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.as_mut().poll_flush_buf(cx))?;
        self.get_pin_mut().poll_close(cx)
    }
}

impl<W: AsyncRead> AsyncRead for BufWriter<W> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.get_pin_mut().poll_read(cx, buf)
    }
}

impl<W: AsyncBufRead> AsyncBufRead for BufWriter<W> {
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        self.get_pin_mut().poll_fill_buf(cx)
    }

    fn consume(self: Pin<&mut Self>, amt: usize) {
        self.get_pin_mut().consume(amt)
    }
}

impl<W: fmt::Debug> fmt::Debug for BufWriter<W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BufWriter")
            .field("writer", &self.inner)
            .field(
                "buffer",
                &format_args!("{}/{}", self.buf.len() - self.written, self.capacity),
            )
            .finish()
    }
}
