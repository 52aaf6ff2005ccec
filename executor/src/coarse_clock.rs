//! A cheap clock for task ages: `CLOCK_MONOTONIC_COARSE` on Linux (the kernel's tick,
//! a few ms of resolution, read from the vDSO without touching the TSC), `Instant`
//! elsewhere.
//!
//! A read costs a fraction of an `Instant::now()` (benches/LOG.md); one read per
//! spawn is what a task's age costs.

/// Nanoseconds on a monotonic clock with a fixed, unspecified origin.
#[cfg(target_os = "linux")]
#[inline]
pub(crate) fn now_nanos() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; CLOCK_MONOTONIC_COARSE exists on
    // every Linux since 2.6.32 and cannot fail with a valid pointer.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC_COARSE, &mut ts) };
    (ts.tv_sec as u64) * 1_000_000_000 + ts.tv_nsec as u64
}

/// Nanoseconds on a monotonic clock with a fixed, unspecified origin.
#[cfg(not(target_os = "linux"))]
#[inline]
pub(crate) fn now_nanos() -> u64 {
    static EPOCH: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    let epoch = *EPOCH.get_or_init(std::time::Instant::now);
    epoch.elapsed().as_nanos() as u64
}

#[cfg(all(test, not(loom)))]
mod tests {
    #[test]
    fn is_monotonic_and_moves() {
        let a = super::now_nanos();
        std::thread::sleep(std::time::Duration::from_millis(30));
        let b = super::now_nanos();
        assert!(b >= a + 20_000_000, "{a} {b}");
    }
}
