//! The runtime's `Builder` and its `BuildError`; it produces the scheduler's `Config`.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use super::{Handle, Runtime};
use crate::scheduler::config::{Config, ThreadHook};
use crate::scheduler::watchdog::Hook;
use crate::scheduler::{self, Shared};

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
    current_thread: bool,
    on_thread_start: Option<ThreadHook>,
    on_thread_stop: Option<ThreadHook>,
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
    /// `procs(n)` with `n > 1` on a current-thread builder, which runs its tasks on
    /// the one thread that calls `block_on`.
    CurrentThreadProcs(usize),
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
            BuildError::CurrentThreadProcs(n) => write!(
                f,
                "a current-thread runtime has one P, the thread in block_on (procs({n}) given)"
            ),
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
            current_thread: false,
            on_thread_start: None,
            on_thread_stop: None,
        }
    }

    /// A builder for a multi-thread runtime: [`Builder::new`] (tokio's name).
    pub fn new_multi_thread() -> Builder {
        Builder::new()
    }

    /// A builder for a current-thread runtime (tokio's `current_thread` flavor):
    /// no worker threads; the thread that calls [`Runtime::block_on`] runs the
    /// spawned tasks, timers and sockets while it waits for its future, and
    /// nothing runs between `block_on` calls. One P, no watchdog (it would need a
    /// monitor thread); `spawn_blocking` still uses the blocking pool's threads.
    ///
    /// For a test, a tool or a single-core service, where one thread is all the
    /// work needs: a task and the `block_on` future hand off without waking any
    /// other thread.
    ///
    /// ```
    /// let rt = gorun_executor::Builder::new_current_thread().build()?;
    /// let here = std::thread::current().id();
    /// let ran_on = rt.block_on(async {
    ///     gorun_executor::go(async { std::thread::current().id() }).await.unwrap()
    /// });
    /// assert_eq!(ran_on, here);
    /// # Ok::<(), gorun_executor::BuildError>(())
    /// ```
    pub fn new_current_thread() -> Builder {
        let mut b = Builder::new();
        b.current_thread = true;
        b
    }

    /// Makes this a current-thread runtime: see
    /// [`new_current_thread`](Builder::new_current_thread).
    pub fn current_thread(mut self) -> Self {
        self.current_thread = true;
        self
    }

    /// tokio's name for [`procs`](Builder::procs).
    pub fn worker_threads(self, n: usize) -> Self {
        self.procs(n)
    }

    /// Does nothing: timers and I/O are always on (kept so tokio's
    /// `Builder::new_multi_thread().enable_all().build()` reads the same).
    pub fn enable_all(self) -> Self {
        self
    }

    /// Does nothing: I/O is always on (see [`enable_all`](Builder::enable_all)).
    pub fn enable_io(self) -> Self {
        self
    }

    /// Does nothing: timers are always on (see [`enable_all`](Builder::enable_all)).
    pub fn enable_time(self) -> Self {
        self
    }

    /// Runs `f` on each thread the runtime starts (workers and blocking-pool
    /// threads), before it runs anything else; as tokio's `on_thread_start`.
    pub fn on_thread_start(mut self, f: impl Fn() + Send + Sync + 'static) -> Self {
        self.on_thread_start = Some(ThreadHook(Arc::new(f)));
        self
    }

    /// Runs `f` on each thread of the runtime just before it exits.
    pub fn on_thread_stop(mut self, f: impl Fn() + Send + Sync + 'static) -> Self {
        self.on_thread_stop = Some(ThreadHook(Arc::new(f)));
        self
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
    /// [`RuntimeMetrics::blocking_polls`](crate::RuntimeMetrics::blocking_polls).
    ///
    /// The cost per poll is four plain stores and two loads, on a cache line only
    /// the worker writes, and no clock read; the monitor thread samples every
    /// `threshold / 4` and sleeps while every worker does. On a poll-bound benchmark
    /// (`watchdog_poll_cost` in `benches/executor.rs`) it is within noise.
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
            return match n {
                0 => Err(BuildError::ZeroProcs),
                n if n > 1 && self.current_thread => Err(BuildError::CurrentThreadProcs(n)),
                n => Ok(n),
            };
        }
        if self.start_paused || self.current_thread {
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

    /// Builds the runtime and starts its worker threads (none for a
    /// [current-thread](Builder::new_current_thread) runtime).
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
            watchdog: if self.current_thread {
                None
            } else {
                self.watchdog
            },
            on_blocking_poll: self.on_blocking_poll.clone(),
            current_thread: self.current_thread,
            on_thread_start: self.on_thread_start.clone(),
            on_thread_stop: self.on_thread_stop.clone(),
        };
        let (shared, locals) = Shared::new(config).map_err(BuildError::Reactor)?;
        // `after_func` runs its function as a task of this runtime. A weak reference:
        // the driver lives inside the runtime it would otherwise keep alive.
        let weak = Arc::downgrade(&shared);
        shared
            .driver()
            .timer
            .set_spawner(Arc::new(move |fut, site| {
                if let Some(shared) = weak.upgrade() {
                    drop(shared.spawn(fut, site));
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
        shared.driver().timer.set_panic_handler(report.clone());
        for r in shared.driver().reactors() {
            r.set_panic_handler(report.clone());
        }
        if self.current_thread {
            shared.keep_core(locals);
        } else {
            scheduler::start(&shared, locals).map_err(BuildError::Spawn)?;
        }
        Ok(Runtime {
            handle: Handle { shared },
        })
    }
}

fn default_procs() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}
