//! One thread's event log: appended to by that thread alone, without a lock, and
//! read by `stop` while the thread may still be appending (an event a racing
//! thread records as the trace stops is simply not read).
//!
//! The lock this replaces (an uncontended spin lock taken for every event) was a
//! `lock cmpxchg` per event, most of the append's cost (benches/LOG.md).
//!
//! # Invariants
//! 1. Only the owning thread appends ([`Log::push`]'s contract). It writes slot `n`,
//!    then publishes `len = n + 1` with a release store; a slot is written once,
//!    before it is published, and never again.
//! 2. Chunk `k`'s pointer is stored (release) before any slot of it is written, so
//!    before any is published; chunks are freed only when the log is dropped, when
//!    no thread can write or read it.
//! 3. Readers load `len` with acquire and read only slots below it: written and
//!    published, so the read happens after the write (invariant 1), with no race.

use std::mem::MaybeUninit;
use std::ptr;

use super::Event;
use crate::loom::{AtomicPtr, AtomicUsize, Ordering::*};

/// Events per chunk.
#[cfg(not(loom))]
const CHUNK: usize = 2048;
#[cfg(loom)]
const CHUNK: usize = 2;

/// Events a log holds at most (32 bytes each: 128 MiB).
#[cfg(not(loom))]
pub(crate) const MAX_EVENTS: usize = 4 << 20;
#[cfg(loom)]
pub(crate) const MAX_EVENTS: usize = 4;

/// One event's place.
struct Slot(UnsafeCell<MaybeUninit<Event>>);

struct Chunk {
    slots: Box<[Slot]>,
}

impl Chunk {
    fn new() -> Box<Chunk> {
        Box::new(Chunk {
            slots: (0..CHUNK)
                .map(|_| Slot(UnsafeCell::new(MaybeUninit::uninit())))
                .collect(),
        })
    }
}

/// An append-only log with one writer; see the module docs.
pub(crate) struct Log {
    chunks: Box<[AtomicPtr<Chunk>]>,
    len: AtomicUsize,
}

// SAFETY: the slots are written by the owner only, each before it is published,
// and read by others only once published (invariants 1 and 3); the rest is atomics.
unsafe impl Sync for Log {}
// SAFETY: as above; the chunks are owned (freed on drop) and hold plain data.
unsafe impl Send for Log {}

impl Log {
    pub(crate) fn new() -> Log {
        Log {
            chunks: (0..MAX_EVENTS.div_ceil(CHUNK))
                .map(|_| AtomicPtr::new(ptr::null_mut()))
                .collect(),
            len: AtomicUsize::new(0),
        }
    }

    /// Appends `event`; `false` (and nothing kept) when the log is full.
    ///
    /// # Safety
    /// Only one thread ever appends to this log (invariant 1).
    pub(crate) unsafe fn push(&self, event: Event) -> bool {
        // Our own store: the owner is the only writer of `len`.
        let n = self.len.load(Relaxed);
        if n == MAX_EVENTS {
            return false;
        }
        let slot = &self.chunk_for_push(n / CHUNK).slots[n % CHUNK];
        slot.0.with_mut(|p| {
            // SAFETY: slot `n` is not published (`len == n`), so no reader touches
            // it, and we are its only writer (the caller's contract).
            unsafe { (*p).write(event) };
        });
        self.len.store(n + 1, Release);
        true
    }

    /// Chunk `k`, allocated (and its pointer published, invariant 2) if need be.
    fn chunk_for_push(&self, k: usize) -> &Chunk {
        // Our own store, if any: the owner is the only writer of the pointers.
        let mut c = self.chunks[k].load(Relaxed);
        if c.is_null() {
            c = Box::into_raw(Chunk::new());
            self.chunks[k].store(c, Release);
        }
        // SAFETY: non-null pointers come from `Box::into_raw` above and are freed
        // only by `drop` (invariant 2), which cannot run while `self` is borrowed.
        unsafe { &*c }
    }

    /// Events published so far (a reader's bound, invariant 3).
    pub(crate) fn published(&self) -> usize {
        self.len.load(Acquire)
    }

    /// Event `i`, which must be below a [`published`](Log::published) count read
    /// before.
    pub(crate) fn get(&self, i: usize) -> Event {
        let c = self.chunks[i / CHUNK].load(Acquire);
        assert!(!c.is_null(), "gorun trace: event {i} was never published");
        // SAFETY: the chunk lives until the log drops (invariant 2); slot `i` was
        // written before `len` passed it, and the caller read `len` (acquire) after
        // that, so the write happened before this read and is never repeated.
        let slot = unsafe { &(*c).slots[i % CHUNK] };
        slot.0.with(|p| {
            // SAFETY: as above: the slot is initialized and no longer written.
            unsafe { (*p).assume_init() }
        })
    }
}

impl Drop for Log {
    fn drop(&mut self) {
        for c in self.chunks.iter() {
            // `&mut self`: no other thread holds the log, any load is exclusive.
            let p = c.load(Relaxed);
            if !p.is_null() {
                // SAFETY: from `Box::into_raw` in `chunk_for_push`, freed once here.
                drop(unsafe { Box::from_raw(p) });
            }
        }
    }
}

/// `std::cell::UnsafeCell`, or loom's (which checks accesses) under `--cfg loom`,
/// behind loom's closure-style API.
#[cfg(not(loom))]
struct UnsafeCell<T>(std::cell::UnsafeCell<T>);

#[cfg(not(loom))]
impl<T> UnsafeCell<T> {
    fn new(value: T) -> Self {
        UnsafeCell(std::cell::UnsafeCell::new(value))
    }
    fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
        f(self.0.get())
    }
    fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
        f(self.0.get())
    }
}

#[cfg(loom)]
use loom::cell::UnsafeCell;

#[cfg(test)]
fn event(i: usize) -> Event {
    Event {
        start: i as u64,
        end: i as u64 + 1,
        what: super::What::Park,
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn events_come_back_in_order_across_chunks() {
        let log = Log::new();
        for i in 0..3 * CHUNK + 5 {
            // SAFETY: this thread is the log's only writer.
            assert!(unsafe { log.push(event(i)) });
        }
        assert_eq!(log.published(), 3 * CHUNK + 5);
        for i in 0..3 * CHUNK + 5 {
            assert_eq!((log.get(i).start, log.get(i).end), (i as u64, i as u64 + 1));
        }
    }

    #[test]
    fn a_full_log_keeps_what_it_has_and_refuses_more() {
        let log = Log::new();
        for i in 0..MAX_EVENTS {
            // SAFETY: this thread is the log's only writer.
            assert!(unsafe { log.push(event(i)) });
        }
        // SAFETY: as above.
        assert!(!unsafe { log.push(event(0)) });
        assert_eq!(log.published(), MAX_EVENTS);
        assert_eq!(log.get(MAX_EVENTS - 1).start, MAX_EVENTS as u64 - 1);
    }

    #[test]
    fn a_reader_beside_the_writer_sees_whole_events() {
        let log = std::sync::Arc::new(Log::new());
        let writer = {
            let log = log.clone();
            std::thread::spawn(move || {
                for i in 0..200_000 {
                    // SAFETY: this thread is the log's only writer.
                    assert!(unsafe { log.push(event(i)) });
                }
            })
        };
        let mut seen = 0;
        while seen < 200_000 {
            let n = log.published();
            for i in seen..n {
                let e = log.get(i);
                assert_eq!((e.start, e.end), (i as u64, i as u64 + 1));
            }
            seen = n;
        }
        writer.join().unwrap();
    }
}

#[cfg(all(test, loom))]
mod tests_loom {
    use super::*;

    /// A reader racing the writer across a chunk boundary reads only whole,
    /// published events (loom's cells flag any read that races a write: with a
    /// relaxed publication of `len`, this fails with a causality violation).
    #[test]
    fn loom_reader_sees_only_published_events() {
        loom::model(|| {
            let log = loom::sync::Arc::new(Log::new());
            let writer = {
                let log = log.clone();
                loom::thread::spawn(move || {
                    for i in 0..3 {
                        // SAFETY: this thread is the log's only writer.
                        assert!(unsafe { log.push(event(i)) });
                    }
                })
            };
            // A step before the load: without one loom 0.7.3 explored a single
            // interleaving (the load first), and the broken variant passed.
            loom::thread::yield_now();
            let n = log.published();
            for i in 0..n {
                assert_eq!(log.get(i).start, i as u64);
            }
            writer.join().unwrap();
            assert_eq!(log.published(), 3);
            assert_eq!(log.get(2).end, 3);
        });
    }
}
