//! One shard of a driver: a timing wheel behind its own lock, owned by one worker.
//!
//! A runtime's driver has a shard per worker (Go 1.14 moved timers into each P; tokio
//! shards its wheel by worker). A worker arms and cancels its timers in its own
//! shard, so the lock is uncontended on that path; another thread takes it only to
//! cancel a timer that was armed here, or to fire this shard's due timers while the
//! owner is parked or busy (Go's timer stealing in `findrunnable`).
//!
//! # Invariants
//!
//! 1. `earliest <= ` the wheel's next expiration: lowered (under the lock) by an
//!    insert, recomputed by `process`, left alone by a cancel. So nobody sleeps past a
//!    deadline of this shard by trusting it, and a shard with nothing due is skipped
//!    with one load.
//! 2. Entries are linked, unlinked and fired only under `wheel`'s lock (the entry
//!    ground rules in `entry.rs` call it "the driver lock").
//! 3. Wakers are never invoked under the lock: `process` hands them out in batches
//!    and takes the lock again for the rest.
//! 4. `firing` is only a hint: set while a [`Shard::try_process`] fires, so another
//!    thread's `try_process` runs tasks instead of taking turns at the lock with it.
//!    It never stops a timer from firing: the firer publishes `earliest` from the
//!    wheel when it is done, and whoever skipped sees that deadline on its next check
//!    or park.

use std::ptr::NonNull;

use crate::entry::{Entry, FIRED, REGISTERED, SHUTDOWN, UNREGISTERED};
use crate::loom::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use crate::wheel::Wheel;
use gorun_spinlock::{SpinGuard, SpinLock};

use super::wake::WakeList;

/// Keeps each shard on cache lines of its own: workers arm timers in their shards at
/// once, and a shared line would make their locks contend after all.
#[repr(align(128))]
pub(crate) struct Shard {
    /// A spin lock (`gorun-spinlock`): arming and cancelling take it twice per timer,
    /// and every critical section under it is one link, one unlink or one batch of
    /// fired entries.
    wheel: SpinLock<Wheel>,
    /// Lower bound of the wheel's next expiration tick; `u64::MAX`: nothing linked.
    earliest: AtomicU64,
    /// A `try_process` is firing this shard (invariant 4).
    firing: AtomicBool,
}

/// What linking an entry did.
pub(crate) enum Link {
    /// Linked; `lowered` when the shard's earliest deadline went down to it (a
    /// sleeper may have to wake for it).
    Linked { lowered: bool },
    /// Already due (`when` is not after the wheel's processed tick): not linked, and
    /// the entry is `FIRED`.
    Due,
}

impl Shard {
    /// Shard number `index` of its driver.
    pub(crate) fn new(index: usize) -> Shard {
        Shard {
            wheel: SpinLock::new(Wheel::new(index)),
            earliest: AtomicU64::new(u64::MAX),
            firing: AtomicBool::new(false),
        }
    }

    pub(crate) fn lock(&self) -> SpinGuard<'_, Wheel> {
        self.wheel.lock()
    }

    /// The lower bound of this shard's next deadline (invariant 1).
    #[inline]
    pub(crate) fn earliest(&self) -> u64 {
        self.earliest.load(Ordering::SeqCst)
    }

    /// Links `entry` at tick `when` with `waker`, or reports it due.
    ///
    /// # Safety
    /// `wheel` is this shard's locked wheel; `entry` is not `REGISTERED`, records this
    /// shard, and stays live until it is unlinked (entry ground rule 5).
    pub(crate) unsafe fn link(
        &self,
        wheel: &mut Wheel,
        entry: &Entry,
        when: u64,
        waker: std::task::Waker,
    ) -> (Link, Option<std::task::Waker>) {
        debug_assert_ne!(entry.state(), REGISTERED);
        // SAFETY: the caller vouches for the entry's life; we hold the lock.
        match unsafe { wheel.insert(NonNull::from(entry), when) } {
            Err(()) => {
                entry.set_state(FIRED);
                (Link::Due, Some(waker))
            }
            Ok(()) => {
                // SAFETY: `wheel` is this shard's, which the entry records (the
                // caller's contract).
                let old = unsafe { entry.replace_waker(wheel, Some(waker)) };
                entry.set_state(REGISTERED);
                // SeqCst, with the sleeper's publication of how long it sleeps
                // (`Driver::park_timeout`): one of the two sees the other.
                let lowered = when < self.earliest.load(Ordering::Relaxed);
                if lowered {
                    self.earliest.store(when, Ordering::SeqCst);
                }
                (Link::Linked { lowered }, old)
            }
        }
    }

    /// Unlinks `entry` if it is still linked here; returns its waker (drop it
    /// outside the lock) and whether it was linked.
    ///
    /// # Safety
    /// `wheel` is this shard's locked wheel; `entry` records this shard.
    pub(crate) unsafe fn unlink(
        &self,
        wheel: &mut Wheel,
        entry: &Entry,
    ) -> (bool, Option<std::task::Waker>) {
        if entry.state() != REGISTERED {
            return (false, None);
        }
        // SAFETY: REGISTERED and recording this shard: linked into this wheel, which
        // is the entry's shard's.
        let waker = unsafe {
            wheel.remove(NonNull::from(entry));
            entry.replace_waker(wheel, None)
        };
        entry.set_state(UNREGISTERED);
        (true, waker)
    }

    /// As [`process`](Shard::process), unless another thread is firing this shard
    /// with `try_process`: then returns 0 at once, leaving the due timers to it
    /// (invariant 4). Between tasks, a second firer would only take turns at the lock
    /// with the first, batch by batch, while the tasks they wake wait.
    pub(crate) fn try_process(&self, now: u64, wake: &mut dyn FnMut(&mut WakeList)) -> usize {
        if now < self.earliest() || self.firing.load(Ordering::Relaxed) {
            return 0;
        }
        // A claim that fails writes nothing (a `swap` would store `true` again).
        if self
            .firing
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            return 0;
        }
        // Cleared however `process` ends: a flag left set would leave this shard to
        // `process` alone.
        struct Done<'a>(&'a AtomicBool);
        impl Drop for Done<'_> {
            fn drop(&mut self) {
                self.0.store(false, Ordering::Release);
            }
        }
        let _done = Done(&self.firing);
        self.process(now, wake)
    }

    /// Fires every entry due at tick `now`; wakes their wakers outside the lock with
    /// `wake`. Returns how many fired. One load when nothing is due.
    pub(crate) fn process(&self, now: u64, wake: &mut dyn FnMut(&mut WakeList)) -> usize {
        if now < self.earliest() {
            return 0;
        }
        let mut fired = 0;
        let mut wakes = WakeList::new();
        let mut wheel = self.lock();
        while let Some(entry) = wheel.poll(now) {
            // SAFETY: popped entries are live (ground rule 5), unlinked, and recorded
            // this shard; the entry's fields are ours (we hold its lock) until the
            // FIRED store, which is our last access (ground rule 3).
            let e = unsafe { entry.as_ref() };
            // SAFETY: as above: `wheel` is the lock of the shard the entry records.
            let waker = unsafe { e.replace_waker(&wheel, None) };
            e.set_state(FIRED);
            fired += 1;
            if let Some(w) = waker {
                wakes.push(w);
                if wakes.is_full() {
                    drop(wheel);
                    wake(&mut wakes);
                    wheel = self.lock();
                }
            }
        }
        self.publish_next(&wheel);
        drop(wheel);
        wake(&mut wakes);
        fired
    }

    /// Recomputes `earliest` from the wheel (invariant 1). Lock held.
    fn publish_next(&self, wheel: &Wheel) {
        let next = wheel.next_expiration().map_or(u64::MAX, |e| e.deadline);
        self.earliest.store(next, Ordering::SeqCst);
    }

    /// Unlinks every entry as `SHUTDOWN`, waking their wakers outside the lock.
    pub(crate) fn drain(&self, wake: &mut dyn FnMut(&mut WakeList)) {
        let mut wakes = WakeList::new();
        let mut wheel = self.lock();
        while let Some(entry) = wheel.pop_any() {
            // SAFETY: as in `process`; SHUTDOWN is our last access.
            let e = unsafe { entry.as_ref() };
            // SAFETY: as in `process`.
            let waker = unsafe { e.replace_waker(&wheel, None) };
            e.set_state(SHUTDOWN);
            if let Some(w) = waker {
                wakes.push(w);
                if wakes.is_full() {
                    drop(wheel);
                    wake(&mut wakes);
                    wheel = self.lock();
                }
            }
        }
        self.earliest.store(u64::MAX, Ordering::SeqCst);
        drop(wheel);
        wake(&mut wakes);
    }
}
