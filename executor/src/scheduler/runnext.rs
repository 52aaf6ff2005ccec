//! A worker's `runnext` slot, which other workers can steal from (Go's `p.runnext`).
//!
//! The task a running task wakes or spawns goes here and runs next on the same worker,
//! warm in its cache: a ping-ponging pair never goes through the queue. But if the
//! running task then computes for long, the task in the slot waits for it while other
//! workers are idle, and nothing in the queue tells them about it. Go's `runqsteal`
//! takes a running P's `runnext` after a 3 µs nap; gorun's searchers take it once the
//! owner has been in the same poll for [`STEAL_AFTER`] (the watchdog's generation
//! shows it), and the watchdog wakes a searcher for a slot left behind a poll that
//! outlasts its sampling period.
//!
//! # Protocol
//! - Only the owner fills the slot; anyone may empty it. So when the owner sees the
//!   slot empty it stays empty until the owner stores into it: [`RunNext::put`] is a
//!   load and a `Release` store. A task woken while the slot is full queues behind
//!   it (Go and tokio displace the older one instead: that would take a swap, a full
//!   barrier, per spawn in a spawning loop, which spawn-heavy loops measurably pay).
//! - Emptying is a swap to null (`AcqRel`): whoever gets the pointer owns the task
//!   reference; no task is run twice or lost. [`RunNext::take`] loads first and swaps
//!   only when the slot holds a task.
//!
//! [`STEAL_AFTER`]: super::worker

use std::ptr::{self, NonNull};

use crossbeam_utils::CachePadded;

use crate::loom::{AtomicPtr, Ordering};
use crate::task::{Header, Notified};

/// What the slot holds: a task reference as a raw pointer (a `Box` in the loom model).
pub(crate) trait SlotItem: Sized {
    fn into_ptr(self) -> *mut ();
    /// # Safety
    /// `ptr` came from [`SlotItem::into_ptr`] and is consumed once.
    unsafe fn from_ptr(ptr: *mut ()) -> Self;
}

impl SlotItem for Notified {
    fn into_ptr(self) -> *mut () {
        self.into_raw().as_ptr().cast()
    }

    unsafe fn from_ptr(ptr: *mut ()) -> Notified {
        // SAFETY: `ptr` is a non-null task pointer that carried a `Notified`'s
        // reference into the slot (the caller's contract).
        unsafe { Notified::from_raw(NonNull::new_unchecked(ptr.cast::<Header>())) }
    }
}

/// One worker's `runnext`: at most one task, filled by its owner, emptied by anyone.
pub(crate) struct RunNext<T: SlotItem = Notified> {
    slot: CachePadded<AtomicPtr<()>>,
    _item: std::marker::PhantomData<T>,
}

// SAFETY: the slot hands `T`s between threads whole (swaps give each pointer to one
// thread), so `T: Send` suffices.
unsafe impl<T: SlotItem + Send> Sync for RunNext<T> {}
// SAFETY: as above.
unsafe impl<T: SlotItem + Send> Send for RunNext<T> {}

impl<T: SlotItem> RunNext<T> {
    pub(crate) fn new() -> RunNext<T> {
        RunNext {
            slot: CachePadded::new(AtomicPtr::new(ptr::null_mut())),
            _item: std::marker::PhantomData,
        }
    }

    /// Owner only: puts `task` in the slot if it is empty; otherwise hands it back
    /// (the caller queues it behind the task already waiting there).
    #[inline]
    pub(crate) fn put(&self, task: T) -> Result<(), T> {
        if !self.slot.load(Ordering::Relaxed).is_null() {
            return Err(task);
        }
        // Empty, and only the owner (us) fills it: nobody races this store.
        self.slot.store(task.into_ptr(), Ordering::Release);
        Ok(())
    }

    /// Empties the slot: the owner's next task, or a thief's catch.
    #[inline]
    pub(crate) fn take(&self) -> Option<T> {
        if self.slot.load(Ordering::Relaxed).is_null() {
            return None;
        }
        let old = self.slot.swap(ptr::null_mut(), Ordering::AcqRel);
        // SAFETY: as in `put`.
        (!old.is_null()).then(|| unsafe { T::from_ptr(old) })
    }

    /// Whether the slot holds a task (a snapshot).
    #[inline]
    pub(crate) fn is_occupied(&self) -> bool {
        !self.slot.load(Ordering::Relaxed).is_null()
    }
}

impl<T: SlotItem> Drop for RunNext<T> {
    fn drop(&mut self) {
        drop(self.take());
    }
}

/// `RUSTFLAGS="--cfg loom" cargo test -p gorun-executor --release --lib loom`.
#[cfg(all(test, loom))]
mod loom_models {
    use loom::sync::atomic::AtomicUsize;
    use loom::sync::Arc;

    use super::{RunNext, SlotItem};
    use crate::loom::Ordering;

    /// A task stand-in that counts its runs.
    struct Item(Arc<AtomicUsize>, usize);

    impl SlotItem for Box<Item> {
        fn into_ptr(self) -> *mut () {
            Box::into_raw(self).cast()
        }
        unsafe fn from_ptr(ptr: *mut ()) -> Box<Item> {
            // SAFETY: from `into_ptr`, consumed once (the caller's contract).
            unsafe { Box::from_raw(ptr.cast()) }
        }
    }

    fn run(item: &Item) {
        item.0.fetch_add(1 << (8 * item.1), Ordering::Relaxed);
    }

    /// The owner puts a task, then a second (which goes in only if the thief took
    /// the first), and takes what is left, while a thief steals once: each task runs
    /// exactly once.
    #[test]
    fn loom_runnext_owner_and_thief() {
        loom::model(|| {
            let runs = Arc::new(AtomicUsize::new(0));
            let slot: Arc<RunNext<Box<Item>>> = Arc::new(RunNext::new());
            assert!(slot.put(Box::new(Item(runs.clone(), 0))).is_ok());
            let thief = {
                let slot = slot.clone();
                loom::thread::spawn(move || {
                    if let Some(t) = slot.take() {
                        run(&t);
                    }
                })
            };
            // Full unless the thief took the first: then the second goes in.
            if let Err(t) = slot.put(Box::new(Item(runs.clone(), 1))) {
                run(&t);
            }
            if let Some(t) = slot.take() {
                run(&t);
            }
            thief.join().unwrap();
            drop(slot);
            assert_eq!(runs.load(Ordering::Relaxed), 1 | 1 << 8);
        });
    }
}
