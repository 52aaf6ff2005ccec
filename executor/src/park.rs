//! A worker's parker: a condvar sleep that an unpark can interrupt, with a timeout
//! so the worker holding the driver wakes for the next timer.
//!
//! `state` makes unpark-before-park work: an unpark that finds the worker not yet
//! asleep leaves `NOTIFIED`, and the next park returns at once.

use std::time::Duration;

use crate::loom::{AtomicUsize, Condvar, Mutex, Ordering::SeqCst};

const EMPTY: usize = 0;
const PARKED: usize = 1;
const NOTIFIED: usize = 2;

pub(crate) struct Parker {
    state: AtomicUsize,
    lock: Mutex<()>,
    cvar: Condvar,
}

impl Parker {
    pub(crate) fn new() -> Parker {
        Parker {
            state: AtomicUsize::new(EMPTY),
            lock: Mutex::new(()),
            cvar: Condvar::new(),
        }
    }

    /// Sleeps until unparked or, with `Some(timeout)`, until it elapses.
    pub(crate) fn park(&self, timeout: Option<Duration>) {
        if self
            .state
            .compare_exchange(NOTIFIED, EMPTY, SeqCst, SeqCst)
            .is_ok()
        {
            return;
        }
        if timeout == Some(Duration::ZERO) {
            return;
        }
        let mut guard = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        match self.state.compare_exchange(EMPTY, PARKED, SeqCst, SeqCst) {
            Ok(_) => {}
            Err(NOTIFIED) => {
                self.state.store(EMPTY, SeqCst);
                return;
            }
            Err(s) => unreachable!("parker in state {s}"),
        }
        match timeout {
            None => loop {
                guard = self.cvar.wait(guard).unwrap_or_else(|e| e.into_inner());
                if self
                    .state
                    .compare_exchange(NOTIFIED, EMPTY, SeqCst, SeqCst)
                    .is_ok()
                {
                    return;
                }
            },
            Some(t) => {
                let (_g, _) = self
                    .cvar
                    .wait_timeout(guard, t)
                    .unwrap_or_else(|e| e.into_inner());
                // Woken, timed out or spurious: either way we are awake now.
                self.state.swap(EMPTY, SeqCst);
            }
        }
    }

    /// Consumes a pending unpark, if any, without sleeping. Used by the worker in
    /// the driver, which sleeps in the reactor instead of on the condvar.
    pub(crate) fn take_notified(&self) -> bool {
        self.state
            .compare_exchange(NOTIFIED, EMPTY, SeqCst, SeqCst)
            .is_ok()
    }

    pub(crate) fn unpark(&self) {
        match self.state.swap(NOTIFIED, SeqCst) {
            EMPTY | NOTIFIED => {}
            PARKED => {
                // Take the lock so the notify cannot slip in between the sleeper's
                // state check and its wait.
                drop(self.lock.lock().unwrap_or_else(|e| e.into_inner()));
                self.cvar.notify_one();
            }
            s => unreachable!("parker in state {s}"),
        }
    }
}

/// `RUSTFLAGS="--cfg loom" cargo test -p gorun-executor --release --lib loom`.
///
/// loom's condvar never times out, so a timed park here returns only when unparked:
/// the models check that no unpark is lost, whenever it comes.
#[cfg(all(test, loom))]
mod loom_models {
    use std::time::Duration;

    use loom::sync::Arc;

    use super::Parker;

    /// An unpark racing a park wakes it: the model would deadlock on a lost wake,
    /// and the one unpark is used up by the one park.
    #[test]
    fn loom_parker_unpark_wakes_park() {
        for timeout in [None, Some(Duration::from_secs(1))] {
            loom::model(move || {
                let parker = Arc::new(Parker::new());
                let unparker = {
                    let parker = parker.clone();
                    loom::thread::spawn(move || parker.unpark())
                };
                parker.park(timeout);
                unparker.join().unwrap();
                assert!(!parker.take_notified(), "the unpark was used twice");
            });
        }
    }

    /// Two unparks racing one park: the park returns and at most one unpark is left
    /// for the next park (a second unpark before the first is taken adds nothing).
    #[test]
    fn loom_parker_two_unparks() {
        loom::model(|| {
            let parker = Arc::new(Parker::new());
            let unparkers: Vec<_> = (0..2)
                .map(|_| {
                    let parker = parker.clone();
                    loom::thread::spawn(move || parker.unpark())
                })
                .collect();
            parker.park(None);
            for u in unparkers {
                u.join().unwrap();
            }
            parker.take_notified();
            assert!(!parker.take_notified());
        });
    }
}
