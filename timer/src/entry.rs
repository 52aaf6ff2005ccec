//! A timer entry: what a pending timer holds for the wheel: its state, its waker, and
//! the index of the wheel's link node that points back at it.
//!
//! An `Entry` lives inside the pinned future that owns it (`Sleep`) or inside the
//! `Arc` of a channel timer. The wheel's slots are doubly linked lists of *nodes* in
//! a slab the wheel owns (`wheel/nodes.rs`), not of the entries themselves as in
//! tokio's `time/entry.rs`: linking and unlinking touch the wheel's dense array
//! instead of timers scattered over task futures, and an entry is 24 bytes.
//!
//! # Ground rules
//!
//! 1. `state` is written only with the driver lock held; it may be read without it.
//! 2. `node` and `waker` are touched only with the driver lock held: their accessors
//!    take the locked wheel as a token (a `&Wheel`, which only the lock's holder has:
//!    the wheel is not `Sync`), and their callers vouch that it is the entry's
//!    shard's (rule 6; checked with debug assertions). The one exception is the
//!    owner dropping the entry while `state` is not [`REGISTERED`] (then the driver
//!    holds no pointer to it and never touches it again).
//! 3. The driver's last access to an entry it fires (or drains at shutdown) is the
//!    `Release` store of [`FIRED`] (or [`SHUTDOWN`]); it takes the waker out first and
//!    wakes it after dropping the lock. So an owner that reads a state other than
//!    `REGISTERED` with `Acquire` may drop or reuse the entry without locking.
//! 4. An entry has a node (on one list: a wheel slot, or the wheel's pending list)
//!    exactly while it is `REGISTERED`.
//! 5. A `REGISTERED` entry outlives its registration: its owner unlinks it (under the
//!    lock) before the memory goes away. Pinning guarantees the address is stable.
//! 6. "The driver lock" is the lock of the shard the entry is linked into, named by
//!    `shard`. Only the owner writes `shard`, while the entry is not `REGISTERED`,
//!    so the owner can read it without a lock to find the lock to take.

use std::marker::PhantomPinned;
use std::task::Waker;

use crate::loom::sync::atomic::{AtomicU16, AtomicU8, Ordering};
use crate::loom::UnsafeCell;
use crate::wheel::Wheel;

/// Not linked into the wheel; the driver holds no pointer to it. Initial state, and the
/// state after a cancel or a reset that could not re-register (no waker yet).
pub(crate) const UNREGISTERED: u8 = 0;
/// Linked into a wheel slot or the pending list; the driver may fire it at any time.
/// Cannot coexist with an owner touching `node`/`waker` without the lock.
pub(crate) const REGISTERED: u8 = 1;
/// The deadline was reached: unlinked, waker taken (and woken or about to be).
/// Terminal until the owner resets the entry.
pub(crate) const FIRED: u8 = 2;
/// The driver shut down while the entry was registered: unlinked, waker taken, and
/// it will never fire.
pub(crate) const SHUTDOWN: u8 = 3;

/// A timer's entry. See the module's ground rules.
#[derive(Debug)]
pub(crate) struct Entry {
    state: AtomicU8,
    /// The shard whose wheel links the entry (ground rule 6). Relaxed: the shard
    /// lock taken to link it publishes it to the driver. 16 bits, so that the
    /// state, the shard and the node share one word (a driver has at most
    /// [`MAX_SHARDS`](crate::driver::MAX_SHARDS)).
    shard: AtomicU16,
    /// The wheel node linking the entry, while `REGISTERED`. Driver lock.
    node: UnsafeCell<u32>,
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
        Entry::with_state(UNREGISTERED, 0)
    }

    /// An entry not linked anywhere, in `state` (`UNREGISTERED`, or `FIRED` for one
    /// due already), to be linked into `shard`.
    #[inline]
    pub(crate) fn with_state(state: u8, shard: usize) -> Entry {
        debug_assert_ne!(state, REGISTERED);
        Entry {
            state: AtomicU8::new(state),
            shard: AtomicU16::new(shard_bits(shard)),
            node: UnsafeCell::new(u32::MAX),
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
        self.shard.store(shard_bits(shard), Ordering::Relaxed);
    }

    /// Sets the state. Caller holds the driver lock, or owns an entry that is not
    /// `REGISTERED` and is not making it `REGISTERED`.
    #[inline]
    pub(crate) fn set_state(&self, state: u8) {
        self.state.store(state, Ordering::Release);
    }

    /// Checks, in builds with debug assertions, that `wheel` is the wheel of the
    /// shard this entry records (ground rule 6). In release builds the accessors'
    /// callers vouch for it: the check, on every arm and cancel, was measurable.
    #[inline(always)]
    fn check_lock(&self, wheel: &Wheel) {
        #[cfg(debug_assertions)]
        if wheel.shard() != self.shard() {
            wrong_lock(wheel.shard(), self.shard());
        }
        #[cfg(not(debug_assertions))]
        let _ = wheel;
    }

    /// The wheel node linking the entry.
    ///
    /// # Safety
    /// `wheel` is the wheel of the shard this entry records. Holding a `&Wheel` is
    /// holding some shard's lock (the wheel is not `Sync`); this says it is the
    /// entry's (checked with debug assertions).
    #[inline]
    pub(crate) unsafe fn node(&self, wheel: &Wheel) -> u32 {
        self.check_lock(wheel);
        // SAFETY: the entry's shard's lock is held (the caller's contract and the
        // `&Wheel`): exclusive (ground rule 2).
        self.node.with(|n| unsafe { *n })
    }

    /// Records the wheel node linking the entry.
    ///
    /// # Safety
    /// As for [`Entry::node`].
    #[inline]
    pub(crate) unsafe fn set_node(&self, wheel: &Wheel, node: u32) {
        self.check_lock(wheel);
        // SAFETY: as in `node`.
        self.node.with_mut(|n| unsafe { *n = node })
    }

    /// Replaces the stored waker, returning the old one (drop it outside the lock).
    ///
    /// # Safety
    /// As for [`Entry::node`].
    #[inline]
    pub(crate) unsafe fn replace_waker(
        &self,
        wheel: &Wheel,
        waker: Option<Waker>,
    ) -> Option<Waker> {
        self.check_lock(wheel);
        // SAFETY: as in `node`.
        self.waker
            .with_mut(|w| unsafe { std::mem::replace(&mut *w, waker) })
    }

    /// Stores a clone of `waker` unless the stored one would wake the same task.
    /// Returns the replaced waker (drop it outside the lock).
    ///
    /// # Safety
    /// As for [`Entry::node`].
    #[inline]
    pub(crate) unsafe fn update_waker(&self, wheel: &Wheel, waker: &Waker) -> Option<Waker> {
        self.check_lock(wheel);
        // SAFETY: as in `node`.
        self.waker.with_mut(|w| unsafe {
            match &*w {
                Some(old) if old.will_wake(waker) => None,
                _ => (*w).replace(waker.clone()),
            }
        })
    }
}

/// The panic of [`Entry::check_lock`], out of line.
#[cfg(debug_assertions)]
#[cold]
#[inline(never)]
fn wrong_lock(locked: usize, recorded: usize) -> ! {
    panic!(
        "gorun-timer: an entry's fields touched under another shard's lock \
         (shard {locked} locked, the entry records {recorded})"
    )
}

/// `shard` as stored in an entry.
#[inline]
fn shard_bits(shard: usize) -> u16 {
    debug_assert!(shard < crate::driver::MAX_SHARDS);
    shard as u16
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
