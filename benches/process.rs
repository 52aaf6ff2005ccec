//! `gorun::process` against `tokio::process`, each on its own runtime with the
//! same number of workers, in the same run: spawn and wait for 1,000 `true`
//! processes, 50 at a time (50 tasks, each spawning and awaiting 20 in turn).
//! At the end, no child of this process may be left a zombie.
//!
//! Run with `cargo bench --bench process -- --warm-up-time 1 --measurement-time 5`.

#![allow(missing_docs)] // criterion_group! generates an undocumented fn

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

mod common;
use common::*;

/// Processes per iteration.
const PROCS: usize = 1_000;
/// Processes alive at once (one task each).
const AT_ONCE: usize = 50;

async fn gorun_spawn_wait() {
    let tasks: Vec<_> = (0..AT_ONCE)
        .map(|_| {
            gorun::go(async {
                for _ in 0..PROCS / AT_ONCE {
                    let status = gorun::process::Command::new("true").status().await;
                    assert!(status.unwrap().success());
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
}

async fn tokio_spawn_wait() {
    let tasks: Vec<_> = (0..AT_ONCE)
        .map(|_| {
            tokio::spawn(async {
                for _ in 0..PROCS / AT_ONCE {
                    let status = tokio::process::Command::new("true").status().await;
                    assert!(status.unwrap().success());
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
}

/// The children of this process in state `Z` (exited, not reaped).
fn zombie_children() -> Vec<u32> {
    let me = std::process::id();
    let mut zombies = Vec::new();
    for entry in std::fs::read_dir("/proc").expect("/proc").flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|s| s.parse().ok()) else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // "pid (comm) S ppid ...": comm may hold spaces and parentheses.
        let Some(close) = stat.rfind(')') else {
            continue;
        };
        let mut fields = stat[close + 2..].split(' ');
        let state = fields.next();
        let ppid = fields.next().and_then(|p| p.parse::<u32>().ok());
        if state == Some("Z") && ppid == Some(me) {
            zombies.push(pid);
        }
    }
    zombies
}

fn bench_process(c: &mut Criterion) {
    let grt = gorun_rt();
    let trt = tokio_rt();

    let mut g = c.benchmark_group("process");
    g.sample_size(10);
    g.throughput(Throughput::Elements(PROCS as u64));
    g.bench_function(
        BenchmarkId::new("spawn_wait_1k_true_50_at_once", "gorun"),
        |b| b.iter(|| grt.run(gorun_spawn_wait())),
    );
    g.bench_function(
        BenchmarkId::new("spawn_wait_1k_true_50_at_once", "tokio"),
        |b| b.iter(|| trt.block_on(tokio_spawn_wait())),
    );
    g.finish();

    // Every child was awaited; give a straggler's reaping a moment, then insist.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let mut zombies = zombie_children();
    while !zombies.is_empty() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(10));
        zombies = zombie_children();
    }
    assert!(zombies.is_empty(), "zombie children left: {zombies:?}");
    println!("process: no zombie children left");
}

criterion_group!(benches, bench_process);
criterion_main!(benches);
