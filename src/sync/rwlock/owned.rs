//! Guards that own an `Arc<RwLock<T>>`, to move into tasks (tokio's
//! `OwnedRwLockReadGuard`/`OwnedRwLockWriteGuard`). The invariants are the parent
//! module's: the permits are the same, only the lifetime is an `Arc` instead of a
//! borrow.

use std::fmt;
use std::mem::ManuallyDrop;
use std::ops::{Deref, DerefMut};
use std::sync::Arc;

use super::{OwnedRwLockMappedWriteGuard, RwLock, TryLockError, MAX_READS};

impl<T: ?Sized> RwLock<T> {
    /// [`read`](Self::read) with a guard that owns the `Arc`, for moving into a
    /// task. Cancel-safe, FIFO.
    ///
    /// ```
    /// # gorun::Runtime::builder().procs(2).build().unwrap().run(async {
    /// use std::sync::Arc;
    /// use gorun::sync::RwLock;
    ///
    /// let lock = Arc::new(RwLock::new(String::from("config")));
    /// let guard = lock.clone().read_owned().await;
    /// let len = gorun::go(async move { guard.len() }).await.unwrap();
    /// assert_eq!(len, 6);
    /// # });
    /// ```
    pub async fn read_owned(self: Arc<Self>) -> OwnedRwLockReadGuard<T> {
        self.acquire(1).await;
        OwnedRwLockReadGuard::from_arc(self)
    }

    /// [`write`](Self::write) with a guard that owns the `Arc`, for moving into a
    /// task. Cancel-safe, FIFO.
    pub async fn write_owned(self: Arc<Self>) -> OwnedRwLockWriteGuard<T> {
        self.acquire(MAX_READS).await;
        OwnedRwLockWriteGuard { lock: self }
    }

    /// [`try_read`](Self::try_read) with a guard that owns the `Arc`.
    ///
    /// # Errors
    /// [`TryLockError`] if a writer holds or awaits the lock.
    pub fn try_read_owned(self: Arc<Self>) -> Result<OwnedRwLockReadGuard<T>, TryLockError> {
        self.try_acquire(1)?;
        Ok(OwnedRwLockReadGuard::from_arc(self))
    }

    /// [`try_write`](Self::try_write) with a guard that owns the `Arc`.
    ///
    /// # Errors
    /// [`TryLockError`] if any guard is held or anyone waits.
    pub fn try_write_owned(self: Arc<Self>) -> Result<OwnedRwLockWriteGuard<T>, TryLockError> {
        self.try_acquire(MAX_READS)?;
        Ok(OwnedRwLockWriteGuard { lock: self })
    }
}

/// Shared access to an `Arc<RwLock<T>>`'s value, or ([mapped](Self::map)) to a part
/// `U` of it; movable into a task; released on drop.
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct OwnedRwLockReadGuard<T: ?Sized, U: ?Sized = T> {
    lock: Arc<RwLock<T>>,
    /// Invariant 3: points into `lock`'s value, valid for shared access while this
    /// guard lives.
    data: *const U,
}

// SAFETY: [1] the guard gives `&U` on whichever thread holds it: `U: Sync`; [2] it
// may drop the last `Arc<RwLock<T>>` there, which needs `RwLock<T>: Send + Sync`,
// i.e. `T: Send + Sync` (tokio's bounds).
unsafe impl<T: ?Sized + Send + Sync, U: ?Sized + Sync> Send for OwnedRwLockReadGuard<T, U> {}
// SAFETY: a shared guard gives `&U` (`U: Sync`) and `&Arc<RwLock<T>>` (`T: Send + Sync`).
unsafe impl<T: ?Sized + Send + Sync, U: ?Sized + Sync> Sync for OwnedRwLockReadGuard<T, U> {}

impl<T: ?Sized> OwnedRwLockReadGuard<T> {
    /// The caller hands over one permit of `lock`.
    fn from_arc(lock: Arc<RwLock<T>>) -> Self {
        let data = lock.data.get();
        OwnedRwLockReadGuard { lock, data }
    }
}

impl<T: ?Sized, U: ?Sized> OwnedRwLockReadGuard<T, U> {
    /// The lock this guard reads (an associated function, so that it cannot shadow a
    /// method of `U`).
    pub fn rwlock(this: &Self) -> &Arc<RwLock<T>> {
        &this.lock
    }

    /// Narrows the guard to a part of the value, keeping the read lock (tokio's
    /// `OwnedRwLockReadGuard::map`). Call it as `OwnedRwLockReadGuard::map(guard, f)`.
    pub fn map<V: ?Sized, F>(this: Self, f: F) -> OwnedRwLockReadGuard<T, V>
    where
        F: FnOnce(&U) -> &V,
    {
        let data: *const V = f(&*this);
        OwnedRwLockReadGuard {
            lock: this.into_arc(),
            data,
        }
    }

    /// Like [`map`](Self::map), but `f` may decline: then the original guard comes
    /// back.
    ///
    /// # Errors
    /// `Err(this)`, still read-locked, if `f` returned `None`.
    pub fn try_map<V: ?Sized, F>(this: Self, f: F) -> Result<OwnedRwLockReadGuard<T, V>, Self>
    where
        F: FnOnce(&U) -> Option<&V>,
    {
        let data: *const V = match f(&*this) {
            Some(data) => data,
            None => return Err(this),
        };
        Ok(OwnedRwLockReadGuard {
            lock: this.into_arc(),
            data,
        })
    }

    /// Gives up the guard without releasing its permit.
    fn into_arc(self) -> Arc<RwLock<T>> {
        let this = ManuallyDrop::new(self);
        // SAFETY: `this` is never dropped nor used again, so the `Arc` is moved out
        // exactly once.
        unsafe { std::ptr::read(&this.lock) }
    }
}

impl<T: ?Sized, U: ?Sized> Deref for OwnedRwLockReadGuard<T, U> {
    type Target = U;
    fn deref(&self) -> &U {
        // SAFETY: the guard holds a read permit, so no write guard exists (invariant
        // 1), and `data` points into the value `lock` keeps alive (invariant 3).
        unsafe { &*self.data }
    }
}

impl<T: ?Sized, U: ?Sized> Drop for OwnedRwLockReadGuard<T, U> {
    fn drop(&mut self) {
        self.lock.sem.release(1);
    }
}

impl<T: ?Sized, U: ?Sized + fmt::Debug> fmt::Debug for OwnedRwLockReadGuard<T, U> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

/// Exclusive access to an `Arc<RwLock<T>>`'s value, movable into a task; released
/// on drop.
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct OwnedRwLockWriteGuard<T: ?Sized> {
    lock: Arc<RwLock<T>>,
}

impl<T: ?Sized> OwnedRwLockWriteGuard<T> {
    /// The lock this guard holds (an associated function, like [`map`](Self::map)).
    pub fn rwlock(this: &Self) -> &Arc<RwLock<T>> {
        &this.lock
    }

    /// Turns the write lock into a read lock atomically, as
    /// [`RwLockWriteGuard::downgrade`](super::RwLockWriteGuard::downgrade): readers
    /// queued ahead of any waiting writer come in; no writer does before every read
    /// guard is dropped.
    ///
    /// ```
    /// # gorun::Runtime::builder().procs(2).build().unwrap().run(async {
    /// use std::sync::Arc;
    /// use gorun::sync::RwLock;
    ///
    /// let lock = Arc::new(RwLock::new(0));
    /// let mut w = lock.clone().write_owned().await;
    /// *w = 1;
    /// let r = w.downgrade();
    /// let seen = gorun::go(async move { *r }).await.unwrap();
    /// assert_eq!(seen, 1);
    /// assert!(lock.try_write().is_ok(), "the read guard dropped with its task");
    /// # });
    /// ```
    pub fn downgrade(self) -> OwnedRwLockReadGuard<T> {
        let lock = self.into_arc();
        lock.sem.release(MAX_READS as usize - 1);
        OwnedRwLockReadGuard::from_arc(lock)
    }

    /// Narrows the guard to a part of the value, keeping the write lock (tokio's
    /// `OwnedRwLockWriteGuard::map`). Call it as `OwnedRwLockWriteGuard::map(guard,
    /// f)`. If `f` panics, the lock is released.
    pub fn map<U: ?Sized, F>(mut this: Self, f: F) -> OwnedRwLockMappedWriteGuard<T, U>
    where
        F: FnOnce(&mut T) -> &mut U,
    {
        let data: *mut U = f(&mut *this);
        OwnedRwLockMappedWriteGuard::new(this.into_arc(), data)
    }

    /// Like [`map`](Self::map), but `f` may decline: then the original guard comes
    /// back.
    ///
    /// # Errors
    /// `Err(this)`, still write-locked, if `f` returned `None`.
    pub fn try_map<U: ?Sized, F>(
        mut this: Self,
        f: F,
    ) -> Result<OwnedRwLockMappedWriteGuard<T, U>, Self>
    where
        F: FnOnce(&mut T) -> Option<&mut U>,
    {
        let data: *mut U = match f(&mut *this) {
            Some(data) => data,
            None => return Err(this),
        };
        Ok(OwnedRwLockMappedWriteGuard::new(this.into_arc(), data))
    }

    /// Gives up the guard without releasing its permits.
    fn into_arc(self) -> Arc<RwLock<T>> {
        let this = ManuallyDrop::new(self);
        // SAFETY: `this` is never dropped nor used again, so the `Arc` is moved out
        // exactly once.
        unsafe { std::ptr::read(&this.lock) }
    }
}

impl<T: ?Sized> Deref for OwnedRwLockWriteGuard<T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: a write guard holds every permit (invariant 1): no other guard,
        // hence no other reference to the value, exists.
        unsafe { &*self.lock.data.get() }
    }
}

impl<T: ?Sized> DerefMut for OwnedRwLockWriteGuard<T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`; `&mut self` makes this the only borrow of the guard.
        unsafe { &mut *self.lock.data.get() }
    }
}

impl<T: ?Sized> Drop for OwnedRwLockWriteGuard<T> {
    fn drop(&mut self) {
        self.lock.sem.release(MAX_READS as usize);
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for OwnedRwLockWriteGuard<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}
