//! The trace's clock: the CPU's time-stamp counter where the kernel itself keeps
//! time with it (so it is invariant and agrees across cores), `Instant` elsewhere.
//! A trace event reads it twice per poll, and a `clock_gettime` through the vDSO
//! costs several times a `rdtsc` on the reference VM (benches/README.md, Trace).
//! Ticks become nanoseconds at the end, scaled by the `Instant` time elapsed over
//! the whole trace.

use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::OnceLock;
use std::time::Instant;

/// Ticks come from the time-stamp counter (decided when a trace starts).
static USE_TSC: AtomicBool = AtomicBool::new(false);

/// The origin of the `Instant`-based ticks.
fn origin() -> Instant {
    static ORIGIN: OnceLock<Instant> = OnceLock::new();
    *ORIGIN.get_or_init(Instant::now)
}

/// Whether the kernel keeps time with the TSC: then it is invariant and
/// synchronized across cores, and its ticks map linearly to `Instant`'s.
fn kernel_trusts_tsc() -> bool {
    if !cfg!(target_arch = "x86_64") {
        return false;
    }
    std::fs::read_to_string("/sys/devices/system/clocksource/clocksource0/current_clocksource")
        .map(|s| s.trim() == "tsc")
        .unwrap_or(false)
}

/// Now, in ticks of the clock chosen by the last [`Calibration::begin`].
#[inline]
pub(crate) fn now() -> u64 {
    #[cfg(target_arch = "x86_64")]
    if USE_TSC.load(Relaxed) {
        // SAFETY: `rdtsc` exists on every x86_64 CPU and only reads the counter.
        return unsafe { std::arch::x86_64::_rdtsc() };
    }
    origin().elapsed().as_nanos() as u64
}

/// The two readings that map ticks to nanoseconds since the trace began.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Calibration {
    ticks: u64,
    at: Instant,
}

impl Calibration {
    /// Chooses the clock and reads it: the start of a trace. No event is recorded
    /// while the choice changes (a trace starts only while none runs).
    pub(crate) fn begin() -> Calibration {
        USE_TSC.store(kernel_trusts_tsc(), Relaxed);
        Calibration::read()
    }

    /// Reads both clocks.
    pub(crate) fn read() -> Calibration {
        let at = Instant::now();
        Calibration { ticks: now(), at }
    }

    /// The clock reading.
    pub(crate) fn ticks(&self) -> u64 {
        self.ticks
    }

    /// The `Instant` time from `earlier` to `self`.
    pub(crate) fn elapsed_since(&self, earlier: Calibration) -> std::time::Duration {
        self.at.duration_since(earlier.at)
    }

    /// The converter from ticks to nanoseconds since `self`, given the reading
    /// `end` taken after the last event.
    pub(crate) fn scale_to(self, end: Calibration) -> Scale {
        let ns = end.at.duration_since(self.at).as_nanos() as f64;
        let ticks = end.ticks.saturating_sub(self.ticks) as f64;
        Scale {
            base: self.ticks,
            ns_per_tick: if ticks > 0.0 { ns / ticks } else { 1.0 },
        }
    }
}

/// Ticks to nanoseconds since the start of the trace.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Scale {
    base: u64,
    ns_per_tick: f64,
}

impl Scale {
    /// Nanoseconds since the trace began (events a racing thread stamped just
    /// before it began count as 0).
    pub(crate) fn ns(&self, ticks: u64) -> f64 {
        ticks.saturating_sub(self.base) as f64 * self.ns_per_tick
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn ticks_scale_to_elapsed_nanoseconds() {
        let begin = Calibration::begin();
        let mid = now();
        std::thread::sleep(std::time::Duration::from_millis(20));
        let end = Calibration::read();
        let scale = begin.scale_to(end);
        let total = scale.ns(end.ticks);
        assert!((19e6..200e6).contains(&total), "{total} ns");
        let m = scale.ns(mid);
        assert!((0.0..5e6).contains(&m), "{m} ns");
        assert_eq!(scale.ns(begin.ticks.saturating_sub(10)), 0.0);
    }
}
