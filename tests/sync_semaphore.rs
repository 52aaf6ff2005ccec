//! `gorun::sync::Semaphore`: permits, FIFO, cancel safety, owned permits, close.

use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use gorun::sync::{OwnedSemaphorePermit, Semaphore, SemaphorePermit, TryAcquireError};

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
    let Poll::Ready(Ok(p)) = poll_once(big.as_mut()) else {
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
    let Poll::Ready(Ok(p)) = poll_once(b.as_mut()) else {
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
        let permit = sem.clone().acquire_owned().await.unwrap();
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
                    let p = p.unwrap();
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

/// A waker that counts its wakes, to check that `close` really wakes each waiter.
struct CountWaker(AtomicUsize);

impl std::task::Wake for CountWaker {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, SeqCst);
    }
}

fn counting_waker() -> (Arc<CountWaker>, Waker) {
    let c = Arc::new(CountWaker(AtomicUsize::new(0)));
    (c.clone(), Waker::from(c))
}

fn poll_with<F: Future>(f: std::pin::Pin<&mut F>, w: &Waker) -> Poll<F::Output> {
    f.poll(&mut Context::from_waker(w))
}

#[test]
fn close_wakes_every_waiter_with_err_and_keeps_held_permits() {
    let sem = Arc::new(Semaphore::new(4));
    let held = sem.try_acquire_many(3).unwrap();
    let held_owned = sem.clone().try_acquire_owned().unwrap();
    assert_eq!(sem.available_permits(), 0);

    let (c1, w1) = counting_waker();
    let (c2, w2) = counting_waker();
    let (c3, w3) = counting_waker();
    let (c4, w4) = counting_waker();
    let mut a = pin!(sem.acquire());
    let mut b = pin!(sem.acquire_many(2));
    let mut c = pin!(sem.clone().acquire_owned());
    let mut d = pin!(sem.clone().acquire_many_owned(4));
    assert!(poll_with(a.as_mut(), &w1).is_pending());
    assert!(poll_with(b.as_mut(), &w2).is_pending());
    assert!(poll_with(c.as_mut(), &w3).is_pending());
    assert!(poll_with(d.as_mut(), &w4).is_pending());
    assert!(!sem.is_closed());

    sem.close();
    assert!(sem.is_closed());
    for (i, c) in [&c1, &c2, &c3, &c4].iter().enumerate() {
        assert_eq!(c.0.load(SeqCst), 1, "waiter {i} not woken by close");
    }
    let Poll::Ready(Err(e)) = poll_with(a.as_mut(), &w1) else {
        panic!("acquire did not fail")
    };
    assert_eq!(e.to_string(), "semaphore closed");
    assert!(matches!(poll_with(b.as_mut(), &w2), Poll::Ready(Err(_))));
    assert!(matches!(poll_with(c.as_mut(), &w3), Poll::Ready(Err(_))));
    assert!(matches!(poll_with(d.as_mut(), &w4), Poll::Ready(Err(_))));

    // The permits held through the close stay valid and come back.
    assert_eq!(held.num_permits(), 3);
    assert_eq!(sem.available_permits(), 0);
    drop(held);
    assert_eq!(sem.available_permits(), 3);
    drop(held_owned);
    assert_eq!(sem.available_permits(), 4);
    // Closing again changes nothing and wakes no one.
    sem.close();
    assert_eq!(c1.0.load(SeqCst), 1);
    assert_eq!(sem.available_permits(), 4);
}

#[test]
fn permits_granted_before_close_but_unseen_go_back() {
    let sem = Semaphore::new(1);
    let held = sem.try_acquire().unwrap();
    let mut a = pin!(sem.acquire());
    assert!(poll_once(a.as_mut()).is_pending());
    drop(held); // handed to `a`, which has not seen it yet
    assert_eq!(sem.available_permits(), 0);
    sem.close();
    // tokio's rule: after close no acquire succeeds; the grant returns to the count.
    assert!(matches!(poll_once(a.as_mut()), Poll::Ready(Err(_))));
    assert_eq!(sem.available_permits(), 1);
}

#[test]
fn dropping_a_waiter_after_close_loses_nothing() {
    let sem = Semaphore::new(2);
    let held = sem.try_acquire_many(2).unwrap();
    let mut a = Box::pin(sem.acquire_many(2));
    assert!(poll_once(a.as_mut()).is_pending());
    drop(held); // granted to `a`
    sem.close();
    drop(a); // never polled again: the grant must still come back
    assert_eq!(sem.available_permits(), 2);
}

#[gorun::test(procs = 2)]
async fn close_fails_waiting_tasks() {
    let sem = Arc::new(Semaphore::new(0));
    let hs: Vec<_> = (0..16u32)
        .map(|i| {
            let sem = sem.clone();
            gorun::go(async move {
                match i % 4 {
                    0 => sem.acquire().await.map(|p| p.num_permits()),
                    1 => sem.acquire_many(1 + i).await.map(|p| p.num_permits()),
                    2 => sem.clone().acquire_owned().await.map(|p| p.num_permits()),
                    _ => sem
                        .clone()
                        .acquire_many_owned(i)
                        .await
                        .map(|p| p.num_permits()),
                }
            })
        })
        .collect();
    gorun::time::sleep(std::time::Duration::from_millis(20)).await;
    sem.close();
    for h in hs {
        let r = gorun::time::timeout(std::time::Duration::from_secs(5), h)
            .await
            .expect("a waiter was not woken by close");
        assert!(
            r.unwrap().is_err(),
            "a waiter got permits from a closed semaphore"
        );
    }
    assert_eq!(sem.available_permits(), 0);
}

#[test]
fn acquire_after_close_fails_at_once_even_with_permits() {
    let sem = Arc::new(Semaphore::new(5));
    sem.close();
    assert_eq!(sem.available_permits(), 5);
    assert!(matches!(
        poll_once(pin!(sem.acquire())),
        Poll::Ready(Err(_))
    ));
    assert!(matches!(
        poll_once(pin!(sem.acquire_many(0))),
        Poll::Ready(Err(_))
    ));
    assert!(matches!(
        poll_once(pin!(sem.acquire_many(3))),
        Poll::Ready(Err(_))
    ));
    assert!(matches!(
        poll_once(pin!(sem.clone().acquire_owned())),
        Poll::Ready(Err(_))
    ));
    assert!(matches!(
        poll_once(pin!(sem.clone().acquire_many_owned(2))),
        Poll::Ready(Err(_))
    ));
    assert_eq!(sem.available_permits(), 5, "a failed acquire took permits");
    let e: Box<dyn std::error::Error> = Box::new(
        gorun::sync::Semaphore::new(0)
            .try_acquire()
            .map(drop)
            .unwrap_err(),
    );
    assert_eq!(e.to_string(), "no permits available");
}

#[test]
fn try_acquire_distinguishes_closed_and_no_permits() {
    let sem = Arc::new(Semaphore::new(2));
    let one = sem.try_acquire().unwrap();
    let e = sem.try_acquire_many(2).unwrap_err();
    assert_eq!(e, TryAcquireError::NoPermits);
    assert!(e.is_no_permits() && !e.is_closed());
    assert_eq!(e.to_string(), "no permits available");
    // A queued waiter makes even a satisfiable try fail with NoPermits (FIFO).
    let mut big = pin!(sem.acquire_many(2));
    assert!(poll_once(big.as_mut()).is_pending());
    assert_eq!(sem.available_permits(), 1);
    assert_eq!(
        sem.clone().try_acquire_owned().unwrap_err(),
        TryAcquireError::NoPermits
    );

    sem.close();
    for e in [
        sem.try_acquire().map(drop).unwrap_err(),
        sem.try_acquire_many(0).map(drop).unwrap_err(),
        sem.clone().try_acquire_owned().map(drop).unwrap_err(),
        sem.clone().try_acquire_many_owned(1).map(drop).unwrap_err(),
    ] {
        assert_eq!(e, TryAcquireError::Closed);
        assert!(e.is_closed() && !e.is_no_permits());
        assert_eq!(e.to_string(), "semaphore closed");
    }
    assert!(matches!(poll_once(big.as_mut()), Poll::Ready(Err(_))));
    drop(one);
    assert_eq!(sem.available_permits(), 2);
    assert_eq!(sem.try_acquire().unwrap_err(), TryAcquireError::Closed);
}

#[test]
fn add_permits_after_close_still_counts() {
    let sem = Semaphore::new(1);
    let p = sem.try_acquire().unwrap();
    sem.close();
    sem.add_permits(3);
    assert_eq!(sem.available_permits(), 3);
    drop(p);
    assert_eq!(sem.available_permits(), 4);
    assert_eq!(sem.try_acquire().unwrap_err(), TryAcquireError::Closed);
    let s = format!("{sem:?}");
    assert!(
        s.contains("closed: true") && s.contains("permits: 4"),
        "{s}"
    );
}

/// A small xorshift, so each task draws its own reproducible choices.
fn next(x: &mut u64) -> u64 {
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    *x
}

/// Many tasks acquire (borrowed, owned, try), hold, release, give up at random
/// timeouts, and add permits now and then, while a close lands in the middle.
/// Permits are counted in and out: holders never exceed the permits in existence,
/// no acquire started after the close succeeds, and at the end
/// `available_permits == start + added`.
#[test]
fn stress_random_cancel_and_close_counts_every_permit() {
    const START: usize = 6;
    const TASKS: u64 = 48;
    let rt = gorun::Runtime::builder().procs(4).build().unwrap();
    rt.run(async {
        let sem = Arc::new(Semaphore::new(START));
        let added = Arc::new(AtomicUsize::new(0));
        let held = Arc::new(AtomicUsize::new(0));
        let closed = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (oks, errs) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let gaveup = Arc::new(AtomicUsize::new(0));
        let hs: Vec<_> = (0..TASKS)
            .map(|i| {
                let (sem, added, held, closed) =
                    (sem.clone(), added.clone(), held.clone(), closed.clone());
                let (oks, errs, gaveup) = (oks.clone(), errs.clone(), gaveup.clone());
                gorun::go(async move {
                    let mut rng = 0x9E37_79B9_7F4A_7C15 ^ (i + 1).wrapping_mul(0x2545_F491);
                    // Run until 20 rounds have started after the close.
                    let mut after_close = 0;
                    while after_close < 20 {
                        let was_closed = closed.load(SeqCst);
                        after_close += usize::from(was_closed);
                        let r = next(&mut rng);
                        let n = 1 + (r % 3) as u32;
                        if r % 61 == 0 && added.load(SeqCst) < 30 {
                            let k = 1 + (r % 2) as usize;
                            // Count first: the permits exist from the moment they're added.
                            added.fetch_add(k, SeqCst);
                            sem.add_permits(k);
                            continue;
                        }
                        let patience = std::time::Duration::from_micros((r >> 8) % 300);
                        let got: Option<Result<Held<'_>, ()>> = match (r >> 4) % 3 {
                            0 => gorun::time::timeout(patience, sem.acquire_many(n))
                                .await
                                .ok()
                                .map(|r| r.map(Held::Borrowed).map_err(drop)),
                            1 => gorun::time::timeout(patience, sem.clone().acquire_many_owned(n))
                                .await
                                .ok()
                                .map(|r| r.map(Held::Owned).map_err(drop)),
                            _ => match sem.clone().try_acquire_many_owned(n) {
                                Ok(p) => Some(Ok(Held::Owned(p))),
                                Err(TryAcquireError::Closed) => Some(Err(())),
                                Err(TryAcquireError::NoPermits) => None,
                            },
                        };
                        match got {
                            Some(Ok(permit)) => {
                                assert!(!was_closed, "acquired after close returned");
                                assert_eq!(permit.num_permits(), n as usize);
                                oks.fetch_add(1, SeqCst);
                                let now = held.fetch_add(n as usize, SeqCst) + n as usize;
                                assert!(
                                    now <= START + added.load(SeqCst),
                                    "{now} permits held, only {} exist",
                                    START + added.load(SeqCst)
                                );
                                if r % 2 == 0 {
                                    gorun::yield_now().await;
                                }
                                held.fetch_sub(n as usize, SeqCst);
                                drop(permit);
                            }
                            Some(Err(())) => {
                                assert!(sem.is_closed());
                                errs.fetch_add(1, SeqCst);
                            }
                            None => {
                                // Timed out (cancelled) or no permits now.
                                gaveup.fetch_add(1, SeqCst);
                            }
                        }
                    }
                })
            })
            .collect();
        gorun::time::sleep(std::time::Duration::from_millis(15)).await;
        sem.close();
        closed.store(true, SeqCst);
        for h in hs {
            h.await.unwrap();
        }
        eprintln!(
            "{} acquired, {} gave up, {} refused by the close, {} permits added",
            oks.load(SeqCst),
            gaveup.load(SeqCst),
            errs.load(SeqCst),
            added.load(SeqCst)
        );
        assert_eq!(held.load(SeqCst), 0);
        assert!(
            oks.load(SeqCst) > 0,
            "nothing was acquired before the close"
        );
        assert!(errs.load(SeqCst) > 0, "nothing saw the close");
        assert!(
            gaveup.load(SeqCst) > 0,
            "no acquire timed out or was refused"
        );
        assert_eq!(
            sem.available_permits(),
            START + added.load(SeqCst),
            "permits were lost or duplicated"
        );
    });
}

/// A permit of either kind, held for a while and then dropped (released).
enum Held<'a> {
    Borrowed(SemaphorePermit<'a>),
    Owned(OwnedSemaphorePermit),
}

impl Held<'_> {
    fn num_permits(&self) -> usize {
        match self {
            Held::Borrowed(p) => p.num_permits(),
            Held::Owned(p) => p.num_permits(),
        }
    }
}
