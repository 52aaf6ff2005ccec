//! `gorun::sync::watch`: tokio's latest-value channel: change tracking, close, the
//! sender's update methods, cancellation, and use from other executors.

use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use gorun::sync::watch;

#[path = "common/sync_support.rs"]
mod support;
use support::*;

#[test]
fn handles_and_futures_are_send() {
    let (tx, mut rx) = watch::channel(String::new());
    assert_send(&tx.closed());
    assert_send(&rx.changed());
    assert_send(&rx.wait_for(|s| s.is_empty()));
    assert_send(&tx);
    assert_send(&rx);
}

#[test]
fn changed_waits_after_borrow_and_update() {
    let (tx, mut rx) = watch::channel(1);
    assert_eq!(rx.has_changed(), Ok(false));
    assert!(
        poll_once(pin!(rx.changed())).is_pending(),
        "initial value is seen"
    );
    tx.send(2).unwrap();
    assert_eq!(rx.has_changed(), Ok(true));
    {
        let r = rx.borrow_and_update();
        assert_eq!((*r, r.has_changed()), (2, true));
    }
    assert_eq!(rx.has_changed(), Ok(false));
    assert!(poll_once(pin!(rx.changed())).is_pending());
    tx.send(3).unwrap();
    assert_eq!(poll_once(pin!(rx.changed())), Poll::Ready(Ok(())));
    assert!(!rx.borrow().has_changed(), "changed() marked it seen");
    assert_eq!(*rx.borrow(), 3);
}

#[test]
fn a_pending_changed_sees_the_latest_of_several_changes() {
    let (tx, mut rx) = watch::channel(0);
    let (count, waker) = counting_waker();
    {
        let mut changed = pin!(rx.changed());
        assert!(changed
            .as_mut()
            .poll(&mut Context::from_waker(&waker))
            .is_pending());
        for v in 1..=5 {
            tx.send(v).unwrap();
        }
        assert!(count.0.load(SeqCst) >= 1);
        assert_eq!(poll_once(changed), Poll::Ready(Ok(())));
    }
    assert_eq!(*rx.borrow_and_update(), 5);
    assert!(
        poll_once(pin!(rx.changed())).is_pending(),
        "one change seen, not five"
    );
}

#[test]
fn send_fails_without_receivers_but_send_replace_does_not() {
    let (tx, rx) = watch::channel("a");
    drop(rx);
    assert!(tx.is_closed());
    assert_eq!(tx.send("b").unwrap_err().0, "b");
    assert_eq!(*tx.borrow(), "a", "a failed send leaves the value");
    assert_eq!(tx.send_replace("c"), "a");
    assert_eq!(*tx.borrow(), "c");
    let rx = tx.subscribe();
    assert!(!tx.is_closed() && !rx.borrow().has_changed());
    tx.send("d").unwrap();
    assert_eq!(rx.has_changed(), Ok(true));
}

#[gorun::test]
async fn sender_closed_resolves_when_every_receiver_is_gone() {
    let (tx, rx) = watch::channel(());
    let rx2 = rx.clone();
    assert_eq!(tx.receiver_count(), 2);
    let mut closed = pin!(tx.closed());
    assert!(poll_once(closed.as_mut()).is_pending());
    drop(rx);
    assert!(poll_once(closed.as_mut()).is_pending());
    gorun::go(async move {
        gorun::time::sleep(Duration::from_millis(1)).await;
        drop(rx2);
    });
    closed.await;
    assert_eq!(tx.receiver_count(), 0);
}

#[test]
fn closed_reopened_by_subscribe_waits_again() {
    let (tx, rx) = watch::channel(());
    let (count, waker) = counting_waker();
    let mut closed = pin!(tx.closed());
    assert!(closed
        .as_mut()
        .poll(&mut Context::from_waker(&waker))
        .is_pending());
    drop(rx);
    assert_eq!(count.0.load(SeqCst), 1);
    let rx = tx.subscribe(); // reopened before the woken task ran
    assert!(closed
        .as_mut()
        .poll(&mut Context::from_waker(&waker))
        .is_pending());
    drop(rx);
    assert_eq!(count.0.load(SeqCst), 2);
    assert!(poll_once(closed).is_ready());
}

#[test]
fn send_modify_and_send_if_modified() {
    let (tx, mut rx) = watch::channel(vec![1]);
    let (count, waker) = counting_waker();
    let mut changed = Box::pin(rx.changed());
    assert!(changed
        .as_mut()
        .poll(&mut Context::from_waker(&waker))
        .is_pending());
    assert!(!tx.send_if_modified(|v| {
        v.push(99); // changed, but reported unchanged: nobody is told
        false
    }));
    assert_eq!(count.0.load(SeqCst), 0);
    assert!(changed
        .as_mut()
        .poll(&mut Context::from_waker(&waker))
        .is_pending());
    tx.send_modify(|v| v.push(2));
    assert_eq!(count.0.load(SeqCst), 1);
    assert_eq!(poll_once(changed.as_mut()), Poll::Ready(Ok(())));
    drop(changed);
    assert_eq!(*rx.borrow_and_update(), [1, 99, 2]);
    assert!(tx.send_if_modified(|v| {
        v.clear();
        true
    }));
    assert!(rx.borrow_and_update().is_empty());
}

#[test]
fn a_panic_in_send_modify_neither_poisons_nor_notifies() {
    let (tx, rx) = watch::channel(0);
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        tx.send_modify(|v| {
            *v = 1;
            panic!("boom");
        })
    }));
    assert!(r.is_err());
    assert_eq!(rx.has_changed(), Ok(false));
    assert_eq!(*rx.borrow(), 1);
    tx.send(2).unwrap();
    assert_eq!(*rx.borrow(), 2);
}

#[test]
fn mark_changed_and_mark_unchanged() {
    let (tx, mut rx) = watch::channel(0);
    rx.mark_changed();
    assert_eq!(rx.has_changed(), Ok(true));
    assert_eq!(poll_once(pin!(rx.changed())), Poll::Ready(Ok(())));
    tx.send(1).unwrap();
    rx.mark_unchanged();
    assert_eq!(rx.has_changed(), Ok(false));
    assert!(poll_once(pin!(rx.changed())).is_pending());
}

#[test]
fn closing_reports_the_unseen_value_first() {
    let (tx, mut rx) = watch::channel(0);
    let tx2 = tx.clone();
    assert_eq!(tx.sender_count(), 2);
    tx.send(1).unwrap();
    drop(tx);
    assert!(!rx.is_closed(), "a sender is left");
    drop(tx2);
    assert!(rx.is_closed());
    assert!(rx.has_changed().is_err(), "as tokio's: Err once closed");
    assert_eq!(poll_once(pin!(rx.changed())), Poll::Ready(Ok(())));
    assert_eq!(*rx.borrow(), 1);
    assert!(matches!(poll_once(pin!(rx.changed())), Poll::Ready(Err(_))));
}

#[test]
fn last_sender_drop_wakes_a_pending_changed() {
    let (tx, mut rx) = watch::channel(0);
    let (count, waker) = counting_waker();
    let mut changed = pin!(rx.changed());
    assert!(changed
        .as_mut()
        .poll(&mut Context::from_waker(&waker))
        .is_pending());
    drop(tx);
    assert_eq!(count.0.load(SeqCst), 1);
    assert!(matches!(poll_once(changed), Poll::Ready(Err(_))));
}

#[test]
fn a_dropped_changed_future_marks_nothing_seen() {
    let (tx, mut rx) = watch::channel(0);
    for _ in 0..3 {
        let mut changed = Box::pin(rx.changed());
        assert!(poll_once(changed.as_mut()).is_pending());
        drop(changed);
    }
    tx.send(7).unwrap();
    // A wait created after the change and dropped unpolled marks nothing either.
    drop(rx.changed());
    assert_eq!(rx.has_changed(), Ok(true));
    assert_eq!(poll_once(pin!(rx.changed())), Poll::Ready(Ok(())));
}

#[gorun::test]
async fn wait_for_checks_the_current_value_then_each_change() {
    let (tx, mut rx) = watch::channel(0);
    assert_eq!(*rx.wait_for(|v| *v == 0).await.unwrap(), 0);
    let h = gorun::go(async move {
        for v in 1..=10 {
            tx.send(v).unwrap();
            gorun::time::sleep(Duration::from_micros(100)).await;
        }
    });
    assert!(*rx.wait_for(|v| *v >= 7).await.unwrap() >= 7);
    h.await.unwrap();
    assert!(
        rx.wait_for(|v| *v > 10).await.is_err(),
        "closed, never true"
    );
}

#[gorun::test]
async fn every_receiver_task_ends_on_the_final_value() {
    let (tx, rx) = watch::channel(0u32);
    let hs: Vec<_> = (0..8)
        .map(|_| {
            let mut rx = rx.clone();
            gorun::go(async move {
                let mut last = 0;
                while rx.changed().await.is_ok() {
                    let v = *rx.borrow_and_update();
                    assert!(v > last, "values are seen in order, each once");
                    last = v;
                }
                last
            })
        })
        .collect();
    drop(rx);
    for v in 1..=5_000 {
        tx.send(v).unwrap();
        if v % 64 == 0 {
            gorun::yield_now().await;
        }
    }
    drop(tx);
    for h in hs {
        assert_eq!(h.await.unwrap(), 5_000);
    }
}

/// Receivers cancel their `changed()` at random (timeouts, a losing select! arm); each
/// must still end on the final value, never see a value go backwards, and the
/// cancelled waits must not leave the others stuck.
#[gorun::test]
async fn cancelled_changed_futures_break_nothing() {
    let (tx, rx) = watch::channel(0u64);
    let cancelled = Arc::new(AtomicUsize::new(0));
    let hs: Vec<_> = (0..6u64)
        .map(|r| {
            let (mut rx, cancelled) = (rx.clone(), cancelled.clone());
            gorun::go(async move {
                let mut rng = r * 31 + 7;
                let mut last = 0;
                loop {
                    rng ^= rng << 13;
                    rng ^= rng >> 7;
                    rng ^= rng << 17;
                    let res = if rng % 2 == 0 {
                        let d = Duration::from_micros(rng % 50);
                        gorun::time::timeout(d, rx.changed()).await.ok()
                    } else {
                        gorun::select! {
                            biased;
                            r = rx.changed() => Some(r),
                            _ = gorun::yield_now() => None,
                        }
                    };
                    match res {
                        None => {
                            cancelled.fetch_add(1, SeqCst);
                        }
                        Some(Ok(())) => {
                            let v = *rx.borrow_and_update();
                            assert!(v > last);
                            last = v;
                        }
                        Some(Err(_)) => return last,
                    }
                }
            })
        })
        .collect();
    drop(rx);
    for v in 1..=2_000 {
        tx.send(v).unwrap();
        if v % 50 == 0 {
            gorun::time::sleep(Duration::from_micros(200)).await;
        }
    }
    drop(tx);
    for h in hs {
        assert_eq!(h.await.unwrap(), 2_000);
    }
    assert!(cancelled.load(SeqCst) > 0, "no wait was cancelled");
}

#[gorun::test]
async fn changed_as_a_select_future_arm() {
    let (tx, mut rx) = watch::channel(0);
    let (stop_tx, stop_rx) = gorun::chan::<()>(1);
    stop_tx.send(()).await.unwrap();
    gorun::select! {
        biased;
        _ = rx.changed() => panic!("nothing changed yet"),
        recv(stop_rx) -> _ => {}
    }
    tx.send(1).unwrap();
    let r = gorun::select! {
        r = rx.changed() => r,
        recv(stop_rx) -> _ => unreachable!(),
    };
    assert!(r.is_ok());
    assert_eq!(*rx.borrow(), 1);
}

#[test]
fn works_under_futures_block_on_and_tokio() {
    let (tx, mut rx) = watch::channel(0);
    let t = std::thread::spawn(move || {
        for v in 1..=3 {
            std::thread::sleep(Duration::from_millis(1));
            tx.send(v).unwrap();
        }
    });
    let last = futures::executor::block_on(async {
        let mut last = 0;
        while rx.changed().await.is_ok() {
            last = *rx.borrow_and_update();
        }
        last
    });
    t.join().unwrap();
    assert_eq!(last, 3);

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    rt.block_on(async {
        let (tx, mut rx) = watch::channel("a");
        let h = tokio::spawn(async move {
            rx.changed().await.unwrap();
            *rx.borrow()
        });
        tokio::task::yield_now().await;
        tx.send("b").unwrap();
        assert_eq!(h.await.unwrap(), "b");
        tx.closed().await;
    });
}

#[gorun::test]
async fn changed_charges_the_cooperative_budget() {
    let (tx, mut rx) = watch::channel(0);
    gorun::select! {
        biased;
        _ = async {
            loop {
                tx.send_modify(|v| *v += 1);
                rx.changed().await.unwrap();
            }
        } => {}
        _ = gorun::yield_now() => {}
    }
}

#[test]
fn task_dump_shows_the_wait() {
    let (tx, mut rx) = watch::channel(0u8);
    let reason = dump_wait_reason(async move {
        let _ = rx.changed().await;
    });
    assert_eq!(reason, Some(gorun::WaitReason::ChanRecv));
    drop(tx);
}
