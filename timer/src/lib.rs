//! gorun-timer: a hierarchical timing wheel behind `sleep`, `timeout`, `interval` and
//! Go's channel-shaped timers.
//!
//! - The wheel ([Varghese & Lauck](https://doi.org/10.1145/41457.37504), 6 levels of
//!   64 slots at 125 µs) makes arming, cancelling and expiring a timer O(1). A
//!   [`Sleep`] holds its entry inline (24 bytes) and the wheel links it through a
//!   node of its own, so arming one allocates nothing per timer, and dropping it
//!   unlinks it.
//! - A [`Driver`] has a wheel per worker (Go's per-P timers) and a clock that tests
//!   can [`pause()`] and [`advance`]. An executor enters a worker's shard on each
//!   worker, which arms and cancels its timers there without contending with the
//!   others; its due timers fire between its tasks, or from the worker parked in the
//!   driver, which sleeps until the earliest timer of any shard. On any other thread
//!   (tokio, `futures::executor`, plain threads) timers fall back to a global driver
//!   run by one background thread, so the crate works anywhere.
//! - Go 1.23's timer channels: [`after`], [`tick`], [`Timer`] and [`Ticker`] hand a
//!   receive the value at once when their deadline has passed, `after` is armed only
//!   while a receiver waits, and they are freed when their last receiver is dropped.
//! - A waker that panics when a timer fires is reported to the driver's
//!   [`PanicHandler`]; the driver goes on.
//! - Timers never fire early (deadlines round up to the next 125 µs tick) and fire
//!   within a few hundred microseconds of their deadline on an idle machine.
//!
//! ```
//! # futures::executor::block_on(async {
//! use std::time::Duration;
//! use gorun_timer::{sleep, timeout};
//!
//! sleep(Duration::from_millis(1)).await;
//! let r = timeout(Duration::from_millis(1), std::future::pending::<()>()).await;
//! assert!(r.is_err());
//! # });
//! ```
#![warn(missing_docs)]

// Under loom only `after_func` of it is built (see its module docs).
#[cfg(not(loom))]
mod chan_timeout;
#[cfg_attr(loom, allow(dead_code, unused))]
mod chan_timer;
mod clock;
mod current_driver;
mod driver;
mod entry;
mod handle;
mod instant;
mod interval;
pub(crate) mod loom;
mod pause;
mod sleep;
mod timeout;
mod wheel;

#[cfg(not(loom))]
pub use chan_timeout::{RecvTimeout, RecvTimeoutExt, SendTimeout, SendTimeoutExt};
#[cfg(not(loom))]
pub use chan_timer::{after, tick, Ticker, Timer};
pub use chan_timer::{after_func, AfterFunc};
pub use current_driver::EnterGuard;
pub use driver::{Driver, PanicHandler, Spawner, MAX_SHARDS};
pub use instant::Instant;
pub use interval::{interval, interval_at, Interval, MissedTickBehavior};
pub use pause::{advance, pause, resume};
pub use sleep::{sleep, sleep_until, Sleep};
pub use timeout::{timeout, timeout_at, Elapsed, Timeout};

#[cfg(test)]
mod tests;

#[cfg(all(test, loom))]
mod tests_loom;
