//! [`Handle`]: a driver as one thread sees it (the driver, and the shard that thread
//! arms into), with a reference count that costs that thread no atomic operation.
//!
//! Every `Sleep` and channel timer holds a handle, so creating a timer and dropping it
//! each change the count. With an `Arc`, each was a locked instruction, which waits
//! for the stores before it to drain: in a burst of arms or cancels, the stores to
//! cold timers. This is biased reference counting (Choi, Shull and Torrellas, PACT
//! 2018) cut down to the case at hand: the thread that entered the driver (the
//! *owner*: a worker, or a thread using the global driver) counts the handles it
//! clones and drops in a plain cell; other threads count theirs atomically.
//!
//! # Invariants
//!
//! 1. `biased` and `released` are touched only by the owner thread: a thread compares
//!    `owner` with its own id before touching them, and ids are never reused.
//! 2. Until the owner releases (its [`Owner`] drops: the driver stops being current
//!    there, or the thread exits), `shared` carries [`BIAS`] on top of the atomic
//!    count, so no thread sees it reach 0, however handles move between threads. The
//!    number of live handles is `biased + shared - BIAS`, and `biased` may be
//!    negative (handles cloned elsewhere and dropped on the owner).
//! 3. Releasing sets `released` and adds `biased - BIAS` to `shared` in one atomic
//!    operation; from then on every thread, the owner included, counts in `shared`,
//!    and the one that takes it to 0 frees the `Local`.

use std::marker::PhantomData;
use std::mem::ManuallyDrop;
use std::ptr::NonNull;

use crate::loom::sync::atomic::{fence, AtomicIsize, Ordering};
use crate::loom::UnsafeCell;
use crate::Driver;

/// What `shared` carries while the owner counts in `biased` (invariant 2): far above
/// any number of live handles.
const BIAS: isize = isize::MAX / 2;

struct Local {
    driver: Driver,
    shard: usize,
    /// The owner thread's id (never 0).
    owner: u64,
    /// The owner's count. Owner thread only (invariant 1).
    biased: UnsafeCell<isize>,
    /// Whether the owner has released (invariant 3). Owner thread only.
    released: UnsafeCell<bool>,
    /// The other threads' count, on a cache line of its own: the owner reads the
    /// fields above on every clone and drop, and a timer woken on another worker
    /// drops its handle there, so sharing a line made both wait for it.
    shared: OwnLine<AtomicIsize>,
}

/// A value alone on its cache line pair (the adjacent-line prefetcher pulls lines in
/// twos).
#[repr(align(128))]
struct OwnLine<T>(T);

impl<T> std::ops::Deref for OwnLine<T> {
    type Target = T;
    #[inline]
    fn deref(&self) -> &T {
        &self.0
    }
}

impl Local {
    /// Whether this thread may count in `biased`: it is the owner, which has not
    /// released.
    #[inline]
    fn counts_biased(&self) -> bool {
        let id = thread_id();
        // SAFETY: read only when this thread is the owner (invariant 1).
        id == self.owner && !self.released.with(|r| unsafe { *r })
    }

    /// Counts one more handle.
    #[inline]
    fn acquire(&self) {
        if self.counts_biased() {
            // SAFETY: this thread is the owner (invariant 1).
            self.biased.with_mut(|b| unsafe { *b += 1 });
        } else {
            // Relaxed, as `Arc::clone`: the new handle is made from a live one.
            self.shared.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Counts one handle less; true if it was the last and the caller must free.
    #[inline]
    fn release_one(&self) -> bool {
        if self.counts_biased() {
            // SAFETY: this thread is the owner (invariant 1).
            self.biased.with_mut(|b| unsafe { *b -= 1 });
            return false;
        }
        // As `Arc`'s drop: every other thread's use happens-before the free.
        if self.shared.fetch_sub(1, Ordering::Release) == 1 {
            fence(Ordering::Acquire);
            return true;
        }
        false
    }
}

impl Drop for Local {
    fn drop(&mut self) {
        // Touch the owner's cell mutably so loom checks that the owner's last count
        // happened-before the free, on whichever thread frees.
        self.biased.with_mut(|_| ());
    }
}

/// One counted reference to a driver as the thread that made it sees it.
pub(crate) struct Handle {
    local: NonNull<Local>,
}

// SAFETY: a `Handle` only reads `driver` and `shard` (immutable, `Driver` is Send +
// Sync) and counts through `Local`'s atomic `shared` on any thread but the owner; the
// owner-only cells are guarded by the thread-id check (invariant 1).
unsafe impl Send for Handle {}
// SAFETY: as above: `&Handle` allows the same operations (clone counts as above).
unsafe impl Sync for Handle {}

impl Handle {
    #[inline]
    fn local(&self) -> &Local {
        // SAFETY: a live handle is counted, so the `Local` is not freed (invariants 2
        // and 3).
        unsafe { self.local.as_ref() }
    }

    #[inline]
    pub(crate) fn driver(&self) -> &Driver {
        &self.local().driver
    }

    /// The shard of the thread that made this handle.
    #[inline]
    pub(crate) fn shard(&self) -> usize {
        self.local().shard
    }
}

impl Clone for Handle {
    #[inline]
    fn clone(&self) -> Handle {
        self.local().acquire();
        Handle { local: self.local }
    }
}

impl Drop for Handle {
    #[inline]
    fn drop(&mut self) {
        if self.local().release_one() {
            // SAFETY: the count reached 0 with the owner released (invariant 3): no
            // handle or owner points here any more; it came from `Box::leak`.
            drop(unsafe { Box::from_raw(self.local.as_ptr()) });
        }
    }
}

impl std::fmt::Debug for Handle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Handle")
            .field("shard", &self.shard())
            .finish_non_exhaustive()
    }
}

/// The owner's side: what a thread keeps while a driver is current there (in a
/// thread-local, or an `EnterGuard` restoring it). Not `Send`: it is dropped on the
/// thread that made it, which then releases (invariant 3).
pub(crate) struct Owner {
    /// The owner's reference, lent out by [`handle`](Owner::handle). Not dropped as a
    /// handle: the owner's count is the bias, given up in `Drop`.
    handle: ManuallyDrop<Handle>,
    _not_send: PhantomData<*const ()>,
}

impl Owner {
    /// A handle of `driver` arming into `shard`, owned by this thread.
    pub(crate) fn new(driver: Driver, shard: usize) -> Owner {
        let local = Box::new(Local {
            driver,
            shard,
            owner: thread_id(),
            biased: UnsafeCell::new(0),
            released: UnsafeCell::new(false),
            shared: OwnLine(AtomicIsize::new(BIAS)),
        });
        Owner {
            handle: ManuallyDrop::new(Handle {
                local: NonNull::from(Box::leak(local)),
            }),
            _not_send: PhantomData,
        }
    }

    /// The handle to clone for a timer made on this thread.
    #[inline]
    pub(crate) fn handle(&self) -> &Handle {
        &self.handle
    }
}

impl Drop for Owner {
    fn drop(&mut self) {
        let local = self.handle.local();
        debug_assert_eq!(local.owner, thread_id(), "an Owner left its thread");
        // SAFETY: this is the owner thread (`Owner` is not `Send`), which has not
        // released yet (only this drop releases): the cell is its own.
        local.released.with_mut(|r| unsafe { *r = true });
        // SAFETY: as above.
        let biased = local.biased.with(|b| unsafe { *b });
        let moved = biased - BIAS;
        // AcqRel: the owner's uses happen-before a free by another thread, and
        // theirs before a free here.
        if local.shared.fetch_add(moved, Ordering::AcqRel) + moved == 0 {
            // SAFETY: no handle is left and the owner has released (invariant 3).
            drop(unsafe { Box::from_raw(self.handle.local.as_ptr()) });
        }
    }
}

impl std::fmt::Debug for Owner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.handle.fmt(f)
    }
}

/// This thread's id for [`Local::owner`]: unique for the process's life, never 0.
#[inline]
fn thread_id() -> u64 {
    ID.with(|id| {
        let v = id.get();
        if v != 0 {
            return v;
        }
        let v = next_id();
        id.set(v);
        v
    })
}

/// A fresh thread id. Not a loom type: ids need only be unique, not synchronize.
#[cold]
fn next_id() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

// Const and without a destructor: readable during thread teardown, when thread-locals
// holding timers drop.
#[cfg(not(loom))]
std::thread_local! {
    static ID: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

#[cfg(loom)]
loom::thread_local! {
    static ID: std::cell::Cell<u64> = std::cell::Cell::new(0);
}

#[cfg(all(test, not(loom)))]
mod tests {
    use std::sync::Arc;

    use super::*;

    fn driver_refs(d: &Driver) -> usize {
        Arc::strong_count(&d.inner)
    }

    #[test]
    fn owner_thread_counts_without_atomics_and_frees_on_release() {
        let d = Driver::new(Arc::new(|| {}));
        let base = driver_refs(&d);
        let owner = Owner::new(d.clone(), 0);
        let hs: Vec<Handle> = (0..10).map(|_| owner.handle().clone()).collect();
        let local = owner.handle().local();
        // SAFETY: this thread is the owner.
        assert_eq!(local.biased.with(|b| unsafe { *b }), 10);
        assert_eq!(local.shared.load(Ordering::Relaxed), BIAS);
        drop(owner); // released: the ten handles now count in `shared`
        assert_eq!(driver_refs(&d), base + 1, "freed with handles alive");
        drop(hs);
        assert_eq!(driver_refs(&d), base, "not freed after the last handle");
    }

    #[test]
    fn handles_cross_threads_both_ways() {
        let d = Driver::new(Arc::new(|| {}));
        let base = driver_refs(&d);
        let owner = Owner::new(d.clone(), 0);
        // Cloned here, dropped there; cloned there, dropped here.
        let mine: Vec<Handle> = (0..100).map(|_| owner.handle().clone()).collect();
        let theirs = std::thread::spawn(move || {
            let theirs: Vec<Handle> = mine.iter().map(Handle::clone).collect();
            drop(mine);
            theirs
        })
        .join()
        .unwrap();
        let local = owner.handle().local();
        // SAFETY: this thread is the owner.
        assert_eq!(local.biased.with(|b| unsafe { *b }), 100);
        // The other thread cloned 100 and dropped the 100 cloned here.
        assert_eq!(local.shared.load(Ordering::Relaxed), BIAS);
        drop(theirs); // on the owner thread: counted in `biased`, which may go to 0
                      // SAFETY: this thread is the owner.
        assert_eq!(local.biased.with(|b| unsafe { *b }), 0);
        drop(owner);
        assert_eq!(driver_refs(&d), base);
    }

    #[test]
    fn handles_outliving_their_thread_free_the_local_last() {
        let d = Driver::new(Arc::new(|| {}));
        let base = driver_refs(&d);
        let d2 = d.clone();
        let hs = std::thread::spawn(move || {
            let _g = d2.enter();
            // `sleep` clones the entered owner's handle on this thread.
            (0..5)
                .map(|_| crate::sleep(std::time::Duration::from_secs(60)))
                .collect::<Vec<_>>()
        })
        .join()
        .unwrap();
        assert_eq!(driver_refs(&d), base + 1, "the sleeps' handles keep it");
        drop(hs);
        assert_eq!(driver_refs(&d), base, "the last handle frees it");
    }

    #[test]
    fn thread_ids_are_distinct_and_nonzero() {
        let here = thread_id();
        let there = std::thread::spawn(thread_id).join().unwrap();
        assert!(here != 0 && there != 0 && here != there);
        assert_eq!(here, thread_id());
    }
}
