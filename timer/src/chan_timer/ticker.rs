//! `Ticker` and `tick`: Go's periodic channel timers.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use gorun_channel::{chan, Receiver};

use super::{Action, Core};
use crate::Instant;

/// A channel that receives the instant of each tick, every `period` (Go's `time.Tick`).
/// It ticks until every receiver is dropped.
///
/// # Panics
/// If `period` is zero.
pub fn tick(period: Duration) -> Receiver<Instant> {
    let (tx, rx) = chan(1);
    start(Action::Tick { tx, rx: None }, period);
    rx
}

fn start(action: Action, period: Duration) -> Arc<Core> {
    assert!(
        !period.is_zero(),
        "gorun_timer: non-positive interval for Ticker"
    );
    let core = Core::new(action, period);
    let mut st = core.lock();
    let due = core.arm(&mut st, period);
    drop(st);
    if let Some(w) = due {
        w.wake();
    }
    core
}

/// Go's `time.Ticker`: sends the instant of each tick on a channel with a buffer of
/// one; a receiver that falls behind finds one tick waiting and the others dropped
/// (the schedule is kept, like [`MissedTickBehavior::Skip`](crate::MissedTickBehavior)).
/// `stop` and `reset` follow Go 1.23: after either returns, no tick from before it
/// can be received. Dropping a `Ticker` stops it.
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
        let (tx, rx) = chan(1);
        let core = start(
            Action::Tick {
                tx,
                rx: Some(rx.clone()),
            },
            period,
        );
        Ticker { core, c: rx }
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
        self.core.reset(period, |st| st.period = period);
    }
}

impl Drop for Ticker {
    fn drop(&mut self) {
        self.stop();
    }
}

impl fmt::Debug for Ticker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = self.core.lock();
        f.debug_struct("Ticker")
            .field("armed", &st.armed)
            .field("period", &st.period)
            .field("next", &st.deadline)
            .finish()
    }
}
