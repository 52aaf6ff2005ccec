//! The driver's clock: real monotonic time, or a paused clock moved by hand.
//!
//! Time inside the driver is nanoseconds since the driver's `origin` (a
//! `std::time::Instant`); the wheel counts whole ticks of 125 µs of it: a whole number
//! per millisecond, and fine enough that a sleep in a loop does not round up by a
//! whole millisecond each time (it did with millisecond ticks; Go's timers are exact).
//!
//! # Invariants
//!
//! 1. `now_ns` never goes backwards: pausing freezes it (rounded *up* to a whole
//!    tick, so whole-millisecond sleeps on a paused clock wake at exactly their
//!    deadline), `advance` only adds, and `resume` continues from the frozen value.
//! 2. Writers (pause / resume / advance) serialize on `lock`; readers are lock-free.

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant as StdInstant};

/// Nanoseconds per wheel tick.
pub(crate) const NANOS_PER_TICK: u64 = 125_000;

#[derive(Debug)]
pub(crate) struct Clock {
    origin: StdInstant,
    /// Real time since `origin`.
    since_origin: SinceOrigin,
    paused: AtomicBool,
    /// The frozen time while paused.
    frozen_ns: AtomicU64,
    /// While running: `now = real elapsed + offset`.
    offset_ns: AtomicI64,
    lock: Mutex<()>,
}

fn ns(d: Duration) -> u64 {
    nanos(d).unwrap_or(u64::MAX)
}

/// `d` in nanoseconds, if that fits in a `u64` (without `as_nanos`'s `u128`).
#[inline]
pub(crate) fn nanos(d: Duration) -> Option<u64> {
    d.as_secs()
        .checked_mul(1_000_000_000)?
        .checked_add(u64::from(d.subsec_nanos()))
}

/// The tick at which `ns` (nanoseconds since the origin) is reached, rounded *up*
/// so a timer never fires early.
#[inline]
pub(crate) fn tick_of_ns(ns: u64) -> u64 {
    ns.div_ceil(NANOS_PER_TICK)
}

/// Real nanoseconds since an origin. On Linux it reads `CLOCK_MONOTONIC` (the clock
/// under `std::time::Instant` there) itself, as plain integers, where
/// `Instant::elapsed` subtracts checked `timespec`s and converts through a `Duration`
/// on every `sleep()`. Elsewhere it is `Instant::elapsed`.
#[derive(Debug)]
struct SinceOrigin {
    /// The origin on `CLOCK_MONOTONIC`, read just after the `Instant` origin, so
    /// never before it: a deadline converted from an `Instant` is reached no earlier
    /// on this clock than on std's (at worst a read's length later).
    #[cfg(target_os = "linux")]
    origin_ns: u64,
    #[cfg(not(target_os = "linux"))]
    origin: StdInstant,
}

impl SinceOrigin {
    #[cfg(target_os = "linux")]
    fn new(_origin: StdInstant) -> SinceOrigin {
        SinceOrigin {
            origin_ns: monotonic_ns(),
        }
    }

    #[cfg(not(target_os = "linux"))]
    fn new(origin: StdInstant) -> SinceOrigin {
        SinceOrigin { origin }
    }

    #[cfg(target_os = "linux")]
    #[inline]
    fn ns(&self) -> u64 {
        monotonic_ns().saturating_sub(self.origin_ns)
    }

    #[cfg(not(target_os = "linux"))]
    #[inline]
    fn ns(&self) -> u64 {
        ns(self.origin.elapsed())
    }
}

/// `CLOCK_MONOTONIC` in nanoseconds (since boot: a `u64` lasts 584 years).
#[cfg(target_os = "linux")]
#[inline]
fn monotonic_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable `timespec` for the call to fill; Linux always
    // has `CLOCK_MONOTONIC`, so the call cannot fail (std's `Instant::now` asserts the
    // same call succeeds).
    let r = unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    debug_assert_eq!(r, 0, "clock_gettime(CLOCK_MONOTONIC) failed");
    (ts.tv_sec as u64)
        .wrapping_mul(1_000_000_000)
        .wrapping_add(ts.tv_nsec as u64)
}

impl Clock {
    pub(crate) fn new() -> Clock {
        let origin = StdInstant::now();
        Clock {
            origin,
            since_origin: SinceOrigin::new(origin),
            paused: AtomicBool::new(false),
            frozen_ns: AtomicU64::new(0),
            offset_ns: AtomicI64::new(0),
            lock: Mutex::new(()),
        }
    }

    fn real_ns(&self) -> u64 {
        let real = self.since_origin.ns() as i64;
        real.saturating_add(self.offset_ns.load(Ordering::Relaxed))
            .max(0) as u64
    }

    /// Now, in nanoseconds since the origin.
    #[inline]
    pub(crate) fn now_ns(&self) -> u64 {
        if self.paused.load(Ordering::Acquire) {
            self.frozen_ns.load(Ordering::Acquire)
        } else {
            self.real_ns()
        }
    }

    /// The current tick (rounded down: a tick has begun once its first ns has).
    #[inline]
    pub(crate) fn now_tick(&self) -> u64 {
        self.now_ns() / NANOS_PER_TICK
    }

    pub(crate) fn now(&self) -> StdInstant {
        self.origin + Duration::from_nanos(self.now_ns())
    }

    /// `deadline` in nanoseconds since the origin (0 if before it); `None` if it is
    /// too far to represent (about 584 years after the origin).
    pub(crate) fn ns_for(&self, deadline: StdInstant) -> Option<u64> {
        nanos(deadline.saturating_duration_since(self.origin))
    }

    /// The instant `ns` nanoseconds after the origin.
    pub(crate) fn instant_of_ns(&self, ns: u64) -> StdInstant {
        self.origin + Duration::from_nanos(ns)
    }

    /// The instant at which `tick` begins.
    pub(crate) fn instant_of_tick(&self, tick: u64) -> StdInstant {
        self.origin + Duration::from_nanos(tick.saturating_mul(NANOS_PER_TICK))
    }

    pub(crate) fn is_paused(&self) -> bool {
        self.paused.load(Ordering::Acquire)
    }

    pub(crate) fn pause(&self) {
        let _g = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        if self.is_paused() {
            return;
        }
        let now = self.real_ns().next_multiple_of(NANOS_PER_TICK);
        self.frozen_ns.store(now, Ordering::Release);
        self.paused.store(true, Ordering::Release);
    }

    pub(crate) fn resume(&self) {
        let _g = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        if !self.is_paused() {
            return;
        }
        let frozen = self.frozen_ns.load(Ordering::Acquire) as i64;
        let real = self.since_origin.ns() as i64;
        self.offset_ns.store(frozen - real, Ordering::Relaxed);
        self.paused.store(false, Ordering::Release);
    }

    /// Moves the clock forward by `d` (paused or not).
    pub(crate) fn advance(&self, d: Duration) {
        let _g = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        let d = ns(d);
        if self.is_paused() {
            let f = self.frozen_ns.load(Ordering::Acquire);
            self.frozen_ns.store(f.saturating_add(d), Ordering::Release);
        } else {
            let o = self.offset_ns.load(Ordering::Relaxed);
            let d = i64::try_from(d).unwrap_or(i64::MAX);
            self.offset_ns.store(o.saturating_add(d), Ordering::Relaxed);
        }
    }

    /// Paused clock only: moves it forward to the start of `tick` if it is earlier.
    pub(crate) fn advance_to_tick(&self, tick: u64) {
        let _g = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        if self.is_paused() {
            let target = tick.saturating_mul(NANOS_PER_TICK);
            self.frozen_ns.fetch_max(target, Ordering::AcqRel);
        }
    }
}
