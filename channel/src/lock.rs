//! The channel lock: a word taken with a compare-exchange and released with a plain
//! `Release` store, whose waiters spin in spaced rounds (Go's runtime lock, `lock2`),
//! then yield, then nap.
//!
//! A contended `lock` runs [`SPIN_ROUNDS`] rounds, each reading the word until it
//! looks free and only then trying to take it, with about [`ROUND`] of `PAUSE`s
//! between rounds; then it yields its thread once; then it sleeps [`FIRST_NAP`],
//! doubling up to [`MAX_NAP`], and starts over.
//!
//! Why not `std::sync::Mutex`: when two workers run the two ends of one channel at
//! once, std's waiter retries within nanoseconds, so it keeps pulling the lock's
//! cache line away from the holder, whose unlock must fetch it back: every
//! operation pays several cross-core transfers. A waiter that stays off the line
//! for a round lets the holder run a string of operations on a warm line. Go spins
//! the same way (four rounds of 30 `PAUSE`s); a round here is set in time rather
//! than in `PAUSE`s because a `PAUSE` costs 3 to 40 ns depending on the CPU, and
//! rounds much shorter than a microsecond left most of the gain on the table.
//!
//! Why no futex: a lock whose waiters sleep until woken must learn at each unlock
//! whether one sleeps, so its unlock is an atomic swap, a full barrier that waits
//! for every store of the critical section. With two of them per channel operation
//! (`lock cmpxchg`, `xchg`), the barriers were most of an uncontended operation's
//! cost; the plain store takes it down by about a third. The price is that a waiter
//! which reaches the naps (its holder was preempted, or many threads pile onto one
//! channel) notices the release only at its next look. Critical sections here are
//! short and never run user code (no `Drop` of a value, no waker), so waiters
//! rarely get that far (benches/README.md, "Channels", has the figures).
//!
//! Under `cfg(loom)` the word is loom's atomic, and the spins and naps are loom
//! yields, so the model below checks the ordering.

use std::cell::UnsafeCell;
use std::ops::{Deref, DerefMut};
use std::time::Duration;

use crate::loom::{AtomicBool, Ordering};

/// Spinning rounds before a waiter yields, then naps (Go's `active_spin`).
const SPIN_ROUNDS: u32 = if cfg!(loom) { 1 } else { 4 };
/// How long a waiter stays off the lock's cache line between two looks.
const ROUND: Duration = Duration::from_micros(1);
/// A waiter's first nap, after its spins and a yield found the lock held. Linux
/// stretches shorter sleeps to the thread's timer slack, 50 µs by default.
const FIRST_NAP: Duration = Duration::from_micros(50);
/// The longest nap: reached only after the lock stayed held (or was retaken)
/// through about 1.5 ms of looks.
const MAX_NAP: Duration = Duration::from_millis(1);

/// A mutex for short critical sections that never run user code.
pub(crate) struct ChanMutex<T> {
    locked: AtomicBool,
    value: UnsafeCell<T>,
}

// SAFETY: the value is reached only through a guard, and one guard exists at a time:
// the flag is taken with an `Acquire` compare-exchange and released with a
// `Release` store, so the holders' accesses are ordered one after another, as with
// `Mutex<T>`. `T: Send` suffices.
unsafe impl<T: Send> Sync for ChanMutex<T> {}

/// Proof that the lock is held; unlocks on drop.
pub(crate) struct ChanGuard<'a, T> {
    lock: &'a ChanMutex<T>,
}

impl<T> ChanMutex<T> {
    pub(crate) fn new(value: T) -> Self {
        ChanMutex {
            locked: AtomicBool::new(false),
            value: UnsafeCell::new(value),
        }
    }

    #[inline]
    pub(crate) fn lock(&self) -> ChanGuard<'_, T> {
        if self
            .locked
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            self.lock_contended();
        }
        ChanGuard { lock: self }
    }

    #[cold]
    fn lock_contended(&self) {
        let mut nap = FIRST_NAP;
        loop {
            for _ in 0..SPIN_ROUNDS {
                if self.try_take() {
                    return;
                }
                pause_round();
            }
            if self.try_take() {
                return;
            }
            yield_thread();
            if self.try_take() {
                return;
            }
            sleep(nap);
            nap = (nap * 2).min(MAX_NAP);
        }
    }

    /// Reads the flag until it looks free, then tries to take it. Returns false
    /// when it is held.
    #[inline]
    fn try_take(&self) -> bool {
        while !self.locked.load(Ordering::Relaxed) {
            if self
                .locked
                .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
            {
                return true;
            }
        }
        false
    }
}

impl<T> Deref for ChanGuard<'_, T> {
    type Target = T;
    #[inline]
    fn deref(&self) -> &T {
        // SAFETY: the guard proves the lock is held.
        unsafe { &*self.lock.value.get() }
    }
}

impl<T> DerefMut for ChanGuard<'_, T> {
    #[inline]
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the guard proves the lock is held, and `&mut self` that this is
        // the only reference made through it.
        unsafe { &mut *self.lock.value.get() }
    }
}

impl<T> Drop for ChanGuard<'_, T> {
    #[inline]
    fn drop(&mut self) {
        self.lock.locked.store(false, Ordering::Release);
    }
}

/// Stays off the lock word for about [`ROUND`].
#[cfg(not(loom))]
fn pause_round() {
    for _ in 0..pauses_per_round() {
        std::hint::spin_loop();
    }
}

#[cfg(not(loom))]
fn yield_thread() {
    std::thread::yield_now();
}

#[cfg(not(loom))]
fn sleep(nap: Duration) {
    std::thread::sleep(nap);
}

/// Under loom the spins are left out (they only change timing) and the yield and
/// the nap hand over to loom's scheduler.
#[cfg(loom)]
fn pause_round() {}

#[cfg(loom)]
fn yield_thread() {
    loom::thread::yield_now();
}

#[cfg(loom)]
fn sleep(_: Duration) {
    loom::thread::yield_now();
}

/// How many `PAUSE`s take about [`ROUND`] on this CPU, measured once (a few
/// microseconds, at the first contended lock of the process).
#[cfg(not(loom))]
fn pauses_per_round() -> u32 {
    use std::sync::atomic::AtomicU32;
    static PAUSES: AtomicU32 = AtomicU32::new(0);
    match PAUSES.load(Ordering::Relaxed) {
        0 => {
            const PROBE: u32 = 256;
            // The fastest of three probes: a preempted probe reads long.
            let best = (0..3)
                .map(|_| {
                    let start = std::time::Instant::now();
                    for _ in 0..PROBE {
                        std::hint::spin_loop();
                    }
                    start.elapsed()
                })
                .min()
                .unwrap_or(ROUND);
            let per_pause = best.as_nanos().max(1) as f64 / f64::from(PROBE);
            let n = (ROUND.as_nanos() as f64 / per_pause).clamp(16.0, 1024.0) as u32;
            PAUSES.store(n, Ordering::Relaxed);
            n
        }
        n => n,
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use std::sync::Arc;

    use super::ChanMutex;

    /// Threads beyond the cores, some yielding inside the critical section, so
    /// waiters reach every stage (spin, yield, nap): no increment is lost and
    /// every thread finishes.
    #[test]
    fn counts_every_increment_under_oversubscription() {
        const THREADS: usize = 8;
        const ROUNDS: usize = 20_000;
        let lock = Arc::new(ChanMutex::new(0usize));
        let handles: Vec<_> = (0..THREADS)
            .map(|t| {
                let lock = lock.clone();
                std::thread::spawn(move || {
                    for i in 0..ROUNDS {
                        let mut g = lock.lock();
                        let v = *g;
                        if (i + t) % 97 == 0 {
                            std::thread::yield_now();
                        }
                        *g = v + 1;
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        assert_eq!(*lock.lock(), THREADS * ROUNDS);
    }
}

#[cfg(all(test, loom))]
mod loom_models {
    use loom::cell::UnsafeCell;
    use loom::sync::Arc;

    use super::ChanMutex;

    /// Two threads each add one under the lock: overlapping critical sections are
    /// a data race on the cell, which loom reports. (Spin loops make every extra
    /// thread multiply the branches past loom's limit.)
    #[test]
    fn loom_chan_mutex_excludes() {
        loom::model(|| {
            let lock = Arc::new(ChanMutex::new(UnsafeCell::new(0usize)));
            let handles: Vec<_> = (0..1)
                .map(|_| {
                    let lock = lock.clone();
                    loom::thread::spawn(move || {
                        let g = lock.lock();
                        // SAFETY: the lock is held.
                        g.with_mut(|v| unsafe { *v += 1 });
                    })
                })
                .collect();
            {
                let g = lock.lock();
                // SAFETY: the lock is held.
                g.with_mut(|v| unsafe { *v += 1 });
            }
            for h in handles {
                h.join().unwrap();
            }
            let g = lock.lock();
            // SAFETY: the lock is held.
            assert_eq!(g.with(|v| unsafe { *v }), 2);
        });
    }
}
