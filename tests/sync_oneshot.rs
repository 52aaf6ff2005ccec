//! `gorun::sync::oneshot`: tokio's one-value channel, on gorun and other executors.

use std::future::Future;
use std::pin::{pin, Pin};
use std::sync::atomic::Ordering::SeqCst;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use gorun::sync::oneshot::{self, error::RecvError, error::TryRecvError};

#[path = "common/sync_support.rs"]
mod support;
use support::*;

/// A waker that counts its wake-ups.

#[test]
fn handles_and_futures_are_send() {
    let (mut tx, rx) = oneshot::channel::<String>();
    assert_send(&tx.closed());
    assert_send(&tx);
    assert_send(&rx);
}

#[gorun::test]
async fn value_sent_from_another_task_is_received() {
    let (tx, rx) = oneshot::channel();
    let h = gorun::go(async move {
        gorun::time::sleep(Duration::from_millis(2)).await;
        tx.send(String::from("hello"))
    });
    assert_eq!(rx.await.as_deref(), Ok("hello"));
    assert_eq!(h.await.unwrap(), Ok(()));
}

#[test]
fn pending_receiver_is_woken_by_send() {
    let (tx, mut rx) = oneshot::channel();
    let (count, waker) = counting_waker();
    let mut cx = Context::from_waker(&waker);
    assert!(Pin::new(&mut rx).poll(&mut cx).is_pending());
    assert_eq!(count.0.load(SeqCst), 0);
    tx.send(7).unwrap();
    assert_eq!(count.0.load(SeqCst), 1);
    assert_eq!(Pin::new(&mut rx).poll(&mut cx), Poll::Ready(Ok(7)));
    assert!(rx.is_terminated());
}

#[test]
fn receiver_moved_to_another_task_wakes_the_new_one() {
    let (tx, mut rx) = oneshot::channel();
    let (first, w1) = counting_waker();
    let (second, w2) = counting_waker();
    assert!(Pin::new(&mut rx)
        .poll(&mut Context::from_waker(&w1))
        .is_pending());
    assert!(Pin::new(&mut rx)
        .poll(&mut Context::from_waker(&w2))
        .is_pending());
    tx.send(()).unwrap();
    assert_eq!((first.0.load(SeqCst), second.0.load(SeqCst)), (0, 1));
}

#[gorun::test]
async fn dropped_sender_gives_recv_error() {
    let (tx, rx) = oneshot::channel::<u32>();
    gorun::go(async move {
        gorun::yield_now().await;
        drop(tx);
    });
    let err: RecvError = rx.await.unwrap_err();
    assert_eq!(err.to_string(), "channel closed");
}

#[test]
fn dropped_sender_wakes_and_fails_the_receiver() {
    let (tx, mut rx) = oneshot::channel::<u32>();
    let (count, waker) = counting_waker();
    assert!(Pin::new(&mut rx)
        .poll(&mut Context::from_waker(&waker))
        .is_pending());
    drop(tx);
    assert_eq!(count.0.load(SeqCst), 1);
    assert!(matches!(poll_once(Pin::new(&mut rx)), Poll::Ready(Err(_))));

    let (tx, mut rx) = oneshot::channel::<u32>();
    drop(tx);
    assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
}

#[test]
fn try_recv_empty_then_value_then_closed() {
    let (tx, mut rx) = oneshot::channel();
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    assert!(rx.is_empty());
    tx.send(3).unwrap();
    assert!(!rx.is_empty());
    assert_eq!(rx.try_recv(), Ok(3));
    assert!(rx.is_terminated() && rx.is_empty());
    assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
}

#[gorun::test]
async fn closed_resolves_when_the_receiver_is_dropped() {
    let (mut tx, rx) = oneshot::channel::<u32>();
    let (go_tx, go_rx) = oneshot::channel::<()>();
    let h = gorun::go(async move {
        go_rx.await.unwrap();
        drop(rx);
    });
    let mut closed = pin!(tx.closed());
    assert!(poll_once(closed.as_mut()).is_pending());
    go_tx.send(()).unwrap();
    closed.await;
    assert!(tx.is_closed());
    assert_eq!(tx.send(5), Err(5), "the value comes back");
    h.await.unwrap();
}

#[test]
fn closed_is_woken_by_receiver_close() {
    let (mut tx, mut rx) = oneshot::channel::<u32>();
    let (count, waker) = counting_waker();
    {
        let mut closed = pin!(tx.closed());
        assert!(closed
            .as_mut()
            .poll(&mut Context::from_waker(&waker))
            .is_pending());
        rx.close();
        assert_eq!(count.0.load(SeqCst), 1);
        assert!(poll_once(closed.as_mut()).is_ready());
    }
    assert!(tx.is_closed());
    assert!(poll_once(pin!(tx.closed())).is_ready());
}

#[test]
fn send_after_receiver_drop_or_close_returns_the_value() {
    let (tx, rx) = oneshot::channel();
    drop(rx);
    assert!(tx.is_closed());
    assert_eq!(tx.send(vec![1, 2]), Err(vec![1, 2]));

    let (tx, mut rx) = oneshot::channel();
    rx.close();
    assert_eq!(tx.send("x"), Err("x"));
    assert!(matches!(poll_once(Pin::new(&mut rx)), Poll::Ready(Err(_))));
}

#[test]
fn value_sent_before_close_is_still_received() {
    let (tx, mut rx) = oneshot::channel();
    tx.send(9).unwrap();
    rx.close();
    assert_eq!(rx.try_recv(), Ok(9));
}

#[test]
fn unreceived_value_is_dropped_with_the_receiver() {
    let v = Arc::new(());
    let (tx, rx) = oneshot::channel();
    tx.send(v.clone()).unwrap();
    assert_eq!(Arc::strong_count(&v), 2);
    drop(rx);
    assert_eq!(Arc::strong_count(&v), 1);
}

#[test]
#[should_panic(expected = "polled after it completed")]
fn polling_after_completion_panics() {
    let (tx, mut rx) = oneshot::channel();
    tx.send(1).unwrap();
    assert_eq!(poll_once(Pin::new(&mut rx)), Poll::Ready(Ok(1)));
    let _ = poll_once(Pin::new(&mut rx));
}

#[test]
fn a_waker_that_touches_the_channel_on_drop_does_not_deadlock() {
    // The receiver's waker owns the sender: dropping the replaced waker drops the
    // sender, which locks the channel. It must happen outside the channel's lock.
    struct HoldsSender {
        _tx: oneshot::Sender<u8>,
    }
    impl Wake for HoldsSender {
        fn wake(self: Arc<Self>) {}
    }
    let (tx, mut rx) = oneshot::channel::<u8>();
    let w1 = Waker::from(Arc::new(HoldsSender { _tx: tx }));
    assert!(Pin::new(&mut rx)
        .poll(&mut Context::from_waker(&w1))
        .is_pending());
    drop(w1); // the channel holds the last clone
    let (_, w2) = counting_waker();
    // Replacing the waker drops the sender: the receiver sees the channel closed.
    assert!(Pin::new(&mut rx)
        .poll(&mut Context::from_waker(&w2))
        .is_pending());
    assert!(matches!(poll_once(Pin::new(&mut rx)), Poll::Ready(Err(_))));
}

#[gorun::test]
async fn receiver_as_a_select_future_arm() {
    let (tx, mut rx) = oneshot::channel::<u32>();
    let (tick_tx, tick_rx) = gorun::chan::<()>(1);
    tick_tx.send(()).await.unwrap();
    // Not ready: the other arm wins, and the receiver (polled by reference) is intact.
    gorun::select! {
        biased;
        v = &mut rx => panic!("nothing sent yet: {v:?}"),
        recv(tick_rx) -> _ => {}
    }
    tx.send(4).unwrap();
    let got = gorun::select! {
        v = &mut rx => v,
        recv(tick_rx) -> _ => unreachable!("no second tick"),
    };
    assert_eq!(got, Ok(4));
}

#[test]
fn works_under_futures_block_on_and_blocking_recv() {
    let (tx, rx) = oneshot::channel();
    let t = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(5));
        tx.send(11).unwrap();
    });
    assert_eq!(futures::executor::block_on(rx), Ok(11));
    t.join().unwrap();

    let (mut tx, rx) = oneshot::channel::<u8>();
    let t = std::thread::spawn(move || {
        futures::executor::block_on(tx.closed());
        tx.is_closed()
    });
    std::thread::sleep(Duration::from_millis(5));
    drop(rx);
    assert!(t.join().unwrap());

    let (tx, rx) = oneshot::channel();
    let t = std::thread::spawn(move || rx.blocking_recv());
    tx.send("b").unwrap();
    assert_eq!(t.join().unwrap(), Ok("b"));
}

#[test]
fn works_on_tokio() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    rt.block_on(async {
        let (tx, rx) = oneshot::channel();
        tokio::spawn(async move { tx.send(5u8).unwrap() });
        assert_eq!(rx.await, Ok(5));
    });
}

#[gorun::test]
async fn recv_charges_the_cooperative_budget() {
    // A loop of ready oneshots must still give way: with the budget spent the
    // receiver answers Pending, so the biased select! gets to poll yield_now.
    gorun::select! {
        biased;
        _ = async {
            loop {
                let (tx, rx) = oneshot::channel();
                tx.send(()).unwrap();
                rx.await.unwrap();
            }
        } => {}
        _ = gorun::yield_now() => {}
    }
}

#[gorun::test]
async fn many_concurrent_round_trips() {
    let mut hs = vec![];
    for i in 0..1_000u64 {
        let (tx, rx) = oneshot::channel();
        let (back_tx, back_rx) = oneshot::channel();
        hs.push(gorun::go(async move {
            let v: u64 = rx.await.unwrap();
            back_tx.send(v * 2).unwrap();
        }));
        gorun::go(async move { tx.send(i).unwrap() });
        hs.push(gorun::go(async move {
            assert_eq!(back_rx.await.unwrap(), i * 2);
        }));
    }
    for h in hs {
        h.await.unwrap();
    }
}

#[test]
fn task_dump_shows_the_wait() {
    let (tx, rx) = oneshot::channel::<u8>();
    let reason = dump_wait_reason(async move {
        let _ = rx.await;
    });
    assert_eq!(reason, Some(gorun::WaitReason::ChanRecv));
    let (mut tx2, rx2) = oneshot::channel::<u8>();
    let reason = dump_wait_reason(async move { tx2.closed().await });
    assert_eq!(reason, Some(gorun::WaitReason::ChanSend));
    drop((tx, rx2));
}
