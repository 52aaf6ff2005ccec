//! Runtime entry points for `#[gorun::main]` and `#[gorun::test]`.

use std::future::Future;
use std::time::{Duration, Instant};

use crate::Runtime;

/// The channel select machinery `select!` expands to.
pub use gorun_channel::__private as chan;

/// Options of `#[gorun::main]` and `#[gorun::test]`.
#[derive(Debug, Clone)]
pub struct Options {
    /// `procs = N`.
    pub procs: Option<usize>,
    /// `start_paused = true` (tests only).
    pub start_paused: bool,
    /// `leak_check = false` turns goleak off (tests only).
    pub leak_check: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            procs: None,
            start_paused: false,
            leak_check: true,
        }
    }
}

fn build(opts: &Options, what: &str) -> Runtime {
    let mut b = Runtime::builder().start_paused(opts.start_paused);
    if let Some(n) = opts.procs {
        b = b.procs(n);
    }
    b.build()
        .unwrap_or_else(|e| panic!("{what}: cannot start the gorun runtime: {e}"))
}

/// `#[gorun::main]`: runs the body as a task on a new runtime.
pub fn run_main<F>(opts: Options, body: F) -> F::Output
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    build(&opts, "#[gorun::main]").run(body)
}

/// How long `#[gorun::test]` waits for the test's tasks to finish before calling
/// them leaked.
pub const LEAK_GRACE: Duration = Duration::from_millis(200);

/// `#[gorun::test]`: runs the body as a task on a fresh runtime, then fails the test
/// if tasks it spawned are still alive after a grace period (goleak, built in).
pub fn run_test<F>(opts: Options, body: F) -> F::Output
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let rt = build(&opts, "#[gorun::test]");
    let out = rt.run(body);
    if opts.leak_check {
        let deadline = Instant::now() + LEAK_GRACE;
        while rt.num_tasks() > 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
        let dump = rt.handle().dump();
        if !dump.tasks.is_empty() {
            panic!(
                "gorun::test: {} task(s) still alive {LEAK_GRACE:?} after the test returned \
                 (a goroutine leak; use #[gorun::test(leak_check = false)] to allow it)\n{dump}",
                dump.tasks.len()
            );
        }
    }
    out
}
