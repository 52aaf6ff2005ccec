//! A single-value channel that keeps only the latest value: receivers wait for it to
//! change and read it in place (tokio's `sync::watch`; in Go, a config or state
//! variable behind an `RWMutex` plus a `chan struct{}` closed on change).
//!
//! Porting from tokio: the same names and semantics ([`channel`], [`Sender::send`],
//! [`Sender::send_modify`], [`Receiver::changed`], [`Receiver::borrow_and_update`],
//! [`Ref`], the [`error`] types); change `tokio::sync::watch` to `gorun::sync::watch`.
//! `changed` and `wait_for` are cancel-safe and work on any executor.

// Invariants:
// 1. `state = version | PARKED | CLOSED`. The version goes up by `STEP` on every
//    change, and only while the value's write lock is held, so a reader holding the
//    read lock sees the version of exactly the value it reads. `CLOSED` is set once,
//    when the last sender is dropped.
// 2. A receiver remembers the version it has seen; it has a change to see while
//    `state`'s version differs. Only returning from `changed`/`wait_for` (or the
//    `borrow_and_update`/`mark_*` methods) moves it, so a dropped `changed` future
//    marks nothing seen (cancel-safe).
// 3. No lost wake-up, with no lock on a receiver's fast path nor on a send nobody
//    waits for. A receiver parks its `changed` futures in its own entry of
//    `waiters.rx`, kept from one `changed` to the next (a dropped one disarms it).
//    To park, it registers under the waiters lock and then sets `PARKED` with one
//    read-modify-write of `state` that also returns the latest version. A change
//    (or the close) is one read-modify-write of `state` too, so one of the two comes
//    first in `state`'s modification order: either the receiver sees the change and
//    does not park, or the sender sees `PARKED`, takes the waiters lock, clears
//    `PARKED` and wakes every parked future. (`PARKED` set with nobody parked only
//    costs a send a lock.) A parked `Sender::closed` is an entry in `waiters.tx`,
//    woken by the last receiver's drop under the same lock.
// 4. No user code (nor a waker's `wake` or `Drop`) runs under the waiters lock. The
//    value's lock runs the closures of `send_modify`/`send_if_modified`/`wait_for`;
//    a panic in one is caught so the lock is released unpoisoned, then resumed.

use std::fmt;
use std::future::Future;
use std::ops;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use gorun_coop::WaitReason;

// loom's types under `cfg(loom)`, where `watch_loom.rs` model-checks the lock-free
// version check racing the locked waiter registration (invariant 3).
use super::loom::{AtomicUsize, Mutex, MutexGuard, Ordering::*};
use super::waker_set::{WakeList, WakerSet};
#[cfg(loom)]
use loom::sync::{RwLock, RwLockReadGuard};
#[cfg(not(loom))]
use std::sync::{RwLock, RwLockReadGuard};

/// The `state` bit set once every sender is gone.
const CLOSED: usize = 1;
/// The `state` bit set while a `changed` future may be parked: set (under the waiters
/// lock) by a future about to park, cleared (under that lock) by the sender that wakes
/// them all. A send that finds it clear takes no lock (invariant 3).
const PARKED: usize = 2;
/// The flag bits of `state`; the rest is the version.
const FLAGS: usize = CLOSED | PARKED;
/// One change of the value, in `state` (above the flag bits).
const STEP: usize = 4;

pub mod error;
mod receiver;
#[cfg(all(test, loom))]
mod watch_loom;

pub use receiver::{Changed, Receiver};

use error::{RecvError, SendError};

struct Shared<T> {
    value: RwLock<T>,
    state: AtomicUsize,
    rx_count: AtomicUsize,
    tx_count: AtomicUsize,
    waiters: Mutex<Waiters>,
}

struct Waiters {
    rx: WakerSet,
    tx: WakerSet,
}

impl<T> Shared<T> {
    fn read(&self) -> RwLockReadGuard<'_, T> {
        // Writers never panic while holding the lock (invariant 4).
        self.value.read().unwrap_or_else(|e| e.into_inner())
    }

    fn waiters(&self) -> MutexGuard<'_, Waiters> {
        // No user code runs under this lock, so poisoning cannot leave it broken.
        self.waiters.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn version(&self) -> usize {
        self.state.load(Acquire) & !FLAGS
    }

    /// Wakes every parked `changed` future if `prev`, the state before the change or
    /// close just published, says one may be parked (invariant 3).
    fn notify_rx(&self, prev: usize) {
        if prev & PARKED == 0 {
            return;
        }
        let mut w = self.waiters();
        self.state.fetch_and(!PARKED, AcqRel);
        if !w.rx.has_waiting() {
            return;
        }
        let mut wakers = WakeList::new();
        w.rx.notify_all(&mut wakers);
        drop(w);
        wakers.wake();
    }

    /// `Some` if the receiver at `seen` has something to return now: a new version
    /// (marked seen) or the close.
    fn maybe_changed(&self, seen: &mut usize) -> Option<Result<(), RecvError>> {
        self.changed_in(self.state.load(Acquire), seen)
    }

    /// [`maybe_changed`](Self::maybe_changed) for a `state` already loaded.
    fn changed_in(&self, state: usize, seen: &mut usize) -> Option<Result<(), RecvError>> {
        let version = state & !FLAGS;
        if version != *seen {
            *seen = version;
            Some(Ok(()))
        } else if state & CLOSED != 0 {
            Some(Err(RecvError(())))
        } else {
            None
        }
    }

    fn new_receiver(self: &Arc<Self>, version: usize) -> Receiver<T> {
        self.rx_count.fetch_add(1, Relaxed);
        Receiver {
            shared: self.clone(),
            version,
            key: None,
        }
    }
}

/// Creates a watch channel holding `init`. The [`Sender`] replaces or modifies the
/// value; every [`Receiver`] reads the latest one and can wait for the next change.
/// Intermediate values a receiver did not look at in time are skipped.
///
/// ```
/// # gorun::Runtime::builder().procs(2).build().unwrap().run(async {
/// use gorun::sync::watch;
///
/// let (tx, mut rx) = watch::channel("starting");
/// let h = gorun::go(async move {
///     while rx.changed().await.is_ok() {
///         if *rx.borrow_and_update() == "ready" {
///             return true;
///         }
///     }
///     false
/// });
/// tx.send("ready").unwrap();
/// assert!(h.await.unwrap());
/// # });
/// ```
pub fn channel<T>(init: T) -> (Sender<T>, Receiver<T>) {
    let shared = Arc::new(Shared {
        value: RwLock::new(init),
        state: AtomicUsize::new(0),
        rx_count: AtomicUsize::new(1),
        tx_count: AtomicUsize::new(1),
        waiters: Mutex::new(Waiters {
            rx: WakerSet::new(),
            tx: WakerSet::new(),
        }),
    });
    (
        Sender {
            shared: shared.clone(),
        },
        Receiver {
            shared,
            version: 0,
            key: None,
        },
    )
}

/// The sending half of a [`channel`]; cloneable. The channel closes when the last
/// one is dropped.
pub struct Sender<T> {
    shared: Arc<Shared<T>>,
}

/// A read guard on the channel's value, from `borrow` and friends.
///
/// It holds a read lock: keep it short, and never across an `.await`, or the sender
/// blocks (and may deadlock with the holder).
pub struct Ref<'a, T> {
    inner: RwLockReadGuard<'a, T>,
    has_changed: bool,
}

impl<T> Ref<'_, T> {
    /// Whether this value was unseen by the receiver when it was borrowed
    /// (always `false` for [`Sender::borrow`]).
    pub fn has_changed(&self) -> bool {
        self.has_changed
    }
}

impl<T> ops::Deref for Ref<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.inner
    }
}

impl<T: fmt::Debug> fmt::Debug for Ref<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ref")
            .field("value", &*self.inner)
            .field("has_changed", &self.has_changed)
            .finish()
    }
}

impl<T> Sender<T> {
    /// A sender holding `init`, with no receiver yet (see
    /// [`subscribe`](Self::subscribe)).
    pub fn new(init: T) -> Sender<T> {
        channel(init).0
    }

    /// Replaces the value and notifies the receivers. Fails, giving the value back
    /// and leaving the old one, when there is no receiver.
    ///
    /// ```
    /// use gorun::sync::watch;
    ///
    /// let (tx, rx) = watch::channel(1);
    /// assert!(tx.send(2).is_ok());
    /// drop(rx);
    /// assert_eq!(tx.send(3).unwrap_err().0, 3);
    /// assert_eq!(*tx.borrow(), 2);
    /// ```
    pub fn send(&self, value: T) -> Result<(), SendError<T>> {
        if self.receiver_count() == 0 {
            return Err(SendError(value));
        }
        self.send_replace(value);
        Ok(())
    }

    /// Modifies the value in place and notifies the receivers, receivers or not.
    pub fn send_modify<F: FnOnce(&mut T)>(&self, modify: F) {
        self.send_if_modified(|v| {
            modify(v);
            true
        });
    }

    /// Runs `modify` on the value; notifies the receivers only if it returns `true`
    /// (so a no-op update wakes nobody). Returns what `modify` returned.
    ///
    /// ```
    /// use gorun::sync::watch;
    ///
    /// let (tx, rx) = watch::channel(vec![1]);
    /// let insert = |x| move |v: &mut Vec<i32>| !v.contains(&x) && { v.push(x); true };
    /// assert!(!tx.send_if_modified(insert(1))); // already there: nobody woken
    /// assert_eq!(rx.has_changed(), Ok(false));
    /// assert!(tx.send_if_modified(insert(2)));
    /// assert_eq!(rx.has_changed(), Ok(true));
    /// ```
    ///
    /// # Panics
    /// If `modify` panics; the value keeps whatever it did and the receivers are not
    /// notified.
    pub fn send_if_modified<F: FnOnce(&mut T) -> bool>(&self, modify: F) -> bool {
        let shared = &*self.shared;
        let mut lock = shared.value.write().unwrap_or_else(|e| e.into_inner());
        match catch_unwind(AssertUnwindSafe(|| modify(&mut lock))) {
            Ok(true) => {}
            Ok(false) => return false,
            Err(panic) => {
                drop(lock); // released unpoisoned (invariant 4)
                resume_unwind(panic);
            }
        }
        let prev = shared.state.fetch_add(STEP, AcqRel); // under the write lock (invariant 1)
        drop(lock);
        shared.notify_rx(prev);
        true
    }

    /// Replaces the value, receivers or not, notifies them, and returns the old value.
    pub fn send_replace(&self, mut value: T) -> T {
        self.send_modify(|old| std::mem::swap(old, &mut value));
        value
    }

    /// The current value (`has_changed` is always `false`).
    pub fn borrow(&self) -> Ref<'_, T> {
        Ref {
            inner: self.shared.read(),
            has_changed: false,
        }
    }

    /// Whether there is no receiver.
    pub fn is_closed(&self) -> bool {
        self.receiver_count() == 0
    }

    /// Waits until there is no receiver. Cancel-safe.
    ///
    /// ```
    /// # gorun::Runtime::builder().procs(2).build().unwrap().run(async {
    /// use gorun::sync::watch;
    ///
    /// let (tx, rx) = watch::channel(());
    /// gorun::go(async move { drop(rx) });
    /// tx.closed().await;
    /// assert!(tx.is_closed());
    /// # });
    /// ```
    pub fn closed(&self) -> Closed<'_, T> {
        Closed {
            shared: &self.shared,
            key: None,
        }
    }

    /// A new receiver, with the current value marked seen.
    pub fn subscribe(&self) -> Receiver<T> {
        self.shared.new_receiver(self.shared.version())
    }

    /// The number of receivers.
    pub fn receiver_count(&self) -> usize {
        self.shared.rx_count.load(Acquire)
    }

    /// The number of senders.
    pub fn sender_count(&self) -> usize {
        self.shared.tx_count.load(Acquire)
    }

    /// Whether both senders belong to the same channel.
    pub fn same_channel(&self, other: &Sender<T>) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Sender<T> {
        self.shared.tx_count.fetch_add(1, Relaxed);
        Sender {
            shared: self.shared.clone(),
        }
    }
}

impl<T: Default> Default for Sender<T> {
    fn default() -> Sender<T> {
        Sender::new(T::default())
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        if self.shared.tx_count.fetch_sub(1, AcqRel) == 1 {
            let prev = self.shared.state.fetch_or(CLOSED, AcqRel);
            self.shared.notify_rx(prev);
        }
    }
}

impl<T: fmt::Debug> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("watch::Sender")
            .field("value", &*self.shared.read())
            .field("receivers", &self.receiver_count())
            .finish()
    }
}

/// The future of [`Sender::closed`].
#[must_use = "futures do nothing unless awaited"]
pub struct Closed<'a, T> {
    shared: &'a Shared<T>,
    key: Option<usize>,
}

impl<T> Future for Closed<'_, T> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        let coop = std::task::ready!(gorun_coop::poll_proceed(cx));
        let mut w = this.shared.waiters();
        // A subscribe may have reopened the channel since we were woken: re-armed then.
        let no_receiver = this.shared.rx_count.load(Acquire) == 0;
        let (done, old) = w.tx.poll_until(&mut this.key, no_receiver, cx.waker());
        drop(w);
        drop(old);
        if done {
            coop.made_progress();
            return Poll::Ready(());
        }
        gorun_coop::set_wait_reason(WaitReason::ChanSend);
        Poll::Pending
    }
}

impl<T> Drop for Closed<'_, T> {
    fn drop(&mut self) {
        if let Some(k) = self.key.take() {
            let old = self.shared.waiters().tx.remove(k);
            drop(old);
        }
    }
}

impl<T> fmt::Debug for Closed<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("watch::Closed").finish_non_exhaustive()
    }
}
