//! Synchronisation primitives: `std`'s atomics and the channel's own lock
//! (`lock.rs`) normally, `loom`'s model-checked ones under `--cfg loom` (the tokio
//! pattern), so the same hand-off and select-CAS code is what loom explores. The
//! channel lock has its own loom model; the channel's models use loom's mutex.

#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
#[cfg(not(loom))]
pub(crate) use std::sync::Arc;

#[cfg(not(loom))]
pub(crate) use crate::lock::{ChanGuard as MutexGuard, ChanMutex as Mutex};

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
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
