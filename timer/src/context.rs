//! Which driver a timer created on this thread uses: the one [`Driver::enter`]ed here,
//! else a global driver run by a background thread of this crate (so timers work on
//! any executor, or none).

use std::cell::RefCell;
use std::marker::PhantomData;

use crate::Driver;

thread_local! {
    static CURRENT: RefCell<Option<Driver>> = const { RefCell::new(None) };
}

/// Makes a driver current on this thread until dropped; see [`Driver::enter`].
/// Restores the previously current driver. Not `Send`: drop it on the same thread.
#[derive(Debug)]
#[must_use = "the driver is current only until the guard drops"]
pub struct EnterGuard {
    prev: Option<Driver>,
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
    /// restores the previous one). [`sleep`](crate::sleep), [`Instant::now`](crate::Instant::now),
    /// [`pause`](crate::pause) and the rest find it there.
    pub fn enter(&self) -> EnterGuard {
        let prev = CURRENT.with(|c| c.borrow_mut().replace(self.clone()));
        EnterGuard {
            prev,
            _not_send: PhantomData,
        }
    }

    /// The driver current on this thread, if one was entered.
    pub fn try_current() -> Option<Driver> {
        CURRENT.try_with(|c| c.borrow().clone()).ok().flatten()
    }

    /// A driver run by its own background thread, which parks until the next deadline
    /// and fires it (the global fallback driver is one). [`shutdown`](Driver::shutdown)
    /// ends the thread.
    #[cfg(not(loom))]
    pub fn new_threaded() -> Driver {
        use std::sync::Arc;
        let thread: Arc<std::sync::OnceLock<std::thread::Thread>> = Arc::default();
        let t = thread.clone();
        let driver = Driver::new(Arc::new(move || {
            if let Some(t) = t.get() {
                t.unpark();
            }
        }));
        let d = driver.clone();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .name("gorun-timer".into())
            .spawn(move || {
                let _ = thread.set(std::thread::current());
                let _ = ready_tx.send(());
                while !d.is_shutdown() {
                    match d.next_timeout() {
                        None => std::thread::park(),
                        Some(t) if t.is_zero() => {}
                        Some(t) => std::thread::park_timeout(t),
                    }
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

/// Runs `f` with the current driver, or the global one.
#[inline]
pub(crate) fn with_current<R>(f: impl FnOnce(&Driver) -> R) -> R {
    let mut f = Some(f);
    let r = CURRENT.try_with(|c| c.borrow().as_ref().map(|d| (f.take().expect("once"))(d)));
    if let Ok(Some(r)) = r {
        return r;
    }
    (f.take().expect("once"))(global())
}

#[cfg(not(loom))]
static GLOBAL: std::sync::OnceLock<Driver> = std::sync::OnceLock::new();

/// The global fallback driver (started on first use).
#[cfg(not(loom))]
pub(crate) fn global() -> &'static Driver {
    GLOBAL.get_or_init(Driver::new_threaded)
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
            .map(|d| (f.take().expect("once"))(&d.inner.clock))
    });
    if let Ok(Some(r)) = r {
        return r;
    }
    let f = f.take().expect("once");
    match global_if_started() {
        Some(d) => f(&d.inner.clock),
        None => f(&REAL),
    }
}

/// A clock that is never paused, for `Instant::now` before any driver exists.
static REAL: std::sync::LazyLock<crate::clock::Clock> =
    std::sync::LazyLock::new(crate::clock::Clock::new);
