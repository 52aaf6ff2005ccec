//! The paused clock for tests: `pause`, `resume`, `advance` on the current driver.

use std::time::Duration;

use crate::current_driver::with_current;

/// Freezes the current driver's clock (the global driver's, on a thread without one).
///
/// Time then moves only by [`advance`], or, on the gorun runtime, by auto-advance:
/// when every task is idle, the clock jumps to the next deadline, so a test of a
/// one-hour timeout runs in milliseconds. Pausing rounds the clock up to a whole
/// tick of the wheel (125 µs), so sleeps of whole milliseconds wake at exactly
/// their deadline.
pub fn pause() {
    with_current(|h| h.driver().pause());
}

/// Lets the current driver's clock run again, from where it was frozen.
pub fn resume() {
    with_current(|h| h.driver().resume());
}

/// Moves the current driver's clock forward by `duration`, fires the timers that
/// became due, and yields once so the tasks they woke can run.
///
/// ```
/// # futures::executor::block_on(async {
/// use std::time::Duration;
/// use gorun_timer::{Driver, Instant};
///
/// let driver = Driver::new(std::sync::Arc::new(|| {}));
/// let _guard = driver.enter();
/// gorun_timer::pause();
/// let start = Instant::now();
/// gorun_timer::advance(Duration::from_secs(90)).await;
/// assert_eq!(start.elapsed(), Duration::from_secs(90));
/// # });
/// ```
pub async fn advance(duration: Duration) {
    with_current(|h| h.driver().advance(duration));
    gorun_coop::yield_now().await;
}
