//! The tokio compatibility layer (feature `tokio-compat`): crates that call tokio's
//! runtime from inside (`tokio::spawn`, `tokio::time::sleep`, `tokio::net`, as
//! reqwest, tonic's transport, sqlx's tokio runtime and tower's `timeout` do) run
//! unchanged on gorun.
//!
//! # What runs where
//!
//! - One tokio multi-thread runtime per process, with **one** worker thread
//!   (`gorun-tokio-compat`), its timer and its I/O driver, built the first time a
//!   gorun thread starts (a worker, a blocking-pool thread, or a `block_on`) and
//!   kept until the process exits. tokio's blocking pool starts threads only when
//!   something calls `tokio::task::spawn_blocking` (tokio's `fs` does).
//! - Its [`Handle`](tokio::runtime::Handle) is entered on every gorun worker, every
//!   blocking-pool thread and inside every `block_on`, so `Handle::current()`
//!   finds it there.
//! - Your tasks, and the futures those crates hand back to you, still run on gorun's
//!   workers. What the crates register with tokio runs on tokio's side: a
//!   `tokio::time::sleep` fires from tokio's timer, a `tokio::net::TcpStream` is
//!   polled by tokio's reactor thread, which wakes the gorun task awaiting it (a
//!   cross-thread wake per event), and `tokio::spawn` puts the task on tokio's one
//!   worker.
//! - Cost: that thread and tokio's drivers (a few hundred KiB), and a cross-thread
//!   wake for each tokio timer or socket event. gorun's own types (`gorun::net`,
//!   `gorun::time`) never go through it; prefer them where you choose.
//! - [`dump()`](crate::Handle::dump) lists gorun's tasks only; its text ends with a
//!   line giving the number of tasks alive on the compat runtime
//!   ([`alive_tasks`]).
//!
//! Without the feature, a crate that calls tokio panics with tokio's "there is no
//! reactor running" message; the [`JoinError`](crate::JoinError) of that task adds a
//! hint naming this feature.

use std::sync::OnceLock;

static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();

/// The compat runtime's handle, building the runtime on first use.
///
/// # Panics
/// If tokio cannot start its thread or its drivers (out of threads or fds).
pub fn handle() -> &'static tokio::runtime::Handle {
    RUNTIME
        .get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .thread_name("gorun-tokio-compat")
                .enable_all()
                .build()
                .expect("gorun: cannot start the tokio-compat runtime")
        })
        .handle()
}

/// Tasks alive on the compat runtime, or `None` if it has not started.
pub fn alive_tasks() -> Option<usize> {
    RUNTIME.get().map(|rt| rt.metrics().num_alive_tasks())
}

/// Enters the compat runtime on this thread until the guard drops.
pub(crate) fn enter() -> tokio::runtime::EnterGuard<'static> {
    handle().enter()
}
