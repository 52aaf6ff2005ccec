//! `Runtime`, its `Builder`, and `Handle`.

use std::fmt;
use std::future::Future;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use crate::context;
use crate::scheduler::watchdog::Hook;
use crate::scheduler::{self, Shared};
use crate::task::join::JoinHandle;

/// Configuration of a runtime, fixed at build time.
#[derive(Clone, Debug)]
pub(crate) struct Config {
    pub(crate) procs: usize,
    pub(crate) thread_name: String,
    pub(crate) stack_size: Option<usize>,
    pub(crate) max_blocking_threads: usize,
    pub(crate) keep_alive: Duration,
    pub(crate) abort_on_panic: bool,
    pub(crate) start_paused: bool,
    pub(crate) watchdog: Option<Duration>,
    pub(crate) on_blocking_poll: Option<Hook>,
}

/// Builds a [`Runtime`]: the number of Ps (worker threads), thread names, the
/// blocking pool, and what a panicking task does.
///
/// ```
/// let rt = gorun_executor::Runtime::builder().procs(2).build()?;
/// assert_eq!(rt.procs(), 2);
/// # Ok::<(), gorun_executor::BuildError>(())
/// ```
#[derive(Clone, Debug)]
pub struct Builder {
    procs: Option<usize>,
    thread_name: String,
    stack_size: Option<usize>,
    max_blocking_threads: usize,
    keep_alive: Duration,
    abort_on_panic: bool,
    start_paused: bool,
    watchdog: Option<Duration>,
    on_blocking_poll: Option<Hook>,
}

/// Why a runtime could not be built.
#[derive(Debug)]
#[non_exhaustive]
pub enum BuildError {
    /// `procs(0)`: a runtime needs at least one worker.
    ZeroProcs,
    /// The `GOMAXPROCS` environment variable is set but is not a positive integer.
    InvalidGomaxprocs(String),
    /// `max_blocking_threads(0)`: `spawn_blocking` could never run anything.
    ZeroBlockingThreads,
    /// The operating system refused to start a worker thread.
    Spawn(std::io::Error),
    /// The I/O reactor (an epoll/kqueue instance and its waker) could not be created.
    Reactor(std::io::Error),
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BuildError::ZeroProcs => f.write_str("procs must be at least 1 (got 0)"),
            BuildError::InvalidGomaxprocs(v) => {
                write!(f, "GOMAXPROCS={v:?} is not a positive integer")
            }
            BuildError::ZeroBlockingThreads => {
                f.write_str("max_blocking_threads must be at least 1 (got 0)")
            }
            BuildError::Spawn(e) => write!(f, "failed to start a worker thread: {e}"),
            BuildError::Reactor(e) => write!(f, "failed to create the I/O reactor: {e}"),
        }
    }
}

impl std::error::Error for BuildError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            BuildError::Spawn(e) | BuildError::Reactor(e) => Some(e),
            _ => None,
        }
    }
}

impl Default for Builder {
    fn default() -> Self {
        Builder::new()
    }
}

impl Builder {
    /// A builder with the defaults: one P per available core (or `GOMAXPROCS`),
    /// up to 512 blocking threads kept alive 10 s when idle, panics caught.
    pub fn new() -> Builder {
        Builder {
            procs: None,
            thread_name: "gorun-worker".into(),
            stack_size: None,
            max_blocking_threads: 512,
            keep_alive: Duration::from_secs(10),
            abort_on_panic: false,
            start_paused: false,
            watchdog: Some(crate::scheduler::watchdog::DEFAULT_THRESHOLD),
            on_blocking_poll: None,
        }
    }

    /// The number of Ps: worker threads running tasks in parallel (Go's
    /// `GOMAXPROCS`). Overrides the environment variable. 0 is an error at `build`.
    pub fn procs(mut self, n: usize) -> Self {
        self.procs = Some(n);
        self
    }

    /// The name prefix of the runtime's threads.
    pub fn thread_name(mut self, name: impl Into<String>) -> Self {
        self.thread_name = name.into();
        self
    }

    /// The stack size of worker threads, in bytes.
    pub fn thread_stack_size(mut self, bytes: usize) -> Self {
        self.stack_size = Some(bytes);
        self
    }

    /// The most threads `spawn_blocking` may use at once; more closures wait.
    pub fn max_blocking_threads(mut self, n: usize) -> Self {
        self.max_blocking_threads = n;
        self
    }

    /// How long an idle blocking thread lives before it exits.
    pub fn blocking_keep_alive(mut self, d: Duration) -> Self {
        self.keep_alive = d;
        self
    }

    /// Abort the whole process when a task panics, as Go does, instead of catching
    /// the panic and handing it to the task's `JoinHandle` (the default).
    pub fn abort_on_panic(mut self, yes: bool) -> Self {
        self.abort_on_panic = yes;
        self
    }

    /// Start with the clock paused (for tests): time only moves by
    /// `time::advance`, or jumps to the next timer when every task is idle (ready
    /// I/O is collected first, so a request on a socket is answered before its
    /// timeout's deadline is reached).
    ///
    /// Without [`procs`](Builder::procs) this runs one worker (`GOMAXPROCS` is not
    /// consulted), as tokio allows paused time only on its current-thread runtime:
    /// with several workers, a task another worker is about to run can look idle
    /// for an instant, and the clock would jump under it.
    pub fn start_paused(mut self, yes: bool) -> Self {
        self.start_paused = yes;
        self
    }

    /// The watchdog (Go's sysmon): a task whose single poll keeps its worker busy
    /// longer than `threshold` is reported once, with its spawn location, while the
    /// poll still runs. Default `Some(10 ms)`; `None` (or zero) turns it off, and
    /// with it the monitor thread. Reports go to stderr unless
    /// [`on_blocking_poll`](Builder::on_blocking_poll) is set, and are counted in
    /// [`RuntimeMetrics::blocking_polls`].
    ///
    /// The cost per poll is four plain stores and two loads, on a cache line only
    /// the worker writes, and no clock read; the monitor thread samples every
    /// `threshold / 4` and sleeps while every worker does. Measured on the reference
    /// machine: no difference above noise (±1 %) on a poll-bound benchmark.
    ///
    /// The threshold counts the time the poll holds its worker: running on the CPU
    /// or asleep in a blocking call. On Linux, time the worker spent runnable but
    /// off the CPU (the kernel running other threads, as on a machine with more
    /// runnable threads than cores) is not counted, so a short poll that happens to
    /// be preempted is not reported; the monitor reads the worker's CPU clock, and
    /// its state in `/proc` when that clock stood still. Elsewhere the threshold is
    /// wall time, as in Go's sysmon.
    pub fn watchdog(mut self, threshold: Option<Duration>) -> Self {
        self.watchdog = threshold;
        self
    }

    /// Calls `f` instead of printing to stderr when the watchdog reports a blocking
    /// poll. `f` runs on the monitor thread; a panic in it is caught.
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    /// use std::time::Duration;
    ///
    /// let seen = Arc::new(Mutex::new(Vec::new()));
    /// let s = seen.clone();
    /// let rt = gorun_executor::Runtime::builder()
    ///     .procs(1)
    ///     .watchdog(Some(Duration::from_millis(10)))
    ///     .on_blocking_poll(move |r| s.lock().unwrap().push(r.location.line()))
    ///     .build()
    ///     .unwrap();
    /// let line = line!() + 1;
    /// let h = rt.spawn(async { std::thread::sleep(Duration::from_millis(60)) });
    /// rt.block_on(h).unwrap();
    /// # std::thread::sleep(Duration::from_millis(20));
    /// assert_eq!(*seen.lock().unwrap(), [line]);
    /// assert_eq!(rt.handle().metrics().blocking_polls, 1);
    /// ```
    pub fn on_blocking_poll(
        mut self,
        f: impl Fn(&crate::BlockingPoll) + Send + Sync + 'static,
    ) -> Self {
        self.on_blocking_poll = Some(Hook(Arc::new(f)));
        self
    }

    fn resolve_procs(&self) -> Result<usize, BuildError> {
        if let Some(n) = self.procs {
            return if n == 0 {
                Err(BuildError::ZeroProcs)
            } else {
                Ok(n)
            };
        }
        if self.start_paused {
            return Ok(1);
        }
        match std::env::var("GOMAXPROCS") {
            Ok(v) => match v.trim().parse::<usize>() {
                Ok(n) if n > 0 => Ok(n),
                _ => Err(BuildError::InvalidGomaxprocs(v)),
            },
            Err(_) => Ok(default_procs()),
        }
    }

    /// Starts the worker threads.
    pub fn build(&self) -> Result<Runtime, BuildError> {
        let procs = self.resolve_procs()?;
        if self.max_blocking_threads == 0 {
            return Err(BuildError::ZeroBlockingThreads);
        }
        let config = Config {
            procs,
            thread_name: self.thread_name.clone(),
            stack_size: self.stack_size,
            max_blocking_threads: self.max_blocking_threads,
            keep_alive: self.keep_alive,
            abort_on_panic: self.abort_on_panic,
            start_paused: self.start_paused,
            watchdog: self.watchdog,
            on_blocking_poll: self.on_blocking_poll.clone(),
        };
        let (shared, locals) = Shared::new(config).map_err(BuildError::Reactor)?;
        // `after_func` runs its function as a task of this runtime. A weak reference:
        // the driver lives inside the runtime it would otherwise keep alive.
        let weak = Arc::downgrade(&shared);
        shared.driver.timer.set_spawner(Arc::new(move |fut| {
            if let Some(shared) = weak.upgrade() {
                drop(shared.spawn(fut, std::panic::Location::caller()));
            }
        }));
        // A waker that panics when a timer or a socket event wakes it is reported
        // like a task's panic; the driver goes on.
        let weak = Arc::downgrade(&shared);
        let report: gorun_timer::PanicHandler = Arc::new(move |payload| {
            if let Some(shared) = weak.upgrade() {
                shared.report_waker_panic(payload);
            }
        });
        shared.driver.timer.set_panic_handler(report.clone());
        shared.driver.io.set_panic_handler(report);
        scheduler::start(&shared, locals).map_err(BuildError::Spawn)?;
        Ok(Runtime {
            handle: Handle { shared },
        })
    }
}

fn default_procs() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

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
    pub fn block_on<F: Future>(&self, fut: F) -> F::Output {
        let shared = &self.handle.shared;
        let _enter = context::enter_runtime(shared);
        crate::block_on::run(fut, &shared.block_on_busy, || {
            if shared.driver.timer.is_paused() {
                // This future now waits: the paused clock may auto-advance.
                shared.driver.unpark();
            }
        })
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

impl Drop for Runtime {
    fn drop(&mut self) {
        let shared = &self.handle.shared;
        shared.begin_shutdown();
        if context::is_own_thread(shared) {
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
                let _ = t.join();
            }
        }
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
    _guard: context::SetCurrentGuard,
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
        context::with_current(|c| c.cloned())
            .map(|shared| Handle { shared })
            .ok_or(TryCurrentError(()))
    }

    /// Makes this runtime current on this thread until the guard drops, so `go` and
    /// `Handle::current` find it from a plain thread.
    pub fn enter(&self) -> EnterGuard {
        EnterGuard {
            _guard: context::set_current(&self.shared),
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
    context::with_current(|c| match c {
        Some(s) => f(s),
        None => f(&global().shared),
    })
}
