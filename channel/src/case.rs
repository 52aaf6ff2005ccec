//! The select cases: [`RecvCase`], [`SendCase`] and [`FutureCase`] (any future,
//! non-atomic). A case built from `None` is disabled (Go's nil channel, or a
//! `select!` guard that is false): it never fires.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use crate::chan::{Chan, Locked, Readiness, State, TryRecv, TrySend};
use crate::error::SendError;
use crate::handle::{Receiver, Sender};
use crate::loom::{AtomicUsize, Ordering};
use crate::select::{CaseKind, Register, SelectCase, TakeOutput};
use crate::waiter::{wake, LazyWaiter, Status, SEL_WAITING};

/// Wins the select's own flag for `token`.
///
/// # Safety
/// `flag` is valid (the `SelectCase::register` contract).
unsafe fn claim_own(flag: *const AtomicUsize, token: usize) -> bool {
    // SAFETY: caller's contract.
    unsafe { &*flag }
        .compare_exchange(SEL_WAITING, token, Ordering::AcqRel, Ordering::Acquire)
        .is_ok()
}

/// The guard of a case's channel during the atomic pass of a select with `default`
/// (`select::try_all_locked`): taken and released within one poll, on one thread,
/// so never held across an await or moved to another thread with the future.
struct Held<'a, T>(Option<Locked<'a, T>>);

// SAFETY: the guard is `Some` only inside one call of `try_all_locked`, which
// releases it before returning; a select future sent to another thread carries
// `None`.
unsafe impl<T: Send> Send for Held<'_, T> {}
// SAFETY: as above; `&Held` gives no access to the guard.
unsafe impl<T: Send> Sync for Held<'_, T> {}

impl<'a, T> Held<'a, T> {
    /// Locks `chan`, keeps the guard, and returns the state (type-erased).
    fn lock(&mut self, chan: Option<&'a Chan<T>>) -> *mut () {
        let Some(chan) = chan else {
            return std::ptr::null_mut();
        };
        let guard = self.0.insert(chan.lock());
        std::ptr::from_mut::<State<T>>(&mut **guard).cast()
    }
}

/// The atomic pass's [`SelectCase`] methods, the same for both channel cases.
macro_rules! locked_pass_methods {
    () => {
        fn kind(&self) -> CaseKind {
            match self.chan {
                Some(chan) => CaseKind::Chan(std::ptr::from_ref(chan) as usize),
                None => CaseKind::Disabled,
            }
        }

        fn lock(self: Pin<&mut Self>) -> *mut () {
            let this = self.project();
            this.held.lock(this.chan)
        }

        unsafe fn try_fire_locked(self: Pin<&mut Self>, state: *mut ()) -> (bool, Option<Waker>) {
            let this = self.project();
            let Some(chan) = this.chan else {
                return (false, None);
            };
            // SAFETY: the caller's contract: `state` is this channel's locked state,
            // so a `State<T>` with this `T`, and its guard is held.
            let st = unsafe { &mut *state.cast::<State<T>>() };
            this.fire(st, chan.cap())
        }

        fn unlock(self: Pin<&mut Self>) {
            self.project().held.0 = None;
        }
    };
}

/// A receive case. Output: `Option<T>` (`None`: closed and drained).
pub struct RecvCase<'a, T> {
    chan: Option<&'a Chan<T>>,
    waiter: LazyWaiter<T>,
    registered: bool,
    out: Option<Option<T>>,
    held: Held<'a, T>,
}

impl<'a, T> RecvCase<'a, T> {
    /// A receive from `rx`; `None` disables the case.
    pub fn new(rx: Option<&'a Receiver<T>>) -> Self {
        RecvCase {
            chan: rx.map(Receiver::chan),
            waiter: LazyWaiter::new(),
            registered: false,
            out: None,
            held: Held(None),
        }
    }

    fn project(self: Pin<&mut Self>) -> &mut Self {
        // SAFETY: `waiter` is never moved out; the other fields are not pinned.
        unsafe { self.get_unchecked_mut() }
    }

    /// Disables a case no select has parked (a [`DynSelect`](crate::DynSelect) case
    /// the user turned off, Go's nil channel in `reflect.Select`).
    pub(crate) fn disable(self: Pin<&mut Self>) {
        let this = self.project();
        debug_assert!(!this.registered && this.out.is_none());
        this.chan = None;
    }

    fn fire(&mut self, st: &mut State<T>, cap: usize) -> (bool, Option<Waker>) {
        match st.try_recv(cap) {
            TryRecv::Got(v, w) => {
                self.out = Some(Some(v));
                (true, w)
            }
            TryRecv::Closed => {
                self.out = Some(None);
                (true, None)
            }
            TryRecv::Empty => (false, None),
        }
    }

    /// `unregister` of a registered case: kept out of line, so that dropping the
    /// usual case (never registered, or already withdrawn) is a flag test.
    #[inline(never)]
    fn withdraw(&mut self, chan: &Chan<T>) {
        let waiter = self.waiter.get();
        let mut st = chan.lock();
        // SAFETY: lock held.
        if unsafe { waiter.is_queued() } {
            // SAFETY: queued on this channel's recvq.
            unsafe { st.recvq.remove(waiter) };
        }
        drop(st);
        // Under the lock we saw the final status if a peer completed us; a
        // waiter unlinked as stale is still `Waiting` and holds nothing.
        match waiter.status() {
            // SAFETY: final: ours.
            Status::Done => self.out = Some(unsafe { waiter.take_slot() }),
            Status::Closed => self.out = Some(None),
            Status::Waiting => {}
        }
        self.registered = false;
        // SAFETY: unqueued and final or stale: ours.
        unsafe { waiter.reset() };
    }

    /// Drop of a case still registered or holding a value nobody took.
    #[cold]
    #[inline(never)]
    fn drop_slow(&mut self, chan: &Chan<T>) {
        if self.registered {
            // Pinned: we are being dropped, so `self` stays put until the end.
            self.withdraw(chan);
        }
        // A value received by this case but never returned goes back.
        if let Some(Some(v)) = self.out.take() {
            let w = chan.lock().redeliver(v);
            wake(w);
        }
    }
}

impl<T> SelectCase for RecvCase<'_, T> {
    locked_pass_methods!();

    fn before_lock(self: Pin<&mut Self>) {
        if let Some(chan) = self.chan {
            chan.before_recv();
        }
    }

    fn try_fire(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> bool {
        let this = self.project();
        let Some(chan) = this.chan else { return false };
        chan.before_recv();
        let mut st = chan.lock();
        let (fired, w) = this.fire(&mut st, chan.cap());
        drop(st);
        wake(w);
        fired
    }

    unsafe fn register(
        self: Pin<&mut Self>,
        flag: *const AtomicUsize,
        token: usize,
        cx: &mut Context<'_>,
    ) -> Register {
        let this = self.project();
        let Some(chan) = this.chan else {
            return Register::Parked;
        };
        // No `before_recv` here: the try pass just called it, and a timer that
        // became due since fires into the waiter parked below (`after_park_recv`).
        let mut st = chan.lock();
        match st.recv_readiness(flag) {
            Readiness::Peer => Register::Retry,
            Readiness::Local => {
                // SAFETY: the register contract.
                if !unsafe { claim_own(flag, token) } {
                    return Register::Lost;
                }
                let (fired, w) = this.fire(&mut st, chan.cap());
                debug_assert!(fired);
                drop(st);
                wake(w);
                Register::Fired
            }
            Readiness::NotReady => {
                // SAFETY: lock held; the waiter is pinned and is withdrawn by
                // `unregister` (or our Drop) while `flag` is still valid.
                unsafe {
                    let waiter = this.waiter.get_or_init();
                    waiter.set_select(flag, token);
                    waiter.set_waker(cx.waker());
                    st.park_receiver(waiter);
                }
                this.registered = true;
                drop(st);
                chan.after_park_recv();
                Register::Parked
            }
        }
    }

    fn refresh(self: Pin<&mut Self>, waker: &Waker) -> bool {
        let this = self.project();
        refresh_parked(this.registered, this.chan, &this.waiter, waker);
        false
    }

    #[inline]
    fn unregister(self: Pin<&mut Self>) {
        let this = self.project();
        if let (true, Some(chan)) = (this.registered, this.chan) {
            this.withdraw(chan);
        }
    }
}

impl<T> TakeOutput for RecvCase<'_, T> {
    type Output = Option<T>;

    fn take_output(self: Pin<&mut Self>) -> Option<T> {
        self.project()
            .out
            .take()
            .expect("take_output on a recv case that did not fire")
    }
}

impl<T> Drop for RecvCase<'_, T> {
    #[inline]
    fn drop(&mut self) {
        if let Some(chan) = self.chan {
            if self.registered || matches!(self.out, Some(Some(_))) {
                self.drop_slow(chan);
            }
        }
    }
}

/// A send case. Output: `Result<(), SendError<T>>`; a case that did not fire
/// keeps its value ([`take_unsent`](SendCase::take_unsent)).
pub struct SendCase<'a, T> {
    chan: Option<&'a Chan<T>>,
    value: Option<T>,
    waiter: LazyWaiter<T>,
    registered: bool,
    out: Option<Result<(), SendError<T>>>,
    held: Held<'a, T>,
}

impl<'a, T> SendCase<'a, T> {
    /// A send of `value` on `tx`; `None` disables the case (the value is kept).
    pub fn new(tx: Option<&'a Sender<T>>, value: T) -> Self {
        SendCase {
            chan: tx.map(Sender::chan),
            value: Some(value),
            waiter: LazyWaiter::new(),
            registered: false,
            out: None,
            held: Held(None),
        }
    }

    fn project(self: Pin<&mut Self>) -> &mut Self {
        // SAFETY: `waiter` is never moved out; the other fields are not pinned.
        unsafe { self.get_unchecked_mut() }
    }

    /// The value, if this case did not send it.
    pub fn take_unsent(self: Pin<&mut Self>) -> Option<T> {
        self.project().value.take()
    }

    /// Disables a case that fired or gave its value back, so that a select over it
    /// again (a [`DynSelect`](crate::DynSelect)) skips it.
    pub(crate) fn disable(self: Pin<&mut Self>) {
        let this = self.project();
        debug_assert!(!this.registered && this.value.is_none());
        this.chan = None;
    }

    fn fire(&mut self, st: &mut State<T>, cap: usize) -> (bool, Option<Waker>) {
        let v = self.value.take().expect("send case value present");
        match st.try_send(cap, v) {
            TrySend::Sent(w) => {
                self.out = Some(Ok(()));
                (true, w)
            }
            TrySend::Closed(v) => {
                self.out = Some(Err(SendError(v)));
                (true, None)
            }
            TrySend::Full(v) => {
                self.value = Some(v);
                (false, None)
            }
        }
    }

    /// `unregister` of a registered case, out of line (see `RecvCase::withdraw`).
    #[inline(never)]
    fn withdraw(&mut self, chan: &Chan<T>) {
        let waiter = self.waiter.get();
        let mut st = chan.lock();
        // SAFETY: lock held.
        if unsafe { waiter.is_queued() } {
            // SAFETY: queued on this channel's sendq.
            unsafe { st.sendq.remove(waiter) };
        }
        // SAFETY: lock held (and the waiter is unqueued now).
        let slot = unsafe { waiter.take_slot() };
        drop(st);
        match waiter.status() {
            Status::Done => self.out = Some(Ok(())),
            Status::Closed => {
                self.out = Some(Err(SendError(slot.expect("failed sender keeps its value"))))
            }
            Status::Waiting => self.value = slot,
        }
        self.registered = false;
        // SAFETY: unqueued: ours.
        unsafe { waiter.reset() };
    }
}

impl<T> SelectCase for SendCase<'_, T> {
    locked_pass_methods!();

    fn try_fire(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> bool {
        let this = self.project();
        let Some(chan) = this.chan else { return false };
        let mut st = chan.lock();
        let (fired, w) = this.fire(&mut st, chan.cap());
        drop(st);
        wake(w);
        fired
    }

    unsafe fn register(
        self: Pin<&mut Self>,
        flag: *const AtomicUsize,
        token: usize,
        cx: &mut Context<'_>,
    ) -> Register {
        let this = self.project();
        let Some(chan) = this.chan else {
            return Register::Parked;
        };
        let mut st = chan.lock();
        match st.send_readiness(chan.cap(), flag) {
            Readiness::Peer => Register::Retry,
            Readiness::Local => {
                // SAFETY: the register contract.
                if !unsafe { claim_own(flag, token) } {
                    return Register::Lost;
                }
                let (fired, w) = this.fire(&mut st, chan.cap());
                debug_assert!(fired);
                drop(st);
                wake(w);
                Register::Fired
            }
            Readiness::NotReady => {
                let v = this.value.take().expect("send case value present");
                // SAFETY: lock held; pinned; withdrawn while `flag` is valid.
                unsafe {
                    let waiter = this.waiter.get_or_init();
                    waiter.put_slot(v);
                    waiter.set_select(flag, token);
                    waiter.set_waker(cx.waker());
                    st.park_sender(waiter);
                }
                this.registered = true;
                Register::Parked
            }
        }
    }

    fn refresh(self: Pin<&mut Self>, waker: &Waker) -> bool {
        let this = self.project();
        refresh_parked(this.registered, this.chan, &this.waiter, waker);
        false
    }

    #[inline]
    fn unregister(self: Pin<&mut Self>) {
        let this = self.project();
        if let (true, Some(chan)) = (this.registered, this.chan) {
            this.withdraw(chan);
        }
    }
}

impl<T> TakeOutput for SendCase<'_, T> {
    type Output = Result<(), SendError<T>>;

    fn take_output(self: Pin<&mut Self>) -> Result<(), SendError<T>> {
        self.project()
            .out
            .take()
            .expect("take_output on a send case that did not fire")
    }
}

impl<T> Drop for SendCase<'_, T> {
    #[inline]
    fn drop(&mut self) {
        if let (true, Some(chan)) = (self.registered, self.chan) {
            // We are being dropped, so `self` (and its waiter) stays put until the end.
            self.withdraw(chan);
        }
    }
}

/// Any future as a select case. Not atomic: if it completes in the same poll as
/// a channel case that is chosen instead, its output is dropped.
pub struct FutureCase<F: Future> {
    fut: Option<F>,
    out: Option<F::Output>,
}

impl<F: Future> FutureCase<F> {
    /// A case resolving when `fut` does; `None` disables it.
    pub fn new(fut: Option<F>) -> Self {
        FutureCase { fut, out: None }
    }

    fn poll_fut(self: Pin<&mut Self>, cx: &mut Context<'_>) -> bool {
        // SAFETY: `fut` is structurally pinned: never moved while `Some`, only
        // dropped in place (`set(None)` semantics below).
        let this = unsafe { self.get_unchecked_mut() };
        if this.out.is_some() {
            return true;
        }
        let Some(fut) = this.fut.as_mut() else {
            return false;
        };
        // SAFETY: see above.
        match unsafe { Pin::new_unchecked(fut) }.poll(cx) {
            Poll::Ready(v) => {
                this.out = Some(v);
                // Drop the finished future in place.
                this.fut = None;
                true
            }
            Poll::Pending => false,
        }
    }
}

/// Gives a parked channel case's waiter the select's current waker, if the case is
/// registered and its waiter still queued (shared by `RecvCase` and `SendCase`).
fn refresh_parked<T>(
    registered: bool,
    chan: Option<&Chan<T>>,
    waiter: &LazyWaiter<T>,
    waker: &Waker,
) {
    if let (true, Some(chan)) = (registered, chan) {
        let waiter = waiter.get();
        let _st = chan.lock();
        // SAFETY: lock held (the waiter's rule 1).
        if unsafe { waiter.is_queued() } {
            // SAFETY: lock held.
            unsafe { waiter.set_waker(waker) };
        }
    }
}

impl<F: Future> SelectCase for FutureCase<F> {
    fn kind(&self) -> CaseKind {
        if self.fut.is_some() || self.out.is_some() {
            CaseKind::Future
        } else {
            CaseKind::Disabled
        }
    }

    fn try_fire(self: Pin<&mut Self>, cx: &mut Context<'_>) -> bool {
        self.poll_fut(cx)
    }

    unsafe fn register(
        self: Pin<&mut Self>,
        _flag: *const AtomicUsize,
        _token: usize,
        _cx: &mut Context<'_>,
    ) -> Register {
        // Never poll the future while channel cases are parked: if it completed in
        // the same instant a peer won a channel case, its output (say, a message a
        // nested select took) would be dropped. The try pass just polled it with
        // the same waker, so it will wake us.
        Register::Parked
    }

    fn refresh(self: Pin<&mut Self>, _waker: &Waker) -> bool {
        // Woken while parked: report "maybe ready" without polling, so the select
        // withdraws its channel cases first and polls the future in its next try
        // pass, where nothing of it is queued and no peer can win meanwhile.
        self.fut.is_some()
    }

    fn unregister(self: Pin<&mut Self>) {}
}

impl<F: Future> TakeOutput for FutureCase<F> {
    type Output = F::Output;

    fn take_output(self: Pin<&mut Self>) -> F::Output {
        // SAFETY: `out` is not pinned.
        unsafe { self.get_unchecked_mut() }
            .out
            .take()
            .expect("take_output on a future case that did not fire")
    }
}
