//! The cooperative budget: Go's preemption, in async form.
//!
//! A goroutine in Go is preempted when it runs too long. An async task cannot be
//! preempted, so gorun does what tokio does: each poll of a task gets a budget of
//! operations, every gorun resource (channel, timer, socket) charges one unit per
//! operation that makes progress, and once the budget is spent the resource answers
//! `Poll::Pending` after waking the task, so it goes to the back of its run queue and
//! its neighbours get a turn.
//!
//! This crate is the hook between the executor and the resources, which must not
//! depend on each other: the executor wraps each poll in [`budget`], resources call
//! [`poll_proceed`]. Outside a gorun executor (on tokio, or in `futures::executor`)
//! no budget is set and every operation proceeds.
//!
//! It also holds the [`block_on`] that the resources' blocking calls
//! (`blocking_send`, `blocking_lock`, ...) share: it parks a plain thread, and refuses
//! to park a thread that is polling a task.
//!
//! The same hook carries the *wait reason* ([`set_wait_reason`]): what a task that
//! returns `Pending` waits on, so a task dump can say `[chan receive]` (see
//! [`WaitReason`] for the rule when several resources set one).
//!
//! ```
//! use std::task::Poll;
//!
//! let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
//! // Outside an executor the budget is unconstrained.
//! assert!(gorun_coop::poll_proceed(&mut cx).is_ready());
//! // Inside one, the budget runs out after INITIAL_BUDGET charges.
//! gorun_coop::budget(|| {
//!     for _ in 0..gorun_coop::INITIAL_BUDGET {
//!         match gorun_coop::poll_proceed(&mut cx) {
//!             Poll::Ready(progress) => progress.made_progress(),
//!             Poll::Pending => unreachable!(),
//!         }
//!     }
//!     assert!(gorun_coop::poll_proceed(&mut cx).is_pending());
//! });
//! ```
#![warn(missing_docs)]

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

mod plain_thread;
mod wait;

pub use plain_thread::block_on;
pub use wait::{set_wait_reason, take_wait_reason, WaitReason};

/// Operations a task may perform in one poll before its resources make it yield.
///
/// Tokio uses 128 as well; it is large enough that the bookkeeping is noise and small
/// enough that a busy task gives way within tens of microseconds.
pub const INITIAL_BUDGET: u8 = 128;

/// `None` = unconstrained (no executor set a budget); `Some(n)` = n charges left.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Budget(Option<u8>);

thread_local! {
    static BUDGET: Cell<Budget> = const { Cell::new(Budget(None)) };
    /// Whether this thread is inside a task's poll ([`budget`]), for [`block_on`].
    static IN_TASK: Cell<bool> = const { Cell::new(false) };
}

/// Restores the previous budget (and, from [`budget`], the previous in-task flag)
/// when dropped, so nested calls (and panics) unwind them.
struct ResetGuard {
    budget: Budget,
    in_task: Option<bool>,
}

impl Drop for ResetGuard {
    fn drop(&mut self) {
        let prev = self.budget;
        let _ = BUDGET.try_with(|b| b.set(prev));
        if let Some(prev) = self.in_task {
            let _ = IN_TASK.try_with(|t| t.set(prev));
        }
    }
}

/// Runs `f` with `budget` and, if given, the in-task flag set; both are restored
/// when it returns or unwinds.
#[inline]
fn with_state<R>(budget: Budget, in_task: Option<bool>, f: impl FnOnce() -> R) -> R {
    let budget = BUDGET.with(|b| b.replace(budget));
    let in_task = in_task.map(|flag| IN_TASK.with(|t| t.replace(flag)));
    let _reset = ResetGuard { budget, in_task };
    f()
}

/// Runs `f` with a fresh budget of [`INITIAL_BUDGET`]. Executors call this around
/// each poll of a task.
pub fn budget<R>(f: impl FnOnce() -> R) -> R {
    with_state(Budget(Some(INITIAL_BUDGET)), Some(true), f)
}

/// Runs `f` with no budget: resources never force a yield inside it.
pub fn unconstrained<R>(f: impl FnOnce() -> R) -> R {
    with_state(Budget(None), None, f)
}

/// Runs `f` as code that may block its thread: with no budget, and outside any
/// task as far as [`in_task`] (and so [`block_on`]) can tell. Executors run
/// `spawn_blocking` and `block_in_place` closures in it.
pub fn blocking_section<R>(f: impl FnOnce() -> R) -> R {
    with_state(Budget(None), Some(false), f)
}

/// Whether this thread is polling a task now: inside [`budget`], as a runtime
/// worker's polls and `Runtime::block_on`'s are, and not in a [`blocking_section`]
/// within it.
pub fn in_task() -> bool {
    IN_TASK.try_with(Cell::get).unwrap_or(false)
}

/// Whether the current task may still perform an operation without yielding.
pub fn has_budget_remaining() -> bool {
    BUDGET.try_with(|b| b.get().0 != Some(0)).unwrap_or(true)
}

/// Charges one unit of the current task's budget.
///
/// Returns `Poll::Pending` (after waking the task, so it is rescheduled at the back of
/// its queue) when the budget is spent. On `Ready`, the caller performs its operation
/// and calls [`RestoreOnPending::made_progress`] if it completed; if the operation
/// turned out to be `Pending` anyway, dropping the guard refunds the unit.
#[inline]
pub fn poll_proceed(cx: &mut Context<'_>) -> Poll<RestoreOnPending> {
    let Ok(budget) = BUDGET.try_with(|b| b.get()) else {
        return Poll::Ready(RestoreOnPending(Cell::new(Budget(None))));
    };
    match budget.0 {
        None => Poll::Ready(RestoreOnPending(Cell::new(budget))),
        Some(0) => {
            cx.waker().wake_by_ref();
            Poll::Pending
        }
        Some(n) => {
            BUDGET.with(|b| b.set(Budget(Some(n - 1))));
            Poll::Ready(RestoreOnPending(Cell::new(budget)))
        }
    }
}

/// The unit charged by [`poll_proceed`]; refunded on drop unless
/// [`made_progress`](RestoreOnPending::made_progress) was called.
#[must_use = "drop it after the operation; call made_progress() if it completed"]
#[derive(Debug)]
pub struct RestoreOnPending(Cell<Budget>);

impl RestoreOnPending {
    /// The operation completed: keep the unit spent.
    #[inline]
    pub fn made_progress(&self) {
        self.0.set(Budget(None));
    }
}

impl Drop for RestoreOnPending {
    fn drop(&mut self) {
        let prev = self.0.get();
        if prev.0.is_some() {
            let _ = BUDGET.try_with(|b| b.set(prev));
        }
    }
}

/// Charges one unit and yields if the budget is spent: a cooperative preemption
/// point for CPU-bound loops.
pub async fn consume_budget() {
    struct Consume(bool);
    impl Future for Consume {
        type Output = ();
        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
            if self.0 {
                return Poll::Ready(());
            }
            match poll_proceed(cx) {
                Poll::Ready(p) => {
                    p.made_progress();
                    self.0 = true;
                    Poll::Ready(())
                }
                Poll::Pending => Poll::Pending,
            }
        }
    }
    Consume(false).await
}

/// Wakes `waker`, catching a panic in it: the payload comes back as the error
/// instead of unwinding into the caller. A runtime's drivers (the timer wheel, the
/// reactor, a task's completion) wake through this, so a user's waker that panics
/// is reported like a task's panic and cannot take a worker, or a lock the driver
/// holds, down with it.
///
/// ```
/// use std::sync::Arc;
/// use std::task::{Wake, Waker};
///
/// struct Bad;
/// impl Wake for Bad {
///     fn wake(self: Arc<Self>) {
///         panic!("bad waker");
///     }
/// }
/// # std::panic::set_hook(Box::new(|_| {})); // keep the test's output clean
/// let err = gorun_coop::wake_catching(Waker::from(Arc::new(Bad))).unwrap_err();
/// assert_eq!(err.downcast_ref::<&str>(), Some(&"bad waker"));
/// ```
pub fn wake_catching(waker: std::task::Waker) -> Result<(), Box<dyn std::any::Any + Send>> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| waker.wake()))
}

/// As [`wake_catching`], for a waker the caller keeps.
pub fn wake_by_ref_catching(waker: &std::task::Waker) -> Result<(), Box<dyn std::any::Any + Send>> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| waker.wake_by_ref()))
}

/// Returns `Pending` once, having woken its task: on gorun the task goes to the back of
/// its run queue (Go's `runtime.Gosched`; `gorun::yield_now` is this). Lives here so
/// the timer crate can yield without depending on the executor.
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::task::Waker;

    fn cx_noop() -> Context<'static> {
        Context::from_waker(Waker::noop())
    }

    #[test]
    fn unconstrained_outside_executor() {
        let mut cx = cx_noop();
        for _ in 0..1000 {
            assert!(poll_proceed(&mut cx).is_ready());
        }
        assert!(has_budget_remaining());
    }

    #[test]
    fn refund_on_pending() {
        let mut cx = cx_noop();
        budget(|| {
            for _ in 0..1000 {
                // Never call made_progress: every unit is refunded.
                let Poll::Ready(guard) = poll_proceed(&mut cx) else {
                    panic!("budget should be refunded")
                };
                drop(guard);
            }
            assert!(has_budget_remaining());
        });
    }

    #[test]
    fn exhausts_and_restores_after_scope() {
        let mut cx = cx_noop();
        budget(|| {
            for _ in 0..INITIAL_BUDGET {
                let Poll::Ready(g) = poll_proceed(&mut cx) else {
                    panic!()
                };
                g.made_progress();
            }
            assert!(!has_budget_remaining());
            assert!(poll_proceed(&mut cx).is_pending());
            unconstrained(|| assert!(poll_proceed(&mut cx).is_ready()));
            assert!(!has_budget_remaining());
        });
        assert!(has_budget_remaining());
    }
}
