//! `Sleep`: a future that completes at a deadline, holding its wheel entry inline.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use pin_project_lite::pin_project;

use crate::clock::nanos;
use crate::current_driver::with_current;
use crate::driver::NEVER_NS;
use crate::entry::{Entry, FIRED, UNREGISTERED};
use crate::handle::Handle;
use crate::Instant;

/// Waits until `duration` has elapsed (Go's `time.Sleep`, tokio's `sleep`).
///
/// The deadline is rounded up to the driver's 125 µs tick, so the sleep never completes
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
#[inline]
pub fn sleep(duration: Duration) -> Sleep {
    // Built here, in the caller, from two words returned in registers: built behind
    // a call, the `Sleep` was written field by field and copied out in wide loads
    // that stalled on store forwarding.
    let (handle, deadline_ns) = sleep_deadline(duration);
    let state = if duration.is_zero() {
        FIRED
    } else {
        UNREGISTERED
    };
    Sleep::at_ns(handle, deadline_ns, state)
}

/// The current handle and the `deadline_ns` of a sleep of `duration` from now.
fn sleep_deadline(duration: Duration) -> (Handle, u64) {
    with_current(|handle| {
        // Nanoseconds since the driver's origin throughout: one clock read and
        // integer adds, no `Instant` arithmetic.
        let now = handle.driver().clock().now_ns();
        let deadline = finite_or_never(nanos(duration).and_then(|d| now.checked_add(d)), || now);
        (handle.clone(), deadline)
    })
}

/// Waits until `deadline` (on the current driver's clock). A deadline that has
/// passed completes on first poll.
pub fn sleep_until(deadline: Instant) -> Sleep {
    with_current(|handle| {
        let deadline_ns = deadline_ns_for(handle, deadline);
        let state = if deadline_ns <= handle.driver().clock().now_ns() {
            FIRED
        } else {
            UNREGISTERED
        };
        Sleep::at_ns(handle.clone(), deadline_ns, state)
    })
}

/// Marks a `Sleep`'s `deadline_ns` as a sleep that never completes.
const NEVER_BIT: u64 = 1 << 63;
/// How far "never" lies, for [`Sleep::deadline`] (tokio's `far_future`).
const FAR_FUTURE: Duration = Duration::from_secs(86400 * 365 * 30);

/// The `deadline_ns` of a sleep that never completes, created at `now_ns`.
fn never_ns(now_ns: u64) -> u64 {
    let far = nanos(FAR_FUTURE).unwrap_or(0);
    (now_ns.saturating_add(far) & !NEVER_BIT) | NEVER_BIT
}

/// The deadline the driver is given for this `deadline_ns`: itself, or [`NEVER_NS`].
fn due_ns(deadline_ns: u64) -> u64 {
    if deadline_ns & NEVER_BIT != 0 {
        NEVER_NS
    } else {
        deadline_ns
    }
}

/// The `deadline_ns` of a sleep due `ns` after the origin: never when that is
/// unknown (`None`: it overflowed) or too far to represent (over 292 years after the
/// driver started); `now_ns` is read only then.
pub(crate) fn finite_or_never(ns: Option<u64>, now_ns: impl FnOnce() -> u64) -> u64 {
    match ns {
        Some(ns) if ns < NEVER_BIT => ns,
        _ => never_ns(now_ns()),
    }
}

/// The `deadline_ns` of a sleep until `deadline`.
fn deadline_ns_for(handle: &Handle, deadline: Instant) -> u64 {
    let clock = handle.driver().clock();
    finite_or_never(clock.ns_for(deadline.into_std()), || clock.now_ns())
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
        // The deadline in nanoseconds since the driver's origin. With `NEVER_BIT`
        // set the sleep never completes, and the rest is its start plus
        // `FAR_FUTURE` (what `deadline` reports).
        deadline_ns: u64,
        handle: Handle,
        #[pin]
        entry: Entry,
    }

    impl PinnedDrop for Sleep {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            this.handle.driver().cancel(this.entry.as_ref());
        }
    }
}

impl Sleep {
    /// A sleep due at `deadline_ns`, its entry in `state` (`UNREGISTERED`, or
    /// `FIRED` if due already) and recording the handle's shard.
    #[inline]
    fn at_ns(handle: Handle, deadline_ns: u64, state: u8) -> Sleep {
        Sleep {
            deadline_ns,
            entry: Entry::with_state(state, handle.shard()),
            handle,
        }
    }

    /// The deadline (for a sleep that never completes, about 30 years from its start;
    /// for one created with a deadline before its driver started, that start).
    pub fn deadline(&self) -> Instant {
        Instant::from_std(
            self.handle
                .driver()
                .clock()
                .instant_of_ns(self.deadline_ns & !NEVER_BIT),
        )
    }

    /// Whether the deadline has been observed to pass (the driver fired it, or it was
    /// due when it was created or reset).
    pub fn is_elapsed(&self) -> bool {
        self.entry.state() == FIRED
    }

    /// Moves the deadline, re-arming the sleep even if it had completed. If a task is
    /// waiting on it, it stays registered with the new deadline, and is woken at once
    /// if that deadline has passed.
    pub fn reset(self: Pin<&mut Self>, deadline: Instant) {
        let this = self.project();
        *this.deadline_ns = deadline_ns_for(this.handle, deadline);
        let (_, due) =
            this.handle
                .driver()
                .reset_entry(this.entry.as_ref(), due_ns(*this.deadline_ns), None);
        if let Some(w) = due {
            w.wake();
        }
    }

    /// Polls without charging the cooperative budget (for [`Timeout`](crate::Timeout)).
    pub(crate) fn poll_elapsed(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let due = due_ns(self.deadline_ns);
        let this = self.project();
        this.handle
            .driver()
            .poll_entry(this.entry.as_ref(), due, cx.waker())
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
            .field("deadline", &self.deadline())
            .field("elapsed", &self.is_elapsed())
            .finish()
    }
}
