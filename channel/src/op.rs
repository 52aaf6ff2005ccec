//! One send or receive operation's parking state: a [`Waiter`] plus whether it
//! was handed to the channel. Shared by the send/recv futures, the `Stream` and
//! `Sink` impls (with [`SinkState`], the `Sink`'s item) and the blocking calls, so
//! cancellation is written once.
//!
//! Ground rules:
//! * `registered == false`: the waiter is not queued and no peer can reach it.
//! * `registered == true`: the waiter is queued, or a peer completed it (its
//!   status is final). Only the owner sets `registered`.
//! * Cancelling ([`RecvOp::cancel`], [`SendOp::cancel`]) leaves the op reusable:
//!   a queued waiter is unlinked; a value a peer already handed to a receiver is
//!   re-delivered (`State::redeliver`); a parked sender's value is dropped after
//!   the lock is released.

use std::pin::Pin;
use std::task::{Context, Poll};

use pin_project_lite::pin_project;

use crate::chan::{Chan, TryRecv, TrySend};
use crate::error::SendError;
use crate::waiter::{wake, LazyWaiter, Status, Waiter};

/// A receive that may park.
pub(crate) struct RecvOp<T> {
    waiter: LazyWaiter<T>,
    registered: bool,
}

/// A send that may park; the value lives in the waiter's slot while parked.
pub(crate) struct SendOp<T> {
    waiter: LazyWaiter<T>,
    registered: bool,
}

pin_project! {
    /// State of `Sender`'s `Sink` impl (`stream.rs`): the item given to
    /// `start_send`, then parked. Each `Sender` keeps one, boxed, for its life.
    pub(crate) struct SinkState<T> {
        pub(crate) value: Option<T>,
        #[pin]
        pub(crate) op: SendOp<T>,
    }
}

macro_rules! project {
    ($self:ident) => {{
        // SAFETY: the waiter is never moved out of the pinned op (`LazyWaiter`
        // writes it in place); `registered` is plain data, not structurally pinned.
        let this = unsafe { $self.get_unchecked_mut() };
        (&mut this.waiter, &mut this.registered)
    }};
}

impl<T> RecvOp<T> {
    pub(crate) fn new() -> Self {
        RecvOp {
            waiter: LazyWaiter::new(),
            registered: false,
        }
    }

    /// Receives, parking on `recvq` if nothing is there.
    pub(crate) fn poll(
        self: Pin<&mut Self>,
        chan: &Chan<T>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<T>> {
        let (lw, registered) = project!(self);
        if *registered {
            if let Some(done) = finished_recv(lw.get(), registered) {
                return Poll::Ready(done);
            }
        } else {
            chan.before_recv();
        }
        let mut st = chan.lock();
        if *registered {
            let w = lw.get();
            // SAFETY: lock held.
            if unsafe { w.is_queued() } {
                // SAFETY: lock held.
                unsafe { w.set_waker(cx.waker()) };
                gorun_coop::set_wait_reason(gorun_coop::WaitReason::ChanRecv);
                return Poll::Pending;
            }
            // Completed between the status check and the lock.
            drop(st);
            let done = finished_recv(w, registered).expect("an unqueued parked waiter is final");
            return Poll::Ready(done);
        }
        match st.try_recv(chan.cap()) {
            TryRecv::Got(v, waker) => {
                drop(st);
                wake(waker);
                Poll::Ready(Some(v))
            }
            TryRecv::Closed => Poll::Ready(None),
            TryRecv::Empty => {
                let w = lw.get_or_init();
                // SAFETY: lock held; the waiter is pinned (we are) and is unlinked
                // by `cancel` (called from every owner's Drop) before it is freed.
                unsafe {
                    w.set_waker(cx.waker());
                    st.park_receiver(w);
                }
                *registered = true;
                drop(st);
                chan.after_park_recv();
                gorun_coop::set_wait_reason(gorun_coop::WaitReason::ChanRecv);
                Poll::Pending
            }
        }
    }

    /// Withdraws a parked receive; re-delivers a value handed to it meanwhile.
    pub(crate) fn cancel(self: Pin<&mut Self>, chan: &Chan<T>) {
        let (lw, registered) = project!(self);
        if !*registered {
            return;
        }
        *registered = false;
        let w = lw.get();
        let waker = match w.status() {
            Status::Waiting => {
                let mut st = chan.lock();
                // SAFETY: lock held.
                if unsafe { w.is_queued() } {
                    // SAFETY: queued on this channel's recvq.
                    unsafe { st.recvq.remove(w) };
                    None
                } else {
                    // Completed while we took the lock.
                    // SAFETY: lock held.
                    unsafe { w.take_slot() }.and_then(|v| st.redeliver(v))
                }
            }
            // SAFETY: final status read with Acquire: we own the waiter.
            Status::Done => unsafe { w.take_slot() }.and_then(|v| chan.lock().redeliver(v)),
            Status::Closed => None,
        };
        // SAFETY: unqueued and final (or never completed): ours.
        unsafe { w.reset() };
        wake(waker);
    }
}

/// The outcome of a registered receive whose waiter is final, if it is.
fn finished_recv<T>(w: &Waiter<T>, registered: &mut bool) -> Option<Option<T>> {
    let out = match w.status() {
        // SAFETY: final status read with Acquire: the waiter is ours (waiter rule 3).
        Status::Done => Some(unsafe { w.take_slot() }),
        Status::Closed => Some(None),
        Status::Waiting => return None,
    };
    *registered = false;
    // SAFETY: final and unqueued: ours.
    unsafe { w.reset() };
    out
}

impl<T> SendOp<T> {
    pub(crate) fn new() -> Self {
        SendOp {
            waiter: LazyWaiter::new(),
            registered: false,
        }
    }

    /// Whether a value is parked in this op (sent or not yet known).
    pub(crate) fn is_registered(&self) -> bool {
        self.registered
    }

    /// Sends `value.take()` (which must be `Some` unless already registered),
    /// parking on `sendq` if nobody can take it.
    pub(crate) fn poll(
        self: Pin<&mut Self>,
        chan: &Chan<T>,
        value: &mut Option<T>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<(), SendError<T>>> {
        let (lw, registered) = project!(self);
        if *registered {
            if let Some(done) = finished_send(lw.get(), registered) {
                return Poll::Ready(done);
            }
        }
        let mut st = chan.lock();
        if *registered {
            let w = lw.get();
            // SAFETY: lock held.
            if unsafe { w.is_queued() } {
                // SAFETY: lock held.
                unsafe { w.set_waker(cx.waker()) };
                gorun_coop::set_wait_reason(gorun_coop::WaitReason::ChanSend);
                return Poll::Pending;
            }
            drop(st);
            let done = finished_send(w, registered).expect("an unqueued parked waiter is final");
            return Poll::Ready(done);
        }
        let v = value.take().expect("send polled after completion");
        match st.try_send(chan.cap(), v) {
            TrySend::Sent(waker) => {
                drop(st);
                wake(waker);
                Poll::Ready(Ok(()))
            }
            TrySend::Closed(v) => Poll::Ready(Err(SendError(v))),
            TrySend::Full(v) => {
                let w = lw.get_or_init();
                // SAFETY: lock held; pinned; unlinked by `cancel` before it is freed.
                unsafe {
                    w.put_slot(v);
                    w.set_waker(cx.waker());
                    st.park_sender(w);
                }
                *registered = true;
                gorun_coop::set_wait_reason(gorun_coop::WaitReason::ChanSend);
                Poll::Pending
            }
        }
    }

    /// Withdraws a parked send; returns its value if it was not taken.
    pub(crate) fn cancel(self: Pin<&mut Self>, chan: &Chan<T>) -> Option<T> {
        let (lw, registered) = project!(self);
        if !*registered {
            return None;
        }
        *registered = false;
        let w = lw.get();
        let value = match w.status() {
            Status::Waiting => {
                let mut st = chan.lock();
                // SAFETY: lock held.
                if unsafe { w.is_queued() } {
                    // SAFETY: queued on this channel's sendq.
                    unsafe { st.sendq.remove(w) };
                }
                // SAFETY: lock held; a taken value left `None` behind.
                unsafe { w.take_slot() }
            }
            // SAFETY: final status read with Acquire: ours.
            Status::Done | Status::Closed => unsafe { w.take_slot() },
        };
        // SAFETY: unqueued: ours.
        unsafe { w.reset() };
        value
    }
}

fn finished_send<T>(w: &Waiter<T>, registered: &mut bool) -> Option<Result<(), SendError<T>>> {
    let out = match w.status() {
        Status::Done => Ok(()),
        // SAFETY: final status read with Acquire: ours.
        Status::Closed => Err(SendError(
            unsafe { w.take_slot() }.expect("failed sender keeps its value"),
        )),
        Status::Waiting => return None,
    };
    *registered = false;
    // SAFETY: final and unqueued: ours.
    unsafe { w.reset() };
    Some(out)
}
