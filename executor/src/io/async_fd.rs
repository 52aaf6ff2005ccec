//! `AsyncFd`: any file descriptor on the reactor (tokio's `io::unix::AsyncFd`), for
//! what gorun has no type of its own for: inotify, eventfd, timerfd, serial ports,
//! tun devices, netlink or a protocol socket built with `libc`.
//!
//! Invariants:
//! - `T: AsFd` (I/O safety): every fd this module registers or deregisters is one
//!   that `inner` lends it at that moment, so it never touches an fd it does not
//!   hold (tokio's `AsyncFd::new` took any `AsRawFd` and is deprecated as unsound for
//!   that reason; its replacement is an `unsafe fn`).
//! - The fd is registered (edge-triggered, as every gorun socket) from `new` until
//!   drop or `into_inner`, which deregister it *before* the inner value (and so the
//!   fd) is dropped or handed back: the reactor never holds a closed or reused fd.
//! - Readiness is consumed only by a guard's `clear_ready` or by `try_io` seeing
//!   `WouldBlock`, with the tick it was observed at (see `scheduled_io.rs`), so an
//!   event that lands meanwhile is never lost.

use std::fmt;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::task::{ready, Context, Poll};

use mio::unix::SourceFd;

use super::registration::Registration;
use super::scheduled_io::{Direction, ReadyEvent};

/// Which readiness an [`AsyncFd`] waits for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Interest(mio::Interest);

impl Interest {
    /// Readable (or, for a listening socket, a connection to accept).
    pub const READABLE: Interest = Interest(mio::Interest::READABLE);
    /// Writable.
    pub const WRITABLE: Interest = Interest(mio::Interest::WRITABLE);

    /// Both `self` and `other`.
    pub const fn add(self, other: Interest) -> Interest {
        Interest(self.0.add(other.0))
    }

    /// Whether this includes readable.
    pub const fn is_readable(self) -> bool {
        self.0.is_readable()
    }

    /// Whether this includes writable.
    pub const fn is_writable(self) -> bool {
        self.0.is_writable()
    }
}

impl std::ops::BitOr for Interest {
    type Output = Interest;

    fn bitor(self, other: Interest) -> Interest {
        self.add(other)
    }
}

/// A file descriptor owned by `T`, registered with the current runtime's reactor
/// (the global runtime's outside any). The fd should be in non-blocking mode: the
/// reactor reports readiness, the operations are yours.
///
/// `T` lends its fd through [`AsFd`] (`OwnedFd`, `File`, std's sockets, your own
/// type), so registering needs no `unsafe` (tokio's `AsyncFd::register` does). If
/// you swap the fd inside `T` through [`get_mut`](Self::get_mut), the registration
/// stays with the old one (the kernel drops it when that fd closes) and the new one
/// gets no events: register it with a new `AsyncFd` instead.
///
/// ```
/// # gorun_executor::Runtime::builder().procs(2).build().unwrap().block_on(async {
/// use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
/// use gorun_executor::unix::AsyncFd;
///
/// // An eventfd: writing adds to a counter, reading takes it.
/// // SAFETY (of the example): eventfd returns a new fd that we own, or -1.
/// let fd = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
/// assert!(fd >= 0);
/// // SAFETY (of the example): `fd` is open and owned by nobody else.
/// let efd = AsyncFd::new(unsafe { OwnedFd::from_raw_fd(fd) }).unwrap();
///
/// let raw = efd.as_raw_fd();
/// std::thread::spawn(move || {
///     // SAFETY (of the example): writes 8 bytes from a live u64 to the open fd.
///     unsafe { libc::write(raw, (&1u64 as *const u64).cast(), 8) };
/// });
/// let n = loop {
///     let mut guard = efd.readable().await.unwrap();
///     let mut n = 0u64;
///     // SAFETY (of the example): reads 8 bytes into a live u64.
///     let r = guard.try_io(|fd| match unsafe { libc::read(fd.as_raw_fd(), (&mut n as *mut u64).cast(), 8) } {
///         -1 => Err(std::io::Error::last_os_error()),
///         _ => Ok(n),
///     });
///     if let Ok(r) = r {
///         break r.unwrap();
///     }
/// };
/// assert_eq!(n, 1);
/// # });
/// ```
pub struct AsyncFd<T: AsFd> {
    reg: Registration,
    /// `Some` until `into_inner`.
    inner: Option<T>,
}

impl<T: AsFd> AsyncFd<T> {
    /// Registers `inner`'s fd for readable and writable readiness.
    ///
    /// # Errors
    /// The reactor's error: `EPERM` for a regular file or a directory (epoll does not
    /// take them; use `gorun::fs`), `EEXIST` if the fd is already registered.
    pub fn new(inner: T) -> io::Result<AsyncFd<T>> {
        AsyncFd::with_interest(inner, Interest::READABLE | Interest::WRITABLE)
    }

    /// Registers `inner`'s fd for `interest` only.
    ///
    /// # Errors
    /// As [`new`](Self::new).
    pub fn with_interest(inner: T, interest: Interest) -> io::Result<AsyncFd<T>> {
        let fd = inner.as_fd().as_raw_fd();
        let reg = Registration::new(&mut SourceFd(&fd), fd, interest.0)?;
        Ok(AsyncFd {
            reg,
            inner: Some(inner),
        })
    }

    /// The inner value.
    pub fn get_ref(&self) -> &T {
        self.inner.as_ref().expect("present until into_inner")
    }

    /// The inner value, mutably.
    pub fn get_mut(&mut self) -> &mut T {
        self.inner.as_mut().expect("present until into_inner")
    }

    /// Deregisters the fd and gives the inner value back.
    pub fn into_inner(mut self) -> T {
        self.deregister();
        self.inner.take().expect("present until into_inner")
    }

    /// Consumes a guard's readiness, if it still holds one.
    fn clear_ready_event(&self, ev: &mut Option<ReadyEvent>) {
        if let Some(ev) = ev.take() {
            self.reg.clear_readiness(ev);
        }
    }

    fn deregister(&self) {
        if let Some(inner) = &self.inner {
            // The fd `inner` lends now: never one it does not hold.
            self.reg
                .deregister(&mut SourceFd(&inner.as_fd().as_raw_fd()));
        }
    }

    /// Polls for read readiness; the guard says it is there.
    pub fn poll_read_ready<'a>(
        &'a self,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<AsyncFdReadyGuard<'a, T>>> {
        let ev = ready!(self.reg.poll_ready(cx, Direction::Read))?;
        Poll::Ready(Ok(AsyncFdReadyGuard {
            fd: self,
            ev: Some(ev),
        }))
    }

    /// Polls for write readiness.
    pub fn poll_write_ready<'a>(
        &'a self,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<AsyncFdReadyGuard<'a, T>>> {
        let ev = ready!(self.reg.poll_ready(cx, Direction::Write))?;
        Poll::Ready(Ok(AsyncFdReadyGuard {
            fd: self,
            ev: Some(ev),
        }))
    }

    /// Waits until the fd may be readable. Do the read through
    /// [`AsyncFdReadyGuard::try_io`], or call
    /// [`clear_ready`](AsyncFdReadyGuard::clear_ready) when it would block, else the
    /// next wait returns at once. Cancel-safe.
    pub async fn readable(&self) -> io::Result<AsyncFdReadyGuard<'_, T>> {
        std::future::poll_fn(|cx| self.poll_read_ready(cx)).await
    }

    /// Waits until the fd may be writable; see [`readable`](Self::readable).
    pub async fn writable(&self) -> io::Result<AsyncFdReadyGuard<'_, T>> {
        std::future::poll_fn(|cx| self.poll_write_ready(cx)).await
    }

    /// [`readable`](Self::readable) with a guard that gives `&mut T`.
    pub async fn readable_mut(&mut self) -> io::Result<AsyncFdReadyMutGuard<'_, T>> {
        let ev = std::future::poll_fn(|cx| self.reg.poll_ready(cx, Direction::Read)).await?;
        Ok(AsyncFdReadyMutGuard {
            fd: self,
            ev: Some(ev),
        })
    }

    /// [`writable`](Self::writable) with a guard that gives `&mut T`.
    pub async fn writable_mut(&mut self) -> io::Result<AsyncFdReadyMutGuard<'_, T>> {
        let ev = std::future::poll_fn(|cx| self.reg.poll_ready(cx, Direction::Write)).await?;
        Ok(AsyncFdReadyMutGuard {
            fd: self,
            ev: Some(ev),
        })
    }

    /// Runs `f` whenever the fd is ready for `interest` (readable if it includes
    /// readable, else writable), waiting again each time it returns `WouldBlock`.
    /// Charges the task's cooperative budget.
    pub async fn async_io<R>(
        &self,
        interest: Interest,
        mut f: impl FnMut(&T) -> io::Result<R>,
    ) -> io::Result<R> {
        let dir = if interest.is_readable() {
            Direction::Read
        } else {
            Direction::Write
        };
        let inner = self.get_ref();
        std::future::poll_fn(|cx| self.reg.poll_io(cx, dir, || f(inner))).await
    }
}

impl<T: AsFd> AsRawFd for AsyncFd<T> {
    fn as_raw_fd(&self) -> RawFd {
        self.get_ref().as_fd().as_raw_fd()
    }
}

impl<T: AsFd> AsFd for AsyncFd<T> {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.get_ref().as_fd()
    }
}

impl<T: AsFd + fmt::Debug> fmt::Debug for AsyncFd<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncFd")
            .field("inner", &self.inner)
            .finish()
    }
}

impl<T: AsFd> Drop for AsyncFd<T> {
    fn drop(&mut self) {
        // Deregister while the fd is still open; `inner` (and the fd) drops after.
        self.deregister();
    }
}

/// `try_io`'s result: `WouldBlock` becomes [`TryIoError`] once `clear` has consumed
/// the guard's readiness (the next wait then waits for a new event).
fn would_block_clears<R>(
    r: io::Result<R>,
    clear: impl FnOnce(),
) -> Result<io::Result<R>, TryIoError> {
    match r {
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
            clear();
            Err(TryIoError(()))
        }
        r => Ok(r),
    }
}

/// `f` would have blocked: the readiness was cleared (from
/// [`AsyncFdReadyGuard::try_io`]); wait again.
#[derive(Debug)]
pub struct TryIoError(());

/// Readiness seen by [`AsyncFd::readable`]/[`writable`](AsyncFd::writable).
pub struct AsyncFdReadyGuard<'a, T: AsFd> {
    fd: &'a AsyncFd<T>,
    /// `None` once cleared.
    ev: Option<ReadyEvent>,
}

impl<'a, T: AsFd> AsyncFdReadyGuard<'a, T> {
    /// Says the fd is no longer ready (an operation returned `WouldBlock`): the
    /// next wait waits for a new event. An event that arrived since this guard was
    /// made is kept.
    pub fn clear_ready(&mut self) {
        self.fd.clear_ready_event(&mut self.ev);
    }

    /// Keeps the readiness (the default when the guard drops).
    pub fn retain_ready(&mut self) {
        self.ev = None;
    }

    /// Runs `f`; if it returns `WouldBlock`, clears the readiness and returns
    /// `Err(TryIoError)` (wait again), else its result.
    ///
    /// # Errors
    /// [`TryIoError`] if `f` would have blocked.
    pub fn try_io<R>(
        &mut self,
        f: impl FnOnce(&'a AsyncFd<T>) -> io::Result<R>,
    ) -> Result<io::Result<R>, TryIoError> {
        let r = f(self.fd);
        would_block_clears(r, || self.clear_ready())
    }

    /// The `AsyncFd`.
    pub fn get_ref(&self) -> &'a AsyncFd<T> {
        self.fd
    }

    /// The inner value.
    pub fn get_inner(&self) -> &'a T {
        self.fd.get_ref()
    }
}

impl<T: AsFd> fmt::Debug for AsyncFdReadyGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncFdReadyGuard")
            .field("fd", &self.fd.as_raw_fd())
            .finish_non_exhaustive()
    }
}

/// Readiness seen by [`AsyncFd::readable_mut`]/[`writable_mut`](AsyncFd::writable_mut),
/// giving `&mut T`.
pub struct AsyncFdReadyMutGuard<'a, T: AsFd> {
    fd: &'a mut AsyncFd<T>,
    ev: Option<ReadyEvent>,
}

impl<T: AsFd> AsyncFdReadyMutGuard<'_, T> {
    /// See [`AsyncFdReadyGuard::clear_ready`].
    pub fn clear_ready(&mut self) {
        self.fd.clear_ready_event(&mut self.ev);
    }

    /// Keeps the readiness.
    pub fn retain_ready(&mut self) {
        self.ev = None;
    }

    /// See [`AsyncFdReadyGuard::try_io`]; `f` gets `&mut AsyncFd<T>`.
    ///
    /// # Errors
    /// [`TryIoError`] if `f` would have blocked.
    pub fn try_io<R>(
        &mut self,
        f: impl FnOnce(&mut AsyncFd<T>) -> io::Result<R>,
    ) -> Result<io::Result<R>, TryIoError> {
        let r = f(self.fd);
        would_block_clears(r, || self.clear_ready())
    }

    /// The inner value.
    pub fn get_inner(&self) -> &T {
        self.fd.get_ref()
    }

    /// The inner value, mutably.
    pub fn get_inner_mut(&mut self) -> &mut T {
        self.fd.get_mut()
    }
}

impl<T: AsFd> fmt::Debug for AsyncFdReadyMutGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncFdReadyMutGuard")
            .field("fd", &self.fd.as_raw_fd())
            .finish_non_exhaustive()
    }
}
