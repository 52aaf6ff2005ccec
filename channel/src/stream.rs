//! `Receiver: Stream` and `Sender: Sink`.
//!
//! Each handle keeps one boxed, reused parking state for these impls (allocated
//! on first use, never per message), so a pending `poll_next`/`poll_flush` parks
//! without allocating and a dropped handle cancels it like a dropped future.
//!
//! Sink readiness is honest: `poll_ready` resolves only once the previous item
//! has been taken by a receiver or the buffer, so each `Sender` holds at most one
//! undelivered item — its reservation. `start_send` delivers at once when it can
//! and otherwise keeps the item in that reserved slot; `poll_flush` (and the next
//! `poll_ready`) waits for it to be delivered, or fails with the item back.

use std::pin::Pin;
use std::task::{ready, Context, Poll};

use futures_core::Stream;
use futures_sink::Sink;

use crate::chan::TrySend;
use crate::error::SendError;
use crate::handle::{Receiver, Sender};
use crate::op::{RecvOp, SendOp, SinkState};

impl<T> Stream for Receiver<T> {
    type Item = T;

    /// Receives the next value; `None` once closed and drained.
    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let this = self.get_mut();
        let op = this.stream.get_or_insert_with(|| Box::pin(RecvOp::new()));
        let coop = ready!(gorun_coop::poll_proceed(cx));
        let out = ready!(op.as_mut().poll(&this.chan, cx));
        coop.made_progress();
        Poll::Ready(out)
    }
}

impl<T> Sink<T> for Sender<T> {
    type Error = SendError<T>;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), SendError<T>>> {
        self.poll_flush(cx)
    }

    fn start_send(self: Pin<&mut Self>, item: T) -> Result<(), SendError<T>> {
        let this = self.get_mut();
        let mut st = this.chan.lock();
        match st.try_send(this.chan.cap(), item) {
            TrySend::Sent(w) => {
                drop(st);
                if let Some(w) = w {
                    w.wake();
                }
                Ok(())
            }
            TrySend::Closed(v) => Err(SendError(v)),
            TrySend::Full(v) => {
                drop(st);
                let sink = this.sink.get_or_insert_with(|| {
                    Box::pin(SinkState {
                        value: None,
                        op: SendOp::new(),
                    })
                });
                let s = sink.as_mut().project();
                assert!(
                    s.value.is_none() && !s.op.is_registered(),
                    "Sink::start_send called without a successful poll_ready"
                );
                *s.value = Some(v);
                Ok(())
            }
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), SendError<T>>> {
        let this = self.get_mut();
        let Some(sink) = this.sink.as_mut() else {
            return Poll::Ready(Ok(()));
        };
        let s = sink.as_mut().project();
        if s.value.is_none() && !s.op.is_registered() {
            return Poll::Ready(Ok(()));
        }
        let coop = ready!(gorun_coop::poll_proceed(cx));
        let out = ready!(s.op.poll(&this.chan, s.value, cx));
        coop.made_progress();
        Poll::Ready(out)
    }

    /// Flushes. The channel itself closes when the last `Sender` is dropped (or
    /// on [`Sender::close`]), not here, since other senders may share it.
    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), SendError<T>>> {
        self.poll_flush(cx)
    }
}
