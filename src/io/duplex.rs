//! [`duplex`]: an in-memory, bidirectional pipe pair (tokio's `io::duplex`).
//!
//! Two [`Pipe`]s, one per direction, each an `Arc<Mutex<_>>` shared by the stream
//! that writes into it and the stream that reads from it. Invariants of a pipe:
//! 1. `buf.len() <= max`: a write takes at most `max - buf.len()` bytes and, with
//!    no room, stores its waker and returns `Pending` (backpressure); a read that
//!    frees room wakes it.
//! 2. A read with nothing buffered returns `Ok(0)` (EOF) once `write_closed` is
//!    set (the writing stream shut down or dropped), and otherwise stores its
//!    waker; a write wakes it.
//! 3. A write fails with `BrokenPipe` once `read_closed` (the reading stream was
//!    dropped: nobody will ever read) or `write_closed` (writing after shutdown).
//! 4. Wakers are taken out under the lock and woken after it is released.
//! 5. Every read and write that moves bytes charges the task's cooperative budget
//!    and a pending one sets the task's wait reason (`IO wait (read)` / `(write)`).

use std::fmt;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{ready, Context, Poll, Waker};

use bytes::{Buf, BytesMut};
use futures_io::{AsyncRead, AsyncWrite};
use gorun_coop::WaitReason;

/// One direction of a [`DuplexStream`] pair.
struct Pipe {
    buf: BytesMut,
    max: usize,
    read_closed: bool,
    write_closed: bool,
    read_waker: Option<Waker>,
    write_waker: Option<Waker>,
}

impl Pipe {
    fn new(max: usize) -> Arc<Mutex<Pipe>> {
        Arc::new(Mutex::new(Pipe {
            buf: BytesMut::new(),
            max,
            read_closed: false,
            write_closed: false,
            read_waker: None,
            write_waker: None,
        }))
    }
}

fn lock(pipe: &Mutex<Pipe>) -> MutexGuard<'_, Pipe> {
    // The pipe's state is consistent between statements; a panic in a waker's
    // clone cannot leave it half-updated.
    pipe.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Stores `cx`'s waker in `slot` unless the one there would wake the same task.
fn register(slot: &mut Option<Waker>, cx: &Context<'_>) {
    match slot {
        Some(w) if w.will_wake(cx.waker()) => {}
        _ => *slot = Some(cx.waker().clone()),
    }
}

fn wake(waker: Option<Waker>) {
    if let Some(w) = waker {
        w.wake();
    }
}

/// Creates a connected pair of in-memory streams: what one writes, the other
/// reads. Each direction buffers at most `max_buf_size` bytes; a writer facing a
/// full buffer waits for the reader (backpressure). Shutting one down
/// ([`shutdown`](super::AsyncWriteExt::shutdown)) or dropping it makes the other
/// read EOF once it has read what was sent; writing to a stream whose peer was
/// dropped fails with `BrokenPipe`.
///
/// Panics if `max_buf_size` is 0 (nothing could ever be written).
///
/// ```
/// use gorun::io::{AsyncReadExt, AsyncWriteExt};
///
/// # futures::executor::block_on(async {
/// let (mut client, mut server) = gorun::io::duplex(1024);
/// client.write_all(b"ping").await.unwrap();
/// let mut buf = [0; 4];
/// server.read_exact(&mut buf).await.unwrap();
/// assert_eq!(&buf, b"ping");
/// drop(client);
/// assert_eq!(server.read(&mut buf).await.unwrap(), 0); // EOF
/// # });
/// ```
pub fn duplex(max_buf_size: usize) -> (DuplexStream, DuplexStream) {
    assert!(max_buf_size > 0, "duplex: max_buf_size must not be 0");
    let one = Pipe::new(max_buf_size);
    let two = Pipe::new(max_buf_size);
    (
        DuplexStream {
            read: one.clone(),
            write: two.clone(),
        },
        DuplexStream {
            read: two,
            write: one,
        },
    )
}

/// One end of a [`duplex`] pair: [`AsyncRead`] + [`AsyncWrite`], `Send + Sync`.
pub struct DuplexStream {
    read: Arc<Mutex<Pipe>>,
    write: Arc<Mutex<Pipe>>,
}

impl DuplexStream {
    /// Reads from the pipe, or registers the waker (invariant 2).
    fn read_with(
        &self,
        cx: &mut Context<'_>,
        take: impl FnOnce(&mut BytesMut) -> usize,
    ) -> Poll<io::Result<usize>> {
        let coop = ready!(gorun_coop::poll_proceed(cx));
        let mut pipe = lock(&self.read);
        if pipe.buf.has_remaining() {
            let t = take(&mut pipe.buf);
            let waker = pipe.write_waker.take();
            drop(pipe);
            coop.made_progress();
            wake(waker);
            Poll::Ready(Ok(t))
        } else if pipe.write_closed {
            coop.made_progress();
            Poll::Ready(Ok(0))
        } else {
            register(&mut pipe.read_waker, cx);
            gorun_coop::set_wait_reason(WaitReason::IoRead);
            Poll::Pending
        }
    }

    /// Writes `fill(room)` bytes into the pipe, or registers the waker
    /// (invariants 1 and 3).
    fn write_with(
        &self,
        cx: &mut Context<'_>,
        len: usize,
        fill: impl FnOnce(&mut BytesMut, usize) -> usize,
    ) -> Poll<io::Result<usize>> {
        if len == 0 {
            return Poll::Ready(Ok(0));
        }
        let coop = ready!(gorun_coop::poll_proceed(cx));
        let mut pipe = lock(&self.write);
        if pipe.read_closed || pipe.write_closed {
            coop.made_progress();
            return Poll::Ready(Err(io::ErrorKind::BrokenPipe.into()));
        }
        let room = pipe.max - pipe.buf.len();
        if room == 0 {
            register(&mut pipe.write_waker, cx);
            gorun_coop::set_wait_reason(WaitReason::IoWrite);
            return Poll::Pending;
        }
        let n = fill(&mut pipe.buf, room.min(len));
        let waker = pipe.read_waker.take();
        drop(pipe);
        coop.made_progress();
        wake(waker);
        Poll::Ready(Ok(n))
    }

    /// Ends the write direction: the peer reads EOF after the buffered bytes.
    fn close_write(&self) {
        let mut pipe = lock(&self.write);
        pipe.write_closed = true;
        let waker = pipe.read_waker.take();
        drop(pipe);
        wake(waker);
    }

    /// Ends the read direction: the peer's writes fail; buffered bytes are freed.
    fn close_read(&self) {
        let mut pipe = lock(&self.read);
        pipe.read_closed = true;
        pipe.buf = BytesMut::new();
        let waker = pipe.write_waker.take();
        drop(pipe);
        wake(waker);
    }
}

impl AsyncRead for DuplexStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        out: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        if out.is_empty() {
            return Poll::Ready(Ok(0));
        }
        self.read_with(cx, |buf| {
            let n = buf.len().min(out.len());
            buf.copy_to_slice(&mut out[..n]);
            n
        })
    }
}

impl AsyncWrite for DuplexStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.write_with(cx, data.len(), |buf, n| {
            buf.extend_from_slice(&data[..n]);
            n
        })
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let len = bufs.iter().fold(0usize, |n, b| n.saturating_add(b.len()));
        self.write_with(cx, len, |buf, room| {
            let mut left = room;
            for b in bufs {
                let n = b.len().min(left);
                buf.extend_from_slice(&b[..n]);
                left -= n;
                if left == 0 {
                    break;
                }
            }
            room - left
        })
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.close_write();
        Poll::Ready(Ok(()))
    }
}

impl Drop for DuplexStream {
    fn drop(&mut self) {
        self.close_write();
        self.close_read();
    }
}

impl fmt::Debug for DuplexStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (unread, max) = {
            let pipe = lock(&self.read);
            (pipe.buf.len(), pipe.max)
        };
        f.debug_struct("DuplexStream")
            .field("unread", &unread)
            .field("max_buf_size", &max)
            .finish()
    }
}
