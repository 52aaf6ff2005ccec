//! The timer driver: a wheel per worker (shards), a shared clock, and the protocol by
//! which one sleeping thread wakes for the earliest deadline of any shard.
//!
//! # Design
//!
//! Timers belong to workers, as in Go since 1.14 (a heap per P) and tokio (a wheel
//! shard per worker): a worker arms and cancels its timers in its own shard, whose
//! lock nobody else wants at that moment; see `shard.rs`. Who fires them:
//! - the owner, between tasks ([`Driver::process_shard`], cheap when nothing is due);
//! - any thread that processes the whole driver ([`Driver::process`]): the worker
//!   parked in the runtime's driver, a busy worker's periodic check, or the fallback
//!   driver's thread. That is Go's timer stealing: a parked or busy worker's due
//!   timers fire on time although it does not look at them itself.
//!
//! Workers use the skipping forms ([`Driver::try_process`], and `process_shard`):
//! a shard that another thread is firing is left to it, so the second worker runs
//! the tasks the first one wakes. Waiting for the shard's lock instead, the two
//! took turns firing batch by batch while the woken tasks waited, and a burst of
//! due timers fell further behind with each turn.
//!
//! One thread at a time sleeps for timers (the worker holding the runtime's driver,
//! Go's netpoller M). It publishes the tick it sleeps until in `sleeping_until` and
//! then reads every shard's `earliest` again; an arming thread that lowers a shard's
//! `earliest` then reads `sleeping_until` and calls `unpark` if its deadline comes
//! first. Both sides store, then fence (`SeqCst`), then load (Dekker), so at least
//! one sees the other: the sleeper never sleeps past a timer armed while it went to
//! sleep (the loom model `tests_loom::sleeper_sees_or_is_unparked` checks it, and
//! fails without either fence).
//!
//! # Invariants
//!
//! 1. `sleeping_until` is 0 unless a thread is between [`Driver::park_timeout`] and
//!    [`Driver::unparked`]; then it is no later than the deadline that thread's
//!    timeout ends at.
//! 2. `unpark` is called, outside every lock, whenever an arming lowers a shard's
//!    `earliest` below `sleeping_until`.
//! 3. After `shutdown`, nothing is linked and nothing will be: `shutdown` is set
//!    before each shard is drained under its lock, and every link checks it under the
//!    shard's lock.
//! 4. Wakers run outside every lock, one at a time under `catch_unwind`
//!    (`wake.rs`): a panicking waker is reported and the driver goes on.

mod arm;
mod shard;
mod wake;

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use crate::clock::Clock;
use crate::loom::sync::atomic::{fence, AtomicBool, AtomicU64, AtomicUsize, Ordering};
use crate::Instant;

pub(crate) use arm::NEVER_NS;
use shard::Shard;
pub use wake::PanicHandler;
use wake::WakeList;
#[cfg(test)]
pub(crate) use wake::WAKE_BATCH;

/// How a driver spawns the tasks of [`after_func`](crate::after_func): the executor
/// installs one with [`Driver::set_spawner`]. It is given the task and where
/// `after_func` was called (the task's spawn site in dumps and traces).
pub type Spawner = Arc<
    dyn Fn(Pin<Box<dyn Future<Output = ()> + Send>>, &'static std::panic::Location<'static>)
        + Send
        + Sync,
>;

/// The timer driver of one runtime: a hierarchical timing wheel per worker and a
/// clock they share.
///
/// An executor creates one with a shard per worker
/// ([`with_shards`](Driver::with_shards)), [`enter_shard`](Driver::enter_shard)s it on
/// each worker thread, fires the worker's own timers between tasks
/// ([`process_shard`](Driver::process_shard)), and sleeps for the earliest timer of
/// all shards in its parking loop:
///
/// ```
/// # use std::sync::Arc;
/// # use std::time::Duration;
/// use gorun_timer::Driver;
///
/// let driver = Driver::new(Arc::new(|| { /* unpark the sleeping thread */ }));
/// let _guard = driver.enter();
/// let sleep = gorun_timer::sleep(Duration::from_millis(5));
/// # let mut sleep = Box::pin(sleep);
/// # let _ = sleep.as_mut().poll(&mut std::task::Context::from_waker(std::task::Waker::noop()));
/// # use std::future::Future;
/// // A worker's parking loop:
/// loop {
///     let timeout = driver.park_timeout(); // None: no timer armed
///     std::thread::sleep(timeout.unwrap_or(Duration::from_millis(1))); // park(timeout)
///     driver.unparked();
///     if driver.process() > 0 {
///         break; // the sleep's task was woken
///     }
/// }
/// ```
///
/// Cheap to clone (an `Arc` inside). On a thread where no driver is entered, timers
/// use a global driver run by one background thread of this crate.
#[derive(Clone)]
pub struct Driver {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    shards: Box<[Shard]>,
    /// The tick the sleeping thread's timeout ends at; 0: nobody sleeps (invariant 1).
    sleeping_until: AtomicU64,
    shutdown: AtomicBool,
    pub(crate) clock: Clock,
    unpark: Arc<dyn Fn() + Send + Sync>,
    /// The shard the next thread that enters without one of its own gets.
    next_shard: AtomicUsize,
    spawner: std::sync::Mutex<Option<Spawner>>,
    on_panic: std::sync::OnceLock<PanicHandler>,
}

impl fmt::Debug for Driver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Driver")
            .field("shards", &self.inner.shards.len())
            .field("paused", &self.is_paused())
            .field("shutdown", &self.inner.shutdown.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

/// The most shards (wheels) a driver has: an entry records its shard in 16 bits.
pub const MAX_SHARDS: usize = 1 << 16;

impl Driver {
    /// Creates a driver with one shard. `unpark` is called when a newly armed timer
    /// is due before the thread sleeping for timers (see
    /// [`park_timeout`](Driver::park_timeout)) would wake, so that it wakes and sleeps
    /// again with the new timeout. It is called outside the driver's locks and must be
    /// cheap; a call that lands between that thread's `park_timeout` and its sleep
    /// must not be lost (give it `std::thread::park`'s token semantics).
    pub fn new(unpark: Arc<dyn Fn() + Send + Sync>) -> Driver {
        Driver::with_shards(1, unpark)
    }

    /// Creates a driver with `shards` wheels (at least one, at most
    /// [`MAX_SHARDS`]): one per worker of the executor that drives it. Beyond
    /// `MAX_SHARDS`, workers share wheels ([`enter_shard`](Driver::enter_shard) takes
    /// its index modulo the count). See [`new`](Driver::new) for `unpark`.
    pub fn with_shards(shards: usize, unpark: Arc<dyn Fn() + Send + Sync>) -> Driver {
        Driver {
            inner: Arc::new(Inner {
                shards: (0..shards.clamp(1, MAX_SHARDS)).map(Shard::new).collect(),
                sleeping_until: AtomicU64::new(0),
                shutdown: AtomicBool::new(false),
                clock: Clock::new(),
                unpark,
                next_shard: AtomicUsize::new(0),
                spawner: std::sync::Mutex::new(None),
                on_panic: std::sync::OnceLock::new(),
            }),
        }
    }

    /// The number of shards (wheels).
    pub fn shards(&self) -> usize {
        self.inner.shards.len()
    }

    /// Installs the spawner that [`after_func`](crate::after_func) uses to run its
    /// function as a new task. Without one, the function runs on the thread that fires
    /// the timer (a parking worker, or the global driver's thread).
    pub fn set_spawner(&self, spawner: Spawner) {
        *self.inner.spawner.lock().unwrap_or_else(|e| e.into_inner()) = Some(spawner);
    }

    pub(crate) fn spawner(&self) -> Option<Spawner> {
        self.inner
            .spawner
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Installs what receives the panic of a waker the driver wakes (a timer's task
    /// waker that panics). Without one, the panic is dropped after the panic hook has
    /// printed it; the driver goes on either way. Set once; later calls are ignored.
    pub fn set_panic_handler(&self, handler: PanicHandler) {
        let _ = self.inner.on_panic.set(handler);
    }

    pub(crate) fn on_panic(&self) -> Option<&PanicHandler> {
        self.inner.on_panic.get()
    }

    /// Wakes a batch outside every lock (invariant 4).
    fn wake(&self, wakes: &mut WakeList) {
        wakes.wake_all(self.on_panic());
    }

    /// Now, on this driver's clock (paused or real).
    pub fn now(&self) -> Instant {
        Instant::from_std(self.inner.clock.now())
    }

    pub(crate) fn clock(&self) -> &Clock {
        &self.inner.clock
    }

    pub(crate) fn shard(&self, index: usize) -> &Shard {
        &self.inner.shards[index]
    }

    /// A shard for a thread that enters this driver without one of its own
    /// (round robin, so such threads spread over the shards).
    pub(crate) fn pick_shard(&self) -> usize {
        self.inner.next_shard.fetch_add(1, Ordering::Relaxed) % self.inner.shards.len()
    }

    /// The earliest tick any shard may have due (`u64::MAX`: nothing armed).
    fn min_earliest(&self) -> u64 {
        self.inner
            .shards
            .iter()
            .map(Shard::earliest)
            .min()
            .unwrap_or(u64::MAX)
    }

    /// How long a thread may sleep before a timer is due, for `earliest`.
    fn timeout_for(&self, earliest: u64) -> Option<Duration> {
        if earliest == u64::MAX {
            return None;
        }
        let clock = &self.inner.clock;
        if earliest <= clock.now_tick() {
            return Some(Duration::ZERO);
        }
        if clock.is_paused() {
            return None;
        }
        Some(
            clock
                .instant_of_tick(earliest)
                .saturating_duration_since(clock.now()),
        )
    }

    /// How long a thread may sleep now: `None` when no timer is armed (or the clock is
    /// paused and nothing is due: paused time does not pass by waiting),
    /// `Some(Duration::ZERO)` when something is due. One load per shard.
    pub fn next_timeout(&self) -> Option<Duration> {
        self.timeout_for(self.min_earliest())
    }

    /// As [`next_timeout`](Driver::next_timeout), for the one thread about to sleep
    /// for this driver's timers: it also publishes how long it will sleep, so that a
    /// timer armed meanwhile for earlier calls `unpark`. Call
    /// [`unparked`](Driver::unparked) once awake.
    pub fn park_timeout(&self) -> Option<Duration> {
        let until = self.publish_sleep();
        self.timeout_for(until)
    }

    /// Publishes the tick the caller will sleep until and returns it (see
    /// [`park_timeout`](Driver::park_timeout)).
    pub(crate) fn publish_sleep(&self) -> u64 {
        let first = self.min_earliest();
        // 0 means "nobody sleeps"; a sleeper for tick 0 is due anyway.
        self.inner
            .sleeping_until
            .store(first.max(1), Ordering::SeqCst);
        // Read again after publishing: an arming thread that lowered a shard before
        // it could see our publication is seen here (invariant 1, module docs). The
        // fence pairs with the one in `lowered`: store, fence, load on both sides.
        fence(Ordering::SeqCst);
        first.min(self.min_earliest())
    }

    /// Moves the paused clock without firing (loom models fire on a thread of their
    /// own with `process`).
    #[cfg(all(test, loom))]
    pub(crate) fn pause_advance_for_loom(&self, d: Duration) {
        self.inner.clock.advance(d);
    }

    /// The sleeping thread is awake: arming threads stop unparking it.
    pub fn unparked(&self) {
        self.inner.sleeping_until.store(0, Ordering::SeqCst);
    }

    /// Called by an arming thread that lowered a shard's `earliest` to `when`.
    fn lowered(&self, when: u64) {
        // Pairs with the fence in `publish_sleep` (the shard's store came before).
        fence(Ordering::SeqCst);
        if when < self.inner.sleeping_until.load(Ordering::SeqCst) {
            (self.inner.unpark)();
        }
    }

    /// Fires the due timers of every shard, invoking wakers outside the locks.
    /// Returns how many fired. One load per shard (and a clock read if any has a
    /// timer armed) when nothing is due.
    pub fn process(&self) -> usize {
        self.process_all(false)
    }

    /// As [`process`](Driver::process), but skips each shard that another thread is
    /// firing through `try_process` or [`process_shard`](Driver::process_shard) at
    /// that moment: that thread fires what is due. For a worker between tasks, which
    /// then runs the tasks being woken instead of waiting for the shard's lock. A
    /// skipped shard's due timers fire when that thread is done, or at the caller's
    /// next check: nothing is lost, but nothing is promised on return either (use
    /// `process` for that).
    pub fn try_process(&self) -> usize {
        self.process_all(true)
    }

    /// `process` or, with `skip_busy`, `try_process`.
    fn process_all(&self, skip_busy: bool) -> usize {
        if self.min_earliest() == u64::MAX {
            return 0;
        }
        let now = self.inner.clock.now_tick();
        let mut wake = |w: &mut WakeList| self.wake(w);
        self.inner
            .shards
            .iter()
            .map(|s| {
                if skip_busy {
                    s.try_process(now, &mut wake)
                } else {
                    s.process(now, &mut wake)
                }
            })
            .sum()
    }

    /// Fires the due timers of shard `index` only (a worker's own, between tasks),
    /// unless another thread is firing it, as in [`try_process`](Driver::try_process).
    /// One load when it has no timer armed, and a clock read when it has.
    /// `index` is taken modulo the shard count.
    pub fn process_shard(&self, index: usize) -> usize {
        let shard = &self.inner.shards[index % self.inner.shards.len()];
        if shard.earliest() == u64::MAX {
            return 0;
        }
        let now = self.inner.clock.now_tick();
        shard.try_process(now, &mut |w| self.wake(w))
    }

    /// Timers armed now in every shard (due ones not yet fired included). Takes
    /// each shard's lock in turn: for metrics, not for hot paths.
    pub fn armed(&self) -> usize {
        self.inner.shards.iter().map(|s| s.lock().len()).sum()
    }

    /// Freezes this driver's clock: time then moves only by [`advance`](Driver::advance)
    /// and [`advance_to_next`](Driver::advance_to_next).
    pub fn pause(&self) {
        self.inner.clock.pause();
    }

    /// Lets this driver's clock run again, from where it was frozen.
    pub fn resume(&self) {
        self.inner.clock.resume();
        (self.inner.unpark)(); // a parked worker must recompute its timeout
    }

    /// Whether the clock is paused.
    pub fn is_paused(&self) -> bool {
        self.inner.clock.is_paused()
    }

    /// Moves the clock forward by `d` and fires what became due.
    pub fn advance(&self, d: Duration) -> usize {
        self.inner.clock.advance(d);
        self.process()
    }

    /// Paused clock only: jumps to the earliest deadline and fires what is due then.
    /// Returns `false` (moving nothing) if no timer is armed or the clock is running.
    /// An executor calls this when every worker is idle and the clock is paused, so a
    /// test of a one-hour timeout runs in microseconds (tokio's auto-advance).
    pub fn advance_to_next(&self) -> bool {
        if !self.is_paused() {
            return false;
        }
        loop {
            // A lower bound of the earliest deadline: jumping there either fires it
            // or cascades its wheel slot and raises the bound (invariant 1 of
            // `shard.rs`), so the loop ends.
            let tick = self.min_earliest();
            if tick == u64::MAX {
                return false;
            }
            self.inner.clock.advance_to_tick(tick);
            if self.process() > 0 {
                return true;
            }
        }
    }

    /// Shuts the driver down: every armed timer is unlinked and its task woken (its
    /// `Sleep` then stays pending forever — the executor drops such tasks). After this,
    /// new timers on this driver never complete. Idempotent.
    pub fn shutdown(&self) {
        self.inner.shutdown.store(true, Ordering::SeqCst);
        for shard in self.inner.shards.iter() {
            shard.drain(&mut |w| self.wake(w));
        }
        (self.inner.unpark)();
    }

    /// Whether [`shutdown`](Driver::shutdown) was called.
    pub fn is_shutdown(&self) -> bool {
        self.inner.shutdown.load(Ordering::Acquire)
    }
}

impl Inner {
    #[cfg(test)]
    pub(crate) fn earliest(&self) -> u64 {
        self.shards
            .iter()
            .map(Shard::earliest)
            .min()
            .unwrap_or(u64::MAX)
    }
}
