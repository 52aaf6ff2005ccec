//! Driving a future on the calling thread, parked between polls.
//!
//! For the paused clock's auto-advance the runtime must know when a `block_on` future
//! is busy, as it knows for its workers: `busy` counts the poll in progress plus
//! pending wakes (each wake that finds the thread un-notified adds one; each poll
//! takes one away when it ends), so it is zero exactly when the future waits.

use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};

struct ThreadWaker {
    thread: Thread,
    notified: AtomicBool,
    busy: Arc<AtomicUsize>,
}

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if !self.notified.swap(true, Ordering::AcqRel) {
            self.busy.fetch_add(1, Ordering::SeqCst);
            self.thread.unpark();
        }
    }
}

/// Polls `fut` to completion on this thread, sleeping while it is pending. `busy`
/// is raised while the future runs or has a wake pending; `on_idle` is called each
/// time it drops to waiting.
pub(crate) fn run<F: Future>(fut: F, busy: &Arc<AtomicUsize>, on_idle: impl Fn()) -> F::Output {
    let tw = Arc::new(ThreadWaker {
        thread: thread::current(),
        notified: AtomicBool::new(false),
        busy: busy.clone(),
    });
    let waker = Waker::from(tw.clone());
    let mut cx = Context::from_waker(&waker);
    let mut fut = pin!(fut);
    // The first poll's share of `busy`.
    busy.fetch_add(1, Ordering::SeqCst);
    /// Ends a poll's share of `busy` even if the poll panics.
    struct PollDone<'a>(&'a AtomicUsize);
    impl Drop for PollDone<'_> {
        fn drop(&mut self) {
            self.0.fetch_sub(1, Ordering::SeqCst);
        }
    }
    loop {
        let done = PollDone(busy);
        let res = gorun_coop::budget(|| fut.as_mut().poll(&mut cx));
        drop(done);
        if let Poll::Ready(v) = res {
            return v;
        }
        if !tw.notified.load(Ordering::Acquire) {
            on_idle();
        }
        // The wake consumed here added the next poll's share of `busy`.
        while !tw.notified.swap(false, Ordering::AcqRel) {
            thread::park();
        }
    }
}
