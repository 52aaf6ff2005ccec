//! A global allocator for tests that count the allocations a piece of code leaves
//! alive (Go's `TestTimerGC` reads `MemStats` the same way): every block carries a
//! header naming the slot it was allocated under, so a free on another thread (a
//! timer thread, a worker) counts too, and allocations by tests running in parallel
//! do not. A test binary installs it with
//! `#[global_allocator] static GLOBAL: Tagging = Tagging;`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicIsize, AtomicUsize, Ordering::SeqCst};
use std::time::Duration;

/// Counts the live allocations one thread made while tracking, wherever they are
/// freed: every block carries a header naming the slot it was allocated under (0:
/// untracked), so a free on another thread (a timer thread, a worker) counts too,
/// and allocations by tests running in parallel do not.
pub struct Track(usize);

static LIVE: [AtomicIsize; 256] = [const { AtomicIsize::new(0) }; 256];
static NEXT_SLOT: AtomicUsize = AtomicUsize::new(0);
thread_local! {
    static SLOT: Cell<usize> = const { Cell::new(0) };
}

impl Track {
    pub fn start() -> Track {
        let slot = 1 + NEXT_SLOT.fetch_add(1, SeqCst) % 255;
        LIVE[slot].store(0, SeqCst);
        SLOT.with(|s| s.set(slot));
        Track(slot)
    }

    /// Stops tracking and returns the live count, once below `limit` or after 2 s
    /// (for frees a driver makes on a later pass, as Go's test runs the GC first).
    pub fn settle(self, limit: isize) -> isize {
        SLOT.with(|s| s.set(0));
        let deadline = std::time::Instant::now() + Duration::from_secs(2);
        while LIVE[self.0].load(SeqCst) >= limit && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        LIVE[self.0].load(SeqCst)
    }
}

pub struct Tagging;

/// The block with its header in front: (layout, header size).
pub fn outer(layout: Layout) -> Option<(Layout, usize)> {
    let hdr = layout.align().max(16);
    let size = layout.size().checked_add(hdr)?;
    Some((Layout::from_size_align(size, hdr).ok()?, hdr))
}

// SAFETY: forwards to the system allocator with a header in front of each block,
// whose size depends on the layout alone, so `dealloc` finds it again (`realloc` is
// the default: a new block, a copy, and `dealloc`).
unsafe impl GlobalAlloc for Tagging {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let Some((outer, hdr)) = outer(layout) else {
            return std::ptr::null_mut();
        };
        // SAFETY: `outer` has a non-zero size.
        let base = unsafe { System.alloc(outer) };
        if base.is_null() {
            return base;
        }
        // A const-initialised `Cell` thread-local never allocates.
        let slot = SLOT.try_with(Cell::get).unwrap_or(0);
        if slot != 0 {
            LIVE[slot].fetch_add(1, SeqCst);
        }
        // SAFETY: `hdr` (a multiple of 16) bytes of `outer` lie before the returned
        // block; the slot word is the aligned last word of them.
        unsafe {
            let p = base.add(hdr);
            p.cast::<usize>().sub(1).write(slot);
            p
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        let Some((outer, hdr)) = outer(layout) else {
            return;
        };
        // SAFETY: `ptr` came from `alloc` with this layout: its header is in front.
        let slot = unsafe { ptr.cast::<usize>().sub(1).read() };
        if slot != 0 {
            LIVE[slot].fetch_sub(1, SeqCst);
        }
        // SAFETY: the block was allocated at `ptr - hdr` with `outer`.
        unsafe { System.dealloc(ptr.sub(hdr), outer) }
    }
}
