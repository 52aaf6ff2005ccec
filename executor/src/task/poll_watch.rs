//! What a task's poll announces for the watchdog (`scheduler/watchdog.rs`, Go's
//! sysmon): one [`Watch`] per worker, written by the worker around each poll and
//! sampled by the monitor thread. It lives beside the task cell, which announces its
//! polls and marks a reported task while the cell is certainly alive (after the poll
//! it may be freed); the scheduler's watchdog owns the slots and reads them, so the
//! dependency points from the scheduler to the task and not back.
//!
//! # Protocol (a seqlock per worker)
//! Around each poll the worker bumps `gen`: odd while a poll runs, even between
//! polls. Before making `gen` odd it stores the task's spawn `location` and whether
//! the task was `already` reported. Readers check `gen` before and after reading
//! `location`/`already` (with an acquire fence between), and the writer fences
//! before rewriting them, so a sample never pairs one poll's generation with
//! another's location. The monitor stores a reported poll's generation in
//! `reported`; the poller, back from the poll, marks the task (`WATCHDOG_REPORTED`
//! in its header), which it alone may touch. The monitor never dereferences a task.

use std::cell::Cell;
use std::panic::Location;
use std::ptr;

use super::raw::WATCHDOG_REPORTED;
use super::Header;
use crate::loom::{fence, AtomicBool, AtomicPtr, AtomicU64, Ordering};

/// One worker's poll announcements.
pub(crate) struct Watch {
    /// Odd while a poll runs; written by the worker only.
    gen: AtomicU64,
    /// The spawn location of the task being polled.
    location: AtomicPtr<Location<'static>>,
    /// The task being polled was reported before.
    already: AtomicBool,
    /// The last generation the monitor reported; the poller marks that task.
    reported: AtomicU64,
}

thread_local! {
    /// This worker's `Watch`, when the watchdog is on; null elsewhere.
    static SLOT: Cell<*const Watch> = const { Cell::new(ptr::null()) };
    /// The last generation this worker published in its `Watch` (it is the only
    /// writer, so it keeps its own copy rather than loading the shared one).
    static GEN: Cell<u64> = const { Cell::new(0) };
}

/// A poll in progress, from [`poll_started`].
pub(crate) struct Started(*const Watch, u64);

/// Announces a poll of `task` on this worker. Cheap when the watchdog is off (one
/// thread-local load).
#[inline]
pub(crate) fn poll_started(task: &Header) -> Option<Started> {
    let p = SLOT.try_with(|s| s.get()).unwrap_or(ptr::null());
    if p.is_null() {
        return None;
    }
    // SAFETY: a non-null slot is set by `install` for as long as the worker (which
    // holds the `Arc<Shared>` owning the slot) runs on this thread.
    let w = unsafe { &*p };
    let already = task.flags.load(std::sync::atomic::Ordering::Relaxed) & WATCHDOG_REPORTED != 0;
    let gen = GEN.with(|g| g.get()) + 1;
    w.begin(gen, task.location, already);
    Some(Started(p, gen))
}

/// Ends the poll announced by [`poll_started`]; marks `task` if it was reported.
#[inline]
pub(crate) fn poll_ended(started: Option<Started>, task: &Header) {
    let Some(Started(p, gen)) = started else {
        return;
    };
    // SAFETY: as in `poll_started`; we are on the same thread, in the same run.
    let w = unsafe { &*p };
    GEN.with(|g| g.set(gen + 1));
    if w.end(gen) {
        task.flags
            .fetch_or(WATCHDOG_REPORTED, std::sync::atomic::Ordering::Relaxed);
    }
}

/// The poll running on this worker hands its worker off (`block_in_place`): it
/// is no longer announced, so the watchdog does not report the blocking call
/// (Go's sysmon does not report a goroutine in a syscall either). Its
/// `poll_ended` later stores the same value again.
pub(crate) fn poll_handed_off() {
    let p = SLOT.try_with(|s| s.get()).unwrap_or(ptr::null());
    if p.is_null() {
        return;
    }
    // SAFETY: as in `poll_started`.
    let w = unsafe { &*p };
    let running = GEN.with(|g| g.get()) + 1;
    if w.gen.load(Ordering::Relaxed) == running {
        w.gen.store(running + 1, Ordering::Release);
    }
}

/// Installs `watch` as this thread's (a worker's) until the guard drops; `None`
/// (the watchdog is off) installs nothing.
pub(crate) fn install(watch: Option<&Watch>) -> Installed {
    if let Some(w) = watch {
        // A worker thread runs one worker, once: the slot is fresh.
        GEN.with(|g| g.set(0));
        SLOT.with(|s| s.set(w));
    }
    Installed(())
}

/// Uninstalls this thread's [`Watch`] when dropped.
pub(crate) struct Installed(());

impl Drop for Installed {
    fn drop(&mut self) {
        let _ = SLOT.try_with(|s| s.set(ptr::null()));
    }
}

impl Watch {
    pub(crate) fn new() -> Watch {
        Watch {
            gen: AtomicU64::new(0),
            location: AtomicPtr::new(ptr::null_mut()),
            already: AtomicBool::new(false),
            reported: AtomicU64::new(0),
        }
    }

    /// The worker's poll generation: odd while it polls a task, the same odd value
    /// for as long as that one poll runs.
    #[inline]
    pub(crate) fn generation(&self, order: Ordering) -> u64 {
        self.gen.load(order)
    }

    /// The monitor reported the poll of generation `gen`: its poller marks the task
    /// when the poll ends.
    pub(crate) fn mark_reported(&self, gen: u64) {
        self.reported.store(gen, Ordering::Relaxed);
    }

    /// The worker starts a poll of a task spawned at `location`, as generation `gen`
    /// (odd: one more than the last one it published).
    #[inline]
    fn begin(&self, gen: u64, location: &'static Location<'static>, already: bool) {
        debug_assert_eq!(gen % 2, 1);
        // Orders the stores below after the previous `gen` store (the seqlock's
        // writer side; a compiler barrier on x86).
        fence(Ordering::Release);
        self.location
            .store(location as *const _ as *mut _, Ordering::Relaxed);
        self.already.store(already, Ordering::Relaxed);
        self.gen.store(gen, Ordering::Release);
    }

    /// The poll of generation `gen` returned; `true` if the monitor reported it.
    #[inline]
    fn end(&self, gen: u64) -> bool {
        self.gen.store(gen + 1, Ordering::Release);
        self.reported.load(Ordering::Relaxed) == gen
    }

    /// The poll running now, if any: its generation, location, and whether its task
    /// was reported before. Never pairs one poll's generation with another's fields.
    pub(crate) fn sample(&self) -> Option<(u64, &'static Location<'static>, bool)> {
        let gen = self.gen.load(Ordering::Acquire);
        if gen % 2 == 0 {
            return None;
        }
        let loc = self.location.load(Ordering::Relaxed);
        let already = self.already.load(Ordering::Relaxed);
        fence(Ordering::Acquire);
        if self.gen.load(Ordering::Relaxed) != gen {
            return None;
        }
        // SAFETY: the worker stores only `&'static Location`s before an odd `gen`.
        Some((gen, unsafe { &*loc }, already))
    }
}

/// Loom model of the seqlock: a sample never pairs one poll's generation with another
/// poll's location or flag. Run with
/// `RUSTFLAGS="--cfg loom" cargo test -p gorun-executor --release --lib loom`.
#[cfg(all(test, loom))]
mod loom_models {
    use super::*;
    use loom::sync::Arc;

    #[test]
    fn sample_matches_its_generation() {
        loom::model(|| {
            let a: &'static Location<'static> = Location::caller();
            let b: &'static Location<'static> = Location::caller();
            let w = Arc::new(Watch::new());
            let w2 = w.clone();
            let worker = loom::thread::spawn(move || {
                w2.begin(1, a, false);
                w2.end(1);
                w2.begin(3, b, true);
                w2.end(3);
            });
            if let Some((gen, loc, already)) = w.sample() {
                match gen {
                    1 => assert!(std::ptr::eq(loc, a) && !already),
                    3 => assert!(std::ptr::eq(loc, b) && already),
                    g => panic!("generation {g} is not a poll"),
                }
            }
            worker.join().unwrap();
        });
    }
}
