//! The hierarchical timing wheel (Varghese & Lauck, "Hashed and Hierarchical Timing
//! Wheels", SOSP 1987), laid out as tokio's `runtime/time/wheel`: 6 levels of 64 slots
//! at 125 µs per tick (see `clock.rs`), so it spans 64^6 ticks (about 99 days).
//!
//! An entry due at tick `when` goes to the level of the most significant 6-bit digit
//! in which `when` differs from `elapsed`, in the slot given by that digit of `when`.
//! Insert and cancel are O(1) (a bit and a list link); expiry takes the earliest
//! occupied slot, moves its due entries to `pending` and re-inserts the rest one level
//! down (cascading), so each entry moves at most once per level.
//!
//! # Invariants
//!
//! 1. `elapsed` only grows, and only to a tick no later than any linked entry's slot
//!    deadline; so an entry's level and slot, computed from `elapsed` and its `when`,
//!    stay the same while it is linked, and `remove` finds it again.
//! 2. Every entry in a slot has `when > elapsed` (insert refuses the rest); entries
//!    on `pending` are due and have `when == PENDING`.
//! 3. The lowest occupied level holds the earliest entries.
//! 4. Entries further than the wheel's range are clamped into the top level, which
//!    then acts as a ring; they re-cascade each rotation until their `when` is in
//!    range, so they never fire early.
//!
//! The lists are of link nodes in a slab the wheel owns (`nodes.rs`), each pointing
//! at its entry, which records the node's index.
//!
//! Everything here runs under the driver lock: holding `&Wheel` or `&mut Wheel` is
//! holding it (the wheel lives in its shard's lock and is not `Sync`), and the entry
//! accessors take it as their proof.

mod level;
mod nodes;

use std::ptr::NonNull;

use crate::entry::Entry;
pub(crate) use level::Expiration;
use level::Level;
use nodes::{List, Nodes, PENDING};

/// Levels of the wheel.
pub(crate) const NUM_LEVELS: usize = 6;

/// The largest distance `when - elapsed` that the levels represent exactly.
pub(crate) const MAX_DURATION: u64 = (1 << (6 * NUM_LEVELS)) - 1;

#[derive(Debug)]
pub(crate) struct Wheel {
    /// The tick up to which the wheel has been processed.
    elapsed: u64,
    levels: Box<[Level; NUM_LEVELS]>,
    /// Due entries not yet fired.
    pending: List,
    nodes: Nodes,
    /// The shard this wheel is the wheel of: the entries it links record it. Kept
    /// for the entries' debug check only (in release builds the field moved the
    /// shard's hot fields, measurably).
    #[cfg(debug_assertions)]
    shard: usize,
    /// Not `Sync`: a `&Wheel` is then held by one thread only (the one holding the
    /// shard's lock), which is what makes it a lock token for the entries' fields
    /// (`entry.rs`, ground rule 2).
    _not_sync: std::marker::PhantomData<std::cell::Cell<()>>,
}

/// The level an entry due at `when` belongs to, seen from `elapsed`.
#[inline]
fn level_for(elapsed: u64, when: u64) -> usize {
    const SLOT_MASK: u64 = (1 << 6) - 1;
    let mut masked = (elapsed ^ when) | SLOT_MASK;
    if masked >= MAX_DURATION {
        masked = MAX_DURATION - 1; // clamp into the top level (invariant 4)
    }
    let significant = 63 - masked.leading_zeros() as usize;
    significant / 6
}

impl Wheel {
    /// The wheel of shard `shard`.
    pub(crate) fn new(shard: usize) -> Wheel {
        #[cfg(not(debug_assertions))]
        let _ = shard;
        Wheel {
            elapsed: 0,
            levels: Box::new(std::array::from_fn(Level::new)),
            pending: List::new(),
            nodes: Nodes::default(),
            #[cfg(debug_assertions)]
            shard,
            _not_sync: std::marker::PhantomData,
        }
    }

    /// The shard this is the wheel of (known with debug assertions only).
    #[cfg(debug_assertions)]
    #[inline]
    pub(crate) fn shard(&self) -> usize {
        self.shard
    }

    #[cfg(test)]
    pub(crate) fn elapsed(&self) -> u64 {
        self.elapsed
    }

    /// Links `entry`, due at tick `when`. Returns `Err(())`, linking nothing, when
    /// `when <= elapsed`: the entry is already due.
    ///
    /// # Safety
    /// `entry` is live, not linked, records this wheel's shard, and is unlinked with
    /// [`Wheel::remove`] or popped by [`Wheel::poll`] before it goes away (entry
    /// ground rules 5 and 6).
    pub(crate) unsafe fn insert(&mut self, entry: NonNull<Entry>, when: u64) -> Result<(), ()> {
        if when <= self.elapsed {
            return Err(());
        }
        debug_assert_ne!(when, PENDING);
        let i = self.nodes.alloc(entry, when);
        // SAFETY: the caller vouches for the entry's life and that it records this
        // wheel's shard.
        unsafe { entry.as_ref().set_node(self, i) };
        let level = level_for(self.elapsed, when);
        self.levels[level].add(&mut self.nodes, i, when);
        Ok(())
    }

    /// Unlinks `entry`, wherever it is.
    ///
    /// # Safety
    /// `entry` is linked into this wheel (a slot or the pending list).
    pub(crate) unsafe fn remove(&mut self, entry: NonNull<Entry>) {
        // SAFETY: linked entries are live and record the shard they are linked in.
        let i = unsafe { entry.as_ref().node(self) };
        let when = self.nodes.when(i);
        if when == PENDING {
            self.pending.remove(&mut self.nodes, i);
        } else {
            debug_assert!(when > self.elapsed);
            // Invariant 1: `level_for` finds the slot it was put in.
            let level = level_for(self.elapsed, when);
            self.levels[level].remove(&mut self.nodes, i, when);
        }
        self.nodes.free(i);
    }

    /// The earliest occupied slot (invariant 3), if any. Its deadline is a lower bound
    /// on every linked entry's `when`.
    pub(crate) fn next_expiration(&self) -> Option<Expiration> {
        if !self.pending.is_empty() {
            return Some(Expiration {
                level: 0,
                slot: 0,
                deadline: self.elapsed,
            });
        }
        self.levels
            .iter()
            .find_map(|level| level.next_expiration(self.elapsed))
    }

    /// Unlinks and returns one entry due at or before `now`, or `None` when there is no
    /// more, having then advanced `elapsed` to `now`.
    pub(crate) fn poll(&mut self, now: u64) -> Option<NonNull<Entry>> {
        loop {
            if let Some(i) = self.pending.pop_front(&mut self.nodes) {
                return Some(self.nodes.free(i));
            }
            match self.next_expiration() {
                Some(exp) if exp.deadline <= now => self.process_expiration(exp),
                _ => {
                    self.set_elapsed(now);
                    return None;
                }
            }
        }
    }

    /// Empties the slot of `exp`: due entries go to `pending`, the rest cascade down.
    fn process_expiration(&mut self, exp: Expiration) {
        let mut list = self.levels[exp.level].take_slot(exp.slot);
        // Re-inserts below are computed from the slot's start.
        self.set_elapsed(exp.deadline);
        while let Some(i) = list.pop_front(&mut self.nodes) {
            let when = self.nodes.when(i);
            if when <= exp.deadline {
                self.nodes.set_when(i, PENDING);
                self.pending.push_front(&mut self.nodes, i);
            } else {
                let level = level_for(self.elapsed, when);
                debug_assert!(
                    level < exp.level || exp.level == NUM_LEVELS - 1,
                    "cascade must go down"
                );
                self.levels[level].add(&mut self.nodes, i, when);
            }
        }
    }

    fn set_elapsed(&mut self, when: u64) {
        if when > self.elapsed {
            self.elapsed = when;
        }
    }

    /// Unlinks any one entry, for shutdown.
    pub(crate) fn pop_any(&mut self) -> Option<NonNull<Entry>> {
        let i = match self.pending.pop_front(&mut self.nodes) {
            Some(i) => i,
            None => {
                let nodes = &mut self.nodes;
                self.levels.iter_mut().find_map(|l| l.pop_any(nodes))?
            }
        };
        Some(self.nodes.free(i))
    }

    /// Entries linked (armed, or due and not yet fired).
    pub(crate) fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Nodes in use, for tests: one per linked entry.
    #[cfg(test)]
    pub(crate) fn live_nodes(&self) -> usize {
        self.nodes.live()
    }
}

#[cfg(test)]
mod tests;
