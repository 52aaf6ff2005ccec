//! Tests from Go's `test/chan/` directory, rewritten in Rust on the gorun runtime
//! (crossbeam keeps the same idea in its `tests/golang.rs`). Each test names the
//! Go file it ports.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use gorun::{chan, Receiver, Select, Selected, Sender, TryRecvError, TrySendError};

fn rt() -> gorun::Runtime {
    gorun::Runtime::builder().procs(2).build().unwrap()
}

/// test/chan/fifo.go: AsynchFifo and SynchFifo.
#[test]
fn fifo() {
    rt().block_on(async {
        // AsynchFifo: a buffered channel keeps order.
        const N: usize = 10;
        let (tx, rx) = chan(N);
        for i in 0..N {
            tx.send(i).await.unwrap();
        }
        for i in 0..N {
            assert_eq!(rx.recv().await, Some(i));
        }
        // SynchFifo: goroutine i waits for token i, sends i on an unbuffered
        // channel, then passes the token on; the receiver sees 0..N in order.
        let (tx, rx) = chan::<usize>(0);
        let mut token_rx: Receiver<()> = {
            let (t, r) = chan::<()>(0);
            gorun::go(async move { t.send(()).await.unwrap() });
            r
        };
        for i in 0..N {
            let (next_tx, next_rx) = chan::<()>(0);
            let tx = tx.clone();
            let prev = token_rx;
            gorun::go(async move {
                prev.recv().await.unwrap();
                tx.send(i).await.unwrap();
                next_tx.send(()).await.unwrap();
            });
            token_rx = next_rx;
        }
        for i in 0..N {
            assert_eq!(rx.recv().await, Some(i));
        }
        token_rx.recv().await.unwrap();
    });
}

/// test/chan/nonblock.go: non-blocking sends and receives on every kind of
/// channel, with a goroutine on the other side.
#[test]
fn nonblock() {
    rt().block_on(async {
        for cap in [0usize, 1, 10] {
            let (tx, rx) = chan::<u32>(cap);
            // Nothing there: non-blocking receive fails.
            assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
            // A receiver goroutine: eventually a non-blocking send succeeds.
            let done = gorun::go({
                let rx = rx.clone();
                async move { rx.recv().await }
            });
            loop {
                match tx.try_send(7) {
                    Ok(()) => break,
                    Err(TrySendError::Full(_)) => gorun::yield_now().await,
                    Err(e) => panic!("{e}"),
                }
            }
            assert_eq!(done.await.unwrap(), Some(7));
            // A sender goroutine: eventually a non-blocking receive succeeds.
            let sender = gorun::go({
                let tx = tx.clone();
                async move { tx.send(8).await.unwrap() }
            });
            let v = loop {
                match rx.try_recv() {
                    Ok(v) => break v,
                    Err(TryRecvError::Empty) => gorun::yield_now().await,
                    Err(e) => panic!("{e}"),
                }
            };
            assert_eq!(v, 8);
            sender.await.unwrap();
        }
    });
}

/// test/chan/sieve1.go: the concurrent prime sieve.
#[test]
fn sieve() {
    async fn generate(tx: Sender<u32>) {
        for i in 2.. {
            if tx.send(i).await.is_err() {
                return;
            }
        }
    }
    async fn filter(rx: Receiver<u32>, tx: Sender<u32>, prime: u32) {
        while let Some(i) = rx.recv().await {
            if i % prime != 0 && tx.send(i).await.is_err() {
                return;
            }
        }
    }
    let primes = rt().block_on(async {
        let (tx, mut rx) = chan(0);
        gorun::go(generate(tx));
        let mut out = vec![];
        for _ in 0..25 {
            let prime = rx.recv().await.unwrap();
            out.push(prime);
            let (tx1, rx1) = chan(0);
            gorun::go(filter(rx, tx1, prime));
            rx = rx1;
        }
        // Dropping the last receiver unwinds the whole pipeline: every blocked
        // sender fails instead of leaking.
        out
    });
    assert_eq!(
        primes,
        [
            2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83,
            89, 97
        ]
    );
}

/// test/chan/select.go: a select loop over two send cases sends every value
/// exactly once, to one of two channels, and picks both.
#[test]
fn select() {
    rt().block_on(async {
        let (a_tx, a_rx) = chan::<u32>(0);
        let (b_tx, b_rx) = chan::<u32>(0);
        let n = 1000;
        let sender = gorun::go(async move {
            for i in 0..n {
                match Select::new().send(&a_tx, i).send(&b_tx, i).await {
                    Selected::Case0(r) | Selected::Case1(r) => r.unwrap(),
                }
            }
        });
        let ra = gorun::go(async move {
            let mut v = vec![];
            while let Some(x) = a_rx.recv().await {
                v.push(x);
            }
            v
        });
        let rb = gorun::go(async move {
            let mut v = vec![];
            while let Some(x) = b_rx.recv().await {
                v.push(x);
            }
            v
        });
        sender.await.unwrap();
        let (a, b) = (ra.await.unwrap(), rb.await.unwrap());
        assert!(!a.is_empty() && !b.is_empty(), "both cases fire");
        let mut all: Vec<_> = a.into_iter().chain(b).collect();
        all.sort();
        assert_eq!(all, (0..n).collect::<Vec<_>>());
    });
}

/// test/chan/doubleselect.go: senders select over four channels while
/// receivers drain them (some through a select of their own); no value is
/// received twice or lost.
#[test]
fn doubleselect() {
    const ITER: u32 = 2000;
    let seen: Arc<Vec<AtomicUsize>> = Arc::new((0..ITER).map(|_| AtomicUsize::new(0)).collect());
    rt().block_on(async {
        let chans: Vec<_> = (0..4).map(|_| chan::<u32>(0)).collect();
        let txs: Vec<Sender<u32>> = chans.iter().map(|c| c.0.clone()).collect();
        let rxs: Vec<Receiver<u32>> = chans.iter().map(|c| c.1.clone()).collect();
        drop(chans);
        let sender = gorun::go(async move {
            for i in 0..ITER {
                let out = Select::new()
                    .send(&txs[0], i)
                    .send(&txs[1], i)
                    .send(&txs[2], i)
                    .send(&txs[3], i)
                    .await;
                assert!(out.index() < 4);
            }
        });
        let mut recvs = vec![];
        for rx in &rxs {
            let (rx, seen) = (rx.clone(), seen.clone());
            recvs.push(gorun::go(async move {
                while let Some(v) = rx.recv().await {
                    seen[v as usize].fetch_add(1, Ordering::SeqCst);
                }
            }));
        }
        // A multiplexer, as in the Go test: a select over two of the receivers.
        let (r0, r1) = (rxs[0].clone(), rxs[1].clone());
        let seen2 = seen.clone();
        recvs.push(gorun::go(async move {
            while let Selected::Case0(Some(v)) | Selected::Case1(Some(v)) =
                Select::new().recv(&r0).recv(&r1).await
            {
                seen2[v as usize].fetch_add(1, Ordering::SeqCst);
            }
        }));
        drop(rxs);
        sender.await.unwrap();
        for r in recvs {
            r.await.unwrap();
        }
    });
    for (i, s) in seen.iter().enumerate() {
        assert_eq!(s.load(Ordering::SeqCst), 1, "value {i}");
    }
}

/// test/chan/goroutines.go: a chain of goroutines, each forwarding a value
/// from its left channel to its right one.
#[test]
fn goroutines() {
    const N: usize = 2000;
    let v = rt().block_on(async {
        let (first_tx, mut rx) = chan::<usize>(0);
        for _ in 0..N {
            let (tx, next) = chan::<usize>(0);
            let left = rx;
            gorun::go(async move {
                let v = left.recv().await.unwrap();
                tx.send(v + 1).await.unwrap();
            });
            rx = next;
        }
        first_tx.send(0).await.unwrap();
        rx.recv().await.unwrap()
    });
    assert_eq!(v, N);
}

/// test/chan/sendstmt.go: sends used as statements and in select, with the
/// value evaluated once.
#[test]
fn sendstmt() {
    rt().block_on(async {
        let (tx, rx) = chan::<i32>(1);
        let mut evaluated = 0;
        let mut f = || {
            evaluated += 1;
            42
        };
        tx.send(f()).await.unwrap();
        assert_eq!(rx.recv().await, Some(42));
        match Select::new().send(&tx, f()).await {
            Selected::Case0(r) => r.unwrap(),
        }
        assert_eq!(rx.recv().await, Some(42));
        assert_eq!(evaluated, 2);
    });
}

/// test/chan/select3.go (subset): operations that must block do, and those that
/// must not, don't — checked with a select default.
#[test]
fn select3_blocking() {
    rt().block_on(async {
        let (tx, rx) = chan::<u32>(0);
        // An unbuffered channel with no peer blocks both ways.
        assert!(Select::new().recv(&rx).try_select().is_none());
        assert!(Select::new().send(&tx, 1).try_select().is_none());
        // A disabled (nil) case never fires.
        assert!(Select::new()
            .recv_opt(None::<&Receiver<u32>>)
            .try_select()
            .is_none());
        // A closed channel never blocks a receive.
        drop(tx);
        assert_eq!(
            Select::new().recv(&rx).try_select(),
            Some(Selected::Case0(None))
        );
        // A buffered channel with room never blocks a send.
        let (tx, _rx) = chan::<u32>(1);
        assert!(matches!(
            Select::new().send(&tx, 1).try_select(),
            Some(Selected::Case0(Ok(())))
        ));
    });
}

/// test/chan/zerosize.go: channels of zero-sized values work.
#[test]
fn zerosize() {
    rt().block_on(async {
        let (tx, rx) = chan::<()>(0);
        let h = gorun::go(async move {
            for _ in 0..100 {
                tx.send(()).await.unwrap();
            }
        });
        let mut n = 0;
        while rx.recv().await.is_some() {
            n += 1;
        }
        h.await.unwrap();
        assert_eq!(n, 100);
    });
}

/// runtime/chan_test.go, TestNonblockSelectRace and TestNonblockSelectRace2: a
/// `select` with `default` over two channels, one of which is ready at every
/// instant, never takes `default`. Go runs the select as a goroutine while the test
/// makes `c2` ready (a send, or a close in Race2) and takes `c1`; here the two sides
/// are two threads released together each round, so they really overlap. The select
/// looks at `c2` first and `c1` last (biased), with six other channels (idle
/// timers) between them: the window a look at one case at a time left open, `c2`
/// not ready yet, then `c1` already taken. Before the non-blocking select locked its
/// channels together, `default` won in hundreds of 100,000 rounds.
#[test]
fn nonblock_select_race() {
    const ROUNDS: usize = 100_000;
    const HOUR: std::time::Duration = std::time::Duration::from_secs(3600);
    for close in [false, true] {
        // Both sides spin until the other has arrived: a futex barrier would start
        // the woken side microseconds late, and they would never overlap.
        let arrived = Arc::new(AtomicUsize::new(0));
        let meet = |arrived: &AtomicUsize, round: usize| {
            arrived.fetch_add(1, Ordering::AcqRel);
            let mut spins = 0u32;
            while arrived.load(Ordering::Acquire) < 2 * (round + 1) {
                spins += 1;
                if spins % 1024 == 0 {
                    std::thread::yield_now(); // the other side may share our core
                }
                std::hint::spin_loop();
            }
        };
        let (pairs_tx, pairs_rx) = std::sync::mpsc::channel::<(Receiver<i32>, Receiver<i32>)>();
        let defaults = Arc::new(AtomicUsize::new(0));
        let selector = {
            let (arrived, defaults) = (arrived.clone(), defaults.clone());
            std::thread::spawn(move || {
                for (round, (c1, c2)) in pairs_rx.into_iter().enumerate() {
                    let idle: [Receiver<gorun::time::Instant>; 6] =
                        std::array::from_fn(|_| gorun::time::after(HOUR));
                    meet(&arrived, round);
                    // Go's `select { case <-c2: ...: case <-c1: default: }`.
                    let [i0, i1, i2, i3, i4, i5] = &idle;
                    let sel = Select::new().biased().recv(&c2).recv(i0).recv(i1).recv(i2);
                    let sel = sel.recv(i3).recv(i4).recv(i5).recv(&c1);
                    if sel.try_select().is_none() {
                        defaults.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        };
        for round in 0..ROUNDS {
            let (c1_tx, c1) = chan::<i32>(1);
            let (c2_tx, c2) = chan::<i32>(if close { 0 } else { 1 });
            c1_tx.try_send(1).unwrap();
            pairs_tx.send((c1.clone(), c2.clone())).unwrap();
            meet(&arrived, round);
            if close {
                c2_tx.close();
            } else {
                c2_tx.try_send(1).unwrap();
            }
            // Go's `<-c1` (or the select over both): the value left for us, if the
            // selector took the other.
            let _ = c1.try_recv();
        }
        drop(pairs_tx);
        selector.join().unwrap();
        let defaults = defaults.load(Ordering::Relaxed);
        assert_eq!(
            defaults, 0,
            "no chan is ready: default taken {defaults} times in {ROUNDS} (close = {close})"
        );
    }
}
