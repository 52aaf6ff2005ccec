//! A worker: Go's `schedule()`/`findrunnable()` loop for one P.
//!
//! Order of looking for work, each round ("tick"):
//! 1. every 61st tick, the global injector first (Go's fairness rule: `schedtick%61`);
//! 2. `runnext`, unless it already ran `MAX_RUNNEXT` times in a row (a ping-ponging
//!    pair must not starve the queue: tokio issue #4941);
//! 3. the local queue, then a batch from the injector;
//! 4. this worker's own reactor, without blocking (`turn_own`): the tasks its sockets
//!    wake stay here, thread-per-core's locality (`driver.rs`); but first
//! 5. as a searcher (at most half the workers at once), half of a random victim's
//!    queue, then the injector. Stealing comes before the own reactor when another
//!    worker with queued tasks has been in one poll for [`STUCK_POLL`]: its queue
//!    waits behind that poll (`a_victim_is_stuck`). Always stealing first helped the
//!    light requests of `benches/io_locality.rs`'s `mixed` workload and cost hyper's
//!    hello its req/s; always reacting first, the reverse (benches/LOG.md, I/O
//!    locality);
//! 6. nap: a searcher that found nothing while another worker runs tasks polls the
//!    driver without blocking and, if that fired nothing, sleeps briefly, still
//!    searching; then it looks again (see `nap`);
//! 7. park: on the driver with the next timer's timeout if it is free, else on the
//!    worker's condvar. What the driver turn wakes lands in the local queue; the
//!    worker leaves its park to run it and wakes one other worker if there is more.
//!
//! Wakes from the worker's own reactor and timer turns go to the local queue, never
//! to `runnext`, which other workers take from only once its owner has been in one
//! poll for a while (see `batch_wakes` and `runnext.rs`).
//!
//! Before per-worker reactors, a worker out of tasks did not poll the one shared
//! driver before it stole (as Go's `findrunnable` does), only before a nap: that
//! poll raised hyper's p99 under `wrk` (benches/LOG.md). Its own reactor is another
//! matter: no lock, no other worker's sockets, and the wake-ups it finds are this
//! worker's to run (benches/README.md, "I/O locality").

use std::cell::Cell;
use std::ptr::{self, NonNull};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_deque::{Steal, Worker};

use super::runnext::RunNext;
use super::Shared;
use crate::task::Notified;

/// Consecutive `runnext` polls before the slot's task goes behind the queue.
const MAX_RUNNEXT: u32 = 16;
/// Go checks the global queue first once every 61 schedule ticks.
const GLOBAL_QUEUE_INTERVAL: u32 = 61;
/// Naps a searcher takes in a row before it parks.
const MAX_NAPS: u32 = 4;
/// How often a busy worker fires its own due timers, in wall time: the tick interval
/// between checks is re-tuned every [`GLOBAL_QUEUE_INTERVAL`] ticks to come this
/// close (tokio tunes its global-queue interval to 200 µs the same way). A timer of
/// a worker that never parks fires at most about this late, plus the poll it waits
/// behind.
const TIMER_CHECK_PERIOD: Duration = Duration::from_micros(200);
/// How long another worker must be in one poll, with tasks queued, before an idle
/// worker steals from it before collecting its own I/O (see the module docs).
const STUCK_POLL: Duration = Duration::from_micros(200);
/// How long another worker must be in one poll before an idle worker takes the task
/// in its `runnext` slot (`steal_runnext`). Go naps 3 µs before it does; a searcher
/// here sees the same poll twice only a nap apart, about 50 µs (see [`NAP`]).
const RUNNEXT_STEAL_AFTER: Duration = Duration::from_micros(20);
/// Go's `usleep(3)` in `runqgrab`. Linux stretches so short a sleep to the thread's
/// timer slack (50 µs by default), as it does Go's; tightening the slack made the
/// naps cost CPU (measured in `nap`).
const NAP: Duration = Duration::from_micros(3);
/// How long an idle worker spins for a running blocking closure's wake-up before it
/// parks (see `spin_for_blocking`).
const BLOCKING_SPIN: Duration = Duration::from_micros(30);

pub(crate) struct WorkerCtx {
    shared: Arc<Shared>,
    index: usize,
    local: Worker<Notified>,
    /// `&shared.runnext[index]`, kept to spare the hot path two loads and a bounds
    /// check.
    runnext: NonNull<RunNext>,
    runnext_streak: Cell<u32>,
    tick: Cell<u32>,
    is_searching: Cell<bool>,
    /// While parked, wakes (from the I/O and timers this worker's driver turn fires)
    /// go to the local queue without notifying anyone: the worker leaves its park
    /// right after the turn to run them, and wakes one other worker then if it has
    /// more than one (tokio defers the same way). Waking a sleeper per event instead,
    /// through the injector, cost a futex wake and a context switch for work this
    /// worker was about to do itself.
    parked: Cell<bool>,
    /// Naps taken since this worker last ran a task or parked.
    naps: Cell<u32>,
    /// Spun for a blocking closure since it last ran a task (`spin_for_blocking`).
    spun: Cell<bool>,
    /// Ticks until this worker next fires its own due timers, and the interval it
    /// is reset to (see [`TIMER_CHECK_PERIOD`]).
    timer_countdown: Cell<u32>,
    timer_interval: Cell<u32>,
    /// When the current run of `GLOBAL_QUEUE_INTERVAL` ticks began.
    interval_start: Cell<Option<Instant>>,
    rng: Cell<u64>,
    /// Per worker, the odd poll generation this worker last saw it in, and since
    /// when (`a_victim_is_stuck`).
    seen_polls: Box<[Cell<(u64, Instant)>]>,
    /// A current-thread runtime's `block_on` future was woken (see `current.rs`):
    /// the loop polls it, and a park returns for it. `None` on worker threads.
    main_woken: Option<Arc<AtomicBool>>,
    /// While a stand-in thread runs this worker for a task in `block_in_place`:
    /// the flag that asks it to hand the worker back (`block_in_place.rs`); null
    /// otherwise. The loop returns when it is set, and a park returns for it.
    stop: Cell<*const AtomicBool>,
}

thread_local! {
    static WORKER: Cell<*const WorkerCtx> = const { Cell::new(ptr::null()) };
}

/// This thread's worker context (null if none), for `block_in_place`.
pub(super) fn current() -> *const WorkerCtx {
    WORKER.try_with(|w| w.get()).unwrap_or(ptr::null())
}

/// Sets this thread's worker context (null: none); returns the previous one.
pub(super) fn set_current(ctx: *const WorkerCtx) -> *const WorkerCtx {
    WORKER.try_with(|w| w.replace(ctx)).unwrap_or(ptr::null())
}

/// Runs `f` with this thread's worker context, if it is a worker thread.
fn with_worker<R>(f: impl FnOnce(Option<&WorkerCtx>) -> R) -> R {
    let p = WORKER.try_with(|w| w.get()).unwrap_or(ptr::null());
    // SAFETY: a non-null pointer is set by `run` to a context on its stack, and
    // cleared before that context is dropped; only this thread reads it.
    f(unsafe { p.as_ref() })
}

/// The index of the worker this thread runs for `shared`, if it is one of its
/// workers (or a current-thread runtime's `block_on`).
pub(crate) fn current_index(shared: &Arc<Shared>) -> Option<usize> {
    with_worker(|w| match w {
        Some(w) if Arc::ptr_eq(&w.shared, shared) => Some(w.index),
        _ => None,
    })
}

/// Runs `f` with the driver of the runtime whose worker this thread is, and the
/// worker's index; not at all off the workers.
pub(crate) fn with_current_worker_driver(f: impl FnOnce(&crate::driver::Driver, usize)) {
    with_worker(|w| {
        if let Some(w) = w {
            f(&w.shared.driver, w.index)
        }
    })
}

/// Queues a woken, spawned or yielding task: locally when called on one of this
/// runtime's workers (while it is parked: its driver turn's wakes, see `parked`), else
/// through the injector.
pub(crate) fn schedule(shared: &Arc<Shared>, task: Notified, is_yield: bool) {
    with_worker(|w| match w {
        Some(w) if Arc::ptr_eq(&w.shared, shared) => {
            if w.parked.get() {
                w.local.push(task); // see `parked`
            } else {
                w.schedule_local(task, is_yield)
            }
        }
        _ => shared.schedule_remote(task),
    })
}

/// The body of a worker thread.
pub(crate) fn run(shared: Arc<Shared>, index: usize, local: Worker<Notified>) {
    shared.config.thread_started();
    let enter = crate::current_runtime::enter_worker(&shared, index);
    let ctx = WorkerCtx::new(shared, index, local, None);
    WORKER.with(|w| w.set(&ctx));
    let watch = super::watchdog::enter(&ctx.shared, index);
    ctx.run_loop(None);
    drop(watch);
    WORKER.with(|w| w.set(ptr::null()));
    let shared = ctx.shared.clone();
    // Tasks left in runnext or the local queue are dropped by the shutdown sweep,
    // which reaches the queue through its stealer.
    if let Some(t) = ctx.runnext().take() {
        shared.injector.push(t);
    }
    drop(ctx);
    shared.worker_exited();
    drop(enter);
    shared.config.thread_stopped();
}

/// Runs `f` with `ctx` as this thread's worker context (for `schedule`), for the
/// current-thread runtime's `block_on`, which drives the worker loop itself.
pub(super) fn with_context<R>(ctx: &WorkerCtx, f: impl FnOnce() -> R) -> R {
    struct Reset(*const WorkerCtx);
    impl Drop for Reset {
        fn drop(&mut self) {
            let prev = self.0;
            let _ = WORKER.try_with(|w| w.set(prev));
        }
    }
    let _reset = Reset(WORKER.with(|w| w.replace(ctx)));
    f()
}

impl WorkerCtx {
    pub(super) fn new(
        shared: Arc<Shared>,
        index: usize,
        local: Worker<Notified>,
        main_woken: Option<Arc<AtomicBool>>,
    ) -> WorkerCtx {
        WorkerCtx {
            rng: Cell::new(0x9E37_79B9_7F4A_7C15 ^ ((index as u64 + 1) << 17)),
            runnext: NonNull::from(&shared.runnext[index]),
            seen_polls: (0..shared.stealers.len())
                .map(|_| Cell::new((0, Instant::now())))
                .collect(),
            shared,
            index,
            local,
            runnext_streak: Cell::new(0),
            tick: Cell::new(0),
            is_searching: Cell::new(false),
            parked: Cell::new(false),
            naps: Cell::new(0),
            spun: Cell::new(false),
            timer_countdown: Cell::new(GLOBAL_QUEUE_INTERVAL),
            timer_interval: Cell::new(GLOBAL_QUEUE_INTERVAL),
            interval_start: Cell::new(None),
            main_woken,
            stop: Cell::new(ptr::null()),
        }
    }

    pub(super) fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// This worker's `runnext` slot, which it alone fills.
    #[inline]
    fn runnext(&self) -> &RunNext {
        // SAFETY: it points into `self.shared`, which the `Arc` we hold keeps alive
        // and never reallocates its slots.
        unsafe { self.runnext.as_ref() }
    }

    pub(super) fn index(&self) -> usize {
        self.index
    }

    /// Whether this is a current-thread runtime's `block_on` (see `current.rs`).
    pub(super) fn is_current_thread(&self) -> bool {
        self.main_woken.is_some()
    }

    /// Runs the worker loop as a stand-in for a thread in `block_in_place`, until
    /// `stop` is set (or shutdown); restores the previous stop flag after.
    pub(super) fn run_as_stand_in(&self, stop: &AtomicBool) {
        let prev = self.stop.replace(stop);
        self.run_loop(None);
        self.stop.set(prev);
    }

    /// Whether a stand-in was asked to hand this worker back.
    fn stop_requested(&self) -> bool {
        let p = self.stop.get();
        // SAFETY: a non-null `stop` points into the `Handoff` the stand-in's closure
        // holds for as long as it runs the loop (`run_as_stand_in` resets it before
        // returning).
        !p.is_null() && unsafe { &*p }.load(std::sync::atomic::Ordering::Acquire)
    }

    /// Gives back the local queue, with the `runnext` task pushed onto it (a
    /// current-thread runtime keeps its queue between `block_on`s), and stops
    /// counting this worker as searching: the next `block_on` starts afresh, and a
    /// searcher left counted would keep every later wake from notifying it.
    pub(super) fn into_local(self) -> Worker<Notified> {
        if self.is_searching.replace(false) {
            self.shared.idle.transition_worker_from_searching();
        }
        if let Some(t) = self.runnext().take() {
            self.local.push(t);
        }
        self.local
    }

    /// Whether a current-thread `block_on` future was woken (not consumed).
    fn main_is_woken(&self) -> bool {
        self.main_woken
            .as_ref()
            .is_some_and(|w| w.load(std::sync::atomic::Ordering::Acquire))
    }

    /// Something other than a task needs this worker's loop: a current-thread
    /// `block_on` future was woken, or a stand-in is asked to stop.
    fn interrupted(&self) -> bool {
        self.main_is_woken() || self.stop_requested()
    }

    /// The worker loop: until shutdown; for a current-thread runtime's `block_on`,
    /// until `poll_main` (called whenever the future was woken) returns `true`;
    /// for a stand-in, until its stop flag is set.
    pub(super) fn run_loop(&self, mut poll_main: Option<&mut dyn FnMut() -> bool>) {
        let shared = &*self.shared;
        loop {
            if let (Some(poll), Some(woken)) = (poll_main.as_mut(), &self.main_woken) {
                // A load first: the flag is rarely set, and a swap would write.
                if woken.load(std::sync::atomic::Ordering::Acquire)
                    && woken.swap(false, std::sync::atomic::Ordering::AcqRel)
                {
                    if poll() {
                        return;
                    }
                    // The block_on future's poll is not the next task's.
                    crate::trace::boundary();
                }
            }
            if shared.is_shutdown() || self.stop_requested() {
                return;
            }
            let tick = self.tick.get().wrapping_add(1);
            self.tick.set(tick);
            if tick % GLOBAL_QUEUE_INTERVAL == 0 {
                self.maintenance();
            } else {
                self.check_own_timers();
            }
            if let Some(task) = self.next_task(tick) {
                self.run_task(task);
                continue;
            }
            let steal_first = self.a_victim_is_stuck();
            if !steal_first && self.turn_own() {
                continue;
            }
            if let Some(task) = self.steal_work() {
                self.run_task(task);
                continue;
            }
            if steal_first && self.turn_own() {
                continue;
            }
            if self.nap() || self.spin_for_blocking() {
                continue;
            }
            self.park();
        }
    }

    /// Every [`GLOBAL_QUEUE_INTERVAL`] ticks: the driver without blocking (ready I/O,
    /// and the due timers of every shard: those of a worker stuck in a long poll
    /// fire here, Go's timer stealing), or this worker's own timers if another
    /// worker holds the driver; and the timer check interval re-tuned.
    fn maintenance(&self) {
        self.poll_driver();
        self.timer_countdown.set(self.timer_interval.get());
        let now = Instant::now();
        if let Some(start) = self.interval_start.replace(Some(now)) {
            let elapsed = now.duration_since(start).as_nanos().max(1);
            let ticks = u128::from(GLOBAL_QUEUE_INTERVAL) * TIMER_CHECK_PERIOD.as_nanos() / elapsed;
            self.timer_interval
                .set(ticks.clamp(1, u128::from(GLOBAL_QUEUE_INTERVAL)) as u32);
        }
    }

    /// Out of queued tasks: collects this worker's own ready I/O before it looks
    /// elsewhere (thread-per-core's loop: a socket's wake-ups stay on its worker).
    /// Returns whether that queued any task.
    fn turn_own(&self) -> bool {
        self.batch_wakes(|| self.shared.driver.turn_own(self.index)) > 0 && !self.local.is_empty()
    }

    /// The driver without blocking (`Driver::poll_nonblocking`); returns how many
    /// timers and sockets it fired.
    fn poll_driver(&self) -> usize {
        self.batch_wakes(|| self.shared.driver.poll_nonblocking(self.index))
    }

    /// Runs `turn`, a reactor or timer turn that returns how many things it fired,
    /// with the wakes it causes going to the local queue as in a park: not to
    /// `runnext`, which other workers leave alone until the poll in front of it has
    /// run a while (a task woken there behind one that runs long would wait that
    /// long), and with no notify each; one other worker is woken after if more than
    /// one task came.
    fn batch_wakes(&self, turn: impl FnOnce() -> usize) -> usize {
        let was = self.parked.replace(true);
        let n = turn();
        self.parked.set(was);
        if n > 0 && self.local.len() > 1 {
            self.shared.notify_parked();
        }
        n
    }

    /// Fires this worker's due timers every `timer_interval` ticks: a busy worker
    /// keeps its timers on time without a clock read per task (one load when it
    /// has none armed).
    #[inline]
    fn check_own_timers(&self) {
        let left = self.timer_countdown.get();
        if left > 1 {
            self.timer_countdown.set(left - 1);
            return;
        }
        self.timer_countdown.set(self.timer_interval.get());
        self.shared.driver.process_own(self.index);
    }

    fn schedule_local(&self, task: Notified, is_yield: bool) {
        let to_queue = if is_yield {
            Some(task)
        } else {
            self.runnext().put(task).err()
        };
        if let Some(t) = to_queue {
            self.local.push(t);
            // Work others could steal: wake a sleeper if nobody searches (a fence and
            // a load when nobody needs waking; tokio pays the same). After every push,
            // not only one into an empty queue checked before pushing: a thief that
            // drains the queue between that check and the push, then parks, would
            // sleep through every later push (idle.rs has the loom model of both
            // rules, tests/executor_wakeup.rs the 400,000-spawn case that showed it).
            self.shared.notify_parked();
        }
    }

    fn next_task(&self, tick: u32) -> Option<Notified> {
        if tick % GLOBAL_QUEUE_INTERVAL == 0 {
            if let Some(t) = steal_one(&self.shared.injector) {
                return Some(t);
            }
        }
        if let Some(t) = self.runnext().take() {
            let streak = self.runnext_streak.get();
            if streak < MAX_RUNNEXT {
                self.runnext_streak.set(streak + 1);
                return Some(t);
            }
            self.local.push(t);
        }
        self.runnext_streak.set(0);
        if let Some(t) = self.local.pop() {
            return Some(t);
        }
        loop {
            match self.shared.injector.steal_batch_and_pop(&self.local) {
                Steal::Success(t) => return Some(t),
                Steal::Retry => continue,
                Steal::Empty => return None,
            }
        }
    }

    /// Whether another worker with queued tasks has been in one poll for at least
    /// [`STUCK_POLL`] (its watchdog generation odd and unchanged since this worker
    /// first saw it so). Never with the watchdog off.
    fn a_victim_is_stuck(&self) -> bool {
        let shared = &*self.shared;
        if !shared.watchdog.is_enabled() {
            return false;
        }
        let mut now = None;
        let mut stuck = false;
        for (v, seen) in self.seen_polls.iter().enumerate() {
            let gen = shared.watchdog.generation(v);
            if v == self.index || gen & 1 == 0 || shared.stealers[v].is_empty() {
                continue;
            }
            let now = *now.get_or_insert_with(Instant::now);
            match seen.get() {
                (g, since) if g == gen => stuck |= now.duration_since(since) >= STUCK_POLL,
                _ => seen.set((gen, now)),
            }
        }
        stuck
    }

    fn next_rand(&self) -> u64 {
        let mut x = self.rng.get();
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.rng.set(x);
        x
    }

    fn steal_work(&self) -> Option<Notified> {
        let shared = &*self.shared;
        if !self.is_searching.get() {
            if !shared.idle.transition_worker_to_searching() {
                return None;
            }
            self.is_searching.set(true);
        }
        let n = shared.stealers.len();
        let start = (self.next_rand() % n as u64) as usize;
        for i in 0..n {
            let victim = (start + i) % n;
            if victim == self.index {
                continue;
            }
            loop {
                match shared.stealers[victim].steal_batch_and_pop(&self.local) {
                    Steal::Success(t) => {
                        shared.stolen_from(victim);
                        return Some(t);
                    }
                    Steal::Retry => continue,
                    Steal::Empty => break,
                }
            }
        }
        loop {
            match shared.injector.steal_batch_and_pop(&self.local) {
                Steal::Success(t) => return Some(t),
                Steal::Retry => continue,
                Steal::Empty => break,
            }
        }
        self.steal_runnext()
    }

    /// Takes the `runnext` task of a worker that has been in one poll for at least
    /// [`RUNNEXT_STEAL_AFTER`] (its watchdog generation odd and unchanged since this
    /// worker first saw it so): that task would wait out the poll while this worker
    /// idles (Go's `runqsteal` with `stealRunNextG`). Never with the watchdog off.
    fn steal_runnext(&self) -> Option<Notified> {
        let shared = &*self.shared;
        if !shared.watchdog.is_enabled() {
            return None;
        }
        let mut now = None;
        for (v, seen) in self.seen_polls.iter().enumerate() {
            if v == self.index || !shared.runnext[v].is_occupied() {
                continue;
            }
            let gen = shared.watchdog.generation(v);
            if gen & 1 == 0 {
                continue; // between polls: the owner takes it next
            }
            let now = *now.get_or_insert_with(Instant::now);
            match seen.get() {
                (g, since) if g == gen => {
                    if now.duration_since(since) >= RUNNEXT_STEAL_AFTER {
                        if let Some(t) = shared.runnext[v].take() {
                            shared.stolen_from(v);
                            return Some(t);
                        }
                    }
                }
                _ => seen.set((gen, now)),
            }
        }
        None
    }

    /// Naps instead of parking, if this worker searches, has napped fewer than
    /// [`MAX_NAPS`] times in a row, and another worker runs tasks: polls the driver
    /// without blocking and, if that fired nothing, sleeps [`NAP`] (Go's spinning M
    /// sleeps the same way before it steals a running P's `runnext`). Returns
    /// whether it napped; the caller then looks for work again.
    ///
    /// A napping worker still counts as searching, so the running worker's pushes
    /// wake nobody: no futex or reactor wake-up per hand-off; the napper takes the
    /// task when it looks again. Parking at once instead, every displaced hand-off
    /// woke it through an eventfd write, which made a two-worker `select2` loop
    /// slower on more CPU. The cost is up to a nap's delay before the napper joins
    /// in (a CPU-heavy capacity-1 pipeline got slower, to Go's time); precise naps
    /// (a tighter timer slack) lost hyper's hello req/s to their context switches
    /// (benches/LOG.md, 2026-12-03).
    ///
    /// The poll comes before the sleep, not after it: a napper then sleeps only when
    /// no I/O is ready, which halved the server's voluntary context switches under
    /// `wrk` against hyper's hello and raised its req/s (benches/LOG.md).
    fn nap(&self) -> bool {
        let naps = self.naps.get();
        if naps >= MAX_NAPS || !self.is_searching.get() || !self.shared.idle.any_running() {
            return false;
        }
        self.naps.set(naps + 1);
        // Go's `netpoll(0)` in `findrunnable`: ready I/O and due timers are work, so
        // the napper sleeps only when they fired nothing.
        let fired = self.poll_driver();
        if fired == 0 {
            std::thread::sleep(NAP);
            crate::trace::boundary(); // the nap is not the next poll's
        }
        true
    }

    /// Spins briefly, still searching, while a blocking closure runs: its
    /// completion usually wakes a task within microseconds (a `spawn_blocking`
    /// round trip: file I/O, DNS), and finding it here saves parking this worker
    /// and a futex wake to get it back (Go's spinning M, which spins before it
    /// sleeps). Returns whether work turned up; bounded by [`BLOCKING_SPIN`], once per
    /// idle spell.
    fn spin_for_blocking(&self) -> bool {
        let shared = &*self.shared;
        if self.spun.get() || shared.blocking.num_in_flight() == 0 {
            return false;
        }
        self.spun.set(true);
        if !self.is_searching.get() && shared.idle.transition_worker_to_searching() {
            // Counted as searching, a completion's push wakes no parked worker.
            self.is_searching.set(true);
        }
        let start = Instant::now();
        let found = loop {
            for _ in 0..32 {
                std::hint::spin_loop();
            }
            if !shared.injector.is_empty() || !self.local.is_empty() {
                break true;
            }
            if start.elapsed() >= BLOCKING_SPIN || shared.blocking.num_in_flight() == 0 {
                break !shared.injector.is_empty();
            }
        };
        crate::trace::boundary(); // the spin is not the next poll's
        found
    }

    fn run_task(&self, task: Notified) {
        self.naps.set(0);
        if self.is_searching.replace(false) && self.shared.idle.transition_worker_from_searching() {
            // The last searcher found work: wake another to look for more.
            self.shared.notify_parked();
        }
        self.spun.set(false);
        self.shared.metrics.count_poll(self.index);
        task.run();
    }

    fn park(&self) {
        let shared = &*self.shared;
        let traced = crate::trace::on().then(crate::trace::now);
        self.naps.set(0);
        let was_searching = self.is_searching.replace(false);
        if shared
            .idle
            .transition_worker_to_parked(self.index, was_searching)
        {
            shared.notify_if_work_pending();
        }
        shared.may_be_idle();
        self.parked.set(true);
        loop {
            if shared.is_shutdown() {
                break;
            }
            let all_idle = || shared.is_idle();
            let is_parked = |w| shared.idle.is_parked(w);
            if !shared.driver.park(self.index, all_idle, &is_parked) {
                shared.parkers[self.index].park(None);
            }
            if !shared.idle.is_parked(self.index) {
                // Woken by `notify_parked`, which counted us as searching.
                self.is_searching.set(true);
                break;
            }
            // A timer, a driver event or a spurious wake: look for work ourselves
            // (a current-thread `block_on` future woken, or a stand-in's stop, is
            // work too).
            if !self.local.is_empty() || !shared.injector.is_empty() || self.interrupted() {
                if !shared.idle.unpark_worker_by_id(self.index) {
                    // Someone woke us between the check and now.
                    self.is_searching.set(true);
                }
                break;
            }
        }
        self.parked.set(false);
        if crate::trace::on() {
            crate::trace::span_since(traced, crate::trace::What::Park);
        }
        // The watchdog's monitor sleeps while every worker does.
        shared.watchdog.kick();
        // What the driver turn woke is in our queue: we run one now, and another
        // worker can take the rest.
        if self.local.len() > 1 {
            shared.notify_parked();
        }
    }
}

fn steal_one(injector: &crossbeam_deque::Injector<Notified>) -> Option<Notified> {
    loop {
        match injector.steal() {
            Steal::Success(t) => return Some(t),
            Steal::Retry => continue,
            Steal::Empty => return None,
        }
    }
}
