//! The lock of one shard's wheel: a test-and-set lock released with a plain store.
//!
//! A worker takes its own shard's lock twice per timer (arm, cancel), nearly always
//! uncontended. `std::sync::Mutex` releases with an atomic swap (it must learn
//! whether a waiter sleeps on the futex), a full barrier that waits for the stores
//! to the cold timer entry and wheel nodes just written. This lock's release is a
//! `Release` store, which on x86 is an ordinary store. The price: a waiter never
//! sleeps. It spins briefly, then yields its thread until the holder lets go.
//! That is sound here because every critical section is short and bounded (one
//! link, one unlink, or one batch of fired entries), and contention is rare: another
//! thread takes a shard's lock only to cancel a timer armed there or to fire the
//! timers of a worker that is parked or busy.
//!
//! Under `cfg(loom)` the lock word is loom's atomic and the wait loop yields to
//! loom's scheduler, so the timer models check the lock's ordering as well.

use std::cell::UnsafeCell;
use std::ops::{Deref, DerefMut};

use crate::loom::sync::atomic::{AtomicBool, Ordering};

/// Spins of the wait loop before it starts yielding the thread.
const SPINS: u32 = 32;

/// A mutual-exclusion lock around `T` whose release is a plain `Release` store.
pub(crate) struct ShardLock<T> {
    locked: AtomicBool,
    value: UnsafeCell<T>,
}

// SAFETY: `value` is reached only through a guard, and at most one guard exists at a
// time (the `locked` flag is taken with an `Acquire` compare-exchange and released
// with a `Release` store), so sharing the lock hands `T` between threads one at a
// time, as `Mutex<T>` does: `T: Send` suffices.
unsafe impl<T: Send> Sync for ShardLock<T> {}

/// Exclusive access to the value of a [`ShardLock`]; releases it when dropped.
pub(crate) struct ShardGuard<'a, T> {
    lock: &'a ShardLock<T>,
}

impl<T> ShardLock<T> {
    pub(crate) fn new(value: T) -> ShardLock<T> {
        ShardLock {
            locked: AtomicBool::new(false),
            value: UnsafeCell::new(value),
        }
    }

    /// Takes the lock, waiting (spinning, then yielding) while another thread holds it.
    #[inline]
    pub(crate) fn lock(&self) -> ShardGuard<'_, T> {
        if self
            .locked
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            self.lock_contended();
        }
        ShardGuard { lock: self }
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
                crate::loom::yield_now();
            }
        }
    }
}

impl<T> Deref for ShardGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        // SAFETY: the guard holds the lock, so no other reference to the value exists.
        unsafe { &*self.lock.value.get() }
    }
}

impl<T> DerefMut for ShardGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`, and `&mut self` makes this the guard's only borrow.
        unsafe { &mut *self.lock.value.get() }
    }
}

impl<T> Drop for ShardGuard<'_, T> {
    #[inline]
    fn drop(&mut self) {
        self.lock.locked.store(false, Ordering::Release);
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use std::sync::Arc;

    use super::ShardLock;

    /// Threads (more than this machine's cores, so holders get preempted) each add
    /// to a plain counter under the lock with a read, a yield and a write: a lost
    /// update shows any overlap of two critical sections.
    #[test]
    fn critical_sections_never_overlap() {
        const THREADS: usize = 6;
        const ROUNDS: usize = 20_000;
        let lock = Arc::new(ShardLock::new(0usize));
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
