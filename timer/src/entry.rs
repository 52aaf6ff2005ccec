//! A timer entry: the intrusive node that links a pending timer into the wheel.
//!
//! An `Entry` lives inside the pinned future that owns it (`Sleep`) or inside the
//! `Arc` of a channel timer, so arming a timer allocates nothing: the wheel's slots
//! are doubly linked lists threaded through the entries themselves (tokio's
//! `time/entry.rs` does the same).
//!
//! # Ground rules
//!
//! 1. `state` is written only with the driver lock held; it may be read without it.
//! 2. `when`, `prev`, `next` and `waker` are touched only with the driver lock held,
//!    except by the owner while `state` is not [`REGISTERED`] (then the driver holds
//!    no pointer to the entry and never touches it again).
//! 3. The driver's last access to an entry it fires (or drains at shutdown) is the
//!    `Release` store of [`FIRED`] (or [`SHUTDOWN`]); it takes the waker out first and
//!    wakes it after dropping the lock. So an owner that reads a state other than
//!    `REGISTERED` with `Acquire` may drop or reuse the entry without locking.
//! 4. An entry is on at most one list: a wheel slot, or the wheel's pending list
//!    (`when == PENDING`), and only while `REGISTERED`.
//! 5. A `REGISTERED` entry outlives its registration: its owner unlinks it (under the
//!    lock) before the memory goes away. Pinning guarantees the address is stable.
//! 6. "The driver lock" is the lock of the shard the entry is linked into, named by
//!    `shard`. Only the owner writes `shard`, while the entry is not `REGISTERED`,
//!    so the owner can read it without a lock to find the lock to take.

use std::marker::PhantomPinned;
use std::ptr::NonNull;
use std::task::Waker;

use crate::loom::sync::atomic::{AtomicU32, AtomicU8, Ordering};
use crate::loom::UnsafeCell;

/// Not linked into the wheel; the driver holds no pointer to it. Initial state, and the
/// state after a cancel or a reset that could not re-register (no waker yet).
pub(crate) const UNREGISTERED: u8 = 0;
/// Linked into a wheel slot or the pending list; the driver may fire it at any time.
/// Cannot coexist with an owner touching `when`/links/`waker` without the lock.
pub(crate) const REGISTERED: u8 = 1;
/// The deadline was reached: unlinked, waker taken (and woken or about to be).
/// Terminal until the owner resets the entry.
pub(crate) const FIRED: u8 = 2;
/// The driver shut down while the entry was registered: unlinked, waker taken, and
/// it will never fire.
pub(crate) const SHUTDOWN: u8 = 3;

/// `when` value of an entry on the wheel's pending list (due, not yet fired).
pub(crate) const PENDING: u64 = u64::MAX;

/// The intrusive timer node. See the module's ground rules.
#[derive(Debug)]
pub(crate) struct Entry {
    state: AtomicU8,
    /// The shard whose wheel links the entry (ground rule 6). Relaxed: the shard
    /// lock taken to link it publishes it to the driver.
    shard: AtomicU32,
    /// Deadline tick (125 µs ticks since the driver's origin), or [`PENDING`].
    /// Driver lock.
    when: UnsafeCell<u64>,
    prev: UnsafeCell<Option<NonNull<Entry>>>,
    next: UnsafeCell<Option<NonNull<Entry>>>,
    /// Woken when the entry fires. Driver lock.
    waker: UnsafeCell<Option<Waker>>,
    _pin: PhantomPinned,
}

// SAFETY: the raw links and the waker are only accessed under the driver lock (ground
// rules 1-2); the rest is atomic. `Waker` is Send + Sync.
unsafe impl Send for Entry {}
// SAFETY: as above.
unsafe impl Sync for Entry {}

impl Entry {
    pub(crate) fn new() -> Entry {
        Entry {
            state: AtomicU8::new(UNREGISTERED),
            shard: AtomicU32::new(0),
            when: UnsafeCell::new(0),
            prev: UnsafeCell::new(None),
            next: UnsafeCell::new(None),
            waker: UnsafeCell::new(None),
            _pin: PhantomPinned,
        }
    }

    /// The state, read with `Acquire` (ground rule 3).
    #[inline]
    pub(crate) fn state(&self) -> u8 {
        self.state.load(Ordering::Acquire)
    }

    /// The shard the entry is (or was last) linked into (ground rule 6).
    #[inline]
    pub(crate) fn shard(&self) -> usize {
        self.shard.load(Ordering::Relaxed) as usize
    }

    /// Records the shard the owner is about to link the entry into. Owner only,
    /// while the entry is not `REGISTERED`.
    #[inline]
    pub(crate) fn set_shard(&self, shard: usize) {
        debug_assert_ne!(self.state(), REGISTERED);
        self.shard.store(shard as u32, Ordering::Relaxed);
    }

    /// Sets the state. Caller holds the driver lock, or owns an entry that is not
    /// `REGISTERED` and is not making it `REGISTERED`.
    #[inline]
    pub(crate) fn set_state(&self, state: u8) {
        self.state.store(state, Ordering::Release);
    }

    /// # Safety
    /// The driver lock is held (or the entry is not `REGISTERED` and the caller owns it).
    #[inline]
    pub(crate) unsafe fn when(&self) -> u64 {
        // SAFETY: exclusive by the caller's contract (ground rule 2).
        self.when.with(|w| unsafe { *w })
    }

    /// # Safety
    /// As for [`Entry::when`].
    #[inline]
    pub(crate) unsafe fn set_when(&self, when: u64) {
        // SAFETY: exclusive by the caller's contract (ground rule 2).
        self.when.with_mut(|w| unsafe { *w = when })
    }

    /// Replaces the stored waker, returning the old one (drop it outside the lock).
    ///
    /// # Safety
    /// As for [`Entry::when`].
    #[inline]
    pub(crate) unsafe fn replace_waker(&self, waker: Option<Waker>) -> Option<Waker> {
        // SAFETY: exclusive by the caller's contract (ground rule 2).
        self.waker
            .with_mut(|w| unsafe { std::mem::replace(&mut *w, waker) })
    }

    /// Stores a clone of `waker` unless the stored one would wake the same task.
    /// Returns the replaced waker (drop it outside the lock).
    ///
    /// # Safety
    /// As for [`Entry::when`].
    #[inline]
    pub(crate) unsafe fn update_waker(&self, waker: &Waker) -> Option<Waker> {
        // SAFETY: exclusive by the caller's contract (ground rule 2).
        self.waker.with_mut(|w| unsafe {
            match &*w {
                Some(old) if old.will_wake(waker) => None,
                _ => (*w).replace(waker.clone()),
            }
        })
    }
}

impl Drop for Entry {
    fn drop(&mut self) {
        debug_assert_ne!(
            self.state.load(Ordering::Relaxed),
            REGISTERED,
            "entry dropped while linked"
        );
        // Touch the waker cell mutably so loom checks that the driver's last access
        // happened-before the owner freeing the entry (ground rule 3).
        self.waker.with_mut(|_| ());
    }
}

/// An intrusive doubly linked list of entries (one wheel slot, or the pending list).
/// Holding `&mut List` means holding the driver lock: lists live inside the wheel.
#[derive(Debug, Default)]
pub(crate) struct List {
    head: Option<NonNull<Entry>>,
}

// SAFETY: a list is only reachable through the driver's mutex; the entries it points
// to are Sync (see above).
unsafe impl Send for List {}

impl List {
    pub(crate) const fn new() -> List {
        List { head: None }
    }

    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.head.is_none()
    }

    /// Links `entry` at the front.
    ///
    /// # Safety
    /// The driver lock is held; `entry` is live, on no list, and stays live until it is
    /// unlinked (ground rules 4-5).
    pub(crate) unsafe fn push_front(&mut self, entry: NonNull<Entry>) {
        // SAFETY: [1] the caller guarantees `entry` and the current head are live and
        // that we hold the lock, so nobody else touches their links.
        unsafe {
            let e = entry.as_ref();
            e.prev.with_mut(|p| *p = None);
            e.next.with_mut(|n| *n = self.head);
            if let Some(head) = self.head {
                head.as_ref().prev.with_mut(|p| *p = Some(entry));
            }
        }
        self.head = Some(entry);
    }

    /// Unlinks and returns the front entry.
    ///
    /// # Safety
    /// The driver lock is held.
    pub(crate) unsafe fn pop_front(&mut self) -> Option<NonNull<Entry>> {
        let head = self.head?;
        // SAFETY: entries on a list are live (ground rule 5) and we hold the lock.
        unsafe { self.remove(head) };
        Some(head)
    }

    /// Unlinks `entry`.
    ///
    /// # Safety
    /// The driver lock is held and `entry` is on this list.
    pub(crate) unsafe fn remove(&mut self, entry: NonNull<Entry>) {
        // SAFETY: [1] `entry` is on this list, so it and its neighbours are live
        // (ground rule 5); [2] we hold the lock, so their links are ours.
        unsafe {
            let e = entry.as_ref();
            let prev = e.prev.with(|p| *p);
            let next = e.next.with(|n| *n);
            match prev {
                Some(p) => p.as_ref().next.with_mut(|n| *n = next),
                None => {
                    debug_assert_eq!(self.head, Some(entry), "entry is not on this list");
                    self.head = next;
                }
            }
            if let Some(n) = next {
                n.as_ref().prev.with_mut(|p| *p = prev);
            }
            e.prev.with_mut(|p| *p = None);
            e.next.with_mut(|n| *n = None);
        }
    }

    /// Takes the whole list, leaving this one empty.
    pub(crate) fn take(&mut self) -> List {
        List {
            head: self.head.take(),
        }
    }
}
