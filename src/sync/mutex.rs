//! An async mutex: a [`Semaphore`] of one permit plus an `UnsafeCell`.
//!
//! Invariant: a `MutexGuard`/`OwnedMutexGuard` exists iff the semaphore's single
//! permit is taken, so at most one guard exists and it has exclusive access to
//! `data`. The guard gives the permit back on drop.

use std::cell::UnsafeCell;
use std::fmt;
use std::ops::{Deref, DerefMut};
use std::sync::Arc;

use super::semaphore::Semaphore;

/// An async mutual-exclusion lock (Go's `sync.Mutex`, guarding a value as Rust does).
///
/// Locking is FIFO-fair: while anyone waits, new lockers queue behind them, so no
/// locker starves. Uncontended, `lock` and unlock are one atomic operation each.
/// [`lock`](Mutex::lock) is cancel-safe: a dropped lock future loses nothing and
/// blocks no one; if the lock had just been handed to it, it passes to the next waiter.
///
/// The guard may be held across `.await` (unlike `std::sync::MutexGuard`), and is
/// `Send`, so a task holding it can move between workers.
///
/// **No poisoning** (as in tokio): if a task panics while holding the guard, the lock
/// is released and the next locker sees the value as the panicking task left it. Keep
/// invariants that a panic could break in mind, or use `std::sync::Mutex` for them.
///
/// ```
/// # gorun::Runtime::builder().procs(2).build().unwrap().run(async {
/// use std::sync::Arc;
/// use gorun::sync::Mutex;
///
/// let count = Arc::new(Mutex::new(0));
/// let handles: Vec<_> = (0..10)
///     .map(|_| {
///         let count = count.clone();
///         gorun::go(async move { *count.lock().await += 1 })
///     })
///     .collect();
/// for h in handles {
///     h.await.unwrap();
/// }
/// assert_eq!(*count.lock().await, 10);
/// # });
/// ```
pub struct Mutex<T: ?Sized> {
    sem: Semaphore,
    data: UnsafeCell<T>,
}

// SAFETY: the mutex hands out `&mut T` to one guard at a time (see the module
// invariant), which may live on another thread: `T: Send` suffices, as for
// `std::sync::Mutex`.
unsafe impl<T: ?Sized + Send> Send for Mutex<T> {}
// SAFETY: as above: shared access to the mutex only yields exclusive access to `T`,
// one holder at a time.
unsafe impl<T: ?Sized + Send> Sync for Mutex<T> {}
// SAFETY: a `&MutexGuard` only gives `&T`, so sharing the guard shares `&T`.
unsafe impl<T: ?Sized + Sync> Sync for MutexGuard<'_, T> {}
// SAFETY: as above.
unsafe impl<T: ?Sized + Sync> Sync for OwnedMutexGuard<T> {}

/// `try_lock`, `try_read` or `try_write` could not take the lock now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TryLockError(pub(super) ());

impl fmt::Display for TryLockError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the lock is held (or awaited) by another task")
    }
}

impl std::error::Error for TryLockError {}

impl<T> Mutex<T> {
    const_fn_unless_loom! {
        /// A new, unlocked mutex holding `value`.
        pub fn new(value: T) -> Mutex<T> {
            Mutex {
                sem: Semaphore::new(1),
                data: UnsafeCell::new(value),
            }
        }
    }

    /// Consumes the mutex, returning the value.
    pub fn into_inner(self) -> T {
        self.data.into_inner()
    }
}

impl<T: ?Sized> Mutex<T> {
    /// Waits for the lock. Cancel-safe, FIFO.
    pub async fn lock(&self) -> MutexGuard<'_, T> {
        super::with_wait_reason(gorun_coop::WaitReason::Lock, self.sem.acquire())
            .await
            .forget();
        MutexGuard { lock: self }
    }

    /// [`lock`](Self::lock) with a guard that owns the `Arc`, for moving into a task.
    pub async fn lock_owned(self: Arc<Self>) -> OwnedMutexGuard<T> {
        super::with_wait_reason(gorun_coop::WaitReason::Lock, self.sem.acquire())
            .await
            .forget();
        OwnedMutexGuard { lock: self }
    }

    /// Takes the lock from a thread outside the runtime, blocking it.
    ///
    /// Do not call this on a runtime worker (inside a task): it blocks the worker,
    /// and can deadlock if the holder needs that worker.
    pub fn blocking_lock(&self) -> MutexGuard<'_, T> {
        super::waiters::block_on(self.lock())
    }

    /// Takes the lock if it is free now and nobody waits for it.
    pub fn try_lock(&self) -> Result<MutexGuard<'_, T>, TryLockError> {
        match self.sem.try_acquire() {
            Ok(p) => {
                p.forget();
                Ok(MutexGuard { lock: self })
            }
            Err(_) => Err(TryLockError(())),
        }
    }

    /// [`try_lock`](Self::try_lock) with a guard that owns the `Arc`.
    pub fn try_lock_owned(self: Arc<Self>) -> Result<OwnedMutexGuard<T>, TryLockError> {
        match self.sem.try_acquire() {
            Ok(p) => p.forget(),
            Err(_) => return Err(TryLockError(())),
        }
        Ok(OwnedMutexGuard { lock: self })
    }

    /// The value, through a unique borrow (no locking needed).
    pub fn get_mut(&mut self) -> &mut T {
        self.data.get_mut()
    }
}

impl<T: Default> Default for Mutex<T> {
    fn default() -> Self {
        Mutex::new(T::default())
    }
}

impl<T> From<T> for Mutex<T> {
    fn from(value: T) -> Self {
        Mutex::new(value)
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for Mutex<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Mutex");
        match self.try_lock() {
            Ok(g) => d.field("data", &&*g),
            Err(_) => d.field("data", &format_args!("<locked>")),
        };
        d.finish()
    }
}

/// Exclusive access to a [`Mutex`]'s value; unlocks on drop.
#[must_use = "the mutex unlocks as soon as the guard is dropped"]
pub struct MutexGuard<'a, T: ?Sized> {
    lock: &'a Mutex<T>,
}

impl<T: ?Sized> Deref for MutexGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: this guard holds the mutex's only permit (module invariant), so no
        // other reference to `data` exists while it lives.
        unsafe { &*self.lock.data.get() }
    }
}

impl<T: ?Sized> DerefMut for MutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`; `&mut self` makes this the only borrow of the guard.
        unsafe { &mut *self.lock.data.get() }
    }
}

impl<T: ?Sized> Drop for MutexGuard<'_, T> {
    fn drop(&mut self) {
        self.lock.sem.release(1);
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

/// Exclusive access to an `Arc<Mutex<T>>`'s value, movable into a task; unlocks on
/// drop.
#[must_use = "the mutex unlocks as soon as the guard is dropped"]
pub struct OwnedMutexGuard<T: ?Sized> {
    lock: Arc<Mutex<T>>,
}

impl<T: ?Sized> OwnedMutexGuard<T> {
    /// The mutex this guard locks.
    pub fn mutex(&self) -> &Arc<Mutex<T>> {
        &self.lock
    }
}

impl<T: ?Sized> Deref for OwnedMutexGuard<T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: this guard holds the mutex's only permit (module invariant).
        unsafe { &*self.lock.data.get() }
    }
}

impl<T: ?Sized> DerefMut for OwnedMutexGuard<T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`; `&mut self` makes this the only borrow of the guard.
        unsafe { &mut *self.lock.data.get() }
    }
}

impl<T: ?Sized> Drop for OwnedMutexGuard<T> {
    fn drop(&mut self) {
        self.lock.sem.release(1);
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for OwnedMutexGuard<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}
