//! Timer channels: a channel whose send side belongs to a timer, which the channel
//! tells when a receiver looks, parks, or is gone for good (Go 1.23's `hchan.timer`).
//!
//! Go 1.23 made a timer's channel lazy: a timer nobody waits on is in no heap, a
//! receive that finds it expired delivers its value on the spot (`maybeRunChan`), and
//! a timer whose channel is unreachable is collected at once. gorun-timer does the
//! same through this hook: `after(d)` in a `select!` that another case wins costs an
//! allocation and a clock read, never a wheel entry, and dropping its receiver frees
//! it.
//!
//! # Contract
//! * [`TimerHook::before_recv`] is called before a receive looks at the channel (a
//!   `try_recv`, the first poll of a `recv`, a `select!` case's try pass), without the
//!   channel lock: the timer delivers a due value then. (A case's register pass does
//!   not: a value due since the try pass is delivered to the receiver it parks.)
//! * [`TimerHook::parked`] is called after a receiver parked on the channel, without
//!   the channel lock: the timer makes sure it will fire (arms its wheel entry).
//! * [`TimerHook::receivers_gone`] is called when the last `Receiver` is dropped,
//!   before the channel is freed: the timer stops for good.
//! * The hook delivers through a [`TimerSender`], which holds the channel weakly (the
//!   channel owns the hook), with its own locks released: the lock order is hook,
//!   then channel, and the channel never calls the hook under its lock.

#[cfg(not(loom))]
use std::sync::{Arc, Weak};
#[cfg(not(loom))]
use std::task::Waker;

#[cfg(not(loom))]
use crate::chan::{Chan, TrySend};
#[cfg(not(loom))]
use crate::error::TrySendError;
#[cfg(not(loom))]
use crate::handle::Receiver;

/// What a timer that owns a channel's send side is told; see the module docs.
pub trait TimerHook: Send + Sync + 'static {
    /// A receive is about to look at the channel: deliver the value now if it is due.
    fn before_recv(&self);
    /// A receiver parked on the channel: make sure the value comes when it is due.
    fn parked(&self);
    /// The last receiver is gone: stop, nothing can receive any more.
    fn receivers_gone(&self);
}

/// The send side of a timer's channel, as its timer holds it: weakly, since the
/// channel owns the timer. Every call is a no-op once the channel is gone.
#[cfg(not(loom))]
pub struct TimerSender<T> {
    chan: Weak<Chan<T>>,
}

#[cfg(not(loom))]
impl<T> TimerSender<T> {
    /// Sends `value` without waiting. On success returns the waker of the receiver it
    /// went to, for the caller to wake once it has released its own locks.
    pub fn try_send(&self, value: T) -> Result<Option<Waker>, TrySendError<T>> {
        let Some(chan) = self.chan.upgrade() else {
            return Err(TrySendError::Closed(value));
        };
        let mut st = chan.lock();
        match st.try_send(chan.cap(), value) {
            TrySend::Sent(w) => Ok(w),
            TrySend::Full(v) => Err(TrySendError::Full(v)),
            TrySend::Closed(v) => Err(TrySendError::Closed(v)),
        }
    }

    /// Empties the buffer without telling the hook; returns whether it held a value.
    /// The values are dropped after the channel lock is released.
    pub fn drain(&self) -> bool {
        let Some(chan) = self.chan.upgrade() else {
            return false;
        };
        let drained: Vec<T> = chan.lock().buf.drain(..).collect();
        !drained.is_empty()
    }

    /// Closes the channel: receivers get what is buffered, then `None`.
    pub fn close(&self) {
        if let Some(chan) = self.chan.upgrade() {
            chan.close();
        }
    }

    /// Whether a receiver is parked on the channel now (and would take a value sent
    /// now).
    pub fn has_parked_receivers(&self) -> bool {
        self.chan
            .upgrade()
            .is_some_and(|chan| chan.lock().has_parked_receiver())
    }
}

/// Makes a channel of capacity `cap` whose send side belongs to the timer `make`
/// builds from its [`TimerSender`]. There is no `Sender`: the channel closes only
/// through [`TimerSender::close`].
#[cfg(not(loom))]
pub fn timer_chan<T>(
    cap: usize,
    make: impl FnOnce(TimerSender<T>) -> Arc<dyn TimerHook>,
) -> Receiver<T> {
    let chan = Arc::new_cyclic(|weak| {
        let hook = make(TimerSender { chan: weak.clone() });
        Chan::with_timer(cap, hook)
    });
    Receiver { chan, stream: None }
}
