//! Arming, cancelling and moving one timer entry: what a `Sleep` or a channel timer
//! asks of the driver. Deadlines are nanoseconds since the driver's origin, with
//! [`NEVER_NS`] for a timer that never fires.
//!
//! An entry is linked into the shard it records: that of the thread that created it
//! (a `Sleep` made on a worker, and first polled by the same task, arms into that
//! worker's wheel). Looking up the arming thread's shard instead cost a thread-local
//! access per arm for the rare timer created on one worker and armed on another.

use std::pin::Pin;
use std::task::{Poll, Waker};

use crate::clock::tick_of_ns;
use crate::entry::{Entry, FIRED, REGISTERED, SHUTDOWN, UNREGISTERED};
use crate::loom::sync::atomic::Ordering;
use crate::wheel::Wheel;

use super::shard::Link;
use super::Driver;

/// The deadline of a timer that never fires.
pub(crate) const NEVER_NS: u64 = u64::MAX;

/// What linking did, to finish outside the lock.
struct Linked {
    /// The entry was due already: it is `FIRED`, not linked.
    due: bool,
    /// The entry lowered its shard's earliest deadline to this tick.
    lowered: Option<u64>,
    /// A waker to drop (or, if `due`, to wake) outside the lock.
    waker: Option<Waker>,
}

impl Driver {
    /// Links `entry` into shard `index`, due at `deadline_ns` (not [`NEVER_NS`]).
    ///
    /// # Safety
    /// `entry` is not `REGISTERED` and stays live until it is unlinked (entry
    /// ground rule 5); `wheel` is shard `index`'s locked wheel.
    unsafe fn link_locked(
        &self,
        wheel: &mut Wheel,
        index: usize,
        entry: &Entry,
        deadline_ns: u64,
        waker: Waker,
    ) -> Linked {
        if self.inner.shutdown.load(Ordering::SeqCst) {
            entry.set_state(SHUTDOWN);
            return Linked {
                due: false,
                lowered: None,
                waker: Some(waker),
            };
        }
        debug_assert_eq!(entry.shard(), index);
        let when = tick_of_ns(deadline_ns);
        // SAFETY: forwarded from the caller; the entry records this shard now.
        match unsafe { self.shard(index).link(wheel, entry, when, waker) } {
            (Link::Due, w) => Linked {
                due: true,
                lowered: None,
                waker: w,
            },
            (Link::Linked { lowered }, w) => Linked {
                due: false,
                lowered: lowered.then_some(when),
                waker: w,
            },
        }
    }

    /// Polls a timer entry due at `deadline_ns`: `Ready` once it has fired, else
    /// registers (or refreshes) `waker`. Reads no clock: a deadline that passed
    /// after the wheel's last processed tick fires on the next `process`.
    pub(crate) fn poll_entry(
        &self,
        entry: Pin<&Entry>,
        deadline_ns: u64,
        waker: &Waker,
    ) -> Poll<()> {
        match entry.state() {
            FIRED => return Poll::Ready(()),
            SHUTDOWN => return Poll::Pending,
            UNREGISTERED if deadline_ns == NEVER_NS => return Poll::Pending,
            REGISTERED => return self.refresh(entry, waker),
            _ => {}
        }
        let index = entry.shard();
        let shard = self.shard(index);
        let mut wheel = shard.lock();
        // SAFETY: unregistered (only its owner, us, links it); the owner keeps it
        // pinned and unlinks it before it goes away.
        let linked =
            unsafe { self.link_locked(&mut wheel, index, &entry, deadline_ns, waker.clone()) };
        drop(wheel);
        self.finish_link(linked)
    }

    /// Drops or wakes what linking left, outside the lock; `Ready` if it was due.
    fn finish_link(&self, linked: Linked) -> Poll<()> {
        drop(linked.waker); // the displaced waker, or ours if due: we return Ready
        if let Some(when) = linked.lowered {
            self.lowered(when);
        }
        if linked.due {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }

    /// A poll of a registered entry: refreshes its waker under its shard's lock.
    fn refresh(&self, entry: Pin<&Entry>, waker: &Waker) -> Poll<()> {
        let wheel = self.shard(entry.shard()).lock();
        let (out, old) = match entry.state() {
            // SAFETY: `wheel` is the lock of the shard the entry records.
            REGISTERED => (Poll::Pending, unsafe { entry.update_waker(&wheel, waker) }),
            FIRED => (Poll::Ready(()), None),
            _ => (Poll::Pending, None),
        };
        drop(wheel);
        drop(old);
        out
    }

    /// Unlinks `entry` if it is armed. Returns whether it was (so it will not fire).
    pub(crate) fn cancel(&self, entry: Pin<&Entry>) -> bool {
        if entry.state() != REGISTERED {
            return false;
        }
        let shard = self.shard(entry.shard());
        let mut wheel = shard.lock();
        // SAFETY: the entry records the shard it is linked into (ground rule 6).
        let (was, waker) = unsafe { shard.unlink(&mut wheel, &entry) };
        drop(wheel);
        drop(waker);
        was
    }

    /// Moves `entry` to `deadline_ns`. If it was armed (or `waker` is given) it stays
    /// armed with its waker; otherwise it becomes unregistered and arms on its next
    /// poll. A deadline that has passed (read on the clock) fires at once: the entry
    /// is `FIRED` and its waker is returned to wake, after the caller drops its own
    /// locks. Returns whether the entry was armed before, and that waker.
    pub(crate) fn reset_entry(
        &self,
        entry: Pin<&Entry>,
        deadline_ns: u64,
        waker: Option<&Waker>,
    ) -> (bool, Option<Waker>) {
        let (was_armed, old) = if entry.state() == REGISTERED {
            let shard = self.shard(entry.shard());
            let mut wheel = shard.lock();
            // SAFETY: as in `cancel`.
            let r = unsafe { shard.unlink(&mut wheel, &entry) };
            drop(wheel);
            r
        } else {
            (false, None)
        };
        // Not linked now: unlinked above, or fired or drained by the driver, whose
        // last access was that state's store (ground rule 3). Ours to reset.
        entry.set_state(UNREGISTERED);
        let waker = waker.cloned().or(old);
        if deadline_ns == NEVER_NS {
            return (was_armed, None);
        }
        if deadline_ns <= self.clock().now_ns() {
            entry.set_state(FIRED); // not linked: ours to set
            return (was_armed, waker);
        }
        let Some(w) = waker else {
            return (was_armed, None); // arms on its next poll
        };
        let index = entry.shard();
        let shard = self.shard(index);
        let mut wheel = shard.lock();
        // SAFETY: unregistered just above; the owner keeps it pinned and live.
        let linked = unsafe { self.link_locked(&mut wheel, index, &entry, deadline_ns, w) };
        drop(wheel);
        if linked.due {
            if let Some(when) = linked.lowered {
                self.lowered(when);
            }
            return (was_armed, linked.waker);
        }
        let _ = self.finish_link(linked);
        (was_armed, None)
    }
}
