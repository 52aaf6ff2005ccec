//! Loom models of the semaphore: the lock-free fast path (one CAS while nobody waits)
//! racing the locked slow path (`WAITERS` set, FIFO queue, grants), and the
//! cancellation of a pending acquire whose permits may already have been granted.
//! Run with `RUSTFLAGS="--cfg loom" cargo test --release -p gorun --lib loom`.

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

// std's `Arc`: the owned acquire methods take `Arc<Semaphore>`.
use std::sync::Arc;

use loom::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use loom::thread;

use super::semaphore::Semaphore;

/// Acquire (parking if need be), hold, release; at most one holder at a time.
#[test]
fn loom_acquire_release_is_exclusive() {
    loom::model(|| {
        let sem = Arc::new(Semaphore::new(1));
        let holders = Arc::new(AtomicUsize::new(0));
        let worker = {
            let (sem, holders) = (sem.clone(), holders.clone());
            thread::spawn(move || {
                let p = loom::future::block_on(sem.acquire());
                assert_eq!(holders.fetch_add(1, SeqCst), 0);
                holders.fetch_sub(1, SeqCst);
                drop(p);
            })
        };
        let p = loom::future::block_on(sem.acquire());
        assert_eq!(holders.fetch_add(1, SeqCst), 0);
        holders.fetch_sub(1, SeqCst);
        drop(p);
        worker.join().unwrap();
        assert_eq!(sem.available_permits(), 1);
        assert!(sem.try_acquire().is_ok(), "WAITERS left set");
    });
}

/// A pending acquire is dropped while the holder releases: the permit is never lost,
/// whether it was granted to the dropped waiter first or not.
#[test]
fn loom_dropped_acquire_gives_its_grant_back() {
    loom::model(|| {
        let sem = Arc::new(Semaphore::new(1));
        let held = sem.clone().try_acquire_owned().unwrap();
        let releaser = thread::spawn(move || drop(held));
        {
            let mut acq = pin!(sem.acquire());
            let mut cx = Context::from_waker(Waker::noop());
            if let Poll::Ready(p) = acq.as_mut().poll(&mut cx) {
                drop(p);
            }
            // Dropped here: queued, granted or never parked.
        }
        releaser.join().unwrap();
        assert_eq!(sem.available_permits(), 1);
        assert!(
            sem.try_acquire().is_ok(),
            "the permit was lost or WAITERS left set"
        );
    });
}

/// Two waiters behind a holder, one of them cancelled: the other still gets the
/// permit (FIFO hand-off skips the dropped slot).
#[test]
fn loom_cancel_does_not_strand_the_next_waiter() {
    // Three threads: bound the preemptions (as tokio's CI does) to keep it to seconds.
    let mut model = loom::model::Builder::new();
    model.preemption_bound = Some(2);
    model.check(|| {
        let sem = Arc::new(Semaphore::new(1));
        let held = sem.clone().try_acquire_owned().unwrap();
        let waiter = {
            let sem = sem.clone();
            thread::spawn(move || drop(loom::future::block_on(sem.acquire())))
        };
        let canceller = {
            let sem = sem.clone();
            thread::spawn(move || {
                let mut acq = pin!(sem.acquire());
                let mut cx = Context::from_waker(Waker::noop());
                let _ = acq.as_mut().poll(&mut cx);
            })
        };
        drop(held);
        canceller.join().unwrap();
        waiter.join().unwrap();
        assert_eq!(sem.available_permits(), 1);
    });
}
