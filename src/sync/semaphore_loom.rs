//! Loom models of the semaphore: the lock-free fast path (one CAS while nobody waits)
//! racing the locked slow path (`WAITERS` set, FIFO queue, grants), the
//! cancellation of a pending acquire whose permits may already have been granted,
//! and `close` racing a waiting acquire, a release and a cancellation.
//! Run with `RUSTFLAGS="--cfg loom" cargo test --release -p gorun --lib loom`.

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

// std's `Arc`: the owned acquire methods take `Arc<Semaphore>`.
use std::sync::Arc;

use loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use loom::thread;

use super::semaphore::{Semaphore, TryAcquireError};

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

/// `close` races a parked acquire and the release that would satisfy it. The
/// acquire is always woken (else loom reports a deadlock); it ends `Ok` only if it
/// started before the close returned; the permit is neither lost nor duplicated,
/// whether the grant came before the close (and was given back) or not; and the
/// closed semaphore refuses everyone after.
#[test]
fn loom_close_races_waiting_acquire_and_release() {
    let mut model = loom::model::Builder::new();
    model.preemption_bound = Some(2);
    model.check(|| {
        let sem = Arc::new(Semaphore::new(1));
        let closed = Arc::new(AtomicBool::new(false));
        let held = sem.clone().try_acquire_owned().unwrap();
        let waiter = {
            let (sem, closed) = (sem.clone(), closed.clone());
            thread::spawn(move || {
                let after_close = closed.load(SeqCst);
                match loom::future::block_on(sem.acquire()) {
                    Ok(p) => {
                        assert!(!after_close, "acquired after close returned");
                        assert_eq!(p.num_permits(), 1);
                    }
                    Err(_) => assert!(sem.is_closed()),
                }
            })
        };
        let releaser = thread::spawn(move || drop(held));
        sem.close();
        closed.store(true, SeqCst);
        waiter.join().unwrap();
        releaser.join().unwrap();
        assert_eq!(
            sem.available_permits(),
            1,
            "the permit was lost or duplicated"
        );
        assert_eq!(sem.try_acquire().unwrap_err(), TryAcquireError::Closed);
    });
}

/// `close` races the release that grants a queued acquire, and that acquire is
/// then dropped unseen: its grant (if any) comes back, so the count is whole.
#[test]
fn loom_close_races_a_grant_to_a_cancelled_acquire() {
    let mut model = loom::model::Builder::new();
    model.preemption_bound = Some(2);
    model.check(|| {
        let sem = Arc::new(Semaphore::new(1));
        let held = sem.clone().try_acquire_owned().unwrap();
        let mut acq = Box::pin(sem.acquire());
        let mut cx = Context::from_waker(Waker::noop());
        assert!(
            acq.as_mut().poll(&mut cx).is_pending(),
            "the permit is held"
        );
        let releaser = thread::spawn(move || drop(held));
        let closer = {
            let sem = sem.clone();
            thread::spawn(move || sem.close())
        };
        // Poll once more (it may see the grant, or the close), then cancel.
        if let Poll::Ready(r) = acq.as_mut().poll(&mut cx) {
            drop(r);
        }
        drop(acq);
        releaser.join().unwrap();
        closer.join().unwrap();
        assert_eq!(
            sem.available_permits(),
            1,
            "the permit was lost or duplicated"
        );
        assert!(sem.is_closed());
    });
}
