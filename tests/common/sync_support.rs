//! What the tests of the tokio-shaped sync types (oneshot, broadcast, watch,
//! Barrier) share: a single poll with a no-op waker, a waker that counts its wakes,
//! and the wait reason a task dump shows for a future.
#![allow(dead_code)] // each test binary uses a subset

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

/// Polls `f` once with a waker that does nothing.
pub fn poll_once<F: Future + ?Sized>(f: Pin<&mut F>) -> Poll<F::Output> {
    f.poll(&mut Context::from_waker(Waker::noop()))
}

/// Spawns `fut` on a fresh runtime and returns what the task dump says it waits on.
pub fn dump_wait_reason(
    fut: impl Future<Output = ()> + Send + 'static,
) -> Option<gorun::WaitReason> {
    let rt = gorun::Runtime::builder().procs(1).build().unwrap();
    let h = rt.spawn(fut);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let dump = rt.handle().dump();
        if let Some(t) = dump
            .tasks
            .iter()
            .find(|t| t.state == gorun::TaskState::Waiting)
        {
            h.abort();
            return t.wait;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "never waited:\n{dump}"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// A waker that counts how often it was woken.
pub struct CountWaker(pub AtomicUsize);

impl Wake for CountWaker {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, SeqCst);
    }
}

/// A counting waker and its count.
pub fn counting_waker() -> (Arc<CountWaker>, Waker) {
    let c = Arc::new(CountWaker(AtomicUsize::new(0)));
    (c.clone(), Waker::from(c))
}

/// Compiles only if `T` is `Send`.
pub fn assert_send<T: Send>(_: &T) {}
