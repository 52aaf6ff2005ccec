//! A broadcast channel's receiving half and its `recv` future (see the invariants in
//! `broadcast.rs`).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::Ordering::Acquire;
use std::sync::Arc;
use std::task::{Context, Poll};

use gorun_coop::WaitReason;

use super::error::{RecvError, TryRecvError};
use super::Shared;
use crate::sync::waker_set::WakeList;

/// A receiving half of a [`channel`](super::channel): receives every value sent after
/// it subscribed. More receivers come from [`Sender::subscribe`](super::Sender::subscribe)
/// and [`Receiver::resubscribe`].
pub struct Receiver<T> {
    pub(super) shared: Arc<Shared<T>>,
    /// The position of the next value to receive.
    pub(super) next: u64,
    /// Its entry in `tail.rx_waiters`, once it has parked (invariant 6).
    pub(super) key: Option<usize>,
}

impl<T> Receiver<T> {
    /// The number of values sent that this receiver has not received yet. If it is
    /// over the channel's capacity, the next receive reports [`RecvError::Lagged`].
    pub fn len(&self) -> usize {
        (self.shared.tail().pos - self.next) as usize
    }

    /// Whether this receiver has received every value sent.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether both receivers belong to the same channel.
    pub fn same_channel(&self, other: &Receiver<T>) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }

    /// Whether every sender is gone (values may still be left to receive).
    pub fn is_closed(&self) -> bool {
        self.shared.tail().closed
    }

    /// The number of `Sender`s of this channel.
    pub fn sender_strong_count(&self) -> usize {
        self.shared.num_tx.load(Acquire)
    }
}

impl<T: Clone> Receiver<T> {
    /// Receives the next value, waiting for one to be sent.
    ///
    /// `Err(Lagged(n))` if `n` values were overwritten before this receiver read them
    /// (the next call returns the oldest value still held); `Err(Closed)` once every
    /// sender is gone and every value has been received.
    ///
    /// Cancel-safe: dropping the future before it completes receives nothing, so it
    /// can be a `select!` case in a loop.
    ///
    /// ```
    /// # gorun::Runtime::builder().procs(2).build().unwrap().run(async {
    /// use gorun::sync::broadcast::{self, error::RecvError};
    ///
    /// let (tx, mut rx) = broadcast::channel(2);
    /// for v in 1..=3 {
    ///     tx.send(v).unwrap(); // 3 overwrites 1
    /// }
    /// assert_eq!(rx.recv().await, Err(RecvError::Lagged(1)));
    /// assert_eq!(rx.recv().await, Ok(2));
    /// assert_eq!(rx.recv().await, Ok(3));
    /// # });
    /// ```
    pub fn recv(&mut self) -> Recv<'_, T> {
        Recv {
            rx: self,
            armed: false,
        }
    }

    /// Receives the next value if one is there now.
    ///
    /// ```
    /// use gorun::sync::broadcast::{self, error::TryRecvError};
    ///
    /// let (tx, mut rx) = broadcast::channel(4);
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    /// tx.send("a").unwrap();
    /// drop(tx);
    /// assert_eq!(rx.try_recv(), Ok("a"));
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
    /// ```
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        loop {
            if let Some(r) = self.try_take() {
                return r;
            }
        }
    }

    /// Waits for the next value on a thread outside the runtime, blocking it.
    ///
    /// # Panics
    /// Inside a task (on a runtime worker, or in `Runtime::block_on`): blocking there
    /// would stall the worker's other tasks, and deadlock if the awaited event needs
    /// them (see [`gorun_coop::block_on`]).
    #[track_caller]
    pub fn blocking_recv(&mut self) -> Result<T, RecvError> {
        gorun_coop::block_on(self.recv())
    }

    /// A new receiver of the same channel, starting at the next value sent (not where
    /// this one is).
    ///
    /// ```
    /// use gorun::sync::broadcast;
    ///
    /// let (tx, rx) = broadcast::channel(4);
    /// tx.send(1).unwrap();
    /// let mut rx2 = rx.resubscribe();
    /// tx.send(2).unwrap();
    /// assert_eq!(rx2.try_recv(), Ok(2));
    /// ```
    pub fn resubscribe(&self) -> Receiver<T> {
        self.shared.new_receiver()
    }

    /// One attempt: `None` when a value was sent between the slot read and the `tail`
    /// check (try again).
    fn try_take(&mut self) -> Option<Result<T, TryRecvError>> {
        let shared = &*self.shared;
        let mut slot = shared.slot(self.next);
        if slot.pos == self.next {
            // Move past it before cloning (invariant 7).
            self.next += 1;
            slot.rem -= 1;
            let val = if slot.rem == 0 {
                slot.val.take() // the last reader: move it out
            } else {
                slot.val.clone()
            };
            drop(slot);
            let val = val.expect("a broadcast value is held until every receiver has read it");
            return Some(Ok(val));
        }
        drop(slot);
        let tail = shared.tail();
        if tail.pos == self.next {
            return Some(Err(if tail.closed {
                TryRecvError::Closed
            } else {
                TryRecvError::Empty
            }));
        }
        let oldest = tail.pos.saturating_sub(shared.cap());
        if self.next < oldest {
            let missed = oldest - self.next;
            self.next = oldest;
            return Some(Err(TryRecvError::Lagged(missed)));
        }
        None
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        let shared = &*self.shared;
        let mut tail = shared.tail();
        tail.rx_cnt -= 1;
        let old = self.key.take().and_then(|k| tail.rx_waiters.remove(k));
        let mut wakers = WakeList::new();
        if tail.rx_cnt == 0 {
            tail.tx_waiters.notify_all(&mut wakers);
        }
        // Give up this receiver's share of every value it has not read (invariant 4).
        let start = self.next.max(tail.pos.saturating_sub(shared.cap()));
        let mut dropped = Vec::new();
        for pos in start..tail.pos {
            let mut slot = shared.slot(pos);
            if slot.pos == pos {
                slot.rem -= 1;
                if slot.rem == 0 {
                    dropped.extend(slot.val.take());
                }
            }
        }
        drop(tail);
        drop(old);
        drop(dropped); // user code, outside the locks
        wakers.wake();
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("broadcast::Receiver")
            .field("next", &self.next)
            .finish_non_exhaustive()
    }
}

/// The future of [`Receiver::recv`].
#[must_use = "futures do nothing unless awaited"]
pub struct Recv<'a, T> {
    rx: &'a mut Receiver<T>,
    /// It parked in the receiver's entry (to disarm if dropped).
    armed: bool,
}

impl<T: Clone> Future for Recv<'_, T> {
    type Output = Result<T, RecvError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let coop = std::task::ready!(gorun_coop::poll_proceed(cx));
        loop {
            let r = match this.rx.try_take() {
                None => continue,
                Some(Err(TryRecvError::Empty)) => None,
                Some(Ok(v)) => Some(Ok(v)),
                Some(Err(TryRecvError::Lagged(n))) => Some(Err(RecvError::Lagged(n))),
                Some(Err(TryRecvError::Closed)) => Some(Err(RecvError::Closed)),
            };
            if let Some(r) = r {
                // The entry stays with the receiver: notified (no waker) when a send
                // woke us, at worst one spurious wake-up later if polled early.
                this.armed = false;
                coop.made_progress();
                return Poll::Ready(r);
            }
            let rx = &mut *this.rx;
            let mut tail = rx.shared.tail();
            if tail.pos != rx.next || tail.closed {
                continue; // a send or close since `try_take` looked: look again
            }
            let old = tail.rx_waiters.register(&mut rx.key, cx.waker());
            drop(tail);
            drop(old);
            this.armed = true;
            gorun_coop::set_wait_reason(WaitReason::ChanRecv);
            return Poll::Pending;
        }
    }
}

impl<T> Drop for Recv<'_, T> {
    fn drop(&mut self) {
        if let (true, Some(k)) = (self.armed, self.rx.key) {
            let old = self.rx.shared.tail().rx_waiters.disarm(k);
            drop(old);
        }
    }
}

impl<T> fmt::Debug for Recv<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("broadcast::Recv")
            .field("parked", &self.armed)
            .finish_non_exhaustive()
    }
}
