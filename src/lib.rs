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
//! | `SIGQUIT` / `pprof/goroutine?debug=2` | [`Handle::dump`] → [`TaskDump`] |
//! | sysmon noticing a goroutine running > 10 ms | [`Builder::watchdog`], [`Builder::on_blocking_poll`] |
//!
//! ## Seeing the goroutines
//!
//! [`Handle::dump`] lists every live task with its spawn location, its state and,
//! for a waiting one, what it waits on ([`WaitReason`]: `chan receive`, `select`,
//! `sleep`, `IO wait (read)`, `join`, `sync.Mutex`, ...) and its age, like Go's
//! `goroutine 7 [chan receive, 5 minutes]:`. A poll that keeps its worker busy more
//! than 10 ms (a `std::thread::sleep`, blocking I/O) is reported once per task by the
//! watchdog, with the task's spawn location; [`Handle::metrics`] counts those with
//! the scheduler's other counters.
//!
//! ```
//! use gorun::{TaskState, WaitReason};
//!
//! let rt = gorun::Runtime::builder().procs(1).build().unwrap();
//! let (_tx, rx) = gorun::chan::<u32>(0);
//! let h = rt.spawn(async move { rx.recv().await });
//! # while rt.handle().dump().tasks[0].state != TaskState::Waiting {
//! #     std::thread::sleep(std::time::Duration::from_millis(1));
//! # }
//! let dump = rt.handle().dump();
//! assert_eq!(dump.tasks[0].wait, Some(WaitReason::ChanRecv));
//! println!("{dump}"); // task 0x... [chan receive, 0 ms]:
//!                     //     spawned at src/lib.rs:12:10
//! # h.abort();
//! ```
//!
//! ## Channels and select
//!
//! ```
//! use std::time::Duration;
//!
//! #[gorun::main(procs = 2)]
//! async fn main() {
//!     let (tx, rx) = gorun::chan::<u32>(0); // make(chan uint32): a rendezvous
//!     for i in 0..5 {
//!         let tx = tx.clone();
//!         gorun::go(async move { tx.send(i).await.unwrap() });
//!     }
//!     drop(tx); // the last sender gone: the channel closes once drained
//!     let mut sum = 0;
//!     while let Some(v) = rx.recv().await {
//!         sum += v;
//!     }
//!     assert_eq!(sum, 10);
//!
//!     let (tx2, rx2) = gorun::chan::<String>(1);
//!     gorun::select! {
//!         recv(rx2) -> msg => unreachable!("nothing was sent: {msg:?}"),
//!         send(tx2, "hi".to_string()) -> res => res.unwrap(), // commits only if chosen
//!         recv(gorun::time::after(Duration::from_secs(1))) -> _ => println!("timeout"),
//!     }
//!     assert_eq!(rx2.try_recv().unwrap(), "hi");
//! }
//! ```
//!
//! | Go | gorun |
//! |----|-------|
//! | `make(chan T, n)` | [`chan`]`::<T>(n)` → ([`Sender`], [`Receiver`]), both cloneable |
//! | `ch <- v` / `v, ok := <-ch` | `tx.send(v).await` / `rx.recv().await` (`None` = closed) |
//! | `close(ch)` | `tx.close()`, or drop every `Sender` |
//! | `select { ... }` | [`select!`] (channel cases commit atomically) |
//! | `time.Sleep`, `time.After` | [`time::sleep`], [`time::after`] |
//!
//! ## Networking and HTTP
//!
//! [`net`] has Go's `net` package on a mio reactor (TCP, UDP, Unix sockets, with the
//! `futures-io` traits). Cargo features, off by default:
//!
//! | feature | gives |
//! |---|---|
//! | `tokio-io` | `tokio::io::AsyncRead`/`AsyncWrite` for gorun's streams (tokio-util codecs, tokio's `io-util`), no tokio runtime |
//! | `hyper` | `gorun::hyper`: hyper 1.x servers and clients on gorun (`GoExecutor`, `GoTimer`, and hyper's I/O traits on gorun's streams) |
//! | `debug-http` | `gorun::debug`: Go's `net/http/pprof`, the task dump, the runtime's counters (Prometheus text) and execution traces over HTTP, mounted in an axum `Router` or on a side port |
#![warn(missing_docs)]

pub use gorun_executor::{
    go, num_tasks, procs, spawn, spawn_blocking, yield_now, AbortHandle, BlockingPoll, BuildError,
    Builder, EnterGuard, Handle, JoinError, JoinHandle, Runtime, RuntimeMetrics, TaskDump,
    TaskInfo, TaskState, TryCurrentError, WaitReason,
};

pub mod time;

/// Tasks beyond [`go`]: [`JoinSet`](task::JoinSet), task ids and
/// [`block_in_place`](task::block_in_place) (tokio's `tokio::task`).
pub use gorun_executor::task;

pub mod sync;

pub mod context;

pub mod errgroup;

pub mod net;

pub mod io;

/// Files and directories on the blocking pool, tokio's `tokio::fs`.
pub mod fs;

pub mod signal;

/// An execution trace (Go's `runtime/trace`): task polls, parks, steals, timer and
/// I/O wake-ups per thread, as Chrome trace-event JSON for Perfetto.
pub use gorun_executor::trace;

/// Child processes: tokio's `tokio::process` (`Command`, `Child`, piped streams) on gorun.
pub use gorun_executor::process;

/// The tokio compatibility layer (feature `tokio-compat`): a tokio runtime beside
/// gorun, entered on every gorun thread, for crates that call tokio from inside.
#[cfg(feature = "tokio-compat")]
pub use gorun_executor::compat as tokio_compat;

#[cfg(feature = "hyper")]
pub mod hyper;

/// Serving HTTP (feature `http`): an axum `Router`, or any tower service, on gorun.
#[cfg(feature = "http")]
pub mod http;

#[cfg(feature = "debug-http")]
pub mod debug;

pub mod tokio_migration;

/// Cooperative scheduling: the budget every gorun resource charges, and the wait
/// reason a resource of your own can report to task dumps.
pub mod coop {
    pub use gorun_coop::{
        consume_budget, has_budget_remaining, set_wait_reason, unconstrained, WaitReason,
    };
}

// --- gorun-channel re-exports (channel/, issue 3) ---
#[doc(inline)]
pub use gorun_channel::{
    chan, recv_any, DynOutcome, DynSelect, DynSelectFuture, Receiver, RecvFuture, RecvTimeoutError,
    Select, Selected, SendError, SendFuture, SendTimeoutError, Sender, TryRecvError, TrySendError,
};

/// The extension traits gorun adds to its own types: `use gorun::prelude::*`.
///
/// ```
/// use gorun::prelude::*;
/// use std::time::Duration;
///
/// # gorun::Runtime::builder().procs(1).build().unwrap().block_on(async {
/// let (tx, rx) = gorun::chan::<u32>(0);
/// // Nobody receives: the value comes back, exactly (see `SendTimeoutExt`).
/// let err = tx.send_timeout(7, Duration::from_millis(1)).await.unwrap_err();
/// assert_eq!(err.into_inner(), 7);
/// # drop(rx);
/// # });
/// ```
#[cfg(not(loom))]
pub mod prelude {
    pub use crate::time::{RecvTimeoutExt, SendTimeoutExt};
}
// --- end gorun-channel re-exports ---

// --- gorun-macros re-exports (select-macro/, issue 5) ---
pub use gorun_macros::{main, select, test};

/// What the macros expand to. Not a public API: it may change without notice.
#[doc(hidden)]
pub mod __private;
