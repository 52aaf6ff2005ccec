//! Cancellation stress on the gorun runtime: producers and consumers on several
//! workers, with sends, receives and selects abandoned by real random timeouts
//! (`gorun::time::timeout`), over cap 0, 1 and 64. Every message is accounted for
//! exactly once: dropped exactly once, received at most once, and received whenever
//! its send reported success.

use std::future::IntoFuture;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::time::Duration;

use gorun::time::timeout;
use gorun::{chan, Receiver, Select, Selected, Sender};

struct Ledger {
    dropped: Vec<AtomicU8>,
    received: Vec<AtomicU8>,
    sent_ok: Vec<AtomicU8>,
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
    /// 0 (give up at once if not ready) to 2 ms.
    fn patience(&mut self) -> Duration {
        Duration::from_micros(self.next(2000))
    }
}

const PRODUCERS: usize = 4;
const CONSUMERS: usize = 4;
const PER_PRODUCER: usize = 1500;

async fn producer(first: usize, seed: u64, a: Sender<Msg>, b: Sender<Msg>, l: Arc<Ledger>) {
    let mut rng = Rng(seed);
    for id in first..first + PER_PRODUCER {
        let msg = Msg {
            id,
            ledger: l.clone(),
        };
        let patience = rng.patience();
        let ok = match rng.next(3) {
            0 => matches!(timeout(patience, a.send(msg)).await, Ok(Ok(()))),
            1 => matches!(timeout(patience, b.send(msg)).await, Ok(Ok(()))),
            _ => {
                // Not chosen (timed out): the select is dropped and so is the value.
                let never = never();
                let sel = Select::new().send(&a, msg).recv(&never).into_future();
                matches!(timeout(patience, sel).await, Ok(Selected::Case0(Ok(()))))
            }
        };
        if ok {
            l.sent_ok[id].fetch_add(1, Ordering::SeqCst);
        }
        if rng.next(8) == 0 {
            gorun::yield_now().await;
        }
    }
}

/// A channel nobody sends on: a select case that is never ready.
fn never() -> Receiver<()> {
    thread_local! {
        static NEVER: (Sender<()>, Receiver<()>) = chan(0);
    }
    NEVER.with(|(_, rx)| rx.clone())
}

async fn consumer(seed: u64, a: Receiver<Msg>, b: Receiver<Msg>) {
    let mut rng = Rng(seed);
    let take = |m: Msg| {
        assert_ne!(m.id, usize::MAX);
        m.ledger.received[m.id].fetch_add(1, Ordering::SeqCst);
    };
    loop {
        let patience = rng.patience();
        match rng.next(3) {
            0 => match timeout(patience, a.recv()).await {
                Ok(Some(m)) => take(m),
                Ok(None) => break,
                Err(_) => {}
            },
            1 => match timeout(patience, b.recv()).await {
                Ok(Some(m)) => take(m),
                Ok(None) => break,
                Err(_) => {}
            },
            _ => match timeout(patience, Select::new().recv(&a).recv(&b).into_future()).await {
                Ok(Selected::Case0(Some(m)) | Selected::Case1(Some(m))) => take(m),
                Ok(Selected::Case0(None) | Selected::Case1(None)) => break,
                Ok(_) => unreachable!(),
                Err(_) => {}
            },
        }
    }
    // One channel closed; drain the other.
    while let Some(m) = a.recv().await {
        take(m);
    }
    while let Some(m) = b.recv().await {
        take(m);
    }
}

fn run(cap: usize, seed: u64) {
    let total = PRODUCERS * PER_PRODUCER;
    let ledger = Arc::new(Ledger {
        dropped: (0..total).map(|_| AtomicU8::new(0)).collect(),
        received: (0..total).map(|_| AtomicU8::new(0)).collect(),
        sent_ok: (0..total).map(|_| AtomicU8::new(0)).collect(),
    });
    let rt = gorun::Runtime::builder().procs(4).build().unwrap();
    let l = ledger.clone();
    rt.run(async move {
        let (atx, arx) = chan::<Msg>(cap);
        let (btx, brx) = chan::<Msg>(cap);
        let producers: Vec<_> = (0..PRODUCERS)
            .map(|p| {
                let f = producer(
                    p * PER_PRODUCER,
                    seed + p as u64,
                    atx.clone(),
                    btx.clone(),
                    l.clone(),
                );
                gorun::go(f)
            })
            .collect();
        drop((atx, btx));
        let consumers: Vec<_> = (0..CONSUMERS)
            .map(|c| gorun::go(consumer(seed * 31 + c as u64, arx.clone(), brx.clone())))
            .collect();
        drop((arx, brx));
        for h in producers.into_iter().chain(consumers) {
            h.await.unwrap();
        }
    });
    drop(rt);
    let mut ok = 0;
    for id in 0..total {
        let (d, r, s) = (
            ledger.dropped[id].load(Ordering::SeqCst),
            ledger.received[id].load(Ordering::SeqCst),
            ledger.sent_ok[id].load(Ordering::SeqCst),
        );
        assert_eq!(d, 1, "cap {cap}: message {id} dropped {d} times");
        assert!(r <= 1, "cap {cap}: message {id} received {r} times");
        assert_eq!(r, s, "cap {cap}: message {id}: sent ok {s}, received {r}");
        ok += s as usize;
    }
    eprintln!("cap {cap}: {ok} of {total} sends succeeded");
    assert!(ok > 0, "cap {cap}: no message got through");
    assert!(
        ok < total,
        "cap {cap}: no send timed out: cancellation went untested"
    );
}

#[test]
fn random_timeouts_cap0() {
    run(0, 0x9E37_79B9);
}

#[test]
fn random_timeouts_cap1() {
    run(1, 0x1234_5678);
}

#[test]
fn random_timeouts_cap64() {
    run(64, 0xDEAD_BEEF);
}
