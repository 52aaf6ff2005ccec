//! The watchdog: Go's sysmon, for polls that block their worker.
//!
//! A task that blocks inside `poll` (a `std::thread::sleep`, a blocking syscall, a long
//! computation without a yield) stalls every task queued behind it on that worker.
//! Go's sysmon notices a goroutine running for more than 10 ms and preempts it; gorun
//! cannot preempt, so it reports: once per task, with the task's spawn location, while
//! the poll is still running.
//!
//! # Protocol (a seqlock per worker)
//! - Each worker owns one [`Watch`] (`task/poll_watch.rs`: the writer's side, which
//!   the task cell calls, and the seqlock's rules). Around each task poll it bumps
//!   `gen`: odd while a poll runs, even between polls. Before making `gen` odd it
//!   stores the task's spawn `location` and whether the task was `already` reported.
//!   That is the whole hot-path cost: four stores (relaxed or release: plain moves
//!   on x86) and two loads, on a line only the worker writes, two thread-local
//!   accesses, and no clock read. The worker keeps its generation count in a
//!   thread-local rather than loading `gen` back (single writer).
//! - The monitor thread samples every `gen` each `threshold / 4`. A worker whose odd
//!   `gen` is unchanged since it was first seen has been in the same poll at least that
//!   long. (On a machine with more runnable threads than cores the monitor's wake-ups
//!   cut the kernel's time slices short, which lowers tail latency and costs
//!   throughput; sampling more often trades more of one for the other: benches/LOG.md
//!   has hyper's hello under `wrk` at three sampling periods.)
//! - Between two looks the monitor charges the poll the wall time that passed, less
//!   what the kernel gave other threads: if the worker thread's CPU clock moved by
//!   under half of it and the thread is runnable, only the CPU time counts
//!   (`thread_cpu.rs`; a blocking call inside the poll still counts in full). Past the
//!   threshold the monitor reports it (unless `already`) and stores the generation in
//!   `reported`. (Without that rule, polls that the kernel merely preempted were
//!   reported under `wrk -c1000` on two cores; benches/LOG.md.)
//! - The poller, back from the poll, sees `reported == gen` and marks the task
//!   (`WATCHDOG_REPORTED` in its header), which it alone may touch. The monitor never
//!   dereferences a task.
//! - A sample never pairs one poll's generation with another's location (the seqlock
//!   in `task/poll_watch.rs`, with its loom model).
//! - When every worker is parked the monitor sleeps on its condvar until a worker
//!   leaves its park (`kick`): an idle runtime costs no CPU. The `sleeping` flag and the
//!   idle state are both `SeqCst`, so "monitor: set sleeping; check all parked" and
//!   "worker: unpark (state change); check sleeping" cannot both miss each other.

use std::fmt;
use std::panic::Location;
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};

use crossbeam_utils::CachePadded;

use super::thread_cpu::{self, ThreadCpu};
use super::Shared;
use crate::loom::{AtomicBool, Ordering};
use crate::task::poll_watch::{self, Installed, Watch};

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

/// One worker's slot: its poll announcements and its thread.
struct Slot {
    watch: Watch,
    /// The worker's thread, for its CPU time and state (set once, by the worker).
    thread: OnceLock<ThreadCpu>,
}

pub(crate) struct Watchdog {
    slots: Box<[CachePadded<Slot>]>,
    /// `None`: disabled (no monitor thread, no announcements).
    threshold: Option<Duration>,
    hook: Option<Hook>,
    /// Polls reported (a metric).
    pub(crate) count: AtomicUsize,
    sleeping: AtomicBool,
    lock: Mutex<()>,
    cvar: Condvar,
}

/// Installs worker `index`'s slot on this thread until the guard drops.
pub(crate) fn enter(shared: &Shared, index: usize) -> Installed {
    if shared.watchdog.threshold.is_none() {
        return poll_watch::install(None);
    }
    let slot = &shared.watchdog.slots[index];
    if let Some(t) = ThreadCpu::current() {
        let _ = slot.thread.set(t);
    }
    poll_watch::install(Some(&slot.watch))
}

impl Watchdog {
    pub(crate) fn new(procs: usize, threshold: Option<Duration>, hook: Option<Hook>) -> Self {
        Watchdog {
            slots: (0..procs)
                .map(|_| {
                    CachePadded::new(Slot {
                        watch: Watch::new(),
                        thread: OnceLock::new(),
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

    /// Worker `index`'s poll generation: odd while it polls a task, and the same
    /// odd value for as long as that one poll runs (0 when the watchdog is off).
    pub(crate) fn generation(&self, index: usize) -> u64 {
        self.slots
            .get(index)
            .map_or(0, |s| s.watch.generation(Ordering::Relaxed))
    }

    /// Wakes the monitor if it sleeps: a worker left its park, or shutdown began.
    pub(crate) fn kick(&self) {
        if self.sleeping.load(Ordering::SeqCst) {
            let _g = self.lock.lock().unwrap_or_else(|e| e.into_inner());
            self.sleeping.store(false, Ordering::SeqCst);
            self.cvar.notify_all();
        }
    }

    fn any_polling(&self) -> bool {
        self.slots
            .iter()
            .any(|s| s.watch.generation(Ordering::Acquire) % 2 == 1)
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
    let mut seen: Vec<Seen> = (0..dog.slots.len()).map(|_| Seen::idle()).collect();
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
            let slot = &dog.slots[worker];
            let Some((gen, location, already)) = slot.watch.sample() else {
                continue;
            };
            if s.gen == gen && shared.runnext.get(worker).is_some_and(|r| r.is_occupied()) {
                // A task waits in the `runnext` of a worker that has been in one poll
                // since the last look: wake a searcher, who takes it (`runnext.rs`).
                shared.notify_parked();
            }
            if s.gen == gen && s.done {
                continue; // reported already: no need to read its clock again
            }
            let thread = slot.thread.get().copied();
            let cpu = thread.and_then(ThreadCpu::cpu_time);
            if s.gen != gen {
                *s = Seen {
                    gen,
                    first: now,
                    done: already,
                    last: now,
                    last_cpu: cpu,
                    held: Duration::ZERO,
                };
                continue;
            }
            let wall = now.duration_since(s.last);
            s.held += match (s.last_cpu, cpu, thread) {
                (Some(c0), Some(c1), Some(t)) => {
                    thread_cpu::held(wall, c1.saturating_sub(c0), || t.is_runnable())
                }
                _ => wall, // nothing known of the thread: wall time
            };
            s.last = now;
            s.last_cpu = cpu;
            if !s.done && s.held >= threshold {
                s.done = true;
                slot.watch.mark_reported(gen);
                dog.report(&BlockingPoll {
                    location,
                    worker,
                    elapsed: now.duration_since(s.first),
                });
            }
        }
    }
}

/// What the monitor knows of the poll it last saw on one worker.
struct Seen {
    /// Its (odd) generation.
    gen: u64,
    /// When it was first seen.
    first: Instant,
    /// Reported already (now, or in an earlier poll of the same task).
    done: bool,
    /// The last look at it, and the worker thread's CPU time then.
    last: Instant,
    last_cpu: Option<Duration>,
    /// How long, since it was first seen, it has held its worker: wall time minus
    /// what the kernel spent running other threads instead (`thread_cpu::held`).
    held: Duration,
}

impl Seen {
    fn idle() -> Seen {
        let now = Instant::now();
        Seen {
            gen: 0,
            first: now,
            done: true,
            last: now,
            last_cpu: None,
            held: Duration::ZERO,
        }
    }
}
