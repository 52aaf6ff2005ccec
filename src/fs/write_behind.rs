//! [`WriteBehind`]: a [`File`](super::File)'s write queue, drained on the blocking
//! pool while the task goes on.
//!
//! tokio's `File` copies each write into its buffer, starts one blocking-pool trip
//! for it and returns; the *next* write then waits for that trip. Here the next
//! writes keep filling a second buffer (`pending`) while the first is written, and
//! the writer closure, once its chunk is out, swaps `pending` for its spent buffer
//! and writes again, until nothing is left. A stream of 64 KiB writes so costs one
//! trip per up to 2 MiB instead of one per write, and the task's copying overlaps
//! the kernel's.
//!
//! # Invariants
//! - `active` is true from the moment `pending` gets bytes until a writer closure
//!   has found `pending` empty (under the lock) and exited; at most one writer
//!   closure exists per queue. `!active` implies `pending` is empty and the writer
//!   holds no `Arc<StdFile>` (it drops its clone before clearing `active`, under the
//!   lock), so `File::into_std` can unwrap the `Arc` once it sees `!active`.
//! - `pending.len() <= max` (the caller's `max_buf_size`); a full queue makes
//!   `poll_write` return `Pending` with the task's waker stored, and the writer
//!   wakes it when it takes `pending`, or when it exits.
//! - `seek_first` is set only on a push into an inactive queue, and is applied by
//!   the writer before it writes that push's bytes (it moves the OS file position
//!   back over read-ahead data the caller never consumed).
//! - The first error of the writer is kept in `err` (naming the file's path) and
//!   returned by the next write, flush or sync; the bytes accepted after the failed
//!   ones are dropped with it, so a hole is never written past a failure.
//! - A writer closure dropped without running (the runtime shut down with it
//!   queued) clears `active` and stores an error, so nobody waits for it forever.

use std::fs::File as StdFile;
use std::io::{self, Seek, SeekFrom, Write};
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};

use super::error::{background_failed, maybe_with_path};

/// The write queue of one file. Cloning is not offered: one `File`, one queue.
#[derive(Debug, Default)]
pub(crate) struct WriteBehind {
    shared: Arc<Mutex<Queue>>,
}

#[derive(Debug, Default)]
struct Queue {
    /// Bytes accepted and not yet taken by the writer.
    pending: Vec<u8>,
    /// The writer's spent buffer, kept between runs so its capacity is reused.
    spare: Vec<u8>,
    /// A relative seek to make before writing `pending`.
    seek_first: Option<i64>,
    /// A writer closure is queued or running.
    active: bool,
    /// The writer's first error, not yet reported.
    err: Option<io::Error>,
    /// The task waiting for room in `pending` or for the writer to finish.
    waker: Option<Waker>,
}

fn lock(m: &Mutex<Queue>) -> MutexGuard<'_, Queue> {
    // No code panics while holding the lock; a poisoned lock is still consistent.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn store_waker(slot: &mut Option<Waker>, cx: &Context<'_>) {
    match slot {
        Some(w) if w.will_wake(cx.waker()) => {}
        _ => *slot = Some(cx.waker().clone()),
    }
}

impl WriteBehind {
    /// Accepts up to `max - pending` bytes of `src` (`Pending` when the queue is
    /// full) and makes sure a writer runs. `seek_first` must be `None` unless the
    /// queue is [drained](WriteBehind::poll_drained) and holds no error.
    pub(crate) fn poll_write(
        &self,
        cx: &mut Context<'_>,
        src: &[u8],
        max: usize,
        seek_first: Option<i64>,
        file: &Arc<StdFile>,
        path: Option<&Arc<Path>>,
    ) -> Poll<io::Result<usize>> {
        let mut q = lock(&self.shared);
        if let Some(e) = q.err.take() {
            debug_assert!(seek_first.is_none(), "a seek-back lost to a write error");
            return Poll::Ready(Err(e));
        }
        if src.is_empty() {
            debug_assert!(seek_first.is_none(), "a seek-back lost to an empty write");
            return Poll::Ready(Ok(0));
        }
        let room = max.max(1).saturating_sub(q.pending.len());
        if room == 0 {
            debug_assert!(q.active && seek_first.is_none());
            store_waker(&mut q.waker, cx);
            return Poll::Pending;
        }
        let n = room.min(src.len());
        q.pending.extend_from_slice(&src[..n]);
        if let Some(back) = seek_first {
            debug_assert!(!q.active && q.pending.len() == n);
            q.seek_first = Some(back);
        }
        if !q.active {
            q.active = true;
            let buf = std::mem::take(&mut q.spare);
            drop(q);
            let writer = Writer {
                shared: self.shared.clone(),
                file: Some(file.clone()),
                path: path.cloned(),
                buf,
                done: false,
            };
            drop(crate::spawn_blocking(move || writer.run()));
        }
        Poll::Ready(Ok(n))
    }

    /// `Ready` once every accepted byte has been written (or dropped by an error,
    /// which stays stored for [`take_err`](WriteBehind::take_err)).
    pub(crate) fn poll_drained(&self, cx: &mut Context<'_>) -> Poll<()> {
        let mut q = lock(&self.shared);
        if q.active {
            store_waker(&mut q.waker, cx);
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    }

    /// Whether every accepted byte is written (a snapshot).
    pub(crate) fn is_drained(&self) -> bool {
        !lock(&self.shared).active
    }

    /// The writer's unreported error, if any.
    pub(crate) fn take_err(&self) -> Option<io::Error> {
        lock(&self.shared).err.take()
    }
}

/// The blocking-pool side: owns a clone of the file and one buffer.
struct Writer {
    shared: Arc<Mutex<Queue>>,
    file: Option<Arc<StdFile>>,
    path: Option<Arc<Path>>,
    buf: Vec<u8>,
    /// Set when `run` exited through the empty-queue check.
    done: bool,
}

impl Writer {
    fn run(mut self) {
        loop {
            let seek = {
                let mut q = lock(&self.shared);
                if q.pending.is_empty() {
                    // Exit under the lock: a push that sees `!active` starts a new
                    // writer; the file clone goes first (see the invariants).
                    self.file = None;
                    q.active = false;
                    q.spare = std::mem::take(&mut self.buf);
                    self.done = true;
                    if let Some(w) = q.waker.take() {
                        drop(q);
                        w.wake();
                    }
                    return;
                }
                std::mem::swap(&mut q.pending, &mut self.buf);
                let seek = q.seek_first.take();
                if let Some(w) = q.waker.take() {
                    drop(q);
                    w.wake(); // room in `pending` again
                }
                seek
            };
            let file = self
                .file
                .as_deref()
                .expect("the writer holds its file until it exits");
            let mut f: &StdFile = file;
            let res = match seek {
                Some(back) => f.seek(SeekFrom::Current(back)).map(drop),
                None => Ok(()),
            };
            let res = res.and_then(|()| f.write_all(&self.buf));
            self.buf.clear();
            if let Err(e) = res {
                let e = maybe_with_path(e, "write", self.path.as_deref());
                let mut q = lock(&self.shared);
                q.pending.clear();
                q.seek_first = None;
                q.err.get_or_insert(e);
            }
        }
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        // Never ran (the runtime shut down first) or unwound: nobody may wait for
        // this writer any more.
        self.file = None;
        let mut q = lock(&self.shared);
        q.active = false;
        q.pending.clear();
        q.seek_first = None;
        q.err
            .get_or_insert_with(|| background_failed("the write was dropped before it ran"));
        if let Some(w) = q.waker.take() {
            drop(q);
            w.wake();
        }
    }
}
