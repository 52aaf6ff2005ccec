//! The handle a socket holds on its runtime's reactor.
//!
//! # Invariants
//! - [`PollEvented`] owns the mio source; on drop it deregisters the source, then
//!   the [`Registration`] frees its slab slot (dropping any stored wakers), then the
//!   source closes its fd. Nothing outlives the socket but the `Arc<Reactor>` it
//!   held, which the runtime or other sockets own too.
//! - I/O is attempted only after `poll_ready`, and readiness is cleared only on
//!   `WouldBlock` or a short stream transfer, with the tick it was observed at (see
//!   `scheduled_io.rs`).

use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::sync::atomic::{AtomicPtr, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::task::{ready, Context, Poll};

use mio::event::Source;
use mio::{Interest, Token};

use super::reactor::Reactor;
use super::scheduled_io::{Direction, ScheduledIo};

/// How many waits in a row from one other worker move a socket's registration there
/// (`Registration::follow_task`): a task stolen once does not drag its socket along,
/// one that keeps running elsewhere does.
const MIGRATE_AFTER: usize = 4;

/// Where a registration lives: its reactor and its token there.
struct Home {
    reactor: Arc<Reactor>,
    token: Token,
}

/// A registration in a reactor: the readiness cell, and where it is registered.
pub(crate) struct Registration {
    home: Mutex<Home>,
    /// `home.reactor`'s address, to tell without the lock whether a task polls this
    /// socket from another worker than the one whose reactor serves it.
    home_ptr: AtomicPtr<Reactor>,
    /// The worker (plus one, shifted left 8) a task last waited on this socket from,
    /// away from its reactor, and how many times in a row (low 8 bits); 0 when the
    /// last wait was at home.
    away: AtomicUsize,
    io: Arc<ScheduledIo>,
    /// The descriptor and interest, to move the registration (see `follow_task`).
    fd: RawFd,
    interest: Interest,
}

impl Registration {
    /// Registers `source`, whose descriptor is `fd`, with the current worker's
    /// reactor (off the workers, one of the current runtime's, or the global
    /// runtime's outside any runtime).
    pub(crate) fn new(
        source: &mut impl Source,
        fd: RawFd,
        interest: Interest,
    ) -> io::Result<Registration> {
        let reactor = crate::runtime::with_current_or_global(|s| {
            s.driver()
                .reactor_for(crate::scheduler::current_worker(s))
                .clone()
        });
        let (token, io) = reactor.register(source, interest)?;
        Ok(Registration {
            home_ptr: AtomicPtr::new(Arc::as_ptr(&reactor).cast_mut()),
            home: Mutex::new(Home { reactor, token }),
            away: AtomicUsize::new(0),
            io,
            fd,
            interest,
        })
    }

    fn home(&self) -> std::sync::MutexGuard<'_, Home> {
        self.home.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Deregisters `source` (the one this was made for) from the reactor; the slot
    /// is freed when `self` drops.
    pub(crate) fn deregister(&self, source: &mut impl Source) {
        self.home().reactor.deregister(source);
    }

    /// A task is about to wait for this socket: if it has done so on one other
    /// worker of the same runtime [`MIGRATE_AFTER`] times in a row, the registration
    /// moves to that worker's reactor, so the wake-ups come where the task runs
    /// (see `driver.rs`). Skipped if another task moves it now.
    ///
    /// The socket is added to the new reactor before it leaves the old one, with the
    /// same readiness cell, so no event is lost: one the old reactor collected in
    /// between lands in the same cell, and epoll reports a socket that is already
    /// ready when it is added.
    fn follow_task(&self) {
        crate::scheduler::with_current_worker_driver(|driver, index| {
            let Some(target) = driver.reactors().get(index) else {
                return;
            };
            let home_ptr = self.home_ptr.load(Relaxed);
            if std::ptr::eq(Arc::as_ptr(target), home_ptr) {
                if self.away.load(Relaxed) != 0 {
                    self.away.store(0, Relaxed);
                }
                return;
            }
            let seen = self.away.load(Relaxed);
            let streak = if seen >> 8 == index + 1 {
                (seen & 0xff) + 1
            } else {
                1
            };
            if streak < MIGRATE_AFTER {
                self.away.store((index + 1) << 8 | streak, Relaxed);
                return;
            }
            self.away.store(0, Relaxed);
            if !driver
                .reactors()
                .iter()
                .any(|r| std::ptr::eq(Arc::as_ptr(r), home_ptr))
            {
                return; // on another runtime's reactor
            }
            let Ok(mut home) = self.home.try_lock() else {
                return;
            };
            let mut fd = mio::unix::SourceFd(&self.fd);
            let Ok(token) = target.register_cell(&mut fd, self.interest, self.io.clone()) else {
                return;
            };
            home.reactor.deregister(&mut fd);
            home.reactor.release(home.token);
            *home = Home {
                reactor: target.clone(),
                token,
            };
            self.home_ptr.store(Arc::as_ptr(target).cast_mut(), Relaxed);
        });
    }

    pub(crate) fn poll_ready(
        &self,
        cx: &mut Context<'_>,
        dir: Direction,
    ) -> Poll<io::Result<super::scheduled_io::ReadyEvent>> {
        self.io.poll_ready(cx, dir)
    }

    pub(crate) fn clear_readiness(&self, ev: super::scheduled_io::ReadyEvent) {
        self.io.clear_readiness(ev);
    }

    /// Runs `f` if the last event said ready in `dir`, without waiting: tokio's
    /// `try_io`. `WouldBlock` if not ready, or if `f` would block (then the
    /// readiness is cleared, so the next wait waits for a new event).
    pub(crate) fn try_io<R>(
        &self,
        dir: Direction,
        f: impl FnOnce() -> io::Result<R>,
    ) -> io::Result<R> {
        let ev = match self.io.ready_now(dir) {
            Some(r) => r?,
            None => return Err(io::ErrorKind::WouldBlock.into()),
        };
        let r = f();
        if matches!(&r, Err(e) if e.kind() == io::ErrorKind::WouldBlock) {
            self.io.clear_readiness(ev);
        }
        r
    }

    /// Runs the non-blocking operation `f` when the socket is ready in `dir`,
    /// waiting again whenever it would block. Charges the coop budget once.
    pub(crate) fn poll_io<R>(
        &self,
        cx: &mut Context<'_>,
        dir: Direction,
        f: impl FnMut() -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        self.poll_io_until_drained(cx, dir, f, |_| false)
    }

    /// [`poll_io`](Self::poll_io) for a read or write of `len` bytes on a stream
    /// socket. A transfer that moves some bytes but fewer than `len` shows that the
    /// kernel's buffer is drained (read) or full (write), so the readiness is cleared
    /// then and there: the next call waits for an event instead of first making a
    /// system call that fails with `WouldBlock` (tokio does the same; under `wrk`
    /// that call was one `read(2)` in two). Sound with edge-triggered epoll and
    /// kqueue, which is what mio uses on Unix: data that lands after the transfer
    /// raises a new event, whose tick the clear leaves alone. Not for datagram
    /// sockets, where a short datagram says nothing about the next one.
    pub(crate) fn poll_stream_io(
        &self,
        cx: &mut Context<'_>,
        dir: Direction,
        len: usize,
        f: impl FnMut() -> io::Result<usize>,
    ) -> Poll<io::Result<usize>> {
        // Linux moves at most MAX_RW_COUNT bytes in one call, so a longer buffer
        // always comes back short; that says nothing about the socket's buffer.
        const MAX_ONE_CALL: usize = 0x7fff_f000;
        self.poll_io_until_drained(cx, dir, f, |&n| 0 < n && n < len && len <= MAX_ONE_CALL)
    }

    fn poll_io_until_drained<R>(
        &self,
        cx: &mut Context<'_>,
        dir: Direction,
        mut f: impl FnMut() -> io::Result<R>,
        drained: impl Fn(&R) -> bool,
    ) -> Poll<io::Result<R>> {
        let coop = ready!(gorun_coop::poll_proceed(cx));
        loop {
            let ev = match self.io.poll_ready(cx, dir) {
                Poll::Ready(r) => r?,
                Poll::Pending => {
                    self.follow_task();
                    return Poll::Pending;
                }
            };
            match f() {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.io.clear_readiness(ev);
                    // Only final bits remain, so the next poll_ready would say ready
                    // again: wait for a new event instead of spinning.
                    if ev.is_closed() && self.io.wait_next_event(cx, dir, ev) {
                        return Poll::Pending;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                r => {
                    if matches!(&r, Ok(v) if drained(v)) {
                        self.io.clear_readiness(ev);
                    }
                    coop.made_progress();
                    return Poll::Ready(r);
                }
            }
        }
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        let home = self.home();
        home.reactor.release(home.token);
    }
}

/// A mio source registered with a reactor; deregistered and closed on drop.
pub(crate) struct PollEvented<E: Source> {
    io: Option<E>,
    reg: Registration,
}

impl<E: Source + AsRawFd> PollEvented<E> {
    pub(crate) fn new(mut io: E, interest: Interest) -> io::Result<PollEvented<E>> {
        let fd = io.as_raw_fd();
        let reg = Registration::new(&mut io, fd, interest)?;
        Ok(PollEvented { io: Some(io), reg })
    }

    pub(crate) fn get(&self) -> &E {
        self.io.as_ref().expect("present until drop")
    }

    pub(crate) fn registration(&self) -> &Registration {
        &self.reg
    }

    /// Runs `f` on the source when ready in `dir`; see [`Registration::poll_io`].
    pub(crate) fn poll_io<R>(
        &self,
        cx: &mut Context<'_>,
        dir: Direction,
        mut f: impl FnMut(&E) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        let io = self.get();
        self.reg.poll_io(cx, dir, || f(io))
    }

    /// Runs `f` on the source when ready in `dir`; see
    /// [`Registration::poll_stream_io`].
    pub(crate) fn poll_stream_io(
        &self,
        cx: &mut Context<'_>,
        dir: Direction,
        len: usize,
        mut f: impl FnMut(&E) -> io::Result<usize>,
    ) -> Poll<io::Result<usize>> {
        let io = self.get();
        self.reg.poll_stream_io(cx, dir, len, || f(io))
    }

    /// Runs `f` on the source if it is ready in `dir`; see [`Registration::try_io`].
    pub(crate) fn try_io<R>(
        &self,
        dir: Direction,
        f: impl FnOnce(&E) -> io::Result<R>,
    ) -> io::Result<R> {
        let io = self.get();
        self.reg.try_io(dir, || f(io))
    }

    /// Deregisters the source and gives it back (for `into_std`).
    pub(crate) fn into_inner(mut self) -> E {
        let mut io = self.io.take().expect("present until drop");
        self.reg.deregister(&mut io);
        io
    }

    /// Awaits [`poll_io`](Self::poll_io).
    pub(crate) async fn async_io<R>(
        &self,
        dir: Direction,
        mut f: impl FnMut(&E) -> io::Result<R>,
    ) -> io::Result<R> {
        std::future::poll_fn(|cx| self.poll_io(cx, dir, &mut f)).await
    }
}

impl<E: Source> Drop for PollEvented<E> {
    fn drop(&mut self) {
        if let Some(mut io) = self.io.take() {
            self.reg.deregister(&mut io);
            // `io` closes here; `reg` frees its slot right after.
        }
    }
}

impl<E: Source + std::fmt::Debug> std::fmt::Debug for PollEvented<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.io.as_ref().expect("present until drop").fmt(f)
    }
}
