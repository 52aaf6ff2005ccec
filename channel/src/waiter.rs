//! Waiter nodes and the intrusive FIFO wait queues (`sendq`, `recvq`) they form:
//! Go's `sudog` and `waitq`.
//!
//! A waiter lives inside a pinned future (send, recv, a select case, the stream or
//! sink state of a handle), so parking an operation allocates nothing.
//!
//! Ground rules:
//! 1. Every field of [`Waiter::inner`] is read or written only while holding the
//!    lock of the channel the waiter is (or last was) queued on, or by the owner
//!    while the waiter is not queued and not reachable by any peer.
//! 2. A queued waiter is valid memory: its owner is pinned and, before it is freed
//!    or moved, takes the channel lock and unlinks it ([`WaitQueue::remove`]).
//! 3. A peer completes a waiter in one critical section: unlink and claim it
//!    ([`WaitQueue::claim_front`]), write the slot, take the waker, and finally
//!    store `status` with `Release` ([`Claimed::complete`]). After that store the
//!    peer never touches the waiter again, so the owner, having read a status other
//!    than [`Status::Waiting`] with `Acquire`, owns the waiter without taking the
//!    lock.
//! 4. A waiter of a select case points to the select's shared flag (Go's
//!    `selectDone`): a peer may complete it only after winning the flag with one
//!    CAS from 0 to the case's token. A waiter whose flag is already taken is
//!    stale; the peer that finds it unlinks it and moves on.
//! 5. Wakers are called after the channel lock is released.

use std::cell::UnsafeCell;
use std::marker::{PhantomData, PhantomPinned};
use std::ptr::{self, NonNull};
use std::task::Waker;

use crate::loom::{AtomicU8, AtomicUsize, Ordering};

/// Where a waiter's operation stands (rule 3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Status {
    /// The operation is pending (queued or not yet queued).
    Waiting = 0,
    /// A peer completed the operation: a receiver's slot holds its value, a
    /// sender's value was taken. Final.
    Done = 1,
    /// The channel closed (or lost its receivers) under the waiter; a sender's value
    /// is still in its slot, to be handed back. Final.
    Closed = 2,
}

impl Status {
    #[inline]
    fn from_bits(bits: u8) -> Status {
        match bits {
            0 => Status::Waiting,
            1 => Status::Done,
            _ => {
                debug_assert_eq!(bits, 2, "not a waiter status");
                Status::Closed
            }
        }
    }
}

/// Value of a select flag while no case has fired.
pub(crate) const SEL_WAITING: usize = 0;
/// Value of a select flag while its owner withdraws its cases.
pub(crate) const SEL_ABORTED: usize = usize::MAX;

/// One parked operation (Go's `sudog`).
pub(crate) struct Waiter<T> {
    /// A [`Status`]; see rule 3.
    status: AtomicU8,
    inner: UnsafeCell<Inner<T>>,
    _pin: PhantomPinned,
}

struct Inner<T> {
    prev: *const Waiter<T>,
    next: *const Waiter<T>,
    queued: bool,
    /// Send: the value to give. Recv: where a sender puts its value.
    slot: Option<T>,
    waker: Option<Waker>,
    /// The select flag this waiter belongs to, or null for a plain operation.
    select: *const AtomicUsize,
    /// The value written into `*select` by whoever completes this waiter.
    token: usize,
}

/// Calls a waker a channel operation returned, after its lock is released (rule 5).
#[inline]
pub(crate) fn wake(w: Option<Waker>) {
    if let Some(w) = w {
        w.wake();
    }
}

/// A waiter written into place the first time its operation (a send, a receive,
/// a select case) parks. Most operations complete on their first poll, and a
/// `Waiter` built up front is copied into the future with it, which cost about as
/// much as a buffered operation itself (the copy's loads stall on the stores that
/// built it).
pub(crate) struct LazyWaiter<T>(Option<Waiter<T>>);

impl<T> LazyWaiter<T> {
    pub(crate) fn new() -> Self {
        LazyWaiter(None)
    }

    /// The waiter; the operation must have parked before (it is registered).
    pub(crate) fn get(&self) -> &Waiter<T> {
        self.0
            .as_ref()
            .expect("a registered operation has a waiter")
    }

    /// The waiter, written now if this is the operation's first park. The op is
    /// pinned, so the waiter never moves once written; its owner's cancel or
    /// withdraw (run by every owner's Drop first) unlinks it before it is dropped
    /// (rule 2).
    pub(crate) fn get_or_init(&mut self) -> &Waiter<T> {
        self.0.get_or_insert_with(Waiter::new)
    }
}

// SAFETY: the raw pointers are only dereferenced under the channel lock (rule 1),
// which serialises all access; the value slot moves `T` between threads, hence
// `T: Send`.
unsafe impl<T: Send> Send for Waiter<T> {}
// SAFETY: as above: shared access goes through the channel lock.
unsafe impl<T: Send> Sync for Waiter<T> {}

impl<T> Waiter<T> {
    pub(crate) fn new() -> Self {
        Waiter {
            status: AtomicU8::new(Status::Waiting as u8),
            inner: UnsafeCell::new(Inner {
                prev: ptr::null(),
                next: ptr::null(),
                queued: false,
                slot: None,
                waker: None,
                select: ptr::null(),
                token: 0,
            }),
            _pin: PhantomPinned,
        }
    }

    /// The completion status, with `Acquire` (rule 3).
    #[inline]
    pub(crate) fn status(&self) -> Status {
        Status::from_bits(self.status.load(Ordering::Acquire))
    }

    /// # Safety
    /// Rule 1: the channel lock is held, or the caller owns the unqueued waiter.
    #[inline]
    #[allow(clippy::mut_from_ref)]
    unsafe fn inner(&self) -> &mut Inner<T> {
        // SAFETY: exclusive access is guaranteed by the caller (rule 1).
        unsafe { &mut *self.inner.get() }
    }

    /// Makes an unqueued, finished waiter ready for another operation.
    ///
    /// # Safety
    /// The caller owns the waiter: it is not queued and no peer can reach it.
    pub(crate) unsafe fn reset(&self) {
        // SAFETY: caller's contract.
        let inner = unsafe { self.inner() };
        debug_assert!(!inner.queued);
        inner.slot = None;
        inner.select = ptr::null();
        inner.token = 0;
        self.status.store(Status::Waiting as u8, Ordering::Relaxed);
    }

    /// Whether the waiter is linked into a queue.
    ///
    /// # Safety
    /// Rule 1.
    #[inline]
    pub(crate) unsafe fn is_queued(&self) -> bool {
        // SAFETY: caller's contract.
        unsafe { self.inner() }.queued
    }

    /// Stores the waker to call on completion, cloning only if it changed.
    ///
    /// # Safety
    /// Rule 1.
    #[inline]
    pub(crate) unsafe fn set_waker(&self, waker: &Waker) {
        // SAFETY: caller's contract.
        let inner = unsafe { self.inner() };
        match &mut inner.waker {
            Some(w) if w.will_wake(waker) => {}
            slot => *slot = Some(waker.clone()),
        }
    }

    /// Ties the waiter to a select flag.
    ///
    /// # Safety
    /// Rule 1, and `flag` outlives every period in which this waiter is queued.
    #[inline]
    pub(crate) unsafe fn set_select(&self, flag: *const AtomicUsize, token: usize) {
        // SAFETY: caller's contract.
        let inner = unsafe { self.inner() };
        inner.select = flag;
        inner.token = token;
    }

    /// The select flag this waiter belongs to (null for a plain operation).
    ///
    /// # Safety
    /// Rule 1.
    #[inline]
    pub(crate) unsafe fn select_flag(&self) -> *const AtomicUsize {
        // SAFETY: caller's contract.
        unsafe { self.inner() }.select
    }

    /// Whether a peer may still win this waiter: it is a plain operation, or its
    /// select flag is untaken. A `false` waiter is stale (rule 4).
    ///
    /// # Safety
    /// Rule 1.
    #[inline]
    pub(crate) unsafe fn is_live(&self) -> bool {
        // SAFETY: caller's contract.
        let inner = unsafe { self.inner() };
        // SAFETY: a queued select waiter's flag outlives its queueing (set_select).
        inner.select.is_null() || unsafe { &*inner.select }.load(Ordering::Acquire) == SEL_WAITING
    }

    /// Wins the waiter for the caller: always for a plain operation, by CAS of the
    /// select flag from 0 to this waiter's token otherwise.
    ///
    /// # Safety
    /// Rule 1, and the waiter is (or was just) queued, so its flag is alive.
    #[inline]
    unsafe fn claim(&self) -> bool {
        // SAFETY: caller's contract.
        let inner = unsafe { self.inner() };
        if inner.select.is_null() {
            return true;
        }
        // SAFETY: the flag outlives the waiter's queueing (set_select).
        let flag = unsafe { &*inner.select };
        flag.compare_exchange(
            SEL_WAITING,
            inner.token,
            Ordering::AcqRel,
            Ordering::Acquire,
        )
        .is_ok()
    }

    /// Completes a claimed, unlinked waiter: stores `value` (a receiver's value;
    /// `None` to leave the slot alone), takes the waker and publishes `status`.
    /// The caller must not touch the waiter afterwards (rule 3).
    ///
    /// # Safety
    /// Rule 1; the waiter is unlinked and was claimed by the caller.
    #[inline]
    unsafe fn complete(&self, value: Option<T>, status: Status) -> Option<Waker> {
        // SAFETY: caller's contract.
        let inner = unsafe { self.inner() };
        debug_assert!(!inner.queued);
        if value.is_some() {
            inner.slot = value;
        }
        let waker = inner.waker.take();
        self.status.store(status as u8, Ordering::Release);
        waker
    }

    /// Takes a claimed, unlinked sender's value and completes it as `Done`.
    ///
    /// # Safety
    /// As for [`complete`](Self::complete); the waiter is a sender's.
    #[inline]
    unsafe fn take_and_complete(&self) -> (T, Option<Waker>) {
        // SAFETY: caller's contract.
        let inner = unsafe { self.inner() };
        let value = inner.slot.take().expect("a parked sender holds its value");
        // SAFETY: caller's contract.
        let waker = unsafe { self.complete(None, Status::Done) };
        (value, waker)
    }

    /// Takes the slot's content.
    ///
    /// # Safety
    /// Rule 1 (for a finished waiter, `status() != Status::Waiting` read by the owner
    /// suffices, rule 3).
    #[inline]
    pub(crate) unsafe fn take_slot(&self) -> Option<T> {
        // SAFETY: caller's contract.
        unsafe { self.inner() }.slot.take()
    }

    /// Puts a value into the slot (a sender about to park).
    ///
    /// # Safety
    /// Rule 1.
    #[inline]
    pub(crate) unsafe fn put_slot(&self, value: T) {
        // SAFETY: caller's contract.
        unsafe { self.inner() }.slot = Some(value);
    }
}

/// A waiter unlinked and claimed by [`WaitQueue::claim_front`], to be completed.
/// It borrows the queue, so the channel lock is held while it lives (rule 1), and
/// completing it consumes it, so a waiter is completed once (rule 3).
#[must_use = "a claimed waiter must be completed, or its owner waits forever"]
pub(crate) struct Claimed<'q, T> {
    waiter: NonNull<Waiter<T>>,
    _queue: PhantomData<&'q mut WaitQueue<T>>,
}

impl<T> Claimed<'_, T> {
    /// Completes the waiter with `status`, giving a receiver `value` (`None` leaves
    /// a sender's value in its slot); returns its waker to wake after the lock is
    /// released (rule 5).
    #[inline]
    pub(crate) fn complete(self, value: Option<T>, status: Status) -> Option<Waker> {
        // SAFETY: unlinked and claimed by `claim_front`; the lock is held while the
        // queue is borrowed; `self` is consumed, so this is the last touch (rule 3).
        unsafe { self.waiter.as_ref().complete(value, status) }
    }

    /// Takes a sender's value and completes it as `Done`.
    #[inline]
    pub(crate) fn take_and_complete(self) -> (T, Option<Waker>) {
        // SAFETY: as in `complete`; the waiter is on a send queue.
        unsafe { self.waiter.as_ref().take_and_complete() }
    }
}

/// An intrusive FIFO of waiters (Go's `waitq`). It lives inside the channel's
/// locked state, so `&mut WaitQueue` means the lock is held.
pub(crate) struct WaitQueue<T> {
    head: *const Waiter<T>,
    tail: *const Waiter<T>,
}

// SAFETY: the queue is only reachable through the channel's mutex; nodes are
// `Send` for `T: Send`.
unsafe impl<T: Send> Send for WaitQueue<T> {}

impl<T> WaitQueue<T> {
    pub(crate) const fn new() -> Self {
        WaitQueue {
            head: ptr::null(),
            tail: ptr::null(),
        }
    }

    /// Whether nothing is queued (used by the channel's debug-build invariant check).
    #[cfg(debug_assertions)]
    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.head.is_null()
    }

    /// Appends `w`.
    ///
    /// # Safety
    /// The lock of the channel owning this queue is held; `w` is pinned, not
    /// queued, and will be unlinked before it is freed (rule 2).
    pub(crate) unsafe fn push_back(&mut self, w: &Waiter<T>) {
        // SAFETY: caller holds the lock (rule 1).
        let inner = unsafe { w.inner() };
        debug_assert!(!inner.queued);
        inner.queued = true;
        inner.prev = self.tail;
        inner.next = ptr::null();
        if self.tail.is_null() {
            self.head = w;
        } else {
            // SAFETY: queued nodes are valid (rule 2); lock held.
            unsafe { (*self.tail).inner() }.next = w;
        }
        self.tail = w;
    }

    /// Unlinks and returns the first waiter.
    fn pop_front(&mut self) -> Option<NonNull<Waiter<T>>> {
        let head = NonNull::new(self.head.cast_mut())?;
        // SAFETY: `head` is queued here, so valid (rule 2) and `w` is queued in
        // this queue, whose lock `&mut self` implies.
        unsafe { self.remove(head.as_ref()) };
        Some(head)
    }

    /// Unlinks waiters from the front until one can be claimed (rule 4: stale select
    /// waiters are dropped from the queue on the way) and returns it, for the caller
    /// to complete while it still holds the lock: the only way to complete a waiter.
    pub(crate) fn claim_front(&mut self) -> Option<Claimed<'_, T>> {
        while let Some(w) = self.pop_front() {
            // SAFETY: `w` was queued here, so it is valid (rule 2), and `&mut self`
            // means the lock is held (rule 1).
            if unsafe { w.as_ref().claim() } {
                return Some(Claimed {
                    waiter: w,
                    _queue: PhantomData,
                });
            }
        }
        None
    }

    /// The first waiter, left in place.
    #[inline]
    pub(crate) fn front(&self) -> Option<NonNull<Waiter<T>>> {
        NonNull::new(self.head.cast_mut())
    }

    /// The waiter after `w`.
    ///
    /// # Safety
    /// `w` is queued in this queue (whose lock `&self` came from).
    #[inline]
    pub(crate) unsafe fn next(&self, w: &Waiter<T>) -> Option<NonNull<Waiter<T>>> {
        // SAFETY: caller's contract.
        NonNull::new(unsafe { w.inner() }.next.cast_mut())
    }

    /// Unlinks `w`.
    ///
    /// # Safety
    /// `w` is queued in this queue.
    pub(crate) unsafe fn remove(&mut self, w: &Waiter<T>) {
        // SAFETY: lock held via `&mut self`, w queued here (caller).
        let inner = unsafe { w.inner() };
        debug_assert!(inner.queued);
        if inner.prev.is_null() {
            self.head = inner.next;
        } else {
            // SAFETY: neighbours are queued, hence valid (rule 2).
            unsafe { (*inner.prev).inner() }.next = inner.next;
        }
        if inner.next.is_null() {
            self.tail = inner.prev;
        } else {
            // SAFETY: as above.
            unsafe { (*inner.next).inner() }.prev = inner.prev;
        }
        inner.prev = ptr::null();
        inner.next = ptr::null();
        inner.queued = false;
    }
}
