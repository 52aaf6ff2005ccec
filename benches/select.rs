//! `select!` benchmark: one receiver task selecting over two channels, each fed
//! by its own producer task, until both close (`NUM_MSGS` messages an
//! iteration). gorun's `select!` on gorun channels against `tokio::select!` on
//! tokio mpsc, in the same run, with the same number of workers; Go's twin is
//! `BenchmarkSelect2` in `benches/go/select_test.go`. As `go test -bench` does, the
//! iterations run in a loop inside one task (criterion's `iter_custom`), not one
//! `block_on` per iteration: the bench thread is not woken per iteration.
//!
//! Run with
//! `cargo bench --bench select -- --warm-up-time 1 --measurement-time 3`.

#![allow(missing_docs)] // criterion_group! generates an undocumented fn

use std::time::Instant;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

mod common;
use common::*;

/// Messages per iteration, split over the two producers.
const NUM_MSGS: usize = 10_000;

async fn gorun_select2(cap: usize) -> usize {
    let (tx1, rx1) = gorun::chan::<usize>(cap);
    let (tx2, rx2) = gorun::chan::<usize>(cap);
    for tx in [tx1, tx2] {
        gorun::go(async move {
            for v in 0..NUM_MSGS / 2 {
                tx.send(v).await.unwrap();
            }
        });
    }
    let consumer = gorun::go(async move {
        let (mut open1, mut open2) = (true, true);
        let mut n = 0;
        while open1 || open2 {
            gorun::select! {
                recv(rx1) -> v, if open1 => match v {
                    Some(_) => n += 1,
                    None => open1 = false,
                },
                recv(rx2) -> v, if open2 => match v {
                    Some(_) => n += 1,
                    None => open2 = false,
                },
            }
        }
        n
    });
    consumer.await.unwrap()
}

async fn tokio_select2(cap: usize) -> usize {
    let (tx1, mut rx1) = tokio::sync::mpsc::channel::<usize>(cap);
    let (tx2, mut rx2) = tokio::sync::mpsc::channel::<usize>(cap);
    for tx in [tx1, tx2] {
        tokio::spawn(async move {
            for v in 0..NUM_MSGS / 2 {
                tx.send(v).await.unwrap();
            }
        });
    }
    let consumer = tokio::spawn(async move {
        let (mut open1, mut open2) = (true, true);
        let mut n = 0;
        while open1 || open2 {
            tokio::select! {
                v = rx1.recv(), if open1 => match v {
                    Some(_) => n += 1,
                    None => open1 = false,
                },
                v = rx2.recv(), if open2 => match v {
                    Some(_) => n += 1,
                    None => open2 = false,
                },
            }
        }
        n
    });
    consumer.await.unwrap()
}

fn bench_select2(c: &mut Criterion) {
    let grt = gorun::Runtime::builder()
        .procs(workers())
        .build()
        .expect("gorun runtime");
    let trt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers())
        .build()
        .expect("tokio runtime");
    let mut g = c.benchmark_group("select2");
    g.throughput(Throughput::Elements(NUM_MSGS as u64));
    g.sample_size(20);
    for cap in [1usize, 128] {
        g.bench_with_input(BenchmarkId::new("gorun", cap), &cap, |b, &cap| {
            b.iter_custom(|iters| {
                grt.run(async move {
                    let start = Instant::now();
                    for _ in 0..iters {
                        assert_eq!(gorun_select2(cap).await, NUM_MSGS);
                    }
                    start.elapsed()
                })
            })
        });
        g.bench_with_input(BenchmarkId::new("tokio", cap), &cap, |b, &cap| {
            b.iter_custom(|iters| {
                trt.block_on(async move {
                    tokio::spawn(async move {
                        let start = Instant::now();
                        for _ in 0..iters {
                            assert_eq!(tokio_select2(cap).await, NUM_MSGS);
                        }
                        start.elapsed()
                    })
                    .await
                    .expect("the bench task")
                })
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench_select2);
criterion_main!(benches);
