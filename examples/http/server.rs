//! The server: Go's `http.Server` on gorun, a goroutine per connection.
//!
//! Routes: `GET /` says hello; `GET /json` fans out to two goroutines (Go's
//! `handleUsers`: users and orders computed concurrently, then joined) and answers
//! JSON; `GET /slow?ms=N` answers after N ms (at most 10 s), for timeouts;
//! `POST /echo` answers the request body. Anything else is a 404.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Method, Request, Response, StatusCode};

use gorun::net::TcpListener;

/// The body of `GET /`.
pub const HELLO: &str = "Hello, World!\n";

/// The users part of `/json` (Go's `fetchUsers`).
async fn fetch_users() -> Vec<&'static str> {
    gorun::yield_now().await; // a stand-in for a call elsewhere
    vec!["ada", "grace", "ken"]
}

/// The orders part of `/json` (Go's `fetchOrders`): ids and totals.
async fn fetch_orders() -> Vec<(u32, u64)> {
    gorun::yield_now().await;
    (1..=3).map(|id| (id, u64::from(id) * 250)).collect()
}

/// `/json`: two goroutines, joined, encoded (by hand: the shape is fixed).
async fn users_and_orders() -> String {
    let users = gorun::go(fetch_users());
    let orders = gorun::go(fetch_orders());
    let (users, orders) = (users.await.unwrap(), orders.await.unwrap());
    let users: Vec<String> = users.iter().map(|u| format!("\"{u}\"")).collect();
    let orders: Vec<String> = orders
        .iter()
        .map(|(id, total)| format!("{{\"id\":{id},\"total\":{total}}}"))
        .collect();
    format!(
        "{{\"users\":[{}],\"orders\":[{}]}}",
        users.join(","),
        orders.join(",")
    )
}

fn response(
    status: StatusCode,
    content_type: &str,
    body: impl Into<Bytes>,
) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header("content-type", content_type)
        .body(Full::new(body.into()))
        .expect("a valid response")
}

/// The `ms` of `/slow?ms=N`, capped at 10 s.
fn slow_ms(query: Option<&str>) -> u64 {
    let ms = query
        .and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("ms=")))
        .and_then(|v| v.parse().ok())
        .unwrap_or(100);
    ms.min(10_000)
}

/// The handler (Go's `ServeMux` with its `HandleFunc`s).
pub async fn handle(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let text = "text/plain; charset=utf-8";
    Ok(match (req.method(), req.uri().path()) {
        (&Method::GET, "/") => response(StatusCode::OK, text, HELLO),
        (&Method::GET, "/json") => {
            response(StatusCode::OK, "application/json", users_and_orders().await)
        }
        (&Method::GET, "/slow") => {
            let ms = slow_ms(req.uri().query());
            gorun::time::sleep(Duration::from_millis(ms)).await;
            response(StatusCode::OK, text, format!("slept {ms} ms\n"))
        }
        (&Method::POST, "/echo") => match req.into_body().collect().await {
            Ok(body) => response(StatusCode::OK, "application/octet-stream", body.to_bytes()),
            Err(e) => response(StatusCode::BAD_REQUEST, text, e.to_string()),
        },
        _ => response(StatusCode::NOT_FOUND, text, "not found\n"),
    })
}

/// A running server: its address, and what it has served.
pub struct Server {
    /// Where it listens.
    pub addr: SocketAddr,
    requests: Arc<AtomicU64>,
    accept: gorun::JoinHandle<()>,
}

impl Server {
    /// Binds `addr` and serves in the background: the accept loop is a goroutine,
    /// and so is every connection (HTTP/1.1 with keep-alive).
    pub async fn start(addr: &str) -> std::io::Result<Server> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let requests = Arc::new(AtomicU64::new(0));
        let accept = gorun::go(serve(listener, requests.clone()));
        Ok(Server {
            addr,
            requests,
            accept,
        })
    }

    /// The number of requests received so far.
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// Stops accepting. Open connections are served until their clients close
    /// them (or hyper's header-read timeout closes an idle one).
    pub fn stop(self) {
        self.accept.abort();
    }
}

/// The accept loop: `for { conn, _ := l.Accept(); go serve(conn) }`.
pub async fn serve(listener: TcpListener, requests: Arc<AtomicU64>) {
    loop {
        let conn = match listener.accept().await {
            Ok((conn, _)) => conn,
            // Out of descriptors, say: back off a little, as Go's server does.
            Err(_) => {
                gorun::time::sleep(Duration::from_millis(5)).await;
                continue;
            }
        };
        let requests = requests.clone();
        gorun::go(async move {
            let _ = conn.set_nodelay(true);
            let service = hyper::service::service_fn(move |req| {
                requests.fetch_add(1, Ordering::Relaxed);
                handle(req)
            });
            // A client that goes away mid-request is not the server's error.
            let _ = hyper::server::conn::http1::Builder::new()
                .timer(gorun::hyper::GoTimer)
                .header_read_timeout(Duration::from_secs(30))
                .serve_connection(conn, service)
                .await;
        });
    }
}
