//! `sync::loom`: std's types normally, loom's under `--cfg loom`, so the semaphore
//! (the atomic fast path beside the locked wait queue) can be model-checked unchanged.
//! Run with `RUSTFLAGS="--cfg loom" cargo test --release -p gorun --lib loom`.

#[cfg(not(loom))]
pub(crate) use std::sync::{
    atomic::{AtomicUsize, Ordering},
    Mutex, MutexGuard,
};

#[cfg(loom)]
pub(crate) use loom::sync::{
    atomic::{AtomicUsize, Ordering},
    Mutex, MutexGuard,
};
