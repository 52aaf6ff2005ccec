//! gorun-executor: goroutines as tasks on a work-stealing G/M/P scheduler.
//!
//! This crate is re-exported by the `gorun` facade; see its documentation for the
//! tour. In brief: [`Runtime`] owns worker threads (Go's Ps), each with a local run
//! queue and a `runnext` slot, a global injector, work stealing, Go's spinning-worker
//! parking rule, a cooperative budget, a blocking pool, and a driver for timers.
//!
//! ```
//! let rt = gorun_executor::Runtime::builder().procs(2).build().unwrap();
//! rt.block_on(async {
//!     let handles: Vec<_> = (0..10).map(|i| gorun_executor::go(async move { i * 2 })).collect();
//!     let mut sum = 0;
//!     for h in handles {
//!         sum += h.await.unwrap();
//!     }
//!     assert_eq!(sum, 90);
//! });
//! ```
//!
//! # How it is built
//!
//! Each file opens with what it is for and, where threads meet, the invariants it
//! keeps. Dependencies point down this list: the runtime builds the scheduler, the
//! scheduler runs tasks and parks in the driver, and tasks know only the `Schedule`
//! trait (`task/mod.rs`) that the scheduler implements. The scheduler's state
//! (`Shared`) keeps its fields private; other modules reach the driver, the
//! blocking pool, the config and the task list through its methods. Two
//! dependencies still point up: a
//! socket's registration asks the scheduler which worker it runs on
//! (`io/registration.rs`), and the blocking pool holds the scheduler's state to
//! start its threads.
//!
//! | concept | file |
//! |---|---|
//! | `Runtime`, `Handle`, `Builder`, the global runtime | `runtime/mod.rs`, `runtime/handle.rs`, `runtime/builder.rs` |
//! | the scheduler's shared state, spawning, the global queue | `scheduler/mod.rs`, `scheduler/config.rs` |
//! | `RuntimeMetrics` and the counters behind it | `scheduler/metrics.rs` |
//! | a worker's loop (Go's `schedule`/`findrunnable`), `runnext` | `scheduler/worker.rs`, `scheduler/runnext.rs` |
//! | parking and waking workers (spinning rule); the loom shim | `scheduler/idle.rs`, `park.rs`, `loom.rs` |
//! | the long-poll watchdog (Go's sysmon) | `scheduler/watchdog.rs`, `task/poll_watch.rs` |
//! | `block_in_place`, the blocking pool | `scheduler/block_in_place.rs`, `blocking_pool.rs` |
//! | the one-thread scheduler | `scheduler/current.rs` |
//! | a task: its cell, state word, wakers, `JoinHandle`, the owned-task list | `task/raw.rs`, `task/state.rs`, `task/waker.rs`, `task/join.rs`, `task/list.rs` |
//! | the driver a parked worker sleeps in: timers and I/O; its seat (who holds it, who sleeps in it) | `driver/mod.rs`, `driver/seat.rs` |
//! | reactors (one per worker), readiness, `AsyncFd` | `io/` (`reactor.rs`, `root.rs`, `handoff.rs`, `scheduled_io.rs`) |
//! | sockets, processes, signals | `net/`, `process/`, `signal/` |
//! | `Runtime::block_on` on the calling thread | `block_on.rs` |
//! | task dumps | `dump.rs` |
#![warn(missing_docs)]

mod block_on;
mod blocking_pool;
mod coarse_clock;
#[cfg(feature = "tokio-compat")]
pub mod compat;
mod current_runtime;
mod driver;
mod dump;
mod io;
mod loom;
pub mod net;
mod park;
/// Child processes on the reactor: tokio's `tokio::process` (pidfd or `SIGCHLD` reaping).
pub mod process;
mod runtime;
mod scheduler;
pub mod signal;
pub mod task;
pub mod trace;
/// Any file descriptor on the reactor: [`unix::AsyncFd`] (tokio's `io::unix`).
pub mod unix {
    pub use crate::io::{AsyncFd, AsyncFdReadyGuard, AsyncFdReadyMutGuard, Interest, TryIoError};
}
mod yield_now;

use std::future::Future;

pub use dump::{TaskDump, TaskInfo, TaskState};
pub use gorun_coop::WaitReason;
pub use runtime::{
    BuildError, Builder, EnterGuard, Handle, Runtime, RuntimeMetrics, TryCurrentError,
};
pub use scheduler::watchdog::BlockingPoll;
pub use task::join::{AbortHandle, JoinError, JoinHandle};
pub use yield_now::yield_now;

/// Starts a goroutine: runs `fut` as a new task on the current runtime (or, outside
/// any runtime, on a global one started on first use, as Go always has one).
///
/// Dropping the returned [`JoinHandle`] detaches the task; awaiting it gives the
/// task's output, or a [`JoinError`] if it panicked or was aborted.
///
/// ```
/// let rt = gorun_executor::Runtime::builder().procs(2).build().unwrap();
/// rt.block_on(async {
///     let h = gorun_executor::go(async { "hello from a goroutine" });
///     assert_eq!(h.await.unwrap(), "hello from a goroutine");
/// });
/// ```
#[track_caller]
pub fn go<F>(fut: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    go_at(fut, std::panic::Location::caller())
}

/// [`go`], naming `location` as the task's spawn site (in dumps, long-poll reports
/// and traces): for helpers that spawn on their caller's behalf after an `.await`,
/// where `#[track_caller]` cannot reach (gorun's errgroup).
#[doc(hidden)]
pub fn go_at<F>(fut: F, location: &'static std::panic::Location<'static>) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    runtime::with_current_or_global(|shared| shared.spawn(fut, location))
}

/// The tokio-style name of [`go`].
#[track_caller]
pub fn spawn<F>(fut: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    go(fut)
}

/// Runs a blocking closure (file I/O, a C library, heavy computation) on the
/// blocking pool, so the workers keep running tasks: Go's hand-off of the P around
/// a blocking system call.
///
/// ```
/// let rt = gorun_executor::Runtime::builder().procs(1).build().unwrap();
/// let n = rt.block_on(async {
///     gorun_executor::spawn_blocking(|| std::fs::read_dir(".").map(|d| d.count()).unwrap_or(0))
///         .await
///         .unwrap()
/// });
/// assert!(n > 0);
/// ```
#[track_caller]
pub fn spawn_blocking<F, R>(f: F) -> JoinHandle<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    let location = std::panic::Location::caller();
    runtime::with_current_or_global(|shared| shared.blocking().spawn(shared, f, location))
}

/// The number of live tasks on the current runtime (Go's `runtime.NumGoroutine`);
/// outside any runtime, those of the global runtime.
pub fn num_tasks() -> usize {
    runtime::with_current_or_global(|shared| shared.num_tasks())
}

/// The number of Ps (worker threads) of the current runtime, or of the global one.
pub fn procs() -> usize {
    runtime::with_current_or_global(|shared| shared.procs())
}
