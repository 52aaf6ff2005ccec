//! Timer benchmarks: gorun's wheel against tokio's, in the same run.
//!
//! - `arm_cancel_1m/*`: arm 1,000,000 sleeps (first poll), then drop them all, each
//!   in its own `Box` (`batch`) or in place in one `Vec` (`batch_in_place`, as timers
//!   sit inside task futures); and the same one timer at a time (`sequential`). Pure
//!   timer cost, on one thread.
//! - `timeout_ready`: `timeout(1 s, ready)` polled once: the cost of the wrapper.
//! - `zero_timer_1m`: Go's `TestZeroTimer`: 1,000,000 rounds of a zero-duration
//!   `Timer` and a receive from its channel, in one task. gorun only, against Go's
//!   `BenchmarkTimerZero1M`: tokio has no channel timer, and its nearest equivalent,
//!   `sleep(Duration::ZERO)`, waits for the next millisecond tick (a 1,000 s run).
//! - `sleep_100k_10ms`: 100,000 tasks each sleep 10 ms; wait for all (seed workload).
//! - `sleep_1m_1s` (not criterion): 1,000,000 tasks each sleep 1 s, each runtime in
//!   its own child process, reporting wall time and peak RSS (`VmHWM`).
//!
//! Run with `cargo bench --bench timer -- --warm-up-time 1 --measurement-time 3`.
//! The same workloads in Go live in `benches/go/timer_test.go`.

#![allow(missing_docs)] // criterion_group! generates an undocumented fn

use std::future::Future;
use std::hint::black_box;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Waker};
use std::time::{Duration, Instant};

use criterion::{criterion_group, Criterion};

mod common;
use common::*;

const N_ARM: usize = 1_000_000;
const N_SLEEP_10MS: usize = 100_000;
const N_SLEEP_1S: usize = 1_000_000;
const N_ZERO: usize = 1_000_000;

/// Durations spread over the wheel's low levels, as real timeouts are.
fn dur(i: usize) -> Duration {
    Duration::from_millis(1 + (i as u64 * 7919) % 60_000)
}

fn poll_once<F: Future>(f: Pin<&mut F>) {
    let mut cx = Context::from_waker(Waker::noop());
    let _ = black_box(f.poll(&mut cx));
}

/// Polls every future of `v` once where it lies, then drops them all there.
fn poll_each_in_place<F: Future>(mut v: Vec<F>) {
    for f in &mut v {
        // SAFETY: `v` is not moved, grown or shrunk until it drops, and dropping a
        // `Vec` drops each element in place, so every future stays at this address
        // from its first poll until its destructor runs.
        poll_once(unsafe { Pin::new_unchecked(f) });
    }
    drop(v);
}

fn arm_cancel(c: &mut Criterion) {
    let mut g = c.benchmark_group("arm_cancel_1m");
    g.sample_size(10);
    let driver = gorun_timer::Driver::new(Arc::new(|| {}));
    g.bench_function("gorun/batch", |b| {
        let _e = driver.enter();
        b.iter(|| {
            let mut v: Vec<_> = (0..N_ARM)
                .map(|i| Box::pin(gorun_timer::sleep(dur(i))))
                .collect();
            for s in &mut v {
                poll_once(s.as_mut());
            }
            drop(v);
        })
    });
    let rt = tokio_rt();
    g.bench_function("tokio/batch", |b| {
        let _e = rt.enter();
        b.iter(|| {
            let mut v: Vec<_> = (0..N_ARM)
                .map(|i| Box::pin(tokio::time::sleep(dur(i))))
                .collect();
            for s in &mut v {
                poll_once(s.as_mut());
            }
            drop(v);
        })
    });
    // The same with the timers in place in one allocation, as they are inside task
    // futures: arming and cancelling without a `Box` and its fresh pages per timer.
    g.bench_function("gorun/batch_in_place", |b| {
        let _e = driver.enter();
        b.iter(|| {
            let v: Vec<_> = (0..N_ARM).map(|i| gorun_timer::sleep(dur(i))).collect();
            poll_each_in_place(v)
        })
    });
    g.bench_function("tokio/batch_in_place", |b| {
        let _e = rt.enter();
        b.iter(|| {
            let v: Vec<_> = (0..N_ARM).map(|i| tokio::time::sleep(dur(i))).collect();
            poll_each_in_place(v)
        })
    });
    g.bench_function("gorun/sequential", |b| {
        let _e = driver.enter();
        b.iter(|| {
            for i in 0..N_ARM {
                let s = std::pin::pin!(gorun_timer::sleep(dur(i)));
                poll_once(s);
            }
        })
    });
    g.bench_function("tokio/sequential", |b| {
        let _e = rt.enter();
        b.iter(|| {
            for i in 0..N_ARM {
                let s = std::pin::pin!(tokio::time::sleep(dur(i)));
                poll_once(s);
            }
        })
    });
    g.finish();
}

fn timeout_ready(c: &mut Criterion) {
    let mut g = c.benchmark_group("timeout_ready");
    let driver = gorun_timer::Driver::new(Arc::new(|| {}));
    g.bench_function("gorun", |b| {
        let _e = driver.enter();
        b.iter(|| {
            let t = std::pin::pin!(gorun_timer::timeout(
                Duration::from_secs(1),
                std::future::ready(black_box(1u32))
            ));
            poll_once(t);
        })
    });
    let rt = tokio_rt();
    g.bench_function("tokio", |b| {
        let _e = rt.enter();
        b.iter(|| {
            let t = std::pin::pin!(tokio::time::timeout(
                Duration::from_secs(1),
                std::future::ready(black_box(1u32))
            ));
            poll_once(t);
        })
    });
    g.finish();
}

fn zero_timer(c: &mut Criterion) {
    let mut g = c.benchmark_group("zero_timer_1m");
    g.sample_size(10);
    let rt = gorun_rt();
    g.bench_function("gorun", |b| {
        b.iter(|| {
            rt.run(async {
                for _ in 0..N_ZERO {
                    let t = gorun::time::Timer::new(Duration::ZERO);
                    black_box(t.c().recv().await.unwrap());
                }
            })
        })
    });
    g.finish();
}

fn sleep_100k(c: &mut Criterion) {
    let mut g = c.benchmark_group("sleep_100k_10ms");
    g.sample_size(10);
    let rt = gorun_rt();
    g.bench_function("gorun", |b| {
        b.iter(|| {
            rt.block_on(async {
                let hs: Vec<_> = (0..N_SLEEP_10MS)
                    .map(|_| {
                        gorun::go(async { gorun_timer::sleep(Duration::from_millis(10)).await })
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
                let hs: Vec<_> = (0..N_SLEEP_10MS)
                    .map(|_| {
                        tokio::spawn(async { tokio::time::sleep(Duration::from_millis(10)).await })
                    })
                    .collect();
                for h in hs {
                    h.await.unwrap();
                }
            })
        })
    });
    g.finish();
}

/// Peak resident set of this process, in KiB.
fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// The Go program: start 1,000,000 goroutines that each sleep 1 s, then wait for all.
async fn gorun_sleep_1m() {
    let hs: Vec<_> = (0..N_SLEEP_1S)
        .map(|_| gorun::go(async { gorun_timer::sleep(Duration::from_secs(1)).await }))
        .collect();
    for h in hs {
        h.await.unwrap();
    }
}

/// The same for tokio.
async fn tokio_sleep_1m() {
    let hs: Vec<_> = (0..N_SLEEP_1S)
        .map(|_| tokio::spawn(async { tokio::time::sleep(Duration::from_secs(1)).await }))
        .collect();
    for h in hs {
        h.await.unwrap();
    }
}

/// The child side of `sleep_1m_1s`: run one runtime's workload and print the result.
///
/// `*/main` runs the workload as a task (what `#[gorun::main]` does, and what Go's
/// main goroutine is); `*/block_on` drives it from the calling thread.
fn child(which: &str) {
    let start = Instant::now();
    match which {
        "gorun/main" => gorun_rt().run(gorun_sleep_1m()),
        "gorun/block_on" => gorun_rt().block_on(gorun_sleep_1m()),
        "tokio/main" => {
            let rt = tokio_rt();
            rt.block_on(async { tokio::spawn(tokio_sleep_1m()).await.unwrap() })
        }
        "tokio/block_on" => tokio_rt().block_on(tokio_sleep_1m()),
        other => panic!("unknown child {other}"),
    }
    println!(
        "RESULT wall_ms={} rss_kib={}",
        start.elapsed().as_millis(),
        peak_rss_kib()
    );
}

fn sleep_1m_1s() {
    for which in [
        "gorun/main",
        "tokio/main",
        "gorun/block_on",
        "tokio/block_on",
    ] {
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .env("GORUN_TIMER_BENCH_CHILD", which)
            .output()
            .expect("spawn child");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let line = stdout
            .lines()
            .find(|l| l.starts_with("RESULT"))
            .unwrap_or("RESULT failed");
        println!(
            "sleep_1m_1s/{which}: {}",
            line.trim_start_matches("RESULT ")
        );
    }
}

criterion_group!(benches, arm_cancel, timeout_ready, zero_timer, sleep_100k);

fn main() {
    if let Ok(which) = std::env::var("GORUN_TIMER_BENCH_CHILD") {
        child(&which);
        return;
    }
    let filter = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    if filter.as_deref().is_none_or(|f| "sleep_1m_1s".contains(f)) {
        sleep_1m_1s();
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
