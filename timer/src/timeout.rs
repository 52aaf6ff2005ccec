//! `timeout`: a future with a deadline.

use std::fmt;
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use pin_project_lite::pin_project;

use crate::{sleep, sleep_until, Instant, Sleep};

/// Requires `future` to complete within `duration`, else `Err(Elapsed)` (and the
/// future is dropped).
///
/// Around a channel send, `Err(Elapsed)` does not prove the value was not
/// delivered: a receiver may take it after the last poll and before the drop. Use
/// [`SendTimeoutExt::send_timeout`](crate::SendTimeoutExt::send_timeout) there, which
/// is exact.
///
/// The inner future is polled first, so a ready future wins even with a zero
/// duration. The clock is read, and the timer armed, only when the inner future first
/// returns `Pending`: so the duration counts from the first poll (immediately, for
/// `timeout(d, f).await`), and a future that is ready at once costs no clock read and
/// no timer. Use [`timeout_at`] for a fixed deadline.
///
/// ```
/// # futures::executor::block_on(async {
/// use std::time::Duration;
/// use gorun_timer::timeout;
///
/// assert_eq!(timeout(Duration::from_millis(5), async { 7 }).await, Ok(7));
/// let never = std::future::pending::<()>();
/// assert!(timeout(Duration::from_millis(5), never).await.is_err());
/// # });
/// ```
pub fn timeout<F: IntoFuture>(duration: Duration, future: F) -> Timeout<F::IntoFuture> {
    Timeout {
        value: future.into_future(),
        deadline: Deadline::After(duration),
        delay: None,
    }
}

/// Requires `future` to complete before `deadline`, else `Err(Elapsed)`.
pub fn timeout_at<F: IntoFuture>(deadline: Instant, future: F) -> Timeout<F::IntoFuture> {
    Timeout {
        value: future.into_future(),
        deadline: Deadline::At(deadline),
        delay: None,
    }
}

#[derive(Debug, Clone, Copy)]
enum Deadline {
    After(Duration),
    At(Instant),
}

pin_project! {
    /// The future returned by [`timeout`] and [`timeout_at`].
    #[must_use = "futures do nothing unless you `.await` or poll them"]
    pub struct Timeout<F> {
        #[pin]
        value: F,
        deadline: Deadline,
        #[pin]
        delay: Option<Sleep>,
    }
}

impl<F> Timeout<F> {
    /// The inner future.
    pub fn get_ref(&self) -> &F {
        &self.value
    }

    /// The inner future.
    pub fn get_mut(&mut self) -> &mut F {
        &mut self.value
    }

    /// The inner future, dropping the timer.
    pub fn into_inner(self) -> F {
        self.value
    }
}

impl<F: Future> Future for Timeout<F> {
    type Output = Result<F::Output, Elapsed>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        let had_budget = gorun_coop::has_budget_remaining();
        if let Poll::Ready(v) = this.value.poll(cx) {
            return Poll::Ready(Ok(v));
        }
        if this.delay.is_none() {
            this.delay.set(Some(match *this.deadline {
                Deadline::After(d) => sleep(d),
                Deadline::At(t) => sleep_until(t),
            }));
        }
        let delay = this.delay.as_pin_mut().expect("set above");
        // The timer charges the cooperative budget like the resources it wraps, so a
        // loop over an already-elapsed timeout still yields. Unless the inner future
        // spent the last unit in this very poll: then the timer is polled without a
        // budget, or a future that always spends it would never time out (tokio
        // does the same).
        let r = if had_budget && !gorun_coop::has_budget_remaining() {
            gorun_coop::unconstrained(|| delay.poll(cx))
        } else {
            delay.poll(cx)
        }
        .map(|()| Err(Elapsed(())));
        if r.is_pending() {
            // Set after the inner future's: the outer reason wins.
            gorun_coop::set_wait_reason(gorun_coop::WaitReason::Timeout);
        }
        r
    }
}

impl<F: fmt::Debug> fmt::Debug for Timeout<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Timeout")
            .field("value", &self.value)
            .field("deadline", &self.deadline)
            .finish()
    }
}

/// The error of [`timeout`]: the deadline passed first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Elapsed(());

impl fmt::Display for Elapsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("deadline has elapsed")
    }
}

impl std::error::Error for Elapsed {}

/// An elapsed timeout as an I/O error of kind `TimedOut` (as tokio's), so `?`
/// works on a `timeout` inside a function returning `io::Result`.
///
/// ```
/// use std::time::Duration;
///
/// async fn read_with_deadline() -> std::io::Result<()> {
///     gorun_timer::timeout(Duration::from_millis(1), std::future::pending::<()>()).await?;
///     Ok(())
/// }
/// let err = futures::executor::block_on(read_with_deadline()).unwrap_err();
/// assert_eq!(err.kind(), std::io::ErrorKind::TimedOut);
/// ```
impl From<Elapsed> for std::io::Error {
    fn from(e: Elapsed) -> std::io::Error {
        std::io::Error::new(std::io::ErrorKind::TimedOut, e)
    }
}
