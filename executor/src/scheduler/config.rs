//! The scheduler's configuration, fixed when the runtime is built (by
//! `runtime::Builder`, which is its only producer).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use super::watchdog::Hook;

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
    /// No worker threads: `block_on` runs the tasks (see `scheduler/current.rs`).
    pub(crate) current_thread: bool,
    pub(crate) on_thread_start: Option<ThreadHook>,
    pub(crate) on_thread_stop: Option<ThreadHook>,
}

/// A closure run on each thread the runtime starts or stops.
#[derive(Clone)]
pub(crate) struct ThreadHook(pub(crate) Arc<dyn Fn() + Send + Sync>);

impl fmt::Debug for ThreadHook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ThreadHook(..)")
    }
}

impl Config {
    /// Runs `on_thread_start` on a thread the runtime just started.
    pub(crate) fn thread_started(&self) {
        if let Some(ThreadHook(f)) = &self.on_thread_start {
            f();
        }
    }

    /// Runs `on_thread_stop` on a thread of the runtime about to exit.
    pub(crate) fn thread_stopped(&self) {
        if let Some(ThreadHook(f)) = &self.on_thread_stop {
            f();
        }
    }
}
