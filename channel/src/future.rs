//! The futures returned by [`Sender::send`](crate::Sender::send) and
//! [`Receiver::recv`](crate::Receiver::recv).
//!
//! Each holds its parking state ([`RecvOp`]/[`SendOp`]) inline, so a blocked
//! operation allocates nothing, and cancels it on drop: dropping either future at
//! any await point loses and duplicates nothing (see `op.rs` and `chan.rs`).
//! Each successful poll charges one unit of the gorun cooperative budget.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use pin_project_lite::pin_project;

use crate::chan::Chan;
use crate::error::SendError;
use crate::op::{RecvOp, SendOp};

pin_project! {
    /// Future of [`Sender::send`](crate::Sender::send): resolves once a receiver or
    /// the buffer has the value, or to `Err(SendError(value))` when the channel is
    /// closed or has no receivers left.
    ///
    /// Dropping it before it resolves withdraws the value from the channel
    /// (unless a receiver already took it, in which case the send happened).
    #[must_use = "futures do nothing unless polled"]
    pub struct SendFuture<'a, T> {
        chan: &'a Chan<T>,
        value: Option<T>,
        #[pin]
        op: SendOp<T>,
    }

    impl<'a, T> PinnedDrop for SendFuture<'a, T> {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            drop(this.op.cancel(this.chan));
        }
    }
}

impl<'a, T> SendFuture<'a, T> {
    pub(crate) fn new(chan: &'a Chan<T>, value: T) -> Self {
        SendFuture {
            chan,
            value: Some(value),
            op: SendOp::new(),
        }
    }
}

impl<T> Future for SendFuture<'_, T> {
    type Output = Result<(), SendError<T>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let coop = ready!(gorun_coop::poll_proceed(cx));
        let out = ready!(this.op.poll(this.chan, this.value, cx));
        coop.made_progress();
        Poll::Ready(out)
    }
}

impl<T> fmt::Debug for SendFuture<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SendFuture").finish_non_exhaustive()
    }
}

pin_project! {
    /// Future of [`Receiver::recv`](crate::Receiver::recv): the next value, or
    /// `None` once the channel is closed and drained.
    ///
    /// Dropping it before it resolves withdraws it; a value a sender handed to it
    /// in the meantime goes to the next waiting receiver, or back to the front of
    /// the channel.
    #[must_use = "futures do nothing unless polled"]
    pub struct RecvFuture<'a, T> {
        chan: &'a Chan<T>,
        #[pin]
        op: RecvOp<T>,
    }

    impl<'a, T> PinnedDrop for RecvFuture<'a, T> {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            this.op.cancel(this.chan);
        }
    }
}

impl<'a, T> RecvFuture<'a, T> {
    pub(crate) fn new(chan: &'a Chan<T>) -> Self {
        RecvFuture {
            chan,
            op: RecvOp::new(),
        }
    }
}

impl<T> Future for RecvFuture<'_, T> {
    type Output = Option<T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let this = self.project();
        let coop = ready!(gorun_coop::poll_proceed(cx));
        let out = ready!(this.op.poll(this.chan, cx));
        coop.made_progress();
        Poll::Ready(out)
    }
}

impl<T> fmt::Debug for RecvFuture<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecvFuture").finish_non_exhaustive()
    }
}
