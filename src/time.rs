//! Time: Go's `time` package and tokio's `time` module, on gorun's timer wheel.
//!
//! | Go | gorun |
//! |---|---|
//! | `time.Sleep(d)` | [`sleep`]`(d).await` |
//! | `time.After(d)` (in `select`) | [`after`]`(d)`: a channel receiving the instant once |
//! | `time.NewTimer(d)`, `t.Stop()`, `t.Reset(d)` | [`Timer::new`], [`Timer::stop`], [`Timer::reset`] (Go 1.23 semantics: no stale value) |
//! | `time.NewTicker(d)`, `time.Tick(d)` | [`Ticker::new`], [`tick`] (one buffered tick, the rest dropped) |
//! | `time.AfterFunc(d, f)` | [`after_func`]`(d, f)`: runs `f` as a new task |
//! | `context.WithTimeout` for one call | [`timeout`]`(d, fut).await` → `Result<T, Elapsed>` |
//! | `select { case c <- v: case <-time.After(d): }` | `tx.`[`send_timeout`](SendTimeoutExt::send_timeout)`(v, d).await` (the value back on timeout) |
//! | `select { case v := <-c: case <-time.After(d): }` | `rx.`[`recv_timeout`](RecvTimeoutExt::recv_timeout)`(d).await` |
//!
//! For tokio users: [`sleep_until`], [`timeout_at`], [`interval`] with a documented
//! [`MissedTickBehavior`], and a paused clock for tests: [`pause`], [`advance`],
//! [`resume`]; on a runtime built with `start_paused(true)`, the clock jumps to the next
//! deadline whenever every task is idle, so a test of a one-hour timeout runs in
//! milliseconds. [`Instant::now`] reads that clock.
//!
//! Timers live in hierarchical timing wheels, one per worker (6 levels × 64 slots at
//! 125 µs): arming, cancelling and firing are O(1), a [`Sleep`] allocates nothing, a
//! timer never fires early and fires within a few hundred microseconds of its
//! deadline. As in Go 1.23, a timer channel nobody can receive from is freed at once,
//! and `after` in a `select!` that another case wins never reaches the wheel.
//!
//! ```
//! use std::time::Duration;
//! use gorun::time::{sleep, timeout};
//!
//! # futures::executor::block_on(async {
//! sleep(Duration::from_millis(1)).await;
//! let r = timeout(Duration::from_millis(1), std::future::pending::<()>()).await;
//! assert!(r.is_err());
//! # });
//! ```

/// `std::time::Duration`, here as in tokio's `time` module.
pub use std::time::Duration;

pub use gorun_timer::{
    advance, after_func, interval, interval_at, pause, resume, sleep, sleep_until, timeout,
    timeout_at, AfterFunc, Elapsed, Instant, Interval, MissedTickBehavior, Sleep, Timeout,
};
// Timer channels are left out of loom builds (see gorun-timer's `chan_timer`).
#[cfg(not(loom))]
pub use gorun_timer::{
    after, tick, RecvTimeout, RecvTimeoutExt, SendTimeout, SendTimeoutExt, Ticker, Timer,
};

/// The timer driver, for executors; gorun's runtime creates and drives one.
#[doc(hidden)]
pub use gorun_timer::{Driver, EnterGuard, Spawner};
