//! Which driver a timer created on this thread uses, and which of its shards: the
//! one [`Driver::enter`]ed (or [`Driver::enter_shard`]ed) here, else a global driver
//! run by a background thread of this crate (so timers work on any executor, or none).
//!
//! The current driver is kept as an [`Owner`]: the driver plus the shard this thread
//! arms into, whose [`Handle`]s (one per timer) this thread counts without atomics
//! (see `handle.rs`).

use std::cell::RefCell;
use std::marker::PhantomData;
#[cfg(not(loom))]
use std::sync::Arc;

use crate::handle::{Handle, Owner};
use crate::Driver;

thread_local! {
    static CURRENT: RefCell<Option<Owner>> = const { RefCell::new(None) };
    /// This thread's handle of the global driver, made on first use.
    static GLOBAL_HANDLE: RefCell<Option<Owner>> = const { RefCell::new(None) };
}

/// Makes a driver current on this thread until dropped; see [`Driver::enter`].
/// Restores the previously current driver. Not `Send`: drop it on the same thread.
#[derive(Debug)]
#[must_use = "the driver is current only until the guard drops"]
pub struct EnterGuard {
    prev: Option<Owner>,
    _not_send: PhantomData<*const ()>,
}

impl Drop for EnterGuard {
    fn drop(&mut self) {
        let prev = self.prev.take();
        let _ = CURRENT.try_with(|c| *c.borrow_mut() = prev);
    }
}

impl Driver {
    /// Makes this driver the current one on this thread until the guard drops (which
    /// restores the previous one). [`sleep`](crate::sleep()), [`Instant::now`](crate::Instant::now),
    /// [`pause`](crate::pause()) and the rest find it there. Timers armed on this thread
    /// go to one of the driver's shards, chosen round robin per `enter`.
    pub fn enter(&self) -> EnterGuard {
        self.enter_shard(self.pick_shard())
    }

    /// As [`enter`](Driver::enter), arming this thread's timers in shard `index`
    /// (taken modulo the shard count): what an executor does on worker `index`, whose
    /// own timers it then fires with [`process_shard`](Driver::process_shard).
    pub fn enter_shard(&self, index: usize) -> EnterGuard {
        let owner = Owner::new(self.clone(), index % self.shards());
        let prev = CURRENT.with(|c| c.borrow_mut().replace(owner));
        EnterGuard {
            prev,
            _not_send: PhantomData,
        }
    }

    /// The driver current on this thread, if one was entered.
    pub fn try_current() -> Option<Driver> {
        CURRENT
            .try_with(|c| c.borrow().as_ref().map(|o| o.handle().driver().clone()))
            .ok()
            .flatten()
    }

    /// A driver run by its own background thread, which parks until the next deadline
    /// and fires it (the global fallback driver is one). [`shutdown`](Driver::shutdown)
    /// ends the thread.
    #[cfg(not(loom))]
    pub fn new_threaded() -> Driver {
        Driver::threaded(1)
    }

    /// [`new_threaded`](Driver::new_threaded) with `shards` shards.
    #[cfg(not(loom))]
    fn threaded(shards: usize) -> Driver {
        let thread: Arc<std::sync::OnceLock<std::thread::Thread>> = Arc::default();
        let t = thread.clone();
        let driver = Driver::with_shards(
            shards,
            Arc::new(move || {
                if let Some(t) = t.get() {
                    t.unpark();
                }
            }),
        );
        let d = driver.clone();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .name("gorun-timer".into())
            .spawn(move || {
                let _ = thread.set(std::thread::current());
                let _ = ready_tx.send(());
                while !d.is_shutdown() {
                    match d.park_timeout() {
                        None => std::thread::park(),
                        Some(t) if t.is_zero() => {}
                        Some(t) => std::thread::park_timeout(t),
                    }
                    d.unparked();
                    d.process();
                }
            })
            .expect("gorun-timer: failed to spawn the timer thread");
        // Nobody can arm a timer before `unpark` reaches the thread: the driver is
        // handed out only now.
        let _ = ready_rx.recv();
        driver
    }
}

/// Runs `f` with the current handle, or this thread's handle of the global driver.
#[inline]
pub(crate) fn with_current<R>(f: impl FnOnce(&Handle) -> R) -> R {
    let mut f = Some(f);
    let r = CURRENT.try_with(|c| {
        c.borrow()
            .as_ref()
            .map(|o| (f.take().expect("once"))(o.handle()))
    });
    if let Ok(Some(r)) = r {
        return r;
    }
    let r = GLOBAL_HANDLE.try_with(|c| {
        if c.borrow().is_none() {
            let d = global();
            *c.borrow_mut() = Some(Owner::new(d.clone(), d.pick_shard()));
        }
        c.borrow()
            .as_ref()
            .map(|o| (f.take().expect("once"))(o.handle()))
    });
    if let Ok(Some(r)) = r {
        return r;
    }
    // During thread teardown: an owner of our own for this one call.
    let owner = Owner::new(global().clone(), 0);
    (f.take().expect("once"))(owner.handle())
}

#[cfg(not(loom))]
static GLOBAL: std::sync::OnceLock<Driver> = std::sync::OnceLock::new();

/// The global fallback driver (started on first use), with a shard per core.
#[cfg(not(loom))]
pub(crate) fn global() -> &'static Driver {
    GLOBAL.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Driver::threaded(cores.min(16))
    })
}

#[cfg(not(loom))]
fn global_if_started() -> Option<&'static Driver> {
    GLOBAL.get()
}

#[cfg(loom)]
pub(crate) fn global() -> &'static Driver {
    panic!("gorun-timer: no driver entered (there is no global driver under loom)")
}

#[cfg(loom)]
fn global_if_started() -> Option<&'static Driver> {
    None
}

/// Runs `f` with the current driver's clock; without a current driver, the global
/// driver's if it was started, else a real clock.
#[inline]
pub(crate) fn with_current_clock<R>(f: impl FnOnce(&crate::clock::Clock) -> R) -> R {
    let mut f = Some(f);
    let r = CURRENT.try_with(|c| {
        c.borrow()
            .as_ref()
            .map(|o| (f.take().expect("once"))(o.handle().driver().clock()))
    });
    if let Ok(Some(r)) = r {
        return r;
    }
    let f = f.take().expect("once");
    match global_if_started() {
        Some(d) => f(d.clock()),
        None => f(&REAL),
    }
}

/// A clock that is never paused, for `Instant::now` before any driver exists.
static REAL: std::sync::LazyLock<crate::clock::Clock> =
    std::sync::LazyLock::new(crate::clock::Clock::new);
