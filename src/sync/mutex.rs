//! An async mutex: a [`Semaphore`] of one permit plus an `UnsafeCell`.
//!
//! Invariants:
//! 1. A guard (`MutexGuard`, `OwnedMutexGuard` or a mapped one) exists iff the
//!    semaphore's single permit is taken, so at most one guard exists and it has
//!    exclusive access to `data` (or, mapped, to a part of it). The guard gives the
//!    permit back on drop; `map` moves the permit into the mapped guard without
//!    releasing it.
//! 2. The semaphore is never closed, so acquiring it cannot fail.

use std::cell::UnsafeCell;
use std::fmt;
use std::marker::PhantomData;
use std::mem::ManuallyDrop;
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

/// The message of the `expect` that documents invariant 2.
const NEVER_CLOSED: &str = "a Mutex never closes its semaphore";

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
        self.acquire().await;
        MutexGuard { lock: self }
    }

    /// [`lock`](Self::lock) with a guard that owns the `Arc`, for moving into a task.
    pub async fn lock_owned(self: Arc<Self>) -> OwnedMutexGuard<T> {
        self.acquire().await;
        OwnedMutexGuard { lock: self }
    }

    /// Takes the permit for a guard the caller builds.
    async fn acquire(&self) {
        super::with_wait_reason(gorun_coop::WaitReason::Lock, self.sem.acquire())
            .await
            .expect(NEVER_CLOSED)
            .forget();
    }

    /// Takes the lock from a thread outside the runtime, blocking it.
    ///
    /// # Panics
    /// Inside a task (on a runtime worker, or in `Runtime::block_on`): blocking there
    /// would stall the worker's other tasks, and deadlock if the awaited event needs
    /// them (see [`gorun_coop::block_on`]).
    #[track_caller]
    pub fn blocking_lock(&self) -> MutexGuard<'_, T> {
        gorun_coop::block_on(self.lock())
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

impl<'a, T: ?Sized> MutexGuard<'a, T> {
    /// Narrows the guard to a part of the value, keeping the lock (tokio's
    /// `MutexGuard::map`). An associated function, so that it cannot shadow a method
    /// of `T`: call it as `MutexGuard::map(guard, f)`. If `f` panics, the lock is
    /// released.
    ///
    /// ```
    /// # gorun::Runtime::builder().procs(1).build().unwrap().run(async {
    /// use gorun::sync::{Mutex, MutexGuard};
    ///
    /// let m = Mutex::new((1, String::from("a")));
    /// let mut name = MutexGuard::map(m.lock().await, |pair| &mut pair.1);
    /// name.push('b');
    /// assert!(m.try_lock().is_err(), "the mapped guard still holds the lock");
    /// drop(name);
    /// assert_eq!(*m.lock().await, (1, String::from("ab")));
    /// # });
    /// ```
    pub fn map<U: ?Sized, F>(mut this: Self, f: F) -> MappedMutexGuard<'a, U>
    where
        F: FnOnce(&mut T) -> &mut U,
    {
        let data: *mut U = f(&mut *this);
        MappedMutexGuard::new(this.into_sem(), data)
    }

    /// Like [`map`](Self::map), but `f` may decline: then the original guard comes
    /// back, still locked.
    ///
    /// # Errors
    /// `Err(this)` if `f` returned `None`.
    pub fn try_map<U: ?Sized, F>(mut this: Self, f: F) -> Result<MappedMutexGuard<'a, U>, Self>
    where
        F: FnOnce(&mut T) -> Option<&mut U>,
    {
        let data: *mut U = match f(&mut *this) {
            Some(data) => data,
            None => return Err(this),
        };
        Ok(MappedMutexGuard::new(this.into_sem(), data))
    }

    /// The mutex this guard locks (an associated function, like [`map`](Self::map)).
    pub fn mutex(this: &Self) -> &'a Mutex<T> {
        this.lock
    }

    /// Gives up the guard without unlocking: the permit moves to the caller.
    fn into_sem(self) -> &'a Semaphore {
        let lock = self.lock;
        std::mem::forget(self);
        &lock.sem
    }
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

    /// Narrows the guard to a part of the value, keeping the lock and the `Arc`
    /// (tokio's `OwnedMutexGuard::map`). Call it as `OwnedMutexGuard::map(guard, f)`.
    /// If `f` panics, the lock is released.
    ///
    /// ```
    /// # gorun::Runtime::builder().procs(1).build().unwrap().run(async {
    /// use std::sync::Arc;
    /// use gorun::sync::{Mutex, OwnedMutexGuard};
    ///
    /// let m = Arc::new(Mutex::new(vec![1, 2, 3]));
    /// let mut last = OwnedMutexGuard::map(m.clone().lock_owned().await, |v| {
    ///     v.last_mut().unwrap()
    /// });
    /// gorun::go(async move { *last = 30 }).await.unwrap(); // the guard moves into a task
    /// assert_eq!(*m.lock().await, [1, 2, 30]);
    /// # });
    /// ```
    pub fn map<U: ?Sized, F>(mut this: Self, f: F) -> OwnedMappedMutexGuard<T, U>
    where
        F: FnOnce(&mut T) -> &mut U,
    {
        let data: *mut U = f(&mut *this);
        OwnedMappedMutexGuard::new(this.into_arc(), data)
    }

    /// Like [`map`](Self::map), but `f` may decline: then the original guard comes
    /// back, still locked.
    ///
    /// # Errors
    /// `Err(this)` if `f` returned `None`.
    pub fn try_map<U: ?Sized, F>(mut this: Self, f: F) -> Result<OwnedMappedMutexGuard<T, U>, Self>
    where
        F: FnOnce(&mut T) -> Option<&mut U>,
    {
        let data: *mut U = match f(&mut *this) {
            Some(data) => data,
            None => return Err(this),
        };
        Ok(OwnedMappedMutexGuard::new(this.into_arc(), data))
    }

    /// Gives up the guard without unlocking: the permit and the `Arc` move to the
    /// caller.
    fn into_arc(self) -> Arc<Mutex<T>> {
        let this = ManuallyDrop::new(self);
        // SAFETY: `this` is never dropped nor used again, so the `Arc` is moved out
        // exactly once (no double drop, no leak).
        unsafe { std::ptr::read(&this.lock) }
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

/// Exclusive access to a part of a [`Mutex`]'s value, made by [`MutexGuard::map`];
/// unlocks on drop.
#[must_use = "the mutex unlocks as soon as the guard is dropped"]
pub struct MappedMutexGuard<'a, T: ?Sized> {
    sem: &'a Semaphore,
    /// Points into the locked value; valid and unaliased while the permit is held.
    data: *mut T,
    marker: PhantomData<&'a mut T>,
}

// SAFETY: the guard gives `&mut T` to its holder, on whichever thread: `T: Send`, as
// for `MutexGuard`. Dropping it only releases a permit of a `Sync` semaphore.
unsafe impl<T: ?Sized + Send> Send for MappedMutexGuard<'_, T> {}
// SAFETY: a `&MappedMutexGuard` only gives `&T`.
unsafe impl<T: ?Sized + Sync> Sync for MappedMutexGuard<'_, T> {}

impl<'a, T: ?Sized> MappedMutexGuard<'a, T> {
    /// The caller hands over the mutex's permit, and `data` points into its value.
    fn new(sem: &'a Semaphore, data: *mut T) -> Self {
        MappedMutexGuard {
            sem,
            data,
            marker: PhantomData,
        }
    }

    /// Narrows the guard further (see [`MutexGuard::map`]).
    pub fn map<U: ?Sized, F>(mut this: Self, f: F) -> MappedMutexGuard<'a, U>
    where
        F: FnOnce(&mut T) -> &mut U,
    {
        let data: *mut U = f(&mut *this);
        let sem = this.sem;
        std::mem::forget(this);
        MappedMutexGuard::new(sem, data)
    }

    /// Narrows the guard further if `f` returns `Some` (see [`MutexGuard::try_map`]).
    ///
    /// # Errors
    /// `Err(this)`, still locked, if `f` returned `None`.
    pub fn try_map<U: ?Sized, F>(mut this: Self, f: F) -> Result<MappedMutexGuard<'a, U>, Self>
    where
        F: FnOnce(&mut T) -> Option<&mut U>,
    {
        let data: *mut U = match f(&mut *this) {
            Some(data) => data,
            None => return Err(this),
        };
        let sem = this.sem;
        std::mem::forget(this);
        Ok(MappedMutexGuard::new(sem, data))
    }
}

impl<T: ?Sized> Deref for MappedMutexGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: `data` points into the value of a mutex whose only permit this
        // guard holds (invariant 1), borrowed for `'a`; no other reference exists.
        unsafe { &*self.data }
    }
}

impl<T: ?Sized> DerefMut for MappedMutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`; `&mut self` makes this the only borrow of the guard.
        unsafe { &mut *self.data }
    }
}

impl<T: ?Sized> Drop for MappedMutexGuard<'_, T> {
    fn drop(&mut self) {
        self.sem.release(1);
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for MappedMutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

/// Exclusive access to a part `U` of an `Arc<Mutex<T>>`'s value, made by
/// [`OwnedMutexGuard::map`]; movable into a task; unlocks on drop.
#[must_use = "the mutex unlocks as soon as the guard is dropped"]
pub struct OwnedMappedMutexGuard<T: ?Sized, U: ?Sized = T> {
    lock: Arc<Mutex<T>>,
    /// Points into `lock`'s value (which the `Arc` keeps in place); valid and
    /// unaliased while the permit is held.
    data: *mut U,
}

// SAFETY: the guard gives `&mut U` to its holder, on whichever thread (`U: Send`), and
// may drop the last `Arc<Mutex<T>>` there (`Mutex<T>: Send + Sync`, i.e. `T: Send`).
unsafe impl<T: ?Sized + Send, U: ?Sized + Send> Send for OwnedMappedMutexGuard<T, U> {}
// SAFETY: a shared guard gives `&U` (`U: Sync`) and `&Arc<Mutex<T>>` (`T: Send`).
unsafe impl<T: ?Sized + Send, U: ?Sized + Sync> Sync for OwnedMappedMutexGuard<T, U> {}

impl<T: ?Sized, U: ?Sized> OwnedMappedMutexGuard<T, U> {
    /// The caller hands over `lock`'s permit, and `data` points into its value.
    fn new(lock: Arc<Mutex<T>>, data: *mut U) -> Self {
        OwnedMappedMutexGuard { lock, data }
    }

    /// The mutex this guard locks.
    pub fn mutex(this: &Self) -> &Arc<Mutex<T>> {
        &this.lock
    }

    /// Narrows the guard further (see [`OwnedMutexGuard::map`]).
    pub fn map<V: ?Sized, F>(mut this: Self, f: F) -> OwnedMappedMutexGuard<T, V>
    where
        F: FnOnce(&mut U) -> &mut V,
    {
        let data: *mut V = f(&mut *this);
        OwnedMappedMutexGuard::new(this.into_arc(), data)
    }

    /// Narrows the guard further if `f` returns `Some` (see
    /// [`OwnedMutexGuard::try_map`]).
    ///
    /// # Errors
    /// `Err(this)`, still locked, if `f` returned `None`.
    pub fn try_map<V: ?Sized, F>(mut this: Self, f: F) -> Result<OwnedMappedMutexGuard<T, V>, Self>
    where
        F: FnOnce(&mut U) -> Option<&mut V>,
    {
        let data: *mut V = match f(&mut *this) {
            Some(data) => data,
            None => return Err(this),
        };
        Ok(OwnedMappedMutexGuard::new(this.into_arc(), data))
    }

    /// Gives up the guard without unlocking.
    fn into_arc(self) -> Arc<Mutex<T>> {
        let this = ManuallyDrop::new(self);
        // SAFETY: `this` is never dropped nor used again, so the `Arc` is moved out
        // exactly once.
        unsafe { std::ptr::read(&this.lock) }
    }
}

impl<T: ?Sized, U: ?Sized> Deref for OwnedMappedMutexGuard<T, U> {
    type Target = U;
    fn deref(&self) -> &U {
        // SAFETY: `data` points into the value of the mutex `lock` keeps alive, whose
        // only permit this guard holds (invariant 1).
        unsafe { &*self.data }
    }
}

impl<T: ?Sized, U: ?Sized> DerefMut for OwnedMappedMutexGuard<T, U> {
    fn deref_mut(&mut self) -> &mut U {
        // SAFETY: as in `deref`; `&mut self` makes this the only borrow of the guard.
        unsafe { &mut *self.data }
    }
}

impl<T: ?Sized, U: ?Sized> Drop for OwnedMappedMutexGuard<T, U> {
    fn drop(&mut self) {
        self.lock.sem.release(1);
    }
}

impl<T: ?Sized, U: ?Sized + fmt::Debug> fmt::Debug for OwnedMappedMutexGuard<T, U> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}
