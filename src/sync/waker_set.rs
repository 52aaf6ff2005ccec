//! The waiters of the tokio-shaped types (`broadcast`, `watch`, `Barrier`), which wake
//! everyone at once, so they need no FIFO: a slab of wakers owned by futures, kept
//! behind the type's mutex, and a batch to wake after unlocking.
//!
//! Ground rules:
//! 1. An entry is owned by exactly one future (its *key*), and only that owner frees
//!    it ([`WakerSet::remove`]); so keys need no generation counter.
//! 2. An entry is `Waiting` (with the waker to wake) or `Notified` (woken by
//!    [`WakerSet::notify_all`], waker handed out, or [disarmed](WakerSet::disarm) by
//!    its owner). A notified owner that must wait again re-arms its entry with
//!    [`WakerSet::register`]: no free and re-insert.
//! 3. No waker is dropped or woken here. Every waker that leaves the set (woken,
//!    replaced, or removed) is returned to the caller, who drops or wakes it after
//!    unlocking: a waker's `Drop` may re-enter the channel (tokio tests that a waker
//!    that sends on drop does not deadlock), so it must not run under the lock.

use std::task::Waker;

/// Wakers kept inline in a [`WakeList`] before spilling to the heap.
const INLINE: usize = 16;

#[derive(Debug)]
enum Entry {
    Waiting(Waker),
    Notified,
    Free,
}

/// The set. Not thread-safe on its own: keep it behind a mutex.
#[derive(Debug, Default)]
pub(crate) struct WakerSet {
    entries: Vec<Entry>,
    free: Vec<usize>,
    /// Entries in the `Waiting` state.
    waiting: usize,
}

impl WakerSet {
    pub(crate) const fn new() -> WakerSet {
        WakerSet {
            entries: Vec::new(),
            free: Vec::new(),
            waiting: 0,
        }
    }

    /// Waits with `waker` at `key`, or at a new entry if `key` is `None` (then `key`
    /// is set). Returns the waker this replaces, to drop after unlocking.
    #[must_use = "drop the displaced waker after unlocking"]
    pub(crate) fn register(&mut self, key: &mut Option<usize>, waker: &Waker) -> Option<Waker> {
        let Some(k) = *key else {
            let entry = Entry::Waiting(waker.clone());
            self.waiting += 1;
            *key = Some(match self.free.pop() {
                Some(k) => {
                    self.entries[k] = entry;
                    k
                }
                None => {
                    self.entries.push(entry);
                    self.entries.len() - 1
                }
            });
            return None;
        };
        match &mut self.entries[k] {
            Entry::Waiting(w) if w.will_wake(waker) => None,
            Entry::Waiting(w) => Some(std::mem::replace(w, waker.clone())),
            e @ Entry::Notified => {
                *e = Entry::Waiting(waker.clone());
                self.waiting += 1;
                None
            }
            Entry::Free => unreachable!("waker entry {k} used after free"),
        }
    }

    /// One poll of a wait for a condition the caller checked under its lock: if
    /// `done`, frees `key`'s entry (if any) and returns `true`; else (re-)arms it with
    /// `waker` (the condition may have turned false again since a wake-up). Returns
    /// the waker that left the set, to drop after unlocking.
    #[must_use = "drop the displaced waker after unlocking"]
    pub(crate) fn poll_until(
        &mut self,
        key: &mut Option<usize>,
        done: bool,
        waker: &Waker,
    ) -> (bool, Option<Waker>) {
        if done {
            (true, key.take().and_then(|k| self.remove(k)))
        } else {
            (false, self.register(key, waker))
        }
    }

    /// Whether any entry is waiting (so a [`WakeList`] is worth building).
    pub(crate) fn has_waiting(&self) -> bool {
        self.waiting > 0
    }

    /// Whether `key` was notified since it last registered.
    pub(crate) fn is_notified(&self, key: usize) -> bool {
        matches!(self.entries[key], Entry::Notified)
    }

    /// Frees `key`'s entry. Returns its waker if it was still waiting (to drop after
    /// unlocking), `None` if it had been notified.
    #[must_use = "drop the waker after unlocking"]
    pub(crate) fn remove(&mut self, key: usize) -> Option<Waker> {
        let waker = match std::mem::replace(&mut self.entries[key], Entry::Free) {
            Entry::Waiting(w) => {
                self.waiting -= 1;
                Some(w)
            }
            Entry::Notified => None,
            Entry::Free => unreachable!("double free of waker entry {key}"),
        };
        self.free.push(key);
        if self.waiting == 0 && self.free.len() == self.entries.len() && self.entries.len() > 64 {
            // Everyone left: give back the memory a burst of waiters took.
            self.entries = Vec::new();
            self.free = Vec::new();
        }
        waker
    }

    /// Stops `key` waiting without freeing it (its owner's current wait was
    /// cancelled); returns its waker, to drop after unlocking.
    #[must_use = "drop the waker after unlocking"]
    pub(crate) fn disarm(&mut self, key: usize) -> Option<Waker> {
        match std::mem::replace(&mut self.entries[key], Entry::Notified) {
            Entry::Waiting(w) => {
                self.waiting -= 1;
                Some(w)
            }
            Entry::Notified => None,
            Entry::Free => unreachable!("waker entry {key} used after free"),
        }
    }

    /// Marks every waiting entry notified and moves its waker into `list`.
    pub(crate) fn notify_all(&mut self, list: &mut WakeList) {
        if self.waiting == 0 {
            return;
        }
        for e in &mut self.entries {
            if let Entry::Waiting(_) = e {
                if let Entry::Waiting(w) = std::mem::replace(e, Entry::Notified) {
                    list.push(w);
                }
            }
        }
        self.waiting = 0;
    }
}

/// Wakers to wake once the lock that found them is released, inline up to 16.
pub(crate) struct WakeList {
    inline: [Option<Waker>; INLINE],
    len: usize,
    spill: Vec<Waker>,
}

impl WakeList {
    pub(crate) fn new() -> WakeList {
        WakeList {
            inline: Default::default(),
            len: 0,
            spill: Vec::new(),
        }
    }

    fn push(&mut self, w: Waker) {
        if self.len < INLINE {
            self.inline[self.len] = Some(w);
            self.len += 1;
        } else {
            self.spill.push(w);
        }
    }

    /// Wakes them all. Call it with no lock held.
    pub(crate) fn wake(mut self) {
        for slot in &mut self.inline[..self.len] {
            if let Some(w) = slot.take() {
                w.wake();
            }
        }
        super::grant_queue::wake_all(std::mem::take(&mut self.spill));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
    use std::sync::Arc;
    use std::task::Wake;

    struct Count(AtomicUsize);
    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, SeqCst);
        }
    }

    #[test]
    fn notify_all_wakes_each_waiting_entry_once() {
        let c = Arc::new(Count(AtomicUsize::new(0)));
        let w = Waker::from(c.clone());
        let mut set = WakerSet::new();
        let mut keys = vec![None; INLINE + 5];
        for k in &mut keys {
            assert!(set.register(k, &w).is_none());
        }
        let mut list = WakeList::new();
        set.notify_all(&mut list);
        list.wake();
        assert_eq!(c.0.load(SeqCst), INLINE + 5);
        assert!(keys.iter().all(|k| set.is_notified(k.unwrap())));

        // Re-arm one; only it is woken next time.
        assert!(set.register(&mut keys[3], &w).is_none());
        assert!(!set.is_notified(keys[3].unwrap()));
        let mut list = WakeList::new();
        set.notify_all(&mut list);
        list.wake();
        assert_eq!(c.0.load(SeqCst), INLINE + 6);

        // A waiting entry gives its waker back on removal; a notified one does not.
        assert!(set.register(&mut keys[0], &w).is_none());
        assert!(set.remove(keys[0].unwrap()).is_some());
        assert!(set.remove(keys[1].unwrap()).is_none());
        let mut fresh = None;
        assert!(set.register(&mut fresh, &w).is_none());
        assert_eq!(fresh, keys[1], "entries are reused");

        // A disarmed entry is skipped by notify_all but stays allocated.
        assert!(set.disarm(fresh.unwrap()).is_some());
        assert!(set.disarm(fresh.unwrap()).is_none());
        let mut list = WakeList::new();
        set.notify_all(&mut list);
        list.wake();
        assert_eq!(c.0.load(SeqCst), INLINE + 6);
        assert!(set.register(&mut fresh, &w).is_none());
        assert!(!set.is_notified(fresh.unwrap()));
    }

    #[test]
    fn register_returns_a_replaced_waker() {
        let (a, b) = (
            Arc::new(Count(AtomicUsize::new(0))),
            Arc::new(Count(AtomicUsize::new(0))),
        );
        let (wa, wb) = (Waker::from(a.clone()), Waker::from(b.clone()));
        let mut set = WakerSet::new();
        let mut key = None;
        assert!(set.register(&mut key, &wa).is_none());
        assert!(set.register(&mut key, &wa).is_none(), "same task: kept");
        let old = set.register(&mut key, &wb).expect("another task: replaced");
        assert!(old.will_wake(&wa));
        let mut list = WakeList::new();
        set.notify_all(&mut list);
        list.wake();
        assert_eq!((a.0.load(SeqCst), b.0.load(SeqCst)), (0, 1));
    }
}
