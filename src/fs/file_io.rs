//! The state machine behind [`File`]'s `AsyncRead`, `AsyncWrite` and `AsyncSeek`.
//!
//! # Invariants
//! - `State::Idle(Some(buf))`: nothing of ours runs on the pool except, perhaps,
//!   the write queue's writer. `State::Busy(handle)`: one read or seek runs; its
//!   closure owns the buffer and a clone of the `Arc<std::fs::File>`, and hands
//!   both back (the clone dropped before the handle completes). Dropping the
//!   `File` detaches the closure, which then closes the file when it ends.
//! - A read or seek starts only when the write queue is drained, and every write
//!   first finishes the read or seek in flight: the two never overlap.
//! - Bytes in `buf` were read from the OS but not by the caller, so the OS
//!   position is `buf.len()` ahead of the caller's. A seek adds `-buf.len()` to a
//!   `SeekFrom::Current`, a write seeks back over them first, and both drop them
//!   (as do `set_len`, `try_clone` and `into_std`).
//! - Read-ahead: a read asks the OS for `max(dst.len(), next_read)` bytes, capped
//!   by `max_buf_size`. `next_read` is 0 except for a regular file (`regular ==
//!   Some(true)`, learned by the first read's `fstat`) whose last read filled its
//!   request (`read_req`): then it is twice that request, so sequential reads grow
//!   to `max_buf_size` per trip and are served from `buf` in between. A short
//!   read, a seek or a write resets it. Pipes, FIFOs, terminals and sockets are
//!   read exactly as asked, as in tokio (reading ahead could block on, or take,
//!   bytes the caller never asked for). Otherwise only a read future dropped (or
//!   re-polled with a smaller buffer) mid-trip leaves bytes in `buf`.
//! - `seek_req` is the `SeekFrom` of the seek in flight started by `poll_seek`; a
//!   finished seek is `poll_seek`'s answer only if it asks for the same position
//!   (a seek future dropped mid-way has moved the file or not, as in tokio).

use std::future::Future;
use std::io::{self, Seek, SeekFrom};
use std::path::Path;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use futures_io::{AsyncRead, AsyncSeek, AsyncWrite};

use super::buf::Buf;
use super::error::{background_failed, maybe_with_path};
use super::write_behind::WriteBehind;
use super::File;
use crate::JoinHandle;

/// What a `File` does between calls; see the module invariants.
#[derive(Debug)]
pub(super) struct Inner {
    pub(super) state: State,
    pub(super) writes: WriteBehind,
    pub(super) seek_req: Option<SeekFrom>,
    /// Whether the file is a regular file; `None` until the first read.
    pub(super) regular: Option<bool>,
    /// Bytes the read in flight asked for.
    pub(super) read_req: usize,
    /// The read-ahead size for the next read (see the invariants).
    pub(super) next_read: usize,
    /// Written to (or truncated): the last close goes to the blocking pool.
    pub(super) written: bool,
}

#[derive(Debug)]
pub(super) enum State {
    Idle(Option<Buf>),
    Busy(JoinHandle<(Operation, Buf)>),
}

#[derive(Debug)]
pub(super) enum Operation {
    /// A read's outcome, and whether the file is regular if the closure checked.
    Read(io::Result<usize>, Option<bool>),
    Seek(io::Result<u64>),
}

impl Inner {
    pub(super) fn new() -> Inner {
        Inner {
            state: State::Idle(Some(Buf::new())),
            writes: WriteBehind::default(),
            seek_req: None,
            regular: None,
            read_req: 0,
            next_read: 0,
            written: false,
        }
    }

    /// The buffer of an idle file.
    pub(super) fn idle_buf(&mut self) -> &mut Buf {
        match &mut self.state {
            State::Idle(Some(buf)) => buf,
            _ => unreachable!("File state is not idle"),
        }
    }

    /// Waits for the read or seek in flight, if any: `Ready(None)` if there was
    /// none, else its outcome. Leaves the state `Idle`.
    pub(super) fn poll_complete(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<io::Result<Operation>>> {
        let State::Busy(handle) = &mut self.state else {
            return Poll::Ready(None);
        };
        let res = ready!(Pin::new(handle).poll(cx));
        Poll::Ready(Some(match res {
            Ok((op, buf)) => {
                self.state = State::Idle(Some(buf));
                Ok(op)
            }
            Err(e) => {
                self.state = State::Idle(Some(Buf::new()));
                Err(background_failed(e))
            }
        }))
    }

    /// Waits for everything in flight: the read or seek, then the queued writes.
    /// A read's bytes stay buffered; a write error stays stored.
    pub(super) fn poll_settle(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if let Some(res) = ready!(self.poll_complete(cx)) {
            self.seek_req = None;
            res?;
        }
        ready!(self.writes.poll_drained(cx));
        Poll::Ready(Ok(()))
    }
}

impl AsyncRead for File {
    /// Returns buffered bytes if there are any, else reads `dst.len()` bytes in one
    /// blocking-pool trip (more for a regular file read sequentially: see the
    /// [module docs](super#how-a-file-buffers)), at most
    /// [`max_buf_size`](File::max_buf_size).
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        dst: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let me = self.get_mut();
        let path = me.path.as_deref();
        let inner = me.inner.get_mut();
        loop {
            match ready!(inner.poll_complete(cx)) {
                Some(Ok(Operation::Read(Ok(n), regular))) => {
                    inner.regular = regular.or(inner.regular);
                    let full = n == inner.read_req && n > 0;
                    inner.next_read = if full && inner.regular == Some(true) {
                        n.saturating_mul(2)
                    } else {
                        0
                    };
                    return Poll::Ready(Ok(inner.idle_buf().copy_to(dst)));
                }
                Some(Ok(Operation::Read(Err(e), regular))) => {
                    inner.regular = regular.or(inner.regular);
                    inner.next_read = 0;
                    return Poll::Ready(Err(maybe_with_path(e, "read", path)));
                }
                Some(Ok(Operation::Seek(_))) => inner.seek_req = None,
                Some(Err(e)) => return Poll::Ready(Err(e)),
                None => {}
            }
            let buf = inner.idle_buf();
            if !buf.is_empty() || dst.is_empty() {
                return Poll::Ready(Ok(buf.copy_to(dst)));
            }
            ready!(inner.writes.poll_drained(cx));
            let mut buf = match &mut inner.state {
                State::Idle(cell) => cell.take().expect("idle File holds its buffer"),
                State::Busy(_) => unreachable!(),
            };
            let max = dst.len().max(inner.next_read).min(me.max_buf_size.max(1));
            inner.read_req = max;
            let check = inner.regular.is_none();
            let std = me.std.clone();
            inner.state = State::Busy(crate::spawn_blocking(move || {
                let regular = check.then(|| std.metadata().is_ok_and(|m| m.is_file()));
                let res = buf.read_from(&mut &*std, max);
                (Operation::Read(res, regular), buf)
            }));
        }
    }
}

impl AsyncWrite for File {
    /// Copies up to [`max_buf_size`](File::max_buf_size) bytes into the write
    /// queue and returns; the blocking pool writes them. `Pending` only while the
    /// queue is full (or a read or seek is in flight). An error of an earlier
    /// background write is returned here (or by `flush`) instead.
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        src: &[u8],
    ) -> Poll<io::Result<usize>> {
        let me = self.get_mut();
        let inner = me.inner.get_mut();
        if let Some(res) = ready!(inner.poll_complete(cx)) {
            inner.seek_req = None;
            res?;
        }
        if let Some(e) = inner.writes.take_err() {
            return Poll::Ready(Err(e));
        }
        if src.is_empty() {
            return Poll::Ready(Ok(0)); // before read-ahead is dropped: it stays valid
        }
        inner.next_read = 0;
        inner.written = true;
        let buf = inner.idle_buf();
        let seek_first = (!buf.is_empty()).then(|| buf.discard_read());
        inner.writes.poll_write(
            cx,
            src,
            me.max_buf_size,
            seek_first,
            &me.std,
            me.path.as_ref(),
        )
    }

    /// Waits until every accepted byte is written; returns the error of a failed
    /// background write, if any.
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let inner = self.get_mut().inner.get_mut();
        ready!(inner.poll_settle(cx))?;
        Poll::Ready(match inner.writes.take_err() {
            Some(e) => Err(e),
            None => Ok(()),
        })
    }

    /// [`poll_flush`](File::poll_flush) (tokio's `shutdown`): the file stays open
    /// until dropped.
    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_flush(cx)
    }
}

impl AsyncSeek for File {
    /// Waits for the writes in flight, then seeks on the blocking pool, counting
    /// bytes read ahead but not consumed (so `SeekFrom::Current(0)` reports the
    /// caller's position).
    fn poll_seek(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        pos: SeekFrom,
    ) -> Poll<io::Result<u64>> {
        let me = self.get_mut();
        let path = me.path.as_deref();
        let inner = me.inner.get_mut();
        loop {
            match ready!(inner.poll_complete(cx)) {
                Some(Ok(Operation::Seek(res))) => {
                    if inner.seek_req.take() == Some(pos) {
                        return Poll::Ready(res.map_err(|e| maybe_with_path(e, "seek", path)));
                    }
                }
                Some(Ok(Operation::Read(..))) | None => {}
                Some(Err(e)) => {
                    inner.seek_req = None;
                    return Poll::Ready(Err(e));
                }
            }
            ready!(inner.writes.poll_drained(cx));
            let mut buf = match &mut inner.state {
                State::Idle(cell) => cell.take().expect("idle File holds its buffer"),
                State::Busy(_) => unreachable!(),
            };
            inner.next_read = 0;
            let mut target = pos;
            let back = buf.discard_read();
            if let SeekFrom::Current(off) = &mut target {
                *off = off.saturating_add(back);
            }
            let std = me.std.clone();
            inner.seek_req = Some(pos);
            inner.state = State::Busy(crate::spawn_blocking(move || {
                let res = (&*std).seek(target);
                (Operation::Seek(res), buf)
            }));
        }
    }
}

/// Seeks `std` back over `back` read-ahead bytes (`back <= 0`), inline: an
/// `lseek` does no I/O.
pub(super) fn seek_back(std: &std::fs::File, back: i64, path: Option<&Path>) -> io::Result<()> {
    if back != 0 {
        let mut f = std;
        f.seek(SeekFrom::Current(back))
            .map_err(|e| maybe_with_path(e, "seek", path))?;
    }
    Ok(())
}
