//! The runtime's counters: what the workers count as they go, and the snapshot
//! [`Handle::metrics`](crate::Handle::metrics) reads.

use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

use super::Shared;

/// Counters for `RuntimeMetrics`.
#[derive(Default)]
pub(crate) struct Metrics {
    pub(crate) steals: AtomicUsize,
    /// Wakers that panicked when the runtime woke them.
    pub(crate) waker_panics: AtomicUsize,
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
}

impl Shared {
    /// A snapshot of the counters: `spawned` and `num_tasks` read together, the
    /// others one by one.
    pub(crate) fn metrics(&self) -> RuntimeMetrics {
        let (spawned, live) = self.owned.counts();
        RuntimeMetrics {
            num_tasks: live,
            spawned,
            completed: spawned - live,
            steals: self.metrics.steals.load(Relaxed),
            parks: self.idle.parks(),
            global_queue_depth: self.injector.len(),
            local_queue_depths: self.stealers.iter().map(|st| st.len()).collect(),
            blocking_threads: self.blocking.num_threads(),
            blocking_polls: self.watchdog.count.load(Relaxed),
            waker_panics: self.metrics.waker_panics.load(Relaxed),
        }
    }
}
