//! The channel core: Go's `hchan` (runtime/chan.go), behind one lock.
//!
//! Invariants (checked by `State::debug_check` each time a lock is released, in
//! builds with debug assertions):
//! * At least one of `sendq` and `recvq` is empty, except for *stale* select
//!   waiters (whose select already fired elsewhere) that no peer has unlinked yet,
//!   and for one select waiting with a send and a receive case on this channel.
//! * `buf.len() > 0` implies `recvq` holds no live waiter.
//! * `buf.len() < cap` implies `sendq` holds no live waiter.
//! * `buf.len()` may exceed `cap` (even for `cap == 0`) only through *re-delivery*:
//!   a receive future dropped after a value was handed to it pushes the value back
//!   to the front of `buf` when no other receiver is waiting. Senders then stay
//!   parked until the overflow drains, so the channel never loses or reorders it.
//! * `rx_gone` implies `sendq` is empty and `buf` is empty.
//! * `closed` implies `sendq` is empty: closing fails every parked sender.
//!
//! Hand-off contract: every operation below runs under the lock (it takes
//! `&mut State`), moves values between the buffer and waiters, and returns the
//! wakers to call; the caller calls them after dropping the guard. No user code
//! (`Drop` of `T`, wakers) ever runs under the lock.
//!
//! Rendezvous (cap 0) and cancellation: a send to a parked receiver completes when
//! the value is in the receiver's waiter. If that receiver's future is then dropped
//! without returning the value, [`State::redeliver`] gives the value to the next
//! live receiver, or puts it at the front of `buf`, so the next `recv` gets it
//! first. Nothing is lost, nothing is delivered twice, and per-sender FIFO order is
//! kept: the re-delivered value is older than anything behind it.

use std::collections::VecDeque;
use std::task::Waker;

use crate::loom::{self, AtomicUsize, Mutex, MutexGuard};
use crate::timer_hook::TimerHook;
use crate::waiter::{Claimed, Status, WaitQueue, Waiter};

/// The shared channel object behind every `Sender` and `Receiver`.
pub(crate) struct Chan<T> {
    state: Mutex<State<T>>,
    cap: usize,
    /// Live `Sender`s; the last one to go closes the channel.
    pub(crate) senders: AtomicUsize,
    /// Live `Receiver`s; the last one to go fails every send.
    pub(crate) receivers: AtomicUsize,
    /// The timer that owns the send side (Go 1.23's `hchan.timer`; `timer_hook.rs`).
    timer: Option<std::sync::Arc<dyn TimerHook>>,
}

/// The locked part of the channel.
pub(crate) struct State<T> {
    /// The ring buffer, grown on demand up to `cap` (doubling, so a steady state
    /// allocates nothing): a large bound costs nothing until it is used.
    pub(crate) buf: VecDeque<T>,
    /// `close()` was called or the last sender dropped.
    pub(crate) closed: bool,
    /// Every receiver is gone.
    pub(crate) rx_gone: bool,
    /// Parked senders, each holding its value.
    pub(crate) sendq: WaitQueue<T>,
    /// Parked receivers.
    pub(crate) recvq: WaitQueue<T>,
}

/// Result of [`State::try_send`].
pub(crate) enum TrySend<T> {
    /// Delivered (to a receiver or the buffer); wake this after unlocking.
    Sent(Option<Waker>),
    /// No room and no receiver.
    Full(T),
    /// Closed or no receivers.
    Closed(T),
}

/// Result of [`State::try_recv`].
pub(crate) enum TryRecv<T> {
    /// A value; wake this (the sender whose value refilled the buffer) after unlocking.
    Got(T, Option<Waker>),
    /// Nothing now.
    Empty,
    /// Closed and drained.
    Closed,
}

/// What a select case would do right now (see `select.rs`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Readiness {
    /// Completes against the buffer or the closed state: no peer to claim.
    Local,
    /// Completes against a live parked peer, who must be claimed.
    Peer,
    /// Would block.
    NotReady,
}

/// The largest capacity a channel of `T` may have: its buffer, full, must be an
/// allocation Rust can make (at most `isize::MAX` bytes). Zero-sized values: any.
fn max_cap<T>() -> usize {
    match std::mem::size_of::<T>() {
        0 => usize::MAX,
        size => isize::MAX as usize / size,
    }
}

/// Go's `makechan: size out of range`, with the limit said.
fn check_cap<T>(cap: usize) {
    let max = max_cap::<T>();
    assert!(
        cap <= max,
        "gorun: chan capacity {cap} is out of range: a channel of {} ({} bytes each) holds at \
         most {max} values (capacity times value size must fit in isize::MAX bytes)",
        std::any::type_name::<T>(),
        std::mem::size_of::<T>(),
    );
}

impl<T> Chan<T> {
    pub(crate) fn new(cap: usize) -> Self {
        check_cap::<T>(cap);
        Chan {
            state: loom::new_lock(State {
                buf: VecDeque::new(),
                closed: false,
                rx_gone: false,
                sendq: WaitQueue::new(),
                recvq: WaitQueue::new(),
            }),
            cap,
            senders: AtomicUsize::new(1),
            receivers: AtomicUsize::new(1),
            timer: None,
        }
    }

    /// A channel whose send side belongs to `timer`; the `senders` count stays at
    /// one, so it closes only when the timer closes it.
    #[cfg(not(loom))]
    pub(crate) fn with_timer(cap: usize, timer: std::sync::Arc<dyn TimerHook>) -> Self {
        Chan {
            timer: Some(timer),
            ..Chan::new(cap)
        }
    }

    /// Tells the channel's timer, if any, that a receive is about to look.
    /// Call without the lock.
    #[inline]
    pub(crate) fn before_recv(&self) {
        if let Some(t) = &self.timer {
            t.before_recv();
        }
    }

    /// Tells the channel's timer, if any, that a receiver parked. Call without the
    /// lock, after parking.
    #[inline]
    pub(crate) fn after_park_recv(&self) {
        if let Some(t) = &self.timer {
            t.parked();
        }
    }

    #[inline]
    pub(crate) fn cap(&self) -> usize {
        self.cap
    }

    /// Locks the state. With debug assertions, releasing the guard checks the
    /// header's invariants ([`State::debug_check`]).
    #[inline]
    pub(crate) fn lock(&self) -> Locked<'_, T> {
        Locked {
            guard: loom::lock(&self.state),
            #[cfg(debug_assertions)]
            cap: self.cap,
        }
    }

    /// Closes the channel; returns whether this call closed it.
    pub(crate) fn close(&self) -> bool {
        let mut wakers = Vec::new();
        {
            let mut st = self.lock();
            if st.closed {
                return false;
            }
            st.closed = true;
            // Receivers only wait on an empty buffer: they get `None`.
            st.fail_all_recv(&mut wakers);
            st.fail_all_send(&mut wakers);
        }
        wakers.into_iter().for_each(Waker::wake);
        true
    }

    /// The last receiver is gone: fail parked senders, drop buffered values.
    pub(crate) fn receivers_gone(&self) {
        let mut wakers = Vec::new();
        let drained = {
            let mut st = self.lock();
            st.rx_gone = true;
            st.fail_all_send(&mut wakers);
            std::mem::take(&mut st.buf)
        };
        wakers.into_iter().for_each(Waker::wake);
        drop(drained);
        if let Some(t) = &self.timer {
            t.receivers_gone();
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.lock().buf.len()
    }

    pub(crate) fn is_closed(&self) -> bool {
        let st = self.lock();
        st.closed || st.rx_gone
    }
}

impl<T> State<T> {
    /// Go's `chansend` without the parking: hand to a parked receiver, else buffer.
    pub(crate) fn try_send(&mut self, cap: usize, value: T) -> TrySend<T> {
        if self.closed || self.rx_gone {
            return TrySend::Closed(value);
        }
        if let Some(r) = self.recvq.claim_front() {
            return TrySend::Sent(r.complete(Some(value), Status::Done));
        }
        if self.buf.len() < cap {
            self.buf.push_back(value);
            return TrySend::Sent(None);
        }
        TrySend::Full(value)
    }

    /// Go's `chanrecv` without the parking: take the buffer head (and refill from a
    /// parked sender), else take from a parked sender directly.
    pub(crate) fn try_recv(&mut self, cap: usize) -> TryRecv<T> {
        if let Some(v) = self.buf.pop_front() {
            let mut waker = None;
            if self.buf.len() < cap {
                if let Some((sv, w)) = self.claim_sender() {
                    self.buf.push_back(sv);
                    waker = w;
                }
            }
            return TryRecv::Got(v, waker);
        }
        if let Some((v, w)) = self.claim_sender() {
            return TryRecv::Got(v, w);
        }
        if self.closed {
            TryRecv::Closed
        } else {
            TryRecv::Empty
        }
    }

    /// Takes the value of the first parked sender that can be claimed.
    fn claim_sender(&mut self) -> Option<(T, Option<Waker>)> {
        self.sendq.claim_front().map(Claimed::take_and_complete)
    }

    /// Gives a value that a dropped receiver never returned to the next live
    /// receiver, or to the front of the buffer (even past `cap`).
    pub(crate) fn redeliver(&mut self, value: T) -> Option<Waker> {
        if let Some(r) = self.recvq.claim_front() {
            return r.complete(Some(value), Status::Done);
        }
        self.buf.push_front(value);
        None
    }

    /// Whether a receive would complete now, for a select whose own waiters carry
    /// `own` (they are skipped: a select never meets itself). Unlinks stale
    /// senders found at the front.
    pub(crate) fn recv_readiness(&mut self, own: *const AtomicUsize) -> Readiness {
        if !self.buf.is_empty() {
            return Readiness::Local;
        }
        if self.has_live_peer(true, own) {
            return Readiness::Peer;
        }
        if self.closed {
            Readiness::Local
        } else {
            Readiness::NotReady
        }
    }

    /// Whether a send would complete now (see [`recv_readiness`](Self::recv_readiness)).
    pub(crate) fn send_readiness(&mut self, cap: usize, own: *const AtomicUsize) -> Readiness {
        if self.closed || self.rx_gone {
            return Readiness::Local;
        }
        if self.has_live_peer(false, own) {
            return Readiness::Peer;
        }
        if self.buf.len() < cap {
            Readiness::Local
        } else {
            Readiness::NotReady
        }
    }

    /// Whether a live receiver is parked (unlinking stale ones met on the way): no
    /// select is "own" here, so plain receivers count.
    #[cfg(not(loom))]
    pub(crate) fn has_parked_receiver(&mut self) -> bool {
        self.has_live_peer(false, std::ptr::null())
    }

    fn has_live_peer(&mut self, senders: bool, own: *const AtomicUsize) -> bool {
        let q = if senders {
            &mut self.sendq
        } else {
            &mut self.recvq
        };
        let mut cur = q.front();
        while let Some(w) = cur {
            // SAFETY: queued here, so valid; lock held.
            let w = unsafe { w.as_ref() };
            // SAFETY: `w` is queued in `q`.
            cur = unsafe { q.next(w) };
            // SAFETY: lock held.
            if !own.is_null() && unsafe { w.select_flag() } == own {
                continue;
            }
            // SAFETY: lock held.
            if unsafe { w.is_live() } {
                return true;
            }
            // Stale: its select fired elsewhere or is withdrawing; unlink it.
            // SAFETY: `w` is queued in `q`.
            unsafe { q.remove(w) };
        }
        false
    }

    fn fail_all_recv(&mut self, wakers: &mut Vec<Waker>) {
        while let Some(r) = self.recvq.claim_front() {
            wakers.extend(r.complete(None, Status::Closed));
        }
    }

    fn fail_all_send(&mut self, wakers: &mut Vec<Waker>) {
        // The values stay in the senders' slots, for their errors.
        while let Some(s) = self.sendq.claim_front() {
            wakers.extend(s.complete(None, Status::Closed));
        }
    }

    /// Parks a receive's waiter on `recvq`.
    ///
    /// # Safety
    /// `w` is pinned, unqueued, and will be unlinked before it is freed.
    pub(crate) unsafe fn park_receiver(&mut self, w: &Waiter<T>) {
        // SAFETY: caller's contract; lock held via `&mut self`.
        unsafe { self.recvq.push_back(w) };
    }

    /// Parks a send's waiter (its value in the slot) on `sendq`.
    ///
    /// # Safety
    /// As for [`State::park_receiver`].
    pub(crate) unsafe fn park_sender(&mut self, w: &Waiter<T>) {
        // SAFETY: caller's contract; lock held via `&mut self`.
        unsafe { self.sendq.push_back(w) };
    }

    /// Checks the header's invariants; called as the lock is released, in builds
    /// with debug assertions. A scan stops at the first live waiter, so it costs
    /// the stale waiters in front of it (both queues are scanned whole only when
    /// both hold a live waiter, which only one select's own cases may).
    #[cfg(debug_assertions)]
    fn debug_check(&self, cap: usize) {
        let live_send = live_flags(&self.sendq).next();
        let live_recv = live_flags(&self.recvq).next();
        if let (Some(flag), Some(_)) = (live_send, live_recv) {
            // Only a select with a send and a receive case on this channel may be
            // waiting on both sides: both waiters share its flag.
            assert!(
                !flag.is_null()
                    && live_flags(&self.sendq).all(|f| f == flag)
                    && live_flags(&self.recvq).all(|f| f == flag),
                "channel: live waiters on both queues that are not one select's"
            );
        }
        assert!(
            self.buf.is_empty() || live_recv.is_none(),
            "channel: values buffered while a receiver waits"
        );
        assert!(
            self.buf.len() >= cap || live_send.is_none(),
            "channel: room in the buffer while a sender waits"
        );
        assert!(
            !self.rx_gone || (self.sendq.is_empty() && self.buf.is_empty()),
            "channel: senders parked or values buffered with every receiver gone"
        );
        assert!(
            !self.closed || self.sendq.is_empty(),
            "channel: senders parked on a closed channel"
        );
    }
}

/// The select flags (null for a plain operation) of `q`'s live waiters, front first.
#[cfg(debug_assertions)]
fn live_flags<T>(q: &WaitQueue<T>) -> impl Iterator<Item = *const AtomicUsize> + '_ {
    let mut cur = q.front();
    std::iter::from_fn(move || {
        while let Some(w) = cur {
            // SAFETY: `w` is queued in `q`, whose lock the caller holds (`&State`),
            // so it is valid and its fields are ours to read (waiter.rs rules 1, 2).
            let w = unsafe { w.as_ref() };
            // SAFETY: as above.
            cur = unsafe { q.next(w) };
            // SAFETY: as above.
            if unsafe { w.is_live() } {
                // SAFETY: as above.
                return Some(unsafe { w.select_flag() });
            }
        }
        None
    })
}

/// A held channel lock. With debug assertions, releasing it checks the channel's
/// invariants (the check runs under the lock, before the guard unlocks).
pub(crate) struct Locked<'a, T> {
    guard: MutexGuard<'a, State<T>>,
    #[cfg(debug_assertions)]
    cap: usize,
}

impl<T> std::ops::Deref for Locked<'_, T> {
    type Target = State<T>;
    #[inline]
    fn deref(&self) -> &State<T> {
        &self.guard
    }
}

impl<T> std::ops::DerefMut for Locked<'_, T> {
    #[inline]
    fn deref_mut(&mut self) -> &mut State<T> {
        &mut self.guard
    }
}

#[cfg(debug_assertions)]
impl<T> Drop for Locked<'_, T> {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            self.guard.debug_check(self.cap);
        }
    }
}
