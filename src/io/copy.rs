//! [`copy`], [`copy_buf`] and [`copy_bidirectional`]: pumping bytes from readers
//! to writers.
//!
//! Invariants of [`CopyBuffer`]: `pos <= cap <= buf.len()`; `buf[pos..cap]` was
//! read and not yet written. It reads while it has room (so writes are large),
//! writes what it holds, and flushes the writer whenever the reader has nothing
//! ready (a writer that buffers, such as a `BufWriter`, must not sit on data the
//! other side waits for) and once at the end. Each read that makes progress
//! charges the task's cooperative budget, so copying between two always-ready
//! in-memory ends still yields to the task's neighbours on gorun.

use std::future::poll_fn;
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use futures_io::{AsyncBufRead, AsyncRead, AsyncWrite};

/// The copy buffer size, 8 KiB as tokio's.
const COPY_BUF_SIZE: usize = 8 * 1024;

/// One direction of a copy: its buffer and its progress.
#[derive(Debug)]
struct CopyBuffer {
    read_done: bool,
    need_flush: bool,
    pos: usize,
    cap: usize,
    amt: u64,
    buf: Box<[u8]>,
}

impl CopyBuffer {
    fn new(size: usize) -> CopyBuffer {
        assert!(size > 0, "a copy buffer must not be empty");
        CopyBuffer {
            read_done: false,
            need_flush: false,
            pos: 0,
            cap: 0,
            amt: 0,
            buf: vec![0; size].into_boxed_slice(),
        }
    }

    /// Reads into the free end of the buffer.
    fn poll_fill<R: AsyncRead + ?Sized>(
        &mut self,
        cx: &mut Context<'_>,
        reader: Pin<&mut R>,
    ) -> Poll<io::Result<()>> {
        let coop = ready!(gorun_coop::poll_proceed(cx));
        let n = ready!(reader.poll_read(cx, &mut self.buf[self.cap..]))?;
        coop.made_progress();
        assert!(
            n <= self.buf.len() - self.cap,
            "AsyncRead::poll_read reported more bytes than it was lent"
        );
        self.read_done = n == 0;
        self.cap += n;
        Poll::Ready(Ok(()))
    }

    /// Copies until the reader ends and everything read is written and flushed:
    /// `Ready(Ok(bytes copied))`.
    fn poll_copy<R, W>(
        &mut self,
        cx: &mut Context<'_>,
        mut reader: Pin<&mut R>,
        mut writer: Pin<&mut W>,
    ) -> Poll<io::Result<u64>>
    where
        R: AsyncRead + ?Sized,
        W: AsyncWrite + ?Sized,
    {
        loop {
            if !self.read_done && self.cap < self.buf.len() {
                match self.poll_fill(cx, reader.as_mut()) {
                    Poll::Ready(r) => r?,
                    // Nothing to read and nothing to write: flush, then wait.
                    Poll::Pending if self.pos == self.cap => {
                        if self.need_flush {
                            ready!(writer.as_mut().poll_flush(cx))?;
                            self.need_flush = false;
                        }
                        return Poll::Pending;
                    }
                    Poll::Pending => {} // write what we have meanwhile
                }
            }
            while self.pos < self.cap {
                let n = ready!(writer
                    .as_mut()
                    .poll_write(cx, &self.buf[self.pos..self.cap]))?;
                if n == 0 {
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::WriteZero,
                        "write zero bytes into writer",
                    )));
                }
                self.pos += n;
                self.amt += n as u64;
                self.need_flush = true;
            }
            self.pos = 0;
            self.cap = 0;
            if self.read_done {
                ready!(writer.as_mut().poll_flush(cx))?;
                self.need_flush = false;
                return Poll::Ready(Ok(self.amt));
            }
        }
    }
}

/// Copies everything `reader` yields to `writer`, then flushes it: `Ok(bytes
/// copied)` (tokio's `io::copy`). Does not shut `writer` down.
///
/// ```
/// # futures::executor::block_on(async {
/// let mut reader: &[u8] = b"copied";
/// let mut writer = Vec::new();
/// let n = gorun::io::copy(&mut reader, &mut writer).await.unwrap();
/// assert_eq!((n, &writer[..]), (6, &b"copied"[..]));
/// # });
/// ```
pub async fn copy<R, W>(reader: &mut R, writer: &mut W) -> io::Result<u64>
where
    R: AsyncRead + Unpin + ?Sized,
    W: AsyncWrite + Unpin + ?Sized,
{
    let mut state = CopyBuffer::new(COPY_BUF_SIZE);
    poll_fn(|cx| state.poll_copy(cx, Pin::new(&mut *reader), Pin::new(&mut *writer))).await
}

/// Copies everything a buffered `reader` yields to `writer` straight from the
/// reader's own buffer, then flushes it: `Ok(bytes copied)` (tokio's
/// `io::copy_buf`).
///
/// ```
/// use gorun::io::BufReader;
///
/// # futures::executor::block_on(async {
/// let mut reader = BufReader::new(&b"buffered"[..]);
/// let mut writer = Vec::new();
/// assert_eq!(gorun::io::copy_buf(&mut reader, &mut writer).await.unwrap(), 8);
/// # });
/// ```
pub async fn copy_buf<R, W>(reader: &mut R, writer: &mut W) -> io::Result<u64>
where
    R: AsyncBufRead + Unpin + ?Sized,
    W: AsyncWrite + Unpin + ?Sized,
{
    let mut amt = 0u64;
    poll_fn(|cx| loop {
        let mut reader = Pin::new(&mut *reader);
        let writer = Pin::new(&mut *writer);
        let coop = ready!(gorun_coop::poll_proceed(cx));
        let buf = ready!(reader.as_mut().poll_fill_buf(cx))?;
        coop.made_progress();
        if buf.is_empty() {
            ready!(writer.poll_flush(cx))?;
            return Poll::Ready(Ok(amt));
        }
        let n = ready!(writer.poll_write(cx, buf))?;
        if n == 0 {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::WriteZero,
                "write zero bytes into writer",
            )));
        }
        reader.consume(n);
        amt += n as u64;
    })
    .await
}

/// One direction of [`copy_bidirectional`].
enum Transfer {
    Running(CopyBuffer),
    ShuttingDown(u64),
    Done(u64),
}

impl Transfer {
    /// Copies, then shuts the writer down once the reader ends: the peer on that
    /// side reads EOF while the other direction may still run.
    fn poll<R, W>(
        &mut self,
        cx: &mut Context<'_>,
        mut reader: Pin<&mut R>,
        mut writer: Pin<&mut W>,
    ) -> Poll<io::Result<u64>>
    where
        R: AsyncRead + ?Sized,
        W: AsyncWrite + ?Sized,
    {
        loop {
            match self {
                Transfer::Running(buf) => {
                    let n = ready!(buf.poll_copy(cx, reader.as_mut(), writer.as_mut()))?;
                    *self = Transfer::ShuttingDown(n);
                }
                Transfer::ShuttingDown(n) => {
                    ready!(writer.as_mut().poll_close(cx))?;
                    *self = Transfer::Done(*n);
                }
                Transfer::Done(n) => return Poll::Ready(Ok(*n)),
            }
        }
    }
}

/// Copies between `a` and `b` in both directions at once until both readers end:
/// `Ok((bytes a → b, bytes b → a))` (tokio's `io::copy_bidirectional`).
///
/// When one side's reader ends, the other side's writer is shut down (`poll_close`:
/// for a TCP stream, a half-close, so its peer reads EOF) while the other
/// direction goes on. The first error in either direction ends both.
///
/// ```
/// use gorun::io::{AsyncReadExt, AsyncWriteExt};
///
/// # futures::executor::block_on(async {
/// let (mut client, mut a) = gorun::io::duplex(64);
/// let (mut b, mut server) = gorun::io::duplex(64);
/// client.write_all(b"ping").await.unwrap();
/// client.shutdown().await.unwrap();
/// server.write_all(b"pong!").await.unwrap();
/// server.shutdown().await.unwrap();
/// let (up, down) = gorun::io::copy_bidirectional(&mut a, &mut b).await.unwrap();
/// assert_eq!((up, down), (4, 5));
/// let mut got = Vec::new();
/// server.read_to_end(&mut got).await.unwrap();
/// assert_eq!(got, b"ping");
/// # });
/// ```
pub async fn copy_bidirectional<A, B>(a: &mut A, b: &mut B) -> io::Result<(u64, u64)>
where
    A: AsyncRead + AsyncWrite + Unpin + ?Sized,
    B: AsyncRead + AsyncWrite + Unpin + ?Sized,
{
    copy_bidirectional_with_sizes(a, b, COPY_BUF_SIZE, COPY_BUF_SIZE).await
}

/// [`copy_bidirectional`] with a buffer of `a_to_b` bytes for the direction from
/// `a` to `b`, and `b_to_a` for the other. Panics if either is 0.
///
/// ```
/// use gorun::io::AsyncWriteExt;
///
/// # futures::executor::block_on(async {
/// let (mut x, mut a) = gorun::io::duplex(64);
/// let (mut b, mut y) = gorun::io::duplex(64);
/// x.shutdown().await.unwrap();
/// y.shutdown().await.unwrap();
/// let n = gorun::io::copy_bidirectional_with_sizes(&mut a, &mut b, 1024, 16).await;
/// assert_eq!(n.unwrap(), (0, 0));
/// # });
/// ```
pub async fn copy_bidirectional_with_sizes<A, B>(
    a: &mut A,
    b: &mut B,
    a_to_b: usize,
    b_to_a: usize,
) -> io::Result<(u64, u64)>
where
    A: AsyncRead + AsyncWrite + Unpin + ?Sized,
    B: AsyncRead + AsyncWrite + Unpin + ?Sized,
{
    let mut up = Transfer::Running(CopyBuffer::new(a_to_b));
    let mut down = Transfer::Running(CopyBuffer::new(b_to_a));
    poll_fn(|cx| {
        let up = up.poll(cx, Pin::new(&mut *a), Pin::new(&mut *b))?;
        let down = down.poll(cx, Pin::new(&mut *b), Pin::new(&mut *a))?;
        match (up, down) {
            (Poll::Ready(up), Poll::Ready(down)) => Poll::Ready(Ok((up, down))),
            _ => Poll::Pending,
        }
    })
    .await
}
