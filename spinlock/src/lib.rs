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

/// A mutual-exclusion lock around `T` whose release is a plain `Release` store
/// (see the crate docs for when to use it).
pub struct SpinLock<T> {
    locked: AtomicBool,
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
            value: UnsafeCell::new(value),
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
        let mut spins = 0;
        loop {
            // Read before trying, so waiters share the line until it is released.
            if !self.locked.load(Ordering::Relaxed)
                && self
                    .locked
                    .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
                    .is_ok()
            {
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

#[cfg(all(test, not(loom)))]
mod tests {
    use std::sync::Arc;

    use super::SpinLock;

    /// Threads (more than this machine's cores, so holders get preempted) each add
    /// to a plain counter under the lock with a read, a yield and a write: a lost
    /// update shows any overlap of two critical sections.
    #[test]
    fn critical_sections_never_overlap() {
        const THREADS: usize = 6;
        const ROUNDS: usize = 20_000;
        let lock = Arc::new(SpinLock::new(0usize));
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
    #[test]
    fn loom_lock_excludes() {
        loom::model(|| {
            let lock = Arc::new(SpinLock::new(UnsafeCell::new(0usize)));
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
}
