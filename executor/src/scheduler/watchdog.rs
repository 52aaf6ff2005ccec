//! The watchdog: Go's sysmon, for polls that block their worker.
//!
//! A task that blocks inside `poll` (a `std::thread::sleep`, a blocking syscall, a long
//! computation without a yield) stalls every task queued behind it on that worker.
//! Go's sysmon notices a goroutine running for more than 10 ms and preempts it; gorun
//! cannot preempt, so it reports: once per task, with the task's spawn location, while
//! the poll is still running.
//!
//! # Protocol (a seqlock per worker)
//! - Each worker owns one [`Watch`]. Around each task poll it bumps `gen`: odd while a
//!   poll runs, even between polls. Before making `gen` odd it stores the task's spawn
//!   `location` and whether the task was `already` reported. That is the whole
//!   hot-path cost: four relaxed/release stores to a line only the worker writes, and
//!   no clock read.
//! - The monitor thread samples every `gen` each `threshold / 4`. A worker whose odd
//!   `gen` is unchanged since it was first seen has been in the same poll at least that
//!   long; past the threshold the monitor reports it (unless `already`) and stores the
//!   generation in `reported`. The poller, back from the poll, sees `reported == gen`
//!   and marks the task (`WATCHDOG_REPORTED` in its header), which it alone may touch.
//!   The monitor never dereferences a task.
//! - Readers check `gen` before and after reading `location`/`already` (with an
//!   acquire fence between), and the writer fences before rewriting them, so a sample
//!   never pairs one poll's generation with another's location.
//! - When every worker is parked the monitor sleeps on its condvar until a worker
//!   leaves its park (`kick`): an idle runtime costs no CPU. The `sleeping` flag and the
//!   idle state are both `SeqCst`, so "monitor: set sleeping; check all parked" and
//!   "worker: unpark (state change); check sleeping" cannot both miss each other.

use std::cell::Cell;
use std::fmt;
use std::panic::Location;
use std::ptr;
use std::sync::atomic::{fence, AtomicBool, AtomicPtr, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use crossbeam_utils::CachePadded;

use super::Shared;
use crate::task::raw::WATCHDOG_REPORTED;
use crate::task::Header;

/// The default threshold: Go's sysmon preempts after 10 ms.
pub(crate) const DEFAULT_THRESHOLD: Duration = Duration::from_millis(10);

/// A poll that blocked its worker, as passed to
/// [`Builder::on_blocking_poll`](crate::Builder::on_blocking_poll).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct BlockingPoll {
    /// Where the task was spawned.
    pub location: &'static Location<'static>,
    /// The worker (P) it blocks.
    pub worker: usize,
    /// How long the poll had run when it was noticed (a lower bound: it may still be
    /// running).
    pub elapsed: Duration,
}

impl fmt::Display for BlockingPoll {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "gorun: task spawned at {} blocked its worker ({}) for {} ms in one poll \
             (still running); move blocking work to spawn_blocking",
            self.location,
            self.worker,
            self.elapsed.as_millis()
        )
    }
}

/// The callback of `Builder::on_blocking_poll`.
#[derive(Clone)]
pub(crate) struct Hook(pub(crate) Arc<dyn Fn(&BlockingPoll) + Send + Sync>);

impl fmt::Debug for Hook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Hook(..)")
    }
}

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

pub(crate) struct Watchdog {
    slots: Box<[CachePadded<Watch>]>,
    /// `None`: disabled (no monitor thread, no announcements).
    threshold: Option<Duration>,
    hook: Option<Hook>,
    /// Polls reported (a metric).
    pub(crate) count: AtomicUsize,
    sleeping: AtomicBool,
    lock: Mutex<()>,
    cvar: Condvar,
}

thread_local! {
    /// This worker's `Watch`, when the watchdog is on; null elsewhere.
    static SLOT: Cell<*const Watch> = const { Cell::new(ptr::null()) };
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
    // SAFETY: a non-null slot is set by `enter` for as long as the worker (which holds
    // the `Arc<Shared>` owning the slot) runs on this thread.
    let w = unsafe { &*p };
    let gen = w.gen.load(Ordering::Relaxed) + 1;
    // Orders the stores below after the previous `gen` store (the seqlock's writer).
    fence(Ordering::Release);
    w.location
        .store(task.location as *const _ as *mut _, Ordering::Relaxed);
    let already = task.flags.load(Ordering::Relaxed) & WATCHDOG_REPORTED != 0;
    w.already.store(already, Ordering::Relaxed);
    w.gen.store(gen, Ordering::Release);
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
    w.gen.store(gen + 1, Ordering::Release);
    if w.reported.load(Ordering::Relaxed) == gen {
        task.flags.fetch_or(WATCHDOG_REPORTED, Ordering::Relaxed);
    }
}

/// Installs worker `index`'s slot on this thread until the guard drops.
pub(crate) fn enter(shared: &Shared, index: usize) -> EnterGuard {
    if shared.watchdog.threshold.is_some() {
        let p: *const Watch = &*shared.watchdog.slots[index];
        SLOT.with(|s| s.set(p));
    }
    EnterGuard
}

pub(crate) struct EnterGuard;

impl Drop for EnterGuard {
    fn drop(&mut self) {
        let _ = SLOT.try_with(|s| s.set(ptr::null()));
    }
}

impl Watchdog {
    pub(crate) fn new(procs: usize, threshold: Option<Duration>, hook: Option<Hook>) -> Self {
        Watchdog {
            slots: (0..procs)
                .map(|_| {
                    CachePadded::new(Watch {
                        gen: AtomicU64::new(0),
                        location: AtomicPtr::new(ptr::null_mut()),
                        already: AtomicBool::new(false),
                        reported: AtomicU64::new(0),
                    })
                })
                .collect(),
            threshold: threshold.filter(|t| !t.is_zero()),
            hook,
            count: AtomicUsize::new(0),
            sleeping: AtomicBool::new(false),
            lock: Mutex::new(()),
            cvar: Condvar::new(),
        }
    }

    pub(crate) fn is_enabled(&self) -> bool {
        self.threshold.is_some()
    }

    /// Wakes the monitor if it sleeps: a worker left its park, or shutdown began.
    pub(crate) fn kick(&self) {
        if self.sleeping.load(Ordering::SeqCst) {
            let _g = self.lock.lock().unwrap_or_else(|e| e.into_inner());
            self.sleeping.store(false, Ordering::SeqCst);
            self.cvar.notify_all();
        }
    }

    /// The poll on `worker` now, if one runs: its generation, location, and whether
    /// its task was reported before.
    fn sample(&self, worker: usize) -> Option<(u64, &'static Location<'static>, bool)> {
        let w = &self.slots[worker];
        let gen = w.gen.load(Ordering::Acquire);
        if gen % 2 == 0 {
            return None;
        }
        let loc = w.location.load(Ordering::Relaxed);
        let already = w.already.load(Ordering::Relaxed);
        fence(Ordering::Acquire);
        if w.gen.load(Ordering::Relaxed) != gen {
            return None;
        }
        // SAFETY: the worker stores only `&'static Location`s before an odd `gen`.
        Some((gen, unsafe { &*loc }, already))
    }

    fn any_polling(&self) -> bool {
        self.slots
            .iter()
            .any(|w| w.gen.load(Ordering::Acquire) % 2 == 1)
    }

    fn report(&self, r: &BlockingPoll) {
        self.count.fetch_add(1, Ordering::Relaxed);
        match &self.hook {
            Some(hook) => {
                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| (hook.0)(r)));
            }
            None => eprintln!("{r}"),
        }
    }
}

/// The monitor thread's body (started by `scheduler::start` when enabled).
pub(crate) fn monitor(shared: Arc<Shared>) {
    let dog = &shared.watchdog;
    let Some(threshold) = dog.threshold else {
        return;
    };
    let interval = (threshold / 4).clamp(Duration::from_millis(1), Duration::from_millis(50));
    // Per worker: the odd generation last seen, when it was first seen, and whether
    // that poll was dealt with.
    let mut seen: Vec<(u64, Instant, bool)> = vec![(0, Instant::now(), true); dog.slots.len()];
    loop {
        if shared.is_shutdown() {
            return;
        }
        let mut g = dog.lock.lock().unwrap_or_else(|e| e.into_inner());
        if shared.idle.all_parked() && !dog.any_polling() {
            // Idle: sleep until a worker unparks (see the protocol in the header).
            dog.sleeping.store(true, Ordering::SeqCst);
            while dog.sleeping.load(Ordering::SeqCst)
                && shared.idle.all_parked()
                && !shared.is_shutdown()
            {
                g = dog.cvar.wait(g).unwrap_or_else(|e| e.into_inner());
            }
            dog.sleeping.store(false, Ordering::SeqCst);
            continue;
        }
        drop(dog.cvar.wait_timeout(g, interval));
        let now = Instant::now();
        for (worker, s) in seen.iter_mut().enumerate() {
            let Some((gen, location, already)) = dog.sample(worker) else {
                continue;
            };
            if s.0 != gen {
                *s = (gen, now, already);
                continue;
            }
            let elapsed = now.duration_since(s.1);
            if !s.2 && elapsed >= threshold {
                s.2 = true;
                dog.slots[worker].reported.store(gen, Ordering::Relaxed);
                dog.report(&BlockingPoll {
                    location,
                    worker,
                    elapsed,
                });
            }
        }
    }
}
