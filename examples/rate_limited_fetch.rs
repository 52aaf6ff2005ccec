//! Go's parallel fetcher with rate limiting and per-request timeouts, against a
//! local server (the one in `examples/http/`, started in-process): an `errgroup`
//! with `set_limit(n)` bounds how many fetches run at once, a `time::tick`
//! channel paces their starts (Go's `limiter := time.Tick(d); <-limiter` pattern),
//! and each fetch runs under its own `time::timeout` (Go's
//! `context.WithTimeout` per request), so the one slow endpoint times out while
//! the rest succeed.
//!
//! ```go
//! limiter := time.Tick(20 * time.Millisecond)
//! g, ctx := errgroup.WithContext(ctx); g.SetLimit(3)
//! for _, url := range urls {
//!     <-limiter
//!     g.Go(func() error {
//!         ctx, cancel := context.WithTimeout(ctx, 250*time.Millisecond); defer cancel()
//!         resp, err := http.Get(...)  // record success or timeout
//!     })
//! }
//! g.Wait()
//! ```
//!
//! Run it with `cargo run --release --example rate_limited_fetch --features hyper`;
//! test it with `cargo test --release --example rate_limited_fetch --features hyper`.

#[path = "http/mod.rs"]
mod http;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use gorun::errgroup::Group;
use gorun::time::{timeout, Instant};
use http::{client, server, Error};

/// How the fetcher is bounded.
#[derive(Clone, Copy, Debug)]
struct Limits {
    /// At most this many fetches at once (`g.SetLimit`).
    concurrency: usize,
    /// At most one fetch starts per tick of this period.
    every: Duration,
    /// Each fetch's own deadline.
    per_request: Duration,
}

/// How one fetch ended.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    /// The status and body length.
    Ok(u16, usize),
    /// `per_request` passed first.
    TimedOut,
}

/// One fetch: its path, when it started (since the run began), how it ended.
#[derive(Debug, Clone)]
struct Fetched {
    path: String,
    started: Duration,
    outcome: Outcome,
}

/// What a run did.
struct Run {
    fetched: Vec<Fetched>,
    most_at_once: usize,
    elapsed: Duration,
}

/// Fetches every path, paced by a ticker, bounded by the group's limit, each under
/// its own timeout. A connection error (not a timeout) fails the group.
async fn fetch_all(addr: SocketAddr, paths: &[&str], limits: Limits) -> Result<Run, Error> {
    let g = Group::<Error>::new();
    g.set_limit(limits.concurrency);
    let fetched = Arc::new(Mutex::new(Vec::new()));
    let (now, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let start = Instant::now();
    let limiter = gorun::time::tick(limits.every); // Go's time.Tick
    for path in paths {
        limiter.recv().await; // <-limiter: at most one start per tick
        let (path, fetched, now, most) =
            (path.to_string(), fetched.clone(), now.clone(), most.clone());
        g.go(async move {
            let started = start.elapsed();
            most.fetch_max(now.fetch_add(1, Ordering::SeqCst) + 1, Ordering::SeqCst);
            let r = timeout(limits.per_request, client::get(addr, &path)).await;
            now.fetch_sub(1, Ordering::SeqCst);
            let outcome = match r {
                Ok(Ok((status, body))) => Outcome::Ok(status.as_u16(), body.len()),
                Ok(Err(e)) => return Err(format!("{path}: {e}").into()),
                Err(_elapsed) => Outcome::TimedOut,
            };
            fetched.lock().unwrap().push(Fetched {
                path,
                started,
                outcome,
            });
            Ok(())
        })
        .await; // waits for a free slot, as Go's g.Go blocks under SetLimit
    }
    drop(limiter); // the ticker stops once its channel has no receiver
    g.wait().await?;
    let mut fetched = std::mem::take(&mut *fetched.lock().unwrap());
    fetched.sort_by_key(|f| f.started);
    Ok(Run {
        fetched,
        most_at_once: most.load(Ordering::SeqCst),
        elapsed: start.elapsed(),
    })
}

/// Checks a run: exactly the slow paths timed out, the rest answered 200; no more
/// than `concurrency` at once; the k-th start (from 0) came no sooner than the
/// (k+1)-th tick, so starts never outran the ticker: `fetches <= elapsed / every`.
fn check(run: &Run, paths: &[&str], limits: Limits) {
    assert_eq!(run.fetched.len(), paths.len());
    for f in &run.fetched {
        match (f.path.starts_with("/slow"), &f.outcome) {
            (true, Outcome::TimedOut) | (false, Outcome::Ok(200, _)) => {}
            (_, o) => panic!("{}: unexpected {o:?}", f.path),
        }
    }
    assert!(
        run.most_at_once <= limits.concurrency,
        "{} at once",
        run.most_at_once
    );
    // A timer never fires early; 1 ms of slack for the wheel's millisecond ticks.
    let slack = Duration::from_millis(1);
    for (k, f) in run.fetched.iter().enumerate() {
        let tick = limits.every * (k as u32 + 1);
        assert!(
            f.started + slack >= tick,
            "start {k} at {:?}, before tick {tick:?}",
            f.started
        );
    }
    let ticks = run.elapsed.as_nanos() / limits.every.as_nanos();
    assert!(
        run.fetched.len() as u128 <= ticks,
        "{} fetches in {ticks} ticks",
        run.fetched.len()
    );
}

/// Twelve fetches: nine quick ones and three of a route slower than the timeout.
const PATHS: [&str; 12] = [
    "/",
    "/json",
    "/slow?ms=3000",
    "/",
    "/json",
    "/",
    "/slow?ms=3000",
    "/json",
    "/",
    "/json",
    "/slow?ms=3000",
    "/",
];

const LIMITS: Limits = Limits {
    concurrency: 3,
    every: Duration::from_millis(20),
    per_request: Duration::from_millis(250),
};

#[gorun::main(procs = 2)]
async fn main() -> Result<(), Error> {
    let srv = server::Server::start("127.0.0.1:0").await?;
    let run = fetch_all(srv.addr, &PATHS, LIMITS).await?;
    for f in &run.fetched {
        println!(
            "{:>7.1} ms  {:<15} {:?}",
            f.started.as_secs_f64() * 1e3,
            f.path,
            f.outcome
        );
    }
    let timed_out = run
        .fetched
        .iter()
        .filter(|f| f.outcome == Outcome::TimedOut)
        .count();
    println!(
        "{} fetches in {:.0} ms ({} ticks of {:?}): {} ok, {timed_out} timed out, at most {} at once (limit {})",
        run.fetched.len(),
        run.elapsed.as_secs_f64() * 1e3,
        run.elapsed.as_nanos() / LIMITS.every.as_nanos(),
        LIMITS.every,
        run.fetched.len() - timed_out,
        run.most_at_once,
        LIMITS.concurrency,
    );
    check(&run, &PATHS, LIMITS);
    assert_eq!(timed_out, 3);
    assert_eq!(srv.requests(), PATHS.len() as u64);
    srv.stop();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[gorun::test(procs = 2)]
    async fn slow_ones_time_out_and_the_rate_limit_holds() {
        let srv = server::Server::start("127.0.0.1:0").await.unwrap();
        let run = fetch_all(srv.addr, &PATHS, LIMITS).await.unwrap();
        check(&run, &PATHS, LIMITS);
        srv.stop();
    }

    #[gorun::test(procs = 2)]
    async fn a_tight_limit_serialises_and_a_fast_ticker_does_not_outrun_it() {
        let srv = server::Server::start("127.0.0.1:0").await.unwrap();
        let limits = Limits {
            concurrency: 1,
            every: Duration::from_millis(2),
            ..LIMITS
        };
        let paths = ["/slow?ms=30"; 5];
        let run = fetch_all(srv.addr, &paths, limits).await.unwrap();
        assert_eq!(run.most_at_once, 1);
        assert!(run
            .fetched
            .iter()
            .all(|f| f.outcome == Outcome::Ok(200, 12)));
        // One at a time, 30 ms each: the limit, not the ticker, set the pace.
        assert!(
            run.elapsed >= Duration::from_millis(150),
            "{:?}",
            run.elapsed
        );
        srv.stop();
    }

    #[gorun::test(procs = 2)]
    async fn a_connection_error_fails_the_group() {
        let addr = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let r = fetch_all(addr, &["/"], LIMITS).await;
        assert!(r.is_err());
    }
}
