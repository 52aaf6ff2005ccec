//! Write guards narrowed to a part of the value by `map` (tokio's
//! `RwLockMappedWriteGuard`/`OwnedRwLockMappedWriteGuard`). They hold the write
//! guard's `MAX_READS` permits (parent invariant 1) and a pointer into the value
//! (invariant 3).

use std::fmt;
use std::marker::PhantomData;
use std::mem::ManuallyDrop;
use std::ops::{Deref, DerefMut};
use std::sync::Arc;

use super::{RwLock, Semaphore, MAX_READS};

/// Exclusive access to a part of an [`RwLock`]'s value, made by
/// [`RwLockWriteGuard::map`](super::RwLockWriteGuard::map); released on drop.
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct RwLockMappedWriteGuard<'a, T: ?Sized> {
    sem: &'a Semaphore,
    /// Invariant 3: valid and unaliased while this guard lives.
    data: *mut T,
    marker: PhantomData<&'a mut T>,
}

// SAFETY: the guard gives `&mut T` on whichever thread holds it (`T: Send`); dropping
// it releases permits of a `Sync` semaphore.
unsafe impl<T: ?Sized + Send> Send for RwLockMappedWriteGuard<'_, T> {}
// SAFETY: a shared guard only gives `&T`.
unsafe impl<T: ?Sized + Sync> Sync for RwLockMappedWriteGuard<'_, T> {}

impl<'a, T: ?Sized> RwLockMappedWriteGuard<'a, T> {
    /// The caller hands over `MAX_READS` permits of `sem`; `data` points into its
    /// lock's value.
    pub(super) fn new(sem: &'a Semaphore, data: *mut T) -> Self {
        RwLockMappedWriteGuard {
            sem,
            data,
            marker: PhantomData,
        }
    }

    /// Narrows the guard further (see
    /// [`RwLockWriteGuard::map`](super::RwLockWriteGuard::map)).
    pub fn map<U: ?Sized, F>(mut this: Self, f: F) -> RwLockMappedWriteGuard<'a, U>
    where
        F: FnOnce(&mut T) -> &mut U,
    {
        let data: *mut U = f(&mut *this);
        let sem = this.sem;
        std::mem::forget(this);
        RwLockMappedWriteGuard::new(sem, data)
    }

    /// Narrows the guard further if `f` returns `Some`.
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
        let sem = this.sem;
        std::mem::forget(this);
        Ok(RwLockMappedWriteGuard::new(sem, data))
    }
}

impl<T: ?Sized> Deref for RwLockMappedWriteGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the guard holds every permit (invariant 1), and `data` points into
        // the value borrowed for `'a` (invariant 3): no other reference exists.
        unsafe { &*self.data }
    }
}

impl<T: ?Sized> DerefMut for RwLockMappedWriteGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`; `&mut self` makes this the only borrow of the guard.
        unsafe { &mut *self.data }
    }
}

impl<T: ?Sized> Drop for RwLockMappedWriteGuard<'_, T> {
    fn drop(&mut self) {
        self.sem.release(MAX_READS as usize);
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for RwLockMappedWriteGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

/// Exclusive access to a part `U` of an `Arc<RwLock<T>>`'s value, made by
/// [`OwnedRwLockWriteGuard::map`](super::OwnedRwLockWriteGuard::map); movable into a
/// task; released on drop.
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct OwnedRwLockMappedWriteGuard<T: ?Sized, U: ?Sized = T> {
    lock: Arc<RwLock<T>>,
    /// Invariant 3: points into `lock`'s value; valid and unaliased while this
    /// guard lives.
    data: *mut U,
}

// SAFETY: [1] the guard gives `&mut U` on whichever thread holds it: `U: Send`; [2] it
// may drop the last `Arc<RwLock<T>>` there: `T: Send + Sync`.
unsafe impl<T: ?Sized + Send + Sync, U: ?Sized + Send> Send for OwnedRwLockMappedWriteGuard<T, U> {}
// SAFETY: a shared guard gives `&U` (`U: Sync`) and `&Arc<RwLock<T>>` (`T: Send + Sync`).
unsafe impl<T: ?Sized + Send + Sync, U: ?Sized + Sync> Sync for OwnedRwLockMappedWriteGuard<T, U> {}

impl<T: ?Sized, U: ?Sized> OwnedRwLockMappedWriteGuard<T, U> {
    /// The caller hands over `MAX_READS` permits of `lock`; `data` points into its
    /// value.
    pub(super) fn new(lock: Arc<RwLock<T>>, data: *mut U) -> Self {
        OwnedRwLockMappedWriteGuard { lock, data }
    }

    /// The lock this guard holds (an associated function, so that it cannot shadow a
    /// method of `U`).
    pub fn rwlock(this: &Self) -> &Arc<RwLock<T>> {
        &this.lock
    }

    /// Narrows the guard further (see
    /// [`OwnedRwLockWriteGuard::map`](super::OwnedRwLockWriteGuard::map)).
    pub fn map<V: ?Sized, F>(mut this: Self, f: F) -> OwnedRwLockMappedWriteGuard<T, V>
    where
        F: FnOnce(&mut U) -> &mut V,
    {
        let data: *mut V = f(&mut *this);
        OwnedRwLockMappedWriteGuard::new(this.into_arc(), data)
    }

    /// Narrows the guard further if `f` returns `Some`.
    ///
    /// # Errors
    /// `Err(this)`, still write-locked, if `f` returned `None`.
    pub fn try_map<V: ?Sized, F>(
        mut this: Self,
        f: F,
    ) -> Result<OwnedRwLockMappedWriteGuard<T, V>, Self>
    where
        F: FnOnce(&mut U) -> Option<&mut V>,
    {
        let data: *mut V = match f(&mut *this) {
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

impl<T: ?Sized, U: ?Sized> Deref for OwnedRwLockMappedWriteGuard<T, U> {
    type Target = U;
    fn deref(&self) -> &U {
        // SAFETY: the guard holds every permit (invariant 1), and `data` points into
        // the value `lock` keeps alive (invariant 3): no other reference exists.
        unsafe { &*self.data }
    }
}

impl<T: ?Sized, U: ?Sized> DerefMut for OwnedRwLockMappedWriteGuard<T, U> {
    fn deref_mut(&mut self) -> &mut U {
        // SAFETY: as in `deref`; `&mut self` makes this the only borrow of the guard.
        unsafe { &mut *self.data }
    }
}

impl<T: ?Sized, U: ?Sized> Drop for OwnedRwLockMappedWriteGuard<T, U> {
    fn drop(&mut self) {
        self.lock.sem.release(MAX_READS as usize);
    }
}

impl<T: ?Sized, U: ?Sized + fmt::Debug> fmt::Debug for OwnedRwLockMappedWriteGuard<T, U> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}
