//! A precise wake-up for the driver's poll: `epoll_wait` takes its timeout in whole
//! milliseconds (mio rounds up), so a worker waiting for a timer due in 1.3 ms would
//! sleep 2. On Linux a `timerfd` in the same epoll set, armed to the nanosecond, ends
//! the wait at the deadline (plus the kernel's timer slack) instead; Go's timers are
//! that precise, tokio's are not. Elsewhere the poll's own timeout is used (kqueue
//! takes nanoseconds already).
//!
//! The timer is armed for each wait whose timeout is not a whole number of
//! milliseconds, and read (cleared) when it fires. A wait that ends earlier leaves it
//! armed: the next arm replaces it, and a stale expiry only makes one later wait
//! return early, after which the worker looks for work and waits again.

use std::time::Duration;

use mio::{Interest, Registry, Token};

/// The reactor's token for the deadline timer.
pub(crate) const DEADLINE_TOKEN: Token = Token(usize::MAX - 2);

#[cfg(target_os = "linux")]
pub(crate) struct Deadline {
    fd: std::os::fd::OwnedFd,
}

#[cfg(target_os = "linux")]
impl Deadline {
    /// A disarmed timer registered in `registry` under [`DEADLINE_TOKEN`]; `None` if
    /// the kernel refuses one (the poll then uses its own, coarser timeout).
    pub(crate) fn new(registry: &Registry) -> Option<Deadline> {
        use std::os::fd::{AsRawFd, FromRawFd};
        // SAFETY: plain syscall with constant flags; a non-negative result is a new
        // descriptor that we own from here on.
        let raw = unsafe {
            libc::timerfd_create(
                libc::CLOCK_MONOTONIC,
                libc::TFD_NONBLOCK | libc::TFD_CLOEXEC,
            )
        };
        if raw < 0 {
            return None;
        }
        // SAFETY: `raw` is a fresh descriptor owned by nobody else.
        let fd = unsafe { std::os::fd::OwnedFd::from_raw_fd(raw) };
        registry
            .register(
                &mut mio::unix::SourceFd(&fd.as_raw_fd()),
                DEADLINE_TOKEN,
                Interest::READABLE,
            )
            .ok()?;
        Some(Deadline { fd })
    }

    /// Arms the timer to expire `after` from now, if that is not a whole number of
    /// milliseconds (the poll's own timeout is exact then). Returns whether it armed.
    pub(crate) fn arm(&self, after: Duration) -> bool {
        use std::os::fd::AsRawFd;
        if after.is_zero() || after.subsec_nanos() % 1_000_000 == 0 {
            return false;
        }
        let spec = libc::itimerspec {
            it_interval: libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            },
            it_value: libc::timespec {
                tv_sec: after.as_secs().min(i64::MAX as u64) as libc::time_t,
                tv_nsec: after.subsec_nanos() as libc::c_long,
            },
        };
        // SAFETY: `fd` is our timerfd; `spec` is a valid itimerspec and the old value
        // is not asked for (null).
        let r =
            unsafe { libc::timerfd_settime(self.fd.as_raw_fd(), 0, &spec, std::ptr::null_mut()) };
        r == 0
    }

    /// Consumes an expiry (the fd is edge-triggered; reading resets its count).
    pub(crate) fn clear(&self) {
        use std::os::fd::AsRawFd;
        let mut expirations = 0u64;
        // SAFETY: reads 8 bytes into a valid u64 from our non-blocking timerfd; an
        // error (nothing to read) is ignored.
        let _ = unsafe {
            libc::read(
                self.fd.as_raw_fd(),
                (&mut expirations as *mut u64).cast(),
                std::mem::size_of::<u64>(),
            )
        };
    }
}

/// Elsewhere: no timer; the poll's timeout serves.
#[cfg(not(target_os = "linux"))]
pub(crate) struct Deadline;

#[cfg(not(target_os = "linux"))]
impl Deadline {
    pub(crate) fn new(_registry: &Registry) -> Option<Deadline> {
        None
    }

    pub(crate) fn arm(&self, _after: Duration) -> bool {
        false
    }

    pub(crate) fn clear(&self) {}
}
