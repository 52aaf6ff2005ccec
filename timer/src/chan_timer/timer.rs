//! `Timer` and `after`: Go's one-shot channel timers.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use gorun_channel::{chan, Receiver};

use super::{Action, Core};
use crate::Instant;

/// A channel that receives the instant `duration` from now, once (Go's `time.After`).
///
/// Usable in `select!` as a timeout case. The timer cannot be stopped, and holds a
/// small allocation until it fires even if the receiver is dropped: in a loop with
/// long timeouts prefer [`Timer`] (stopped on drop) or [`timeout`](crate::timeout).
/// Unlike Go, once the value has been sent and the timer is gone, the channel is
/// closed, so a second `recv` returns `None` rather than blocking forever.
///
/// ```
/// # futures::executor::block_on(async {
/// use std::time::Duration;
/// let rx = gorun_timer::after(Duration::from_millis(2));
/// let at = rx.recv().await.unwrap();
/// assert!(at <= gorun_timer::Instant::now());
/// # });
/// ```
pub fn after(duration: Duration) -> Receiver<Instant> {
    let (tx, rx) = chan(1);
    let core = Core::new(Action::Send { tx, rx: None }, Duration::ZERO);
    let mut st = core.lock();
    let due = core.arm(&mut st, duration);
    drop(st);
    if let Some(w) = due {
        w.wake();
    }
    rx
}

/// Go's `time.Timer`: sends the instant it was due on its channel, once, unless
/// stopped. `stop` and `reset` follow Go 1.23: after either returns, no value from
/// before it can be received.
///
/// Dropping a `Timer` stops it (Go 1.23 collects an unreferenced timer; Rust makes it
/// explicit).
///
/// ```
/// # futures::executor::block_on(async {
/// use std::time::Duration;
/// use gorun_timer::Timer;
///
/// let t = Timer::new(Duration::from_secs(3600));
/// assert!(t.stop(), "stopped before it fired");
/// assert!(!t.stop(), "already stopped");
/// assert!(!t.reset(Duration::from_millis(1)), "reset of a stopped timer");
/// let due = t.c().recv().await.unwrap();
/// assert!(due <= gorun_timer::Instant::now());
/// # });
/// ```
pub struct Timer {
    core: Arc<Core>,
    c: Receiver<Instant>,
}

impl Timer {
    /// A timer that sends on its channel after `duration`.
    pub fn new(duration: Duration) -> Timer {
        let (tx, rx) = chan(1);
        let core = Core::new(
            Action::Send {
                tx,
                rx: Some(rx.clone()),
            },
            Duration::ZERO,
        );
        let mut st = core.lock();
        let due = core.arm(&mut st, duration);
        drop(st);
        if let Some(w) = due {
            w.wake();
        }
        Timer { core, c: rx }
    }

    /// The channel the instant is sent on (Go's `t.C`).
    pub fn c(&self) -> &Receiver<Instant> {
        &self.c
    }

    /// Stops the timer. Returns `true` if this prevented the value from being
    /// received (the timer had not fired, or its value was still unreceived in the
    /// channel, which is now emptied); `false` if it was already stopped or its value
    /// was received.
    pub fn stop(&self) -> bool {
        self.core.stop()
    }

    /// Re-arms the timer to fire `duration` from now, discarding any unreceived value.
    /// Returns what [`stop`](Timer::stop) would have: whether the timer was active.
    pub fn reset(&self, duration: Duration) -> bool {
        self.core.reset(duration, |_| {})
    }
}

impl Drop for Timer {
    fn drop(&mut self) {
        self.stop();
    }
}

impl fmt::Debug for Timer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = self.core.lock();
        f.debug_struct("Timer")
            .field("armed", &st.armed)
            .field("deadline", &st.deadline)
            .finish()
    }
}
