//! Model tests: random insert / cancel / advance sequences against a `BTreeMap` of
//! deadlines. Checks that entries fire exactly when due, in deadline order, once,
//! that cancelled entries never fire, and that the wheel holds one link node per
//! linked entry.

use std::collections::BTreeSet;
use std::pin::Pin;
use std::ptr::NonNull;

use proptest::prelude::*;

use super::*;
use crate::entry::{Entry, FIRED, REGISTERED, UNREGISTERED};

struct Harness {
    wheel: Wheel,
    entries: Vec<Pin<Box<Entry>>>,
    /// Model: (when, id) of linked entries.
    model: BTreeSet<(u64, usize)>,
    whens: Vec<u64>,
}

impl Harness {
    fn new() -> Self {
        Harness {
            wheel: Wheel::new(0),
            entries: Vec::new(),
            model: BTreeSet::new(),
            whens: Vec::new(),
        }
    }

    fn ptr(&self, id: usize) -> NonNull<Entry> {
        NonNull::from(&*self.entries[id])
    }

    fn insert(&mut self, delta: u64) {
        let id = self.entries.len();
        self.entries.push(Box::pin(Entry::new()));
        let when = self.wheel.elapsed() + delta;
        self.whens.push(when);
        // SAFETY: the boxed entry lives in `entries` until the harness is dropped,
        // after every entry is unlinked (see Drop).
        match unsafe { self.wheel.insert(self.ptr(id), when) } {
            Ok(()) => {
                self.entries[id].set_state(REGISTERED);
                self.model.insert((when, id));
            }
            Err(()) => {
                assert_eq!(delta, 0, "only already-due entries are refused");
                self.entries[id].set_state(FIRED);
            }
        }
    }

    fn cancel(&mut self, pick: usize) {
        if self.entries.is_empty() {
            return;
        }
        let id = pick % self.entries.len();
        if self.entries[id].state() == REGISTERED {
            // SAFETY: the entry is linked (REGISTERED).
            unsafe { self.wheel.remove(self.ptr(id)) };
            self.entries[id].set_state(UNREGISTERED);
            assert!(self.model.remove(&(self.whens[id], id)));
        }
    }

    fn advance(&mut self, delta: u64) {
        let now = self.wheel.elapsed() + delta;
        let mut fired = Vec::new();
        while let Some(e) = self.wheel.poll(now) {
            let id = self
                .entries
                .iter()
                .position(|x| std::ptr::eq(&**x, e.as_ptr()))
                .unwrap();
            assert_eq!(
                self.entries[id].state(),
                REGISTERED,
                "fired twice / cancelled"
            );
            self.entries[id].set_state(FIRED);
            fired.push((self.whens[id], id));
        }
        assert_eq!(self.wheel.elapsed(), now);
        // Deadline order.
        assert!(fired.windows(2).all(|w| w[0].0 <= w[1].0), "{fired:?}");
        // Exactly the due ones.
        let due: Vec<_> = self
            .model
            .iter()
            .copied()
            .take_while(|(w, _)| *w <= now)
            .collect();
        let mut got = fired.clone();
        got.sort();
        assert_eq!(got, due);
        for d in &due {
            self.model.remove(d);
        }
        // The next expiration never overshoots the earliest linked entry.
        if let Some(&(first, _)) = self.model.iter().next() {
            let exp = self.wheel.next_expiration().unwrap();
            assert!(exp.deadline <= first && exp.deadline > now);
        } else {
            assert!(self.wheel.next_expiration().is_none());
        }
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        for id in 0..self.entries.len() {
            if self.entries[id].state() == REGISTERED {
                // SAFETY: linked.
                unsafe { self.wheel.remove(self.ptr(id)) };
                self.entries[id].set_state(UNREGISTERED);
            }
        }
    }
}

#[derive(Debug, Clone)]
enum Op {
    Insert(u64),
    Cancel(usize),
    Advance(u64),
}

fn delta() -> impl Strategy<Value = u64> {
    prop_oneof![
        0u64..70,
        0u64..5_000,
        0u64..300_000,
        0u64..20_000_000,
        (MAX_DURATION - 10)..(MAX_DURATION * 3),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => delta().prop_map(Op::Insert),
        1 => any::<usize>().prop_map(Op::Cancel),
        2 => delta().prop_map(Op::Advance),
    ]
}

proptest! {
    #[test]
    fn wheel_matches_model(ops in proptest::collection::vec(op(), 1..120)) {
        let mut h = Harness::new();
        for op in ops {
            match op {
                Op::Insert(d) => h.insert(d),
                Op::Cancel(i) => h.cancel(i),
                Op::Advance(d) => h.advance(d),
            }
            // One link node per linked entry: none leaked, none shared.
            prop_assert_eq!(h.wheel.live_nodes(), h.model.len());
        }
        // Drain everything: far entries included, they fire at their own tick.
        while let Some(&(last, _)) = h.model.iter().next_back() {
            let now = h.wheel.elapsed();
            h.advance(last - now);
        }
    }
}

#[test]
fn level_for_boundaries() {
    assert_eq!(level_for(0, 1), 0);
    assert_eq!(level_for(0, 63), 0);
    assert_eq!(level_for(0, 64), 1);
    assert_eq!(level_for(0, 4095), 1);
    assert_eq!(level_for(0, 4096), 2);
    assert_eq!(level_for(0, MAX_DURATION), 5);
    assert_eq!(level_for(0, u64::MAX - 1), 5, "clamped");
    assert_eq!(level_for(63, 64), 1);
}

#[test]
fn far_entry_fires_on_its_tick_not_before() {
    let mut h = Harness::new();
    h.insert(MAX_DURATION * 2 + 17);
    // Step through rotations: nothing fires early.
    for _ in 0..4 {
        h.advance(MAX_DURATION / 2);
    }
    assert_eq!(h.model.len(), 1);
    let rest = h.whens[0] - h.wheel.elapsed();
    h.advance(rest - 1);
    assert_eq!(h.model.len(), 1, "one tick early");
    h.advance(1);
    assert!(h.model.is_empty());
}

/// The entry accessors take the locked wheel as a token and, with debug assertions,
/// check that it is the wheel of the shard the entry records.
#[test]
#[cfg(debug_assertions)]
#[should_panic(expected = "under another shard's lock")]
fn entry_fields_need_their_own_shards_wheel() {
    let wheel = Wheel::new(0);
    let entry = Box::pin(Entry::new());
    entry.set_shard(1);
    // SAFETY: not: the wrong shard's wheel, which the debug check catches before
    // any access.
    let _ = unsafe { entry.node(&wheel) };
}
