//! `gorun::sync::Barrier`: rounds, one leader per round, cancel safety, and use from
//! other executors.

use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use gorun::sync::Barrier;

#[path = "common/sync_support.rs"]
mod support;
use support::*;

#[test]
fn the_wait_future_is_send() {
    fn assert_send<T: Send>(_: &T) {}
    let b = Barrier::new(2);
    assert_send(&b.wait());
}

#[test]
fn zero_and_one_do_not_block() {
    for n in [0, 1] {
        let b = Barrier::new(n);
        for _ in 0..3 {
            let Poll::Ready(r) = poll_once(pin!(b.wait())) else {
                panic!("Barrier::new({n}) blocked")
            };
            assert!(r.is_leader());
        }
    }
}

#[test]
fn the_nth_arrival_releases_the_round_and_leads_it() {
    let b = Barrier::new(3);
    let mut a = pin!(b.wait());
    let mut c = pin!(b.wait());
    assert!(poll_once(a.as_mut()).is_pending());
    assert!(poll_once(c.as_mut()).is_pending());
    assert!(
        poll_once(a.as_mut()).is_pending(),
        "a re-poll is not a new arrival"
    );
    let Poll::Ready(last) = poll_once(pin!(b.wait())) else {
        panic!("the third arrival did not release the round")
    };
    assert!(last.is_leader());
    let (Poll::Ready(ra), Poll::Ready(rc)) = (poll_once(a), poll_once(c)) else {
        panic!("released waiters still pending")
    };
    assert!(!ra.is_leader() && !rc.is_leader());
}

#[gorun::test]
async fn rounds_have_exactly_one_leader_and_nobody_runs_ahead() {
    const N: usize = 7;
    const ROUNDS: usize = 60;
    let b = Arc::new(Barrier::new(N));
    let arrived: Arc<Vec<AtomicUsize>> =
        Arc::new((0..ROUNDS).map(|_| AtomicUsize::new(0)).collect());
    let leaders: Arc<Vec<AtomicUsize>> =
        Arc::new((0..ROUNDS).map(|_| AtomicUsize::new(0)).collect());
    let hs: Vec<_> = (0..N)
        .map(|t| {
            let (b, arrived, leaders) = (b.clone(), arrived.clone(), leaders.clone());
            gorun::go(async move {
                for r in 0..ROUNDS {
                    arrived[r].fetch_add(1, SeqCst);
                    if (t + r) % 3 == 0 {
                        gorun::yield_now().await; // vary who arrives last
                    }
                    let res = b.wait().await;
                    assert_eq!(arrived[r].load(SeqCst), N, "released before all arrived");
                    if res.is_leader() {
                        leaders[r].fetch_add(1, SeqCst);
                    }
                }
            })
        })
        .collect();
    for h in hs {
        h.await.unwrap();
    }
    for (r, l) in leaders.iter().enumerate() {
        assert_eq!(l.load(SeqCst), 1, "round {r}");
    }
}

#[test]
fn a_dropped_waiting_future_takes_its_arrival_back() {
    let b = Barrier::new(2);
    let mut gone = Box::pin(b.wait());
    assert!(poll_once(gone.as_mut()).is_pending());
    drop(gone);
    // Were the dropped arrival still counted, this one would release the round.
    let mut a = pin!(b.wait());
    assert!(poll_once(a.as_mut()).is_pending());
    let Poll::Ready(r) = poll_once(pin!(b.wait())) else {
        panic!("round not released")
    };
    assert!(r.is_leader());
    assert!(matches!(poll_once(a), Poll::Ready(r) if !r.is_leader()));
}

#[test]
fn a_released_future_dropped_unpolled_leaves_the_next_round_intact() {
    let b = Barrier::new(2);
    let mut a = Box::pin(b.wait());
    assert!(poll_once(a.as_mut()).is_pending());
    assert!(poll_once(pin!(b.wait())).is_ready()); // releases a
    drop(a); // never saw it; nothing to undo
    let mut x = pin!(b.wait());
    assert!(
        poll_once(x.as_mut()).is_pending(),
        "a new round needs 2 again"
    );
    assert!(poll_once(pin!(b.wait())).is_ready());
    assert!(poll_once(x).is_ready());
}

/// Tasks cancel their waits at random (timeouts). A cancelled wait takes its arrival
/// back, so afterwards the barrier is as new: a final round of N waits releases only
/// when the last one arrives, with one leader.
#[gorun::test]
async fn random_cancellation_does_not_break_the_barrier() {
    const N: usize = 5;
    let b = Arc::new(Barrier::new(N));
    let leaders = Arc::new(AtomicUsize::new(0));
    let cancelled = Arc::new(AtomicUsize::new(0));
    let hs: Vec<_> = (0..N as u64)
        .map(|t| {
            let (b, leaders, cancelled) = (b.clone(), leaders.clone(), cancelled.clone());
            gorun::go(async move {
                let mut rng = t * 77 + 5;
                for _ in 0..300 {
                    rng ^= rng << 13;
                    rng ^= rng >> 7;
                    rng ^= rng << 17;
                    let d = Duration::from_micros(rng % 300);
                    match gorun::time::timeout(d, b.wait()).await {
                        Ok(r) => leaders.fetch_add(r.is_leader() as usize, SeqCst),
                        Err(_) => cancelled.fetch_add(1, SeqCst),
                    };
                }
            })
        })
        .collect();
    for h in hs {
        h.await.unwrap();
    }
    assert!(leaders.load(SeqCst) > 0, "no round ever completed");
    assert!(cancelled.load(SeqCst) > 0, "no wait was cancelled");

    // N - 1 waiters must stay blocked: no stale arrival is left over.
    let waiting: Vec<_> = (0..N - 1)
        .map(|_| {
            let b = b.clone();
            gorun::go(async move { b.wait().await.is_leader() })
        })
        .collect();
    gorun::time::sleep(Duration::from_millis(20)).await;
    assert!(waiting.iter().all(|h| !h.is_finished()), "released early");
    let mut leaders = b.wait().await.is_leader() as usize;
    for h in waiting {
        leaders += h.await.unwrap() as usize;
    }
    assert_eq!(leaders, 1);
}

#[gorun::test]
async fn wait_as_a_select_future_arm() {
    let b = Barrier::new(2);
    let (tick_tx, tick_rx) = gorun::chan::<()>(1);
    tick_tx.send(()).await.unwrap();
    gorun::select! {
        biased;
        _ = b.wait() => panic!("alone at a barrier of 2"),
        recv(tick_rx) -> _ => {}
    }
    // The losing arm's arrival was taken back: a round still needs two.
    let (r1, r2) = futures::join!(b.wait(), b.wait());
    assert!(r1.is_leader() ^ r2.is_leader());
}

#[test]
fn works_under_futures_block_on_and_tokio() {
    let b = Arc::new(Barrier::new(4));
    let ts: Vec<_> = (0..4)
        .map(|_| {
            let b = b.clone();
            std::thread::spawn(move || futures::executor::block_on(b.wait()).is_leader())
        })
        .collect();
    let leaders: usize = ts.into_iter().map(|t| t.join().unwrap() as usize).sum();
    assert_eq!(leaders, 1);

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    rt.block_on(async {
        let b = Arc::new(Barrier::new(3));
        let hs: Vec<_> = (0..3)
            .map(|_| {
                let b = b.clone();
                tokio::spawn(async move { b.wait().await.is_leader() })
            })
            .collect();
        let mut leaders = 0;
        for h in hs {
            leaders += h.await.unwrap() as usize;
        }
        assert_eq!(leaders, 1);
    });
}

#[gorun::test]
async fn wait_charges_the_cooperative_budget() {
    let b = Barrier::new(1);
    gorun::select! {
        biased;
        _ = async {
            loop {
                b.wait().await;
            }
        } => {}
        _ = gorun::yield_now() => {}
    }
}

#[test]
fn task_dump_shows_the_wait() {
    let b = Arc::new(Barrier::new(2));
    let reason = dump_wait_reason(async move {
        b.wait().await;
    });
    assert_eq!(reason, Some(gorun::WaitReason::WaitGroup));
}
