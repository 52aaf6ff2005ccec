//! "100,000 goroutines" and "1,000,000 goroutines": spawn them all, each sleeps
//! (Go's `time.Sleep(10 * time.Millisecond)` demo) or waits on a channel that is
//! closed when all have started; report the spawn time, the wall time, how many
//! were alive at once (`num_tasks`, Go's `runtime.NumGoroutine`) and the peak
//! resident memory (`VmHWM` from `/proc/self/status`, Linux only).
//!
//! Run it with `cargo run --release --example million` (or `-- N` for other sizes);
//! it takes a few seconds. Its tests use small sizes.

use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use gorun::sync::WaitGroup;

/// What one run measured.
#[derive(Debug)]
struct Report {
    n: usize,
    spawn: Duration,
    wall: Duration,
    /// Tasks alive right after the last spawn, the caller's own excluded.
    alive_after_spawn: usize,
    /// Tasks that ran to the end.
    completed: usize,
}

impl Report {
    fn print(&self, what: &str) {
        let per = self.spawn / self.n.max(1) as u32;
        println!(
            "{:>9} goroutines {what}: spawned in {:?} ({per:?} each), {} alive at once, all {} done in {:?}; peak RSS {}",
            self.n,
            self.spawn,
            self.alive_after_spawn,
            self.completed,
            self.wall,
            vm_hwm_kib().map_or("n/a".to_string(), |k| format!("{} MiB", k / 1024)),
        );
    }
}

/// The peak resident set size in KiB (`VmHWM`), where `/proc` has it.
fn vm_hwm_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// `n` goroutines that each sleep `nap`, joined with a `WaitGroup`.
async fn sleepers(n: usize, nap: Duration) -> Report {
    let base = gorun::num_tasks();
    let start = Instant::now();
    let (wg, done) = (WaitGroup::new(), Arc::new(AtomicUsize::new(0)));
    for _ in 0..n {
        let done = done.clone();
        wg.go(async move {
            gorun::time::sleep(nap).await;
            done.fetch_add(1, Relaxed);
        });
    }
    let spawn = start.elapsed();
    let alive_after_spawn = gorun::num_tasks() - base;
    wg.wait().await;
    let wall = start.elapsed();
    Report {
        n,
        spawn,
        wall,
        alive_after_spawn,
        completed: done.load(Relaxed),
    }
}

/// `n` goroutines that each wait on one channel until it is closed (a broadcast:
/// `close(ch)` wakes every receiver), joined with a `WaitGroup`.
async fn waiters(n: usize) -> Report {
    let base = gorun::num_tasks();
    let start = Instant::now();
    let (gate_tx, gate_rx) = gorun::chan::<()>(0);
    let (wg, done) = (WaitGroup::new(), Arc::new(AtomicUsize::new(0)));
    for _ in 0..n {
        let (gate, done) = (gate_rx.clone(), done.clone());
        wg.go(async move {
            assert_eq!(gate.recv().await, None, "nothing is sent, only closed");
            done.fetch_add(1, Relaxed);
        });
    }
    let spawn = start.elapsed();
    let alive_after_spawn = gorun::num_tasks() - base; // all n: none can finish yet
    gate_tx.close();
    wg.wait().await;
    let wall = start.elapsed();
    Report {
        n,
        spawn,
        wall,
        alive_after_spawn,
        completed: done.load(Relaxed),
    }
}

/// Waits (up to five seconds) for the live task count to fall to `n`; returns it.
async fn tasks_settle_to(n: usize) -> usize {
    for _ in 0..5000 {
        if gorun::num_tasks() <= n {
            break;
        }
        gorun::time::sleep(Duration::from_millis(1)).await;
    }
    gorun::num_tasks()
}

#[gorun::main]
async fn main() {
    let sizes: Vec<usize> = match std::env::args().nth(1) {
        Some(n) => vec![n.parse().expect("usage: million [N]")],
        None => vec![100_000, 1_000_000],
    };
    println!(
        "{} Ps; peak RSS at start {:?} KiB",
        gorun::procs(),
        vm_hwm_kib()
    );
    let base = gorun::num_tasks();
    for n in sizes {
        let r = sleepers(n, Duration::from_millis(10)).await;
        r.print("sleeping 10ms");
        assert_eq!(r.completed, n);
        assert_eq!(tasks_settle_to(base).await, base);

        let r = waiters(n).await;
        r.print("waiting on a channel");
        assert_eq!((r.completed, r.alive_after_spawn), (n, n));
        assert_eq!(tasks_settle_to(base).await, base);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[gorun::test(procs = 4)]
    async fn every_sleeper_runs_to_the_end() {
        let r = sleepers(2_000, Duration::from_millis(5)).await;
        assert_eq!(r.completed, 2_000);
        assert!(r.alive_after_spawn <= 2_000);
        assert!(r.wall >= Duration::from_millis(5));
    }

    #[gorun::test(procs = 4)]
    async fn every_waiter_is_alive_until_the_close_then_none_is() {
        let base = gorun::num_tasks();
        let r = waiters(5_000).await;
        assert_eq!((r.alive_after_spawn, r.completed), (5_000, 5_000));
        assert_eq!(tasks_settle_to(base).await, base);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn peak_rss_is_read_from_proc() {
        let kib = vm_hwm_kib().expect("VmHWM in /proc/self/status");
        assert!(kib > 100, "{kib} KiB");
    }
}
