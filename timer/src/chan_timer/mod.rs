//! Go's channel-shaped timers (`time.After`, `Timer`, `Ticker`, `Tick`, `AfterFunc`),
//! with Go 1.23's semantics: a timer's channel belongs to its timer, which delivers
//! lazily and dies with the channel's last receiver.
//!
//! A [`Core`] holds a wheel entry, the deadline and what a firing does: send the
//! deadline on the channel, or run a function. The channel owns its core through the
//! channel crate's timer hook (`gorun_channel::__private::TimerHook`), which tells it:
//! - *before a receive looks*: deliver now if the deadline has passed (Go's
//!   `maybeRunChan`), so a zero or past deadline is received at once, not a tick later;
//! - *a receiver parked*: arm the wheel entry if it is not armed;
//! - *the last receiver is gone*: stop, and unlink the entry, so the core and the
//!   channel are freed at once (Go's `TestTimerGC`).
//!
//! `after(d)` is lazy, as every timer channel is in Go 1.23: its entry is armed only
//! when a receiver parks on it. In the service loop `select! { recv(work) -> .., recv(after(d)) -> .. }`
//! where `work` wins, it costs two allocations and a clock read, and no wheel entry.
//! `Timer`, `Ticker`, `tick` and `after_func` arm at once (a `Ticker` keeps its
//! schedule whoever listens).
//!
//! The entry's waker is built from `Arc<Core>`: the driver fires it by waking it,
//! which runs [`Core::fire`] on the thread that processes the wheel, outside the
//! driver's lock.
//!
//! # Invariants (Go 1.23: no stale value after `stop` or `reset`)
//!
//! 1. `state` serializes delivery, `stop`, `reset`, arming and the hook's calls. Lock
//!    order: `state`, then a shard lock or the channel lock; the driver and the
//!    channel never call into a core while holding theirs, so there is no cycle.
//!    Wakers a core's calls return (a receiver's, or its own "due now") are woken
//!    after `state` is dropped.
//! 2. A value is delivered only while `active`, at most once per arming of a one-shot
//!    timer; a wake left from an earlier arming (the driver took the waker just
//!    before a `reset`) finds the entry `REGISTERED` again, or not due, and delivers
//!    nothing.
//! 3. `stop` and `reset` clear `active`, cancel the entry and drain the channel's
//!    buffer while holding `state`: no value from before them can be received after.
//! 4. While the entry is linked its waker holds an `Arc<Core>`; the channel (through
//!    the hook) holds one for its whole life. `receivers_gone` cancels the entry, so
//!    once the last receiver is dropped nothing but the channel holds the core.
//! 5. `due_ns` mirrors `deadline_ns` while `active` (and is `NEVER_NS` otherwise),
//!    written under `state`: `before_recv` reads it without the lock to skip the
//!    lock (and the clock) when nothing can be due.

// The channel timers need `gorun_channel`'s timer channels, which loom builds (that
// model the channel's own protocol) leave out; `after_func` needs no channel.
mod after_func;
#[cfg(not(loom))]
mod ticker;
#[cfg(not(loom))]
mod timer;

pub use after_func::{after_func, AfterFunc};
#[cfg(not(loom))]
pub use ticker::{tick, Ticker};
#[cfg(not(loom))]
pub use timer::{after, Timer};

use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::task::{Wake, Waker};
use std::time::Duration;

#[cfg(not(loom))]
use gorun_channel::__private::{timer_chan, TimerHook, TimerSender};
#[cfg(not(loom))]
use gorun_channel::Receiver;

use crate::clock::{nanos, NANOS_PER_TICK};
use crate::current_driver::with_current;
use crate::driver::NEVER_NS;
use crate::entry::{Entry, FIRED, REGISTERED};
use crate::handle::Handle;
use crate::Instant;

/// What a firing does.
enum Action {
    /// Send the deadline on the channel. `periodic`: then move the deadline on by the
    /// period (`Ticker`, `tick`); else stop, closing the channel if `close` (`after`,
    /// which nobody can reset).
    #[cfg(not(loom))]
    Send {
        tx: TimerSender<Instant>,
        periodic: bool,
        close: bool,
    },
    /// Run the function as a new task (`after_func`).
    Func(TaskFn),
}

/// An `after_func`'s function, and where `after_func` was called: the spawn site
/// of the task it runs in.
#[derive(Clone)]
pub(crate) struct TaskFn {
    pub(crate) f: Arc<Mutex<dyn FnMut() + Send>>,
    pub(crate) site: &'static std::panic::Location<'static>,
}

struct State {
    /// A value is still to be delivered at `deadline_ns`.
    active: bool,
    /// Nanoseconds since the driver's origin, or `NEVER_NS`.
    deadline_ns: u64,
    /// Ticker period, in nanoseconds (0 for one-shot timers).
    period_ns: u64,
    /// The last receiver is gone: nothing is ever delivered again.
    gone: bool,
}

pub(crate) struct Core {
    handle: Handle,
    entry: Entry,
    state: Mutex<State>,
    /// Invariant 5.
    due_ns: AtomicU64,
    action: Action,
    /// Arm the entry only while a receiver waits (`after`).
    lazy: bool,
    me: Weak<Core>,
}

/// `now_ns + d`, or `NEVER_NS` if that is too far to represent.
fn deadline_after(now_ns: u64, d: Duration) -> u64 {
    match nanos(d).and_then(|d| now_ns.checked_add(d)) {
        Some(ns) if ns < NEVER_NS => ns,
        _ => NEVER_NS,
    }
}

impl Core {
    /// A core on the current driver, due `after` from now.
    fn new(
        handle: &Handle,
        action: Action,
        after: Duration,
        period: Duration,
        lazy: bool,
    ) -> Arc<Core> {
        let deadline_ns = deadline_after(handle.driver().clock().now_ns(), after);
        Arc::new_cyclic(|me| {
            let core = Core {
                handle: handle.clone(),
                entry: Entry::new(),
                state: Mutex::new(State {
                    active: true,
                    deadline_ns,
                    period_ns: nanos(period).unwrap_or(u64::MAX),
                    gone: false,
                }),
                due_ns: AtomicU64::new(deadline_ns),
                action,
                lazy,
                me: me.clone(),
            };
            core.entry.set_shard(handle.shard());
            core
        })
    }

    /// A timer channel of capacity one whose core `new` builds; returns both.
    #[cfg(not(loom))]
    fn with_channel(
        new: impl FnOnce(&Handle, TimerSender<Instant>) -> Arc<Core>,
    ) -> (Receiver<Instant>, Arc<Core>) {
        with_current(|handle| {
            let mut core = None;
            let rx = timer_chan(1, |tx| {
                let c = new(handle, tx);
                core = Some(c.clone());
                c as Arc<dyn TimerHook>
            });
            (rx, core.expect("timer_chan calls its constructor"))
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

    fn now_ns(&self) -> u64 {
        self.handle.driver().clock().now_ns()
    }

    fn instant_of(&self, ns: u64) -> Instant {
        Instant::from_std(self.handle.driver().clock().instant_of_ns(ns))
    }

    /// Sets `deadline_ns` and makes the timer active (unless its receivers are
    /// gone), with the lock-free mirror.
    fn activate(&self, st: &mut State, deadline_ns: u64) {
        st.active = !st.gone;
        st.deadline_ns = deadline_ns;
        let due = if st.active { deadline_ns } else { NEVER_NS };
        self.due_ns.store(due, Ordering::Release);
    }

    /// Makes the timer inactive, with the lock-free mirror.
    fn deactivate(&self, st: &mut State) {
        st.active = false;
        self.due_ns.store(NEVER_NS, Ordering::Release);
    }

    /// Makes the timer fire at its deadline: delivers what is due now, then links the
    /// entry for the next deadline (if there is one, and it is not linked). A loop,
    /// not a recursion: a ticker whose next tick is already due delivers again (and
    /// drops the tick if the buffer is full), however short its period. The wakers
    /// of the receivers it delivered to go to `woken`, to wake after `st` is dropped.
    fn arm(&self, st: &mut State, woken: &mut Woken) {
        let Some(me) = self.me.upgrade() else {
            return; // being dropped: nothing can receive
        };
        loop {
            if !st.active || st.gone || st.deadline_ns == NEVER_NS {
                return;
            }
            if st.deadline_ns <= self.now_ns() {
                self.deliver(st, woken);
                continue;
            }
            if self.entry.state() == REGISTERED || (self.lazy && !self.has_parked_receivers()) {
                return;
            }
            let (_, due) = self.handle.driver().reset_entry(
                self.entry(),
                st.deadline_ns,
                Some(&Waker::from(me.clone())),
            );
            if due.is_none() {
                return; // linked
            }
            // Due after all (the clock moved on): the entry is not linked; deliver
            // instead of waking ourselves.
        }
    }

    /// Whether a receiver waits on the channel (a lazy timer arms only then).
    fn has_parked_receivers(&self) -> bool {
        match &self.action {
            #[cfg(not(loom))]
            Action::Send { tx, .. } => tx.has_parked_receivers(),
            Action::Func(..) => true,
        }
    }

    /// Delivers the due value and moves on: a one-shot timer stops, a periodic one
    /// takes its next deadline on the original schedule, skipping the ticks that
    /// passed (Go's ticker), at least a wheel tick from now. The waker of the
    /// receiver the value went to goes to `woken`.
    fn deliver(&self, st: &mut State, woken: &mut Woken) {
        let deadline = self.instant_of(st.deadline_ns);
        match &self.action {
            #[cfg(not(loom))]
            Action::Send {
                tx,
                periodic: false,
                close,
            } => {
                self.deactivate(st);
                woken.push(tx.try_send(deadline).ok().flatten());
                if *close {
                    tx.close();
                }
            }
            #[cfg(not(loom))]
            Action::Send {
                tx, periodic: true, ..
            } => {
                // Full: the receiver is behind; this tick is dropped (Go).
                woken.push(tx.try_send(deadline).ok().flatten());
                let now = self.now_ns();
                let period = st.period_ns.max(1);
                let mut next = st.deadline_ns.saturating_add(period);
                if next <= now {
                    let skip = (now - next) / period + 1;
                    next = skip
                        .checked_mul(period)
                        .and_then(|d| next.checked_add(d))
                        .unwrap_or(NEVER_NS);
                }
                // A period shorter than the wheel's tick ticks once a wheel tick
                // (a receiver that looks sooner is served by `before_recv`).
                let next = next.max(now.saturating_add(NANOS_PER_TICK));
                self.activate(st, next);
            }
            Action::Func(task) => {
                self.deactivate(st);
                // Run once `st` is dropped: `f` may stop or reset its own timer.
                woken.run = Some(task.clone());
            }
        }
    }

    /// Disarms, cancels and drains (invariant 3). Returns whether a value was
    /// prevented from being received: the timer was active, or its value was still
    /// buffered.
    fn disarm(&self, st: &mut State) -> bool {
        let was_active = st.active;
        self.deactivate(st);
        self.handle.driver().cancel(self.entry());
        let drained = match &self.action {
            #[cfg(not(loom))]
            Action::Send { tx, .. } => tx.drain(),
            Action::Func(..) => false,
        };
        was_active || drained
    }

    /// `stop` of every timer with a handle.
    fn stop(&self) -> bool {
        let mut st = self.lock();
        self.disarm(&mut st)
    }

    /// The drop of a `Timer` or `Ticker`: stops it and closes its channel, so a
    /// cloned receiver gets `None` instead of waiting for a value that cannot come.
    fn stop_and_close(&self) {
        let mut st = self.lock();
        self.disarm(&mut st);
        #[cfg(not(loom))]
        if let Action::Send { tx, .. } = &self.action {
            tx.close();
        }
    }

    /// `reset` of every timer with a handle: disarm, then arm `after` from now, with
    /// `period` as the new period if given. Returns what [`disarm`](Core::disarm)
    /// did: whether a value was prevented.
    fn reset(&self, after: Duration, period: Option<Duration>) -> bool {
        let mut st = self.lock();
        let prevented = self.disarm(&mut st);
        if let Some(p) = period {
            st.period_ns = nanos(p).unwrap_or(u64::MAX);
        }
        let deadline = deadline_after(self.now_ns(), after);
        self.activate(&mut st, deadline);
        let mut woken = Woken::default();
        self.arm(&mut st, &mut woken);
        drop(st);
        woken.finish(self);
        prevented
    }

    /// Arms a timer just made (`Timer`, `Ticker`, `tick`, `after_func`).
    fn start(&self) {
        let mut st = self.lock();
        let mut woken = Woken::default();
        self.arm(&mut st, &mut woken);
        drop(st);
        woken.finish(self);
    }

    /// The entry fired (the driver woke our waker).
    fn fire(&self) {
        let mut st = self.lock();
        if !st.active || st.gone || self.entry.state() != FIRED {
            return; // stale (invariant 2)
        }
        let mut woken = Woken::default();
        self.arm(&mut st, &mut woken);
        drop(st);
        woken.finish(self);
    }

    fn run_func(&self, TaskFn { f, site }: TaskFn) {
        let call = move || (f.lock().unwrap_or_else(|e| e.into_inner()))();
        match self.handle.driver().spawner() {
            Some(spawn) => spawn(Box::pin(async move { call() }), site),
            None => call(),
        }
    }

    /// Armed, and when (for `Debug`).
    fn snapshot(&self) -> (bool, Instant) {
        let st = self.lock();
        (st.active, self.instant_of(st.deadline_ns.min(NEVER_NS - 1)))
    }
}

/// What a delivery leaves to do once the core's lock is dropped: wake the receivers
/// it went to (almost always none or one), or run an `after_func`'s function.
#[derive(Default)]
struct Woken {
    first: Option<Waker>,
    rest: Vec<Waker>,
    run: Option<TaskFn>,
}

impl Woken {
    fn push(&mut self, w: Option<Waker>) {
        let Some(w) = w else { return };
        match self.first {
            None => self.first = Some(w),
            Some(_) => self.rest.push(w),
        }
    }

    /// Wakes them all and runs the function; call with no lock held (invariant 1).
    fn finish(self, core: &Core) {
        self.first
            .into_iter()
            .chain(self.rest)
            .for_each(Waker::wake);
        if let Some(task) = self.run {
            core.run_func(task);
        }
    }
}

#[cfg(not(loom))]
impl TimerHook for Core {
    fn before_recv(&self) {
        let due = self.due_ns.load(Ordering::Acquire);
        if due == NEVER_NS || due > self.now_ns() {
            return;
        }
        let mut st = self.lock();
        let mut woken = Woken::default();
        if st.active && !st.gone && st.deadline_ns <= self.now_ns() {
            // Delivered here, the entry (if armed) would fire for nothing.
            self.handle.driver().cancel(self.entry());
            self.arm(&mut st, &mut woken);
        }
        drop(st);
        woken.finish(self);
    }

    fn parked(&self) {
        let mut st = self.lock();
        let mut woken = Woken::default();
        self.arm(&mut st, &mut woken);
        drop(st);
        woken.finish(self);
    }

    fn receivers_gone(&self) {
        let mut st = self.lock();
        st.gone = true;
        self.deactivate(&mut st);
        self.handle.driver().cancel(self.entry());
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
