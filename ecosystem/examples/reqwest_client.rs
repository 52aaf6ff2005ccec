//! reqwest on gorun through the `tokio-compat` layer: a crate that calls tokio from
//! inside (reqwest spawns its connection tasks with `tokio::spawn` and times out
//! with `tokio::time`) runs unchanged in gorun tasks. The fetches go through an
//! `errgroup` with a limit (Go's `g.SetLimit`), every body is checked, and a request
//! slower than reqwest's own timeout fails as a timeout, not a hang.
//!
//! - `cargo run --release -p gorun-ecosystem --example reqwest_client` starts a small
//!   server (`gorun::http::serve`, no tokio) in-process and runs against it.
//! - `cargo test --release -p gorun-ecosystem --example reqwest_client` runs the tests.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::time::Duration;

use gorun::errgroup::Group;
use gorun::http::{Incoming, Request, Response};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;

/// The server the client talks to: `GET /` says hello, `POST /echo` answers the
/// body, `GET /slow?ms=N` answers after N ms.
mod server {
    use super::*;

    /// The body of `GET /`.
    pub const HELLO: &str = "Hello, World!\n";

    async fn handle(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
        let path = req.uri().path().to_owned();
        let query = req.uri().query().unwrap_or("").to_owned();
        let body = match (req.method().as_str(), path.as_str()) {
            ("GET", "/") => Bytes::from(HELLO),
            ("POST", "/echo") => match req.into_body().collect().await {
                Ok(b) => b.to_bytes(),
                Err(_) => Bytes::new(),
            },
            ("GET", "/slow") => {
                let ms: u64 = query
                    .strip_prefix("ms=")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0);
                gorun::time::sleep(Duration::from_millis(ms.min(10_000))).await;
                Bytes::from("slow")
            }
            _ => {
                let mut r = Response::new(Full::new(Bytes::from("not found")));
                *r.status_mut() = gorun::http::StatusCode::NOT_FOUND;
                return Ok(r);
            }
        };
        Ok(Response::new(Full::new(body)))
    }

    /// A running server; [`stop`](Server::stop) shuts it down gracefully.
    pub struct Server {
        pub addr: SocketAddr,
        stop: gorun::sync::oneshot::Sender<()>,
        done: gorun::JoinHandle<std::io::Result<()>>,
    }

    impl Server {
        pub async fn start() -> std::io::Result<Server> {
            let listener = gorun::net::TcpListener::bind("127.0.0.1:0").await?;
            let addr = listener.local_addr()?;
            let (stop, stopped) = gorun::sync::oneshot::channel::<()>();
            let done = gorun::go(std::future::IntoFuture::into_future(
                gorun::http::serve(listener, gorun::http::service_fn(handle))
                    .with_graceful_shutdown(async move {
                        let _ = stopped.await;
                    })
                    .shutdown_timeout(Duration::from_secs(1)),
            ));
            Ok(Server { addr, stop, done })
        }

        pub async fn stop(self) {
            let _ = self.stop.send(());
            self.done.await.unwrap().unwrap();
        }
    }
}

/// What a run did.
#[derive(Debug, PartialEq, Eq)]
struct Report {
    /// Responses received and checked.
    ok: usize,
    /// The most fetches that were in flight at once.
    peak: usize,
}

/// `n` fetches, at most `limit` at once, each body checked.
async fn fetch_all(addr: SocketAddr, n: usize, limit: usize) -> Result<Report, String> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .map_err(|e| e.to_string())?;
    let group = Group::<String>::new();
    group.set_limit(limit);
    let (ok, in_flight, peak) = (
        Arc::new(AtomicUsize::new(0)),
        Arc::new(AtomicUsize::new(0)),
        Arc::new(AtomicUsize::new(0)),
    );
    for i in 0..n {
        let (client, ok, in_flight, peak) =
            (client.clone(), ok.clone(), in_flight.clone(), peak.clone());
        group
            .go(async move {
                let now = in_flight.fetch_add(1, SeqCst) + 1;
                peak.fetch_max(now, SeqCst);
                let r = fetch_one(&client, addr, i).await;
                in_flight.fetch_sub(1, SeqCst);
                r?;
                ok.fetch_add(1, SeqCst);
                Ok(())
            })
            .await;
    }
    group.wait().await?;
    Ok(Report {
        ok: ok.load(SeqCst),
        peak: peak.load(SeqCst),
    })
}

/// One request, cycling through the server's routes; the answer checked.
async fn fetch_one(client: &reqwest::Client, addr: SocketAddr, i: usize) -> Result<(), String> {
    let base = format!("http://{addr}");
    let err = |e: reqwest::Error| format!("request {i}: {e}");
    if i % 2 == 0 {
        let body = client
            .get(format!("{base}/"))
            .send()
            .await
            .map_err(err)?
            .text()
            .await
            .map_err(err)?;
        if body != server::HELLO {
            return Err(format!("request {i}: GET / gave {body:?}"));
        }
    } else {
        let sent = format!("request {i}");
        let resp = client
            .post(format!("{base}/echo"))
            .body(sent.clone())
            .send()
            .await
            .map_err(err)?;
        let status = resp.status();
        let body = resp.text().await.map_err(err)?;
        if (status.as_u16(), body.as_str()) != (200, sent.as_str()) {
            return Err(format!("request {i}: POST /echo gave {status} {body:?}"));
        }
    }
    Ok(())
}

/// A request slower than its timeout: reqwest reports a timeout (tokio's timer,
/// driven by the compat runtime).
async fn slow_request_times_out(addr: SocketAddr) -> bool {
    let client = reqwest::Client::new();
    let r = client
        .get(format!("http://{addr}/slow?ms=2000"))
        .timeout(Duration::from_millis(50))
        .send()
        .await;
    matches!(r, Err(e) if e.is_timeout())
}

#[gorun::main(procs = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let srv = server::Server::start().await?;
    let (n, limit) = (400, 8);
    let start = std::time::Instant::now();
    let report = fetch_all(srv.addr, n, limit).await?;
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{} reqwest requests through an errgroup limited to {limit} (peak {} in flight): \
         all checked, {:.0} req/s",
        report.ok,
        report.peak,
        report.ok as f64 / secs
    );
    let timed_out = slow_request_times_out(srv.addr).await;
    println!("GET /slow?ms=2000 with a 50 ms reqwest timeout: timed out = {timed_out}");
    assert_eq!(report.ok, n);
    assert!(report.peak <= limit);
    assert!(timed_out);
    srv.stop().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[gorun::test(procs = 2)]
    async fn every_fetch_is_checked_and_the_limit_holds() {
        let srv = server::Server::start().await.unwrap();
        let report = fetch_all(srv.addr, 120, 4).await.unwrap();
        assert_eq!(report.ok, 120);
        assert!(report.peak <= 4 && report.peak >= 1, "{report:?}");
        srv.stop().await;
    }

    #[gorun::test(procs = 2)]
    async fn reqwest_timeouts_fire_under_gorun() {
        let srv = server::Server::start().await.unwrap();
        assert!(slow_request_times_out(srv.addr).await);
        srv.stop().await;
    }

    #[gorun::test(procs = 2)]
    async fn a_closed_port_is_an_error_not_a_hang() {
        let addr = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let e = fetch_all(addr, 1, 1).await.unwrap_err();
        assert!(e.contains("request 0"), "{e}");
    }
}
