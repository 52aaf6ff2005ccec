//! `Runtime` (here), its `Builder` (`builder.rs`) and `Handle` (`handle.rs`), and the
//! global runtime that `go` falls back on outside any runtime.

mod builder;
mod handle;

use std::fmt;
use std::future::Future;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use crate::current_runtime;
pub use crate::scheduler::metrics::RuntimeMetrics;
use crate::scheduler::Shared;
use crate::task::join::JoinHandle;

pub use builder::{BuildError, Builder};
pub use handle::{EnterGuard, Handle, TryCurrentError};

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
    #[track_caller]
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
            shared.blocking().set_shutdown_deadline(deadline);
        }
        if shared.config().current_thread {
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
        let threads = shared.take_threads();
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
