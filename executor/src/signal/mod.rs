//! Signals: Go's `os/signal` on gorun's reactor.
//!
//! A process-wide handler (installed once per signal with `signal-hook-registry`)
//! only sets a flag and writes a byte to a self-pipe; every runtime with a listener
//! polls that pipe in its mio reactor, and whichever sees it first wakes every
//! listener of the signal, in any runtime (see `registry.rs`).
//!
//! - `registry.rs`: the per-signal slots, the pipe, the handler and the dispatch;
//! - `unix.rs`: [`SignalKind`](unix::SignalKind), [`signal`](unix::signal) and
//!   the [`Signal`](unix::Signal) listener.
//!
//! ```no_run
//! let rt = gorun_executor::Runtime::builder().procs(1).build().unwrap();
//! rt.block_on(async {
//!     gorun_executor::signal::ctrl_c().await.unwrap();
//!     println!("interrupted");
//! });
//! ```

mod registry;
pub mod unix;

use std::future::Future;
use std::io;

pub(crate) use registry::dispatch;

/// Waits for Ctrl+C (`SIGINT`).
///
/// The listener is made when `ctrl_c` is *called*, not when the future is first
/// polled: a `SIGINT` that arrives in between is not lost. The first call
/// installs the handler, so from then on a `SIGINT` no longer kills the process.
/// In a loop, make one [`unix::Signal`] and call `recv` on it each time instead:
/// a fresh `ctrl_c()` per iteration misses a signal sent between two of them.
///
/// ```no_run
/// let rt = gorun_executor::Runtime::builder().procs(1).build().unwrap();
/// rt.block_on(async {
///     let interrupted = gorun_executor::signal::ctrl_c(); // listening from here
///     // ... start the work ...
///     interrupted.await.expect("install the SIGINT handler");
/// });
/// ```
pub fn ctrl_c() -> impl Future<Output = io::Result<()>> + Send + 'static {
    let listener = unix::signal(unix::SignalKind::interrupt());
    async move {
        match listener?.recv().await {
            Some(()) => Ok(()),
            None => Err(io::Error::other("gorun: no more signals can be received")),
        }
    }
}

/// Calls `f` after each delivery of `kind` (outside the signal handler, on the
/// thread that dispatched it) until `f` returns `false`. What the facade's
/// channel-shaped `gorun::signal::notify` is built on. Not a public API.
#[doc(hidden)]
pub fn __subscribe(kind: unix::SignalKind, f: Box<dyn FnMut() -> bool + Send>) -> io::Result<()> {
    let slot = registry::slot(kind.as_raw_value())?;
    registry::ensure_driver()?;
    slot.subscribe(f);
    Ok(())
}
