//! An HTTP client on gorun: hyper 1.x connections whose drivers are goroutines,
//! many requests in flight at once from many goroutines (Go's `http.Client` used
//! from a pool of goroutines), every response checked, and a request that outlives
//! its `time::timeout` cancelled cleanly.
//!
//! - `cargo run --release --example http_client --features hyper` starts the
//!   server of `examples/http/` in-process and runs against it.
//! - `... -- --addr 127.0.0.1:8080` runs against a server started with
//!   `cargo run --release --example http_server --features hyper -- --serve 127.0.0.1:8080`.
//! - `cargo test --release --example http_client --features hyper` runs the tests.

#[path = "http/mod.rs"]
mod http;

use std::net::SocketAddr;
use std::time::Duration;

use http::{client, server, Error};
use hyper::body::Bytes;
use hyper::{Method, StatusCode};

/// What a run did.
#[derive(Debug, PartialEq, Eq)]
struct Report {
    /// Responses received and checked.
    ok: usize,
    /// Requests cut off by their timeout.
    timed_out: usize,
}

/// One worker: a keep-alive connection, `n` requests cycling through the routes,
/// each response checked against what it must be.
async fn worker(addr: SocketAddr, id: usize, n: usize) -> Result<usize, Error> {
    let mut conn = client::Conn::connect(addr).await?;
    for i in 0..n {
        match i % 3 {
            0 => {
                let (status, body) = conn.get("/").await?;
                assert_eq!(
                    (status, &body[..]),
                    (StatusCode::OK, server::HELLO.as_bytes())
                );
            }
            1 => {
                let (status, body) = conn.get("/json").await?;
                assert_eq!(status, StatusCode::OK);
                assert!(body.starts_with(br#"{"users":["ada","#), "{body:?}");
            }
            _ => {
                let sent = Bytes::from(format!("worker {id} request {i}"));
                let (status, body) = conn.request(Method::POST, "/echo", sent.clone()).await?;
                assert_eq!((status, body), (StatusCode::OK, sent));
            }
        }
    }
    Ok(n)
}

/// `workers` goroutines × `per_worker` requests, then one request to `/slow` under
/// a timeout shorter than the route takes.
async fn run(addr: SocketAddr, workers: usize, per_worker: usize) -> Result<Report, Error> {
    let handles: Vec<_> = (0..workers)
        .map(|id| gorun::go(worker(addr, id, per_worker)))
        .collect();
    let mut ok = 0;
    for h in handles {
        ok += h.await.expect("worker panicked")?;
    }
    // Go's `ctx, cancel := context.WithTimeout(...)` around one call: dropping the
    // request future closes its connection; nothing leaks.
    let slow = gorun::time::timeout(
        Duration::from_millis(50),
        client::get(addr, "/slow?ms=2000"),
    );
    let timed_out = usize::from(slow.await.is_err());
    Ok(Report { ok, timed_out })
}

#[gorun::main(procs = 2)]
async fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let external = match args.iter().position(|a| a == "--addr") {
        Some(i) => Some(args.get(i + 1).ok_or("--addr needs an address")?.parse()?),
        None => None,
    };
    let srv = match external {
        Some(_) => None,
        None => Some(server::Server::start("127.0.0.1:0").await?),
    };
    let addr = external.unwrap_or_else(|| srv.as_ref().unwrap().addr);
    let (workers, per_worker) = (16, 300);
    let start = std::time::Instant::now();
    let report = run(addr, workers, per_worker).await?;
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{} requests from {workers} goroutines on keep-alive connections to {addr}: all checked, {:.0} req/s ({secs:.2} s, including a 50 ms timeout)",
        report.ok,
        report.ok as f64 / secs
    );
    println!(
        "GET /slow?ms=2000 under timeout(50 ms): timed out = {}",
        report.timed_out == 1
    );
    assert_eq!(
        report,
        Report {
            ok: workers * per_worker,
            timed_out: 1
        }
    );
    if let Some(srv) = srv {
        assert_eq!(srv.requests(), (workers * per_worker + 1) as u64);
        srv.stop();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[gorun::test(procs = 4)]
    async fn concurrent_workers_get_every_response_right() {
        let srv = server::Server::start("127.0.0.1:0").await.unwrap();
        let report = run(srv.addr, 8, 60).await.unwrap();
        assert_eq!(
            report,
            Report {
                ok: 480,
                timed_out: 1
            }
        );
        srv.stop();
    }

    #[gorun::test(procs = 2)]
    async fn a_closed_port_is_an_error_not_a_hang() {
        // Bind, learn the port, close: nothing listens there now.
        let addr = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let r = gorun::time::timeout(Duration::from_secs(5), client::get(addr, "/")).await;
        assert!(r.expect("no answer within 5 s").is_err());
    }
}
