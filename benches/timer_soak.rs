//! Timer soak: the canonical Go service loop under churn, gorun against tokio.
//!
//! - `soak`: 4 hot loops, each `select!` over a busy work channel and a fresh 30 s
//!   timeout (`recv(after(30 s))` on gorun, `sleep(30 s)` on tokio) every iteration,
//!   plus one task sleeping 1 ms in a loop, for `SOAK_SECS` (default 60) at each of
//!   `SOAK_PROCS` (default `2,4,8`) workers. Reports RSS at 5 s and its peak, the
//!   sleeper's ticks a second (the mean and the worst one-second window), its p99
//!   lateness, and the loops' messages a second.
//! - `losing`: 1,000,000 `select!`s in which a ready channel beats `after(1 h)`
//!   (tokio: `sleep(1 h)`): RSS growth over the loop, and its time.
//!
//! Each runtime runs in a child process of its own, so RSS is its own. Run with
//! `cargo bench --bench timer_soak` (both parts), or `-- soak` / `-- losing`;
//! `SOAK_SECS=10 SOAK_PROCS=4` for a short look. Figures live in benches/README.md.

#![allow(missing_docs)]

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Hot loops (`SOAK_LOOPS` overrides, e.g. 0 to see the sleeper alone).
fn loops() -> usize {
    std::env::var("SOAK_LOOPS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(4)
}
const TIMEOUT: Duration = Duration::from_secs(30);
const SLEEPER_PERIOD: Duration = Duration::from_millis(1);
const N_LOSING: usize = 1_000_000;

/// Resident set of this process now (`VmRSS`) or at its peak (`VmHWM`), in KiB.
fn rss_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// What the sleeper and the loops record while the soak runs.
#[derive(Default)]
struct Record {
    /// Lateness of each 1 ms sleep, in microseconds.
    lateness_us: Mutex<Vec<u32>>,
    /// Sleeper wake-ups in each whole second of the run.
    ticks_per_sec: Mutex<Vec<u64>>,
    messages: AtomicU64,
    stop: AtomicBool,
}

impl Record {
    fn sleeper_woke(&self, start: Instant, asked: Instant, woke: Instant) {
        let late = woke.saturating_duration_since(asked + SLEEPER_PERIOD);
        self.lateness_us
            .lock()
            .unwrap()
            .push(late.as_micros().min(u32::MAX as u128) as u32);
        let sec = woke.duration_since(start).as_secs() as usize;
        let mut t = self.ticks_per_sec.lock().unwrap();
        if t.len() <= sec {
            t.resize(sec + 1, 0);
        }
        t[sec] += 1;
    }

    fn report(&self, secs: u64, rss_5s: u64, elapsed: Duration) -> String {
        let mut late = self.lateness_us.lock().unwrap().clone();
        late.sort_unstable();
        let p99 = late.get(late.len() * 99 / 100).copied().unwrap_or(u32::MAX);
        let p50 = late.get(late.len() / 2).copied().unwrap_or(u32::MAX);
        let ticks = self.ticks_per_sec.lock().unwrap();
        // Whole seconds only: the last one is cut short.
        let full: Vec<u64> = ticks.iter().take(secs as usize).copied().collect();
        let min = full.iter().min().copied().unwrap_or(0);
        let mean = full.iter().sum::<u64>() as f64 / secs.max(1) as f64;
        let peak = rss_kib("VmHWM:");
        format!(
            "rss_5s_mib={:.1} peak_rss_mib={:.1} peak_over_5s={:.2} ticks_per_s_mean={:.0} \
             ticks_per_s_min={} p50_late_ms={:.2} p99_late_ms={:.2} msgs_per_s={:.0}",
            rss_5s as f64 / 1024.0,
            peak as f64 / 1024.0,
            peak as f64 / rss_5s.max(1) as f64,
            mean,
            min,
            p50 as f64 / 1000.0,
            p99 as f64 / 1000.0,
            self.messages.load(Ordering::Relaxed) as f64 / elapsed.as_secs_f64(),
        )
    }
}

/// Samples RSS at 5 s, then waits out the run and raises `stop`.
fn watch(rec: &Record, secs: u64) -> u64 {
    std::thread::sleep(Duration::from_secs(5.min(secs)));
    let rss_5s = rss_kib("VmRSS:");
    std::thread::sleep(Duration::from_secs(secs.saturating_sub(5)));
    rec.stop.store(true, Ordering::Relaxed);
    rss_5s
}

fn gorun_soak(procs: usize, secs: u64) -> String {
    let rt = gorun::Runtime::builder().procs(procs).build().unwrap();
    let rec = Arc::new(Record::default());
    let start = Instant::now();
    for _ in 0..loops() {
        let (tx, rx) = gorun::chan::<u64>(128);
        let r = rec.clone();
        rt.spawn(async move {
            let mut i = 0;
            while !r.stop.load(Ordering::Relaxed) && tx.send(i).await.is_ok() {
                i += 1;
            }
        });
        let r = rec.clone();
        rt.spawn(async move {
            while !r.stop.load(Ordering::Relaxed) {
                gorun::select! {
                    recv(rx) -> v => {
                        if v.is_none() { break; }
                        r.messages.fetch_add(1, Ordering::Relaxed);
                    }
                    recv(gorun::time::after(TIMEOUT)) -> _ => {}
                }
            }
        });
    }
    let r = rec.clone();
    rt.spawn(async move {
        while !r.stop.load(Ordering::Relaxed) {
            let asked = Instant::now();
            gorun::time::sleep(SLEEPER_PERIOD).await;
            r.sleeper_woke(start, asked, Instant::now());
        }
    });
    let rss_5s = watch(&rec, secs);
    rec.report(secs, rss_5s, start.elapsed())
}

fn tokio_soak(procs: usize, secs: u64) -> String {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(procs)
        .enable_all()
        .build()
        .unwrap();
    let rec = Arc::new(Record::default());
    let start = Instant::now();
    for _ in 0..loops() {
        let (tx, mut rx) = tokio::sync::mpsc::channel::<u64>(128);
        let r = rec.clone();
        rt.spawn(async move {
            let mut i = 0;
            while !r.stop.load(Ordering::Relaxed) && tx.send(i).await.is_ok() {
                i += 1;
            }
        });
        let r = rec.clone();
        rt.spawn(async move {
            while !r.stop.load(Ordering::Relaxed) {
                tokio::select! {
                    v = rx.recv() => {
                        if v.is_none() { break; }
                        r.messages.fetch_add(1, Ordering::Relaxed);
                    }
                    _ = tokio::time::sleep(TIMEOUT) => {}
                }
            }
        });
    }
    let r = rec.clone();
    rt.spawn(async move {
        while !r.stop.load(Ordering::Relaxed) {
            let asked = Instant::now();
            tokio::time::sleep(SLEEPER_PERIOD).await;
            r.sleeper_woke(start, asked, Instant::now());
        }
    });
    let rss_5s = watch(&rec, secs);
    rec.report(secs, rss_5s, start.elapsed())
}

fn gorun_losing() -> String {
    let rt = gorun::Runtime::builder().procs(2).build().unwrap();
    rt.block_on(async {
        let (tx, rx) = gorun::chan::<u64>(1);
        // Warm up the allocator and the wheel before the baseline.
        for i in 0..10_000 {
            tx.try_send(i).unwrap();
            gorun::select! {
                recv(rx) -> _ => {}
                recv(gorun::time::after(Duration::from_secs(3600))) -> _ => unreachable!(),
            }
        }
        let before = rss_kib("VmRSS:");
        let t = Instant::now();
        for i in 0..N_LOSING as u64 {
            tx.try_send(i).unwrap();
            gorun::select! {
                recv(rx) -> v => assert_eq!(v, Some(i)),
                recv(gorun::time::after(Duration::from_secs(3600))) -> _ => unreachable!(),
            }
        }
        let took = t.elapsed();
        let after = rss_kib("VmRSS:");
        format!(
            "rss_growth_mib={:.1} ns_per_select={:.0}",
            after.saturating_sub(before) as f64 / 1024.0,
            took.as_nanos() as f64 / N_LOSING as f64
        )
    })
}

fn tokio_losing() -> String {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let (tx, mut rx) = tokio::sync::mpsc::channel::<u64>(1);
        for i in 0..10_000 {
            tx.try_send(i).unwrap();
            tokio::select! {
                _ = rx.recv() => {}
                _ = tokio::time::sleep(Duration::from_secs(3600)) => unreachable!(),
            }
        }
        let before = rss_kib("VmRSS:");
        let t = Instant::now();
        for i in 0..N_LOSING as u64 {
            tx.try_send(i).unwrap();
            tokio::select! {
                v = rx.recv() => assert_eq!(v, Some(i)),
                _ = tokio::time::sleep(Duration::from_secs(3600)) => unreachable!(),
            }
        }
        let took = t.elapsed();
        let after = rss_kib("VmRSS:");
        format!(
            "rss_growth_mib={:.1} ns_per_select={:.0}",
            after.saturating_sub(before) as f64 / 1024.0,
            took.as_nanos() as f64 / N_LOSING as f64
        )
    })
}

fn child(which: &str) {
    let secs: u64 = std::env::var("SOAK_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60);
    let out = match which.split_once(':') {
        Some(("gorun/soak", p)) => gorun_soak(p.parse().unwrap(), secs),
        Some(("tokio/soak", p)) => tokio_soak(p.parse().unwrap(), secs),
        _ if which == "gorun/losing" => gorun_losing(),
        _ if which == "tokio/losing" => tokio_losing(),
        _ => panic!("unknown child {which}"),
    };
    println!("RESULT {out}");
    // The soak's runtime is not dropped (its loops run until the process ends).
    std::process::exit(0);
}

fn run_child(which: &str) {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .env("GORUN_SOAK_CHILD", which)
        .output()
        .expect("spawn child");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout
        .lines()
        .find(|l| l.starts_with("RESULT"))
        .map(|l| l.trim_start_matches("RESULT ").to_string())
        .unwrap_or_else(|| format!("failed: {}", String::from_utf8_lossy(&out.stderr)));
    println!("{which}: {line}");
}

fn main() {
    if let Ok(which) = std::env::var("GORUN_SOAK_CHILD") {
        child(&which);
        return;
    }
    let filter = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let wants = |part: &str| filter.as_deref().is_none_or(|f| part.contains(f));
    if wants("losing") {
        run_child("gorun/losing");
        run_child("tokio/losing");
    }
    if wants("soak") {
        let procs = std::env::var("SOAK_PROCS").unwrap_or_else(|_| "2,4,8".into());
        for p in procs.split(',') {
            run_child(&format!("gorun/soak:{p}"));
            run_child(&format!("tokio/soak:{p}"));
        }
    }
}
