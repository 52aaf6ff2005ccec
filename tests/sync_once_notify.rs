//! `gorun::sync::{Once, OnceCell, Notify}`.

use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use gorun::sync::{Notify, Once, OnceCell};

fn poll_once<F: Future>(f: std::pin::Pin<&mut F>) -> Poll<F::Output> {
    f.poll(&mut Context::from_waker(Waker::noop()))
}

#[gorun::test]
async fn once_cell_runs_one_initializer() {
    let cell = Arc::new(OnceCell::new());
    let runs = Arc::new(AtomicUsize::new(0));
    let hs: Vec<_> = (0..16)
        .map(|i| {
            let (cell, runs) = (cell.clone(), runs.clone());
            gorun::go(async move {
                *cell
                    .get_or_init(|| async move {
                        runs.fetch_add(1, SeqCst);
                        gorun::time::sleep(Duration::from_millis(2)).await;
                        i
                    })
                    .await
            })
        })
        .collect();
    let mut vals = vec![];
    for h in hs {
        vals.push(h.await.unwrap());
    }
    assert_eq!(runs.load(SeqCst), 1);
    assert!(vals.iter().all(|v| *v == vals[0]));
    assert_eq!(cell.get(), Some(&vals[0]));
}

#[test]
fn once_cell_cancelled_initializer_lets_the_next_run() {
    let cell = OnceCell::<u32>::new();
    let mut first = Box::pin(cell.get_or_init(std::future::pending));
    assert!(poll_once(first.as_mut()).is_pending());
    let mut second = pin!(cell.get_or_init(|| async { 2 }));
    assert!(poll_once(second.as_mut()).is_pending());
    drop(first);
    assert_eq!(poll_once(second.as_mut()), Poll::Ready(&2));
}

#[test]
fn once_cell_failed_init_leaves_it_empty() {
    let cell = OnceCell::<u32>::new();
    let r = poll_once(pin!(cell.get_or_try_init(|| async { Err::<u32, _>("no") })));
    assert_eq!(r, Poll::Ready(Err("no")));
    assert!(!cell.initialized());
    assert_eq!(cell.set(3), Ok(()));
    assert_eq!(cell.set(4), Err(4));
    assert_eq!(cell.into_inner(), Some(3));
}

#[gorun::test]
async fn once_panicking_action_does_not_complete() {
    let once = Arc::new(Once::new());
    let o2 = once.clone();
    let r = gorun::go(async move { o2.call_once(|| async { panic!("init failed") }).await }).await;
    assert!(r.unwrap_err().is_panic());
    assert!(!once.is_completed());
    let runs = AtomicUsize::new(0);
    for _ in 0..3 {
        once.call_once(|| async {
            runs.fetch_add(1, SeqCst);
        })
        .await;
    }
    assert_eq!(runs.load(SeqCst), 1);
    assert!(once.is_completed());
}

#[test]
fn notify_one_stores_a_single_permit() {
    let n = Notify::new();
    n.notify_one();
    n.notify_one();
    assert!(poll_once(pin!(n.notified())).is_ready());
    assert!(poll_once(pin!(n.notified())).is_pending());
}

#[test]
fn notify_one_wakes_in_fifo_order() {
    let n = Notify::new();
    let mut a = pin!(n.notified());
    let mut b = pin!(n.notified());
    assert!(poll_once(a.as_mut()).is_pending());
    assert!(poll_once(b.as_mut()).is_pending());
    n.notify_one();
    assert!(poll_once(b.as_mut()).is_pending());
    assert!(poll_once(a.as_mut()).is_ready());
    n.notify_one();
    assert!(poll_once(b.as_mut()).is_ready());
}

#[test]
fn dropped_notified_passes_notify_one_on() {
    let n = Notify::new();
    let mut a = Box::pin(n.notified());
    let mut b = pin!(n.notified());
    assert!(poll_once(a.as_mut()).is_pending());
    assert!(poll_once(b.as_mut()).is_pending());
    n.notify_one();
    drop(a);
    assert!(poll_once(b.as_mut()).is_ready());
    // With nobody left to take it, a passed-on notification becomes the permit.
    let mut c = Box::pin(n.notified());
    assert!(poll_once(c.as_mut()).is_pending());
    n.notify_one();
    drop(c);
    assert!(poll_once(pin!(n.notified())).is_ready());
}

#[test]
fn notify_waiters_wakes_all_created_and_stores_nothing() {
    let n = Notify::new();
    let mut polled = pin!(n.notified());
    assert!(poll_once(polled.as_mut()).is_pending());
    let mut unpolled = pin!(n.notified());
    n.notify_waiters();
    assert!(poll_once(polled.as_mut()).is_ready());
    assert!(poll_once(unpolled.as_mut()).is_ready());
    assert!(poll_once(pin!(n.notified())).is_pending());
}

#[gorun::test]
async fn notify_across_tasks() {
    let n = Arc::new(Notify::new());
    let hs: Vec<_> = (0..8)
        .map(|_| {
            let n = n.clone();
            gorun::go(async move { n.notified().await })
        })
        .collect();
    gorun::time::sleep(Duration::from_millis(5)).await;
    n.notify_waiters();
    for h in hs {
        h.await.unwrap();
    }
}
