//! `after_func`: Go's `time.AfterFunc`.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::{Action, Core, TaskFn};
use crate::current_driver::with_current;

/// Runs `f` as a new task after `duration` (Go's `time.AfterFunc`). The returned
/// handle can [`stop`](AfterFunc::stop) or [`reset`](AfterFunc::reset) it; dropping the
/// handle does not stop it.
///
/// "As a new task" means through the driver's [`Spawner`](crate::Spawner), which the
/// gorun runtime installs; on a driver without one (the global fallback driver, used
/// on tokio or plain threads) `f` runs on the thread that fires the timer, so it
/// should be short and must not block. `f` is `FnMut` because [`reset`](AfterFunc::reset)
/// after it ran schedules it again, as in Go.
///
/// ```
/// use std::sync::mpsc;
/// use std::time::Duration;
///
/// let (tx, rx) = mpsc::channel();
/// let _handle = gorun_timer::after_func(Duration::from_millis(1), move || {
///     let _ = tx.send("fired");
/// });
/// assert_eq!(rx.recv().unwrap(), "fired");
/// ```
#[track_caller]
pub fn after_func<F>(duration: Duration, f: F) -> AfterFunc
where
    F: FnMut() + Send + 'static,
{
    let f: Arc<Mutex<dyn FnMut() + Send>> = Arc::new(Mutex::new(f));
    let action = Action::Func(TaskFn {
        f,
        site: std::panic::Location::caller(),
    });
    let core = with_current(|handle| Core::new(handle, action, duration, Duration::ZERO, false));
    core.start();
    AfterFunc { core }
}

/// The handle of an [`after_func`] timer.
pub struct AfterFunc {
    core: Arc<Core>,
}

impl AfterFunc {
    /// Stops the timer. Returns `true` if this prevented `f` from running; `false` if
    /// it had already started (or been stopped). Does not wait for a running `f`.
    pub fn stop(&self) -> bool {
        self.core.stop()
    }

    /// Schedules `f` to run `duration` from now. Returns `true` if the timer was
    /// pending (it is rescheduled), `false` if `f` had run or the timer was stopped
    /// (it will run again).
    pub fn reset(&self, duration: Duration) -> bool {
        self.core.reset(duration, None)
    }
}

impl fmt::Debug for AfterFunc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (active, deadline) = self.core.snapshot();
        f.debug_struct("AfterFunc")
            .field("active", &active)
            .field("deadline", &deadline)
            .finish()
    }
}
