//! The runtime's counters: what the workers count as they go, and the snapshot
//! [`Handle::metrics`](crate::Handle::metrics) reads.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};

use crossbeam_utils::CachePadded;

use super::Shared;

/// Counters for `RuntimeMetrics`.
pub(crate) struct Metrics {
    pub(crate) steals: AtomicUsize,
    /// Wakers that panicked when the runtime woke them.
    pub(crate) waker_panics: AtomicUsize,
    /// Task polls per worker, each written by its worker only (a load and a
    /// store, no read-modify-write), on a line of its own.
    polls: Box<[CachePadded<AtomicU64>]>,
}

impl Metrics {
    pub(crate) fn new(procs: usize) -> Metrics {
        Metrics {
            steals: AtomicUsize::new(0),
            waker_panics: AtomicUsize::new(0),
            polls: (0..procs).map(|_| Default::default()).collect(),
        }
    }

    /// Counts a task poll on worker `index`. Only the thread running worker
    /// `index`'s context calls it (a stand-in takes the context over with a
    /// hand-off that orders it after the worker's last count).
    #[inline]
    pub(crate) fn count_poll(&self, index: usize) {
        let c = &self.polls[index];
        c.store(c.load(Relaxed) + 1, Relaxed);
    }
}

/// Counters of a runtime, from [`Handle::metrics`](crate::Handle::metrics).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct RuntimeMetrics {
    /// Live tasks now.
    pub num_tasks: usize,
    /// Tasks spawned since start, blocking closures included.
    pub spawned: usize,
    /// Tasks finished since start (completed, panicked or cancelled): `spawned -
    /// num_tasks`, read together.
    pub completed: usize,
    /// Tasks polled by the workers since start (blocking closures not included).
    pub polls: u64,
    /// Successful steals from another worker's queue.
    pub steals: usize,
    /// Times a worker went to sleep.
    pub parks: usize,
    /// Tasks in the global injector queue now.
    pub global_queue_depth: usize,
    /// Tasks in each worker's local queue now.
    pub local_queue_depths: Vec<usize>,
    /// Blocking-pool threads alive now.
    pub blocking_threads: usize,
    /// Polls the watchdog reported for blocking their worker (see
    /// [`Builder::watchdog`](crate::Builder::watchdog)).
    pub blocking_polls: usize,
    /// Wakers that panicked when the runtime woke them (a timer fired, a socket
    /// event, a task completed): each was reported like a task's panic, and the
    /// runtime went on.
    pub waker_panics: usize,
    /// Timers armed now (sleeps, timeouts, intervals, `after`/`tick` channels).
    pub timers_armed: usize,
}

impl Shared {
    /// Counts a successful steal from worker `victim` (and traces it).
    pub(crate) fn stolen_from(&self, victim: usize) {
        self.metrics.steals.fetch_add(1, Relaxed);
        crate::trace::instant(crate::trace::What::Steal {
            from: victim as u32,
        });
    }

    /// A snapshot of the counters: `spawned` and `num_tasks` read together, the
    /// others one by one.
    pub(crate) fn metrics(&self) -> RuntimeMetrics {
        let (spawned, live) = self.owned.counts();
        RuntimeMetrics {
            num_tasks: live,
            spawned,
            completed: spawned - live,
            polls: self.metrics.polls.iter().map(|c| c.load(Relaxed)).sum(),
            steals: self.metrics.steals.load(Relaxed),
            parks: self.idle.parks(),
            global_queue_depth: self.injector.len(),
            local_queue_depths: self.stealers.iter().map(|st| st.len()).collect(),
            blocking_threads: self.blocking.num_threads(),
            blocking_polls: self.watchdog.count.load(Relaxed),
            waker_panics: self.metrics.waker_panics.load(Relaxed),
            timers_armed: self.driver.timer.armed(),
        }
    }
}
