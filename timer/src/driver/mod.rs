//! The timer driver: one lock-protected wheel per runtime, driven by parking workers.
//!
//! # Design
//!
//! One wheel behind one `Mutex`, not one per worker (Go 1.14's per-P heaps, tokio's
//! shards): with 2 cores here the many-worker case cannot be measured, and every
//! critical section is a few pointer writes (insert, unlink, or popping one due entry),
//! with wakers always invoked after the lock is dropped, in batches of
//! [`WAKE_BATCH`]. `earliest` caches the wheel's next deadline so `next_timeout` and
//! an idle `process` never take the lock.
//!
//! # Invariants
//!
//! 1. `earliest <= ` the wheel's next expiration (it is lowered on insert, recomputed
//!    by `process`, left alone on cancel), so a worker never sleeps past a deadline.
//! 2. `unpark` is called, outside the lock, whenever an insert lowers `earliest`.
//! 3. Entry ground rules are in `entry.rs`; this module is where the lock is taken.
//! 4. After `shutdown`, nothing is linked and nothing will be: `shutdown` is set under
//!    the lock and every insert checks it under the lock.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::ptr::NonNull;
use std::sync::Arc;
use std::task::{Poll, Waker};
use std::time::Duration;

use crate::clock::{Clock, NEVER};
use crate::entry::{Entry, FIRED, REGISTERED, SHUTDOWN, UNREGISTERED};
use crate::loom::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use crate::loom::sync::{Mutex, MutexGuard};
use crate::wheel::Wheel;
use crate::Instant;

/// Wakers collected under the lock before it is dropped to wake them.
pub(crate) const WAKE_BATCH: usize = 32;

/// How a driver spawns the tasks of [`after_func`](crate::after_func): the executor
/// installs one with [`Driver::set_spawner`].
pub type Spawner = Arc<dyn Fn(Pin<Box<dyn Future<Output = ()> + Send>>) + Send + Sync>;

/// The timer driver of one runtime: a hierarchical timing wheel and its clock.
///
/// An executor creates one, [`enter`](Driver::enter)s it on each worker thread, and
/// drives it from its parking loop:
///
/// ```
/// # use std::sync::Arc;
/// # use std::time::Duration;
/// use gorun_timer::Driver;
///
/// let driver = Driver::new(Arc::new(|| { /* unpark a worker */ }));
/// let _guard = driver.enter();
/// let sleep = gorun_timer::sleep(Duration::from_millis(5));
/// # let mut sleep = Box::pin(sleep);
/// # let _ = sleep.as_mut().poll(&mut std::task::Context::from_waker(std::task::Waker::noop()));
/// # use std::future::Future;
/// // A worker's parking loop:
/// loop {
///     let timeout = driver.next_timeout(); // None: no timer armed
///     std::thread::sleep(timeout.unwrap_or(Duration::from_millis(1))); // park(timeout)
///     if driver.process() > 0 {
///         break; // the sleep's task was woken
///     }
/// }
/// ```
///
/// Cheap to clone (an `Arc` inside). On a thread where no driver is entered, timers
/// use a global driver run by one background thread of this crate.
#[derive(Clone)]
pub struct Driver {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    wheel: Mutex<Wheel>,
    /// Lower bound of the wheel's next expiration tick; `u64::MAX` = nothing linked.
    earliest: AtomicU64,
    shutdown: AtomicBool,
    pub(crate) clock: Clock,
    unpark: Arc<dyn Fn() + Send + Sync>,
    spawner: std::sync::Mutex<Option<Spawner>>,
}

impl fmt::Debug for Driver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Driver")
            .field("paused", &self.is_paused())
            .field("shutdown", &self.inner.shutdown.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

/// Wakers to invoke once the lock is dropped.
struct WakeList {
    wakers: [Option<Waker>; WAKE_BATCH],
    len: usize,
}

impl WakeList {
    fn new() -> Self {
        WakeList {
            wakers: [const { None }; WAKE_BATCH],
            len: 0,
        }
    }
    fn push(&mut self, w: Waker) {
        self.wakers[self.len] = Some(w);
        self.len += 1;
    }
    fn is_full(&self) -> bool {
        self.len == WAKE_BATCH
    }
    fn wake_all(&mut self) {
        for w in &mut self.wakers[..self.len] {
            if let Some(w) = w.take() {
                w.wake();
            }
        }
        self.len = 0;
    }
}

impl Driver {
    /// Creates a driver. `unpark` is called when a newly armed timer is due earlier
    /// than every timer armed before it, so a worker parked with the old
    /// [`next_timeout`](Driver::next_timeout) must wake and park again with the new one.
    /// It is called outside the driver's lock and must be cheap; a call that lands
    /// between a worker's `next_timeout` and its park must not be lost (give it
    /// `std::thread::park`'s token semantics).
    pub fn new(unpark: Arc<dyn Fn() + Send + Sync>) -> Driver {
        Driver {
            inner: Arc::new(Inner {
                wheel: Mutex::new(Wheel::new()),
                earliest: AtomicU64::new(u64::MAX),
                shutdown: AtomicBool::new(false),
                clock: Clock::new(),
                unpark,
                spawner: std::sync::Mutex::new(None),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Wheel> {
        // The wheel is consistent between statements that panic (none do), so a
        // poisoned lock is still usable.
        self.inner.wheel.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Installs the spawner that [`after_func`](crate::after_func) uses to run its
    /// function as a new task. Without one, the function runs on the thread that fires
    /// the timer (a parking worker, or the global driver's thread).
    pub fn set_spawner(&self, spawner: Spawner) {
        *self.inner.spawner.lock().unwrap_or_else(|e| e.into_inner()) = Some(spawner);
    }

    pub(crate) fn spawner(&self) -> Option<Spawner> {
        self.inner
            .spawner
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Now, on this driver's clock (paused or real).
    pub fn now(&self) -> Instant {
        Instant::from_std(self.inner.clock.now())
    }

    pub(crate) fn tick_for(&self, deadline: Instant) -> u64 {
        self.inner.clock.tick_for(deadline.into_std())
    }

    pub(crate) fn clock(&self) -> &crate::clock::Clock {
        &self.inner.clock
    }

    /// How long a parking worker may sleep: `None` when no timer is armed (or the
    /// clock is paused and nothing is due: paused time does not pass by waiting),
    /// `Some(Duration::ZERO)` when something is due now. Lock-free.
    pub fn next_timeout(&self) -> Option<Duration> {
        let earliest = self.inner.earliest.load(Ordering::Acquire);
        if earliest == u64::MAX {
            return None;
        }
        let clock = &self.inner.clock;
        if earliest <= clock.now_tick() {
            return Some(Duration::ZERO);
        }
        if clock.is_paused() {
            return None;
        }
        Some(
            clock
                .instant_of_tick(earliest)
                .saturating_duration_since(clock.now()),
        )
    }

    /// Fires every timer whose deadline has passed, invoking wakers outside the lock.
    /// Returns how many fired. Cheap (lock-free) when nothing is due.
    pub fn process(&self) -> usize {
        let now = self.inner.clock.now_tick();
        if now < self.inner.earliest.load(Ordering::Acquire) {
            return 0;
        }
        self.process_at(now)
    }

    fn process_at(&self, now: u64) -> usize {
        let mut fired = 0;
        let mut wakes = WakeList::new();
        let mut wheel = self.lock();
        while let Some(entry) = wheel.poll(now) {
            // SAFETY: [1] popped entries are live (ground rule 5) and unlinked; [2] we
            // hold the lock, so the entry's fields are ours until the FIRED store,
            // which is our last access (ground rule 3).
            let waker = unsafe {
                let e = entry.as_ref();
                let w = e.replace_waker(None);
                e.set_state(FIRED);
                w
            };
            fired += 1;
            if let Some(w) = waker {
                wakes.push(w);
                if wakes.is_full() {
                    drop(wheel);
                    wakes.wake_all();
                    wheel = self.lock();
                }
            }
        }
        let next = wheel.next_expiration().map_or(u64::MAX, |e| e.deadline);
        self.inner.earliest.store(next, Ordering::Release);
        drop(wheel);
        wakes.wake_all();
        fired
    }

    /// Freezes this driver's clock: time then moves only by [`advance`](Driver::advance)
    /// and [`advance_to_next`](Driver::advance_to_next).
    pub fn pause(&self) {
        self.inner.clock.pause();
    }

    /// Lets this driver's clock run again, from where it was frozen.
    pub fn resume(&self) {
        self.inner.clock.resume();
        (self.inner.unpark)(); // a parked worker must recompute its timeout
    }

    /// Whether the clock is paused.
    pub fn is_paused(&self) -> bool {
        self.inner.clock.is_paused()
    }

    /// Moves the clock forward by `d` and fires what became due.
    pub fn advance(&self, d: Duration) -> usize {
        self.inner.clock.advance(d);
        self.process()
    }

    /// Paused clock only: jumps to the earliest deadline and fires what is due then.
    /// Returns `false` (moving nothing) if no timer is armed or the clock is running.
    /// An executor calls this when every worker is idle and the clock is paused, so a
    /// test of a one-hour timeout runs in microseconds (tokio's auto-advance).
    pub fn advance_to_next(&self) -> bool {
        if !self.is_paused() {
            return false;
        }
        loop {
            let next = self.lock().next_expiration().map(|e| e.deadline);
            let Some(tick) = next else {
                return false;
            };
            self.inner.clock.advance_to_tick(tick);
            // The slot may only cascade (a higher-level slot); go on until one fires.
            if self.process_at(self.inner.clock.now_tick()) > 0 {
                return true;
            }
        }
    }

    /// Shuts the driver down: every armed timer is unlinked and its task woken (its
    /// `Sleep` then stays pending forever — the executor drops such tasks). After this,
    /// new timers on this driver never complete. Idempotent.
    pub fn shutdown(&self) {
        let mut wakes = WakeList::new();
        let mut wheel = self.lock();
        self.inner.shutdown.store(true, Ordering::Release);
        while let Some(entry) = wheel.pop_any() {
            // SAFETY: as in `process_at`; SHUTDOWN is our last access.
            let waker = unsafe {
                let e = entry.as_ref();
                let w = e.replace_waker(None);
                e.set_state(SHUTDOWN);
                w
            };
            if let Some(w) = waker {
                wakes.push(w);
                if wakes.is_full() {
                    drop(wheel);
                    wakes.wake_all();
                    wheel = self.lock();
                }
            }
        }
        self.inner.earliest.store(u64::MAX, Ordering::Release);
        drop(wheel);
        wakes.wake_all();
        (self.inner.unpark)();
    }

    /// Whether [`shutdown`](Driver::shutdown) was called.
    pub fn is_shutdown(&self) -> bool {
        self.inner.shutdown.load(Ordering::Acquire)
    }

    /// Links `entry` under the lock, due at `when`, with `waker`; or reports it due.
    /// Returns `(ready, unpark, displaced waker)`. Lock held by the caller.
    ///
    /// # Safety
    /// `entry` is not REGISTERED, and stays live until it is unlinked (ground rule 5).
    unsafe fn link(
        &self,
        wheel: &mut Wheel,
        entry: &Entry,
        when: u64,
        waker: Waker,
    ) -> (bool, bool, Option<Waker>) {
        debug_assert_ne!(entry.state(), REGISTERED);
        if when == NEVER || self.inner.shutdown.load(Ordering::Relaxed) {
            entry.set_state(UNREGISTERED);
            return (false, false, Some(waker));
        }
        // SAFETY: the caller vouches for the entry's life; we hold the lock.
        match unsafe { wheel.insert(NonNull::from(entry), when) } {
            Err(()) => {
                entry.set_state(FIRED);
                (true, false, Some(waker))
            }
            Ok(()) => {
                // SAFETY: linked now, and we hold the lock.
                let old = unsafe { entry.replace_waker(Some(waker)) };
                entry.set_state(REGISTERED);
                let unpark = when < self.inner.earliest.load(Ordering::Relaxed);
                if unpark {
                    self.inner.earliest.store(when, Ordering::Release);
                }
                (false, unpark, old)
            }
        }
    }

    /// Polls a timer entry due at tick `when`: `Ready` once it has fired, else
    /// registers (or refreshes) `waker`.
    pub(crate) fn poll_entry(&self, entry: Pin<&Entry>, when: u64, waker: &Waker) -> Poll<()> {
        match entry.state() {
            FIRED => return Poll::Ready(()),
            SHUTDOWN => return Poll::Pending,
            // No clock read here: arming compares with the wheel's `elapsed` (a deadline
            // between it and now fires on the next `process`, at most a tick later).
            // A zero-duration sleep is created already fired.
            UNREGISTERED if when == NEVER => return Poll::Pending,
            _ => {}
        }
        let mut wheel = self.lock();
        let (ready, unpark, old) = match entry.state() {
            FIRED => (true, false, None),
            SHUTDOWN => (false, false, None),
            // SAFETY: linked entry, lock held.
            REGISTERED => (false, false, unsafe { entry.update_waker(waker) }),
            // SAFETY: unregistered; the owner pinned it and unlinks it before dropping.
            _ => unsafe { self.link(&mut wheel, &entry, when, waker.clone()) },
        };
        drop(wheel);
        drop(old);
        if unpark {
            (self.inner.unpark)();
        }
        if ready {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }

    /// Unlinks `entry` if it is armed. Returns whether it was (so it will not fire).
    pub(crate) fn cancel(&self, entry: Pin<&Entry>) -> bool {
        if entry.state() != REGISTERED {
            return false;
        }
        let mut wheel = self.lock();
        if entry.state() != REGISTERED {
            return false;
        }
        // SAFETY: REGISTERED means linked into this wheel; we hold the lock.
        let waker = unsafe {
            wheel.remove(NonNull::from(&*entry));
            entry.replace_waker(None)
        };
        entry.set_state(UNREGISTERED);
        drop(wheel);
        drop(waker);
        true
    }

    /// Moves `entry` to tick `when`. If it was armed (or `waker` is given) it stays
    /// armed with its waker; otherwise it becomes unregistered and arms on its next
    /// poll. Returns whether it was armed before, and a waker to wake (after the
    /// caller drops its own locks) if the new deadline has already passed.
    pub(crate) fn reset_entry(
        &self,
        entry: Pin<&Entry>,
        when: u64,
        waker: Option<&Waker>,
    ) -> (bool, Option<Waker>) {
        let mut wheel = self.lock();
        let was_armed = entry.state() == REGISTERED;
        let mut old = if was_armed {
            // SAFETY: linked into this wheel; we hold the lock.
            unsafe {
                wheel.remove(NonNull::from(&*entry));
                entry.replace_waker(None)
            }
        } else {
            None
        };
        entry.set_state(UNREGISTERED);
        if let Some(w) = waker {
            old = Some(w.clone());
        }
        let (mut wake_now, mut unpark, mut drop_later) = (None, false, None);
        if let Some(w) = old {
            if when != NEVER && when <= self.inner.clock.now_tick() {
                entry.set_state(FIRED);
                wake_now = Some(w);
            } else {
                // SAFETY: unregistered just above; the owner keeps it pinned and live.
                let (ready, u, displaced) = unsafe { self.link(&mut wheel, &entry, when, w) };
                unpark = u;
                if ready {
                    wake_now = displaced;
                } else {
                    drop_later = displaced;
                }
            }
        }
        drop(wheel);
        drop(drop_later);
        if unpark {
            (self.inner.unpark)();
        }
        (was_armed, wake_now)
    }
}

impl Inner {
    #[cfg(test)]
    pub(crate) fn earliest(&self) -> u64 {
        self.earliest.load(Ordering::Acquire)
    }
}
