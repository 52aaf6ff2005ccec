//! Waking outside the lock, with panics contained.
//!
//! The driver collects the wakers of the entries it fires while it holds a shard's
//! lock, drops the lock, then wakes them. A waker is user code (a hand-written
//! `Wake`, another executor's task): one that panics must not take the driver, the
//! thread that processes it, or the other wakers of the batch down with it. Each
//! wake runs under `catch_unwind`; a panic goes to the driver's panic handler (the
//! gorun runtime reports it like a task's panic) and the batch goes on.

use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::task::Waker;

/// Wakers collected under a lock before it is dropped to wake them.
pub(crate) const WAKE_BATCH: usize = 32;

/// Receives the payload of a waker that panicked while the driver woke it.
pub type PanicHandler = Arc<dyn Fn(Box<dyn Any + Send>) + Send + Sync>;

/// Wakes `waker`, containing a panic: it is handed to `on_panic` instead of unwinding
/// into the caller.
pub(crate) fn wake_contained(waker: Waker, on_panic: Option<&PanicHandler>) {
    if let Err(payload) = gorun_coop::wake_catching(waker) {
        if let Some(handler) = on_panic {
            // The handler is ours (the runtime's); if it panics too, nothing is left
            // to report to, so that panic is dropped here.
            let _ = catch_unwind(AssertUnwindSafe(|| handler(payload)));
        }
    }
}

/// Wakers to invoke once the lock is dropped.
pub(crate) struct WakeList {
    wakers: [Option<Waker>; WAKE_BATCH],
    len: usize,
}

impl WakeList {
    pub(crate) fn new() -> Self {
        WakeList {
            wakers: [const { None }; WAKE_BATCH],
            len: 0,
        }
    }

    pub(crate) fn push(&mut self, w: Waker) {
        self.wakers[self.len] = Some(w);
        self.len += 1;
    }

    pub(crate) fn is_full(&self) -> bool {
        self.len == WAKE_BATCH
    }

    /// Wakes every collected waker; a panicking one goes to `on_panic` and the rest
    /// are still woken.
    pub(crate) fn wake_all(&mut self, on_panic: Option<&PanicHandler>) {
        for w in &mut self.wakers[..self.len] {
            if let Some(w) = w.take() {
                wake_contained(w, on_panic);
            }
        }
        self.len = 0;
    }
}
