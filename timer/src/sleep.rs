//! `Sleep`: a future that completes at a deadline, holding its wheel entry inline.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use pin_project_lite::pin_project;

use crate::clock::NEVER;
use crate::context::with_current;
use crate::entry::{Entry, FIRED};
use crate::{Driver, Instant};

/// Waits until `duration` has elapsed (Go's `time.Sleep`, tokio's `sleep`).
///
/// The deadline is rounded up to the driver's 1 ms tick, so the sleep never completes
/// early. `Duration::ZERO` completes on first poll; a duration too large to add to
/// now (`Duration::MAX`) never completes.
///
/// ```
/// # futures::executor::block_on(async {
/// use std::time::Duration;
/// let start = gorun_timer::Instant::now();
/// gorun_timer::sleep(Duration::from_millis(10)).await;
/// assert!(start.elapsed() >= Duration::from_millis(10));
/// # });
/// ```
pub fn sleep(duration: Duration) -> Sleep {
    with_current(|driver| {
        let now = driver.now();
        match now.checked_add(duration) {
            Some(deadline) => {
                let sleep = Sleep::with_driver(driver.clone(), deadline);
                if duration.is_zero() {
                    sleep.entry.set_state(FIRED); // not linked: ours to set
                }
                sleep
            }
            None => Sleep::never(driver.clone(), now),
        }
    })
}

/// Waits until `deadline` (on the current driver's clock). A deadline in the past
/// completes on first poll.
pub fn sleep_until(deadline: Instant) -> Sleep {
    with_current(|driver| Sleep::with_driver(driver.clone(), deadline))
}

pin_project! {
    /// The future returned by [`sleep`] and [`sleep_until`].
    ///
    /// Arming it (the first poll that returns `Pending`) links it into the driver's
    /// wheel without allocating; dropping or resetting it unlinks it. It is bound to
    /// the driver current where it was created. Charges the cooperative budget when it
    /// completes. `!Unpin`: pin it (`std::pin::pin!`, `Box::pin`) to poll it by hand.
    ///
    /// If the driver [shuts down](Driver::shutdown) first, it never completes.
    #[must_use = "futures do nothing unless you `.await` or poll them"]
    pub struct Sleep {
        deadline: Instant,
        when: u64,
        driver: Driver,
        #[pin]
        entry: Entry,
    }

    impl PinnedDrop for Sleep {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            this.driver.cancel(this.entry.as_ref());
        }
    }
}

impl Sleep {
    pub(crate) fn with_driver(driver: Driver, deadline: Instant) -> Sleep {
        let when = driver.tick_for(deadline);
        Sleep {
            deadline,
            when,
            driver,
            entry: Entry::new(),
        }
    }

    fn never(driver: Driver, now: Instant) -> Sleep {
        Sleep {
            deadline: now + Duration::from_secs(86400 * 365 * 30),
            when: NEVER,
            driver,
            entry: Entry::new(),
        }
    }

    /// The deadline (for a sleep that never completes, about 30 years from its start).
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// Whether the deadline has been observed to pass (the driver fired it, or a poll
    /// found it due).
    pub fn is_elapsed(&self) -> bool {
        self.entry.state() == FIRED
    }

    /// Moves the deadline, re-arming the sleep even if it had completed. If a task is
    /// waiting on it, it stays registered with the new deadline.
    pub fn reset(self: Pin<&mut Self>, deadline: Instant) {
        let this = self.project();
        *this.deadline = deadline;
        *this.when = this.driver.tick_for(deadline);
        let (_, due) = this
            .driver
            .reset_entry(this.entry.as_ref(), *this.when, None);
        if let Some(w) = due {
            w.wake();
        }
    }

    /// Polls without charging the cooperative budget (for [`Timeout`](crate::Timeout)).
    pub(crate) fn poll_elapsed(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.project();
        this.driver
            .poll_entry(this.entry.as_ref(), *this.when, cx.waker())
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let coop = std::task::ready!(gorun_coop::poll_proceed(cx));
        let r = self.poll_elapsed(cx);
        if r.is_ready() {
            coop.made_progress();
        } else {
            gorun_coop::set_wait_reason(gorun_coop::WaitReason::Sleep);
        }
        r
    }
}

impl fmt::Debug for Sleep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sleep")
            .field("deadline", &self.deadline)
            .field("elapsed", &self.is_elapsed())
            .finish()
    }
}
