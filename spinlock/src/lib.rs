//! The lock of gorun's short, mostly uncontended critical sections: a test-and-set
//! lock released with a plain store.
//!
//! Its users take it on their hottest paths, nearly always uncontended: a worker's
//! own timer-wheel shard (twice per timer: arm, cancel) and the owned-tasks shard of
//! each spawned task (bind, remove). `std::sync::Mutex` releases with an atomic swap
//! (it must learn whether a waiter sleeps on the futex), a full barrier that waits
//! for the stores to the cold timer entry or task cell just written. This lock's
//! release is a `Release` store, which on x86 is an ordinary store. The price: a
//! waiter never sleeps. It spins briefly, then yields its thread until the holder
//! lets go. That is sound only for critical sections that are short and bounded and
//! rarely contended, which is what the users promise (each says why at its use).
//!
//! [`SpinLock::spaced`] makes the same lock for a critical section that two threads
//! may hammer at once (a channel whose two ends run on two workers): its waiters
//! spin in rounds of about 1 µs, then yield, then nap (see [`SpinLock::spaced`]).
//!
//! Under `cfg(loom)` the lock word is loom's atomic and the wait loop yields to
//! loom's scheduler, so the users' loom models check the lock's ordering as well.
//!
//! ```
//! let lock = gorun_spinlock::SpinLock::new(Vec::new());
//! lock.lock().push(1);
//! assert_eq!(*lock.lock(), [1]);
//! ```

use std::cell::UnsafeCell;
use std::ops::{Deref, DerefMut};
use std::time::Duration;

#[cfg(not(loom))]
use std::sync::atomic::{AtomicBool, Ordering};
#[cfg(not(loom))]
use std::thread::yield_now;

#[cfg(loom)]
use loom::sync::atomic::{AtomicBool, Ordering};
#[cfg(loom)]
use loom::thread::yield_now;

/// Spins of the wait loop before it starts yielding the thread.
const SPINS: u32 = 32;

/// Spaced waiting: rounds before a waiter yields, then naps (Go's `active_spin`).
const SPACED_ROUNDS: u32 = if cfg!(loom) { 1 } else { 4 };
/// Spaced waiting: how long a waiter stays off the lock's cache line between two
/// looks.
#[cfg_attr(loom, allow(dead_code))]
const ROUND: Duration = Duration::from_micros(1);
/// Spaced waiting: the first nap, after the rounds and a yield found the lock held.
/// Linux stretches shorter sleeps to the thread's timer slack, 50 µs by default.
const FIRST_NAP: Duration = Duration::from_micros(50);
/// Spaced waiting: the longest nap, reached only after the lock stayed held (or was
/// retaken) through about 1.5 ms of looks.
const MAX_NAP: Duration = Duration::from_millis(1);

/// A mutual-exclusion lock around `T` whose release is a plain `Release` store
/// (see the crate docs for when to use it).
pub struct SpinLock<T> {
    locked: AtomicBool,
    /// Whether waiters wait in spaced rounds ([`SpinLock::spaced`]).
    spaced: bool,
    value: UnsafeCell<T>,
}

// SAFETY: `value` is reached only through a guard, and at most one guard exists at a
// time (the `locked` flag is taken with an `Acquire` compare-exchange and released
// with a `Release` store), so sharing the lock hands `T` between threads one at a
// time, as `Mutex<T>` does: `T: Send` suffices.
unsafe impl<T: Send> Sync for SpinLock<T> {}

/// Exclusive access to the value of a [`SpinLock`]; releases it when dropped.
pub struct SpinGuard<'a, T> {
    lock: &'a SpinLock<T>,
}

impl<T> SpinLock<T> {
    /// A new, unlocked lock around `value`.
    pub fn new(value: T) -> SpinLock<T> {
        SpinLock {
            locked: AtomicBool::new(false),
            spaced: false,
            value: UnsafeCell::new(value),
        }
    }

    /// A new, unlocked lock around `value` whose waiters stay off its cache line
    /// between looks: four rounds, each reading the flag until it looks free and
    /// only then trying to take it, with about 1 µs of `PAUSE`s between rounds
    /// (Go's runtime lock spins so, four rounds of 30 `PAUSE`s); then one yield;
    /// then naps of 50 µs doubling to 1 ms, looking again after each.
    ///
    /// For a lock two threads may hammer at once. A waiter that retries within
    /// nanoseconds (as `std::sync::Mutex`'s does) keeps pulling the line away from
    /// the holder, whose unlock must fetch it back, so every critical section pays
    /// several cross-core transfers; a spaced waiter leaves the holder the line for
    /// a string of them. A round is set in time, not in `PAUSE`s, because a `PAUSE`
    /// costs 3 to 40 ns depending on the CPU (it is measured once, at the first
    /// spaced wait). The naps instead of a futex keep the release a plain store; the
    /// price is that a napping waiter notices the release only at its next look,
    /// which is reached only when the holder was preempted or many threads pile on
    /// (benches/README.md, "Channels", has the figures).
    pub fn spaced(value: T) -> SpinLock<T> {
        SpinLock {
            spaced: true,
            ..SpinLock::new(value)
        }
    }

    /// Takes the lock, waiting (spinning, then yielding) while another thread holds it.
    #[inline]
    pub fn lock(&self) -> SpinGuard<'_, T> {
        if self
            .locked
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            self.lock_contended();
        }
        SpinGuard { lock: self }
    }

    #[cold]
    fn lock_contended(&self) {
        if self.spaced {
            return self.wait_spaced();
        }
        let mut spins = 0;
        loop {
            if self.try_take() {
                return;
            }
            if spins < SPINS && !cfg!(loom) {
                spins += 1;
                std::hint::spin_loop();
            } else {
                yield_now();
            }
        }
    }

    /// See [`SpinLock::spaced`].
    fn wait_spaced(&self) {
        let mut nap = FIRST_NAP;
        loop {
            for _ in 0..SPACED_ROUNDS {
                if self.try_take() {
                    return;
                }
                pause_round();
            }
            if self.try_take() {
                return;
            }
            yield_now();
            if self.try_take() {
                return;
            }
            sleep(nap);
            nap = (nap * 2).min(MAX_NAP);
        }
    }

    /// Reads the flag until it looks free (waiters share the line until it is
    /// released), then tries to take it. Returns false when it is held.
    #[inline]
    fn try_take(&self) -> bool {
        while !self.locked.load(Ordering::Relaxed) {
            if self
                .locked
                .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
            {
                return true;
            }
        }
        false
    }
}

impl<T> Deref for SpinGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: the guard holds the lock, so no other reference to the value exists.
        unsafe { &*self.lock.value.get() }
    }
}

impl<T> DerefMut for SpinGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`, and `&mut self` makes this the guard's only borrow.
        unsafe { &mut *self.lock.value.get() }
    }
}

impl<T> Drop for SpinGuard<'_, T> {
    #[inline]
    fn drop(&mut self) {
        self.lock.locked.store(false, Ordering::Release);
    }
}

/// Stays off the lock's line for about [`ROUND`].
#[cfg(not(loom))]
fn pause_round() {
    for _ in 0..pauses_per_round() {
        std::hint::spin_loop();
    }
}

#[cfg(not(loom))]
fn sleep(nap: Duration) {
    std::thread::sleep(nap);
}

/// Under loom the pauses are left out (they only change timing) and a nap hands
/// over to loom's scheduler.
#[cfg(loom)]
fn pause_round() {}

#[cfg(loom)]
fn sleep(_: Duration) {
    yield_now();
}

/// How many `PAUSE`s take about [`ROUND`] on this CPU, measured once (a few
/// microseconds, at the first spaced wait of the process).
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

    use super::SpinLock;

    /// Threads (more than this machine's cores, so holders get preempted and
    /// spaced waiters reach their naps) each add to a plain counter under the lock
    /// with a read, a yield and a write: a lost update shows any overlap of two
    /// critical sections.
    fn critical_sections_never_overlap(new: fn(usize) -> SpinLock<usize>) {
        const THREADS: usize = 6;
        const ROUNDS: usize = 20_000;
        let lock = Arc::new(new(0));
        let handles: Vec<_> = (0..THREADS)
            .map(|_| {
                let lock = lock.clone();
                std::thread::spawn(move || {
                    for i in 0..ROUNDS {
                        let mut g = lock.lock();
                        let v = *g;
                        if i % 64 == 0 {
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

    #[test]
    fn yielding_critical_sections_never_overlap() {
        critical_sections_never_overlap(SpinLock::new);
    }

    #[test]
    fn spaced_critical_sections_never_overlap() {
        critical_sections_never_overlap(SpinLock::spaced);
    }
}

/// `RUSTFLAGS="--cfg loom" cargo test -p gorun-spinlock --release --lib loom`.
#[cfg(all(test, loom))]
mod loom_models {
    use loom::cell::UnsafeCell;
    use loom::sync::Arc;

    use super::SpinLock;

    /// Two threads each increment a counter under the lock. The counter is a loom
    /// cell, so loom reports any two critical sections that the lock's `Acquire`
    /// take and `Release` store do not order, and the sum shows a lost update.
    fn lock_excludes(new: fn(UnsafeCell<usize>) -> SpinLock<UnsafeCell<usize>>) {
        loom::model(move || {
            let lock = Arc::new(new(UnsafeCell::new(0usize)));
            let other = lock.clone();
            let t = loom::thread::spawn(move || {
                let g = other.lock();
                // SAFETY: the guard holds the lock.
                g.with_mut(|v| unsafe { *v += 1 });
            });
            {
                let g = lock.lock();
                // SAFETY: as above.
                g.with_mut(|v| unsafe { *v += 1 });
            }
            t.join().unwrap();
            let g = lock.lock();
            // SAFETY: as above.
            assert_eq!(g.with(|v| unsafe { *v }), 2);
        });
    }

    #[test]
    fn loom_lock_excludes() {
        lock_excludes(SpinLock::new);
    }

    #[test]
    fn loom_spaced_lock_excludes() {
        lock_excludes(SpinLock::spaced);
    }
}
