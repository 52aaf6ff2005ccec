//! A tour of gorun: goroutines by the hundred thousand on a work-stealing scheduler,
//! channels, `select!` and timers.
//!
//! Run it with `cargo run --release --example tour`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let rt = gorun::Runtime::builder().build()?;
    println!("gorun tour: {} Ps (set GOMAXPROCS to change)", rt.procs());

    rt.run(async {
        // 1. Spawn 100,000 goroutines that each wait for a start signal.
        const N: usize = 100_000;
        let started = Instant::now();
        let gate = Arc::new(gorun_tour_gate::Gate::default());
        let counter = Arc::new(AtomicUsize::new(0));
        let handles: Vec<_> = (0..N)
            .map(|i| {
                let (gate, counter) = (gate.clone(), counter.clone());
                gorun::go(async move {
                    gate.wait().await;
                    counter.fetch_add(1, Ordering::Relaxed);
                    i as u64
                })
            })
            .collect();
        println!(
            "spawned {N} goroutines in {:?}; num_tasks() = {} (+1: this main task)",
            started.elapsed(),
            gorun::num_tasks() - 1
        );

        // 2. Release them all and join.
        let joined = Instant::now();
        gate.open();
        let mut sum = 0;
        for h in handles {
            sum += h.await.expect("goroutine failed");
        }
        println!(
            "joined {} goroutines in {:?} (sum of ids {sum}); num_tasks() now {}",
            counter.load(Ordering::Relaxed),
            joined.elapsed(),
            gorun::num_tasks() - 1
        );

        // 3. A panicking goroutine does not take the program down. (The default hook
        // would print the panic with a backtrace; keep the tour quiet.)
        let hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| {}));
        let err = gorun::go(async { panic!("a goroutine failed") })
            .await
            .unwrap_err();
        std::panic::set_hook(hook);
        println!("a panic reached its JoinHandle: {err}");

        // 4. Blocking work goes to the blocking pool, off the Ps.
        let n = gorun::spawn_blocking(|| (1..=20u64).product::<u64>()).await?;
        println!("spawn_blocking computed 20! = {n}");

        // 5. Channels: a pipeline of goroutines joined by rendezvous channels.
        let pipeline = Instant::now();
        let (nums_tx, nums_rx) = gorun::chan::<u64>(0);
        let (sq_tx, sq_rx) = gorun::chan::<u64>(0);
        gorun::go(async move {
            for i in 1..=10_000 {
                nums_tx.send(i).await.expect("squarer quit");
            }
        });
        for _ in 0..4 {
            let (rx, tx) = (nums_rx.clone(), sq_tx.clone());
            gorun::go(async move {
                while let Some(v) = rx.recv().await {
                    tx.send(v * v).await.expect("summer quit");
                }
            });
        }
        drop((nums_rx, sq_tx));
        let mut total = 0u64;
        while let Some(v) = sq_rx.recv().await {
            total += v;
        }
        println!(
            "pipeline: 1 generator -> 4 squarers -> 1 summer over unbuffered channels: \
             sum of squares 1..=10000 = {total} in {:?}",
            pipeline.elapsed()
        );

        // 6. select!: exactly one case commits; a timeout is just another channel.
        let (tx, rx) = gorun::chan::<&str>(1);
        let mut sent = 0;
        let mut timeouts = 0;
        for _ in 0..3 {
            gorun::select! {
                send(tx, "ping") -> res => { res.expect("receiver alive"); sent += 1; }
                recv(gorun::time::after(Duration::from_millis(20))) -> _ => timeouts += 1,
            }
        }
        println!(
            "select!: {sent} send committed, then {timeouts} timeouts (the buffer of 1 was full); \
             buffered: {:?}",
            rx.try_recv()
        );

        // 7. Timers: 100,000 goroutines each sleep 10 ms on the timing wheel.
        let sleeping = Instant::now();
        let sleepers: Vec<_> = (0..100_000)
            .map(|_| gorun::go(gorun::time::sleep(Duration::from_millis(10))))
            .collect();
        for h in sleepers {
            h.await?;
        }
        println!(
            "100,000 goroutines slept 10 ms each: all done in {:?}",
            sleeping.elapsed()
        );
        let slow = gorun::time::timeout(Duration::from_millis(5), std::future::pending::<()>());
        println!(
            "timeout around a future that never finishes: {:?}",
            slow.await
        );
        Ok::<_, gorun::JoinError>(())
    })?;

    let m = rt.handle().metrics();
    println!(
        "metrics: {} tasks spawned, {} steals, {} parks",
        m.spawned, m.steals, m.parks
    );
    Ok(())
}

/// A one-shot broadcast gate built on wakers, so the tour depends on the executor only.
mod gorun_tour_gate {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Mutex;
    use std::task::{Poll, Waker};

    #[derive(Default)]
    pub struct Gate {
        open: AtomicBool,
        waiters: Mutex<Vec<Waker>>,
    }

    impl Gate {
        pub fn open(&self) {
            self.open.store(true, Ordering::SeqCst);
            for w in std::mem::take(&mut *self.waiters.lock().unwrap()) {
                w.wake();
            }
        }

        pub async fn wait(&self) {
            std::future::poll_fn(|cx| {
                if self.open.load(Ordering::SeqCst) {
                    return Poll::Ready(());
                }
                let mut w = self.waiters.lock().unwrap();
                if self.open.load(Ordering::SeqCst) {
                    return Poll::Ready(());
                }
                w.push(cx.waker().clone());
                Poll::Pending
            })
            .await
        }
    }
}
