//! `Interval`: tokio's periodic timer, with a documented missed-tick policy.

use std::future::poll_fn;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use crate::{sleep_until, Instant, Sleep};

/// A tick is "missed" when it is observed more than this late (tokio uses the same).
const MISSED_SLACK: Duration = Duration::from_millis(5);

/// Ticks every `period`, the first tick completing immediately.
///
/// # Panics
/// If `period` is zero.
///
/// ```
/// # futures::executor::block_on(async {
/// use std::time::Duration;
/// let mut iv = gorun_timer::interval(Duration::from_millis(2));
/// let first = iv.tick().await; // immediately
/// let second = iv.tick().await;
/// assert!(second - first >= Duration::from_millis(2));
/// # });
/// ```
pub fn interval(period: Duration) -> Interval {
    interval_at(Instant::now(), period)
}

/// Ticks every `period`, the first tick at `start`.
///
/// # Panics
/// If `period` is zero.
pub fn interval_at(start: Instant, period: Duration) -> Interval {
    assert!(
        !period.is_zero(),
        "gorun_timer::interval: period must be non-zero"
    );
    Interval {
        delay: Box::pin(sleep_until(start)),
        period,
        missed_tick_behavior: MissedTickBehavior::default(),
    }
}

/// What an [`Interval`] does when ticks were missed (the task was busy, or the runtime
/// stalled, for more than a period).
///
/// With period 10 ms, ticks due at 10, 20, 30, ... and the task next polling at 35 ms:
///
/// | policy  | ticks it then returns at           | schedule afterwards |
/// |---------|------------------------------------|---------------------|
/// | `Burst` | 35, 35 (for 20 and 30), then 40    | 40, 50, ... (kept)  |
/// | `Delay` | 35, then 45                        | 45, 55, ... (moved) |
/// | `Skip`  | 35, then 40                        | 40, 50, ... (kept)  |
///
/// Go's `Ticker` behaves like `Skip` (its channel holds one tick and drops the rest).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MissedTickBehavior {
    /// Catch up: return the missed ticks back to back (tokio's default, and ours).
    #[default]
    Burst,
    /// Restart the schedule a full period after the late tick.
    Delay,
    /// Drop the missed ticks and resume on the original schedule.
    Skip,
}

impl MissedTickBehavior {
    fn next_timeout(self, timeout: Instant, now: Instant, period: Duration) -> Instant {
        match self {
            MissedTickBehavior::Burst => later(timeout, period),
            MissedTickBehavior::Delay => later(now, period),
            MissedTickBehavior::Skip => {
                let late = now.duration_since(timeout).as_nanos();
                let rem = (late % period.as_nanos()) as u64;
                later(now, period - Duration::from_nanos(rem))
            }
        }
    }
}

/// `t + d`, or a deadline that never comes if that overflows (`Duration::MAX`).
fn later(t: Instant, d: Duration) -> Instant {
    t.checked_add(d).unwrap_or_else(Instant::far_future)
}

/// A periodic timer; see [`interval`].
#[derive(Debug)]
pub struct Interval {
    delay: Pin<Box<Sleep>>,
    period: Duration,
    missed_tick_behavior: MissedTickBehavior,
}

impl Interval {
    /// Waits for the next tick and returns the instant it was due.
    pub async fn tick(&mut self) -> Instant {
        poll_fn(|cx| self.poll_tick(cx)).await
    }

    /// Polls for the next tick.
    pub fn poll_tick(&mut self, cx: &mut Context<'_>) -> Poll<Instant> {
        if std::future::Future::poll(self.delay.as_mut(), cx).is_pending() {
            gorun_coop::set_wait_reason(gorun_coop::WaitReason::Ticker);
            return Poll::Pending;
        }
        let timeout = self.delay.deadline();
        let now = Instant::now();
        let next = if now.duration_since(timeout) > MISSED_SLACK {
            self.missed_tick_behavior
                .next_timeout(timeout, now, self.period)
        } else {
            later(timeout, self.period)
        };
        self.delay.as_mut().reset(next);
        Poll::Ready(timeout)
    }

    /// Restarts the schedule: the next tick is a period from now.
    pub fn reset(&mut self) {
        self.reset_at(later(Instant::now(), self.period));
    }

    /// The next tick completes immediately.
    pub fn reset_immediately(&mut self) {
        self.reset_at(Instant::now());
    }

    /// The next tick is `after` from now.
    pub fn reset_after(&mut self, after: Duration) {
        self.reset_at(later(Instant::now(), after));
    }

    /// The next tick is at `deadline`.
    pub fn reset_at(&mut self, deadline: Instant) {
        self.delay.as_mut().reset(deadline);
    }

    /// The policy for missed ticks.
    pub fn missed_tick_behavior(&self) -> MissedTickBehavior {
        self.missed_tick_behavior
    }

    /// Sets the policy for missed ticks.
    pub fn set_missed_tick_behavior(&mut self, behavior: MissedTickBehavior) {
        self.missed_tick_behavior = behavior;
    }

    /// The period.
    pub fn period(&self) -> Duration {
        self.period
    }
}

impl futures_core::Stream for Interval {
    type Item = Instant;
    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Instant>> {
        self.get_mut().poll_tick(cx).map(Some)
    }
}
