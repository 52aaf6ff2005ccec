//! The semaphore's errors (tokio's names and messages): a failed acquire can only
//! mean "closed"; a failed `try_acquire` says whether it was closed or short of
//! permits.

use std::fmt;

/// An acquire failed because the semaphore is [closed](super::Semaphore::close).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcquireError(());

impl AcquireError {
    /// The only value: the semaphore is closed.
    pub(super) fn new() -> AcquireError {
        AcquireError(())
    }
}

impl fmt::Display for AcquireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("semaphore closed")
    }
}

impl std::error::Error for AcquireError {}

/// Why [`Semaphore::try_acquire`](super::Semaphore::try_acquire) (or one of its
/// variants) took no permits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TryAcquireError {
    /// The semaphore is [closed](super::Semaphore::close).
    Closed,
    /// Too few permits are free now, or a waiter is queued ahead (FIFO).
    NoPermits,
}

impl TryAcquireError {
    /// Whether the semaphore is closed.
    pub fn is_closed(&self) -> bool {
        matches!(self, TryAcquireError::Closed)
    }

    /// Whether there were too few permits (the semaphore is open).
    pub fn is_no_permits(&self) -> bool {
        matches!(self, TryAcquireError::NoPermits)
    }
}

impl fmt::Display for TryAcquireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TryAcquireError::Closed => "semaphore closed",
            TryAcquireError::NoPermits => "no permits available",
        })
    }
}

impl std::error::Error for TryAcquireError {}
