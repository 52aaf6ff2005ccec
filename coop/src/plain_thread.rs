//! The one thread-parking `block_on` behind the resources' blocking calls from plain
//! threads.

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};

struct ThreadWaker(Thread);

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

thread_local! {
    /// One waker per thread, made once: a blocking call allocates nothing for it.
    static THREAD_WAKER: Waker = Waker::from(Arc::new(ThreadWaker(thread::current())));
}

/// Runs `fut` to completion on this thread, parking it between polls: the blocking
/// forms of gorun's channel and `sync` operations (`blocking_send`, `blocking_recv`,
/// `blocking_lock`, ...) for plain threads, so sync and async code can share them.
///
/// # Panics
///
/// Inside a task's poll (on a runtime worker, or in `Runtime::block_on`): parking
/// there would stall the worker's other tasks, and deadlock if `fut` needs one of
/// them, so it panics with "cannot block a thread that is running gorun tasks"
/// (tokio's `blocking_*` methods refuse the same). Call the blocking form from a plain
/// thread or `gorun::spawn_blocking`, or `.await` the async form.
///
/// ```
/// let v = gorun_coop::block_on(async { 7 });
/// assert_eq!(v, 7);
/// ```
#[track_caller]
pub fn block_on<F: Future>(fut: F) -> F::Output {
    assert!(
        !crate::in_task(),
        "gorun: cannot block a thread that is running gorun tasks (a blocking call inside \
         async code): call it from a plain thread or spawn_blocking, or .await the async form"
    );
    let mut fut = pin!(fut);
    let mut park = |waker: &Waker| {
        let mut cx = Context::from_waker(waker);
        loop {
            if let Poll::Ready(out) = fut.as_mut().poll(&mut cx) {
                return out;
            }
            thread::park();
        }
    };
    match THREAD_WAKER.try_with(|waker| park(waker)) {
        Ok(out) => out,
        // During thread teardown: a waker of our own for this one call.
        Err(_) => park(&Waker::from(Arc::new(ThreadWaker(thread::current())))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parks_until_woken_from_another_thread() {
        let (tx, rx) = std::sync::mpsc::channel::<Waker>();
        let flag = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let f2 = flag.clone();
        let t = thread::spawn(move || {
            let w = rx.recv().unwrap();
            f2.store(true, std::sync::atomic::Ordering::SeqCst);
            w.wake();
        });
        let mut sent = Some(tx);
        let out = block_on(std::future::poll_fn(|cx| {
            if flag.load(std::sync::atomic::Ordering::SeqCst) {
                return Poll::Ready(42);
            }
            if let Some(tx) = sent.take() {
                tx.send(cx.waker().clone()).unwrap();
            }
            Poll::Pending
        }));
        assert_eq!(out, 42);
        t.join().unwrap();
    }

    #[test]
    #[should_panic(expected = "cannot block a thread that is running gorun tasks")]
    fn refuses_inside_a_task_poll() {
        crate::budget(|| block_on(async {}));
    }

    #[test]
    fn a_blocking_section_inside_a_poll_may_block() {
        crate::budget(|| {
            assert_eq!(crate::blocking_section(|| block_on(async { 3 })), 3);
            assert!(crate::in_task(), "the section did not restore the flag");
        });
    }

    #[test]
    fn unconstrained_stays_in_task_and_the_flag_ends_with_the_poll() {
        crate::budget(|| crate::unconstrained(|| assert!(crate::in_task())));
        assert!(!crate::in_task());
        assert_eq!(block_on(async { 1 }), 1);
    }
}
