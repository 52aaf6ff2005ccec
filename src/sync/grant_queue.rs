//! A FIFO queue of parked waiters that releasers *grant* something to (permits, a
//! lock, a value), shared by every primitive in `gorun::sync` and by
//! `gorun::context`. It lives inside the primitive's `std::sync::Mutex`. (Not the
//! channel's `WaitQueue`, which links waiters that live inside the futures.)
//!
//! Ground rules:
//! 1. A waiter is a slot in a slab, linked into a doubly linked FIFO list by index.
//!    A slot is owned by exactly one future (its *key*), and only that owner frees it
//!    (with [`GrantQueue::remove`]); so keys need no generation counter.
//! 2. A slot is `Queued` (linked, waiting) or `Granted(v)` (unlinked: a releaser gave
//!    it `v`, e.g. permits, and woke it). A granted slot stays allocated until its
//!    owner sees the grant or is dropped; on drop the owner gives `v` back (that is
//!    what makes every waiting operation cancel-safe).
//! 3. Wakers are returned to the caller, who wakes them after unlocking.

use std::task::Waker;

const NIL: usize = usize::MAX;

/// What a slot holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SlotState {
    /// Linked into the FIFO; the payload is what the waiter asks for (e.g. permits).
    Queued(usize),
    /// Unlinked and woken; the payload is what it was given.
    Granted(usize),
    /// On the free list.
    Free,
}

#[derive(Debug)]
struct Slot {
    state: SlotState,
    waker: Option<Waker>,
    prev: usize,
    next: usize,
}

/// The queue. Not thread-safe on its own: keep it behind a mutex.
#[derive(Debug, Default)]
pub(crate) struct GrantQueue {
    slots: Vec<Slot>,
    free: Vec<usize>,
    head: Option<usize>,
    tail: Option<usize>,
    len: usize,
}

impl GrantQueue {
    pub(crate) const fn new() -> GrantQueue {
        GrantQueue {
            slots: Vec::new(),
            free: Vec::new(),
            head: None,
            tail: None,
            len: 0,
        }
    }

    /// Number of queued (not granted) waiters.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Appends a waiter asking for `need`; returns its key.
    pub(crate) fn push_back(&mut self, need: usize, waker: Waker) -> usize {
        let slot = Slot {
            state: SlotState::Queued(need),
            waker: Some(waker),
            prev: self.tail.unwrap_or(NIL),
            next: NIL,
        };
        let key = match self.free.pop() {
            Some(k) => {
                self.slots[k] = slot;
                k
            }
            None => {
                self.slots.push(slot);
                self.slots.len() - 1
            }
        };
        match self.tail {
            Some(t) => self.slots[t].next = key,
            None => self.head = Some(key),
        }
        self.tail = Some(key);
        self.len += 1;
        key
    }

    /// What the first queued waiter asks for.
    pub(crate) fn front_need(&self) -> Option<usize> {
        self.head.map(|h| match self.slots[h].state {
            SlotState::Queued(n) => n,
            s => unreachable!("a linked slot is {s:?}"),
        })
    }

    /// Unlinks the first queued waiter, marks it granted `value`, and returns its
    /// waker (to wake after unlocking).
    pub(crate) fn grant_front(&mut self, value: usize) -> Option<Waker> {
        let h = self.head?;
        self.unlink(h);
        let slot = &mut self.slots[h];
        slot.state = SlotState::Granted(value);
        slot.waker.take()
    }

    /// The state of `key`'s slot.
    pub(crate) fn state(&self, key: usize) -> SlotState {
        self.slots[key].state
    }

    /// Replaces the stored waker of a queued waiter if it would wake another task.
    pub(crate) fn set_waker(&mut self, key: usize, waker: &Waker) {
        let slot = &mut self.slots[key];
        match &slot.waker {
            Some(w) if w.will_wake(waker) => {}
            _ => slot.waker = Some(waker.clone()),
        }
    }

    /// Frees `key`'s slot (unlinking it if queued); returns the state it had.
    pub(crate) fn remove(&mut self, key: usize) -> SlotState {
        let state = self.slots[key].state;
        match state {
            SlotState::Queued(_) => self.unlink(key),
            SlotState::Granted(_) => {}
            SlotState::Free => unreachable!("double free of waiter slot {key}"),
        }
        let slot = &mut self.slots[key];
        slot.state = SlotState::Free;
        slot.waker = None;
        self.free.push(key);
        if self.len == 0 && self.free.len() == self.slots.len() && self.slots.len() > 64 {
            // Everyone left: give back the memory a burst of waiters took.
            self.slots = Vec::new();
            self.free = Vec::new();
        }
        state
    }

    fn unlink(&mut self, key: usize) {
        let (prev, next) = (self.slots[key].prev, self.slots[key].next);
        if prev == NIL {
            self.head = (next != NIL).then_some(next);
        } else {
            self.slots[prev].next = next;
        }
        if next == NIL {
            self.tail = (prev != NIL).then_some(prev);
        } else {
            self.slots[next].prev = prev;
        }
        let slot = &mut self.slots[key];
        slot.prev = NIL;
        slot.next = NIL;
        self.len -= 1;
    }
}

/// Wakes a batch of wakers collected under a lock.
pub(crate) fn wake_all(wakers: Vec<Waker>) {
    for w in wakers {
        w.wake();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fifo_and_removal() {
        let mut q = GrantQueue::new();
        let w = Waker::noop().clone();
        let a = q.push_back(1, w.clone());
        let b = q.push_back(2, w.clone());
        let c = q.push_back(3, w.clone());
        assert_eq!(q.len(), 3);
        assert_eq!(q.remove(b), SlotState::Queued(2));
        assert_eq!(q.front_need(), Some(1));
        assert!(q.grant_front(7).is_some());
        assert_eq!(q.state(a), SlotState::Granted(7));
        assert_eq!(q.front_need(), Some(3));
        assert_eq!(q.remove(a), SlotState::Granted(7));
        let d = q.push_back(4, w);
        assert_eq!(d, a, "slots are reused");
        q.grant_front(0);
        assert_eq!(q.front_need(), Some(4));
        q.remove(c);
        q.remove(d);
        assert!(q.is_empty());
        assert_eq!(q.front_need(), None);
    }
}
