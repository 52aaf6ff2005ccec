//! The driver: what a parking worker runs instead of plain sleeping.
//!
//! Each worker owns a reactor (`io/reactor.rs`): the sockets it creates or accepts
//! register there (and follow the tasks that wait on them, `io/registration.rs`),
//! and their events wake tasks onto its own queue. A busy worker polls its own
//! reactor without blocking whenever its queue runs dry and every maintenance tick,
//! so a socket's readiness, the task it wakes and that task's next poll stay on one
//! core with no cross-core wake-up, as in a thread-per-core runtime.
//!
//! Work stealing stays, and so must readiness that its owner does not collect (it
//! runs a long task, or sleeps). At most one worker at a time holds the driver
//! (`Seat::try_take`); a parking worker that gets it sleeps in the root poll
//! (`io/root.rs`), which watches every reactor, until a report, a wake, or the next
//! timer deadline, then fires due timers (Go's `findrunnable`: one M blocks in
//! netpoll with the timer's timeout); the other parked workers sleep on their
//! condvars. A report about the holder's own reactor, or a parked worker's, it
//! serves at once; one about a running worker's waits out a grace for that worker's
//! own turn, then is taken (`io/handoff.rs`). A busy worker that gets the driver
//! between tasks does the same for every reactor whose turn count has not moved for
//! the grace, so sockets are served even when no worker ever idles. Under load every
//! worker serves its own sockets; when idle, the holder serves them all, as tokio's
//! one driver does, and the others sleep.
//!
//! The timers themselves live in the timer driver's shards, one per worker: each
//! worker arms its timers in its own wheel and fires them between tasks
//! (`Driver::process_own`); the worker in the driver fires every shard's due timers
//! when it wakes, and sleeps until the earliest of them.
//!
//! # Invariants
//! - Who holds the driver and who sleeps in its root live in `seat.rs`, with the
//!   hand-offs that keep a notify or an earlier timer from missing the sleeper (and
//!   their loom models). The sleeper's timeout comes from
//!   `gorun_timer::Driver::park_timeout`, computed after it sat down, which publishes
//!   it so that a timer armed earlier meanwhile calls `unpark`.
//! - The seat is given back by a guard, so a panic that unwinds out of a driver turn
//!   cannot leave the driver held (wakers run under `catch_unwind` anyway:
//!   `io/scheduled_io.rs`, the timer crate's `wake.rs`).
//! - Only the driver holder consumes root reports or settles deferred ones
//!   (`holder` is taken under the driver's lock); a report is served or deferred
//!   until settled, never dropped (`io/handoff.rs` has the loom model).

mod seat;

use std::io;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::io::{Deferred, Reactor, Root};
use crate::park::Parker;
use seat::Seat;

/// What only the driver holder touches.
#[derive(Default)]
struct HolderState {
    /// The root's reports of the last turn.
    ready: Vec<usize>,
    deferred: Deferred,
}

pub(crate) struct Driver {
    seat: Arc<Seat>,
    parkers: Arc<[Parker]>,
    /// One reactor per worker.
    reactors: Box<[Arc<Reactor>]>,
    root: Arc<Root>,
    holder: Mutex<HolderState>,
    /// Where registrations made off the workers go next (round robin).
    next_reactor: AtomicUsize,
    /// The origin of the hand-off's clock.
    origin: Instant,
    pub(crate) timer: gorun_timer::Driver,
}

impl Driver {
    pub(crate) fn new(parkers: Arc<[Parker]>, start_paused: bool) -> io::Result<Driver> {
        let seat = Arc::new(Seat::new());
        let reactors = (0..parkers.len())
            .map(|_| Reactor::new().map(Arc::new))
            .collect::<io::Result<Box<[_]>>>()?;
        let root = Arc::new(Root::new(&reactors)?);
        let (s, r) = (seat.clone(), root.clone());
        // A timer armed earlier than every other interrupts the worker sleeping in
        // the driver, which re-polls with the new timeout. The root keeps the wake
        // if that worker has not gone to sleep yet.
        let timer = gorun_timer::Driver::with_shards(
            parkers.len(),
            Arc::new(move || s.wake_owner(|| r.wake())),
        );
        if start_paused {
            timer.pause();
        }
        Ok(Driver {
            seat,
            parkers,
            reactors,
            root,
            holder: Mutex::new(HolderState::default()),
            next_reactor: AtomicUsize::new(0),
            origin: Instant::now(),
            timer,
        })
    }

    /// The reactor a new registration goes to: worker `worker`'s own, or the next
    /// one in turn for a registration made off the workers.
    pub(crate) fn reactor_for(&self, worker: Option<usize>) -> &Arc<Reactor> {
        let i = worker.unwrap_or_else(|| self.next_reactor.fetch_add(1, Relaxed));
        &self.reactors[i % self.reactors.len()]
    }

    /// Every reactor (for the signal pipe, panic reports and shutdown).
    pub(crate) fn reactors(&self) -> &[Arc<Reactor>] {
        &self.reactors
    }

    fn holder_state(&self) -> std::sync::MutexGuard<'_, HolderState> {
        self.holder.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn now_ns(&self) -> u64 {
        self.origin.elapsed().as_nanos() as u64
    }

    /// Collects worker `index`'s own ready I/O without blocking; returns how many
    /// sockets got readiness.
    pub(crate) fn turn_own(&self, index: usize) -> usize {
        let r = &self.reactors[index];
        if r.has_registrations() {
            traced_io(r.try_turn_now().unwrap_or(0))
        } else {
            0
        }
    }

    /// Serves the root's reports (held driver): worker `index`'s own reactor and a
    /// parked worker's at once, a running worker's after its grace
    /// (`io/handoff.rs`). Returns how many sockets got readiness.
    fn serve_reports(
        &self,
        index: usize,
        st: &mut HolderState,
        is_parked: &dyn Fn(usize) -> bool,
    ) -> usize {
        let HolderState { ready, deferred } = st;
        let mut n = 0;
        let now = self.now_ns();
        for x in ready.drain(..) {
            let Some(r) = self.reactors.get(x) else {
                continue;
            };
            let served = if x == index || is_parked(x) {
                r.try_turn_now()
            } else {
                None
            };
            match served {
                Some(k) => n += k,
                None => deferred.defer(x, r.turns(), now),
            }
        }
        n + self.settle(deferred, now)
    }

    fn settle(&self, deferred: &mut Deferred, now: u64) -> usize {
        if deferred.is_empty() {
            return 0;
        }
        deferred.settle(
            now,
            |x| self.reactors[x].turns(),
            |x| self.reactors[x].try_turn_now(),
        )
    }

    /// Between tasks: worker `index`'s own ready I/O, then, if no one else holds the
    /// driver, every other reactor whose turn count has not moved for the grace
    /// (its worker runs a long task, or sleeps) and every shard's due timers (those
    /// of a worker stuck in a long poll fire here, Go's timer stealing), else its
    /// own timers. Returns how many timers fired plus how many sockets got
    /// readiness.
    pub(crate) fn poll_nonblocking(&self, index: usize) -> usize {
        let mut n = self.turn_own(index);
        match self.seat.try_take() {
            Some(_held) => {
                let mut st = self.holder_state();
                let now = self.now_ns();
                for (x, r) in self.reactors.iter().enumerate() {
                    if x != index && r.has_registrations() {
                        st.deferred.defer(x, r.turns(), now);
                    }
                }
                n += traced_io(self.settle(&mut st.deferred, now));
                drop(st);
                n += traced_timers(self.timer.try_process());
            }
            None => n += self.process_own(index),
        }
        n
    }

    /// Fires the due timers of worker `index`'s own shard (cheap when none is).
    pub(crate) fn process_own(&self, index: usize) -> usize {
        traced_timers(self.timer.process_shard(index))
    }

    /// Parks worker `index` in the driver if it is free: waits in the root poll until
    /// a report, a wake, or the next timer of any shard is due (or a deferred report's
    /// grace ends), serves the reports, then fires due timers. `idle` says whether
    /// the whole runtime is idle, for the paused clock's auto-advance. Returns
    /// `false` without sleeping if another worker holds the driver.
    pub(crate) fn park(
        &self,
        index: usize,
        idle: impl Fn() -> bool,
        is_parked: &dyn Fn(usize) -> bool,
    ) -> bool {
        let Some(held) = self.seat.try_take() else {
            return false;
        };
        let notified = self.seat.sit(&held, index, &self.parkers[index]);
        let mut timeout = self.timer.park_timeout();
        if notified {
            // Notified before we sat down: do not sleep.
            timeout = Some(Duration::ZERO);
        }
        if self.timer.is_paused() && idle() && self.auto_advance() {
            // The clock moved (or I/O was ready): collect what is ready, no sleep.
            timeout = Some(Duration::ZERO);
        }
        let mut st = self.holder_state();
        if let Some(due) = st.deferred.next_due_in(self.now_ns()) {
            let due = Duration::from_nanos(due);
            timeout = Some(timeout.map_or(due, |t| t.min(due)));
        }
        self.root.turn(timeout, &mut st.ready);
        self.timer.unparked();
        self.seat.stand(&held);
        // A notify that also woke the root left its token: drop it, the caller
        // re-checks the sleepers list, which is the source of truth.
        self.parkers[index].take_notified();
        traced_io(self.serve_reports(index, &mut st, is_parked));
        drop(st);
        traced_timers(self.timer.try_process());
        true
    }

    /// The paused clock's auto-advance, when every task is idle: I/O that is ready
    /// now comes first (its tasks run at the current instant, as on tokio), else the
    /// clock jumps to the next deadline. Returns whether either happened.
    fn auto_advance(&self) -> bool {
        let mut ready = 0;
        for r in self.reactors.iter().filter(|r| r.has_registrations()) {
            ready += r.try_turn_now().unwrap_or(0);
        }
        ready > 0 || self.timer.advance_to_next()
    }

    /// Interrupts the worker sleeping in the driver, if any.
    pub(crate) fn unpark(&self) {
        self.seat.wake_owner(|| self.root.wake());
    }

    /// Wakes the root if worker `index` sleeps in it (its parker was just unparked
    /// by the caller).
    pub(crate) fn unpark_worker(&self, index: usize) {
        self.seat.wake_worker(index, || self.root.wake());
    }

    pub(crate) fn shutdown(&self) {
        self.timer.shutdown();
        for r in self.reactors.iter() {
            r.shutdown();
        }
    }
}

/// `n` sockets got readiness: traced as an `io` instant.
#[inline]
fn traced_io(n: usize) -> usize {
    crate::trace::count(n, |n| crate::trace::What::Io { n })
}

/// `n` timers fired: traced as a `timers` instant.
#[inline]
fn traced_timers(n: usize) -> usize {
    crate::trace::count(n, |n| crate::trace::What::Timers { n })
}
