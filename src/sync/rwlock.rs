//! An async reader-writer lock: a [`Semaphore`] of `MAX_READS` permits; a reader
//! takes one, a writer takes all of them (tokio's design).
//!
//! Invariant: read guards hold one permit each, a write guard holds `MAX_READS`;
//! so a write guard excludes every other guard. Because the semaphore is FIFO and
//! a queued writer blocks later readers, writers cannot starve (nor can readers).

use std::cell::UnsafeCell;
use std::fmt;
use std::ops::{Deref, DerefMut};

use super::mutex::TryLockError;
use super::semaphore::Semaphore;

/// At most this many read guards at once.
const MAX_READS: u32 = u32::MAX >> 3;

/// An async reader-writer lock (Go's `sync.RWMutex`), writer-preferring in Go's
/// sense: once a writer waits, new readers queue behind it, so a stream of readers
/// cannot starve a writer.
///
/// Waiters are served FIFO; consecutive waiting readers are let in together.
/// `read` and `write` are cancel-safe: a dropped future loses nothing and blocks
/// no one. Like [`Mutex`](super::Mutex), **no poisoning**: a panic while a guard is
/// held releases the lock and leaves the value as it was.
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
        super::with_wait_reason(gorun_coop::WaitReason::Lock, self.sem.acquire())
            .await
            .forget();
        RwLockReadGuard { lock: self }
    }

    /// Waits for exclusive access. Cancel-safe, FIFO.
    pub async fn write(&self) -> RwLockWriteGuard<'_, T> {
        super::with_wait_reason(
            gorun_coop::WaitReason::Lock,
            self.sem.acquire_many(MAX_READS),
        )
        .await
        .forget();
        RwLockWriteGuard { lock: self }
    }

    /// Takes shared access if no writer holds or waits for the lock.
    pub fn try_read(&self) -> Result<RwLockReadGuard<'_, T>, TryLockError> {
        match self.sem.try_acquire() {
            Ok(p) => {
                p.forget();
                Ok(RwLockReadGuard { lock: self })
            }
            Err(_) => Err(TryLockError(())),
        }
    }

    /// Takes exclusive access if the lock is free and nobody waits.
    pub fn try_write(&self) -> Result<RwLockWriteGuard<'_, T>, TryLockError> {
        match self.sem.try_acquire_many(MAX_READS) {
            Ok(p) => {
                p.forget();
                Ok(RwLockWriteGuard { lock: self })
            }
            Err(_) => Err(TryLockError(())),
        }
    }

    /// [`read`](Self::read) from a thread outside the runtime, blocking it. Do not
    /// call it inside a task.
    pub fn blocking_read(&self) -> RwLockReadGuard<'_, T> {
        super::waiters::block_on(self.read())
    }

    /// [`write`](Self::write) from a thread outside the runtime, blocking it. Do not
    /// call it inside a task.
    pub fn blocking_write(&self) -> RwLockWriteGuard<'_, T> {
        super::waiters::block_on(self.write())
    }

    /// The value, through a unique borrow (no locking needed).
    pub fn get_mut(&mut self) -> &mut T {
        self.data.get_mut()
    }
}

impl<T: Default> Default for RwLock<T> {
    fn default() -> Self {
        RwLock::new(T::default())
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

/// Shared access to an [`RwLock`]'s value; released on drop.
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct RwLockReadGuard<'a, T: ?Sized> {
    lock: &'a RwLock<T>,
}

impl<T: ?Sized> Deref for RwLockReadGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: a read guard holds a permit, so no write guard exists (module
        // invariant); only shared references to `data` exist.
        unsafe { &*self.lock.data.get() }
    }
}

impl<T: ?Sized> Drop for RwLockReadGuard<'_, T> {
    fn drop(&mut self) {
        self.lock.sem.release(1);
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

impl<T: ?Sized> Deref for RwLockWriteGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: a write guard holds every permit (module invariant): no other
        // guard, hence no other reference to `data`, exists.
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
