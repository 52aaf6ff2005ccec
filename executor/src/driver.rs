//! The driver: what a parking worker runs instead of plain sleeping.
//!
//! At most one worker at a time holds the driver (`try_lock`); it blocks in the
//! reactor's `mio::Poll::poll` until an I/O event, a wake, or the next timer deadline,
//! then fires due timers, while the other idle workers sleep on their condvars (Go's
//! `findrunnable`: one M blocks in netpoll with the timer's timeout). Busy workers
//! poll it without blocking every 61 ticks, so timers fire and sockets are serviced
//! even when no worker ever idles.
//!
//! The timers themselves live in the timer driver's shards, one per worker: each
//! worker arms its timers in its own wheel and fires them between tasks
//! (`Driver::process_own`); the worker in the driver fires every shard's due timers
//! when it wakes, and sleeps until the earliest of them.
//!
//! # Invariants
//! - `owner` is set before the timeout is computed and cleared after waking; the
//!   timeout comes from `gorun_timer::Driver::park_timeout`, which publishes it so
//!   that a timer armed earlier meanwhile calls `unpark`, which finds `owner` and
//!   wakes the reactor. A reactor wake is an event that stays pending until the next
//!   poll, so one that lands before the poll is not lost.
//! - The `locked` flag is released by a guard, so a panic that unwinds out of a
//!   driver turn cannot leave the driver held (wakers run under `catch_unwind`
//!   anyway: `io/scheduled_io.rs`, the timer crate's `wake.rs`).
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
        let timer =
            gorun_timer::Driver::with_shards(parkers.len(), Arc::new(move || unpark_owner(&o, &r)));
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

    /// Takes the driver if it is free; the guard gives it back.
    fn try_lock(&self) -> Option<Held<'_>> {
        let free = !self.locked.load(Relaxed)
            && self
                .locked
                .compare_exchange(false, true, Acquire, Relaxed)
                .is_ok();
        // Built only when taken: a `Held` dropped unused would release the driver
        // another worker holds.
        if free {
            Some(Held(&self.locked))
        } else {
            None
        }
    }

    /// Fires due timers and dispatches ready I/O if no one else holds the driver;
    /// returns how many timers fired plus how many sockets got readiness, or `None`
    /// if another worker holds it.
    pub(crate) fn poll_nonblocking(&self) -> Option<usize> {
        let _held = self.try_lock()?;
        let mut n = 0;
        if self.io.has_registrations() {
            n += self.io.turn(Some(Duration::ZERO));
        }
        n += self.timer.process();
        Some(n)
    }

    /// Fires the due timers of worker `index`'s own shard (cheap when none is).
    pub(crate) fn process_own(&self, index: usize) -> usize {
        self.timer.process_shard(index)
    }

    /// Parks worker `index` in the driver if it is free: polls the reactor until an
    /// event, a wake, or the next timer of any shard is due, then fires due timers.
    /// `idle` says whether the whole runtime is idle, for the paused clock's
    /// auto-advance. Returns `false` without sleeping if another worker holds the
    /// driver.
    pub(crate) fn park(&self, index: usize, idle: impl Fn() -> bool) -> bool {
        let Some(_held) = self.try_lock() else {
            return false;
        };
        self.owner.store(index, SeqCst);
        let mut timeout = self.timer.park_timeout();
        if self.parkers[index].take_notified() {
            // Notified before we set `owner`: do not sleep.
            timeout = Some(Duration::ZERO);
        }
        if self.timer.is_paused() && idle() && self.auto_advance() {
            // The clock moved (or I/O was ready): collect what is ready, no sleep.
            timeout = Some(Duration::ZERO);
        }
        self.io.turn(timeout);
        self.timer.unparked();
        self.owner.store(NO_OWNER, SeqCst);
        // A notify that also woke the reactor left its token: drop it, the caller
        // re-checks the sleepers list, which is the source of truth.
        self.parkers[index].take_notified();
        self.timer.process();
        true
    }

    /// The paused clock's auto-advance, when every task is idle: I/O that is ready
    /// now comes first (its tasks run at the current instant, as on tokio), else the
    /// clock jumps to the next deadline. Returns whether either happened.
    fn auto_advance(&self) -> bool {
        if self.io.has_registrations() && self.io.turn(Some(Duration::ZERO)) > 0 {
            return true;
        }
        self.timer.advance_to_next()
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

/// The driver held by one worker; released on drop, even by a panic.
struct Held<'a>(&'a AtomicBool);

impl Drop for Held<'_> {
    fn drop(&mut self) {
        self.0.store(false, Release);
    }
}

fn unpark_owner(owner: &AtomicUsize, io: &Reactor) {
    if owner.load(SeqCst) != NO_OWNER {
        io.wake();
    }
}
