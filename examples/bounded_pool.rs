//! Bounded concurrency: at most `limit` goroutines at work at once, two ways.
//!
//! 1. Go's semaphore channel: `sem := make(chan struct{}, limit)`, `sem <- struct{}{}`
//!    to acquire (blocks while full), `<-sem` to release: here `chan::<()>(limit)`.
//! 2. `gorun::sync::Semaphore` (Go's `x/sync/semaphore.Weighted`): a permit is a
//!    value that releases itself when dropped, so a panicking task cannot keep it.
//!
//! Run it with `cargo run --release --example bounded_pool`; test it with
//! `cargo test --release --example bounded_pool`.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::time::{Duration, Instant};

use gorun::sync::{Semaphore, WaitGroup};
use gorun::{chan, Receiver, Sender};

/// Counts the tasks at work now and the most ever at work at once.
#[derive(Default)]
struct Gauge {
    now: AtomicUsize,
    peak: AtomicUsize,
    sum: AtomicU64,
}

impl Gauge {
    /// The work: enter, sleep `work`, add `item * 2` to the sum, leave.
    async fn process(&self, item: u64, work: Duration) {
        let n = self.now.fetch_add(1, SeqCst) + 1;
        self.peak.fetch_max(n, SeqCst);
        gorun::time::sleep(work).await;
        self.sum.fetch_add(item * 2, SeqCst);
        self.now.fetch_sub(1, SeqCst);
    }
}

/// Go's `Pool` with a `sem chan struct{}`: `run` waits for a token, then spawns.
struct Pool {
    sem_tx: Sender<()>,
    sem_rx: Receiver<()>,
    wg: WaitGroup,
}

impl Pool {
    fn new(size: usize) -> Pool {
        let (sem_tx, sem_rx) = chan(size);
        Pool {
            sem_tx,
            sem_rx,
            wg: WaitGroup::new(),
        }
    }

    /// `p.sem <- struct{}{}; go func() { defer func() { <-p.sem }(); f() }()`.
    async fn run(&self, f: impl std::future::Future<Output = ()> + Send + 'static) {
        self.sem_tx.send(()).await.expect("we hold a receiver"); // acquire a token
        let sem_rx = self.sem_rx.clone();
        self.wg.go(async move {
            f.await;
            sem_rx.recv().await; // release the token
        });
    }

    async fn wait(&self) {
        self.wg.wait().await;
    }
}

/// Processes `items` with the semaphore channel; returns (sum, peak concurrency).
async fn with_chan_semaphore(items: u64, limit: usize, work: Duration) -> (u64, usize) {
    let gauge = Arc::new(Gauge::default());
    let pool = Pool::new(limit);
    for item in 0..items {
        let gauge = gauge.clone();
        pool.run(async move { gauge.process(item, work).await })
            .await;
    }
    pool.wait().await;
    (gauge.sum.load(SeqCst), gauge.peak.load(SeqCst))
}

/// The same with `sync::Semaphore`: the permit moves into the task and is released
/// when the task ends, however it ends.
async fn with_semaphore(items: u64, limit: usize, work: Duration) -> (u64, usize) {
    let gauge = Arc::new(Gauge::default());
    let sem = Arc::new(Semaphore::new(limit));
    let wg = WaitGroup::new();
    for item in 0..items {
        let permit = sem.clone().acquire_owned().await.expect("never closed");
        let gauge = gauge.clone();
        wg.go(async move {
            let _permit = permit;
            gauge.process(item, work).await;
        });
    }
    wg.wait().await;
    assert_eq!(sem.available_permits(), limit);
    (gauge.sum.load(SeqCst), gauge.peak.load(SeqCst))
}

/// No bound at all: every item gets its goroutine at once.
async fn unbounded(items: u64, work: Duration) -> (u64, usize) {
    let gauge = Arc::new(Gauge::default());
    let wg = WaitGroup::new();
    for item in 0..items {
        let gauge = gauge.clone();
        wg.go(async move { gauge.process(item, work).await });
    }
    wg.wait().await;
    (gauge.sum.load(SeqCst), gauge.peak.load(SeqCst))
}

/// 2 × (0 + 1 + ... + n-1).
fn expected_sum(n: u64) -> u64 {
    n * (n - 1)
}

#[gorun::main]
async fn main() {
    let (items, limit, work) = (1_000, 10, Duration::from_millis(1));
    for (name, run) in [
        ("chan(10) semaphore", 0),
        ("sync::Semaphore", 1),
        ("unbounded", 2),
    ] {
        let start = Instant::now();
        let (sum, peak) = match run {
            0 => with_chan_semaphore(items, limit, work).await,
            1 => with_semaphore(items, limit, work).await,
            _ => unbounded(items, work).await,
        };
        println!(
            "{name:>20}: {items} tasks of {work:?}, peak {peak:>4} at once, {:?}",
            start.elapsed()
        );
        assert_eq!(sum, expected_sum(items));
        if run < 2 {
            assert!(peak <= limit, "{name}: {peak} > {limit}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WORK: Duration = Duration::from_millis(2);

    #[gorun::test(procs = 4)]
    async fn chan_semaphore_bounds_concurrency() {
        let (sum, peak) = with_chan_semaphore(100, 5, WORK).await;
        assert_eq!(sum, expected_sum(100));
        assert!((1..=5).contains(&peak), "peak {peak}");
    }

    #[gorun::test(procs = 4)]
    async fn sync_semaphore_bounds_concurrency() {
        let (sum, peak) = with_semaphore(100, 5, WORK).await;
        assert_eq!(sum, expected_sum(100));
        assert!((1..=5).contains(&peak), "peak {peak}");
    }

    #[gorun::test(procs = 4, start_paused = true)]
    async fn the_bound_is_reached_and_unbounded_goes_past_it() {
        // On the paused clock every sleeper is asleep at once before time moves.
        let (_, peak) = with_semaphore(50, 5, WORK).await;
        assert_eq!(peak, 5);
        let (_, peak) = with_chan_semaphore(50, 5, WORK).await;
        assert_eq!(peak, 5);
        let (sum, peak) = unbounded(50, WORK).await;
        assert_eq!((sum, peak), (expected_sum(50), 50));
    }

    #[gorun::test]
    async fn a_limit_of_one_serializes() {
        let (sum, peak) = with_chan_semaphore(20, 1, Duration::from_micros(100)).await;
        assert_eq!((sum, peak), (expected_sum(20), 1));
    }
}
