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
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use mio::event::Source;
use mio::{Interest, Token};

use super::reactor::Reactor;
use super::scheduled_io::{Direction, ScheduledIo};

/// A registration in a reactor: the token, the readiness cell, and the reactor.
pub(crate) struct Registration {
    reactor: Arc<Reactor>,
    token: Token,
    io: Arc<ScheduledIo>,
}

impl Registration {
    /// Registers `source` with the current runtime's reactor (the global runtime's
    /// outside any runtime).
    pub(crate) fn new(source: &mut impl Source, interest: Interest) -> io::Result<Registration> {
        let reactor = crate::runtime::with_current_or_global(|s| s.driver.io.clone());
        let (token, io) = reactor.register(source, interest)?;
        Ok(Registration { reactor, token, io })
    }

    /// Deregisters `source` (the one this was made for) from the reactor; the slot
    /// is freed when `self` drops.
    pub(crate) fn deregister(&self, source: &mut impl Source) {
        self.reactor.deregister(source);
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
            let ev = ready!(self.io.poll_ready(cx, dir))?;
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
        self.reactor.release(self.token);
    }
}

/// A mio source registered with a reactor; deregistered and closed on drop.
pub(crate) struct PollEvented<E: Source> {
    io: Option<E>,
    reg: Registration,
}

impl<E: Source> PollEvented<E> {
    pub(crate) fn new(mut io: E, interest: Interest) -> io::Result<PollEvented<E>> {
        let reg = Registration::new(&mut io, interest)?;
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
        self.reg.reactor.deregister(&mut io);
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
            self.reg.reactor.deregister(&mut io);
            // `io` closes here; `reg` frees its slot right after.
        }
    }
}

impl<E: Source + std::fmt::Debug> std::fmt::Debug for PollEvented<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.get().fmt(f)
    }
}
