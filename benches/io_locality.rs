//! I/O locality: work stealing (gorun, tokio) against thread-per-core (monoio), in
//! the same run.
//!
//! - `echo`: TCP echo, 50 connections × 2,000 round trips of 64 bytes, clients and
//!   servers in one process, connections made outside the timed region. Reports
//!   nanoseconds per round trip (median and min–max of 5 runs after one warm-up) for
//!   gorun and tokio's multi-thread runtime with `workers()` workers, and for monoio
//!   thread-per-core with its legacy (epoll) driver and, where the kernel has it,
//!   io_uring: `workers()` threads, each its own runtime and its own listener, serving
//!   its share of the connections, whose clients run on the same thread. That is
//!   thread-per-core's best case: no wake-up ever crosses a thread.
//! - `mixed`: where thread-per-core fails. One connection streams 64 KiB writes as
//!   fast as it can to a server that discards them, beside 1,000 request/response
//!   connections (a 64-byte request, a 64-byte reply, then a random 0–1,000 ms
//!   pause, for 5 s); the server burns 5 ms of CPU on every tenth request of a
//!   connection. About 2,000 requests a second, whose burns take one of the two
//!   cores: under capacity, with the stream using what is left. Reports the
//!   p50/p99/p99.9 latency of the light requests (those that did not burn), how many
//!   completed, and the stream's MiB/s. On monoio the connections are split over
//!   the threads and the stream lands on thread 0, where it and the burns stall
//!   their neighbours; a work-stealing scheduler can run the neighbours on another
//!   worker.
//!
//! Run with `cargo bench --bench io_locality -- echo|mixed` (no filter runs both).
//! The mixed case's knobs: `IO_LOCALITY_SECS` (default 5) its duration per runtime,
//! `IO_LOCALITY_CONNS` (1000) its request/response connections,
//! `IO_LOCALITY_HEAVY_EVERY` (10) which requests burn, `IO_LOCALITY_THINK_MS` (1000)
//! the longest pause. A short pause saturates the server (at 2 ms, each connection
//! alone wants about 0.4 of a core for burns), which measures queueing, not
//! locality.
#![allow(missing_docs)]

use std::time::Duration;

mod common;
use common::workers;

#[path = "common/tcp_echo.rs"]
mod tcp_echo;

#[path = "io_locality/echo.rs"]
mod echo;
#[path = "io_locality/mixed.rs"]
mod mixed;

/// Raises the soft limit on open files to the hard limit; returns the soft limit.
fn raise_fd_limit() -> libc::rlim_t {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `lim` is a live `rlimit` for getrlimit to fill.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        return 0;
    }
    if lim.rlim_cur < lim.rlim_max {
        let raised = libc::rlimit {
            rlim_cur: lim.rlim_max,
            rlim_max: lim.rlim_max,
        };
        // SAFETY: `raised` is a live, valid `rlimit` (soft = hard, hard unchanged).
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
            return raised.rlim_cur;
        }
    }
    lim.rlim_cur
}

/// A panic on any thread ends the run: a monoio thread that died would leave the
/// others waiting at a barrier for ever.
fn exit_on_panic() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        default(info);
        std::process::exit(101);
    }));
}

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Median, min and max of `xs` in ns per round trip.
fn summary(xs: &[Duration]) -> (f64, f64, f64) {
    let mut ns: Vec<f64> = xs
        .iter()
        .map(|d| d.as_nanos() as f64 / (echo::CLIENTS * echo::ROUND_TRIPS) as f64)
        .collect();
    ns.sort_by(f64::total_cmp);
    (ns[ns.len() / 2], ns[0], ns[ns.len() - 1])
}

fn run_echo() {
    let w = workers();
    println!(
        "echo: TCP echo, {} connections x {} round trips of 64 B, clients and servers in \
         one process; ns per round trip, median [min-max] of {} runs after 1 warm-up",
        echo::CLIENTS,
        echo::ROUND_TRIPS,
        echo::RUNS
    );
    println!(
        "echo: monoio is thread-per-core: {w} threads, each its own runtime and listener \
         serving its share of the connections, their clients on the same thread"
    );
    let mut cases = vec![
        (format!("gorun ({w} workers)"), echo::gorun()),
        (format!("tokio multi-thread ({w} workers)"), echo::tokio()),
        (
            format!("monoio legacy/epoll ({w} threads)"),
            echo::monoio(false),
        ),
    ];
    if monoio::utils::detect_uring() {
        cases.push((format!("monoio io_uring ({w} threads)"), echo::monoio(true)));
    } else {
        println!("echo: monoio io_uring skipped: detect_uring() says this kernel lacks it");
    }
    let medians: Vec<f64> = cases
        .iter()
        .map(|(name, times)| {
            let (med, min, max) = summary(times);
            println!("  {name:<36} {med:>9.0} ns/rt  [{min:.0}-{max:.0}]");
            med
        })
        .collect();
    let tokio = medians[1];
    let mut ratios = format!("gorun/tokio {:.2}", medians[0] / tokio);
    ratios += &format!(", monoio-legacy/tokio {:.2}", medians[2] / tokio);
    if let Some(uring) = medians.get(3) {
        ratios += &format!(", monoio-uring/tokio {:.2}", uring / tokio);
    }
    println!("  ratios (medians): {ratios}");
}

fn run_mixed() {
    let cfg = mixed::Config {
        secs: Duration::from_secs(env_or("IO_LOCALITY_SECS", 5)),
        conns: env_or("IO_LOCALITY_CONNS", 1000) as usize,
        heavy_every: env_or("IO_LOCALITY_HEAVY_EVERY", 10).max(1),
        think_max: Duration::from_millis(env_or("IO_LOCALITY_THINK_MS", 1000)),
    };
    let w = workers();
    println!(
        "mixed: 1 streaming connection (64 KiB writes, as fast as it can) + {} \
         request/response connections (64 B, then a 0-{} ms pause), {} s per runtime",
        cfg.conns,
        cfg.think_max.as_millis(),
        cfg.secs.as_secs()
    );
    println!(
        "mixed: the server burns {} ms of CPU on every {}th request of a connection; \
         latency is of the light requests only, measured by the client",
        mixed::BURN.as_millis(),
        cfg.heavy_every
    );
    println!(
        "mixed: monoio is thread-per-core ({w} threads): request connections split over \
         the threads, the stream on thread 0"
    );
    println!(
        "  {:<34} {:>10} {:>10} {:>10} {:>11} {:>13}",
        "runtime", "p50", "p99", "p99.9", "light done", "stream MiB/s"
    );
    let cases = [
        (format!("gorun ({w} workers)"), mixed::gorun(&cfg)),
        (
            format!("tokio multi-thread ({w} workers)"),
            mixed::tokio(&cfg),
        ),
        (
            format!("monoio legacy/epoll ({w} threads)"),
            mixed::monoio(&cfg),
        ),
    ];
    for (name, mut out) in cases {
        out.light_us.sort_unstable();
        let pct = |q: f64| match out.light_us.len() {
            0 => "-".to_string(),
            n => format!("{} us", out.light_us[((q * n as f64) as usize).min(n - 1)]),
        };
        let mib_s = out.stream_bytes as f64 / (1 << 20) as f64 / out.stream_secs;
        println!(
            "  {name:<34} {:>10} {:>10} {:>10} {:>11} {mib_s:>13.1}",
            pct(0.50),
            pct(0.99),
            pct(0.999),
            out.light_us.len(),
        );
    }
}

fn main() {
    exit_on_panic();
    let limit = raise_fd_limit();
    let filter = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .unwrap_or_default();
    if "echo".contains(filter.as_str()) {
        run_echo();
    }
    if "mixed".contains(filter.as_str()) {
        let need = 2 * env_or("IO_LOCALITY_CONNS", 1000) + 64;
        if limit < need {
            println!("mixed: warning: RLIMIT_NOFILE is {limit}, about {need} needed");
        }
        run_mixed();
    }
}
