//! The owned-tasks list: every live task of a runtime, so shutdown can cancel the
//! idle ones (which no queue holds) and `num_tasks` can count them.
//!
//! Sharded slabs: each shard is a `Vec` of task pointers behind its own lock, and each
//! task records its shard and slot in its header (8 bytes, where a doubly linked list
//! would take 16). Removal empties the slot and pushes its index on a free list, so it
//! touches no other task's header (with a million tasks those are cold in cache).
//! A worker binds the tasks it spawns to its own shards, so a task that completes
//! where it was spawned takes an uncontended lock.
//!
//! # Invariants
//! - A task's slot index is read or written only under its shard's lock; the slot's
//!   shard number is written once by `bind` and never changes.
//! - A task is in the list iff its slot index is not `NOT_IN_LIST`, and then
//!   `shard.tasks[index]` is that task. Every other slot is `None` and on `free`.
//! - Once `closed` is set (before the shards are drained), no task is inserted: a
//!   binder checks it under the shard lock.

use std::cell::UnsafeCell;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::sync::Mutex;

use crossbeam_utils::CachePadded;

use super::raw::Header;
use super::Task;

const NOT_IN_LIST: u32 = u32::MAX;

/// Where a task sits in the list; lives in the task header.
pub(crate) struct Slot {
    /// Written once by `bind`, before the task is published; read by `remove` to
    /// find the lock that guards `index`.
    shard: AtomicU32,
    index: UnsafeCell<u32>,
}

impl Slot {
    pub(crate) fn new() -> Slot {
        Slot {
            shard: AtomicU32::new(0),
            index: UnsafeCell::new(NOT_IN_LIST),
        }
    }
}

struct Shard {
    tasks: Vec<Option<NonNull<Header>>>,
    /// Indices of the `None` slots of `tasks`.
    free: Vec<u32>,
    /// Tasks in the shard.
    len: usize,
    /// Tasks ever bound here (a metric, counted under the lock for free).
    bound: usize,
}

impl Shard {
    /// Empties slot `i`, which holds a task.
    fn vacate(&mut self, i: u32) -> NonNull<Header> {
        let t = self.tasks[i as usize]
            .take()
            .expect("vacating an empty slot");
        self.free.push(i);
        self.len -= 1;
        t
    }
}

// SAFETY: the raw pointers are only followed under the shard's lock.
unsafe impl Send for Shard {}

pub(crate) struct OwnedTasks {
    shards: Box<[CachePadded<Mutex<Shard>>]>,
    /// Tasks per worker: shards `[w * per_worker, (w + 1) * per_worker)` are worker
    /// `w`'s; spawns from elsewhere spread over all shards.
    per_worker: usize,
    next_remote: AtomicUsize,
    closed: AtomicBool,
}

/// # Safety
/// The caller holds the lock of the shard `ptr` belongs to, and `ptr` is live.
unsafe fn index<'a>(ptr: NonNull<Header>) -> &'a mut u32 {
    // SAFETY: by the caller's contract the index is ours to touch.
    unsafe { &mut *ptr.as_ref().owned.index.get() }
}

fn shard_of(ptr: NonNull<Header>) -> usize {
    // SAFETY: callers hold a reference to the task.
    unsafe { ptr.as_ref() }.owned.shard.load(Ordering::Relaxed) as usize
}

impl OwnedTasks {
    pub(crate) fn new(procs: usize) -> OwnedTasks {
        let per_worker = 8;
        OwnedTasks {
            shards: (0..procs * per_worker)
                .map(|_| {
                    CachePadded::new(Mutex::new(Shard {
                        tasks: Vec::new(),
                        free: Vec::new(),
                        len: 0,
                        bound: 0,
                    }))
                })
                .collect(),
            per_worker,
            next_remote: AtomicUsize::new(0),
            closed: AtomicBool::new(false),
        }
    }

    fn lock(&self, shard: usize) -> std::sync::MutexGuard<'_, Shard> {
        self.shards[shard].lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Inserts a new task, into one of `worker`'s shards if it is given. Fails,
    /// returning the task, once the list is closed: the caller must shut it down.
    pub(crate) fn bind(&self, task: Task, worker: Option<usize>) -> Result<(), Task> {
        let ptr = task.as_raw();
        let shard = match worker {
            Some(w) => w * self.per_worker + (ptr.as_ptr() as usize >> 6) % self.per_worker,
            None => self.next_remote.fetch_add(1, Ordering::Relaxed) % self.shards.len(),
        };
        let mut s = self.lock(shard);
        if self.closed.load(Ordering::Acquire) {
            return Err(task);
        }
        // SAFETY: the task is live (we own a reference).
        unsafe { ptr.as_ref() }
            .owned
            .shard
            .store(shard as u32, Ordering::Relaxed);
        let raw = task.into_raw();
        let i = match s.free.pop() {
            Some(i) => {
                s.tasks[i as usize] = Some(raw);
                i
            }
            None => {
                s.tasks.push(Some(raw));
                (s.tasks.len() - 1) as u32
            }
        };
        // SAFETY: we hold the lock of the shard just recorded.
        unsafe { *index(ptr) = i };
        s.len += 1;
        s.bound += 1;
        Ok(())
    }

    /// Unlinks a task; returns `true` if it was in the list (the list's reference is
    /// then the caller's to drop).
    ///
    /// # Safety
    /// `ptr` is a live task of this runtime.
    pub(crate) unsafe fn remove(&self, ptr: NonNull<Header>) -> bool {
        // The shard never changes after bind, which happened before the task was
        // published to whoever calls this.
        let mut s = self.lock(shard_of(ptr));
        // SAFETY: shard lock held; the task is live by the caller's contract.
        unsafe { Self::unlink(&mut s, ptr) }
    }

    /// # Safety
    /// The shard lock is held (we have `&mut Shard`) and `ptr` is live.
    unsafe fn unlink(shard: &mut Shard, ptr: NonNull<Header>) -> bool {
        // SAFETY: see the function contract; every task in `tasks` is live (the list
        // holds a reference to each).
        unsafe {
            let i = *index(ptr);
            if i == NOT_IN_LIST {
                return false;
            }
            let t = shard.vacate(i);
            debug_assert_eq!(t, ptr);
            *index(ptr) = NOT_IN_LIST;
        }
        true
    }

    /// Closes the list and cancels every task in it. Tasks being polled elsewhere are
    /// marked cancelled and finish on their poller. Safe to call more than once.
    pub(crate) fn close_and_shutdown_all(&self) {
        self.closed.store(true, Ordering::Release);
        for shard in 0..self.shards.len() {
            // Walk down from the top: nothing is bound after `closed`, so slots above
            // the cursor stay empty, and the whole sweep is linear.
            let mut cursor = usize::MAX;
            loop {
                let task = {
                    let mut s = self.lock(shard);
                    let top = cursor.min(s.tasks.len());
                    let Some(i) = s.tasks[..top].iter().rposition(Option::is_some) else {
                        break;
                    };
                    cursor = i;
                    let t = s.vacate(i as u32);
                    // SAFETY: lock held; `t` is live (the list holds a reference).
                    unsafe { *index(t) = NOT_IN_LIST };
                    // SAFETY: the list's reference moves to this `Task`.
                    unsafe { Task::from_raw(t) }
                };
                // Outside the lock: dropping a future may spawn or complete tasks.
                task.shutdown();
            }
        }
    }

    /// Calls `f` on every task in the list, under its shard's lock (so `f` must not
    /// spawn, complete or drop tasks).
    pub(crate) fn for_each(&self, mut f: impl FnMut(&Header)) {
        for i in 0..self.shards.len() {
            let s = self.lock(i);
            for t in s.tasks.iter().flatten() {
                // SAFETY: the list holds a reference to every task in it.
                f(unsafe { t.as_ref() });
            }
        }
    }

    /// The number of tasks ever bound.
    pub(crate) fn spawned(&self) -> usize {
        (0..self.shards.len()).map(|i| self.lock(i).bound).sum()
    }

    /// The number of live tasks.
    pub(crate) fn len(&self) -> usize {
        (0..self.shards.len()).map(|i| self.lock(i).len).sum()
    }
}
