//! Channel benchmarks: gorun's channels on the gorun runtime against tokio::mpsc,
//! async-channel, flume and kanal on tokio, and crossbeam-channel on plain
//! threads, all in the same run. The same workloads in Go live in
//! `benches/go/channel_test.go`.
//!
//! Workloads (a fixed message count per iteration):
//! * `pingpong/capN`: two tasks bounce a value over two channels, `NUM_PINGS`
//!   round trips.
//! * `spsc`, `mpsc_4x1`, `mpmc_4x4` over cap 0, 1 and 128: `NUM_MSGS` messages
//!   split over the producers; consumers receive until the channel closes.
//!
//! Both runtimes are built once, outside the measured loop, with the same number
//! of workers. Libraries that cannot express a configuration are skipped
//! (tokio::mpsc and async-channel have no cap 0; tokio::mpsc has no MPMC).
//!
//! Run with
//! `cargo bench --bench channel -- --warm-up-time 1 --measurement-time 3`.

#![allow(missing_docs)] // criterion_group! generates an undocumented fn

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

mod common;
use common::*;

/// Messages per iteration of the throughput workloads.
const NUM_MSGS: usize = 10_000;
/// Round trips per iteration of ping-pong.
const NUM_PINGS: usize = 2_000;

/// Spawns `producers` tasks each sending its share of `NUM_MSGS` and `consumers`
/// tasks receiving until closed; checks the total. `$chan` makes (tx, rx),
/// `$send`/`$recv` are async closures-as-macros over a handle.
macro_rules! async_workload {
    ($spawn:path, $join:expr, $chan:expr, |$tx:ident, $v:ident| $send:expr, |$rx:ident| $recv:expr, $p:expr, $c:expr) => {{
        let (tx, rx) = $chan;
        let per = NUM_MSGS / $p;
        let mut prods = Vec::new();
        for _ in 0..$p {
            let $tx = tx.clone();
            prods.push($spawn(async move {
                for $v in 0..per {
                    $send;
                }
            }));
        }
        drop(tx);
        let mut cons = Vec::new();
        for _ in 0..$c {
            let $rx = rx.clone();
            cons.push($spawn(async move {
                let mut n = 0usize;
                while let Some(_) = $recv {
                    n += 1;
                }
                n
            }));
        }
        drop(rx);
        for p in prods {
            $join(p).await;
        }
        let mut total = 0;
        for c in cons {
            total += $join(c).await;
        }
        assert_eq!(total, per * $p);
    }};
}

async fn join_gorun<T>(h: gorun::JoinHandle<T>) -> T {
    h.await.expect("task")
}

async fn join_tokio<T>(h: tokio::task::JoinHandle<T>) -> T {
    h.await.expect("task")
}

async fn gorun_chan(cap: usize, p: usize, c: usize) {
    async_workload!(
        gorun::spawn,
        join_gorun,
        gorun_channel::chan::<usize>(cap),
        |tx, v| tx.send(v).await.unwrap(),
        |rx| rx.recv().await,
        p,
        c
    )
}

async fn async_channel(cap: usize, p: usize, c: usize) {
    async_workload!(
        tokio::spawn,
        join_tokio,
        async_channel::bounded::<usize>(cap),
        |tx, v| tx.send(v).await.unwrap(),
        |rx| rx.recv().await.ok(),
        p,
        c
    )
}

async fn flume_chan(cap: usize, p: usize, c: usize) {
    async_workload!(
        tokio::spawn,
        join_tokio,
        flume::bounded::<usize>(cap),
        |tx, v| tx.send_async(v).await.unwrap(),
        |rx| rx.recv_async().await.ok(),
        p,
        c
    )
}

async fn kanal_chan(cap: usize, p: usize, c: usize) {
    async_workload!(
        tokio::spawn,
        join_tokio,
        kanal::bounded_async::<usize>(cap),
        |tx, v| tx.send(v).await.unwrap(),
        |rx| rx.recv().await.ok(),
        p,
        c
    )
}

async fn tokio_mpsc(cap: usize, p: usize) {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<usize>(cap);
    let per = NUM_MSGS / p;
    for _ in 0..p {
        let tx = tx.clone();
        tokio::spawn(async move {
            for v in 0..per {
                tx.send(v).await.unwrap();
            }
        });
    }
    drop(tx);
    let cons = tokio::spawn(async move {
        let mut n = 0;
        while rx.recv().await.is_some() {
            n += 1;
        }
        n
    });
    assert_eq!(cons.await.unwrap(), per * p);
}

fn crossbeam_threads(cap: usize, p: usize, c: usize) {
    let (tx, rx) = crossbeam_channel::bounded::<usize>(cap);
    let per = NUM_MSGS / p;
    std::thread::scope(|s| {
        for _ in 0..p {
            let tx = tx.clone();
            s.spawn(move || {
                for v in 0..per {
                    tx.send(v).unwrap();
                }
            });
        }
        drop(tx);
        let cons: Vec<_> = (0..c)
            .map(|_| {
                let rx = rx.clone();
                s.spawn(move || rx.iter().count())
            })
            .collect();
        let total: usize = cons.into_iter().map(|h| h.join().unwrap()).sum();
        assert_eq!(total, per * p);
    });
}

fn bench_throughput(c: &mut Criterion) {
    let grt = gorun_rt();
    let trt = tokio_rt();
    for (name, p, cs) in [("spsc", 1, 1), ("mpsc_4x1", 4, 1), ("mpmc_4x4", 4, 4)] {
        let mut g = c.benchmark_group(name);
        g.throughput(Throughput::Elements(NUM_MSGS as u64));
        g.sample_size(10);
        for cap in [0usize, 1, 128] {
            g.bench_with_input(BenchmarkId::new("gorun", cap), &cap, |b, &cap| {
                b.iter(|| grt.block_on(gorun_chan(cap, p, cs)))
            });
            if cap > 0 && cs == 1 {
                g.bench_with_input(BenchmarkId::new("tokio_mpsc", cap), &cap, |b, &cap| {
                    b.iter(|| trt.block_on(tokio_mpsc(cap, p)))
                });
            }
            if cap > 0 {
                g.bench_with_input(BenchmarkId::new("async_channel", cap), &cap, |b, &cap| {
                    b.iter(|| trt.block_on(async_channel(cap, p, cs)))
                });
            }
            g.bench_with_input(BenchmarkId::new("flume", cap), &cap, |b, &cap| {
                b.iter(|| trt.block_on(flume_chan(cap, p, cs)))
            });
            g.bench_with_input(BenchmarkId::new("kanal", cap), &cap, |b, &cap| {
                b.iter(|| trt.block_on(kanal_chan(cap, p, cs)))
            });
            g.bench_with_input(
                BenchmarkId::new("crossbeam_threads", cap),
                &cap,
                |b, &cap| b.iter(|| crossbeam_threads(cap, p, cs)),
            );
        }
        g.finish();
    }
}

/// Ping-pong: `spawn` one echo task, then `NUM_PINGS` round trips from the caller.
macro_rules! pingpong {
    ($spawn:path, $join:expr, $chan:expr, |$tx:ident, $v:ident| $send:expr, |$rx:ident| $recv:expr) => {{
        let (tx1, rx1) = $chan;
        let (tx2, rx2) = $chan;
        let echo = $spawn(async move {
            loop {
                let $rx = &rx1;
                let Some(v) = $recv else { break };
                let $tx = &tx2;
                let $v = v;
                $send;
            }
        });
        for i in 0..NUM_PINGS {
            let $tx = &tx1;
            let $v = i;
            $send;
            let $rx = &rx2;
            assert_eq!($recv, Some(i));
        }
        drop(tx1);
        $join(echo).await;
    }};
}

fn bench_pingpong(c: &mut Criterion) {
    let grt = gorun_rt();
    let trt = tokio_rt();
    let mut g = c.benchmark_group("pingpong");
    g.throughput(Throughput::Elements(NUM_PINGS as u64));
    g.sample_size(10);
    for cap in [0usize, 1] {
        g.bench_with_input(BenchmarkId::new("gorun", cap), &cap, |b, &cap| {
            b.iter(|| {
                grt.block_on(grt.spawn(async move {
                    pingpong!(
                        gorun::spawn,
                        join_gorun,
                        gorun_channel::chan::<usize>(cap),
                        |tx, v| tx.send(v).await.unwrap(),
                        |rx| rx.recv().await
                    )
                }))
                .unwrap()
            })
        });
        if cap > 0 {
            g.bench_with_input(BenchmarkId::new("tokio_mpsc", cap), &cap, |b, &cap| {
                b.iter(|| {
                    trt.block_on(trt.spawn(async move {
                        let (tx1, mut rx1) = tokio::sync::mpsc::channel::<usize>(cap);
                        let (tx2, mut rx2) = tokio::sync::mpsc::channel::<usize>(cap);
                        let echo = tokio::spawn(async move {
                            while let Some(v) = rx1.recv().await {
                                tx2.send(v).await.unwrap();
                            }
                        });
                        for i in 0..NUM_PINGS {
                            tx1.send(i).await.unwrap();
                            assert_eq!(rx2.recv().await, Some(i));
                        }
                        drop(tx1);
                        echo.await.unwrap();
                    }))
                    .unwrap()
                })
            });
            g.bench_with_input(BenchmarkId::new("async_channel", cap), &cap, |b, &cap| {
                b.iter(|| {
                    trt.block_on(trt.spawn(async move {
                        pingpong!(
                            tokio::spawn,
                            join_tokio,
                            async_channel::bounded::<usize>(cap),
                            |tx, v| tx.send(v).await.unwrap(),
                            |rx| rx.recv().await.ok()
                        )
                    }))
                    .unwrap()
                })
            });
        }
        g.bench_with_input(BenchmarkId::new("flume", cap), &cap, |b, &cap| {
            b.iter(|| {
                trt.block_on(trt.spawn(async move {
                    pingpong!(
                        tokio::spawn,
                        join_tokio,
                        flume::bounded::<usize>(cap),
                        |tx, v| tx.send_async(v).await.unwrap(),
                        |rx| rx.recv_async().await.ok()
                    )
                }))
                .unwrap()
            })
        });
        g.bench_with_input(BenchmarkId::new("kanal", cap), &cap, |b, &cap| {
            b.iter(|| {
                trt.block_on(trt.spawn(async move {
                    pingpong!(
                        tokio::spawn,
                        join_tokio,
                        kanal::bounded_async::<usize>(cap),
                        |tx, v| tx.send(v).await.unwrap(),
                        |rx| rx.recv().await.ok()
                    )
                }))
                .unwrap()
            })
        });
        g.bench_with_input(
            BenchmarkId::new("crossbeam_threads", cap),
            &cap,
            |b, &cap| {
                b.iter(|| {
                    let (tx1, rx1) = crossbeam_channel::bounded::<usize>(cap);
                    let (tx2, rx2) = crossbeam_channel::bounded::<usize>(cap);
                    std::thread::scope(|s| {
                        s.spawn(move || {
                            for v in rx1.iter() {
                                tx2.send(v).unwrap();
                            }
                        });
                        for i in 0..NUM_PINGS {
                            tx1.send(i).unwrap();
                            assert_eq!(rx2.recv().unwrap(), i);
                        }
                        drop(tx1);
                    });
                })
            },
        );
    }
    g.finish();
}

criterion_group!(benches, bench_pingpong, bench_throughput);
criterion_main!(benches);
