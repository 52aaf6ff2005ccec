//! `Timer` and `after`: Go's one-shot channel timers.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use gorun_channel::Receiver;

use super::{Action, Core};
use crate::Instant;

/// A channel that receives the instant `duration` from now, once (Go's `time.After`).
///
/// Usable in `select!` as a timeout case. As in Go 1.23, the timer is lazy and owned
/// by its channel: it is armed only while a receiver waits on it, a receive after the
/// deadline gets the value at once, and dropping the receiver (the one a `select!`
/// consumed) frees the timer at once, so a loop that makes a new `after` per
/// iteration holds nothing for the timeouts it did not take. `Duration::MAX` never
/// fires. Unlike Go, once the value has been sent the channel is closed, so a second
/// `recv` returns `None` rather than blocking forever.
///
/// ```
/// # futures::executor::block_on(async {
/// use std::time::Duration;
/// let rx = gorun_timer::after(Duration::from_millis(2));
/// let at = rx.recv().await.unwrap();
/// assert!(at <= gorun_timer::Instant::now());
/// assert_eq!(gorun_timer::after(Duration::ZERO).try_recv().is_ok(), true);
/// # });
/// ```
pub fn after(duration: Duration) -> Receiver<Instant> {
    let (rx, _core) = Core::with_channel(|handle, tx| {
        let action = Action::Send {
            tx,
            periodic: false,
            close: true,
        };
        Core::new(handle, action, duration, Duration::ZERO, true)
    });
    rx
}

/// Go's `time.Timer`: sends the instant it was due on its channel, once, unless
/// stopped. `stop` and `reset` follow Go 1.23: after either returns, no value from
/// before it can be received.
///
/// Dropping a `Timer` stops it and closes its channel, so a cloned receiver gets
/// `None` (Go 1.23 collects an unreferenced timer; Rust makes it explicit). A
/// receive after the deadline gets the value at once, zero included.
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
    /// A timer that sends on its channel after `duration` (at once for zero).
    /// `Duration::MAX` never fires.
    pub fn new(duration: Duration) -> Timer {
        let (c, core) = Core::with_channel(|handle, tx| {
            let action = Action::Send {
                tx,
                periodic: false,
                close: false,
            };
            Core::new(handle, action, duration, Duration::ZERO, false)
        });
        core.start();
        Timer { core, c }
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
        self.core.reset(duration, None)
    }
}

impl Drop for Timer {
    fn drop(&mut self) {
        self.core.stop_and_close();
    }
}

impl fmt::Debug for Timer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (active, deadline) = self.core.snapshot();
        f.debug_struct("Timer")
            .field("active", &active)
            .field("deadline", &deadline)
            .finish()
    }
}
