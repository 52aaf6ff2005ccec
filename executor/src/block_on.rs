//! Driving a future on the calling thread, parked between polls.
//!
//! For the paused clock's auto-advance the runtime must know when a `block_on` future
//! is busy, as it knows for its workers: `busy` counts the poll in progress plus
//! pending wakes (each wake that finds the thread un-notified adds one; each poll
//! takes one away when it ends), so it is zero exactly when the future waits.

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use crate::loom::thread::{self, Thread};
use crate::loom::{AtomicBool, AtomicUsize, Ordering};

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
    /// On the way out (output or panic), leaves `notified` set for good, so later
    /// wakes through a kept waker add nothing, and takes back the share of a wake
    /// that arrived after the last poll began and was never consumed.
    struct Settle<'a>(&'a ThreadWaker);
    impl Drop for Settle<'_> {
        fn drop(&mut self) {
            if self.0.notified.swap(true, Ordering::AcqRel) {
                self.0.busy.fetch_sub(1, Ordering::SeqCst);
            }
        }
    }
    let _settle = Settle(&tw);
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

#[cfg(all(test, not(loom)))]
mod tests {
    use std::future::poll_fn;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::task::Poll;

    /// A wake that lands during the last poll leaves nothing behind: `busy` is back
    /// to zero when `run` returns, so the paused clock can advance again.
    #[test]
    fn a_wake_during_the_last_poll_leaves_busy_at_zero() {
        let busy = Arc::new(AtomicUsize::new(0));
        let mut polls = 0;
        let out = super::run(
            poll_fn(|cx| {
                polls += 1;
                cx.waker().wake_by_ref();
                if polls == 2 {
                    Poll::Ready(polls)
                } else {
                    Poll::Pending
                }
            }),
            &busy,
            || {},
        );
        assert_eq!(out, 2);
        assert_eq!(busy.load(Ordering::SeqCst), 0);
    }

    /// A wake after `run` returned (a waker kept by someone else) adds nothing.
    #[test]
    fn a_wake_after_run_returned_adds_nothing() {
        let busy = Arc::new(AtomicUsize::new(0));
        let mut kept = None;
        super::run(
            poll_fn(|cx| {
                kept = Some(cx.waker().clone());
                Poll::Ready(())
            }),
            &busy,
            || {},
        );
        kept.unwrap().wake();
        assert_eq!(busy.load(Ordering::SeqCst), 0);
    }
}

/// `RUSTFLAGS="--cfg loom" cargo test -p gorun-executor --release --lib loom`.
#[cfg(all(test, loom))]
mod loom_models {
    use std::future::poll_fn;
    use std::task::{Poll, Waker};

    use loom::sync::{Arc, Mutex};

    use crate::loom::{AtomicBool, AtomicUsize, Ordering};

    /// A future waiting for another thread's flag, woken through its stored waker:
    /// `run` never sleeps through the wake, and `busy` ends at zero however the wake
    /// and the polls interleave.
    #[test]
    fn loom_block_on_wake_from_another_thread() {
        loom::model(|| {
            // `run` takes std's `Arc` (its waker is a std `Wake`); the counter is loom's.
            let busy = std::sync::Arc::new(AtomicUsize::new(0));
            let flag = Arc::new(AtomicBool::new(false));
            let waker: Arc<Mutex<Option<Waker>>> = Arc::new(Mutex::new(None));
            // The setter is waited for by parking, not `join`: loom's join does not
            // tolerate the stray unpark a late wake may send to this thread.
            let done = Arc::new(AtomicBool::new(false));
            let main = loom::thread::current();
            {
                let (flag, waker, done) = (flag.clone(), waker.clone(), done.clone());
                loom::thread::spawn(move || {
                    flag.store(true, Ordering::SeqCst);
                    if let Some(w) = waker.lock().unwrap().take() {
                        w.wake();
                    }
                    done.store(true, Ordering::SeqCst);
                    main.unpark();
                });
            }
            super::run(
                poll_fn(|cx| {
                    if flag.load(Ordering::SeqCst) {
                        return Poll::Ready(());
                    }
                    *waker.lock().unwrap() = Some(cx.waker().clone());
                    if flag.load(Ordering::SeqCst) {
                        Poll::Ready(())
                    } else {
                        Poll::Pending
                    }
                }),
                &busy,
                || {},
            );
            while !done.load(Ordering::SeqCst) {
                loom::thread::park();
            }
            assert_eq!(busy.load(Ordering::SeqCst), 0);
        });
    }
}
