//! # gorun: Go's concurrency model as a Rust async runtime
//!
//! Goroutines are tasks on a work-stealing scheduler with per-P run queues (Go's
//! G/M/P model); channels are Go's `hchan` (a ring buffer with send and receive wait
//! queues, a rendezvous when unbuffered); `select!` commits exactly one channel
//! operation; timers live in a hierarchical wheel. Everything meets through the
//! standard [`Waker`](std::task::Waker) protocol, so gorun's channels and timers also
//! work on other executors.
//!
//! ## Goroutines
//!
//! ```
//! let rt = gorun::Runtime::builder().procs(2).build().unwrap();
//! rt.block_on(async {
//!     let handles: Vec<_> = (0..100u64).map(|i| gorun::go(async move { i })).collect();
//!     let mut total = 0;
//!     for h in handles {
//!         total += h.await.unwrap();
//!     }
//!     assert_eq!(total, 4950);
//! });
//! ```
//!
//! | Go | gorun |
//! |----|-------|
//! | `go f()` | [`go`]`(f())` → [`JoinHandle`] (drop it to detach) |
//! | `runtime.Gosched()` | [`yield_now`]`().await` |
//! | `runtime.NumGoroutine()` | [`num_tasks`]`()` |
//! | `runtime.GOMAXPROCS(0)` | [`procs`]`()`; set with [`Builder::procs`] or `GOMAXPROCS` |
//! | a blocking syscall | [`spawn_blocking`] |
#![warn(missing_docs)]

pub use gorun_executor::{
    go, num_tasks, procs, spawn, spawn_blocking, yield_now, AbortHandle, BuildError, Builder,
    EnterGuard, Handle, JoinError, JoinHandle, Runtime, RuntimeMetrics, TaskDump, TaskInfo,
    TaskState, TryCurrentError,
};

pub mod time;

/// Cooperative scheduling: the budget every gorun resource charges.
pub mod coop {
    pub use gorun_coop::{consume_budget, has_budget_remaining, unconstrained};
}

// --- gorun-channel re-exports (channel/, issue 3) ---
#[doc(inline)]
pub use gorun_channel::{
    chan, Receiver, RecvFuture, Select, Selected, SendError, SendFuture, Sender, TryRecvError,
    TrySendError,
};

/// Channel internals used by the `select!` macro. Not a stable API.
#[doc(hidden)]
pub use gorun_channel::__private as __chan_private;
// --- end gorun-channel re-exports ---

// --- gorun-macros re-exports (select-macro/, issue 5) ---
pub use gorun_macros::{main, select, test};

/// What the macros expand to. Not a public API: it may change without notice.
#[doc(hidden)]
pub mod __private;
