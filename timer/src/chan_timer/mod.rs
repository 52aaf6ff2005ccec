//! Go's channel-shaped timers (`time.After`, `Timer`, `Ticker`, `AfterFunc`), built on
//! a heap-allocated wheel entry whose "waker" is the timer's action.
//!
//! Go's runtime fires a timer by calling `f(arg)` on the thread that runs the timer
//! heap. Here the same happens through the `Waker` protocol: the entry's waker is
//! built from `Arc<Core>`, and waking it runs [`Core::fire`] on the thread that
//! processes the wheel (a parking worker, or the global driver's thread), outside the
//! driver's lock. Sending is a `try_send` into a channel of capacity 1, so it never
//! blocks.
//!
//! # Invariants (Go 1.23 semantics: no stale value after `stop` or `reset`)
//!
//! 1. `state` (the core's own mutex) serializes `fire`, `stop` and `reset`. Lock
//!    order: `state`, then the driver lock; the driver never takes `state` (wakers run
//!    after it drops its lock), so there is no cycle. A waker returned "due now" by the
//!    driver is woken only after `state` is dropped.
//! 2. `fire` delivers only if `armed` and the entry is `FIRED`: a wake left over from
//!    an earlier arming (the driver took the waker just before a `reset`) finds the
//!    entry `REGISTERED` again, or `armed` cleared, and does nothing.
//! 3. `stop` and `reset` clear `armed`, cancel the entry, and drain the channel's
//!    buffer while holding `state`: no value from before them can be received after.
//! 4. While the entry is linked its waker holds an `Arc<Core>`, so the core (and the
//!    entry inside it) outlives the link. The cycle breaks when the entry fires or is
//!    cancelled (the driver drops the waker).

mod after_func;
mod ticker;
mod timer;

pub use after_func::{after_func, AfterFunc};
pub use ticker::{tick, Ticker};
pub use timer::{after, Timer};

use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Wake, Waker};
use std::time::Duration;

use gorun_channel::{Receiver, Sender};

use crate::context::with_current;
use crate::entry::{Entry, FIRED};
use crate::{Driver, Instant};

/// What a firing does.
enum Action {
    /// Send the deadline once (`Timer`, `after`). `rx` is kept to drain on stop/reset;
    /// `None` for `after`, which cannot be stopped.
    Send {
        tx: Sender<Instant>,
        rx: Option<Receiver<Instant>>,
    },
    /// Send the deadline, dropping it if the buffer is full, and re-arm (`Ticker`).
    Tick {
        tx: Sender<Instant>,
        rx: Option<Receiver<Instant>>,
    },
    /// Run the function as a new task (`after_func`).
    Func(Arc<Mutex<dyn FnMut() + Send>>),
}

struct State {
    /// An arming is outstanding: a fire is expected and not yet delivered.
    armed: bool,
    deadline: Instant,
    /// Ticker period.
    period: Duration,
}

pub(crate) struct Core {
    driver: Driver,
    entry: Entry,
    state: Mutex<State>,
    action: Action,
}

impl Core {
    fn new(action: Action, period: Duration) -> Arc<Core> {
        with_current(|driver| {
            Arc::new(Core {
                driver: driver.clone(),
                entry: Entry::new(),
                state: Mutex::new(State {
                    armed: false,
                    deadline: driver.now(),
                    period,
                }),
                action,
            })
        })
    }

    fn entry(&self) -> Pin<&Entry> {
        // SAFETY: the entry lives inside an `Arc` and is never moved out of it; it is
        // unlinked before the `Arc` is freed (invariant 4).
        unsafe { Pin::new_unchecked(&self.entry) }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Arms for `after` from now. Returns a waker to wake once `st` is dropped (the
    /// deadline had already passed).
    fn arm(self: &Arc<Self>, st: &mut State, after: Duration) -> Option<Waker> {
        let now = self.driver.now();
        let (deadline, when) = match now.checked_add(after) {
            Some(d) => (d, self.driver.tick_for(d)),
            None => (Instant::far_future(), crate::clock::NEVER),
        };
        self.arm_at(st, deadline, when)
    }

    fn arm_at(self: &Arc<Self>, st: &mut State, deadline: Instant, when: u64) -> Option<Waker> {
        st.armed = true;
        st.deadline = deadline;
        let waker = Waker::from(self.clone());
        self.driver.reset_entry(self.entry(), when, Some(&waker)).1
    }

    /// Disarms, cancels and drains (invariant 3). Returns whether a value was prevented
    /// from being received: the timer was armed, or its value was still buffered.
    fn disarm(&self, st: &mut State) -> bool {
        let was_armed = std::mem::replace(&mut st.armed, false);
        self.driver.cancel(self.entry());
        let rx = match &self.action {
            Action::Send { rx, .. } | Action::Tick { rx, .. } => rx.as_ref(),
            Action::Func(_) => None,
        };
        let drained = rx.is_some_and(|rx| rx.try_recv().is_ok());
        was_armed || drained
    }

    /// `stop` of every channel timer: disarm, cancel and drain under the lock.
    fn stop(&self) -> bool {
        let mut st = self.lock();
        self.disarm(&mut st)
    }

    /// `reset` of every channel timer: disarm, then re-arm `after` from now, with
    /// `update` applied to the state in between (a ticker's new period). Returns what
    /// [`disarm`](Core::disarm) did: whether a value was prevented.
    fn reset(self: &Arc<Self>, after: Duration, update: impl FnOnce(&mut State)) -> bool {
        let mut st = self.lock();
        let active = self.disarm(&mut st);
        update(&mut st);
        let due = self.arm(&mut st, after);
        drop(st);
        if let Some(w) = due {
            w.wake();
        }
        active
    }

    /// The entry fired (the driver woke our waker).
    fn fire(self: &Arc<Self>) {
        let mut st = self.lock();
        if !st.armed || self.entry.state() != FIRED {
            return; // stale (invariant 2)
        }
        let due = match &self.action {
            Action::Send { tx, .. } => {
                st.armed = false;
                let _ = tx.try_send(st.deadline);
                None
            }
            Action::Tick { tx, rx } => {
                match tx.try_send(st.deadline) {
                    // Nobody can ever receive (a `tick` whose receivers are gone): stop.
                    Err(e) if e.is_closed() && rx.is_none() => {
                        st.armed = false;
                        return;
                    }
                    _ => {} // sent, or dropped for a slow receiver
                }
                // Next tick on the original schedule, skipping missed ones (Go).
                let now = self.driver.now();
                let mut next = st.deadline + st.period;
                if next <= now {
                    let behind = now.duration_since(next).as_nanos();
                    let skip = behind / st.period.as_nanos() + 1;
                    next = u32::try_from(skip)
                        .ok()
                        .and_then(|n| st.period.checked_mul(n))
                        .and_then(|d| next.checked_add(d))
                        .unwrap_or_else(Instant::far_future);
                }
                let when = self.driver.tick_for(next);
                self.arm_at(&mut st, next, when)
            }
            Action::Func(f) => {
                st.armed = false;
                drop(st);
                self.run_func(f.clone());
                return;
            }
        };
        drop(st);
        if let Some(w) = due {
            w.wake();
        }
    }

    fn run_func(&self, f: Arc<Mutex<dyn FnMut() + Send>>) {
        let call = move || (f.lock().unwrap_or_else(|e| e.into_inner()))();
        match self.driver.spawner() {
            Some(spawn) => spawn(Box::pin(async move { call() })),
            None => call(),
        }
    }
}

impl Wake for Core {
    fn wake(self: Arc<Self>) {
        self.fire();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.fire();
    }
}
