//! `Runtime`, its `Builder`, and `Handle`.

mod builder;

use std::fmt;
use std::future::Future;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use crate::current_runtime;
use crate::scheduler::Shared;
use crate::task::join::JoinHandle;

pub use builder::{BuildError, Builder};

/// A gorun runtime: worker threads running tasks, a blocking pool and a timer driver.
///
/// Dropping it stops the workers, drops every unfinished task's future exactly once,
/// waits for running blocking closures, and joins every thread.
///
/// ```
/// let rt = gorun_executor::Runtime::builder().procs(2).build().unwrap();
/// let (a, b) = rt.block_on(async {
///     let a = gorun_executor::go(async { 1 });
///     let b = gorun_executor::go(async { 2 });
///     (a.await.unwrap(), b.await.unwrap())
/// });
/// assert_eq!(a + b, 3);
/// ```
pub struct Runtime {
    handle: Handle,
}

impl fmt::Debug for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runtime")
            .field("procs", &self.procs())
            .finish_non_exhaustive()
    }
}

impl Runtime {
    /// A [`Builder`].
    pub fn builder() -> Builder {
        Builder::new()
    }

    /// A runtime with the default configuration.
    pub fn new() -> Result<Runtime, BuildError> {
        Builder::new().build()
    }

    /// A handle to spawn onto this runtime from anywhere.
    pub fn handle(&self) -> &Handle {
        &self.handle
    }

    /// Runs `fut` on the calling thread until it completes; tasks it spawns run on
    /// the workers. The future need not be `Send`.
    ///
    /// For a future that is `Send`, [`run`](Runtime::run) runs it as a task on the
    /// scheduler instead, which makes its channel operations with other tasks cheaper.
    ///
    /// # Panics
    /// If called from a thread that already drives a runtime (a worker thread, or
    /// inside another `block_on`): that would block the workers' tasks. Await the
    /// future instead.
    ///
    /// On a [current-thread](Builder::new_current_thread) runtime this thread runs
    /// the tasks, timers and sockets while it waits. If another thread's `block_on`
    /// drives the runtime already, this one waits for its own future only.
    pub fn block_on<F: Future>(&self, fut: F) -> F::Output {
        self.handle.block_on(fut)
    }

    /// Runs `fut` as a task on the scheduler and blocks the calling thread until it
    /// returns (what `#[gorun::main]` does). A panic in it is resumed here.
    ///
    /// # Panics
    /// As [`block_on`](Runtime::block_on), and if the task panicked.
    pub fn run<F>(&self, fut: F) -> F::Output
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let handle = self.spawn(fut);
        match self.block_on(handle) {
            Ok(v) => v,
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(e) => panic!("gorun: the main task did not finish: {e}"),
        }
    }

    /// Spawns a task onto this runtime. See [`go`](crate::go).
    #[track_caller]
    pub fn spawn<F>(&self, fut: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.handle.spawn(fut)
    }

    /// Runs a blocking closure on the blocking pool. See
    /// [`spawn_blocking`](crate::spawn_blocking).
    #[track_caller]
    pub fn spawn_blocking<F, R>(&self, f: F) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        self.handle.spawn_blocking(f)
    }

    /// The number of live tasks (Go's `runtime.NumGoroutine`).
    pub fn num_tasks(&self) -> usize {
        self.handle.num_tasks()
    }

    /// The number of Ps (worker threads).
    pub fn procs(&self) -> usize {
        self.handle.procs()
    }
}

impl Runtime {
    /// Shuts the runtime down, waiting at most `timeout` for its threads: tasks
    /// are cancelled (each future dropped once) as in a drop, but a blocking
    /// closure, or a task's poll, still running at the deadline is left to finish
    /// on its detached thread (tokio's `shutdown_timeout`). A drop waits for them.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    ///
    /// let rt = gorun_executor::Runtime::builder().procs(1).build().unwrap();
    /// rt.spawn_blocking(|| std::thread::sleep(Duration::from_secs(5)));
    /// let start = Instant::now();
    /// rt.shutdown_timeout(Duration::from_millis(50));
    /// assert!(start.elapsed() < Duration::from_secs(5));
    /// ```
    pub fn shutdown_timeout(self, timeout: Duration) {
        self.shutdown_until(Some(Instant::now() + timeout));
    }

    /// Shuts the runtime down without waiting for its threads:
    /// [`shutdown_timeout`](Runtime::shutdown_timeout) with a zero timeout.
    pub fn shutdown_background(self) {
        self.shutdown_timeout(Duration::ZERO);
    }

    /// The shutdown of a drop (`None`: wait for every thread) or of
    /// `shutdown_timeout`.
    fn shutdown_until(&self, deadline: Option<Instant>) {
        let shared = &self.handle.shared;
        if deadline.is_some() {
            shared.blocking.set_shutdown_deadline(deadline);
        }
        if shared.config.current_thread {
            shared.shutdown_current_thread();
            return;
        }
        shared.begin_shutdown();
        if current_runtime::is_own_thread(shared) {
            // Dropped by one of its own tasks or blocking closures: joining would wait
            // on ourselves. The workers exit on their own, and the last one out
            // finishes the shutdown.
            return;
        }
        let threads =
            std::mem::take(&mut *shared.threads.lock().unwrap_or_else(|e| e.into_inner()));
        let me = std::thread::current().id();
        for t in threads {
            if t.thread().id() != me {
                crate::blocking_pool::join_until(t, deadline);
            }
        }
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        // After `shutdown_timeout` this finds the work done and returns at once.
        self.shutdown_until(None);
    }
}

/// A cloneable reference to a runtime, to spawn onto it from any thread.
#[derive(Clone)]
pub struct Handle {
    pub(crate) shared: Arc<Shared>,
}

impl fmt::Debug for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Handle")
            .field("procs", &self.procs())
            .finish_non_exhaustive()
    }
}

/// There is no gorun runtime on this thread.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TryCurrentError(());

impl fmt::Display for TryCurrentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "no gorun runtime on this thread: call this from a task, inside \
             Runtime::block_on, or after Handle::enter",
        )
    }
}

impl std::error::Error for TryCurrentError {}

/// Restores the previous current runtime when dropped; see [`Handle::enter`].
#[must_use = "the runtime stays current only while the guard lives"]
pub struct EnterGuard {
    _guard: current_runtime::SetCurrentGuard,
}

impl fmt::Debug for EnterGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EnterGuard")
    }
}

impl Handle {
    /// The runtime this thread runs in.
    ///
    /// # Panics
    /// If there is none; see [`try_current`](Handle::try_current).
    #[track_caller]
    pub fn current() -> Handle {
        match Handle::try_current() {
            Ok(h) => h,
            Err(e) => panic!("{e}"),
        }
    }

    /// The runtime this thread runs in, if any.
    pub fn try_current() -> Result<Handle, TryCurrentError> {
        current_runtime::with_current(|c| c.cloned())
            .map(|shared| Handle { shared })
            .ok_or(TryCurrentError(()))
    }

    /// Makes this runtime current on this thread until the guard drops, so `go` and
    /// `Handle::current` find it from a plain thread.
    pub fn enter(&self) -> EnterGuard {
        EnterGuard {
            _guard: current_runtime::set_current(&self.shared),
        }
    }

    /// Spawns a task onto this runtime.
    #[track_caller]
    pub fn spawn<F>(&self, fut: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.shared.spawn(fut, std::panic::Location::caller())
    }

    /// Runs `fut` on the calling thread until it completes, as
    /// [`Runtime::block_on`] does.
    ///
    /// # Panics
    /// If called from a thread that already drives a runtime.
    pub fn block_on<F: Future>(&self, fut: F) -> F::Output {
        let shared = &self.shared;
        let _enter = current_runtime::enter_runtime(shared);
        let fut = if shared.config.current_thread {
            match crate::scheduler::drive(shared, fut) {
                Ok(v) => return v,
                Err(fut) => fut,
            }
        } else {
            fut
        };
        crate::block_on::run(fut, &shared.block_on_busy, || {
            if shared.driver.timer.is_paused() {
                // This future now waits: the paused clock may auto-advance.
                shared.driver.unpark();
            }
        })
    }

    /// Runs a blocking closure on this runtime's blocking pool.
    #[track_caller]
    pub fn spawn_blocking<F, R>(&self, f: F) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        self.shared
            .blocking
            .spawn(&self.shared, f, std::panic::Location::caller())
    }

    /// Every live task: where it was spawned, what it is doing, what it waits on
    /// and how old it is, like Go's goroutine dump
    /// (`/debug/pprof/goroutine?debug=2`, `goroutine 7 [chan receive, 5 minutes]:`).
    ///
    /// Collecting takes each owned-list shard lock in turn (the tasks are not
    /// stopped): the states are a snapshot per task, not of the runtime as a whole.
    ///
    /// ```
    /// use gorun_executor::{TaskState, WaitReason};
    ///
    /// let rt = gorun_executor::Runtime::builder().procs(1).build().unwrap();
    /// let h = rt.spawn(std::future::pending::<()>());
    /// # while rt.handle().dump().tasks[0].state != TaskState::Waiting {
    /// #     std::thread::yield_now();
    /// # }
    /// let dump = rt.handle().dump();
    /// assert_eq!(dump.tasks.len(), 1);
    /// assert!(dump.tasks[0].location.file().ends_with(".rs"));
    /// // `pending` is no gorun resource: it waits on something gorun cannot name.
    /// assert_eq!(dump.tasks[0].wait, Some(WaitReason::Other));
    /// println!("{dump}"); // task 0x... [waiting, 0 ms]: spawned at src/main.rs:4:10
    /// # h.abort();
    /// ```
    pub fn dump(&self) -> crate::dump::TaskDump {
        crate::dump::collect(&self.shared)
    }

    /// The number of live tasks, blocking closures included.
    pub fn num_tasks(&self) -> usize {
        self.shared.num_tasks()
    }

    /// The number of Ps (worker threads).
    pub fn procs(&self) -> usize {
        self.shared.procs()
    }

    /// A snapshot of the runtime's counters.
    pub fn metrics(&self) -> RuntimeMetrics {
        let s = &self.shared;
        let (spawned, live) = s.owned.counts();
        RuntimeMetrics {
            num_tasks: live,
            spawned,
            completed: spawned - live,
            steals: s.metrics.steals.load(std::sync::atomic::Ordering::Relaxed),
            parks: s.idle.parks(),
            global_queue_depth: s.injector.len(),
            local_queue_depths: s.stealers.iter().map(|st| st.len()).collect(),
            blocking_threads: s.blocking.num_threads(),
            blocking_polls: s.watchdog.count.load(std::sync::atomic::Ordering::Relaxed),
            waker_panics: s
                .metrics
                .waker_panics
                .load(std::sync::atomic::Ordering::Relaxed),
        }
    }
}

/// Counters of a runtime, from [`Handle::metrics`].
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
    /// [`Builder::watchdog`]).
    pub blocking_polls: usize,
    /// Wakers that panicked when the runtime woke them (a timer fired, a socket
    /// event, a task completed): each was reported like a task's panic, and the
    /// runtime went on.
    pub waker_panics: usize,
}

static GLOBAL: OnceLock<Runtime> = OnceLock::new();

/// The runtime `go` uses when called outside any runtime (Go always has one): started
/// on first use with the default configuration, never shut down.
pub(crate) fn global() -> &'static Handle {
    &GLOBAL
        .get_or_init(|| {
            Builder::new()
                .thread_name("gorun-global")
                .build()
                .unwrap_or_else(|e| panic!("gorun: cannot start the global runtime: {e}"))
        })
        .handle
}

/// Runs `f` with the current runtime, or the global one.
pub(crate) fn with_current_or_global<R>(f: impl FnOnce(&Arc<Shared>) -> R) -> R {
    current_runtime::with_current(|c| match c {
        Some(s) => f(s),
        None => f(&global().shared),
    })
}
