//! Executor benchmarks: gorun against tokio's multi-thread runtime, in the same run.
//!
//! Each group has a `gorun` and a `tokio` function; both runtimes are built once,
//! outside the measured loop, with the same number of workers (2 on the reference
//! machine, else `available_parallelism`, capped at 4 for comparable numbers).
//! Message hand-offs use `futures::channel::oneshot` on both runtimes, so only the
//! executor differs. The same workloads in Go live in `benches/go/executor_test.go`.
//!
//! Run with
//! `cargo bench --bench executor -- --warm-up-time 1 --measurement-time 4`.

use std::hint::black_box;

use criterion::Criterion;
use futures::channel::oneshot;

mod common;
use common::*;

/// Tasks spawned (and joined) per iteration of the spawn benchmarks.
const NUM_SPAWN: usize = 10_000;
/// Tasks in `yield_many`.
const NUM_YIELD_TASKS: usize = 1_000;
/// Yields per task in `yield_many`.
const NUM_YIELDS: usize = 200;
/// Ping-pong pairs per iteration.
const NUM_PINGS: usize = 1_000;
/// Length of the spawn chain.
const CHAIN_LEN: usize = 1_000;
/// Tasks in the seed workload.
const NUM_1M: usize = 1_000_000;
/// Round trips per iteration of `current_thread_ping_pong`.
const NUM_ROUND_TRIPS: usize = 10_000;
/// Tasks per iteration of `joinset_100k`.
const NUM_JOINSET: usize = 100_000;

/// `spawn_many_local`'s gorun body: from a task, spawn `NUM_SPAWN` tasks, join all.
async fn spawn_many_gorun() {
    let hs: Vec<_> = (0..NUM_SPAWN)
        .map(|i| gorun::go(async move { black_box(i) }))
        .collect();
    for h in hs {
        h.await.unwrap();
    }
}

fn spawn_many_local(c: &mut Criterion) {
    let mut g = c.benchmark_group("spawn_many_local");
    let rt = gorun_rt();
    g.bench_function("gorun", |b| b.iter(|| rt.run(spawn_many_gorun())));
    drop(rt);
    let rt = tokio_rt();
    g.bench_function("tokio", |b| {
        b.iter(|| {
            rt.block_on(async {
                tokio::spawn(async {
                    let hs: Vec<_> = (0..NUM_SPAWN)
                        .map(|i| tokio::spawn(async move { black_box(i) }))
                        .collect();
                    for h in hs {
                        h.await.unwrap();
                    }
                })
                .await
                .unwrap()
            })
        })
    });
    g.finish();
}

fn spawn_many_remote(c: &mut Criterion) {
    let mut g = c.benchmark_group("spawn_many_remote");
    let rt = gorun_rt();
    g.bench_function("gorun", |b| {
        b.iter(|| {
            let hs: Vec<_> = (0..NUM_SPAWN)
                .map(|i| rt.spawn(async move { black_box(i) }))
                .collect();
            rt.block_on(async {
                for h in hs {
                    h.await.unwrap();
                }
            })
        })
    });
    drop(rt);
    let rt = tokio_rt();
    g.bench_function("tokio", |b| {
        b.iter(|| {
            let hs: Vec<_> = (0..NUM_SPAWN)
                .map(|i| rt.spawn(async move { black_box(i) }))
                .collect();
            rt.block_on(async {
                for h in hs {
                    h.await.unwrap();
                }
            })
        })
    });
    g.finish();
}

fn yield_many(c: &mut Criterion) {
    let mut g = c.benchmark_group("yield_many");
    let rt = gorun_rt();
    g.bench_function("gorun", |b| {
        b.iter(|| {
            rt.run(async {
                let hs: Vec<_> = (0..NUM_YIELD_TASKS)
                    .map(|_| {
                        gorun::go(async {
                            for _ in 0..NUM_YIELDS {
                                gorun::yield_now().await;
                            }
                        })
                    })
                    .collect();
                for h in hs {
                    h.await.unwrap();
                }
            })
        })
    });
    drop(rt);
    let rt = tokio_rt();
    g.bench_function("tokio", |b| {
        b.iter(|| {
            rt.block_on(async {
                tokio::spawn(async {
                    let hs: Vec<_> = (0..NUM_YIELD_TASKS)
                        .map(|_| {
                            tokio::spawn(async {
                                for _ in 0..NUM_YIELDS {
                                    tokio::task::yield_now().await;
                                }
                            })
                        })
                        .collect();
                    for h in hs {
                        h.await.unwrap();
                    }
                })
                .await
                .unwrap()
            })
        })
    });
    g.finish();
}

/// One ping-pong: a pinger spawns its ponger, sends it a ping and awaits the pong.
macro_rules! ping_pong_body {
    ($spawn:path) => {
        async {
            let hs: Vec<_> = (0..NUM_PINGS)
                .map(|_| {
                    $spawn(async {
                        let (ping_tx, ping_rx) = oneshot::channel::<()>();
                        let (pong_tx, pong_rx) = oneshot::channel::<()>();
                        let ponger = $spawn(async move {
                            ping_rx.await.unwrap();
                            pong_tx.send(()).unwrap();
                        });
                        ping_tx.send(()).unwrap();
                        pong_rx.await.unwrap();
                        ponger.await.unwrap();
                    })
                })
                .collect();
            for h in hs {
                h.await.unwrap();
            }
        }
    };
}

fn ping_pong(c: &mut Criterion) {
    let mut g = c.benchmark_group("ping_pong");
    let rt = gorun_rt();
    g.bench_function("gorun", |b| b.iter(|| rt.run(ping_pong_body!(gorun::go))));
    drop(rt);
    let rt = tokio_rt();
    g.bench_function("tokio", |b| {
        b.iter(|| rt.block_on(async { tokio::spawn(ping_pong_body!(tokio::spawn)).await.unwrap() }))
    });
    g.finish();
}

fn chain_gorun(done: oneshot::Sender<()>, n: usize) {
    if n == 0 {
        done.send(()).unwrap();
    } else {
        drop(gorun::go(async move { chain_gorun(done, n - 1) }));
    }
}

fn chain_tokio(done: oneshot::Sender<()>, n: usize) {
    if n == 0 {
        done.send(()).unwrap();
    } else {
        drop(tokio::spawn(async move { chain_tokio(done, n - 1) }));
    }
}

fn chained_spawn(c: &mut Criterion) {
    let mut g = c.benchmark_group("chained_spawn");
    let rt = gorun_rt();
    g.bench_function("gorun", |b| {
        b.iter(|| {
            rt.run(async {
                let (tx, rx) = oneshot::channel();
                chain_gorun(tx, CHAIN_LEN);
                rx.await.unwrap();
            })
        })
    });
    drop(rt);
    let rt = tokio_rt();
    g.bench_function("tokio", |b| {
        b.iter(|| {
            rt.block_on(async {
                tokio::spawn(async {
                    let (tx, rx) = oneshot::channel();
                    chain_tokio(tx, CHAIN_LEN);
                    rx.await.unwrap();
                })
                .await
                .unwrap()
            })
        })
    });
    g.finish();
}

fn spawn_join_1m(c: &mut Criterion) {
    let mut g = c.benchmark_group("spawn_join_1m");
    g.sample_size(10);
    let rt = gorun_rt();
    g.bench_function("gorun", |b| {
        b.iter(|| {
            rt.run(async {
                let hs: Vec<_> = (0..NUM_1M).map(|_| gorun::go(async {})).collect();
                for h in hs {
                    h.await.unwrap();
                }
            })
        })
    });
    drop(rt);
    let rt = tokio_rt();
    g.bench_function("tokio", |b| {
        b.iter(|| {
            rt.block_on(async {
                tokio::spawn(async {
                    let hs: Vec<_> = (0..NUM_1M).map(|_| tokio::spawn(async {})).collect();
                    for h in hs {
                        h.await.unwrap();
                    }
                })
                .await
                .unwrap()
            })
        })
    });
    g.finish();
}

/// The watchdog's per-poll cost: `yield_many` (200,000 polls per iteration, almost
/// nothing else) with the watchdog on (the default) and off.
fn watchdog_poll_cost(c: &mut Criterion) {
    let mut g = c.benchmark_group("watchdog_poll_cost");
    for (name, threshold) in [
        ("on", Some(std::time::Duration::from_millis(10))),
        ("off", None),
    ] {
        let rt = gorun::Runtime::builder()
            .procs(workers())
            .watchdog(threshold)
            .build()
            .expect("gorun runtime");
        g.bench_function(name, |b| {
            b.iter(|| {
                rt.run(async {
                    let hs: Vec<_> = (0..NUM_YIELD_TASKS)
                        .map(|_| {
                            gorun::go(async {
                                for _ in 0..NUM_YIELDS {
                                    gorun::yield_now().await;
                                }
                            })
                        })
                        .collect();
                    for h in hs {
                        h.await.unwrap();
                    }
                })
            })
        });
    }
    g.finish();
}

/// The `block_on` future of a current-thread runtime and a task on it bounce a
/// value `NUM_ROUND_TRIPS` times. The channels are tokio's `mpsc` on both runtimes
/// (it runs on any executor), so only the runtimes differ.
macro_rules! block_on_ping_pong {
    ($spawn:path) => {
        async {
            let (to_task, mut from_main) = tokio::sync::mpsc::channel::<usize>(1);
            let (to_main, mut from_task) = tokio::sync::mpsc::channel::<usize>(1);
            let echo = $spawn(async move {
                while let Some(v) = from_main.recv().await {
                    to_main.send(v + 1).await.unwrap();
                }
            });
            let mut v = 0;
            for _ in 0..NUM_ROUND_TRIPS {
                to_task.send(v).await.unwrap();
                v = from_task.recv().await.unwrap();
            }
            drop(to_task);
            echo.await.unwrap();
            black_box(v)
        }
    };
}

fn current_thread_ping_pong(c: &mut Criterion) {
    let mut g = c.benchmark_group("current_thread_ping_pong");
    let rt = gorun::Builder::new_current_thread().build().unwrap();
    g.bench_function("gorun", |b| {
        b.iter(|| rt.block_on(block_on_ping_pong!(gorun::go)))
    });
    drop(rt);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    g.bench_function("tokio", |b| {
        b.iter(|| rt.block_on(block_on_ping_pong!(tokio::spawn)))
    });
    g.finish();
}

fn joinset_100k(c: &mut Criterion) {
    let mut g = c.benchmark_group("joinset_100k");
    g.sample_size(20);
    let rt = gorun_rt();
    g.bench_function("gorun", |b| {
        b.iter(|| {
            rt.run(async {
                let mut set = gorun::task::JoinSet::new();
                for i in 0..NUM_JOINSET {
                    set.spawn(async move { black_box(i) });
                }
                let mut n = 0;
                while let Some(r) = set.join_next().await {
                    n += r.unwrap() & 1;
                }
                black_box(n)
            })
        })
    });
    drop(rt);
    let rt = tokio_rt();
    g.bench_function("tokio", |b| {
        b.iter(|| {
            rt.block_on(async {
                tokio::spawn(async {
                    let mut set = tokio::task::JoinSet::new();
                    for i in 0..NUM_JOINSET {
                        set.spawn(async move { black_box(i) });
                    }
                    let mut n = 0;
                    while let Some(r) = set.join_next().await {
                        n += r.unwrap() & 1;
                    }
                    black_box(n)
                })
                .await
                .unwrap()
            })
        })
    });
    g.finish();
}

/// What an execution trace costs while it records: `spawn_many_local` and
/// `ping_pong` on gorun with no trace running (`off`) and with one recording
/// (`on`: a trace is started before each sample's iterations and stopped after
/// them, into `io::sink()`; only the iterations are timed).
fn trace_cost(c: &mut Criterion) {
    use std::time::{Duration, Instant};
    let mut g = c.benchmark_group("trace_cost");
    // The usual runtime, and one worker, where the cost is not blurred by how
    // the slowed polls change the two workers' stealing.
    let runtimes = [
        ("", gorun_rt()),
        ("1w_", gorun::Runtime::builder().procs(1).build().unwrap()),
    ];
    for (traced, (prefix, rt)) in [false, true]
        .into_iter()
        .flat_map(|t| runtimes.iter().map(move |r| (t, r)))
    {
        let timed = |iters: u64, body: &dyn Fn()| -> Duration {
            if traced {
                gorun::trace::start(std::io::sink()).expect("no other trace runs");
            }
            let t = Instant::now();
            for _ in 0..iters {
                body();
            }
            let took = t.elapsed();
            if traced {
                gorun::trace::stop().expect("the trace started above");
            }
            took
        };
        let name = if traced { "on" } else { "off" };
        g.bench_function(format!("{prefix}spawn_many_local/{name}"), |b| {
            b.iter_custom(|iters| timed(iters, &|| rt.run(spawn_many_gorun())))
        });
        g.bench_function(format!("{prefix}ping_pong/{name}"), |b| {
            b.iter_custom(|iters| timed(iters, &|| rt.run(ping_pong_body!(gorun::go))))
        });
    }
    g.finish();
}

// `criterion_group!` would generate an undocumented `pub fn`; this is its expansion.
fn main() {
    let mut c = Criterion::default().configure_from_args();
    spawn_many_local(&mut c);
    spawn_many_remote(&mut c);
    yield_many(&mut c);
    ping_pong(&mut c);
    chained_spawn(&mut c);
    spawn_join_1m(&mut c);
    watchdog_poll_cost(&mut c);
    current_thread_ping_pong(&mut c);
    joinset_100k(&mut c);
    trace_cost(&mut c);
    c.final_summary();
}
