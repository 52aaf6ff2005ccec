//! gorun's `Instant`: a `std::time::Instant` read from the current driver's clock,
//! which may be paused or advanced by hand in tests.

use std::fmt;
use std::ops::{Add, AddAssign, Sub, SubAssign};
use std::time::Duration;

use crate::current_driver::with_current_clock;

/// A measurement of the runtime's monotonic clock.
///
/// Like [`std::time::Instant`] (and convertible to and from it), except that
/// [`Instant::now`] reads the current driver's clock: while it is
/// [paused](crate::pause()), `now` stands still and moves only by
/// [`advance`](crate::advance) (or auto-advance).
///
/// ```
/// use std::time::Duration;
/// use gorun_timer::{Driver, Instant};
///
/// let driver = Driver::new(std::sync::Arc::new(|| {}));
/// let _guard = driver.enter();
/// driver.pause();
/// let start = Instant::now();
/// driver.advance(Duration::from_secs(3600));
/// assert_eq!(start.elapsed(), Duration::from_secs(3600));
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant(std::time::Instant);

impl Instant {
    /// Now, on the current driver's clock (or the real clock without one).
    #[inline]
    pub fn now() -> Instant {
        Instant(with_current_clock(|c| c.now()))
    }

    /// Wraps a std instant.
    pub const fn from_std(std: std::time::Instant) -> Instant {
        Instant(std)
    }

    /// The std instant.
    pub const fn into_std(self) -> std::time::Instant {
        self.0
    }

    /// A deadline far in the future (about 30 years), as tokio uses for "never".
    pub fn far_future() -> Instant {
        Instant::now() + Duration::from_secs(86400 * 365 * 30)
    }

    /// Time from `earlier` to `self`, or zero if `earlier` is later.
    pub fn duration_since(&self, earlier: Instant) -> Duration {
        self.0.saturating_duration_since(earlier.0)
    }

    /// Time from `earlier` to `self`, or `None` if `earlier` is later.
    pub fn checked_duration_since(&self, earlier: Instant) -> Option<Duration> {
        self.0.checked_duration_since(earlier.0)
    }

    /// Time from `earlier` to `self`, or zero if `earlier` is later.
    pub fn saturating_duration_since(&self, earlier: Instant) -> Duration {
        self.0.saturating_duration_since(earlier.0)
    }

    /// Time since `self` on the current driver's clock.
    pub fn elapsed(&self) -> Duration {
        Instant::now().duration_since(*self)
    }

    /// `self + d`, or `None` on overflow.
    pub fn checked_add(&self, d: Duration) -> Option<Instant> {
        self.0.checked_add(d).map(Instant)
    }

    /// `self - d`, or `None` on underflow.
    pub fn checked_sub(&self, d: Duration) -> Option<Instant> {
        self.0.checked_sub(d).map(Instant)
    }
}

impl From<std::time::Instant> for Instant {
    fn from(i: std::time::Instant) -> Instant {
        Instant(i)
    }
}

impl From<Instant> for std::time::Instant {
    fn from(i: Instant) -> std::time::Instant {
        i.0
    }
}

impl Add<Duration> for Instant {
    type Output = Instant;
    /// # Panics
    /// On overflow, as `std::time::Instant` does.
    fn add(self, d: Duration) -> Instant {
        Instant(self.0 + d)
    }
}

impl AddAssign<Duration> for Instant {
    fn add_assign(&mut self, d: Duration) {
        self.0 += d;
    }
}

impl Sub<Duration> for Instant {
    type Output = Instant;
    fn sub(self, d: Duration) -> Instant {
        Instant(self.0 - d)
    }
}

impl SubAssign<Duration> for Instant {
    fn sub_assign(&mut self, d: Duration) {
        self.0 -= d;
    }
}

impl Sub<Instant> for Instant {
    type Output = Duration;
    /// Saturates at zero, as `std::time::Instant` does.
    fn sub(self, earlier: Instant) -> Duration {
        self.duration_since(earlier)
    }
}

impl fmt::Debug for Instant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}
