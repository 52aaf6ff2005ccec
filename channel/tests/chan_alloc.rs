//! No allocation per message in steady state: parked sends and receives keep
//! their waiters inline, the ring buffer grows once to its capacity and stays, and
//! a select over a few cases keeps everything on the stack.
#![cfg(not(loom))]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::future::{Future, IntoFuture};
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use gorun_channel::{chan, Select};

struct Counting;

thread_local! {
    // Each thread counts its own allocations, and the test reads its thread's
    // count: the harness's main thread may allocate at any moment (it first blocks
    // waiting for the test's result whenever the scheduler gets to it), and that is
    // not the channel's doing.
    static ALLOCS: Cell<usize> = const { Cell::new(0) };
}

fn allocs() -> usize {
    ALLOCS.with(Cell::get)
}

// SAFETY: forwards to the system allocator, only counting calls.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // A const-initialised `Cell<usize>` thread-local has no destructor and
        // never allocates, so counting here cannot recurse.
        let _ = ALLOCS.try_with(|n| n.set(n.get() + 1));
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn steady_state_allocates_nothing() {
    let mut cx = Context::from_waker(Waker::noop());
    for cap in [0usize, 1, 8] {
        let (tx, rx) = chan::<u64>(cap);
        let (tx2, rx2) = chan::<u64>(cap);
        // The steady state: each ring has grown to its capacity once.
        for (tx, rx) in [(&tx, &rx), (&tx2, &rx2)] {
            for k in 0..cap as u64 {
                tx.try_send(k).unwrap();
            }
            while rx.try_recv().is_ok() {}
        }
        let before = allocs();
        for i in 0..1000u64 {
            // A parked receive, completed by a send.
            let mut r = pin!(rx.recv());
            assert!(r.as_mut().poll(&mut cx).is_pending());
            tx.try_send(i).unwrap();
            assert_eq!(r.as_mut().poll(&mut cx), Poll::Ready(Some(i)));
            // A parked send (buffer full), completed by a receive.
            for k in 0..cap as u64 {
                tx.try_send(k).unwrap();
            }
            let mut s = pin!(tx.send(i));
            assert!(s.as_mut().poll(&mut cx).is_pending());
            for _ in 0..=cap {
                rx.try_recv().unwrap();
            }
            assert!(s.as_mut().poll(&mut cx).is_ready());
            // A parked select over two channels, fired by a peer.
            let mut sel = pin!(Select::new().recv(&rx).recv(&rx2).into_future());
            assert!(sel.as_mut().poll(&mut cx).is_pending());
            tx2.try_send(i).unwrap();
            assert!(sel.as_mut().poll(&mut cx).is_ready());
        }
        assert_eq!(allocs() - before, 0, "cap {cap}");
    }
}
