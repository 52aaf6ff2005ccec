//! The work-stealing scheduler: Go's G/M/P model on async tasks.
//!
//! Each worker thread (an M bound to its P) owns a FIFO run queue (crossbeam-deque)
//! and a `runnext` slot for the task its running task just woke or spawned, as Go's
//! `runqput(pp, gp, next=true)` does. Wakes and spawns from outside the workers go
//! through the global injector. An idle worker steals half of a random victim's
//! queue. See `worker.rs` for the loop and `idle.rs` for who searches and who sleeps.
//!
//! # Invariants
//! - A `Notified` is in at most one place: a local queue, a `runnext` slot, the
//!   injector, or the hands of the worker about to run it.
//! - Every live task is in `owned` until it completes; at shutdown `owned` is closed
//!   first, so a task spawned later is cancelled at once.
//! - Only the thread that owns a worker's context touches its queue's `Worker` end
//!   and fills its `runnext`; others use the `Stealer`, and may empty `runnext`
//!   (`runnext.rs`).

mod block_in_place;
pub(crate) mod config;
mod current;
mod idle;
pub(crate) mod metrics;
mod runnext;
mod thread_cpu;
pub(crate) mod watchdog;
mod worker;

use std::any::Any;
use std::future::Future;
use std::panic::Location;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;

use crossbeam_deque::{Injector, Steal, Stealer};
use crossbeam_utils::CachePadded;

use crate::blocking_pool::BlockingPool;
use crate::driver::Driver;
use crate::task::join::JoinHandle;
use crate::task::list::OwnedTasks;
use crate::task::{new_task, Header, Notified, Schedule};

use crate::park::Parker;
pub use block_in_place::block_in_place;
use config::Config;
pub(crate) use current::drive;
pub(crate) use idle::Idle;
use metrics::Metrics;
pub(crate) use worker::{current_index as current_worker, with_current_worker_driver};

/// State shared by the workers of one runtime and every handle to it.
pub(crate) struct Shared {
    injector: Injector<Notified>,
    stealers: Box<[Stealer<Notified>]>,
    /// Each worker's `runnext` slot (`runnext.rs`).
    runnext: Box<[runnext::RunNext]>,
    parkers: Arc<[Parker]>,
    /// On lines of its own: every push reads its state after a fence, and searchers
    /// change it; a hot field beside it on one line slows every push.
    idle: CachePadded<Idle>,
    owned: OwnedTasks,
    driver: Driver,
    blocking: BlockingPool,
    config: Config,
    shutdown: AtomicBool,
    /// Worker threads not yet exited; the last one out finishes the shutdown.
    workers_alive: AtomicUsize,
    threads: Mutex<Vec<thread::JoinHandle<()>>>,
    metrics: Metrics,
    watchdog: watchdog::Watchdog,
    /// `block_on` futures running or woken (see `block_on.rs`).
    block_on_busy: Arc<crate::loom::AtomicUsize>,
    /// A current-thread runtime's one local queue while no `block_on` drives it
    /// (`current.rs`, invariant 1); `None` on a multi-thread runtime.
    core: Mutex<Option<crossbeam_deque::Worker<Notified>>>,
}

impl Schedule for Arc<Shared> {
    fn schedule(&self, task: Notified) {
        worker::schedule(self, task, false);
    }

    fn yield_now(&self, task: Notified) {
        worker::schedule(self, task, true);
    }

    unsafe fn release(&self, ptr: NonNull<Header>) -> bool {
        // SAFETY: `ptr` is a live task of this runtime (caller's contract).
        unsafe { self.owned.remove(ptr) }
    }

    fn on_waker_panic(&self, payload: Box<dyn Any + Send>) {
        self.report_waker_panic(payload);
    }

    fn on_panic(&self, payload: &(dyn Any + Send)) {
        self.task_panicked(payload);
    }
}

impl Shared {
    pub(crate) fn new(
        config: Config,
    ) -> std::io::Result<(Arc<Shared>, Vec<crossbeam_deque::Worker<Notified>>)> {
        let procs = config.procs;
        let locals: Vec<_> = (0..procs)
            .map(|_| crossbeam_deque::Worker::new_fifo())
            .collect();
        let parkers: Arc<[Parker]> = (0..procs).map(|_| Parker::new()).collect();
        let shared = Arc::new(Shared {
            injector: Injector::new(),
            stealers: locals.iter().map(|w| w.stealer()).collect(),
            runnext: locals.iter().map(|_| runnext::RunNext::new()).collect(),
            driver: Driver::new(parkers.clone(), config.start_paused)?,
            parkers,
            idle: CachePadded::new(Idle::new(procs)),
            owned: OwnedTasks::new(procs),
            blocking: BlockingPool::new(config.max_blocking_threads, config.keep_alive),
            shutdown: AtomicBool::new(false),
            workers_alive: AtomicUsize::new(if config.current_thread { 0 } else { procs }),
            threads: Mutex::new(Vec::with_capacity(procs)),
            metrics: Metrics::new(procs),
            watchdog: watchdog::Watchdog::new(
                procs,
                config.watchdog,
                config.on_blocking_poll.clone(),
            ),
            block_on_busy: Arc::new(crate::loom::AtomicUsize::new(0)),
            core: Mutex::new(None),
            config,
        });
        Ok((shared, locals))
    }

    pub(crate) fn spawn<F>(
        self: &Arc<Self>,
        future: F,
        location: &'static Location<'static>,
    ) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let (task, notified, raw) = new_task(future, self.clone(), location);
        match self.owned.bind(task) {
            Ok(()) => worker::schedule(self, notified, false),
            Err(task) => {
                // The runtime is shutting down: the task never runs.
                drop(notified);
                task.shutdown();
            }
        }
        // SAFETY: `raw` carries the JoinHandle's reference; the output type is F::Output.
        unsafe { JoinHandle::from_raw(raw) }
    }

    /// A waker that the timer driver, the reactor or a task's completion woke
    /// panicked: counted, and handled like a task's panic (the panic hook has
    /// printed it; with `abort_on_panic` the process aborts). The runtime goes on.
    pub(crate) fn report_waker_panic(&self, payload: Box<dyn Any + Send>) {
        self.metrics.waker_panics.fetch_add(1, Ordering::Relaxed);
        self.task_panicked(&*payload);
    }

    /// A task panicked: with `abort_on_panic`, the process aborts (Go's behaviour);
    /// otherwise the payload goes to its `JoinHandle` (the caller's business).
    pub(crate) fn task_panicked(&self, payload: &(dyn Any + Send)) {
        if self.config.abort_on_panic {
            let msg = payload
                .downcast_ref::<&str>()
                .copied()
                .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
                .unwrap_or("<non-string payload>");
            eprintln!("gorun: a task panicked ({msg}) and the runtime aborts on panic, as Go does");
            std::process::abort();
        }
    }

    /// Queues a task from outside this runtime's workers.
    pub(crate) fn schedule_remote(&self, task: Notified) {
        self.injector.push(task);
        self.notify_parked();
    }

    /// Wakes a sleeping worker if nobody is searching.
    pub(crate) fn notify_parked(&self) {
        if let Some(worker) = self.idle.worker_to_notify() {
            crate::trace::instant(crate::trace::What::Unpark {
                worker: worker as u32,
            });
            self.parkers[worker].unpark();
            // It may sleep in the reactor rather than on its condvar.
            self.driver.unpark_worker(worker);
        }
    }

    /// Run by the last searcher before it parks: wakes someone if work is queued.
    pub(crate) fn notify_if_work_pending(&self) {
        std::sync::atomic::fence(Ordering::SeqCst);
        if !self.injector.is_empty() || self.stealers.iter().any(|s| !s.is_empty()) {
            self.notify_parked();
        }
    }

    pub(crate) fn is_shutdown(&self) -> bool {
        self.shutdown.load(Ordering::Acquire)
    }

    /// Starts shutdown: workers leave their loops at their next check.
    pub(crate) fn begin_shutdown(&self) {
        if self.shutdown.swap(true, Ordering::AcqRel) {
            return;
        }
        for p in self.parkers.iter() {
            p.unpark();
        }
        self.driver.unpark();
        self.watchdog.kick();
    }

    /// Called by each worker thread as it exits; the last one finishes the job, so
    /// that shutdown completes even when nobody joins the threads.
    pub(crate) fn worker_exited(&self) {
        if self.workers_alive.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.finish_shutdown();
        }
    }

    /// Stores a current-thread runtime's local queue (its only one) at build.
    pub(crate) fn keep_core(&self, mut locals: Vec<crossbeam_deque::Worker<Notified>>) {
        debug_assert_eq!(locals.len(), 1);
        *self.lock_core() = locals.pop();
    }

    fn lock_core(&self) -> std::sync::MutexGuard<'_, Option<crossbeam_deque::Worker<Notified>>> {
        self.core.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Takes a current-thread runtime's local queue to drive it; `None` while
    /// another `block_on` drives it, after shutdown, or on a multi-thread runtime.
    pub(crate) fn take_core(&self) -> Option<crossbeam_deque::Worker<Notified>> {
        self.lock_core().take()
    }

    /// Gives the local queue back after a `block_on`; if the runtime was shut down
    /// meanwhile, finishes the shutdown instead (the dropping thread found the
    /// queue taken and left the job to its holder). The check happens under the
    /// lock `shutdown_current_thread` takes after setting the flag, so exactly one
    /// of the two finishes.
    pub(crate) fn put_core(&self, local: crossbeam_deque::Worker<Notified>) {
        let mut core = self.lock_core();
        if self.is_shutdown() {
            drop(core);
            self.finish_shutdown();
            drop(local);
        } else {
            *core = Some(local);
        }
    }

    /// Shuts a current-thread runtime down: finished here if no `block_on`
    /// drives it, else by that `block_on` as it returns (`put_core`).
    pub(crate) fn shutdown_current_thread(&self) {
        self.begin_shutdown();
        if let Some(local) = self.take_core() {
            self.finish_shutdown();
            drop(local);
        }
    }

    /// With every worker gone: cancel every live task (dropping each future exactly
    /// once), drop every queued `Notified`, stop the blocking pool and the driver.
    fn finish_shutdown(&self) {
        self.owned.close_and_shutdown_all();
        self.drain_queues();
        self.blocking.shutdown();
        // Blocking tasks that finished meanwhile may have woken tasks.
        self.owned.close_and_shutdown_all();
        self.drain_queues();
        self.driver.shutdown();
    }

    fn drain_queues(&self) {
        loop {
            match self.injector.steal() {
                Steal::Success(t) => drop(t),
                Steal::Retry => continue,
                Steal::Empty => break,
            }
        }
        for slot in self.runnext.iter() {
            drop(slot.take());
        }
        for s in self.stealers.iter() {
            loop {
                match s.steal() {
                    Steal::Success(t) => drop(t),
                    Steal::Retry => continue,
                    Steal::Empty => break,
                }
            }
        }
    }

    /// The I/O and timer driver.
    pub(crate) fn driver(&self) -> &Driver {
        &self.driver
    }

    /// The blocking pool.
    pub(crate) fn blocking(&self) -> &BlockingPool {
        &self.blocking
    }

    /// How the runtime was built.
    pub(crate) fn config(&self) -> &Config {
        &self.config
    }

    /// Every live task of this runtime.
    pub(crate) fn owned(&self) -> &OwnedTasks {
        &self.owned
    }

    /// Something of this runtime just stopped running (a worker about to sleep, a
    /// blocking closure that ended, a `block_on` future that now waits): with a
    /// paused clock and every worker asleep, the worker in the driver re-checks
    /// [`is_idle`](Shared::is_idle), so it can jump the clock to the next timer. The
    /// one place of the auto-advance rule's trigger; whoever stops last sees every
    /// worker parked (the idle state and the counters are `SeqCst`).
    pub(crate) fn may_be_idle(&self) {
        if self.driver.timer.is_paused() && self.idle.all_parked() {
            self.driver.unpark();
        }
    }

    /// Nothing runs: every worker sleeps, no blocking closure runs, and no `block_on`
    /// future is being polled or has a wake pending (the paused clock's auto-advance
    /// condition).
    pub(crate) fn is_idle(&self) -> bool {
        self.idle.all_parked()
            && self.blocking.num_running() == 0
            && self.block_on_busy.load(Ordering::SeqCst) == 0
    }

    pub(crate) fn num_tasks(&self) -> usize {
        self.owned.len()
    }

    pub(crate) fn procs(&self) -> usize {
        self.config.procs
    }

    /// The runtime's threads, taken to be joined at shutdown (empty the second time).
    pub(crate) fn take_threads(&self) -> Vec<thread::JoinHandle<()>> {
        std::mem::take(&mut *self.threads.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// The count of `block_on` futures running or woken (`block_on.rs`).
    pub(crate) fn block_on_busy(&self) -> &Arc<crate::loom::AtomicUsize> {
        &self.block_on_busy
    }
}

/// Starts the worker threads of a new runtime.
pub(crate) fn start(
    shared: &Arc<Shared>,
    locals: Vec<crossbeam_deque::Worker<Notified>>,
) -> std::io::Result<()> {
    let mut threads = shared.threads.lock().unwrap_or_else(|e| e.into_inner());
    for (index, local) in locals.into_iter().enumerate() {
        let s = shared.clone();
        let mut b = thread::Builder::new().name(format!("{}-{index}", shared.config.thread_name));
        if let Some(size) = shared.config.stack_size {
            b = b.stack_size(size);
        }
        match b.spawn(move || worker::run(s, index, local)) {
            Ok(h) => threads.push(h),
            Err(e) => {
                // Workers that never started must still count as exited.
                let missing = shared.config.procs - index;
                drop(threads);
                shared.begin_shutdown();
                for _ in 0..missing {
                    shared.worker_exited();
                }
                return Err(e);
            }
        }
    }
    if shared.watchdog.is_enabled() {
        let s = shared.clone();
        let b = thread::Builder::new().name(format!("{}-watchdog", shared.config.thread_name));
        match b.spawn(move || watchdog::monitor(s)) {
            Ok(h) => threads.push(h),
            Err(e) => {
                // The workers are running: they exit on their own.
                drop(threads);
                shared.begin_shutdown();
                return Err(e);
            }
        }
    }
    Ok(())
}
