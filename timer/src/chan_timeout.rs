//! `send_timeout` and `recv_timeout`: a channel operation and a timer in one select,
//! so the outcome is exact.
//!
//! `timeout(d, tx.send(v))` cannot be: a receiver may take the parked value after the
//! timeout's last poll and before the send future is dropped, so the caller reads
//! `Err(Elapsed)` for a value that was delivered (the channel itself loses and
//! duplicates nothing). Here the send is a select case and the timer a future case:
//! when the timer fires, the select withdraws the send with one CAS of its flag,
//! which fails if a receiver already won the case. So `Ok` means delivered and
//! `Timeout(v)` means not delivered, with the value back.
//!
//! They are extension traits because the channel crate cannot name the timer (the
//! timer's channel-shaped timers are built on it): `use gorun::prelude::*` (or
//! `gorun::time::{SendTimeoutExt, RecvTimeoutExt}`) brings them in.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use gorun_channel::__private::{
    FutureCase, RecvCase, SelectCase, SelectState, SendCase, TakeOutput,
};
use gorun_channel::{Receiver, RecvTimeoutError, SendError, SendTimeoutError, Sender};

use crate::{sleep, Sleep};

/// [`send_timeout`](SendTimeoutExt::send_timeout) for gorun's [`Sender`].
pub trait SendTimeoutExt<T> {
    /// Sends `value`, waiting at most `timeout` for room (or, unbuffered, for a
    /// receiver). Exact, unlike [`timeout`](crate::timeout()) around
    /// [`send`](Sender::send): `Ok` means a receiver or the buffer has the value;
    /// [`SendTimeoutError::Timeout`] means it was not delivered, and gives it back.
    ///
    /// ```
    /// # futures::executor::block_on(async {
    /// use std::time::Duration;
    /// use gorun_channel::SendTimeoutError;
    /// use gorun_timer::SendTimeoutExt;
    ///
    /// let (tx, rx) = gorun_channel::chan::<u32>(1);
    /// assert_eq!(tx.send_timeout(1, Duration::from_millis(5)).await, Ok(()));
    /// // Full, and nobody receives: the value comes back.
    /// let err = tx.send_timeout(2, Duration::from_millis(5)).await.unwrap_err();
    /// assert_eq!(err, SendTimeoutError::Timeout(2));
    /// assert_eq!(rx.try_recv(), Ok(1));
    /// # });
    /// ```
    fn send_timeout(&self, value: T, timeout: Duration) -> SendTimeout<'_, T>;
}

/// [`recv_timeout`](RecvTimeoutExt::recv_timeout) for gorun's [`Receiver`].
pub trait RecvTimeoutExt<T> {
    /// Receives the next value, waiting at most `timeout`. On
    /// [`RecvTimeoutError::Timeout`] nothing was received (a value sent meanwhile
    /// stays in the channel for the next receive).
    ///
    /// ```
    /// # futures::executor::block_on(async {
    /// use std::time::Duration;
    /// use gorun_channel::RecvTimeoutError;
    /// use gorun_timer::RecvTimeoutExt;
    ///
    /// let (tx, rx) = gorun_channel::chan::<u32>(1);
    /// let waited = rx.recv_timeout(Duration::from_millis(5)).await;
    /// assert_eq!(waited, Err(RecvTimeoutError::Timeout));
    /// tx.try_send(3).unwrap();
    /// assert_eq!(rx.recv_timeout(Duration::from_millis(5)).await, Ok(3));
    /// drop(tx);
    /// assert_eq!(rx.recv_timeout(Duration::from_millis(5)).await, Err(RecvTimeoutError::Closed));
    /// # });
    /// ```
    fn recv_timeout(&self, timeout: Duration) -> RecvTimeout<'_, T>;
}

impl<T> SendTimeoutExt<T> for Sender<T> {
    fn send_timeout(&self, value: T, timeout: Duration) -> SendTimeout<'_, T> {
        SendTimeout {
            op: SendCase::new(Some(self), value),
            timer: FutureCase::new(Some(sleep(timeout))),
            state: SelectState::new(true, false),
        }
    }
}

impl<T> RecvTimeoutExt<T> for Receiver<T> {
    fn recv_timeout(&self, timeout: Duration) -> RecvTimeout<'_, T> {
        RecvTimeout {
            op: RecvCase::new(Some(self)),
            timer: FutureCase::new(Some(sleep(timeout))),
            state: SelectState::new(true, false),
        }
    }
}

/// Polls the two-case select `[op, timer]` (biased: the operation first, so a ready
/// one wins over an elapsed timer). `Some(true)`: the operation fired.
fn poll_pair(
    op: Pin<&mut dyn SelectCase>,
    timer: Pin<&mut FutureCase<Sleep>>,
    state: Pin<&mut SelectState>,
    cx: &mut Context<'_>,
) -> Poll<bool> {
    let mut cases: [Pin<&mut dyn SelectCase>; 2] = [op, timer];
    state
        .poll(&mut cases, cx)
        .map(|fired| fired.expect("a select without default fires a case") == 0)
}

/// Withdraws the select if it is dropped while pending (the cases then drop: a
/// value handed to the receive is passed on, an unsent one dropped with the future).
fn cancel_pair(
    op: Pin<&mut dyn SelectCase>,
    timer: Pin<&mut FutureCase<Sleep>>,
    state: Pin<&mut SelectState>,
) {
    let mut cases: [Pin<&mut dyn SelectCase>; 2] = [op, timer];
    state.cancel(&mut cases);
}

/// The future of [`send_timeout`](SendTimeoutExt::send_timeout).
#[must_use = "futures do nothing unless polled"]
pub struct SendTimeout<'a, T> {
    op: SendCase<'a, T>,
    timer: FutureCase<Sleep>,
    state: SelectState,
}

impl<'a, T> SendTimeout<'a, T> {
    #[allow(clippy::type_complexity)]
    fn project(
        self: Pin<&mut Self>,
    ) -> (
        Pin<&mut SendCase<'a, T>>,
        Pin<&mut FutureCase<Sleep>>,
        Pin<&mut SelectState>,
    ) {
        // SAFETY: structural pinning of all three fields; none is moved out, and
        // `Drop` withdraws the select before the fields drop.
        unsafe {
            let this = self.get_unchecked_mut();
            (
                Pin::new_unchecked(&mut this.op),
                Pin::new_unchecked(&mut this.timer),
                Pin::new_unchecked(&mut this.state),
            )
        }
    }
}

impl<T> Future for SendTimeout<'_, T> {
    type Output = Result<(), SendTimeoutError<T>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let (mut op, timer, state) = self.project();
        let sent = std::task::ready!(poll_pair(op.as_mut(), timer, state, cx));
        Poll::Ready(if sent {
            op.take_output()
                .map_err(|SendError(v)| SendTimeoutError::Closed(v))
        } else {
            let v = op.take_unsent().expect("an unsent case keeps its value");
            Err(SendTimeoutError::Timeout(v))
        })
    }
}

impl<T> Drop for SendTimeout<'_, T> {
    fn drop(&mut self) {
        // SAFETY: we are being dropped: `self` stays put until the end.
        let (op, timer, state) = unsafe { Pin::new_unchecked(self) }.project();
        cancel_pair(op, timer, state);
    }
}

impl<T> fmt::Debug for SendTimeout<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SendTimeout").finish_non_exhaustive()
    }
}

/// The future of [`recv_timeout`](RecvTimeoutExt::recv_timeout).
#[must_use = "futures do nothing unless polled"]
pub struct RecvTimeout<'a, T> {
    op: RecvCase<'a, T>,
    timer: FutureCase<Sleep>,
    state: SelectState,
}

impl<'a, T> RecvTimeout<'a, T> {
    #[allow(clippy::type_complexity)]
    fn project(
        self: Pin<&mut Self>,
    ) -> (
        Pin<&mut RecvCase<'a, T>>,
        Pin<&mut FutureCase<Sleep>>,
        Pin<&mut SelectState>,
    ) {
        // SAFETY: as for `SendTimeout::project`.
        unsafe {
            let this = self.get_unchecked_mut();
            (
                Pin::new_unchecked(&mut this.op),
                Pin::new_unchecked(&mut this.timer),
                Pin::new_unchecked(&mut this.state),
            )
        }
    }
}

impl<T> Future for RecvTimeout<'_, T> {
    type Output = Result<T, RecvTimeoutError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let (mut op, timer, state) = self.project();
        let received = std::task::ready!(poll_pair(op.as_mut(), timer, state, cx));
        Poll::Ready(if received {
            op.take_output().ok_or(RecvTimeoutError::Closed)
        } else {
            Err(RecvTimeoutError::Timeout)
        })
    }
}

impl<T> Drop for RecvTimeout<'_, T> {
    fn drop(&mut self) {
        // SAFETY: we are being dropped: `self` stays put until the end.
        let (op, timer, state) = unsafe { Pin::new_unchecked(self) }.project();
        cancel_pair(op, timer, state);
    }
}

impl<T> fmt::Debug for RecvTimeout<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecvTimeout").finish_non_exhaustive()
    }
}
