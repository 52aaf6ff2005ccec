//! `gorun::sync` benchmark against `tokio::sync`, each on its own runtime, in the
//! same run, with the same number of workers. Go's twins are in
//! `benches/go/sync_test.go`.
//!
//! Run with `cargo bench --bench sync -- --warm-up-time 1 --measurement-time 3`.

#![allow(missing_docs)] // criterion_group! generates an undocumented fn

use std::sync::atomic::{AtomicUsize, Ordering::*};
use std::sync::Arc;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

mod common;
use common::*;

/// Lock/unlock (acquire/release) operations per iteration.
const OPS: usize = 10_000;
/// Contending tasks.
const TASKS: usize = 8;
/// Tasks in the WaitGroup workload.
const WG_TASKS: usize = 100_000;

async fn gorun_mutex(tasks: usize) {
    let m = Arc::new(gorun::sync::Mutex::new(0usize));
    let hs: Vec<_> = (0..tasks)
        .map(|_| {
            let m = m.clone();
            gorun::go(async move {
                for _ in 0..OPS / tasks {
                    *m.lock().await += 1;
                }
            })
        })
        .collect();
    for h in hs {
        h.await.unwrap();
    }
    assert_eq!(*m.lock().await, OPS / tasks * tasks);
}

async fn tokio_mutex(tasks: usize) {
    let m = Arc::new(tokio::sync::Mutex::new(0usize));
    let hs: Vec<_> = (0..tasks)
        .map(|_| {
            let m = m.clone();
            tokio::spawn(async move {
                for _ in 0..OPS / tasks {
                    *m.lock().await += 1;
                }
            })
        })
        .collect();
    for h in hs {
        h.await.unwrap();
    }
    assert_eq!(*m.lock().await, OPS / tasks * tasks);
}

async fn gorun_semaphore(tasks: usize, permits: usize) {
    let s = Arc::new(gorun::sync::Semaphore::new(permits));
    let n = Arc::new(AtomicUsize::new(0));
    let hs: Vec<_> = (0..tasks)
        .map(|_| {
            let (s, n) = (s.clone(), n.clone());
            gorun::go(async move {
                for _ in 0..OPS / tasks {
                    let _p = s.acquire().await.unwrap();
                    n.fetch_add(1, Relaxed);
                }
            })
        })
        .collect();
    for h in hs {
        h.await.unwrap();
    }
}

async fn tokio_semaphore(tasks: usize, permits: usize) {
    let s = Arc::new(tokio::sync::Semaphore::new(permits));
    let n = Arc::new(AtomicUsize::new(0));
    let hs: Vec<_> = (0..tasks)
        .map(|_| {
            let (s, n) = (s.clone(), n.clone());
            tokio::spawn(async move {
                for _ in 0..OPS / tasks {
                    let _p = s.acquire().await.unwrap();
                    n.fetch_add(1, Relaxed);
                }
            })
        })
        .collect();
    for h in hs {
        h.await.unwrap();
    }
}

async fn gorun_waitgroup() {
    let wg = gorun::sync::WaitGroup::new();
    let n = Arc::new(AtomicUsize::new(0));
    for _ in 0..WG_TASKS {
        let (done, n) = (wg.add(1), n.clone());
        gorun::go(async move {
            n.fetch_add(1, Relaxed);
            drop(done);
        });
    }
    wg.wait().await;
    assert_eq!(n.load(Relaxed), WG_TASKS);
}

/// tokio has no WaitGroup; its idiom is a counter and a `Notify`.
async fn tokio_waitgroup() {
    struct Wg {
        count: AtomicUsize,
        zero: tokio::sync::Notify,
    }
    let wg = Arc::new(Wg {
        count: AtomicUsize::new(WG_TASKS),
        zero: tokio::sync::Notify::new(),
    });
    let n = Arc::new(AtomicUsize::new(0));
    for _ in 0..WG_TASKS {
        let (wg, n) = (wg.clone(), n.clone());
        tokio::spawn(async move {
            n.fetch_add(1, Relaxed);
            if wg.count.fetch_sub(1, AcqRel) == 1 {
                wg.zero.notify_one();
            }
        });
    }
    wg.zero.notified().await;
    assert_eq!(n.load(Relaxed), WG_TASKS);
}

fn bench_sync(c: &mut Criterion) {
    let grt = gorun::Runtime::builder()
        .procs(workers())
        .build()
        .expect("gorun runtime");
    let trt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers())
        .build()
        .expect("tokio runtime");

    let mut g = c.benchmark_group("sync");
    g.sample_size(20);
    g.throughput(Throughput::Elements(OPS as u64));
    for (name, tasks) in [("mutex_uncontended", 1), ("mutex_contended", TASKS)] {
        g.bench_function(BenchmarkId::new(name, "gorun"), |b| {
            b.iter(|| grt.run(gorun_mutex(tasks)))
        });
        g.bench_function(BenchmarkId::new(name, "tokio"), |b| {
            b.iter(|| trt.block_on(tokio_mutex(tasks)))
        });
    }
    for (name, tasks, permits) in [
        ("semaphore_uncontended", 1, 4),
        ("semaphore_contended", TASKS, 2),
    ] {
        g.bench_function(BenchmarkId::new(name, "gorun"), |b| {
            b.iter(|| grt.run(gorun_semaphore(tasks, permits)))
        });
        g.bench_function(BenchmarkId::new(name, "tokio"), |b| {
            b.iter(|| trt.block_on(tokio_semaphore(tasks, permits)))
        });
    }
    g.throughput(Throughput::Elements(WG_TASKS as u64));
    g.bench_function(BenchmarkId::new("waitgroup_100k", "gorun"), |b| {
        b.iter(|| grt.run(gorun_waitgroup()))
    });
    g.bench_function(BenchmarkId::new("waitgroup_100k", "tokio"), |b| {
        b.iter(|| trt.block_on(tokio_waitgroup()))
    });
    g.finish();
}

criterion_group!(benches, bench_sync);
criterion_main!(benches);
