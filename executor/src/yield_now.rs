//! `yield_now`: Go's `runtime.Gosched`.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Yields the processor: the task goes to the back of its worker's run queue and
/// the others queued there run first (Go's `runtime.Gosched`).
///
/// ```
/// # let rt = gorun_executor::Runtime::builder().procs(1).build().unwrap();
/// # rt.block_on(async {
/// for _ in 0..3 {
///     gorun_executor::yield_now().await;
/// }
/// # });
/// ```
pub async fn yield_now() {
    struct YieldNow(bool);
    impl Future for YieldNow {
        type Output = ();
        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
            if self.0 {
                return Poll::Ready(());
            }
            self.0 = true;
            // Woken while running: the scheduler re-queues it at the back.
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
    YieldNow(false).await
}
