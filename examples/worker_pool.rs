//! The worker pool: a `jobs` channel feeding N workers, a `results` channel they all
//! send on, and a `WaitGroup` that closes `results` once the last worker is done
//! (Go's `go func() { wg.Wait(); close(results) }()`).
//!
//! Run it with `cargo run --release --example worker_pool`; test it with
//! `cargo test --release --example worker_pool`.

use std::collections::HashSet;
use std::time::Instant;

use gorun::sync::WaitGroup;
use gorun::{chan, Receiver, Sender};

/// One result: which worker did which job, and the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Output {
    worker: usize,
    job: u64,
    square: u64,
}

/// A worker: takes jobs until `jobs` is closed and drained (Go's `for j := range
/// jobs`), sends each result on `results`.
async fn worker(id: usize, jobs: Receiver<u64>, results: Sender<Output>) {
    while let Some(job) = jobs.recv().await {
        let out = Output {
            worker: id,
            job,
            square: job * job,
        };
        // Fails only if every receiver of `results` is gone: then stop working.
        if results.send(out).await.is_err() {
            return;
        }
    }
}

/// What one run of the pool produced.
struct Summary {
    sum: u64,
    jobs_seen: HashSet<u64>,
    per_worker: Vec<usize>,
}

/// Squares the jobs `1..=n_jobs` on `n_workers` workers and sums the squares.
async fn run_pool(n_jobs: u64, n_workers: usize) -> Summary {
    let (jobs_tx, jobs_rx) = chan::<u64>(100); // make(chan int, 100)
    let (results_tx, results_rx) = chan::<Output>(100);

    let wg = WaitGroup::new();
    for id in 0..n_workers {
        // wg.Add(1); go func() { defer wg.Done(); worker(...) }()
        wg.go(worker(id, jobs_rx.clone(), results_tx.clone()));
    }
    drop(jobs_rx);

    // The closer: once every worker is done, close `results` so the range below
    // ends. (Dropping every `Sender` would close it too; this is Go's explicit way.)
    gorun::go(async move {
        wg.wait().await;
        results_tx.close();
    });

    // The producer: send the jobs, then close `jobs` by dropping the last sender.
    gorun::go(async move {
        for j in 1..=n_jobs {
            jobs_tx.send(j).await.expect("workers are alive");
        }
    });

    let mut summary = Summary {
        sum: 0,
        jobs_seen: HashSet::new(),
        per_worker: vec![0; n_workers],
    };
    while let Some(out) = results_rx.recv().await {
        assert_eq!(out.square, out.job * out.job);
        assert!(summary.jobs_seen.insert(out.job), "job {} twice", out.job);
        summary.sum += out.square;
        summary.per_worker[out.worker] += 1;
    }
    summary
}

/// 1² + 2² + ... + n².
fn sum_of_squares(n: u64) -> u64 {
    n * (n + 1) * (2 * n + 1) / 6
}

#[gorun::main]
async fn main() {
    let (n_jobs, n_workers) = (100_000, 8);
    let start = Instant::now();
    let s = run_pool(n_jobs, n_workers).await;
    println!(
        "{n_jobs} jobs on {n_workers} workers in {:?}: sum of squares {} (jobs per worker {:?})",
        start.elapsed(),
        s.sum,
        s.per_worker
    );
    assert_eq!(s.sum, sum_of_squares(n_jobs));
    assert_eq!(s.jobs_seen.len() as u64, n_jobs);
    assert_eq!(s.per_worker.iter().sum::<usize>() as u64, n_jobs);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[gorun::test(procs = 4)]
    async fn every_job_is_done_exactly_once() {
        let s = run_pool(1_000, 4).await;
        assert_eq!(s.sum, sum_of_squares(1_000));
        assert_eq!(s.jobs_seen, (1..=1_000).collect::<HashSet<_>>());
        assert_eq!(s.per_worker.iter().sum::<usize>(), 1_000);
    }

    #[gorun::test(procs = 1)]
    async fn one_worker_does_everything() {
        let s = run_pool(100, 1).await;
        assert_eq!(s.sum, sum_of_squares(100));
        assert_eq!(s.per_worker, [100]);
    }

    #[gorun::test]
    async fn no_jobs_still_closes_results() {
        let s = run_pool(0, 3).await;
        assert_eq!(s.sum, 0);
        assert!(s.jobs_seen.is_empty());
    }

    #[gorun::test]
    async fn workers_stop_when_results_are_abandoned() {
        let (jobs_tx, jobs_rx) = chan::<u64>(10);
        let (results_tx, results_rx) = chan::<Output>(0);
        let h = gorun::go(worker(0, jobs_rx, results_tx));
        jobs_tx.send(3).await.unwrap();
        drop(results_rx); // nobody will ever read: the worker's send fails, it returns
        h.await.unwrap();
    }
}
