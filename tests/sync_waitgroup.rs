//! `gorun::sync::WaitGroup`: guards, wait, blocking_wait, reuse, cancellation.

use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use gorun::sync::WaitGroup;

fn poll_once<F: Future>(f: std::pin::Pin<&mut F>) -> Poll<F::Output> {
    f.poll(&mut Context::from_waker(Waker::noop()))
}

#[test]
fn counts_guards() {
    let wg = WaitGroup::new();
    assert!(poll_once(pin!(wg.wait())).is_ready());
    let mut g = wg.add(3);
    let part = g.split(1);
    assert_eq!(wg.count(), 3);
    let mut w = pin!(wg.wait());
    assert!(poll_once(w.as_mut()).is_pending());
    drop(part);
    assert_eq!(wg.count(), 2);
    assert!(poll_once(w.as_mut()).is_pending());
    g.done();
    assert_eq!(wg.count(), 0);
    assert!(poll_once(w.as_mut()).is_ready());
}

#[test]
fn reusable_after_wait() {
    let wg = WaitGroup::new();
    for _ in 0..3 {
        let g = wg.add(1);
        let mut w = pin!(wg.wait());
        assert!(poll_once(w.as_mut()).is_pending());
        drop(g);
        assert!(poll_once(w.as_mut()).is_ready());
    }
}

#[test]
fn dropped_wait_leaves_others_working() {
    let wg = WaitGroup::new();
    let g = wg.add(1);
    let mut a = Box::pin(wg.wait());
    let mut b = pin!(wg.wait());
    assert!(poll_once(a.as_mut()).is_pending());
    assert!(poll_once(b.as_mut()).is_pending());
    drop(a);
    drop(g);
    assert!(poll_once(b.as_mut()).is_ready());
}

#[test]
fn blocking_wait_on_plain_threads() {
    let wg = WaitGroup::new();
    let hits = Arc::new(AtomicUsize::new(0));
    for _ in 0..8 {
        let (g, hits) = (wg.add(1), hits.clone());
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(5));
            hits.fetch_add(1, SeqCst);
            drop(g);
        });
    }
    wg.blocking_wait();
    assert_eq!(hits.load(SeqCst), 8);
}

#[gorun::test]
async fn many_tasks() {
    let wg = WaitGroup::new();
    let hits = Arc::new(AtomicUsize::new(0));
    for _ in 0..10_000 {
        let (g, hits) = (wg.add(1), hits.clone());
        gorun::go(async move {
            hits.fetch_add(1, SeqCst);
            drop(g);
        });
    }
    wg.wait().await;
    assert_eq!(hits.load(SeqCst), 10_000);
}

#[gorun::test]
async fn go_counts_the_task_and_panics_still_done() {
    let wg = WaitGroup::new();
    let h = wg.go(async { panic!("boom") });
    let ok = wg.go(async { 7 });
    wg.wait().await;
    assert!(h.await.unwrap_err().is_panic());
    assert_eq!(ok.await.unwrap(), 7);
}

#[gorun::test]
async fn many_waiters_all_woken() {
    let wg = WaitGroup::new();
    let g = wg.add(1);
    let waiters: Vec<_> = (0..32)
        .map(|_| {
            let wg = wg.clone();
            gorun::go(async move { wg.wait().await })
        })
        .collect();
    gorun::time::sleep(Duration::from_millis(5)).await;
    drop(g);
    for w in waiters {
        w.await.unwrap();
    }
}
