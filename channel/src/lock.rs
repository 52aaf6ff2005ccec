//! The channel lock: Go's runtime lock (`lock_futex.go`'s `lock2`/`unlock2`).
//!
//! One word, three states: unlocked, locked, locked with a possible sleeper. A
//! contended `lock` runs [`SPIN_ROUNDS`] rounds, each reading the word until it
//! looks free and only then trying to take it, with about [`ROUND`] of `PAUSE`s
//! between rounds; then it yields its thread once; then it sleeps on a futex
//! (outside Linux: yields until the word changes). The unlock wakes one sleeper
//! when the word says there may be one.
//!
//! Why not `std::sync::Mutex`: when two workers run the two ends of one channel at
//! once, std's waiter retries within nanoseconds, so it keeps pulling the lock's
//! cache line away from the holder, whose unlock must fetch it back: every
//! operation pays several cross-core transfers. A waiter that stays off the line
//! for a round lets the holder run a string of operations on a warm line. Go spins
//! the same way (four rounds of 30 `PAUSE`s); a round here is set in time rather
//! than in `PAUSE`s because a `PAUSE` costs 3 to 40 ns depending on the CPU, and
//! rounds much shorter than a microsecond left most of the gain on the table
//! (benches/README.md, "Channels").
//!
//! Sound for what the channel promises: critical sections are short and never run
//! user code (no `Drop` of a value, no waker), so a waiter rarely reaches the futex.
//!
//! Under `cfg(loom)` the word is loom's atomic and the futex is a loom mutex and
//! condvar (the model below checks that no unlock leaves a sleeper behind).

use std::cell::UnsafeCell;
use std::ops::{Deref, DerefMut};
use std::time::Duration;

use crate::loom::{AtomicU32, Ordering};

const UNLOCKED: u32 = 0;
const LOCKED: u32 = 1;
/// Locked, and a thread may sleep on the futex: the unlock must wake one.
const SLEEPING: u32 = 2;

/// Spinning rounds before a waiter yields, then sleeps (Go's `active_spin`).
const SPIN_ROUNDS: u32 = if cfg!(loom) { 1 } else { 4 };
/// How long a waiter stays off the lock's cache line between two looks.
const ROUND: Duration = Duration::from_micros(1);

/// A mutex for short critical sections that never run user code.
pub(crate) struct ChanMutex<T> {
    state: AtomicU32,
    #[cfg(loom)]
    futex: loom_futex::Futex,
    value: UnsafeCell<T>,
}

// SAFETY: the value is reached only through a guard, and one guard exists at a time:
// the word is taken with an `Acquire` read-modify-write and released with a
// `Release` swap, so the holders' accesses are ordered one after another, as with
// `Mutex<T>`. `T: Send` suffices.
unsafe impl<T: Send> Sync for ChanMutex<T> {}

/// Proof that the lock is held; unlocks on drop.
pub(crate) struct ChanGuard<'a, T> {
    lock: &'a ChanMutex<T>,
}

impl<T> ChanMutex<T> {
    pub(crate) fn new(value: T) -> Self {
        ChanMutex {
            state: AtomicU32::new(UNLOCKED),
            #[cfg(loom)]
            futex: loom_futex::Futex::new(),
            value: UnsafeCell::new(value),
        }
    }

    #[inline]
    pub(crate) fn lock(&self) -> ChanGuard<'_, T> {
        if self
            .state
            .compare_exchange(UNLOCKED, LOCKED, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            self.lock_contended();
        }
        ChanGuard { lock: self }
    }

    #[cold]
    fn lock_contended(&self) {
        // The state to take the word in: once this thread has slept, others may
        // sleep too, so its unlock must wake (Go's `wait`).
        let mut take_as = LOCKED;
        loop {
            for _ in 0..SPIN_ROUNDS {
                if self.try_take(take_as) {
                    return;
                }
                pause_round();
            }
            if self.try_take(take_as) {
                return;
            }
            yield_thread();
            if self.state.swap(SLEEPING, Ordering::Acquire) == UNLOCKED {
                return;
            }
            take_as = SLEEPING;
            self.futex_wait();
        }
    }

    /// Reads the word until it looks free, then tries to take it (as `take_as`).
    /// Returns false when it is held.
    #[inline]
    fn try_take(&self, take_as: u32) -> bool {
        while self.state.load(Ordering::Relaxed) == UNLOCKED {
            if self
                .state
                .compare_exchange(UNLOCKED, take_as, Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
            {
                return true;
            }
        }
        false
    }

    #[inline]
    fn unlock(&self) {
        if self.state.swap(UNLOCKED, Ordering::Release) == SLEEPING {
            self.futex_wake();
        }
    }

    #[cfg(all(target_os = "linux", not(loom)))]
    fn futex_wait(&self) {
        // SAFETY: FUTEX_WAIT reads the aligned `u32` behind the pointer, valid for as
        // long as `self`; a changed word, a wake or a signal just returns, and the
        // caller looks again.
        unsafe {
            libc::syscall(
                libc::SYS_futex,
                self.state.as_ptr(),
                libc::FUTEX_WAIT | libc::FUTEX_PRIVATE_FLAG,
                SLEEPING,
                std::ptr::null::<libc::timespec>(),
            );
        }
    }

    #[cfg(all(target_os = "linux", not(loom)))]
    fn futex_wake(&self) {
        // SAFETY: FUTEX_WAKE uses the address only as a key.
        unsafe {
            libc::syscall(
                libc::SYS_futex,
                self.state.as_ptr(),
                libc::FUTEX_WAKE | libc::FUTEX_PRIVATE_FLAG,
                1,
            );
        }
    }

    #[cfg(all(not(target_os = "linux"), not(loom)))]
    fn futex_wait(&self) {
        while self.state.load(Ordering::Relaxed) == SLEEPING {
            std::thread::yield_now();
        }
    }

    #[cfg(all(not(target_os = "linux"), not(loom)))]
    fn futex_wake(&self) {}

    #[cfg(loom)]
    fn futex_wait(&self) {
        self.futex.wait(&self.state, SLEEPING);
    }

    #[cfg(loom)]
    fn futex_wake(&self) {
        self.futex.wake();
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
        self.lock.unlock();
    }
}

/// Stays off the lock word for about [`ROUND`].
#[cfg(not(loom))]
fn pause_round() {
    for _ in 0..pauses_per_round() {
        std::hint::spin_loop();
    }
}

/// Under loom the spins are left out: they only change timing, and without them
/// the model reaches the futex sleep, the part worth checking.
#[cfg(loom)]
fn pause_round() {}

#[cfg(not(loom))]
fn yield_thread() {
    std::thread::yield_now();
}

#[cfg(loom)]
fn yield_thread() {}

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

/// A futex for loom: a word check and a sleep made atomic by a mutex, as the
/// kernel's hash-bucket lock makes them.
#[cfg(loom)]
mod loom_futex {
    use loom::sync::{Condvar, Mutex};

    use crate::loom::{AtomicU32, Ordering};

    pub(super) struct Futex {
        bucket: Mutex<()>,
        sleepers: Condvar,
    }

    impl Futex {
        pub(super) fn new() -> Self {
            Futex {
                bucket: Mutex::new(()),
                sleepers: Condvar::new(),
            }
        }

        pub(super) fn wait(&self, word: &AtomicU32, expected: u32) {
            let guard = self.bucket.lock().unwrap();
            if word.load(Ordering::Relaxed) == expected {
                drop(self.sleepers.wait(guard).unwrap());
            }
        }

        pub(super) fn wake(&self) {
            let _guard = self.bucket.lock().unwrap();
            self.sleepers.notify_one();
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use std::sync::Arc;

    use super::ChanMutex;

    /// Threads beyond the cores, some yielding inside the critical section, so
    /// waiters reach every stage (spin, yield, futex sleep): no increment is lost
    /// and every thread finishes (a lost wake-up would hang here).
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

    /// `threads` threads and the model's own each add one under the lock. A lost
    /// wake-up is a deadlock loom reports; overlapping critical sections are a
    /// data race on the cell.
    fn add_under_lock(threads: usize) {
        let lock = Arc::new(ChanMutex::new(UnsafeCell::new(0usize)));
        let handles: Vec<_> = (0..threads)
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
        assert_eq!(g.with(|v| unsafe { *v }), threads + 1);
    }

    /// A waiter that goes to sleep against an unlock racing it.
    #[test]
    fn loom_chan_mutex_two_threads() {
        loom::model(|| add_under_lock(1));
    }

    /// Two waiters: the one woken must take the lock as "may have sleepers", or
    /// the other sleeps forever. Preemptions bounded to keep the model small.
    #[test]
    fn loom_chan_mutex_three_threads() {
        let mut model = loom::model::Builder::new();
        model.preemption_bound = Some(3);
        model.check(|| add_under_lock(2));
    }
}
