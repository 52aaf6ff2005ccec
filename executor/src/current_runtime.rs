//! Thread-local runtime context: which runtime `go` spawns onto, and whether this
//! thread is already driving one (so a nested `block_on` panics instead of
//! deadlocking).

use std::cell::{Cell, RefCell};
use std::sync::Arc;

use crate::scheduler::Shared;

thread_local! {
    static CURRENT: RefCell<Option<Arc<Shared>>> = const { RefCell::new(None) };
    static IN_RUNTIME: Cell<bool> = const { Cell::new(false) };
    /// The runtime this thread belongs to (a worker or blocking-pool thread), by address.
    static OWNER: Cell<usize> = const { Cell::new(0) };
}

/// Marks this thread as one of `shared`'s own threads, for its whole life.
pub(crate) fn set_owner(shared: &Arc<Shared>) {
    OWNER.with(|o| o.set(Arc::as_ptr(shared) as usize));
}

/// Whether this thread is one of `shared`'s workers or blocking threads (which a
/// shutdown must not wait for).
pub(crate) fn is_own_thread(shared: &Arc<Shared>) -> bool {
    OWNER.try_with(|o| o.get()).unwrap_or(0) == Arc::as_ptr(shared) as usize
}

/// Runs `f` with the current runtime, if any.
pub(crate) fn with_current<R, F>(f: F) -> R
where
    F: FnOnce(Option<&Arc<Shared>>) -> R,
{
    let mut f = Some(f);
    match CURRENT.try_with(|c| (f.take().expect("called once"))(c.borrow().as_ref())) {
        Ok(r) => r,
        Err(_) => (f.take().expect("called once"))(None),
    }
}

/// Makes `handle` (and its timer driver) current on this thread until the guard drops.
pub(crate) struct SetCurrentGuard {
    prev: Option<Arc<Shared>>,
    _timer: gorun_timer::EnterGuard,
    /// tokio's context for crates that call tokio: left when this guard drops, so
    /// nested guards leave it in the reverse order of entering, as tokio requires.
    #[cfg(feature = "tokio-compat")]
    _tokio: tokio::runtime::EnterGuard<'static>,
}

impl Drop for SetCurrentGuard {
    fn drop(&mut self) {
        let prev = self.prev.take();
        let _ = CURRENT.try_with(|c| *c.borrow_mut() = prev);
    }
}

pub(crate) fn set_current(handle: &Arc<Shared>) -> SetCurrentGuard {
    set_current_with(handle, handle.driver().timer.enter())
}

fn set_current_with(handle: &Arc<Shared>, timer: gorun_timer::EnterGuard) -> SetCurrentGuard {
    let prev = CURRENT.with(|c| c.borrow_mut().replace(handle.clone()));
    SetCurrentGuard {
        prev,
        _timer: timer,
        #[cfg(feature = "tokio-compat")]
        _tokio: crate::compat::enter(),
    }
}

/// Marks this thread as driving a runtime (a worker, or inside `block_on`).
pub(crate) struct RuntimeGuard {
    _current: SetCurrentGuard,
}

impl Drop for RuntimeGuard {
    fn drop(&mut self) {
        let _ = IN_RUNTIME.try_with(|c| c.set(false));
    }
}

/// Enters `handle` to drive it on this thread.
///
/// # Panics
/// If this thread already drives a runtime: blocking it on another would deadlock
/// the tasks queued on it.
pub(crate) fn enter_runtime(handle: &Arc<Shared>) -> RuntimeGuard {
    if IN_RUNTIME.with(|c| c.replace(true)) {
        panic!(
            "gorun: cannot block_on from within a runtime: this thread already drives one \
             (a worker thread, or inside block_on). Await the future instead, or spawn \
             it with gorun::go and await its JoinHandle."
        );
    }
    RuntimeGuard {
        _current: set_current(handle),
    }
}

/// Enters `handle` as its worker `index`: the worker arms its timers in its own
/// shard of the timer driver.
pub(crate) fn enter_worker(handle: &Arc<Shared>, index: usize) -> RuntimeGuard {
    set_owner(handle);
    if IN_RUNTIME.with(|c| c.replace(true)) {
        unreachable!("a worker thread starts outside any runtime");
    }
    RuntimeGuard {
        _current: set_current_with(handle, handle.driver().timer.enter_shard(index)),
    }
}

/// This thread stops counting as driving a runtime until the guard drops:
/// `block_in_place`'s closure runs off the worker and may `block_on`.
pub(crate) struct ExitRuntimeGuard(bool);

impl Drop for ExitRuntimeGuard {
    fn drop(&mut self) {
        let _ = IN_RUNTIME.try_with(|c| c.set(self.0));
    }
}

pub(crate) fn exit_runtime() -> ExitRuntimeGuard {
    ExitRuntimeGuard(IN_RUNTIME.with(|c| c.replace(false)))
}
