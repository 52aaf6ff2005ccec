//! The driver: what a parking worker runs instead of plain sleeping.
//!
//! At most one worker at a time holds the driver (`try_lock`); it sleeps until the
//! next timer deadline at most and then fires due timers, while the other idle workers
//! sleep on their condvars (Go's `findrunnable`: one M blocks in netpoll with the
//! timer's timeout). Busy workers poll it without blocking every 61 ticks, so timers
//! fire even when no worker ever idles. The I/O reactor will plug in here too: its
//! `poll(timeout)` replaces the condvar sleep.
//!
//! # Invariants
//! - `owner` is set before the timeout is computed and cleared after waking, so an
//!   `unpark` for a newly armed, earlier timer either is seen by the timeout
//!   computation or finds `owner` and interrupts the sleep.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::*};
use std::sync::Arc;

use crate::scheduler::Parker;

const NO_OWNER: usize = usize::MAX;

pub(crate) struct Driver {
    locked: AtomicBool,
    owner: Arc<AtomicUsize>,
    parkers: Arc<[Parker]>,
    pub(crate) timer: gorun_timer::Driver,
}

impl Driver {
    pub(crate) fn new(parkers: Arc<[Parker]>, start_paused: bool) -> Driver {
        let owner = Arc::new(AtomicUsize::new(NO_OWNER));
        let (o, p) = (owner.clone(), parkers.clone());
        // A timer armed earlier than every other interrupts the worker sleeping in
        // the driver, which re-parks with the new timeout. The parker keeps the
        // token if that worker has not gone to sleep yet.
        let timer = gorun_timer::Driver::new(Arc::new(move || unpark_owner(&o, &p)));
        if start_paused {
            timer.pause();
        }
        Driver {
            locked: AtomicBool::new(false),
            owner,
            parkers,
            timer,
        }
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

    /// Fires due timers if no one else holds the driver; returns how many fired.
    pub(crate) fn poll_nonblocking(&self) -> usize {
        if !self.try_lock() {
            return 0;
        }
        let n = self.timer.process();
        self.unlock();
        n
    }

    /// Parks worker `index` in the driver if it is free: sleeps until unparked or the
    /// next timer is due, then fires due timers. `idle` says whether the whole
    /// runtime is idle, for the paused clock's auto-advance. Returns `false` without
    /// sleeping if another worker holds the driver.
    pub(crate) fn park(&self, index: usize, idle: impl Fn() -> bool) -> bool {
        if !self.try_lock() {
            return false;
        }
        self.owner.store(index, SeqCst);
        let timeout = self.timer.next_timeout();
        if self.timer.is_paused() && idle() && self.timer.advance_to_next() {
            // Paused clock and nothing else to do: jump to the next deadline.
        } else {
            self.parkers[index].park(timeout);
        }
        self.owner.store(NO_OWNER, SeqCst);
        self.timer.process();
        self.unlock();
        true
    }

    /// Interrupts the worker sleeping in the driver, if any.
    pub(crate) fn unpark(&self) {
        unpark_owner(&self.owner, &self.parkers);
    }

    pub(crate) fn shutdown(&self) {
        self.timer.shutdown();
    }
}

fn unpark_owner(owner: &AtomicUsize, parkers: &[Parker]) {
    let o = owner.load(SeqCst);
    if o != NO_OWNER {
        parkers[o].unpark();
    }
}
