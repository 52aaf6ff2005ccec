//! `gorun::sync::Semaphore`: permits, FIFO, cancel safety, owned permits.

use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use gorun::sync::Semaphore;

fn poll_once<F: Future>(f: std::pin::Pin<&mut F>) -> Poll<F::Output> {
    f.poll(&mut Context::from_waker(Waker::noop()))
}

#[test]
fn try_acquire_counts_permits() {
    let sem = Semaphore::new(3);
    let a = sem.try_acquire_many(2).unwrap();
    assert_eq!(sem.available_permits(), 1);
    assert!(sem.try_acquire_many(2).is_err());
    let b = sem.try_acquire().unwrap();
    assert!(sem.try_acquire().is_err());
    drop(a);
    assert_eq!(sem.available_permits(), 2);
    b.forget();
    assert_eq!(sem.available_permits(), 2);
    sem.add_permits(5);
    assert_eq!(sem.available_permits(), 7);
}

#[test]
fn waiters_are_fifo_and_block_barging() {
    let sem = Semaphore::new(1);
    let held = sem.try_acquire().unwrap();
    let mut big = pin!(sem.acquire_many(2));
    assert!(poll_once(big.as_mut()).is_pending());
    let mut small = pin!(sem.acquire());
    assert!(poll_once(small.as_mut()).is_pending());
    sem.add_permits(1); // 1 free, the big waiter needs 2: nobody gets it
    assert!(sem.try_acquire().is_err(), "no barging past waiters");
    assert!(poll_once(small.as_mut()).is_pending());
    drop(held); // now 2: the big waiter first
    let Poll::Ready(p) = poll_once(big.as_mut()) else {
        panic!("big waiter not served")
    };
    assert_eq!(p.num_permits(), 2);
    assert!(poll_once(small.as_mut()).is_pending());
    drop(p);
    assert!(poll_once(small.as_mut()).is_ready());
}

#[test]
fn dropped_granted_acquire_passes_permits_on() {
    let sem = Semaphore::new(1);
    let held = sem.try_acquire().unwrap();
    let mut a = Box::pin(sem.acquire());
    let mut b = pin!(sem.acquire());
    assert!(poll_once(a.as_mut()).is_pending());
    assert!(poll_once(b.as_mut()).is_pending());
    drop(held); // handed to `a`...
    drop(a); // ...which is cancelled before it sees it
    let Poll::Ready(p) = poll_once(b.as_mut()) else {
        panic!("permit lost")
    };
    assert_eq!(sem.available_permits(), 0);
    drop(p);
    assert_eq!(sem.available_permits(), 1);
}

#[test]
fn dropped_queued_big_waiter_unblocks_smaller_ones() {
    let sem = Semaphore::new(1);
    let mut big = Box::pin(sem.acquire_many(5));
    assert!(poll_once(big.as_mut()).is_pending());
    let mut small = pin!(sem.acquire());
    assert!(poll_once(small.as_mut()).is_pending());
    drop(big);
    assert!(poll_once(small.as_mut()).is_ready());
}

#[test]
fn dropped_queued_waiter_leaves_permits_intact() {
    let sem = Semaphore::new(2);
    let held = sem.try_acquire_many(2).unwrap();
    for _ in 0..10 {
        let mut f = Box::pin(sem.acquire());
        assert!(poll_once(f.as_mut()).is_pending());
    }
    drop(held);
    assert_eq!(sem.available_permits(), 2);
    assert!(sem.try_acquire_many(2).is_ok());
}

#[gorun::test]
async fn owned_permits_bound_concurrency() {
    let sem = Arc::new(Semaphore::new(3));
    let (running, max) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let mut hs = vec![];
    for _ in 0..50 {
        let permit = sem.clone().acquire_owned().await;
        let (running, max) = (running.clone(), max.clone());
        hs.push(gorun::go(async move {
            let now = running.fetch_add(1, SeqCst) + 1;
            max.fetch_max(now, SeqCst);
            gorun::yield_now().await;
            running.fetch_sub(1, SeqCst);
            drop(permit);
        }));
    }
    for h in hs {
        h.await.unwrap();
    }
    assert!(max.load(SeqCst) <= 3);
    assert_eq!(sem.available_permits(), 3);
}

#[gorun::test]
async fn cancelled_acquires_under_timeout_lose_nothing() {
    let sem = Arc::new(Semaphore::new(4));
    let mut hs = vec![];
    for i in 0..64u64 {
        let sem = sem.clone();
        hs.push(gorun::go(async move {
            for j in 0..50u64 {
                let n = 1 + ((i + j) % 3) as u32;
                let d = std::time::Duration::from_micros((i * 7 + j) % 200);
                if let Ok(p) = gorun::time::timeout(d, sem.acquire_many(n)).await {
                    gorun::yield_now().await;
                    drop(p);
                }
            }
        }));
    }
    for h in hs {
        h.await.unwrap();
    }
    assert_eq!(sem.available_permits(), 4);
    assert!(sem.try_acquire_many(4).is_ok());
}

#[gorun::test]
async fn select_cancels_acquire_cleanly() {
    let sem = Semaphore::new(0);
    let (tx, rx) = gorun::chan::<()>(1);
    tx.send(()).await.unwrap();
    gorun::select! {
        _ = sem.acquire() => unreachable!(),
        recv(rx) -> _ => {}
    }
    sem.add_permits(1);
    assert!(sem.try_acquire().is_ok());
}
