//! The owned-tasks list: every live task of a runtime, so shutdown can cancel the
//! idle ones (which no queue holds) and `num_tasks` can count them.
//!
//! Sharded slabs: each shard is a `Vec` of task pointers behind its own lock, and each
//! task records its shard and slot in its header (8 bytes, where a doubly linked list
//! would take 16). Removal empties the slot and pushes its index on a free list, so it
//! touches no other task's header (with a million tasks those are cold in cache).
//! A task's shard follows from its address (Fibonacci hashing over 8 shards per
//! worker): measured faster than binding tasks to the spawning worker's own shards,
//! whose locks a stealing worker then contends for.
//!
//! # Invariants
//! - A task's slot index is read or written only under its shard's lock.
//! - A task is in the list iff its slot index is not `NOT_IN_LIST`, and then
//!   `shard.tasks[index]` is that task. Every other slot is `None` and on `free`.
//! - Once `closed` is set (before the shards are drained), no task is inserted: a
//!   binder checks it under the shard lock.

use std::cell::UnsafeCell;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crossbeam_utils::CachePadded;
use gorun_spinlock::{SpinGuard, SpinLock};

use super::raw::Header;
use super::Task;

const NOT_IN_LIST: u32 = u32::MAX;

/// Where a task sits in its shard (the shard follows from the task's address); lives
/// in the task header.
pub(crate) struct Slot {
    index: UnsafeCell<u32>,
}

impl Slot {
    pub(crate) fn new() -> Slot {
        Slot {
            index: UnsafeCell::new(NOT_IN_LIST),
        }
    }
}

/// Task ages are stamped in units of 2^24 ns (16.8 ms, a few ticks of the coarse
/// clock) since the list was created, in a `u32`: 4 bytes per task, good for 2.2
/// years of uptime (later stamps saturate).
const STAMP_SHIFT: u32 = 24;

struct Shard {
    tasks: Vec<Option<NonNull<Header>>>,
    /// When each slot's task was bound, in stamps: a parallel `Vec`, so a slot is 12
    /// bytes rather than the 16 a `(pointer, stamp)` pair would pad to. The stamp
    /// lives here rather than in the task cell, which stays 64 bytes.
    spawned: Vec<u32>,
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
    /// Spin locks (`gorun-spinlock`): each spawn binds and each completion removes
    /// under one, a few stores each; only shutdown's sweep and the dump hold one
    /// longer, and they are rare.
    shards: Box<[CachePadded<SpinLock<Shard>>]>,
    /// log2 of the number of shards (a power of two).
    shard_bits: u32,
    closed: AtomicBool,
    /// `coarse_clock` time the stamps count from.
    epoch: u64,
}

/// # Safety
/// The caller holds the lock of the shard `ptr` belongs to, and `ptr` is live.
unsafe fn index<'a>(ptr: NonNull<Header>) -> &'a mut u32 {
    // SAFETY: by the caller's contract the index is ours to touch.
    unsafe { &mut *ptr.as_ref().owned.index.get() }
}

impl OwnedTasks {
    pub(crate) fn new(procs: usize) -> OwnedTasks {
        let n = (procs * 8).next_power_of_two();
        OwnedTasks {
            shards: (0..n)
                .map(|_| {
                    CachePadded::new(SpinLock::new(Shard {
                        tasks: Vec::new(),
                        spawned: Vec::new(),
                        free: Vec::new(),
                        len: 0,
                        bound: 0,
                    }))
                })
                .collect(),
            shard_bits: n.trailing_zeros(),
            closed: AtomicBool::new(false),
            epoch: crate::coarse_clock::now_nanos(),
        }
    }

    fn stamp(&self) -> u32 {
        let since = crate::coarse_clock::now_nanos().saturating_sub(self.epoch);
        u32::try_from(since >> STAMP_SHIFT).unwrap_or(u32::MAX)
    }

    /// The shard of a task, from its address.
    fn shard_of(&self, ptr: NonNull<Header>) -> usize {
        if self.shard_bits == 0 {
            return 0;
        }
        let h = (ptr.as_ptr() as usize >> 6).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        h >> (usize::BITS - self.shard_bits)
    }

    fn lock(&self, shard: usize) -> SpinGuard<'_, Shard> {
        self.shards[shard].lock()
    }

    /// Inserts a new task. Fails, returning it, once the list is closed: the caller
    /// must shut it down.
    pub(crate) fn bind(&self, task: Task) -> Result<(), Task> {
        let ptr = task.as_raw();
        let shard = self.shard_of(ptr);
        let stamp = self.stamp();
        let mut s = self.lock(shard);
        if self.closed.load(Ordering::Acquire) {
            return Err(task);
        }
        let raw = task.into_raw();
        let i = match s.free.pop() {
            Some(i) => {
                s.tasks[i as usize] = Some(raw);
                s.spawned[i as usize] = stamp;
                i
            }
            None => {
                s.tasks.push(Some(raw));
                s.spawned.push(stamp);
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
        let mut s = self.lock(self.shard_of(ptr));
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

    /// Calls `f` on every task in the list with its age, under its shard's lock (so
    /// `f` must not spawn, complete or drop tasks).
    pub(crate) fn for_each(&self, mut f: impl FnMut(&Header, Duration)) {
        let now = crate::coarse_clock::now_nanos().saturating_sub(self.epoch);
        for i in 0..self.shards.len() {
            let s = self.lock(i);
            for (t, &stamp) in s.tasks.iter().zip(&s.spawned) {
                if let Some(t) = t {
                    let age = now.saturating_sub(u64::from(stamp) << STAMP_SHIFT);
                    // SAFETY: the list holds a reference to every task in it.
                    f(unsafe { t.as_ref() }, Duration::from_nanos(age));
                }
            }
        }
    }

    /// The number of tasks ever bound, and of those still live, read together.
    pub(crate) fn counts(&self) -> (usize, usize) {
        (0..self.shards.len()).fold((0, 0), |(b, l), i| {
            let s = self.lock(i);
            (b + s.bound, l + s.len)
        })
    }

    /// The number of live tasks.
    pub(crate) fn len(&self) -> usize {
        (0..self.shards.len()).map(|i| self.lock(i).len).sum()
    }
}
