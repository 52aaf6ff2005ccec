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

/// Oneshots per iteration, values per broadcast/watch iteration.
const MSGS: usize = 10_000;
/// Receivers of the broadcast and watch workloads.
const RECEIVERS: usize = 8;
/// Barrier rounds per iteration (with `TASKS` tasks).
const ROUNDS: usize = 1_000;

/// Each oneshot is sent from its own task and awaited by the main task.
async fn gorun_oneshot() {
    let rxs: Vec<_> = (0..MSGS)
        .map(|i| {
            let (tx, rx) = gorun::sync::oneshot::channel();
            gorun::go(async move {
                let _ = tx.send(i);
            });
            rx
        })
        .collect();
    let mut sum = 0;
    for rx in rxs {
        sum += rx.await.unwrap();
    }
    assert_eq!(sum, MSGS * (MSGS - 1) / 2);
}

async fn tokio_oneshot() {
    let rxs: Vec<_> = (0..MSGS)
        .map(|i| {
            let (tx, rx) = tokio::sync::oneshot::channel();
            tokio::spawn(async move {
                let _ = tx.send(i);
            });
            rx
        })
        .collect();
    let mut sum = 0;
    for rx in rxs {
        sum += rx.await.unwrap();
    }
    assert_eq!(sum, MSGS * (MSGS - 1) / 2);
}

/// A relay: task i awaits oneshot i and sends on oneshot i + 1, so every hop parks a
/// receiver and wakes it from another task.
async fn gorun_oneshot_chain() {
    let (first_tx, mut rx) = gorun::sync::oneshot::channel::<usize>();
    for _ in 0..MSGS {
        let (tx, next_rx) = gorun::sync::oneshot::channel();
        gorun::go(async move {
            let v = rx.await.unwrap();
            let _ = tx.send(v + 1);
        });
        rx = next_rx;
    }
    first_tx.send(0).unwrap();
    assert_eq!(rx.await.unwrap(), MSGS);
}

async fn tokio_oneshot_chain() {
    let (first_tx, mut rx) = tokio::sync::oneshot::channel::<usize>();
    for _ in 0..MSGS {
        let (tx, next_rx) = tokio::sync::oneshot::channel();
        tokio::spawn(async move {
            let v = rx.await.unwrap();
            let _ = tx.send(v + 1);
        });
        rx = next_rx;
    }
    first_tx.send(0).unwrap();
    assert_eq!(rx.await.unwrap(), MSGS);
}

/// One sender, `RECEIVERS` receiver tasks; the ring holds every value, so each
/// receiver receives all `MSGS`.
async fn gorun_broadcast() {
    use gorun::sync::broadcast;
    let (tx, rx) = broadcast::channel::<usize>(MSGS);
    let hs: Vec<_> = (0..RECEIVERS)
        .map(|_| {
            let mut rx = rx.resubscribe();
            gorun::go(async move {
                let mut n = 0;
                while let Ok(v) = rx.recv().await {
                    n += v;
                }
                n
            })
        })
        .collect();
    drop(rx);
    for i in 0..MSGS {
        tx.send(i).unwrap();
    }
    drop(tx);
    for h in hs {
        assert_eq!(h.await.unwrap(), MSGS * (MSGS - 1) / 2);
    }
}

async fn tokio_broadcast() {
    use tokio::sync::broadcast;
    let (tx, rx) = broadcast::channel::<usize>(MSGS);
    let hs: Vec<_> = (0..RECEIVERS)
        .map(|_| {
            let mut rx = rx.resubscribe();
            tokio::spawn(async move {
                let mut n = 0;
                while let Ok(v) = rx.recv().await {
                    n += v;
                }
                n
            })
        })
        .collect();
    drop(rx);
    for i in 0..MSGS {
        tx.send(i).unwrap();
    }
    drop(tx);
    for h in hs {
        assert_eq!(h.await.unwrap(), MSGS * (MSGS - 1) / 2);
    }
}

/// One sender, `RECEIVERS` receiver tasks looping on `changed()`; each must end on
/// the last value.
async fn gorun_watch() {
    use gorun::sync::watch;
    let (tx, rx) = watch::channel(0usize);
    let hs: Vec<_> = (0..RECEIVERS)
        .map(|_| {
            let mut rx = rx.clone();
            gorun::go(async move {
                let mut last = 0;
                while rx.changed().await.is_ok() {
                    last = *rx.borrow_and_update();
                }
                last
            })
        })
        .collect();
    drop(rx);
    for i in 1..=MSGS {
        tx.send(i).unwrap();
    }
    drop(tx);
    for h in hs {
        assert_eq!(h.await.unwrap(), MSGS);
    }
}

async fn tokio_watch() {
    use tokio::sync::watch;
    let (tx, rx) = watch::channel(0usize);
    let hs: Vec<_> = (0..RECEIVERS)
        .map(|_| {
            let mut rx = rx.clone();
            tokio::spawn(async move {
                let mut last = 0;
                while rx.changed().await.is_ok() {
                    last = *rx.borrow_and_update();
                }
                last
            })
        })
        .collect();
    drop(rx);
    for i in 1..=MSGS {
        tx.send(i).unwrap();
    }
    drop(tx);
    for h in hs {
        assert_eq!(h.await.unwrap(), MSGS);
    }
}

/// `TASKS` tasks meet at a barrier `ROUNDS` times.
async fn gorun_barrier() {
    let b = Arc::new(gorun::sync::Barrier::new(TASKS));
    let hs: Vec<_> = (0..TASKS)
        .map(|_| {
            let b = b.clone();
            gorun::go(async move {
                let mut led = 0;
                for _ in 0..ROUNDS {
                    led += b.wait().await.is_leader() as usize;
                }
                led
            })
        })
        .collect();
    let mut leaders = 0;
    for h in hs {
        leaders += h.await.unwrap();
    }
    assert_eq!(leaders, ROUNDS);
}

async fn tokio_barrier() {
    let b = Arc::new(tokio::sync::Barrier::new(TASKS));
    let hs: Vec<_> = (0..TASKS)
        .map(|_| {
            let b = b.clone();
            tokio::spawn(async move {
                let mut led = 0;
                for _ in 0..ROUNDS {
                    led += b.wait().await.is_leader() as usize;
                }
                led
            })
        })
        .collect();
    let mut leaders = 0;
    for h in hs {
        leaders += h.await.unwrap();
    }
    assert_eq!(leaders, ROUNDS);
}

/// tokio's own channel types under tokio's names (`gorun::sync::{oneshot, broadcast,
/// watch, Barrier}`), one criterion group each so they can be run alone.
fn bench_tokio_shaped(c: &mut Criterion) {
    let grt = gorun::Runtime::builder()
        .procs(workers())
        .build()
        .expect("gorun runtime");
    let trt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers())
        .build()
        .expect("tokio runtime");

    let mut g = c.benchmark_group("sync_oneshot");
    g.sample_size(20);
    g.throughput(Throughput::Elements(MSGS as u64));
    g.bench_function(BenchmarkId::new("spawned_senders_10k", "gorun"), |b| {
        b.iter(|| grt.run(gorun_oneshot()))
    });
    g.bench_function(BenchmarkId::new("spawned_senders_10k", "tokio"), |b| {
        b.iter(|| trt.block_on(tokio_oneshot()))
    });
    g.bench_function(BenchmarkId::new("relay_chain_10k", "gorun"), |b| {
        b.iter(|| grt.run(gorun_oneshot_chain()))
    });
    g.bench_function(BenchmarkId::new("relay_chain_10k", "tokio"), |b| {
        b.iter(|| trt.block_on(tokio_oneshot_chain()))
    });
    g.finish();

    let mut g = c.benchmark_group("sync_broadcast");
    g.sample_size(20);
    g.throughput(Throughput::Elements((MSGS * RECEIVERS) as u64));
    g.bench_function(BenchmarkId::new("1x8_10k", "gorun"), |b| {
        b.iter(|| grt.run(gorun_broadcast()))
    });
    g.bench_function(BenchmarkId::new("1x8_10k", "tokio"), |b| {
        b.iter(|| trt.block_on(tokio_broadcast()))
    });
    g.finish();

    let mut g = c.benchmark_group("sync_watch");
    g.sample_size(20);
    g.throughput(Throughput::Elements(MSGS as u64));
    g.bench_function(BenchmarkId::new("1x8_10k", "gorun"), |b| {
        b.iter(|| grt.run(gorun_watch()))
    });
    g.bench_function(BenchmarkId::new("1x8_10k", "tokio"), |b| {
        b.iter(|| trt.block_on(tokio_watch()))
    });
    g.finish();

    let mut g = c.benchmark_group("sync_barrier");
    g.sample_size(20);
    g.throughput(Throughput::Elements(ROUNDS as u64));
    g.bench_function(BenchmarkId::new("8_tasks_1k_rounds", "gorun"), |b| {
        b.iter(|| grt.run(gorun_barrier()))
    });
    g.bench_function(BenchmarkId::new("8_tasks_1k_rounds", "tokio"), |b| {
        b.iter(|| trt.block_on(tokio_barrier()))
    });
    g.finish();
}

criterion_group!(benches, bench_sync, bench_tokio_shaped);
criterion_main!(benches);
