//! Synchronisation primitives: `std` normally, `loom`'s model-checked ones under
//! `--cfg loom` (the tokio pattern), so the same hand-off and select-CAS code is
//! what loom explores.

#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{AtomicUsize, Ordering};
#[cfg(not(loom))]
pub(crate) use std::sync::{Arc, Mutex, MutexGuard};

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{AtomicUsize, Ordering};
#[cfg(loom)]
pub(crate) use loom::sync::{Arc, Mutex, MutexGuard};

/// Locks `m`, ignoring poisoning: no user code ever runs while a channel lock is
/// held (wakers are called and values dropped after unlocking), so a poisoned
/// lock can only come from a bug in this crate's own bookkeeping.
#[inline]
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    #[cfg(not(loom))]
    {
        m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
    #[cfg(loom)]
    {
        m.lock().unwrap()
    }
}
