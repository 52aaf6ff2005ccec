//! The owned-tasks list: every live task of a runtime, so shutdown can cancel the
//! idle ones (which no queue holds) and `num_tasks` can count them.
//!
//! An intrusive doubly linked list, sharded by task address, each shard behind its
//! own lock so spawns and completions on different workers rarely meet.
//!
//! # Invariants
//! - A task's `Pointers` are read or written only under its shard's lock.
//! - A task is in its shard iff `prev.is_some()` or it is the shard's head.
//! - Once `closed` is set (before the shards are drained), no task is inserted: a
//!   binder checks it under the shard lock.

use std::cell::UnsafeCell;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use crossbeam_utils::CachePadded;

use super::raw::Header;
use super::Task;

pub(crate) struct Pointers {
    inner: UnsafeCell<Links>,
}

#[derive(Clone, Copy)]
struct Links {
    prev: Option<NonNull<Header>>,
    next: Option<NonNull<Header>>,
}

impl Pointers {
    pub(crate) fn new() -> Pointers {
        Pointers {
            inner: UnsafeCell::new(Links {
                prev: None,
                next: None,
            }),
        }
    }
}

struct Shard {
    head: Option<NonNull<Header>>,
    len: usize,
}

// SAFETY: the raw pointers are only followed under the shard's lock.
unsafe impl Send for Shard {}

pub(crate) struct OwnedTasks {
    shards: Box<[CachePadded<Mutex<Shard>>]>,
    closed: AtomicBool,
}

/// # Safety
/// The caller holds the lock of the shard `ptr` belongs to, and `ptr` is live.
unsafe fn links<'a>(ptr: NonNull<Header>) -> &'a mut Links {
    // SAFETY: by the caller's contract the links are ours to touch.
    unsafe { &mut *ptr.as_ref().owned.inner.get() }
}

impl OwnedTasks {
    pub(crate) fn new(procs: usize) -> OwnedTasks {
        let n = (procs * 4).next_power_of_two().max(4);
        OwnedTasks {
            shards: (0..n)
                .map(|_| CachePadded::new(Mutex::new(Shard { head: None, len: 0 })))
                .collect(),
            closed: AtomicBool::new(false),
        }
    }

    fn shard(&self, ptr: NonNull<Header>) -> &Mutex<Shard> {
        let h = (ptr.as_ptr() as usize >> 4).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let bits = self.shards.len().trailing_zeros();
        &self.shards[(h >> (usize::BITS - bits)) & (self.shards.len() - 1)]
    }

    /// Inserts a new task. Fails, returning it, once the list is closed: the caller
    /// must shut the task down.
    pub(crate) fn bind(&self, task: Task) -> Result<(), Task> {
        let ptr = task.as_raw();
        let mut shard = self.shard(ptr).lock().unwrap_or_else(|e| e.into_inner());
        if self.closed.load(Ordering::Acquire) {
            return Err(task);
        }
        // SAFETY: we hold the shard lock and the task is live (we own a reference).
        unsafe {
            let l = links(ptr);
            l.prev = None;
            l.next = shard.head;
            if let Some(old) = shard.head {
                links(old).prev = Some(ptr);
            }
        }
        shard.head = Some(task.into_raw());
        shard.len += 1;
        Ok(())
    }

    /// Unlinks a task; returns `true` if it was in the list (the list's reference is
    /// then the caller's to drop).
    ///
    /// # Safety
    /// `ptr` is a live task of this runtime.
    pub(crate) unsafe fn remove(&self, ptr: NonNull<Header>) -> bool {
        let mut shard = self.shard(ptr).lock().unwrap_or_else(|e| e.into_inner());
        // SAFETY: shard lock held; the task is live by the caller's contract.
        unsafe { Self::unlink(&mut shard, ptr) }
    }

    /// # Safety
    /// The shard lock is held (we have `&mut Shard`) and `ptr` is live.
    unsafe fn unlink(shard: &mut Shard, ptr: NonNull<Header>) -> bool {
        // SAFETY: see the function contract.
        unsafe {
            let l = *links(ptr);
            if l.prev.is_none() && shard.head != Some(ptr) {
                return false;
            }
            match l.prev {
                Some(p) => links(p).next = l.next,
                None => shard.head = l.next,
            }
            if let Some(n) = l.next {
                links(n).prev = l.prev;
            }
            *links(ptr) = Links {
                prev: None,
                next: None,
            };
        }
        shard.len -= 1;
        true
    }

    /// Closes the list and cancels every task in it. Tasks being polled elsewhere are
    /// marked cancelled and finish on their poller. Safe to call more than once.
    pub(crate) fn close_and_shutdown_all(&self) {
        self.closed.store(true, Ordering::Release);
        for shard in self.shards.iter() {
            loop {
                let task = {
                    let mut s = shard.lock().unwrap_or_else(|e| e.into_inner());
                    let Some(head) = s.head else { break };
                    // SAFETY: lock held; `head` is live (the list holds a reference).
                    unsafe { Self::unlink(&mut s, head) };
                    // SAFETY: the list's reference moves to this `Task`.
                    unsafe { Task::from_raw(head) }
                };
                // Outside the lock: dropping a future may spawn or complete tasks.
                task.shutdown();
            }
        }
    }

    /// The number of live tasks.
    pub(crate) fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().unwrap_or_else(|e| e.into_inner()).len)
            .sum()
    }
}
