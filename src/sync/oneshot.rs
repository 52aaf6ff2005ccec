//! A channel for one value, from one task to another (tokio's `sync::oneshot`; in Go,
//! a `make(chan T, 1)` that is sent on once).
//!
//! Porting from tokio: the same names and semantics ([`channel`], [`Sender::send`],
//! [`Sender::closed`], awaiting the [`Receiver`], [`Receiver::try_recv`], the [`error`]
//! types); change `tokio::sync::oneshot` to `gorun::sync::oneshot`. The receiver is
//! cancel-safe (poll it by `&mut` in a `select!` loop) and works on any executor.

// Invariants, all under `Inner::state`'s lock (a short `std` mutex; no user code runs
// under it: values are dropped and wakers woken after unlocking):
// 1. `complete` is set once, by `send` (with the value) or by dropping the `Sender`
//    without sending. After it is set nothing is stored in `value` again.
// 2. `closed` is set (never cleared) by `Receiver::close` or by dropping the `Receiver`.
// 3. `send` stores its value iff `closed` is clear under the lock; otherwise the value
//    goes back to the caller. A stored value is then either taken by the receiver or
//    dropped by it: never lost, never duplicated.
// 4. `rx_waker` is the task polling the `Receiver`, woken when `complete` is set;
//    `tx_waker` is the task polling `Sender::closed`, woken when `closed` is set. A
//    waker taken out or replaced is woken or dropped after unlocking (its `Drop` may
//    be user code that touches this channel).
// 5. A handle that has finished with the channel (a sent `Sender`, a `Receiver` that
//    returned its result) drops its `Arc`, so its `Drop` takes no lock.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use gorun_coop::WaitReason;

pub mod error {
    //! `oneshot` error types.

    use std::fmt;

    /// The [`Sender`](super::Sender) was dropped without sending a value.
    #[derive(Debug, Eq, PartialEq, Clone)]
    pub struct RecvError(pub(super) ());

    impl fmt::Display for RecvError {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("channel closed")
        }
    }

    impl std::error::Error for RecvError {}

    /// Why [`Receiver::try_recv`](super::Receiver::try_recv) returned no value.
    #[derive(Debug, Eq, PartialEq, Clone)]
    pub enum TryRecvError {
        /// No value yet; the sender is still alive.
        Empty,
        /// No value will come: the sender was dropped, the receiver was closed, or the
        /// value was already taken.
        Closed,
    }

    impl fmt::Display for TryRecvError {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            match self {
                TryRecvError::Empty => f.write_str("channel empty"),
                TryRecvError::Closed => f.write_str("channel closed"),
            }
        }
    }

    impl std::error::Error for TryRecvError {}
}

use error::{RecvError, TryRecvError};

struct Inner<T> {
    state: Mutex<State<T>>,
}

struct State<T> {
    value: Option<T>,
    complete: bool,
    closed: bool,
    rx_waker: Option<Waker>,
    tx_waker: Option<Waker>,
}

impl<T> Inner<T> {
    fn lock(&self) -> MutexGuard<'_, State<T>> {
        // No user code runs under this lock, so poisoning cannot leave it broken.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Stores `waker` in `slot` unless the one there already wakes the same task; returns
/// the waker it replaces, to drop after unlocking.
#[must_use = "drop the replaced waker after unlocking"]
fn set_waker(slot: &mut Option<Waker>, waker: &Waker) -> Option<Waker> {
    match slot {
        Some(w) if w.will_wake(waker) => None,
        _ => slot.replace(waker.clone()),
    }
}

/// Creates a channel for a single value: the [`Sender`] sends it once, without waiting,
/// and the [`Receiver`] is a future that resolves to it.
///
/// ```
/// # gorun::Runtime::builder().procs(2).build().unwrap().run(async {
/// use gorun::sync::oneshot;
///
/// let (tx, rx) = oneshot::channel();
/// gorun::go(async move {
///     let _ = tx.send(6 * 7); // Err(v) only if the receiver is gone
/// });
/// assert_eq!(rx.await, Ok(42));
/// # });
/// ```
pub fn channel<T>() -> (Sender<T>, Receiver<T>) {
    let inner = Arc::new(Inner {
        state: Mutex::new(State {
            value: None,
            complete: false,
            closed: false,
            rx_waker: None,
            tx_waker: None,
        }),
    });
    (
        Sender {
            inner: Some(inner.clone()),
        },
        Receiver { inner: Some(inner) },
    )
}

/// Sends one value to the [`Receiver`]; made by [`channel`].
///
/// Dropping it without sending makes the receiver resolve to [`RecvError`].
pub struct Sender<T> {
    /// `None` once sent (invariant 5).
    inner: Option<Arc<Inner<T>>>,
}

/// Receives the value from the [`Sender`]: await it (it is a `Future`, usable as a
/// `select!` case through `&mut rx`) or poll it with [`try_recv`](Receiver::try_recv).
///
/// Dropping it closes the channel: a later [`Sender::send`] gives the value back, and
/// [`Sender::closed`] resolves.
pub struct Receiver<T> {
    /// `None` once the result has been returned (invariant 5).
    inner: Option<Arc<Inner<T>>>,
}

impl<T> Sender<T> {
    /// Sends `value`, without waiting. Returns it back as `Err` if the receiver was
    /// dropped or closed (then nobody would ever see it).
    ///
    /// ```
    /// use gorun::sync::oneshot;
    ///
    /// let (tx, rx) = oneshot::channel();
    /// drop(rx);
    /// assert_eq!(tx.send("lost"), Err("lost"));
    /// ```
    pub fn send(mut self, value: T) -> Result<(), T> {
        let inner = self.inner.take().expect("a live Sender has its channel");
        let mut st = inner.lock();
        if st.closed {
            return Err(value);
        }
        st.value = Some(value);
        st.complete = true;
        let waker = st.rx_waker.take();
        drop(st);
        if let Some(w) = waker {
            w.wake();
        }
        Ok(())
    }

    /// Whether the receiver was dropped or [closed](Receiver::close): a send would fail.
    ///
    /// ```
    /// use gorun::sync::oneshot;
    ///
    /// let (tx, mut rx) = oneshot::channel::<()>();
    /// assert!(!tx.is_closed());
    /// rx.close();
    /// assert!(tx.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.inner.as_ref().is_none_or(|i| i.lock().closed)
    }

    /// Waits until the receiver is dropped or [closed](Receiver::close): a producer
    /// can stop computing a value nobody will receive. Cancel-safe.
    ///
    /// ```
    /// # gorun::Runtime::builder().procs(2).build().unwrap().run(async {
    /// use gorun::sync::oneshot;
    ///
    /// let (mut tx, rx) = oneshot::channel::<u32>();
    /// gorun::go(async move { drop(rx) });
    /// tx.closed().await;
    /// assert!(tx.is_closed());
    /// # });
    /// ```
    pub fn closed(&mut self) -> Closed<'_, T> {
        Closed { tx: self }
    }

    /// Polls for the receiver's end: `Ready` once it is dropped or closed, else
    /// registers the task to be woken then.
    pub fn poll_closed(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let Some(inner) = self.inner.as_ref() else {
            return Poll::Ready(());
        };
        let coop = std::task::ready!(gorun_coop::poll_proceed(cx));
        let mut st = inner.lock();
        if st.closed {
            drop(st);
            coop.made_progress();
            return Poll::Ready(());
        }
        let old = set_waker(&mut st.tx_waker, cx.waker());
        drop(st);
        drop(old);
        Poll::Pending
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        let Some(inner) = self.inner.take() else {
            return;
        };
        let mut st = inner.lock();
        st.complete = true;
        let old = st.tx_waker.take();
        let waker = st.rx_waker.take();
        drop(st);
        drop(old);
        if let Some(w) = waker {
            w.wake();
        }
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("oneshot::Sender")
            .field("closed", &self.is_closed())
            .finish_non_exhaustive()
    }
}

/// The future of [`Sender::closed`].
#[must_use = "futures do nothing unless awaited"]
pub struct Closed<'a, T> {
    tx: &'a mut Sender<T>,
}

impl<T> Future for Closed<'_, T> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let r = self.get_mut().tx.poll_closed(cx);
        if r.is_pending() {
            gorun_coop::set_wait_reason(WaitReason::ChanSend);
        }
        r
    }
}

impl<T> fmt::Debug for Closed<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("oneshot::Closed").finish_non_exhaustive()
    }
}

impl<T> Receiver<T> {
    /// Closes the channel without dropping the receiver: a later [`Sender::send`]
    /// fails and [`Sender::closed`] resolves. A value sent before the close is still
    /// there for [`try_recv`](Self::try_recv) (or awaiting the receiver).
    ///
    /// ```
    /// use gorun::sync::oneshot::{self, error::TryRecvError};
    ///
    /// let (tx, mut rx) = oneshot::channel();
    /// rx.close();
    /// assert_eq!(tx.send(1), Err(1));
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
    /// ```
    pub fn close(&mut self) {
        let Some(inner) = self.inner.as_ref() else {
            return;
        };
        let mut st = inner.lock();
        st.closed = true;
        let old = st.rx_waker.take();
        let waker = st.tx_waker.take();
        drop(st);
        drop(old);
        if let Some(w) = waker {
            w.wake();
        }
    }

    /// Takes the value if it has been sent, without waiting.
    ///
    /// `Err(Empty)` while the sender is alive and has not sent; `Err(Closed)` once no
    /// value will come (the sender was dropped, the channel closed, or the value was
    /// already received).
    ///
    /// ```
    /// use gorun::sync::oneshot::{self, error::TryRecvError};
    ///
    /// let (tx, mut rx) = oneshot::channel();
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    /// tx.send("hi").unwrap();
    /// assert_eq!(rx.try_recv(), Ok("hi"));
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
    /// ```
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        let Some(inner) = self.inner.as_ref() else {
            return Err(TryRecvError::Closed);
        };
        let mut st = inner.lock();
        let r = if st.complete {
            st.value.take().ok_or(TryRecvError::Closed)
        } else if st.closed {
            Err(TryRecvError::Closed)
        } else {
            return Err(TryRecvError::Empty);
        };
        drop(st);
        self.inner = None;
        r
    }

    /// Waits for the value on a thread outside the runtime, blocking it.
    ///
    /// ```
    /// use gorun::sync::oneshot;
    ///
    /// let (tx, rx) = oneshot::channel();
    /// std::thread::spawn(move || tx.send(5).unwrap());
    /// assert_eq!(rx.blocking_recv(), Ok(5));
    /// ```
    ///
    /// # Panics
    /// Inside a task (on a runtime worker, or in `Runtime::block_on`): blocking there
    /// would stall the worker's other tasks, and deadlock if the awaited event needs
    /// them (see [`gorun_coop::block_on`]).
    #[track_caller]
    pub fn blocking_recv(self) -> Result<T, RecvError> {
        gorun_coop::block_on(self)
    }

    /// Whether the receiver has returned its result (awaited to completion or
    /// emptied by [`try_recv`](Self::try_recv)); polling it again would panic.
    pub fn is_terminated(&self) -> bool {
        self.inner.is_none()
    }

    /// Whether there is no value to take right now.
    pub fn is_empty(&self) -> bool {
        self.inner.as_ref().is_none_or(|i| i.lock().value.is_none())
    }
}

impl<T> Future for Receiver<T> {
    type Output = Result<T, RecvError>;

    /// # Panics
    /// If polled again after it returned `Ready` (as a `Future` should not be).
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let inner = this
            .inner
            .as_ref()
            .expect("oneshot::Receiver polled after it completed");
        let coop = std::task::ready!(gorun_coop::poll_proceed(cx));
        let mut st = inner.lock();
        let r = if st.complete {
            st.value.take().ok_or(RecvError(()))
        } else if st.closed {
            Err(RecvError(()))
        } else {
            let old = set_waker(&mut st.rx_waker, cx.waker());
            drop(st);
            drop(old);
            gorun_coop::set_wait_reason(WaitReason::ChanRecv);
            return Poll::Pending;
        };
        drop(st);
        coop.made_progress();
        this.inner = None;
        Poll::Ready(r)
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        let Some(inner) = self.inner.take() else {
            return;
        };
        let mut st = inner.lock();
        st.closed = true;
        let old = st.rx_waker.take();
        let value = st.value.take();
        let waker = st.tx_waker.take();
        drop(st);
        drop(old);
        drop(value); // user code, outside the lock
        if let Some(w) = waker {
            w.wake();
        }
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("oneshot::Receiver")
            .field("terminated", &self.is_terminated())
            .finish_non_exhaustive()
    }
}
