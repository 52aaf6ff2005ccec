//! An async reader-writer lock: a [`Semaphore`] of `MAX_READS` permits; a reader
//! takes one, a writer takes all of them (tokio's design).
//!
//! Invariants:
//! 1. Every read guard (borrowed or owned, mapped or not) holds one permit; every
//!    write guard (mapped or not) holds `MAX_READS`. So a write guard excludes every
//!    other guard. Because the semaphore is FIFO and a queued writer blocks later
//!    readers, writers cannot starve (nor can readers).
//! 2. `downgrade` turns a write guard into a read guard by releasing `MAX_READS - 1`
//!    permits and keeping one: the permit count held never drops to zero, so no
//!    writer (who needs all of them) gets in between. The released permits go FIFO:
//!    readers queued before the first waiting writer come in; the writer, and
//!    everyone behind it, waits for the last read guard.
//! 3. A guard's `data` pointer comes from `data.get()` (or from a reference derived
//!    from it, by `map`); it is valid while the guard holds its permit(s) and keeps
//!    the lock alive (by the borrow `'a` or an `Arc`). `map`, `downgrade` and the
//!    owned conversions move the permits into the new guard without releasing them.
//! 4. The semaphore is never closed, so acquiring it cannot fail.
//!
//! Owned guards (`Arc<RwLock<T>>`) live in `owned`, mapped write guards in `mapped`.

use std::cell::UnsafeCell;
use std::fmt;
use std::marker::PhantomData;
use std::ops::{Deref, DerefMut};

use super::mutex::TryLockError;
use super::semaphore::Semaphore;

mod mapped;
mod owned;

pub use mapped::{OwnedRwLockMappedWriteGuard, RwLockMappedWriteGuard};
pub use owned::{OwnedRwLockReadGuard, OwnedRwLockWriteGuard};

/// At most this many read guards at once.
const MAX_READS: u32 = u32::MAX >> 3;

/// The message of the `expect` that documents invariant 4.
const NEVER_CLOSED: &str = "an RwLock never closes its semaphore";

/// An async reader-writer lock (Go's `sync.RWMutex`), writer-preferring in Go's
/// sense: once a writer waits, new readers queue behind it, so a stream of readers
/// cannot starve a writer.
///
/// Waiters are served FIFO; consecutive waiting readers are let in together.
/// `read` and `write` are cancel-safe: a dropped future loses nothing and blocks
/// no one. Like [`Mutex`](super::Mutex), **no poisoning**: a panic while a guard is
/// held releases the lock and leaves the value as it was.
///
/// On an `Arc<RwLock<T>>`, [`read_owned`](RwLock::read_owned) and
/// [`write_owned`](RwLock::write_owned) give guards that own the `Arc`, to move
/// into a task. A write guard can be [downgraded](RwLockWriteGuard::downgrade) to a
/// read guard atomically.
///
/// ```
/// # gorun::Runtime::builder().procs(2).build().unwrap().run(async {
/// use gorun::sync::RwLock;
///
/// let lock = RwLock::new(5);
/// {
///     let r1 = lock.read().await;
///     let r2 = lock.read().await; // many readers at once
///     assert_eq!(*r1 + *r2, 10);
/// }
/// *lock.write().await += 1;
/// assert_eq!(*lock.read().await, 6);
/// # });
/// ```
pub struct RwLock<T: ?Sized> {
    sem: Semaphore,
    data: UnsafeCell<T>,
}

// SAFETY: a write guard gives `&mut T` to one holder (which may be on another
// thread): `T: Send`; read guards share `&T` across threads: `T: Sync`. As for
// `std::sync::RwLock`.
unsafe impl<T: ?Sized + Send> Send for RwLock<T> {}
// SAFETY: as above.
unsafe impl<T: ?Sized + Send + Sync> Sync for RwLock<T> {}
// SAFETY: a read guard only gives `&T`, on whichever thread holds or shares it, and
// dropping it releases a permit of a `Sync` semaphore: `T: Sync` suffices (tokio's
// bound for `Send`).
unsafe impl<T: ?Sized + Sync> Send for RwLockReadGuard<'_, T> {}
// SAFETY: as above.
unsafe impl<T: ?Sized + Sync> Sync for RwLockReadGuard<'_, T> {}

impl<T> RwLock<T> {
    const_fn_unless_loom! {
        /// A new, unlocked lock holding `value`.
        pub fn new(value: T) -> RwLock<T> {
            RwLock {
                sem: Semaphore::new(MAX_READS as usize),
                data: UnsafeCell::new(value),
            }
        }
    }

    /// Consumes the lock, returning the value.
    pub fn into_inner(self) -> T {
        self.data.into_inner()
    }
}

impl<T: ?Sized> RwLock<T> {
    /// Waits for shared access. Cancel-safe, FIFO.
    pub async fn read(&self) -> RwLockReadGuard<'_, T> {
        self.acquire(1).await;
        RwLockReadGuard::new(&self.sem, self.data.get())
    }

    /// Waits for exclusive access. Cancel-safe, FIFO.
    pub async fn write(&self) -> RwLockWriteGuard<'_, T> {
        self.acquire(MAX_READS).await;
        RwLockWriteGuard { lock: self }
    }

    /// Takes shared access if no writer holds or waits for the lock.
    ///
    /// # Errors
    /// [`TryLockError`] if a writer holds or awaits the lock.
    pub fn try_read(&self) -> Result<RwLockReadGuard<'_, T>, TryLockError> {
        self.try_acquire(1)?;
        Ok(RwLockReadGuard::new(&self.sem, self.data.get()))
    }

    /// Takes exclusive access if the lock is free and nobody waits.
    ///
    /// # Errors
    /// [`TryLockError`] if any guard is held or anyone waits.
    pub fn try_write(&self) -> Result<RwLockWriteGuard<'_, T>, TryLockError> {
        self.try_acquire(MAX_READS)?;
        Ok(RwLockWriteGuard { lock: self })
    }

    /// [`read`](Self::read) from a thread outside the runtime, blocking it.
    ///
    /// # Panics
    /// Inside a task (on a runtime worker, or in `Runtime::block_on`): blocking there
    /// would stall the worker's other tasks, and deadlock if the awaited event needs
    /// them (see [`gorun_coop::block_on`]).
    #[track_caller]
    pub fn blocking_read(&self) -> RwLockReadGuard<'_, T> {
        gorun_coop::block_on(self.read())
    }

    /// [`write`](Self::write) from a thread outside the runtime, blocking it.
    ///
    /// # Panics
    /// Inside a task (on a runtime worker, or in `Runtime::block_on`): blocking there
    /// would stall the worker's other tasks, and deadlock if the awaited event needs
    /// them (see [`gorun_coop::block_on`]).
    #[track_caller]
    pub fn blocking_write(&self) -> RwLockWriteGuard<'_, T> {
        gorun_coop::block_on(self.write())
    }

    /// The value, through a unique borrow (no locking needed).
    pub fn get_mut(&mut self) -> &mut T {
        self.data.get_mut()
    }

    /// Takes `n` permits for a guard the caller builds (invariant 1).
    async fn acquire(&self, n: u32) {
        super::with_wait_reason(gorun_coop::WaitReason::Lock, self.sem.acquire_many(n))
            .await
            .expect(NEVER_CLOSED)
            .forget();
    }

    /// Takes `n` permits now, for a guard the caller builds.
    fn try_acquire(&self, n: u32) -> Result<(), TryLockError> {
        match self.sem.try_acquire_many(n) {
            Ok(p) => {
                p.forget();
                Ok(())
            }
            Err(e) => {
                debug_assert!(e.is_no_permits(), "{NEVER_CLOSED}");
                Err(TryLockError(()))
            }
        }
    }
}

impl<T: Default> Default for RwLock<T> {
    fn default() -> Self {
        RwLock::new(T::default())
    }
}

impl<T> From<T> for RwLock<T> {
    fn from(value: T) -> Self {
        RwLock::new(value)
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwLock<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("RwLock");
        match self.try_read() {
            Ok(g) => d.field("data", &&*g),
            Err(_) => d.field("data", &format_args!("<locked>")),
        };
        d.finish()
    }
}

/// Shared access to an [`RwLock`]'s value (or, [mapped](Self::map), to a part of
/// it); released on drop.
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct RwLockReadGuard<'a, T: ?Sized> {
    sem: &'a Semaphore,
    /// Invariant 3: valid for shared access while this guard lives.
    data: *const T,
    marker: PhantomData<&'a T>,
}

impl<'a, T: ?Sized> RwLockReadGuard<'a, T> {
    /// The caller hands over one permit of `sem`; `data` points into its lock's value.
    fn new(sem: &'a Semaphore, data: *const T) -> Self {
        RwLockReadGuard {
            sem,
            data,
            marker: PhantomData,
        }
    }

    /// Narrows the guard to a part of the value, keeping the read lock (tokio's
    /// `RwLockReadGuard::map`). Call it as `RwLockReadGuard::map(guard, f)`.
    ///
    /// ```
    /// # gorun::Runtime::builder().procs(1).build().unwrap().run(async {
    /// use gorun::sync::{RwLock, RwLockReadGuard};
    ///
    /// let lock = RwLock::new((7, "seven"));
    /// let name = RwLockReadGuard::map(lock.read().await, |pair| &pair.1);
    /// assert_eq!(*name, "seven");
    /// assert!(lock.try_write().is_err(), "still read-locked");
    /// # });
    /// ```
    pub fn map<U: ?Sized, F>(this: Self, f: F) -> RwLockReadGuard<'a, U>
    where
        F: FnOnce(&T) -> &U,
    {
        let data: *const U = f(&*this);
        RwLockReadGuard::new(this.into_sem(), data)
    }

    /// Like [`map`](Self::map), but `f` may decline: then the original guard comes
    /// back.
    ///
    /// # Errors
    /// `Err(this)`, still read-locked, if `f` returned `None`.
    pub fn try_map<U: ?Sized, F>(this: Self, f: F) -> Result<RwLockReadGuard<'a, U>, Self>
    where
        F: FnOnce(&T) -> Option<&U>,
    {
        let data: *const U = match f(&*this) {
            Some(data) => data,
            None => return Err(this),
        };
        Ok(RwLockReadGuard::new(this.into_sem(), data))
    }

    /// Gives up the guard without releasing its permit.
    fn into_sem(self) -> &'a Semaphore {
        let sem = self.sem;
        std::mem::forget(self);
        sem
    }
}

impl<T: ?Sized> Deref for RwLockReadGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: a read guard holds a permit, so no write guard exists (invariant
        // 1); `data` is valid for `'a` (invariant 3); only shared references exist.
        unsafe { &*self.data }
    }
}

impl<T: ?Sized> Drop for RwLockReadGuard<'_, T> {
    fn drop(&mut self) {
        self.sem.release(1);
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwLockReadGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

/// Exclusive access to an [`RwLock`]'s value; released on drop.
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct RwLockWriteGuard<'a, T: ?Sized> {
    lock: &'a RwLock<T>,
}

impl<'a, T: ?Sized> RwLockWriteGuard<'a, T> {
    /// Turns the write lock into a read lock, atomically: no writer can take the
    /// lock in between (tokio's `downgrade`). It keeps one of the write guard's
    /// permits and releases the rest, so readers waiting ahead of any waiting writer
    /// come in at once; a waiting writer (and everyone queued behind it, FIFO) still
    /// waits until the read guard, and every other, is dropped.
    ///
    /// ```
    /// # gorun::Runtime::builder().procs(2).build().unwrap().run(async {
    /// use std::sync::Arc;
    /// use gorun::sync::RwLock;
    ///
    /// let lock = Arc::new(RwLock::new(1));
    /// let mut w = lock.write().await;
    /// *w = 2;
    /// let r = w.downgrade();
    /// assert_eq!(*lock.try_read().unwrap(), 2, "other readers may come in");
    /// assert!(lock.try_write().is_err(), "no writer until the read guard drops");
    /// let writer = gorun::go({
    ///     let lock = lock.clone();
    ///     async move { *lock.write().await = 3 }
    /// });
    /// assert_eq!(*r, 2);
    /// drop(r);
    /// writer.await.unwrap();
    /// assert_eq!(*lock.read().await, 3);
    /// # });
    /// ```
    pub fn downgrade(self) -> RwLockReadGuard<'a, T> {
        let lock = self.lock;
        std::mem::forget(self);
        lock.sem.release(MAX_READS as usize - 1);
        RwLockReadGuard::new(&lock.sem, lock.data.get())
    }

    /// Narrows the guard to a part of the value, keeping the write lock (tokio's
    /// `RwLockWriteGuard::map`). Call it as `RwLockWriteGuard::map(guard, f)`. If
    /// `f` panics, the lock is released.
    ///
    /// ```
    /// # gorun::Runtime::builder().procs(1).build().unwrap().run(async {
    /// use gorun::sync::{RwLock, RwLockWriteGuard};
    ///
    /// let lock = RwLock::new(vec![1, 2]);
    /// let mut first = RwLockWriteGuard::map(lock.write().await, |v| &mut v[0]);
    /// *first = 10;
    /// drop(first);
    /// assert_eq!(*lock.read().await, [10, 2]);
    /// # });
    /// ```
    pub fn map<U: ?Sized, F>(mut this: Self, f: F) -> RwLockMappedWriteGuard<'a, U>
    where
        F: FnOnce(&mut T) -> &mut U,
    {
        let data: *mut U = f(&mut *this);
        RwLockMappedWriteGuard::new(this.into_sem(), data)
    }

    /// Like [`map`](Self::map), but `f` may decline: then the original guard comes
    /// back.
    ///
    /// # Errors
    /// `Err(this)`, still write-locked, if `f` returned `None`.
    pub fn try_map<U: ?Sized, F>(
        mut this: Self,
        f: F,
    ) -> Result<RwLockMappedWriteGuard<'a, U>, Self>
    where
        F: FnOnce(&mut T) -> Option<&mut U>,
    {
        let data: *mut U = match f(&mut *this) {
            Some(data) => data,
            None => return Err(this),
        };
        Ok(RwLockMappedWriteGuard::new(this.into_sem(), data))
    }

    /// Gives up the guard without releasing its permits.
    fn into_sem(self) -> &'a Semaphore {
        let lock = self.lock;
        std::mem::forget(self);
        &lock.sem
    }
}

impl<T: ?Sized> Deref for RwLockWriteGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: a write guard holds every permit (invariant 1): no other guard,
        // hence no other reference to `data`, exists.
        unsafe { &*self.lock.data.get() }
    }
}

impl<T: ?Sized> DerefMut for RwLockWriteGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`; `&mut self` makes this the only borrow of the guard.
        unsafe { &mut *self.lock.data.get() }
    }
}

impl<T: ?Sized> Drop for RwLockWriteGuard<'_, T> {
    fn drop(&mut self) {
        self.lock.sem.release(MAX_READS as usize);
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwLockWriteGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}
