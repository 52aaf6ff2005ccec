//! The current-thread runtime: no worker threads; the thread that calls `block_on`
//! is worker 0 while it waits, running the spawned tasks between polls of its own
//! future (tokio's `current_thread` flavor).
//!
//! # Invariants
//!
//! 1. The worker's local queue (the "core") is in `Shared::core` while no
//!    `block_on` drives it, and on the stack of the one `block_on` that does: a
//!    second thread calling `block_on` meanwhile finds it taken and waits for its
//!    own future only (its tasks run on the driving thread), as in tokio.
//! 2. The future's waker sets `woken`, then unparks worker 0 (its parker, and the
//!    reactor if it sleeps there): the worker loop polls the future whenever
//!    `woken` was set, and a park returns for it, so no wake is lost.
//! 3. Tasks spawned while nobody drives wait in the injector or the core; timers
//!    and sockets are driven only while a `block_on` runs (tokio's rule).

use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use super::worker::{with_context, WorkerCtx};
use super::Shared;

/// The driving `block_on` future's waker (invariant 2).
struct MainWaker {
    woken: Arc<AtomicBool>,
    shared: Arc<Shared>,
}

impl Wake for MainWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if !self.woken.swap(true, Ordering::AcqRel) {
            self.shared.parkers[0].unpark();
            self.shared.driver.unpark_worker(0);
        }
    }
}

/// Runs `fut` to completion on this thread, as worker 0 of the current-thread
/// runtime `shared` when the core is free (invariant 1); `None` if another thread
/// drives it (the caller then waits for `fut` alone). The caller has entered the
/// runtime on this thread.
pub(crate) fn drive<F: Future>(shared: &Arc<Shared>, fut: F) -> Result<F::Output, F> {
    let Some(local) = shared.take_core() else {
        return Err(fut);
    };
    let woken = Arc::new(AtomicBool::new(true)); // the first poll
    let waker = Waker::from(Arc::new(MainWaker {
        woken: woken.clone(),
        shared: shared.clone(),
    }));
    let _timer = shared.driver.timer.enter_shard(0);
    let ctx = WorkerCtx::new(shared.clone(), 0, local, Some(woken));
    let mut fut = pin!(fut);
    let mut out = None;
    with_context(&ctx, || {
        let mut cx = Context::from_waker(&waker);
        let mut poll_main = || match gorun_coop::budget(|| fut.as_mut().poll(&mut cx)) {
            Poll::Ready(v) => {
                out = Some(v);
                true
            }
            Poll::Pending => false,
        };
        ctx.run_loop(Some(&mut poll_main));
    });
    shared.put_core(ctx.into_local());
    match out {
        Some(v) => Ok(v),
        // The runtime shut down under us (a handle's `block_on` outliving it): the
        // future waits on alone, as on a dead multi-thread runtime.
        None => Ok(crate::block_on::run(fut, &shared.block_on_busy, || {})),
    }
}
