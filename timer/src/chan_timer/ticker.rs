//! `Ticker` and `tick`: Go's periodic channel timers.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use gorun_channel::Receiver;

use super::{Action, Core};
use crate::Instant;

/// A channel that receives the instant of each tick, every `period` (Go's `time.Tick`).
/// It ticks until its last receiver is dropped, which stops it and frees it at once.
/// `Duration::MAX` never ticks.
///
/// # Panics
/// If `period` is zero.
pub fn tick(period: Duration) -> Receiver<Instant> {
    start(period, "gorun_timer: non-positive interval for Tick").0
}

/// A started ticker and its channel.
fn start(period: Duration, zero_msg: &str) -> (Receiver<Instant>, Arc<Core>) {
    assert!(!period.is_zero(), "{zero_msg}");
    let (rx, core) = Core::with_channel(|handle, tx| {
        let action = Action::Send {
            tx,
            periodic: true,
            close: false,
        };
        Core::new(handle, action, period, period, false)
    });
    core.start();
    (rx, core)
}

/// Go's `time.Ticker`: sends the instant of each tick on a channel with a buffer of
/// one; a receiver that falls behind finds one tick waiting and the others dropped
/// (the schedule is kept, like [`MissedTickBehavior::Skip`](crate::MissedTickBehavior)).
/// `stop` and `reset` follow Go 1.23: after either returns, no tick from before it
/// can be received. Dropping a `Ticker` stops it and closes its channel.
///
/// ```
/// # futures::executor::block_on(async {
/// use std::time::Duration;
/// let ticker = gorun_timer::Ticker::new(Duration::from_millis(1));
/// let a = ticker.c().recv().await.unwrap();
/// let b = ticker.c().recv().await.unwrap();
/// assert!(b >= a + Duration::from_millis(1));
/// ticker.stop();
/// # });
/// ```
pub struct Ticker {
    core: Arc<Core>,
    c: Receiver<Instant>,
}

impl Ticker {
    /// A ticker with the given period.
    ///
    /// # Panics
    /// If `period` is zero (Go panics on a non-positive interval too).
    pub fn new(period: Duration) -> Ticker {
        let (c, core) = start(period, "gorun_timer: non-positive interval for NewTicker");
        Ticker { core, c }
    }

    /// The channel the ticks are sent on (Go's `t.C`).
    pub fn c(&self) -> &Receiver<Instant> {
        &self.c
    }

    /// Stops the ticker and discards an unreceived tick. No more ticks are sent.
    pub fn stop(&self) {
        self.core.stop();
    }

    /// Stops the ticker and restarts it with a new period, the next tick `period` from
    /// now; an unreceived tick is discarded.
    ///
    /// # Panics
    /// If `period` is zero.
    pub fn reset(&self, period: Duration) {
        assert!(
            !period.is_zero(),
            "gorun_timer: non-positive interval for Ticker.reset"
        );
        self.core.reset(period, Some(period));
    }
}

impl Drop for Ticker {
    fn drop(&mut self) {
        self.core.stop_and_close();
    }
}

impl fmt::Debug for Ticker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (active, next) = self.core.snapshot();
        f.debug_struct("Ticker")
            .field("active", &active)
            .field("next", &next)
            .finish()
    }
}
