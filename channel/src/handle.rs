//! The public handles: [`chan`], [`Sender`], [`Receiver`].

use std::fmt;
use std::pin::Pin;

use crate::chan::{Chan, TryRecv, TrySend};
use crate::error::{TryRecvError, TrySendError};
use crate::future::{RecvFuture, SendFuture};
use crate::loom::{Arc, Ordering};
use crate::op::{RecvOp, SinkState};
use crate::waiter::wake;

/// Creates a channel of capacity `cap`: Go's `make(chan T, cap)`.
///
/// `cap == 0` is a rendezvous channel: a send completes only when a receiver has
/// the value. Both ends can be cloned (many senders, many receivers) and shared
/// between threads and tasks. The ring buffer grows on demand up to `cap`, so a
/// large bound costs nothing until values fill it.
///
/// # Panics
/// If `cap` values of `T` could never fit in memory (`cap * size_of::<T>()` over
/// `isize::MAX` bytes), as Go's `make` panics with `size out of range`; the message
/// says the limit.
///
/// ```
/// # futures::executor::block_on(async {
/// let (tx, rx) = gorun_channel::chan::<&str>(1);
/// tx.send("hello").await.unwrap();
/// drop(tx); // the last sender closes the channel
/// assert_eq!(rx.recv().await, Some("hello"));
/// assert_eq!(rx.recv().await, None); // closed and drained: Go's `ok == false`
/// # });
/// ```
pub fn chan<T>(cap: usize) -> (Sender<T>, Receiver<T>) {
    let chan = Arc::new(Chan::new(cap));
    (
        Sender {
            chan: chan.clone(),
            sink: None,
        },
        Receiver { chan, stream: None },
    )
}

/// The sending half of a channel. Clone it for more senders; the channel closes
/// when [`close`](Sender::close) is called or the last `Sender` is dropped.
pub struct Sender<T> {
    pub(crate) chan: Arc<Chan<T>>,
    /// The in-flight item of the `Sink` impl (allocated on first use, reused).
    pub(crate) sink: Option<Pin<Box<SinkState<T>>>>,
}

impl<T> Sender<T> {
    /// Sends `value`, waiting while the buffer is full (or, for a rendezvous
    /// channel, until a receiver takes it). Fails with the value back if the
    /// channel is closed or every receiver is gone — also when that happens while
    /// this send is parked, so a sender can never block forever on an abandoned
    /// channel.
    ///
    /// To give up after a while, use gorun's `send_timeout` (`SendTimeoutExt`), not
    /// a `timeout` around this future: dropping the future withdraws the value, but
    /// a receiver may take it between the timeout's last poll and the drop, so the
    /// timeout can report `Elapsed` for a value that was delivered. `send_timeout`
    /// is exact (a select of the send and a timer).
    ///
    /// ```
    /// # futures::executor::block_on(async {
    /// let (tx, rx) = gorun_channel::chan(0);
    /// let recv = async { rx.recv().await };
    /// let (sent, got) = futures::join!(tx.send(5), recv);
    /// assert_eq!((sent, got), (Ok(()), Some(5)));
    /// drop(rx);
    /// assert_eq!(tx.send(6).await.unwrap_err().into_inner(), 6);
    /// # });
    /// ```
    pub fn send(&self, value: T) -> SendFuture<'_, T> {
        SendFuture::new(&self.chan, value)
    }

    /// Sends without waiting: Go's `select { case c <- v: default: }`.
    ///
    /// ```
    /// use gorun_channel::TrySendError;
    /// let (tx, _rx) = gorun_channel::chan(1);
    /// assert_eq!(tx.try_send(1), Ok(()));
    /// assert_eq!(tx.try_send(2), Err(TrySendError::Full(2)));
    /// ```
    pub fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        let mut st = self.chan.lock();
        match st.try_send(self.chan.cap(), value) {
            TrySend::Sent(w) => {
                drop(st);
                wake(w);
                Ok(())
            }
            TrySend::Full(v) => Err(TrySendError::Full(v)),
            TrySend::Closed(v) => Err(TrySendError::Closed(v)),
        }
    }

    /// Sends from a plain thread, blocking it.
    ///
    /// # Panics
    /// Inside a task (on a runtime worker, or in `Runtime::block_on`): blocking there
    /// would stall the worker's other tasks, and deadlock if the awaited event needs
    /// them (see [`gorun_coop::block_on`]).
    #[track_caller]
    #[cfg(not(loom))]
    pub fn blocking_send(&self, value: T) -> Result<(), crate::SendError<T>> {
        gorun_coop::block_on(self.send(value))
    }

    /// Closes the channel: parked and future sends fail, receivers drain what is
    /// buffered and then get `None`. Returns whether this call closed it (closing
    /// twice is harmless, unlike in Go).
    ///
    /// ```
    /// let (tx, rx) = gorun_channel::chan(2);
    /// tx.try_send(1).unwrap();
    /// assert!(tx.close());
    /// assert!(!tx.close());
    /// assert_eq!(rx.try_recv(), Ok(1));
    /// assert!(rx.try_recv().unwrap_err().is_closed());
    /// ```
    pub fn close(&self) -> bool {
        self.chan.close()
    }

    /// Whether sends fail now: the channel is closed or every receiver is gone.
    pub fn is_closed(&self) -> bool {
        self.chan.is_closed()
    }

    /// Values buffered now (may exceed `cap` briefly after a cancelled receive
    /// handed its value back; see the crate docs).
    pub fn len(&self) -> usize {
        self.chan.len()
    }

    /// Whether nothing is buffered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether the buffer is full (always true for a rendezvous channel).
    pub fn is_full(&self) -> bool {
        self.len() >= self.cap()
    }

    /// The buffer capacity given to [`chan`].
    pub fn cap(&self) -> usize {
        self.chan.cap()
    }

    /// Whether `self` and `other` are handles of the same channel.
    pub fn same_channel(&self, other: &Sender<T>) -> bool {
        Arc::ptr_eq(&self.chan, &other.chan)
    }

    pub(crate) fn chan(&self) -> &Chan<T> {
        &self.chan
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        self.chan.senders.fetch_add(1, Ordering::Relaxed);
        Sender {
            chan: self.chan.clone(),
            sink: None,
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        if let Some(sink) = self.sink.as_mut() {
            drop(sink.as_mut().project().op.cancel(&self.chan));
        }
        if self.chan.senders.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.chan.close();
        }
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender")
            .field("cap", &self.cap())
            .finish_non_exhaustive()
    }
}

/// The receiving half of a channel. Clone it for more receivers (each value goes
/// to exactly one). When the last `Receiver` is dropped, parked and future sends
/// fail with their value back.
pub struct Receiver<T> {
    pub(crate) chan: Arc<Chan<T>>,
    /// The parked receive of the `Stream` impl (allocated on first use, reused).
    pub(crate) stream: Option<Pin<Box<RecvOp<T>>>>,
}

impl<T> Receiver<T> {
    /// Receives the next value, waiting for one; `None` once the channel is closed
    /// and drained.
    ///
    /// ```
    /// # futures::executor::block_on(async {
    /// let (tx, rx) = gorun_channel::chan(4);
    /// for i in 0..3 { tx.send(i).await.unwrap(); }
    /// tx.close();
    /// let mut got = vec![];
    /// while let Some(v) = rx.recv().await { got.push(v); }
    /// assert_eq!(got, [0, 1, 2]);
    /// # });
    /// ```
    pub fn recv(&self) -> RecvFuture<'_, T> {
        RecvFuture::new(&self.chan)
    }

    /// Receives without waiting.
    ///
    /// ```
    /// use gorun_channel::TryRecvError;
    /// let (tx, rx) = gorun_channel::chan(1);
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    /// tx.try_send(3).unwrap();
    /// assert_eq!(rx.try_recv(), Ok(3));
    /// drop(tx);
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
    /// ```
    pub fn try_recv(&self) -> Result<T, TryRecvError> {
        self.chan.before_recv();
        let mut st = self.chan.lock();
        match st.try_recv(self.chan.cap()) {
            TryRecv::Got(v, w) => {
                drop(st);
                wake(w);
                Ok(v)
            }
            TryRecv::Empty => Err(TryRecvError::Empty),
            TryRecv::Closed => Err(TryRecvError::Closed),
        }
    }

    /// Receives on a plain thread, blocking it.
    ///
    /// # Panics
    /// Inside a task (on a runtime worker, or in `Runtime::block_on`): blocking there
    /// would stall the worker's other tasks, and deadlock if the awaited event needs
    /// them (see [`gorun_coop::block_on`]).
    #[track_caller]
    #[cfg(not(loom))]
    pub fn blocking_recv(&self) -> Option<T> {
        gorun_coop::block_on(self.recv())
    }

    /// A blocking iterator over received values, ending when the channel is
    /// closed and drained (Go's `for v := range c` on a plain thread).
    ///
    /// ```
    /// let (tx, rx) = gorun_channel::chan(0);
    /// let t = std::thread::spawn(move || {
    ///     for i in 0..3 { tx.blocking_send(i).unwrap(); }
    /// });
    /// assert_eq!(rx.iter().collect::<Vec<_>>(), [0, 1, 2]);
    /// t.join().unwrap();
    /// ```
    #[cfg(not(loom))]
    pub fn iter(&self) -> crate::plain_thread::Iter<'_, T> {
        crate::plain_thread::Iter { rx: self }
    }

    /// Whether the channel is closed (or has no receivers); buffered values can
    /// still be received after close.
    pub fn is_closed(&self) -> bool {
        self.chan.is_closed()
    }

    /// Values buffered now (see [`Sender::len`]).
    pub fn len(&self) -> usize {
        self.chan.len()
    }

    /// Whether nothing is buffered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether the buffer is full (always true for a rendezvous channel).
    pub fn is_full(&self) -> bool {
        self.len() >= self.cap()
    }

    /// The buffer capacity given to [`chan`].
    pub fn cap(&self) -> usize {
        self.chan.cap()
    }

    /// Whether `self` and `other` are handles of the same channel.
    pub fn same_channel(&self, other: &Receiver<T>) -> bool {
        Arc::ptr_eq(&self.chan, &other.chan)
    }

    pub(crate) fn chan(&self) -> &Chan<T> {
        &self.chan
    }
}

impl<T> Clone for Receiver<T> {
    fn clone(&self) -> Self {
        self.chan.receivers.fetch_add(1, Ordering::Relaxed);
        Receiver {
            chan: self.chan.clone(),
            stream: None,
        }
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        // Hand back anything given to our stream's parked receive first.
        if let Some(op) = self.stream.as_mut() {
            op.as_mut().cancel(&self.chan);
        }
        if self.chan.receivers.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.chan.receivers_gone();
        }
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver")
            .field("cap", &self.cap())
            .finish_non_exhaustive()
    }
}
