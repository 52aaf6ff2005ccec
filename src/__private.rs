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
    /// `flavor = "current_thread"`.
    pub current_thread: bool,
    /// `watchdog = None | Some(duration)`; `None` here keeps the default.
    pub watchdog: Option<Option<Duration>>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            procs: None,
            start_paused: false,
            leak_check: true,
            current_thread: false,
            watchdog: None,
        }
    }
}

fn build(opts: &Options, what: &str) -> Runtime {
    let mut b = if opts.current_thread {
        crate::Builder::new_current_thread()
    } else {
        Runtime::builder()
    };
    b = b.start_paused(opts.start_paused);
    if let Some(n) = opts.procs {
        b = b.procs(n);
    }
    if let Some(w) = opts.watchdog {
        b = b.watchdog(w);
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

/// `#[gorun::main(flavor = "current_thread")]`: runs the body on this thread,
/// which runs the runtime's tasks while it waits; the body need not be `Send`.
pub fn run_main_local<F: Future>(opts: Options, body: F) -> F::Output {
    build(&opts, "#[gorun::main]").block_on(body)
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
    check_leaks(&opts, &rt);
    out
}

/// `#[gorun::test(flavor = "current_thread")]`: as [`run_test`], with the body
/// run on this thread (it need not be `Send`).
pub fn run_test_local<F: Future>(opts: Options, body: F) -> F::Output {
    let rt = build(&opts, "#[gorun::test]");
    let out = rt.block_on(body);
    check_leaks(&opts, &rt);
    out
}

/// Fails the test if tasks are alive `LEAK_GRACE` after the body returned.
fn check_leaks(opts: &Options, rt: &Runtime) {
    if opts.leak_check {
        let deadline = Instant::now() + LEAK_GRACE;
        if opts.current_thread {
            // Tasks run only inside block_on. A timer, so a paused clock moves on
            // too (to the tasks' own timers first, as it jumps to the earliest).
            rt.block_on(async {
                while rt.num_tasks() > 0 && Instant::now() < deadline {
                    crate::time::sleep(Duration::from_millis(1)).await;
                }
            });
        }
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
}
