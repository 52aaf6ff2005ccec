//! [`split`]: one reader-writer as a [`ReadHalf`] and a [`WriteHalf`] that can go
//! to different tasks.
//!
//! Invariants:
//! 1. The stream lives in one `Arc<Mutex<T>>` shared by exactly the two halves;
//!    each poll locks it for the duration of one `poll_*` call (a non-blocking
//!    step, so a half that finds it locked waits for at most one such call, never
//!    for the other half's I/O to become ready: a half that returns `Pending` has
//!    already released the lock).
//! 2. The stream is never moved while split: it is pinned in the `Arc`'s
//!    allocation, dropped there when both halves are gone, and moved out only by
//!    [`ReadHalf::unsplit`], which requires `T: Unpin`. So `T` need not be `Unpin`.
//! 3. A panic inside the stream's poll poisons the mutex; the halves ignore the
//!    poisoning (the stream is whatever the panicking call left, as in tokio).
//!
//! Each half registers its own waker with the stream when it polls. gorun's
//! sockets and [`DuplexStream`](super::DuplexStream) keep one waker per direction,
//! so the halves never steal each other's wakes; a stream that keeps a single
//! waker for both directions should not be split across tasks (true of tokio's
//! `split` too). For gorun's `TcpStream`, `into_split` needs no lock at all.

use std::fmt;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use futures_io::{AsyncRead, AsyncWrite};

/// Splits a reader-writer into halves that can be used from different tasks at
/// once (tokio's `io::split`); [`ReadHalf::unsplit`] puts it back together.
///
/// ```
/// use gorun::io::{AsyncReadExt, AsyncWriteExt};
///
/// # futures::executor::block_on(async {
/// let (a, mut b) = gorun::io::duplex(64);
/// let (mut rd, mut wr) = gorun::io::split(a);
/// wr.write_all(b"to b").await.unwrap();
/// b.write_all(b"to a").await.unwrap();
/// let mut buf = [0; 4];
/// rd.read_exact(&mut buf).await.unwrap();
/// assert_eq!(&buf, b"to a");
/// let a = rd.unsplit(wr);
/// # drop(a);
/// # });
/// ```
pub fn split<T>(stream: T) -> (ReadHalf<T>, WriteHalf<T>)
where
    T: AsyncRead + AsyncWrite,
{
    let shared = Arc::new(Mutex::new(stream));
    (
        ReadHalf {
            shared: shared.clone(),
        },
        WriteHalf { shared },
    )
}

/// Runs `f` on the stream, locked and pinned.
fn with_pinned<T, R>(shared: &Mutex<T>, f: impl FnOnce(Pin<&mut T>) -> R) -> R {
    let mut guard = shared.lock().unwrap_or_else(PoisonError::into_inner);
    // SAFETY: the stream is never moved while the halves share it (invariant 2): it
    // stays in the `Arc` allocation until it is dropped there, or until `unsplit`
    // moves it out, which requires `T: Unpin`. No `&mut T` escapes unpinned: this
    // is the only place the lock is taken while the stream is shared.
    let stream = unsafe { Pin::new_unchecked(&mut *guard) };
    f(stream)
}

/// The read half of [`split`]: [`AsyncRead`].
pub struct ReadHalf<T> {
    shared: Arc<Mutex<T>>,
}

/// The write half of [`split`]: [`AsyncWrite`].
pub struct WriteHalf<T> {
    shared: Arc<Mutex<T>>,
}

impl<T> ReadHalf<T> {
    /// Whether `other` is the write half split from the same stream.
    ///
    /// ```
    /// let (rd, wr) = gorun::io::split(gorun::io::duplex(8).0);
    /// let (_, other) = gorun::io::split(gorun::io::duplex(8).0);
    /// assert!(rd.is_pair_of(&wr));
    /// assert!(!rd.is_pair_of(&other));
    /// ```
    pub fn is_pair_of(&self, other: &WriteHalf<T>) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }

    /// Puts the stream back together.
    ///
    /// Panics if `wr` was split from another stream.
    ///
    /// ```
    /// let (a, _b) = gorun::io::duplex(8);
    /// let (rd, wr) = gorun::io::split(a);
    /// let a: gorun::io::DuplexStream = rd.unsplit(wr);
    /// # drop(a);
    /// ```
    pub fn unsplit(self, wr: WriteHalf<T>) -> T
    where
        T: Unpin,
    {
        assert!(
            self.is_pair_of(&wr),
            "`ReadHalf::unsplit` was given the `WriteHalf` of another stream"
        );
        drop(wr);
        let shared = Arc::try_unwrap(self.shared)
            .unwrap_or_else(|_| unreachable!("the two halves are the only owners"));
        shared.into_inner().unwrap_or_else(PoisonError::into_inner)
    }
}

impl<T> WriteHalf<T> {
    /// Whether `other` is the read half split from the same stream.
    pub fn is_pair_of(&self, other: &ReadHalf<T>) -> bool {
        other.is_pair_of(self)
    }
}

impl<T: AsyncRead> AsyncRead for ReadHalf<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        with_pinned(&self.shared, |s| s.poll_read(cx, buf))
    }

    fn poll_read_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &mut [io::IoSliceMut<'_>],
    ) -> Poll<io::Result<usize>> {
        with_pinned(&self.shared, |s| s.poll_read_vectored(cx, bufs))
    }
}

impl<T: AsyncWrite> AsyncWrite for WriteHalf<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        with_pinned(&self.shared, |s| s.poll_write(cx, buf))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        with_pinned(&self.shared, |s| s.poll_write_vectored(cx, bufs))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        with_pinned(&self.shared, |s| s.poll_flush(cx))
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        with_pinned(&self.shared, |s| s.poll_close(cx))
    }
}

impl<T> fmt::Debug for ReadHalf<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReadHalf").finish_non_exhaustive()
    }
}

impl<T> fmt::Debug for WriteHalf<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WriteHalf").finish_non_exhaustive()
    }
}
