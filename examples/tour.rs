//! A tour of gorun: goroutines by the hundred thousand, on a work-stealing scheduler.
//!
//! Run it with `cargo run --release --example tour`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

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
