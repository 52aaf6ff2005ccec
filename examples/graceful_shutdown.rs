//! Graceful shutdown: a TCP echo server (one goroutine per connection), clients,
//! and a background worker run until Ctrl+C (`SIGINT`) or `SIGTERM`; then one
//! `context` cancel tells every goroutine to stop, and a `WaitGroup` waits for them
//! up to a shutdown deadline, past which the stragglers are aborted (Go's
//! `signal.NotifyContext` + `srv.Shutdown(ctx)` + `wg.Wait()` pattern; Go itself
//! cannot abort a goroutine, gorun's `JoinHandle::abort` can).
//!
//! By default the program sends itself `SIGINT` after one second, so a plain run
//! ends by itself:
//!
//! ```text
//! cargo run --release --example graceful_shutdown                      # SIGINT to itself after 1 s
//! cargo run --release --example graceful_shutdown -- --self-signal 300 # ... after 300 ms
//! cargo run --release --example graceful_shutdown -- --wait            # wait for Ctrl+C / kill -TERM
//! cargo test --release --example graceful_shutdown
//! ```

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::io::{AsyncReadExt, AsyncWriteExt};
use gorun::context::{self, Context};
use gorun::net::{TcpListener, TcpStream};
use gorun::signal::{self, SignalKind};
use gorun::sync::WaitGroup;
use gorun::time::{sleep, timeout, Ticker};
use gorun::{select, AbortHandle};

/// What the goroutines did, counted as they go.
#[derive(Default)]
struct Stats {
    connections: AtomicU64,
    requests: AtomicU64,
    ticks: AtomicU64,
}

/// How the shutdown went.
#[derive(Debug)]
struct Report {
    /// What ended the run (the signal's name, or "test").
    reason: String,
    requests: u64,
    connections: u64,
    ticks: u64,
    /// Every goroutine returned before the deadline.
    clean: bool,
    /// How many top-level goroutines were aborted at the deadline.
    aborted: usize,
    /// From the cancel to the last goroutine gone (or the deadline).
    shutdown_took: Duration,
}

/// Go's `signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)`, minus the
/// context: listens for `SIGINT` and `SIGTERM` from *now* (the handlers are
/// installed before this returns, so a signal sent right after is not lost) and
/// returns a future that resolves with the name of the first to arrive.
fn shutdown_signal() -> std::io::Result<impl std::future::Future<Output = String>> {
    let interrupted = signal::ctrl_c();
    let mut terminated = signal::unix::signal(SignalKind::terminate())?;
    Ok(async move {
        select! {
            r = interrupted => { r.expect("the SIGINT handler"); "SIGINT".to_string() }
            _ = terminated.recv() => "SIGTERM".to_string(),
        }
    })
}

/// The accept loop: one goroutine (in `wg`) per connection, until `ctx` is done.
async fn serve(ctx: Context, wg: WaitGroup, listener: TcpListener, stats: Arc<Stats>) {
    loop {
        let conn = select! {
            r = listener.accept() => match r {
                Ok((conn, _)) => conn,
                Err(_) => continue,
            },
            _ = ctx.done() => return, // stop accepting; the listener closes here
        };
        stats.connections.fetch_add(1, Relaxed);
        let (ctx, stats) = (ctx.clone(), stats.clone());
        wg.go(handle(ctx, conn, stats));
    }
}

/// Echoes each read back until the client hangs up or `ctx` is done. `read` is
/// cancel-safe, so losing the select to `ctx.done()` loses no bytes.
async fn handle(ctx: Context, mut conn: TcpStream, stats: Arc<Stats>) {
    let mut buf = [0u8; 64];
    loop {
        let n = select! {
            r = conn.read(&mut buf) => match r {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            },
            _ = ctx.done() => return,
        };
        if conn.write_all(&buf[..n]).await.is_err() {
            return;
        }
        stats.requests.fetch_add(1, Relaxed);
    }
}

/// A client: a ping, its echo, a short pause; until `ctx` is done.
async fn client(ctx: Context, addr: std::net::SocketAddr) {
    let Ok(mut conn) = TcpStream::connect(addr).await else {
        return;
    };
    let mut buf = [0u8; 4];
    while !ctx.is_done() {
        if conn.write_all(b"ping").await.is_err() || conn.read_exact(&mut buf).await.is_err() {
            return; // the server closed the connection: it is shutting down
        }
        assert_eq!(&buf, b"ping");
        select! {
            _ = sleep(Duration::from_millis(5)) => {}
            _ = ctx.done() => return,
        }
    }
}

/// A background job on a `Ticker`, stopped by `ctx`.
async fn worker(ctx: Context, stats: Arc<Stats>) {
    let ticker = Ticker::new(Duration::from_millis(10));
    loop {
        select! {
            recv(ticker.c()) -> _ => { stats.ticks.fetch_add(1, Relaxed); }
            _ = ctx.done() => return, // dropping the ticker stops it
        }
    }
}

/// A goroutine that ignores its context: what the deadline is for.
async fn stubborn() {
    sleep(Duration::from_secs(3600)).await;
}

/// Starts the server, `clients` clients and the worker (plus a `stubborn`
/// goroutine if asked), waits for `stop`, then cancels and waits for every
/// goroutine up to `deadline`, aborting what is left after it.
async fn run(
    stop: impl std::future::Future<Output = String>,
    clients: usize,
    with_stubborn: bool,
    deadline: Duration,
) -> std::io::Result<Report> {
    let (ctx, cancel) = context::with_cancel(&Context::background());
    let wg = WaitGroup::new();
    let stats = Arc::new(Stats::default());
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;

    let mut top: Vec<AbortHandle> = Vec::new();
    top.push(
        wg.go(serve(ctx.clone(), wg.clone(), listener, stats.clone()))
            .abort_handle(),
    );
    for _ in 0..clients {
        top.push(wg.go(client(ctx.clone(), addr)).abort_handle());
    }
    top.push(wg.go(worker(ctx.clone(), stats.clone())).abort_handle());
    if with_stubborn {
        top.push(wg.go(stubborn()).abort_handle());
    }

    let reason = stop.await;
    let started = Instant::now();
    cancel.cancel(); // every goroutine's ctx.done() fires
    let clean = timeout(deadline, wg.wait()).await.is_ok();
    let mut aborted = 0;
    if !clean {
        for h in &top {
            if !h.is_finished() {
                h.abort();
                aborted += 1;
            }
        }
        wg.wait().await; // an aborted task drops its WaitGroup guard too
    }
    Ok(Report {
        reason,
        requests: stats.requests.load(Relaxed),
        connections: stats.connections.load(Relaxed),
        ticks: stats.ticks.load(Relaxed),
        clean,
        aborted,
        shutdown_took: started.elapsed(),
    })
}

/// Sends `SIGINT` to this process after `after`, as Ctrl+C in a terminal would.
fn self_signal(after: Duration) -> gorun::JoinHandle<()> {
    gorun::go(async move {
        sleep(after).await;
        // SAFETY: kill(2) takes no pointers; our own pid, a signal we handle.
        let r = unsafe { libc::kill(libc::getpid(), libc::SIGINT) };
        assert_eq!(r, 0, "kill: {}", std::io::Error::last_os_error());
    })
}

/// Waits (up to a second) for the live task count to fall to `n`, and returns it.
async fn tasks_settle_to(n: usize) -> usize {
    for _ in 0..1000 {
        if gorun::num_tasks() <= n {
            break;
        }
        sleep(Duration::from_millis(1)).await;
    }
    gorun::num_tasks()
}

#[gorun::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let wait_for_real = args.iter().any(|a| a == "--wait");
    let delay_ms = match args.iter().position(|a| a == "--self-signal") {
        Some(i) => args.get(i + 1).map_or(Ok(1000), |v| v.parse())?,
        None => 1000,
    };

    let before = gorun::num_tasks();
    // Listen before anything can send the signal.
    let stop = shutdown_signal()?;
    let sender = if wait_for_real {
        println!(
            "serving; press Ctrl+C or run `kill -TERM {}`",
            std::process::id()
        );
        None
    } else {
        println!("serving; sending myself SIGINT in {delay_ms} ms (--wait to wait for a real one)");
        Some(self_signal(Duration::from_millis(delay_ms)))
    };

    let report = run(stop, 4, false, Duration::from_secs(2)).await?;
    println!(
        "{}: shut down in {:?}, cleanly: {}; {} requests on {} connections, {} worker ticks",
        report.reason,
        report.shutdown_took,
        report.clean,
        report.requests,
        report.connections,
        report.ticks
    );
    if let Some(sender) = sender {
        sender.await?;
        assert_eq!(report.reason, "SIGINT");
    }
    assert!(report.clean, "a goroutine missed the shutdown deadline");
    assert_eq!(report.aborted, 0);
    assert!(report.shutdown_took < Duration::from_secs(2));
    if delay_ms >= 200 {
        assert!(report.requests > 0 && report.ticks > 0, "{report:?}");
    }
    assert_eq!(
        tasks_settle_to(before).await,
        before,
        "a goroutine outlived the shutdown"
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    // The leak check of #[gorun::test] also fails these tests if a goroutine survives.
    #[gorun::test(procs = 4)]
    async fn a_self_sent_sigint_stops_every_goroutine() {
        let before = gorun::num_tasks();
        let stop = shutdown_signal().unwrap();
        let sender = self_signal(Duration::from_millis(200));
        let report = run(stop, 3, false, Duration::from_secs(5)).await.unwrap();
        sender.await.unwrap();
        assert_eq!(report.reason, "SIGINT");
        assert!(report.clean && report.aborted == 0, "{report:?}");
        assert!(
            report.requests > 0 && (1..=3).contains(&report.connections),
            "{report:?}"
        );
        assert!(report.ticks > 0, "{report:?}");
        assert_eq!(tasks_settle_to(before).await, before);
    }

    #[gorun::test(procs = 4)]
    async fn a_goroutine_ignoring_the_context_is_aborted_at_the_deadline() {
        let before = gorun::num_tasks();
        let stop = async {
            sleep(Duration::from_millis(50)).await;
            "test".to_string()
        };
        let report = run(stop, 0, true, Duration::from_millis(300))
            .await
            .unwrap();
        assert!(!report.clean, "{report:?}");
        assert_eq!(report.aborted, 1, "only the stubborn goroutine is left");
        assert!(
            report.shutdown_took >= Duration::from_millis(300),
            "{report:?}"
        );
        assert_eq!(tasks_settle_to(before).await, before);
    }

    #[gorun::test(procs = 2)]
    async fn shutdown_before_any_traffic_is_clean() {
        let report = run(
            async { "test".to_string() },
            2,
            false,
            Duration::from_secs(5),
        )
        .await
        .unwrap();
        assert!(report.clean && report.aborted == 0, "{report:?}");
    }
}
