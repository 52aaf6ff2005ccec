//! Per-registration readiness: what the reactor last saw for one socket, and the
//! tasks waiting for it (tokio's `ScheduledIo`).
//!
//! # Invariants
//! - `state` packs the readiness bits (low byte), `SHUTDOWN`, and a tick (the bits
//!   above `TICK_SHIFT`) that the reactor bumps on every event it dispatches here.
//! - A task consumes readiness only through [`ScheduledIo::clear_readiness`] with the
//!   tick it observed: if an event arrived since (the tick moved), nothing is cleared,
//!   so an edge-triggered event that lands between a `WouldBlock` and the clear is
//!   never lost, and a stale readiness is never consumed twice.
//! - No lost wake: the reactor publishes readiness *before* taking `waiters`; a task
//!   stores its waker under `waiters` and re-reads `state` before returning
//!   `Pending`. Either the task sees the new bits, or the reactor sees its waker.

use std::any::Any;
use std::io;
use std::task::{Context, Poll, Waker};

use crate::loom::{AtomicUsize, Mutex, MutexGuard, Ordering::*};

/// The socket can be read (or accepted from) without blocking.
pub(crate) const READABLE: usize = 1;
/// The socket can be written to without blocking.
pub(crate) const WRITABLE: usize = 1 << 1;
/// The peer closed its write side: reads return EOF. Final: never cleared.
pub(crate) const READ_CLOSED: usize = 1 << 2;
/// The write side is closed (hang-up): writes fail. Final: never cleared.
pub(crate) const WRITE_CLOSED: usize = 1 << 3;
/// An error is pending on the socket (both directions see it). Cleared like
/// readable/writable: reading the error (`SO_ERROR`, a failed `recv`) consumes it.
pub(crate) const ERROR: usize = 1 << 4;
/// The runtime shut down: every poll fails from now on.
const SHUTDOWN: usize = 1 << 5;
const READY_MASK: usize = READABLE | WRITABLE | READ_CLOSED | WRITE_CLOSED | ERROR;
const TICK_SHIFT: u32 = 8;

/// A direction a task waits in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Direction {
    Read,
    Write,
}

impl Direction {
    /// Tells a task dump that the current task waits for this readiness.
    fn set_wait_reason(self) {
        gorun_coop::set_wait_reason(match self {
            Direction::Read => gorun_coop::WaitReason::IoRead,
            Direction::Write => gorun_coop::WaitReason::IoWrite,
        });
    }

    fn mask(self) -> usize {
        match self {
            Direction::Read => READABLE | READ_CLOSED | ERROR,
            Direction::Write => WRITABLE | WRITE_CLOSED | ERROR,
        }
    }

    fn index(self) -> usize {
        match self {
            Direction::Read => 0,
            Direction::Write => 1,
        }
    }
}

/// Readiness observed by a task, with the tick it was observed at.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ReadyEvent {
    tick: usize,
    ready: usize,
}

impl ReadyEvent {
    /// Whether the socket is closed in this direction (a final state).
    pub(crate) fn is_closed(&self) -> bool {
        self.ready & (READ_CLOSED | WRITE_CLOSED) != 0
    }
}

pub(crate) struct ScheduledIo {
    state: AtomicUsize,
    /// Wakers per direction.
    waiters: Mutex<[Waiters; 2]>,
}

/// The tasks waiting in one direction. Almost always one (the socket's reader, or
/// its writer), kept inline so an event wakes it without allocating; more only when
/// several tasks share a socket (a `UdpSocket` behind an `Arc`), and all are woken.
#[derive(Default)]
struct Waiters {
    first: Option<Waker>,
    rest: Vec<Waker>,
}

impl Waiters {
    /// Adds `waker` unless it (or one that wakes the same task) is already here.
    fn register(&mut self, waker: &Waker) {
        match &mut self.first {
            Some(w) if w.will_wake(waker) => {}
            None => self.first = Some(waker.clone()),
            Some(_) => {
                if !self.rest.iter().any(|w| w.will_wake(waker)) {
                    self.rest.push(waker.clone());
                }
            }
        }
    }

    /// Wakes every waiter; a waker that panics is reported and the rest still woken.
    fn wake_all(self, report: &dyn Fn(Box<dyn Any + Send>)) {
        for w in self.first.into_iter().chain(self.rest) {
            if let Err(payload) = gorun_coop::wake_catching(w) {
                report(payload);
            }
        }
    }
}

fn tick_of(state: usize) -> usize {
    state >> TICK_SHIFT
}

impl ScheduledIo {
    pub(crate) fn new() -> ScheduledIo {
        ScheduledIo {
            state: AtomicUsize::new(0),
            waiters: Mutex::new([Waiters::default(), Waiters::default()]),
        }
    }

    fn waiters(&self) -> MutexGuard<'_, [Waiters; 2]> {
        self.waiters.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Called by the reactor: adds `ready` bits, bumps the tick, wakes the waiters
    /// of every direction the bits concern (a panicking waker goes to `report`).
    pub(crate) fn set_readiness(&self, ready: usize, report: &dyn Fn(Box<dyn Any + Send>)) {
        let _ = self.state.fetch_update(AcqRel, Acquire, |cur| {
            let tick = tick_of(cur).wrapping_add(1);
            Some((tick << TICK_SHIFT) | (cur & (READY_MASK | SHUTDOWN)) | (ready & READY_MASK))
        });
        self.wake(ready, report);
    }

    /// Marks the registration dead (runtime shutdown) and wakes everyone.
    pub(crate) fn shutdown(&self, report: &dyn Fn(Box<dyn Any + Send>)) {
        self.state.fetch_or(SHUTDOWN, AcqRel);
        self.wake(READY_MASK, report);
    }

    fn wake(&self, ready: usize, report: &dyn Fn(Box<dyn Any + Send>)) {
        let mut woken: [Waiters; 2] = Default::default();
        {
            let mut w = self.waiters();
            for dir in [Direction::Read, Direction::Write] {
                if ready & dir.mask() != 0 {
                    woken[dir.index()] = std::mem::take(&mut w[dir.index()]);
                }
            }
        }
        // Wake outside the lock: a waker may run arbitrary code.
        for w in woken {
            w.wake_all(report);
        }
    }

    /// The readiness in `dir` now, without registering a waker (`None`: not ready).
    pub(crate) fn ready_now(&self, dir: Direction) -> Option<io::Result<ReadyEvent>> {
        let cur = self.state.load(Acquire);
        if cur & SHUTDOWN != 0 {
            return Some(Err(gone()));
        }
        let ready = cur & dir.mask();
        (ready != 0).then(|| {
            Ok(ReadyEvent {
                tick: tick_of(cur),
                ready,
            })
        })
    }

    /// Readiness in `dir`, or `Pending` with the task's waker stored.
    pub(crate) fn poll_ready(
        &self,
        cx: &mut Context<'_>,
        dir: Direction,
    ) -> Poll<io::Result<ReadyEvent>> {
        if let Some(r) = self.ready_now(dir) {
            return Poll::Ready(r);
        }
        self.waiters()[dir.index()].register(cx.waker());
        // Re-check now the waker is stored: the reactor publishes before it takes
        // the lock, so either it finds this waker or this load sees its bits.
        match self.ready_now(dir) {
            Some(r) => Poll::Ready(r),
            None => {
                dir.set_wait_reason();
                Poll::Pending
            }
        }
    }

    /// Stores the task's waker for the next event in `dir`, whatever the current
    /// readiness: for an operation that would block although only final (closed)
    /// bits are set, which must wait rather than spin. Returns `false` (retry now)
    /// if an event arrived since `ev` was observed.
    pub(crate) fn wait_next_event(
        &self,
        cx: &mut Context<'_>,
        dir: Direction,
        ev: ReadyEvent,
    ) -> bool {
        let mut w = self.waiters();
        // Checked under the lock: a later event sees the waker stored here.
        if tick_of(self.state.load(Acquire)) != ev.tick {
            return false;
        }
        w[dir.index()].register(cx.waker());
        dir.set_wait_reason();
        true
    }

    /// Clears the readable/writable/error bits of `ev` if no event arrived since it
    /// was observed. The closed bits are final and never cleared.
    pub(crate) fn clear_readiness(&self, ev: ReadyEvent) {
        let clear = ev.ready & (READABLE | WRITABLE | ERROR);
        let _ = self.state.fetch_update(AcqRel, Acquire, |cur| {
            (tick_of(cur) == ev.tick).then_some(cur & !clear)
        });
    }
}

pub(crate) fn gone() -> io::Error {
    io::Error::other("gorun: the runtime driving this socket has shut down")
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::task::Wake;

    struct Count(AtomicUsize);
    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, SeqCst);
        }
    }

    #[test]
    fn stale_tick_does_not_clear() {
        let io = ScheduledIo::new();
        let count = Arc::new(Count(AtomicUsize::new(0)));
        let waker = Waker::from(count.clone());
        let mut cx = Context::from_waker(&waker);
        assert!(io.poll_ready(&mut cx, Direction::Read).is_pending());
        io.set_readiness(READABLE, &drop);
        assert_eq!(count.0.load(SeqCst), 1);
        let ev = match io.poll_ready(&mut cx, Direction::Read) {
            Poll::Ready(Ok(ev)) => ev,
            _ => panic!("readable"),
        };
        // A new event lands between the WouldBlock and the clear: it must survive.
        io.set_readiness(READABLE, &drop);
        io.clear_readiness(ev);
        assert!(io.poll_ready(&mut cx, Direction::Read).is_ready());
        let ev = match io.poll_ready(&mut cx, Direction::Read) {
            Poll::Ready(Ok(ev)) => ev,
            _ => panic!("readable"),
        };
        io.clear_readiness(ev);
        assert!(io.poll_ready(&mut cx, Direction::Read).is_pending());
        assert!(io.poll_ready(&mut cx, Direction::Write).is_pending());
        io.shutdown(&drop);
        assert!(matches!(
            io.poll_ready(&mut cx, Direction::Write),
            Poll::Ready(Err(_))
        ));
    }

    #[test]
    fn every_waiter_in_a_direction_is_woken_once() {
        let io = ScheduledIo::new();
        let counts: Vec<_> = (0..3)
            .map(|_| Arc::new(Count(AtomicUsize::new(0))))
            .collect();
        let wakers: Vec<_> = counts.iter().map(|c| Waker::from(c.clone())).collect();
        // Three tasks share the socket for reading; the first polls twice.
        for w in [&wakers[0], &wakers[0], &wakers[1], &wakers[2], &wakers[1]] {
            assert!(io
                .poll_ready(&mut Context::from_waker(w), Direction::Read)
                .is_pending());
        }
        let writer = Arc::new(Count(AtomicUsize::new(0)));
        let writer_waker = Waker::from(writer.clone());
        let mut writer_cx = Context::from_waker(&writer_waker);
        assert!(io.poll_ready(&mut writer_cx, Direction::Write).is_pending());
        io.set_readiness(READABLE, &drop);
        let woken: Vec<_> = counts.iter().map(|c| c.0.load(SeqCst)).collect();
        assert_eq!(woken, [1, 1, 1], "each reader once, none twice");
        assert_eq!(
            writer.0.load(SeqCst),
            0,
            "a read event leaves the writer waiting"
        );
        // The wakers were consumed: a second event wakes nobody but the writer.
        io.set_readiness(READABLE | WRITABLE, &drop);
        let woken: Vec<_> = counts.iter().map(|c| c.0.load(SeqCst)).collect();
        assert_eq!(woken, [1, 1, 1]);
        assert_eq!(writer.0.load(SeqCst), 1);
    }
}

/// `RUSTFLAGS="--cfg loom" cargo test -p gorun-executor --release --lib loom`.
#[cfg(all(test, loom))]
mod loom_models {
    use std::task::{Context, Poll, Wake, Waker};

    use loom::sync::Arc;

    use super::{Direction, ScheduledIo, READABLE};
    use crate::loom::{AtomicUsize, Ordering::SeqCst};

    /// Counts its wakes.
    struct Count(AtomicUsize);
    impl Wake for Count {
        fn wake(self: std::sync::Arc<Self>) {
            self.0.fetch_add(1, SeqCst);
        }
    }

    /// The task polls for reading while `reactor` runs; once the reactor is done, the
    /// poll must have seen the event, or the task was woken and the event is there.
    fn poll_sees_or_is_woken(io: &ScheduledIo, reactor: loom::thread::JoinHandle<()>) {
        let wakes = std::sync::Arc::new(Count(AtomicUsize::new(0)));
        let waker = Waker::from(wakes.clone());
        let polled = io.poll_ready(&mut Context::from_waker(&waker), Direction::Read);
        reactor.join().unwrap();
        let now = io.poll_ready(&mut Context::from_waker(Waker::noop()), Direction::Read);
        let woken = wakes.0.load(SeqCst) > 0;
        assert!(
            matches!(polled, Poll::Ready(Ok(_))) || woken && matches!(now, Poll::Ready(Ok(_))),
            "the event was lost"
        );
    }

    /// An event racing a task's poll is never lost: the poll sees it, or the reactor
    /// finds the stored waker (the publish-then-lock / store-then-recheck order).
    #[test]
    fn loom_event_racing_a_poll_is_seen_or_wakes() {
        loom::model(|| {
            let io = Arc::new(ScheduledIo::new());
            let reactor = {
                let io = io.clone();
                loom::thread::spawn(move || io.set_readiness(READABLE, &drop))
            };
            poll_sees_or_is_woken(&io, reactor);
        });
    }

    /// A task that read until `WouldBlock` clears the readiness it observed while a
    /// new edge arrives: the clear never swallows the new edge (the tick moved), so
    /// the task's next poll sees it or its waker is woken.
    #[test]
    fn loom_clear_never_swallows_a_new_edge() {
        loom::model(|| {
            let io = Arc::new(ScheduledIo::new());
            io.set_readiness(READABLE, &drop);
            let observed = io.ready_now(Direction::Read).unwrap().unwrap();
            let reactor = {
                let io = io.clone();
                loom::thread::spawn(move || io.set_readiness(READABLE, &drop))
            };
            // The socket said WouldBlock for what `observed` announced.
            io.clear_readiness(observed);
            poll_sees_or_is_woken(&io, reactor);
        });
    }
}
