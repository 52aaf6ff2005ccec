//! One level of the hierarchical wheel: 64 slots and a bitmap of the occupied ones.
//!
//! Level `L` has slots of `64^L` ticks, so it spans `64^(L+1)` ticks. The bitmap makes
//! "next occupied slot" one rotate and one `trailing_zeros`.

use super::nodes::{List, Nodes};

/// Slots per level.
pub(crate) const LEVEL_MULT: usize = 64;

/// Where and when the wheel next has work: the earliest occupied slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Expiration {
    pub(crate) level: usize,
    pub(crate) slot: usize,
    /// The tick at which the slot starts; no entry in it is due earlier.
    pub(crate) deadline: u64,
}

#[derive(Debug)]
pub(crate) struct Level {
    level: usize,
    /// Bit `i` set iff `slots[i]` is non-empty.
    occupied: u64,
    slots: [List; LEVEL_MULT],
}

/// Ticks covered by one slot of `level`.
#[inline]
pub(crate) const fn slot_range(level: usize) -> u64 {
    1u64 << (6 * level)
}

/// Ticks covered by the whole of `level`.
#[inline]
pub(crate) const fn level_range(level: usize) -> u64 {
    1u64 << (6 * (level + 1))
}

/// The slot of `level` that tick `when` falls in.
#[inline]
pub(crate) const fn slot_for(when: u64, level: usize) -> usize {
    ((when >> (6 * level)) as usize) % LEVEL_MULT
}

impl Level {
    pub(crate) fn new(level: usize) -> Level {
        Level {
            level,
            occupied: 0,
            slots: [const { List::new() }; LEVEL_MULT],
        }
    }

    /// The first occupied slot after `now`'s slot (wrapping), and its deadline.
    pub(crate) fn next_expiration(&self, now: u64) -> Option<Expiration> {
        if self.occupied == 0 {
            return None;
        }
        let slot_range = slot_range(self.level);
        let level_range = level_range(self.level);
        // Search from the slot after now's: now's own slot is empty on every level but
        // the top, where it holds only clamped entries and so comes *last* in rotation
        // order (searching from it would put them before earlier entries).
        let first = ((now / slot_range) as usize + 1) % LEVEL_MULT;
        let zeros = self.occupied.rotate_right(first as u32).trailing_zeros() as usize;
        let slot = (zeros + first) % LEVEL_MULT;
        let level_start = now & !(level_range - 1);
        let mut deadline = level_start + slot as u64 * slot_range;
        if deadline <= now {
            // Only the top level wraps: it holds entries clamped from beyond the
            // wheel's range in a slot "behind" now, meaning the next rotation.
            debug_assert_eq!(self.level, super::NUM_LEVELS - 1);
            deadline += level_range;
        }
        Some(Expiration {
            level: self.level,
            slot,
            deadline,
        })
    }

    /// Links node `i`, due at tick `when`, into its slot.
    pub(crate) fn add(&mut self, nodes: &mut Nodes, i: u32, when: u64) {
        let slot = slot_for(when, self.level);
        self.slots[slot].push_front(nodes, i);
        self.occupied |= 1 << slot;
    }

    /// Unlinks node `i`, due at tick `when`, from its slot.
    pub(crate) fn remove(&mut self, nodes: &mut Nodes, i: u32, when: u64) {
        let slot = slot_for(when, self.level);
        self.slots[slot].remove(nodes, i);
        if self.slots[slot].is_empty() {
            self.occupied &= !(1 << slot);
        }
    }

    /// Empties `slot`, returning its nodes.
    pub(crate) fn take_slot(&mut self, slot: usize) -> List {
        self.occupied &= !(1 << slot);
        self.slots[slot].take()
    }

    /// Unlinks any one node (shutdown drain).
    pub(crate) fn pop_any(&mut self, nodes: &mut Nodes) -> Option<u32> {
        if self.occupied == 0 {
            return None;
        }
        let slot = self.occupied.trailing_zeros() as usize;
        let i = self.slots[slot].pop_front(nodes);
        if self.slots[slot].is_empty() {
            self.occupied &= !(1 << slot);
        }
        i
    }
}
