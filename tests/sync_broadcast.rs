//! `gorun::sync::broadcast`: tokio's broadcast channel: lag, close, subscriptions, a
//! model check of the ring, and a stress with cancelled receives that counts every
//! value in and out.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use gorun::sync::broadcast::{self, error::RecvError, error::TryRecvError};
use proptest::prelude::*;

#[path = "common/sync_support.rs"]
mod support;
use support::*;

fn xorshift(s: &mut u64) -> u64 {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    *s
}

#[test]
fn handles_and_futures_are_send() {
    let (tx, mut rx) = broadcast::channel::<String>(4);
    assert_send(&tx.closed());
    assert_send(&rx.recv());
    assert_send(&tx);
    assert_send(&rx);
}

#[test]
fn every_receiver_gets_every_value_in_order() {
    let (tx, mut a) = broadcast::channel(8);
    let mut b = tx.subscribe();
    assert_eq!(tx.send(1), Ok(2));
    assert_eq!(tx.send(2), Ok(2));
    assert_eq!((a.try_recv(), a.try_recv()), (Ok(1), Ok(2)));
    assert_eq!(a.try_recv(), Err(TryRecvError::Empty));
    assert_eq!((b.try_recv(), b.try_recv()), (Ok(1), Ok(2)));
}

#[test]
fn lagging_receiver_gets_lagged_n_then_the_oldest_value_held() {
    let (tx, mut rx) = broadcast::channel(2);
    for v in 1..=5 {
        tx.send(v).unwrap();
    }
    assert_eq!(rx.len(), 5);
    assert_eq!(rx.try_recv(), Err(TryRecvError::Lagged(3)));
    assert_eq!(rx.len(), 2);
    assert_eq!(rx.try_recv(), Ok(4));
    assert_eq!(rx.try_recv(), Ok(5));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));

    // Lag is per receiver, and can happen again after catching up.
    let mut late = tx.subscribe();
    tx.send(6).unwrap();
    assert_eq!(late.try_recv(), Ok(6));
    for v in 7..=10 {
        tx.send(v).unwrap();
    }
    assert_eq!(rx.try_recv(), Err(TryRecvError::Lagged(3)));
    assert_eq!(rx.try_recv(), Ok(9));
    assert_eq!(late.try_recv(), Err(TryRecvError::Lagged(2)));
    assert_eq!(late.try_recv(), Ok(9));
}

#[test]
fn capacity_is_rounded_up_to_a_power_of_two_as_in_tokio() {
    let (tx, mut rx) = broadcast::channel(3); // holds 4
    for v in 0..6 {
        tx.send(v).unwrap();
    }
    assert_eq!(rx.try_recv(), Err(TryRecvError::Lagged(2)));
    assert_eq!(rx.try_recv(), Ok(2));
}

#[gorun::test]
async fn async_recv_reports_lag_then_resumes() {
    let (tx, mut rx) = broadcast::channel(4);
    for v in 0..10 {
        tx.send(v).unwrap();
    }
    assert_eq!(rx.recv().await, Err(RecvError::Lagged(6)));
    for v in 6..10 {
        assert_eq!(rx.recv().await, Ok(v));
    }
}

#[test]
fn channel_closes_when_the_last_sender_drops_after_draining() {
    let (tx, mut rx) = broadcast::channel(4);
    let tx2 = tx.clone();
    tx.send(1).unwrap();
    tx2.send(2).unwrap();
    drop(tx);
    assert!(!rx.is_closed());
    assert_eq!(rx.sender_strong_count(), 1);
    drop(tx2);
    assert!(rx.is_closed());
    assert_eq!(rx.try_recv(), Ok(1));
    assert_eq!(rx.try_recv(), Ok(2));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
    assert_eq!(
        poll_once(pin!(rx.recv())),
        Poll::Ready(Err(RecvError::Closed))
    );
}

#[test]
fn last_sender_drop_wakes_parked_receivers() {
    let (tx, mut a) = broadcast::channel::<u8>(4);
    let mut b = tx.subscribe();
    let count = Arc::new(CountWaker(AtomicUsize::new(0)));
    let waker = Waker::from(count.clone());
    let mut cx = Context::from_waker(&waker);
    let mut ra = pin!(a.recv());
    let mut rb = pin!(b.recv());
    assert!(ra.as_mut().poll(&mut cx).is_pending());
    assert!(rb.as_mut().poll(&mut cx).is_pending());
    let tx2 = tx.clone();
    drop(tx);
    assert_eq!(count.0.load(SeqCst), 0, "one sender is left");
    drop(tx2);
    assert_eq!(count.0.load(SeqCst), 2);
    assert_eq!(ra.poll(&mut cx), Poll::Ready(Err(RecvError::Closed)));
    assert_eq!(rb.poll(&mut cx), Poll::Ready(Err(RecvError::Closed)));
}

#[test]
fn lagged_receiver_on_a_closed_channel_drains_then_closes() {
    let (tx, mut rx) = broadcast::channel(2);
    for v in 1..=4 {
        tx.send(v).unwrap();
    }
    drop(tx);
    assert_eq!(rx.try_recv(), Err(TryRecvError::Lagged(2)));
    assert_eq!(rx.try_recv(), Ok(3));
    assert_eq!(rx.try_recv(), Ok(4));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
}

#[test]
fn resubscribe_and_receiver_count() {
    let (tx, rx) = broadcast::channel(4);
    assert_eq!(tx.receiver_count(), 1);
    tx.send(1).unwrap();
    let mut r2 = rx.resubscribe();
    let mut r3 = tx.subscribe();
    assert_eq!(tx.receiver_count(), 3);
    assert_eq!(
        r2.try_recv(),
        Err(TryRecvError::Empty),
        "starts at the tail"
    );
    tx.send(2).unwrap();
    assert_eq!((r2.try_recv(), r3.try_recv()), (Ok(2), Ok(2)));
    drop(rx);
    drop(r2);
    assert_eq!(tx.receiver_count(), 1);
    assert!(r3.same_channel(&tx.subscribe()));
}

#[test]
fn send_without_receivers_fails_until_one_subscribes() {
    let (tx, rx) = broadcast::channel(4);
    drop(rx);
    let err = tx.send(String::from("v")).unwrap_err();
    assert_eq!(err.0, "v");
    let mut rx = tx.subscribe();
    assert_eq!(tx.send(String::from("w")), Ok(1));
    assert_eq!(rx.try_recv().as_deref(), Ok("w"));
}

#[test]
#[should_panic(expected = "broadcast channel capacity cannot be zero")]
fn zero_capacity_panics() {
    let _ = broadcast::channel::<u8>(0);
}

#[test]
fn values_are_dropped_once_every_receiver_has_them() {
    let v = Arc::new(());
    let (tx, mut a) = broadcast::channel(4);
    let mut b = tx.subscribe();
    tx.send(v.clone()).unwrap();
    assert_eq!(Arc::strong_count(&v), 2);
    let got_a = a.try_recv().unwrap();
    assert_eq!(
        Arc::strong_count(&v),
        3,
        "a clone for a, the original held for b"
    );
    let got_b = b.try_recv().unwrap();
    assert_eq!(Arc::strong_count(&v), 3, "the last reader takes it out");
    drop((got_a, got_b));
    assert_eq!(Arc::strong_count(&v), 1);

    tx.send(v.clone()).unwrap();
    drop(a);
    assert_eq!(Arc::strong_count(&v), 2, "b has not read it");
    drop(b);
    assert_eq!(
        Arc::strong_count(&v),
        1,
        "unread values go with the last receiver"
    );
}

#[test]
fn sender_and_receiver_len() {
    let (tx, mut a) = broadcast::channel(4);
    let mut b = tx.subscribe();
    assert!(tx.is_empty() && a.is_empty());
    for v in 0..3 {
        tx.send(v).unwrap();
    }
    assert_eq!((tx.len(), a.len(), b.len()), (3, 3, 3));
    a.try_recv().unwrap();
    a.try_recv().unwrap();
    assert_eq!((tx.len(), a.len(), b.len()), (3, 1, 3));
    b.try_recv().unwrap();
    assert_eq!(tx.len(), 2);
    drop(b);
    assert_eq!(tx.len(), 1);
}

#[test]
fn a_panicking_clone_skips_that_value() {
    #[derive(Debug, PartialEq)]
    struct Fragile(u8);
    impl Clone for Fragile {
        fn clone(&self) -> Fragile {
            assert_ne!(self.0, 0, "cannot clone 0");
            Fragile(self.0)
        }
    }
    let (tx, mut a) = broadcast::channel(4);
    let _b = tx.subscribe(); // so a clones instead of taking the value
    tx.send(Fragile(0)).unwrap();
    tx.send(Fragile(1)).unwrap();
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| a.try_recv()));
    assert!(r.is_err());
    assert_eq!(a.try_recv(), Ok(Fragile(1)));
}

#[test]
fn a_waker_that_sends_on_drop_does_not_deadlock() {
    struct SendOnDrop(broadcast::Sender<()>);
    impl Drop for SendOnDrop {
        fn drop(&mut self) {
            let _ = self.0.send(());
        }
    }
    impl Wake for SendOnDrop {
        fn wake(self: Arc<Self>) {}
    }
    // Replacing the stored waker drops it (which sends).
    let (tx, mut rx) = broadcast::channel(4);
    {
        let mut recv = pin!(rx.recv());
        let w = Waker::from(Arc::new(SendOnDrop(tx)));
        assert!(recv
            .as_mut()
            .poll(&mut Context::from_waker(&w))
            .is_pending());
        drop(w);
        assert!(poll_once(recv.as_mut()).is_pending(), "replaced the waker");
        assert_eq!(poll_once(recv), Poll::Ready(Ok(())), "its drop sent");
    }
    // Waking it consumes it (which sends).
    let (tx, mut rx) = broadcast::channel(4);
    let mut recv = pin!(rx.recv());
    let w = Waker::from(Arc::new(SendOnDrop(tx.clone())));
    assert!(recv
        .as_mut()
        .poll(&mut Context::from_waker(&w))
        .is_pending());
    drop(w);
    assert_eq!(tx.send(()), Ok(1));
    assert_eq!(poll_once(recv), Poll::Ready(Ok(())));
}

#[gorun::test]
async fn sender_closed_resolves_when_every_receiver_is_gone() {
    let (tx, rx) = broadcast::channel::<u8>(4);
    let rx2 = tx.subscribe();
    let mut closed = pin!(tx.closed());
    assert!(poll_once(closed.as_mut()).is_pending());
    drop(rx);
    assert!(poll_once(closed.as_mut()).is_pending());
    gorun::go(async move { drop(rx2) });
    closed.await;
    assert_eq!(tx.receiver_count(), 0);
}

#[test]
fn dropped_recv_future_loses_nothing() {
    let (tx, mut rx) = broadcast::channel(4);
    for _ in 0..3 {
        let mut recv = Box::pin(rx.recv());
        assert!(poll_once(recv.as_mut()).is_pending());
        drop(recv);
    }
    tx.send(5).unwrap();
    assert_eq!(rx.try_recv(), Ok(5));
}

#[gorun::test]
async fn recv_as_a_select_future_arm() {
    let (tx, mut rx) = broadcast::channel(4);
    let (stop_tx, stop_rx) = gorun::chan::<()>(0);
    let h = gorun::go(async move {
        let mut got = vec![];
        loop {
            gorun::select! {
                v = rx.recv() => got.push(v.unwrap()),
                recv(stop_rx) -> _ => return got,
            }
        }
    });
    for v in 0..3 {
        tx.send(v).unwrap();
        gorun::time::sleep(Duration::from_millis(1)).await;
    }
    while !tx.is_empty() {
        gorun::yield_now().await;
    }
    stop_tx.send(()).await.unwrap();
    assert_eq!(h.await.unwrap(), [0, 1, 2]);
}

#[test]
fn works_under_futures_block_on_and_tokio() {
    let (tx, mut rx) = broadcast::channel(4);
    let t = std::thread::spawn(move || {
        for v in 0..3 {
            std::thread::sleep(Duration::from_millis(1));
            tx.send(v).unwrap();
        }
    });
    let got: Vec<i32> = futures::executor::block_on(async {
        let mut got = vec![];
        while let Ok(v) = rx.recv().await {
            got.push(v);
        }
        got
    });
    t.join().unwrap();
    assert_eq!(got, [0, 1, 2]);

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    rt.block_on(async {
        let (tx, mut rx) = broadcast::channel(4);
        let h = tokio::spawn(async move { rx.recv().await });
        tokio::task::yield_now().await;
        tx.send(9u8).unwrap();
        assert_eq!(h.await.unwrap(), Ok(9));
    });
}

#[gorun::test]
async fn recv_charges_the_cooperative_budget() {
    let (tx, mut rx) = broadcast::channel(8);
    gorun::select! {
        biased;
        _ = async {
            loop {
                tx.send(()).unwrap();
                rx.recv().await.unwrap();
            }
        } => {}
        _ = gorun::yield_now() => {}
    }
}

/// Senders tag values (sender, seq); receivers cancel receives at random (a timeout
/// of a few microseconds, or a biased select! that gives up after a yield). Every
/// receiver must see every value exactly once, in each sender's order.
#[gorun::test]
async fn every_value_reaches_every_receiver_once_under_cancellation() {
    const SENDERS: usize = 4;
    const PER: u64 = 2_000;
    const RECEIVERS: u64 = 6;
    let (tx, rx) = broadcast::channel::<(usize, u64)>(SENDERS * PER as usize);
    let cancelled = Arc::new(AtomicUsize::new(0));
    let receivers: Vec<_> = (0..RECEIVERS)
        .map(|r| {
            let (mut rx, cancelled) = (rx.resubscribe(), cancelled.clone());
            gorun::go(async move {
                let mut rng = r * 0x9E37_79B9 + 1;
                let mut next = [0u64; SENDERS];
                loop {
                    let roll = xorshift(&mut rng);
                    let got = if roll % 2 == 0 {
                        let d = Duration::from_micros(roll % 40);
                        gorun::time::timeout(d, rx.recv()).await.ok()
                    } else {
                        gorun::select! {
                            biased;
                            v = rx.recv() => Some(v),
                            _ = gorun::yield_now() => None,
                        }
                    };
                    match got {
                        None => {
                            cancelled.fetch_add(1, SeqCst);
                        }
                        Some(Ok((s, i))) => {
                            assert_eq!(i, next[s], "receiver {r}, sender {s}: lost or duplicated");
                            next[s] += 1;
                        }
                        Some(Err(RecvError::Closed)) => return next,
                        Some(Err(e)) => panic!("receiver {r}: {e} with a ring that holds all"),
                    }
                }
            })
        })
        .collect();
    drop(rx);
    let senders: Vec<_> = (0..SENDERS)
        .map(|s| {
            let tx = tx.clone();
            gorun::go(async move {
                for i in 0..PER {
                    assert_eq!(tx.send((s, i)), Ok(RECEIVERS as usize));
                    if i % 32 == 0 {
                        gorun::yield_now().await;
                    }
                    if i % 100 == 0 {
                        // Let the receivers run dry and park, so cancels hit them.
                        gorun::time::sleep(Duration::from_micros(200)).await;
                    }
                }
            })
        })
        .collect();
    drop(tx);
    for h in senders {
        h.await.unwrap();
    }
    for h in receivers {
        assert_eq!(h.await.unwrap(), [PER; SENDERS]);
    }
    assert!(cancelled.load(SeqCst) > 0, "no receive was cancelled");
}

/// As above with a small ring, so receivers lag: for each receiver, the values it
/// received plus the `Lagged(n)` it was told of add up to exactly what was sent, and
/// what it received is in order without repeats.
#[gorun::test]
async fn values_received_plus_lagged_add_up_to_values_sent() {
    const SENT: u64 = 20_000;
    let (tx, rx) = broadcast::channel::<u64>(16);
    let receivers: Vec<_> = (0..4u64)
        .map(|r| {
            let mut rx = rx.resubscribe();
            gorun::go(async move {
                let mut rng = r + 11;
                let (mut received, mut lagged, mut last) = (0u64, 0u64, None::<u64>);
                loop {
                    let roll = xorshift(&mut rng);
                    let d = Duration::from_micros(roll % 20);
                    match gorun::time::timeout(d, rx.recv()).await {
                        Err(_) => {}
                        Ok(Ok(v)) => {
                            assert!(last.is_none_or(|l| v > l), "out of order or repeated");
                            // Nothing skipped silently: a gap was reported as lag.
                            assert_eq!(v, received + lagged, "receiver {r}: unreported gap");
                            last = Some(v);
                            received += 1;
                        }
                        Ok(Err(RecvError::Lagged(n))) => lagged += n,
                        Ok(Err(RecvError::Closed)) => return (received, lagged),
                    }
                    if roll % 7 == 0 {
                        gorun::yield_now().await;
                    }
                }
            })
        })
        .collect();
    drop(rx);
    for v in 0..SENT {
        tx.send(v).unwrap();
        if v % 256 == 0 {
            gorun::yield_now().await;
        }
    }
    drop(tx);
    for h in receivers {
        let (received, lagged) = h.await.unwrap();
        assert_eq!(received + lagged, SENT);
    }
}

#[test]
fn task_dump_shows_the_wait() {
    let (tx, mut rx) = broadcast::channel::<u8>(4);
    let reason = dump_wait_reason(async move {
        let _ = rx.recv().await;
    });
    assert_eq!(reason, Some(gorun::WaitReason::ChanRecv));
    drop(tx);
}

// ---- model check: the ring against a VecDeque and per-receiver positions ----

/// A value that counts its live copies.
#[derive(Debug)]
struct Tracked(u8, Arc<AtomicUsize>);

impl Clone for Tracked {
    fn clone(&self) -> Tracked {
        self.1.fetch_add(1, SeqCst);
        Tracked(self.0, self.1.clone())
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.1.fetch_sub(1, SeqCst);
    }
}

#[derive(Debug, Clone)]
enum Op {
    Send(u8),
    TryRecv(usize),
    /// Polls `recv()` once and drops it (a cancelled receive).
    PollRecv(usize),
    Subscribe,
    Resubscribe(usize),
    DropRx(usize),
    DropTx,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => any::<u8>().prop_map(Op::Send),
        5 => any::<usize>().prop_map(Op::TryRecv),
        2 => any::<usize>().prop_map(Op::PollRecv),
        1 => Just(Op::Subscribe),
        1 => any::<usize>().prop_map(Op::Resubscribe),
        1 => any::<usize>().prop_map(Op::DropRx),
        1 => Just(Op::DropTx),
    ]
}

struct Model {
    cap: u64,
    tail: u64,
    held: VecDeque<u8>,
    rx_next: Vec<u64>,
    closed: bool,
}

impl Model {
    fn oldest(&self) -> u64 {
        self.tail - self.held.len() as u64
    }

    fn try_recv(&mut self, i: usize) -> Result<u8, TryRecvError> {
        let next = self.rx_next[i];
        if next < self.oldest() {
            self.rx_next[i] = self.oldest();
            return Err(TryRecvError::Lagged(self.oldest() - next));
        }
        if next == self.tail {
            return Err(if self.closed {
                TryRecvError::Closed
            } else {
                TryRecvError::Empty
            });
        }
        self.rx_next[i] += 1;
        Ok(self.held[(next - self.oldest()) as usize])
    }

    /// Values held that a live receiver has not read (so still alive in the channel).
    fn unread(&self) -> u64 {
        match self.rx_next.iter().min() {
            Some(&min) => self.tail - min.max(self.oldest()),
            None => 0,
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn ring_matches_the_model(cap in 1usize..9, ops in prop::collection::vec(op(), 1..120)) {
        let live = Arc::new(AtomicUsize::new(0));
        let new_value = |v: u8| {
            live.fetch_add(1, SeqCst);
            Tracked(v, live.clone())
        };
        let (tx, rx) = broadcast::channel::<Tracked>(cap);
        let mut tx = Some(tx);
        let mut rxs = vec![rx];
        let mut m = Model {
            cap: cap.next_power_of_two() as u64,
            tail: 0,
            held: VecDeque::new(),
            rx_next: vec![0],
            closed: false,
        };
        for op in ops {
            let n = rxs.len();
            match op {
                Op::Send(v) => {
                    let Some(tx) = &tx else { continue };
                    let r = tx.send(new_value(v)).map_err(|e| e.0 .0);
                    if n == 0 {
                        prop_assert_eq!(r, Err(v));
                    } else {
                        prop_assert_eq!(r, Ok(n));
                        m.held.push_back(v);
                        m.tail += 1;
                        if m.held.len() as u64 > m.cap {
                            m.held.pop_front();
                        }
                    }
                }
                Op::TryRecv(i) if n > 0 => {
                    let got = rxs[i % n].try_recv().map(|t| t.0);
                    prop_assert_eq!(got, m.try_recv(i % n));
                }
                Op::PollRecv(i) if n > 0 => {
                    let got = match poll_once(pin!(rxs[i % n].recv())) {
                        Poll::Pending => Err(TryRecvError::Empty),
                        Poll::Ready(Ok(t)) => Ok(t.0),
                        Poll::Ready(Err(RecvError::Lagged(k))) => Err(TryRecvError::Lagged(k)),
                        Poll::Ready(Err(RecvError::Closed)) => Err(TryRecvError::Closed),
                    };
                    prop_assert_eq!(got, m.try_recv(i % n));
                }
                Op::Subscribe => {
                    let Some(tx) = &tx else { continue };
                    rxs.push(tx.subscribe());
                    m.rx_next.push(m.tail);
                }
                Op::Resubscribe(i) if n > 0 => {
                    let r = rxs[i % n].resubscribe();
                    rxs.push(r);
                    m.rx_next.push(m.tail);
                }
                Op::DropRx(i) if n > 0 => {
                    rxs.swap_remove(i % n);
                    m.rx_next.swap_remove(i % n);
                }
                Op::DropTx => {
                    tx = None;
                    m.closed = true;
                }
                _ => {}
            }
            for (rx, next) in rxs.iter().zip(&m.rx_next) {
                prop_assert_eq!(rx.len() as u64, m.tail - next);
            }
            if let Some(tx) = &tx {
                prop_assert_eq!(tx.receiver_count(), rxs.len());
                prop_assert_eq!(tx.len() as u64, m.unread());
            }
            // Values nobody will read are dropped at once (invariant 4 of the ring).
            prop_assert_eq!(live.load(SeqCst) as u64, m.unread());
        }
        drop(rxs);
        drop(tx);
        prop_assert_eq!(live.load(SeqCst), 0);
    }
}
