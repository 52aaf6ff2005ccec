//! Channel semantics on `futures::executor` and by manual polling.
#![cfg(not(loom))]

use std::future::Future;
use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use futures::executor::block_on;
use futures::{Sink, SinkExt, StreamExt};
use gorun_channel::{chan, SendError, TryRecvError, TrySendError};

struct CountWaker(AtomicUsize);
impl Wake for CountWaker {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

fn counting() -> (Arc<CountWaker>, Waker) {
    let c = Arc::new(CountWaker(AtomicUsize::new(0)));
    (c.clone(), Waker::from(c))
}

fn poll<F: Future>(f: Pin<&mut F>, w: &Waker) -> Poll<F::Output> {
    f.poll(&mut Context::from_waker(w))
}

#[test]
fn fifo_buffered() {
    let (tx, rx) = chan(3);
    for i in 0..3 {
        tx.try_send(i).unwrap();
    }
    assert!(tx.is_full());
    assert_eq!(tx.try_send(9), Err(TrySendError::Full(9)));
    assert_eq!(rx.len(), 3);
    assert_eq!(rx.cap(), 3);
    let got: Vec<_> = (0..3).map(|_| rx.try_recv().unwrap()).collect();
    assert_eq!(got, [0, 1, 2]);
    assert!(rx.is_empty());
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
}

#[test]
fn rendezvous_send_waits_for_receiver() {
    let (tx, rx) = chan(0);
    assert_eq!(tx.try_send(1), Err(TrySendError::Full(1)));
    let (wc, w) = counting();
    let mut send = pin!(tx.send(5));
    assert!(poll(send.as_mut(), &w).is_pending());
    assert_eq!(rx.len(), 0);
    assert_eq!(rx.try_recv(), Ok(5));
    assert_eq!(wc.0.load(Ordering::SeqCst), 1, "sender woken once");
    assert_eq!(poll(send.as_mut(), &w), Poll::Ready(Ok(())));
}

#[test]
fn parked_receiver_gets_value_directly() {
    let (tx, rx) = chan(0);
    let (wc, w) = counting();
    let mut recv = pin!(rx.recv());
    assert!(poll(recv.as_mut(), &w).is_pending());
    assert_eq!(
        tx.try_send(8),
        Ok(()),
        "a parked receiver makes cap 0 sendable"
    );
    assert_eq!(wc.0.load(Ordering::SeqCst), 1);
    assert_eq!(poll(recv.as_mut(), &w), Poll::Ready(Some(8)));
}

#[test]
fn full_buffer_refills_from_parked_sender_in_order() {
    let (tx, rx) = chan(1);
    tx.try_send(1).unwrap();
    let w = Waker::noop();
    let mut s2 = pin!(tx.send(2));
    let mut s3 = pin!(tx.send(3));
    assert!(poll(s2.as_mut(), w).is_pending());
    assert!(poll(s3.as_mut(), w).is_pending());
    assert_eq!(rx.try_recv(), Ok(1));
    assert_eq!(
        poll(s2.as_mut(), w),
        Poll::Ready(Ok(())),
        "moved into buffer"
    );
    assert!(poll(s3.as_mut(), w).is_pending());
    assert_eq!(rx.try_recv(), Ok(2));
    assert_eq!(rx.try_recv(), Ok(3));
    assert_eq!(poll(s3.as_mut(), w), Poll::Ready(Ok(())));
}

#[test]
fn close_drains_then_none() {
    block_on(async {
        let (tx, rx) = chan(4);
        let tx2 = tx.clone();
        tx.send(1).await.unwrap();
        tx2.send(2).await.unwrap();
        assert!(tx.close());
        assert!(!tx2.close(), "second close reports false");
        assert!(tx.is_closed());
        assert_eq!(tx2.send(3).await, Err(SendError(3)));
        assert_eq!(rx.recv().await, Some(1));
        assert_eq!(rx.recv().await, Some(2));
        assert_eq!(rx.recv().await, None);
        assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
    });
}

#[test]
fn last_sender_drop_closes() {
    let (tx, rx) = chan::<i32>(0);
    let tx2 = tx.clone();
    let (wc, w) = counting();
    let mut recv = pin!(rx.recv());
    assert!(poll(recv.as_mut(), &w).is_pending());
    drop(tx);
    assert_eq!(wc.0.load(Ordering::SeqCst), 0, "one sender remains");
    drop(tx2);
    assert_eq!(wc.0.load(Ordering::SeqCst), 1);
    assert_eq!(poll(recv.as_mut(), &w), Poll::Ready(None));
}

#[test]
fn close_fails_parked_senders_with_value() {
    let (tx, _rx) = chan(0);
    let (wc, w) = counting();
    let mut send = pin!(tx.send(String::from("v")));
    assert!(poll(send.as_mut(), &w).is_pending());
    tx.close();
    assert_eq!(wc.0.load(Ordering::SeqCst), 1);
    assert_eq!(
        poll(send.as_mut(), &w),
        Poll::Ready(Err(SendError("v".into())))
    );
}

#[test]
fn dropping_last_receiver_fails_blocked_senders() {
    for cap in [0, 1, 2] {
        let (tx, rx) = chan(cap);
        for i in 0..cap {
            tx.try_send(i).unwrap();
        }
        let rx2 = rx.clone();
        let (wc, w) = counting();
        let mut send = pin!(tx.send(100));
        assert!(poll(send.as_mut(), &w).is_pending());
        drop(rx);
        assert!(poll(send.as_mut(), &w).is_pending(), "a receiver remains");
        drop(rx2);
        assert_eq!(wc.0.load(Ordering::SeqCst), 1);
        assert_eq!(poll(send.as_mut(), &w), Poll::Ready(Err(SendError(100))));
        assert_eq!(tx.try_send(7), Err(TrySendError::Closed(7)));
        assert!(tx.is_closed());
    }
}

#[test]
fn buffered_values_dropped_when_receivers_gone() {
    let token = Arc::new(());
    let (tx, rx) = chan(2);
    tx.try_send(token.clone()).unwrap();
    assert_eq!(Arc::strong_count(&token), 2);
    drop(rx);
    assert_eq!(Arc::strong_count(&token), 1);
    drop(tx);
}

#[test]
fn errors_give_values_back_and_debug_without_t_debug() {
    struct NoDebug(u8);
    let e = TrySendError::Full(NoDebug(3));
    assert!(e.is_full() && !e.is_closed());
    assert_eq!(format!("{e:?}"), "Full(..)");
    assert_eq!(e.into_inner().0, 3);
    let e = SendError(NoDebug(4));
    assert_eq!(
        format!("{e:?} {e}"),
        "SendError(..) sending on a closed channel"
    );
    assert_eq!(e.into_inner().0, 4);
    assert!(TryRecvError::Closed.is_closed());
    assert!(TryRecvError::Empty.is_empty());
}

#[test]
fn handles_are_send_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<gorun_channel::Sender<String>>();
    assert_send_sync::<gorun_channel::Receiver<String>>();
    fn assert_send<T: Send>(_: &T) {}
    let (tx, rx) = chan::<String>(0);
    assert_send(&tx.send(String::new()));
    assert_send(&rx.recv());
}

#[test]
fn stream_and_sink() {
    block_on(async {
        let (mut tx, rx) = chan::<u32>(0);
        let producer = async move {
            for i in 0..100 {
                tx.feed(i).await.unwrap();
            }
            tx.flush().await.unwrap();
        };
        let (_, got) = futures::join!(producer, rx.collect::<Vec<_>>());
        assert_eq!(got, (0..100).collect::<Vec<_>>());
    });
}

#[test]
fn sink_reports_closed_with_value() {
    block_on(async {
        let (mut tx, rx) = chan::<u32>(1);
        drop(rx);
        assert_eq!(SinkExt::send(&mut tx, 3).await, Err(SendError(3)));
    });
}

#[test]
fn sink_poll_ready_waits_for_reserved_item() {
    let (mut tx, rx) = chan::<u32>(0);
    let w = Waker::noop();
    let mut cx = Context::from_waker(w);
    assert!(Pin::new(&mut tx).poll_ready(&mut cx).is_ready());
    Pin::new(&mut tx).start_send(1).unwrap();
    assert!(
        Pin::new(&mut tx).poll_ready(&mut cx).is_pending(),
        "the reservation is taken until a receiver has the item"
    );
    assert_eq!(rx.try_recv(), Ok(1));
    assert!(matches!(
        Pin::new(&mut tx).poll_ready(&mut cx),
        Poll::Ready(Ok(()))
    ));
    // A pending sink item still in the sender is withdrawn when it drops.
    Pin::new(&mut tx).start_send(2).unwrap();
    assert!(Pin::new(&mut tx).poll_flush(&mut cx).is_pending());
    drop(tx);
    assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
}

#[test]
fn stream_item_handed_to_dropped_receiver_is_redelivered() {
    let (tx, rx) = chan::<u32>(0);
    let rx2 = rx.clone();
    let mut rx = rx;
    let w = Waker::noop();
    let mut cx = Context::from_waker(w);
    assert!(rx.poll_next_unpin(&mut cx).is_pending());
    tx.try_send(11).unwrap();
    drop(rx);
    assert_eq!(rx2.try_recv(), Ok(11));
}

#[test]
fn blocking_threads_share_with_async() {
    let (tx, rx) = chan::<u64>(0);
    let n = 2000u64;
    let producers: Vec<_> = (0..4)
        .map(|p| {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for i in 0..n {
                    tx.blocking_send(p * n + i).unwrap();
                }
            })
        })
        .collect();
    drop(tx);
    let consumer = std::thread::spawn(move || rx.iter().sum::<u64>());
    for p in producers {
        p.join().unwrap();
    }
    let total: u64 = consumer.join().unwrap();
    assert_eq!(total, (0..4 * n).sum::<u64>());
}

#[test]
fn recv_charges_coop_budget() {
    let (tx, rx) = chan::<u32>(1000);
    for i in 0..1000 {
        tx.try_send(i).unwrap();
    }
    let w = Waker::noop();
    let got = gorun_coop::budget(|| {
        let mut n = 0;
        loop {
            let mut f = pin!(rx.recv());
            match poll(f.as_mut(), w) {
                Poll::Ready(Some(_)) => n += 1,
                Poll::Ready(None) => unreachable!(),
                Poll::Pending => break n,
            }
        }
    });
    assert_eq!(got, gorun_coop::INITIAL_BUDGET as usize);
    assert_eq!(rx.len(), 1000 - got);
}

#[test]
fn works_on_tokio_multi_thread() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    rt.block_on(async {
        let (tx, rx) = chan::<u32>(0);
        let h = tokio::spawn(async move {
            let mut sum = 0;
            while let Some(v) = rx.recv().await {
                sum += v;
            }
            sum
        });
        for i in 0..1000 {
            tx.send(i).await.unwrap();
        }
        drop(tx);
        assert_eq!(h.await.unwrap(), (0..1000).sum::<u32>());
    });
}

/// A huge bound costs nothing until it is used: the ring grows on demand (Go's
/// `make(chan T, n)` allocates eagerly; gorun aborted on `1 << 40` u64s).
#[test]
fn huge_capacity_costs_nothing_until_used() {
    let (tx, rx) = chan::<u64>(1 << 40);
    assert_eq!(tx.cap(), 1 << 40);
    for i in 0..10_000 {
        tx.try_send(i).unwrap();
    }
    assert_eq!(rx.len(), 10_000);
    for i in 0..10_000 {
        assert_eq!(rx.try_recv(), Ok(i));
    }
}

/// An impossible capacity panics with a gorun message that says the limit (Go:
/// `makechan: size out of range`); zero-sized values take any capacity.
#[test]
fn impossible_capacity_panics_with_the_limit() {
    let err = std::panic::catch_unwind(|| chan::<u64>(usize::MAX)).unwrap_err();
    let msg = err.downcast_ref::<String>().expect("a formatted message");
    assert!(msg.starts_with("gorun: chan capacity"), "{msg}");
    assert!(msg.contains("out of range"), "{msg}");
    assert!(
        msg.contains(&(isize::MAX as usize / 8).to_string()),
        "{msg}"
    );
    let (tx, rx) = chan::<()>(usize::MAX);
    tx.try_send(()).unwrap();
    assert_eq!(rx.try_recv(), Ok(()));
}
