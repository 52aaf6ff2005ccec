//! Cancellation stress: producers and consumers on a multi-threaded tokio
//! runtime, with send, recv and select futures dropped after a random number of
//! polls, over cap 0, 1 and 64. Every message is accounted for exactly once: each
//! is dropped exactly once, received at most once, and received if its send
//! reported success.
#![cfg(not(loom))]

use std::future::{poll_fn, Future, IntoFuture};
use std::pin::pin;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::Poll;

use gorun_channel::{chan, Receiver, Select, Selected, Sender};

struct Ledger {
    dropped: Vec<AtomicU8>,
    received: Vec<AtomicU8>,
    sent_ok: Vec<AtomicU8>,
    uncancelled_sends: AtomicUsize,
}

struct Msg {
    id: usize,
    ledger: Arc<Ledger>,
}

impl Drop for Msg {
    fn drop(&mut self) {
        self.ledger.dropped[self.id].fetch_add(1, Ordering::SeqCst);
    }
}

struct Rng(u64);
impl Rng {
    fn next(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// Runs `f` for at most `polls + 1` polls; `None` if it was dropped unfinished.
async fn cancel_after<F: Future>(f: F, polls: u64) -> Option<F::Output> {
    let mut f = pin!(f);
    let mut left = polls;
    poll_fn(|cx| {
        if let Poll::Ready(v) = f.as_mut().poll(cx) {
            return Poll::Ready(Some(v));
        }
        if left == 0 {
            return Poll::Ready(None);
        }
        left -= 1;
        cx.waker().wake_by_ref();
        Poll::Pending
    })
    .await
}

async fn producer(id0: usize, n: usize, seed: u64, a: Sender<Msg>, b: Sender<Msg>, l: Arc<Ledger>) {
    let mut rng = Rng(seed);
    for id in id0..id0 + n {
        let msg = Msg {
            id,
            ledger: l.clone(),
        };
        // One operation in five is never cancelled: a plain send among them must
        // succeed (the receivers outlive the senders), so every run exercises
        // delivery however the threads are scheduled.
        let polls = match rng.next(5) {
            4 => u64::MAX,
            p => p,
        };
        let res = match rng.next(3) {
            k @ (0 | 1) => {
                let tx = if k == 0 { &a } else { &b };
                let res = cancel_after(tx.send(msg), polls).await.map(|r| r.is_ok());
                if polls == u64::MAX {
                    assert_eq!(res, Some(true), "an uncancelled send failed");
                    l.uncancelled_sends.fetch_add(1, Ordering::SeqCst);
                }
                res
            }
            _ => {
                let sel = Select::new().send(&a, msg).future(tokio::task::yield_now());
                match cancel_after(sel.into_future(), polls).await {
                    Some(Selected::Case0(r)) => Some(r.is_ok()),
                    Some(Selected::Case1(())) => None,
                    None => None,
                }
            }
        };
        if res == Some(true) {
            l.sent_ok[id].fetch_add(1, Ordering::SeqCst);
        }
    }
}

async fn consumer(seed: u64, a: Receiver<Msg>, b: Receiver<Msg>) {
    let mut rng = Rng(seed);
    let (mut a_open, mut b_open) = (true, true);
    let record = |m: Msg| {
        m.ledger.received[m.id].fetch_add(1, Ordering::SeqCst);
    };
    while a_open || b_open {
        let polls = rng.next(4);
        match rng.next(3) {
            0 if a_open => match cancel_after(a.recv(), polls).await {
                Some(Some(m)) => record(m),
                Some(None) => a_open = false,
                None => {}
            },
            1 if b_open => match cancel_after(b.recv(), polls).await {
                Some(Some(m)) => record(m),
                Some(None) => b_open = false,
                None => {}
            },
            _ => {
                let sel = Select::new()
                    .recv_opt(a_open.then_some(&a))
                    .recv_opt(b_open.then_some(&b));
                match cancel_after(sel.into_future(), polls).await {
                    Some(Selected::Case0(Some(m)) | Selected::Case1(Some(m))) => record(m),
                    Some(Selected::Case0(None)) => a_open = false,
                    Some(Selected::Case1(None)) => b_open = false,
                    None => {}
                }
            }
        }
    }
}

fn run(cap: usize, producers: usize, consumers: usize, per: usize, seed: u64) {
    let total = producers * per;
    let ledger = Arc::new(Ledger {
        dropped: (0..total).map(|_| AtomicU8::new(0)).collect(),
        received: (0..total).map(|_| AtomicU8::new(0)).collect(),
        sent_ok: (0..total).map(|_| AtomicU8::new(0)).collect(),
        uncancelled_sends: AtomicUsize::new(0),
    });
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    rt.block_on(async {
        let (ta, ra) = chan(cap);
        let (tb, rb) = chan(cap);
        let mut tasks = Vec::new();
        for c in 0..consumers {
            tasks.push(tokio::spawn(consumer(
                seed ^ ((c as u64 + 1) * 0x9E37_79B9),
                ra.clone(),
                rb.clone(),
            )));
        }
        drop((ra, rb));
        for p in 0..producers {
            tasks.push(tokio::spawn(producer(
                p * per,
                per,
                seed ^ ((p as u64 + 7) * 0x85EB_CA6B),
                ta.clone(),
                tb.clone(),
                ledger.clone(),
            )));
        }
        drop((ta, tb));
        for t in tasks {
            t.await.unwrap();
        }
    });
    let (mut ok, mut got) = (0, 0);
    for id in 0..total {
        let d = ledger.dropped[id].load(Ordering::SeqCst);
        let r = ledger.received[id].load(Ordering::SeqCst);
        let s = ledger.sent_ok[id].load(Ordering::SeqCst);
        assert_eq!(d, 1, "cap {cap}: message {id} dropped {d} times");
        assert!(r <= 1, "cap {cap}: message {id} received {r} times");
        if s == 1 {
            assert_eq!(r, 1, "cap {cap}: message {id} sent but never received");
        }
        ok += s as usize;
        got += r as usize;
    }
    eprintln!("cap {cap}: total {total} sent_ok {ok} received {got}");
    let uncancelled = ledger.uncancelled_sends.load(Ordering::SeqCst);
    assert!(
        uncancelled > 0,
        "cap {cap}: the seed gave no uncancelled send"
    );
    assert!(
        ok >= uncancelled,
        "cap {cap}: {ok} sends succeeded, fewer than the {uncancelled} uncancelled"
    );
    assert!(got >= ok);
}

#[test]
fn stress_cap0() {
    run(0, 4, 4, 1500, 0x1234_5678);
}

#[test]
fn stress_cap1() {
    run(1, 4, 4, 1500, 0x2345_6789);
}

#[test]
fn stress_cap64() {
    run(64, 4, 4, 1500, 0x3456_789A);
}

#[test]
fn stress_many_seeds_small() {
    for seed in 1..20u64 {
        run((seed % 3) as usize, 3, 2, 200, seed * 0x1000_0001);
    }
}
