//! The wheel's link nodes: a slab the wheel owns, one node per linked entry, and the
//! doubly linked lists (one per slot, and the pending list) threaded through it by
//! index.
//!
//! Keeping the links here rather than in the entries (tokio threads its lists
//! through the entries) means linking and unlinking touch this dense array, where
//! nodes linked one after another sit side by side, not the neighbours' entries,
//! which live scattered over task futures and are cold by the time a timer is
//! cancelled. A node is 24 bytes; the slab keeps its high-water mark (freed nodes
//! are reused, last freed first, so a steady load touches the same few pages).
//!
//! Everything here runs under the shard's lock: holding `&mut Nodes` is holding it.

use std::ptr::NonNull;

use crate::entry::Entry;

/// "No node": the end of a list, or a free node's entry-less state.
pub(crate) const NIL: u32 = u32::MAX;

/// `when` of a node on the pending list (due, not yet fired).
pub(crate) const PENDING: u64 = u64::MAX;

struct Node {
    prev: u32,
    /// The next node on its list; on the free list, the next free node.
    next: u32,
    /// Deadline tick, or [`PENDING`].
    when: u64,
    /// The entry this node links; `None` while the node is free. Valid while the
    /// entry is `REGISTERED` (entry ground rule 5).
    entry: Option<NonNull<Entry>>,
}

/// The slab of nodes, with a free list through `next`.
#[derive(Default)]
pub(crate) struct Nodes {
    nodes: Vec<Node>,
    free: Option<u32>,
    /// Nodes allocated and not freed: entries linked (for the runtime's metrics).
    len: usize,
}

// SAFETY: the entry pointers are only dereferenced by the wheel's users under the
// shard lock; entries are `Sync` (see `entry.rs`).
unsafe impl Send for Nodes {}

impl std::fmt::Debug for Nodes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Nodes")
            .field("len", &self.nodes.len())
            .finish_non_exhaustive()
    }
}

impl Nodes {
    /// A node for `entry`, due at `when`, on no list.
    pub(crate) fn alloc(&mut self, entry: NonNull<Entry>, when: u64) -> u32 {
        let node = Node {
            prev: NIL,
            next: NIL,
            when,
            entry: Some(entry),
        };
        self.len += 1;
        match self.free {
            Some(i) => {
                let slot = &mut self.nodes[i as usize];
                self.free = (slot.next != NIL).then_some(slot.next);
                *slot = node;
                i
            }
            None => {
                let i = u32::try_from(self.nodes.len())
                    .ok()
                    .filter(|&i| i != NIL)
                    .expect("gorun-timer: more than 2^32 - 1 timers armed in one wheel");
                self.nodes.push(node);
                i
            }
        }
    }

    /// Frees node `i` (on no list), returning its entry.
    pub(crate) fn free(&mut self, i: u32) -> NonNull<Entry> {
        let next_free = self.free.unwrap_or(NIL);
        let node = &mut self.nodes[i as usize];
        let entry = node.entry.take().expect("freeing a free node");
        self.len -= 1;
        node.next = next_free;
        node.prev = NIL;
        self.free = Some(i);
        entry
    }

    #[inline]
    pub(crate) fn when(&self, i: u32) -> u64 {
        self.nodes[i as usize].when
    }

    #[inline]
    pub(crate) fn set_when(&mut self, i: u32, when: u64) {
        self.nodes[i as usize].when = when;
    }

    /// Nodes in use (allocated and not freed).
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Nodes in use, counted by a walk over the slab (for tests: it checks `len`).
    #[cfg(test)]
    pub(crate) fn live(&self) -> usize {
        let live = self.nodes.iter().filter(|n| n.entry.is_some()).count();
        assert_eq!(live, self.len, "the live count drifted");
        live
    }
}

/// A doubly linked list of nodes (one wheel slot, or the pending list).
#[derive(Debug, Clone, Copy)]
pub(crate) struct List {
    head: u32,
}

impl List {
    pub(crate) const fn new() -> List {
        List { head: NIL }
    }

    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.head == NIL
    }

    /// Links node `i` (on no list) at the front.
    pub(crate) fn push_front(&mut self, nodes: &mut Nodes, i: u32) {
        let head = self.head;
        {
            let n = &mut nodes.nodes[i as usize];
            n.prev = NIL;
            n.next = head;
        }
        if head != NIL {
            nodes.nodes[head as usize].prev = i;
        }
        self.head = i;
    }

    /// Unlinks and returns the front node.
    pub(crate) fn pop_front(&mut self, nodes: &mut Nodes) -> Option<u32> {
        let head = self.head;
        if head == NIL {
            return None;
        }
        self.remove(nodes, head);
        Some(head)
    }

    /// Unlinks node `i`, which is on this list.
    pub(crate) fn remove(&mut self, nodes: &mut Nodes, i: u32) {
        let (prev, next) = {
            let n = &nodes.nodes[i as usize];
            (n.prev, n.next)
        };
        if prev == NIL {
            debug_assert_eq!(self.head, i, "node is not on this list");
            self.head = next;
        } else {
            nodes.nodes[prev as usize].next = next;
        }
        if next != NIL {
            nodes.nodes[next as usize].prev = prev;
        }
        let n = &mut nodes.nodes[i as usize];
        n.prev = NIL;
        n.next = NIL;
    }

    /// Takes the whole list, leaving this one empty.
    pub(crate) fn take(&mut self) -> List {
        std::mem::replace(self, List::new())
    }
}
