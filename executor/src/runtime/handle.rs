//! `Handle`: a cloneable reference to a runtime, and what entering one gives.

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use super::RuntimeMetrics;
use crate::current_runtime;
use crate::scheduler::Shared;
use crate::task::join::JoinHandle;

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
    /// [`Runtime::block_on`](super::Runtime::block_on) does.
    ///
    /// # Panics
    /// If called from a thread that already drives a runtime.
    pub fn block_on<F: Future>(&self, fut: F) -> F::Output {
        let shared = &self.shared;
        let _enter = current_runtime::enter_runtime(shared);
        let fut = if shared.config().current_thread {
            match crate::scheduler::drive(shared, fut) {
                Ok(v) => return v,
                Err(fut) => fut,
            }
        } else {
            fut
        };
        // Each time the future waits, the paused clock may auto-advance.
        crate::block_on::run(fut, shared.block_on_busy(), || shared.may_be_idle())
    }

    /// Runs a blocking closure on this runtime's blocking pool.
    #[track_caller]
    pub fn spawn_blocking<F, R>(&self, f: F) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        self.shared
            .blocking()
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
        self.shared.metrics()
    }
}
