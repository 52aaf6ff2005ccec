//! Synchronisation primitives: `std`'s atomics and `gorun-spinlock`'s spaced lock
//! normally, `loom`'s model-checked ones under `--cfg loom` (the tokio pattern), so
//! the same hand-off and select-CAS code is what loom explores. The lock has its
//! own loom model in its crate; the channel's models use loom's mutex.

#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
#[cfg(not(loom))]
pub(crate) use std::sync::Arc;

#[cfg(not(loom))]
pub(crate) use gorun_spinlock::{SpinGuard as MutexGuard, SpinLock as Mutex};

/// A channel lock around `value` (see `gorun_spinlock::SpinLock::spaced`).
#[cfg(not(loom))]
pub(crate) fn new_lock<T>(value: T) -> Mutex<T> {
    Mutex::spaced(value)
}

#[cfg(loom)]
pub(crate) fn new_lock<T>(value: T) -> Mutex<T> {
    Mutex::new(value)
}

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
#[cfg(loom)]
pub(crate) use loom::sync::{Arc, Mutex, MutexGuard};

/// Locks `m`. No user code ever runs while a channel lock is held (wakers are
/// called and values dropped after unlocking), so there is no poisoning: a panic
/// under the lock can only come from this crate's own debug checks.
#[inline]
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    #[cfg(not(loom))]
    {
        m.lock()
    }
    #[cfg(loom)]
    {
        m.lock().unwrap()
    }
}
