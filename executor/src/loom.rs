//! `crate::loom`: std's sync types normally, loom's under `--cfg loom`, so the
//! lock-free parts can be model-checked without changing their code.

#[cfg(not(loom))]
pub(crate) use std::sync::{
    atomic::{fence, AtomicBool, AtomicPtr, AtomicU64, AtomicUsize, Ordering},
    Condvar, Mutex, MutexGuard,
};

#[cfg(loom)]
pub(crate) use loom::sync::{
    atomic::{fence, AtomicBool, AtomicPtr, AtomicU64, AtomicUsize, Ordering},
    Condvar, Mutex, MutexGuard,
};

/// Thread parking, for the `block_on` loop.
pub(crate) mod thread {
    #[cfg(not(loom))]
    pub(crate) use std::thread::{current, park, Thread};

    #[cfg(loom)]
    pub(crate) use loom::thread::{current, park, Thread};
}
