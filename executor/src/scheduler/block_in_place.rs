//! `block_in_place`: Go's `entersyscall` hand-off for a blocking call made inside
//! a task. The worker's P (its context: local queue, `runnext`, timer shard) is
//! handed to a stand-in thread from the blocking pool, which runs the worker loop
//! while this thread blocks in the closure; then the P comes back, and the task's
//! poll goes on where it was.
//!
//! # Invariants
//! 1. The worker context never moves: it stays on the worker thread's stack (in
//!    `worker::run`), which is blocked in `block_in_place` until the stand-in has
//!    let go of it. One thread at a time uses it: this thread before `Pending`
//!    is published and after it saw `Released` or set `Cancelled`; the stand-in
//!    between its `Pending -> Running` and `Released` (the `Handoff` mutex orders
//!    the two).
//! 2. The stand-in leaves the loop only at the top of an iteration or from a park,
//!    with the context's state consistent (`stop` is checked there, as shutdown
//!    is), so the worker thread resumes the loop as if it had run those iterations.
//! 3. A stand-in that never started (the pool was busy or shut down) is cancelled
//!    by the worker thread, which then uses the context itself; one that starts
//!    after that finds `Cancelled` and touches nothing.
//! 4. Each hand-off has its own stop flag, so a nested `block_in_place` on the
//!    stand-in (which hands the same context to a second stand-in) cannot consume
//!    the outer one's request.

use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};

use super::worker::{self, WorkerCtx};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum State {
    /// The stand-in is queued on the blocking pool.
    Pending,
    /// The stand-in runs the worker loop.
    Running,
    /// The stand-in let go of the context.
    Released,
    /// The worker thread took the context back before the stand-in started.
    Cancelled,
}

struct Handoff {
    state: Mutex<State>,
    released: Condvar,
    /// Asks the stand-in to hand the worker back (invariant 4).
    stop: AtomicBool,
}

impl Handoff {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The worker context's address, sent to the stand-in thread.
struct CtxPtr(*const WorkerCtx);

// SAFETY: the context is used by one thread at a time, handed over under the
// `Handoff` mutex (invariant 1); it outlives the stand-in's use (the owning thread
// waits for `Released`).
unsafe impl Send for CtxPtr {}

/// Marks the hand-off `Released` when the stand-in's closure ends, however it
/// ends (a panic in a task is caught by the task, but be safe), if it had started.
struct ReleaseOnDrop(Arc<Handoff>);

impl Drop for ReleaseOnDrop {
    fn drop(&mut self) {
        let mut st = self.0.lock();
        if *st == State::Running {
            *st = State::Released;
            self.0.released.notify_all();
        }
    }
}

/// Runs `f`, a blocking call, on this thread without stalling the other tasks
/// of this worker: the worker's run queue and timers are handed to another thread
/// (from the blocking pool) while `f` runs, and taken back when it returns. As
/// Go's runtime does around a blocking system call, and tokio's `block_in_place`.
///
/// Outside a worker thread (in `block_on`, on a blocking-pool thread, or outside
/// any runtime) it just calls `f`. Inside `f` the runtime is still current: `f`
/// may spawn, and may [`Handle::block_on`](crate::Handle::block_on) a future.
///
/// Prefer [`spawn_blocking`](crate::spawn_blocking), which leaves the task free
/// to be cancelled or to `select!` on the result; `block_in_place` fits code that
/// must stay synchronous (a `Drop`, a callback, a trait method).
///
/// The rest of the task's poll runs on this thread after `f`, as before. While
/// `f` runs, the watchdog does not report this poll, and polls the stand-in runs
/// are not watched. The stand-in is a blocking task of the runtime: task dumps
/// and [`num_tasks`](crate::num_tasks) count it until it has handed the worker
/// back, and it is bound by
/// [`max_blocking_threads`](crate::Builder::max_blocking_threads) (if every
/// blocking thread is busy, the worker's queue waits for `f`, though other workers
/// still steal from it).
///
/// # Panics
/// On a [current-thread](crate::Builder::new_current_thread) runtime's thread: its
/// only worker cannot be handed off (tokio panics there too). A panic of `f` is
/// resumed here, after the worker came back.
///
/// ```
/// let rt = gorun_executor::Runtime::builder().procs(1).build().unwrap();
/// let out = rt.run(async {
///     // A task on the only worker keeps running while the other one blocks.
///     let (tx, rx) = std::sync::mpsc::channel();
///     let helper = gorun_executor::go(async move { tx.send(7).unwrap() });
///     let v = gorun_executor::task::block_in_place(|| rx.recv().unwrap());
///     helper.await.unwrap();
///     v
/// });
/// assert_eq!(out, 7);
/// ```
#[track_caller]
pub fn block_in_place<F, R>(f: F) -> R
where
    F: FnOnce() -> R,
{
    let p = worker::current();
    if p.is_null() {
        return f();
    }
    // SAFETY: a non-null context is this thread's worker (set by `worker::run`,
    // `current::drive` or a stand-in, cleared before it goes); we are in one of
    // its tasks' polls, so it is alive and ours until we hand it off.
    let ctx = unsafe { &*p };
    if ctx.is_current_thread() {
        panic!(
            "gorun: block_in_place cannot hand off a current-thread runtime's only worker: \
             use spawn_blocking, or a multi-thread runtime"
        );
    }
    let shared = ctx.shared().clone();
    let index = ctx.index();
    crate::task::poll_watch::poll_handed_off();
    crate::trace::instant(crate::trace::What::BlockInPlace);
    let handoff = Arc::new(Handoff {
        state: Mutex::new(State::Pending),
        released: Condvar::new(),
        stop: AtomicBool::new(false),
    });
    // Invariant 1: from here until we take it back, the context is not ours.
    worker::set_current(std::ptr::null());
    let stand_in = {
        let handoff = handoff.clone();
        let shared = shared.clone();
        let ptr = CtxPtr(p);
        move || {
            let release = ReleaseOnDrop(handoff);
            {
                let mut st = release.0.lock();
                if *st != State::Pending {
                    return; // cancelled (invariant 3)
                }
                *st = State::Running;
            }
            let ptr = ptr;
            // SAFETY: `Running` makes the context ours until `release` drops
            // (invariant 1).
            let ctx = unsafe { &*ptr.0 };
            // A worker, not a blocking closure: it parks like one, and the paused
            // clock may advance while it does (the call in `f` counts instead).
            let _worker = shared.blocking.not_running_guard();
            let _enter = crate::current_runtime::enter_worker(&shared, index);
            let prev = worker::set_current(ctx);
            ctx.run_as_stand_in(&release.0.stop);
            worker::set_current(prev);
        }
    };
    drop(
        shared
            .blocking
            .spawn(&shared, stand_in, std::panic::Location::caller()),
    );
    let out = {
        let _running = shared.blocking.running_guard();
        let _exit = crate::current_runtime::exit_runtime();
        // The worker is handed off: `f` may block (`blocking_send` and the like).
        catch_unwind(AssertUnwindSafe(|| gorun_coop::blocking_section(f)))
    };
    // Take the worker back.
    {
        let mut st = handoff.lock();
        match *st {
            State::Pending => *st = State::Cancelled,
            State::Running => {
                handoff.stop.store(true, Ordering::Release);
                // It may be parked: on its condvar, or in the driver.
                shared.parkers[index].unpark();
                shared.driver.unpark_worker(index);
                while *st == State::Running {
                    st = handoff.released.wait(st).unwrap_or_else(|e| e.into_inner());
                }
            }
            State::Released | State::Cancelled => {}
        }
    }
    worker::set_current(p);
    if shared.driver.timer.is_paused() {
        // The blocking call ended: the paused clock may auto-advance.
        shared.driver.unpark();
    }
    match out {
        Ok(v) => v,
        Err(payload) => resume_unwind(payload),
    }
}
