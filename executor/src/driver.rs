//! The driver: what a parking worker runs instead of plain sleeping.
//!
//! At most one worker at a time holds the driver (`try_lock`); it blocks in the
//! reactor's `mio::Poll::poll` until an I/O event, a wake, or the next timer deadline,
//! then fires due timers, while the other idle workers sleep on their condvars (Go's
//! `findrunnable`: one M blocks in netpoll with the timer's timeout). Busy workers
//! poll it without blocking every 61 ticks, so timers fire and sockets are serviced
//! even when no worker ever idles.
//!
//! # Invariants
//! - `owner` is set before the timeout is computed and cleared after waking, so an
//!   `unpark` for a newly armed, earlier timer either is seen by the timeout
//!   computation or finds `owner` and wakes the reactor. A reactor wake is an event
//!   that stays pending until the next poll, so one that lands before the poll is
//!   not lost.
//! - A worker chosen by `notify_parked` while it sits in the driver is woken through
//!   the reactor too ([`Driver::unpark_worker`]): the notifier marks its parker
//!   `NOTIFIED` and then reads `owner`; the worker stores `owner` and then checks its
//!   parker (all `SeqCst`), so at least one of them sees the other.

use std::io;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::*};
use std::sync::Arc;
use std::time::Duration;

use crate::io::Reactor;
use crate::scheduler::Parker;

const NO_OWNER: usize = usize::MAX;

pub(crate) struct Driver {
    locked: AtomicBool,
    owner: Arc<AtomicUsize>,
    parkers: Arc<[Parker]>,
    pub(crate) io: Arc<Reactor>,
    pub(crate) timer: gorun_timer::Driver,
}

impl Driver {
    pub(crate) fn new(parkers: Arc<[Parker]>, start_paused: bool) -> io::Result<Driver> {
        let owner = Arc::new(AtomicUsize::new(NO_OWNER));
        let io = Arc::new(Reactor::new()?);
        let (o, r) = (owner.clone(), io.clone());
        // A timer armed earlier than every other interrupts the worker sleeping in
        // the driver, which re-polls with the new timeout. The reactor keeps the wake
        // if that worker has not gone to sleep yet.
        let timer = gorun_timer::Driver::new(Arc::new(move || unpark_owner(&o, &r)));
        if start_paused {
            timer.pause();
        }
        Ok(Driver {
            locked: AtomicBool::new(false),
            owner,
            parkers,
            io,
            timer,
        })
    }

    fn try_lock(&self) -> bool {
        !self.locked.load(Relaxed)
            && self
                .locked
                .compare_exchange(false, true, Acquire, Relaxed)
                .is_ok()
    }

    fn unlock(&self) {
        self.locked.store(false, Release);
    }

    /// Fires due timers and dispatches ready I/O if no one else holds the driver;
    /// returns how many timers fired plus how many sockets got readiness.
    pub(crate) fn poll_nonblocking(&self) -> usize {
        if !self.try_lock() {
            return 0;
        }
        let mut n = 0;
        if self.io.has_registrations() {
            n += self.io.turn(Some(Duration::ZERO));
        }
        n += self.timer.process();
        self.unlock();
        n
    }

    /// Parks worker `index` in the driver if it is free: polls the reactor until an
    /// event, a wake, or the next timer is due, then fires due timers. `idle` says
    /// whether the whole runtime is idle, for the paused clock's auto-advance.
    /// Returns `false` without sleeping if another worker holds the driver.
    pub(crate) fn park(&self, index: usize, idle: impl Fn() -> bool) -> bool {
        if !self.try_lock() {
            return false;
        }
        self.owner.store(index, SeqCst);
        let mut timeout = self.timer.next_timeout();
        if self.parkers[index].take_notified() {
            // Notified before we set `owner`: do not sleep.
            timeout = Some(Duration::ZERO);
        }
        if self.timer.is_paused() && idle() && self.timer.advance_to_next() {
            // Paused clock and nothing else to do: jump to the next deadline, and
            // only collect the I/O that is ready now.
            timeout = Some(Duration::ZERO);
        }
        self.io.turn(timeout);
        self.owner.store(NO_OWNER, SeqCst);
        // A notify that also woke the reactor left its token: drop it, the caller
        // re-checks the sleepers list, which is the source of truth.
        self.parkers[index].take_notified();
        self.timer.process();
        self.unlock();
        true
    }

    /// Interrupts the worker sleeping in the driver, if any.
    pub(crate) fn unpark(&self) {
        unpark_owner(&self.owner, &self.io);
    }

    /// Wakes the reactor if worker `index` sleeps in it (its parker was just
    /// unparked by the caller).
    pub(crate) fn unpark_worker(&self, index: usize) {
        if self.owner.load(SeqCst) == index {
            self.io.wake();
        }
    }

    pub(crate) fn shutdown(&self) {
        self.timer.shutdown();
        self.io.shutdown();
    }
}

fn unpark_owner(owner: &AtomicUsize, io: &Reactor) {
    if owner.load(SeqCst) != NO_OWNER {
        io.wake();
    }
}
