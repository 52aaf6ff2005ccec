//! Go's HTTP server on gorun, with hyper 1.x and no tokio runtime: a goroutine per
//! connection (`http.Server` does the same), `GET /` hello, `GET /json` fanning out
//! to two goroutines and answering JSON, `GET /slow?ms=N`, `POST /echo`. The
//! server and client code live in `examples/http/`.
//!
//! - `cargo run --release --example http_server --features hyper` starts the
//!   server on a free loopback port, checks each route with a client, and exits.
//! - `... -- --serve 127.0.0.1:8080` serves until killed (for `wrk`; see
//!   `benches/http_wrk.sh`). `--tokio` serves the same hello route on tokio instead
//!   (hyper-util's `TokioIo` and `TokioTimer`: how tokio users run hyper), to compare.
//! - `... --features hyper,debug-http -- --serve 127.0.0.1:8080 --debug
//!   127.0.0.1:6060` also serves `gorun::debug` on a side port, as Go services
//!   serve `net/http/pprof`: `curl '127.0.0.1:6060/debug/gorun/trace?seconds=1'
//!   -o trace.json` under `wrk`, then open it in Perfetto or draw it with
//!   `cargo run --release --example trace_view -- trace.json`.
//! - `cargo test --release --example http_server --features hyper` runs the tests.

#[path = "http/mod.rs"]
mod http;

use std::time::Duration;

use http::{client, server, Error};
use hyper::StatusCode;

/// Starts the server, checks every route once, stops it.
async fn self_test() -> Result<(), Error> {
    let srv = server::Server::start("127.0.0.1:0").await?;
    println!("serving on http://{}", srv.addr);
    let mut conn = client::Conn::connect(srv.addr).await?;

    let (status, body) = conn.get("/").await?;
    println!("GET /          -> {status} {body:?}");
    assert_eq!(
        (status, &body[..]),
        (StatusCode::OK, server::HELLO.as_bytes())
    );

    let (status, body) = conn.get("/json").await?;
    println!(
        "GET /json      -> {status} {}",
        String::from_utf8_lossy(&body)
    );
    assert_eq!(status, StatusCode::OK);
    assert!(body.starts_with(br#"{"users":["ada","grace","ken"],"orders":[{"id":1"#));

    let (status, body) = conn.get("/slow?ms=20").await?;
    println!("GET /slow?ms=20 -> {status} {body:?}");
    assert_eq!(&body[..], b"slept 20 ms\n");

    let (status, _) = conn.get("/nope").await?;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(srv.requests(), 4);
    srv.stop();
    Ok(())
}

/// `--serve ADDR` on gorun: until killed; with `--debug DEBUG_ADDR`, the debug
/// endpoints on that address too.
fn serve_gorun(addr: &str, debug: Option<&String>) -> Result<(), Error> {
    let rt = gorun::Runtime::builder().build()?;
    let addr = addr.to_string();
    let debug = debug.cloned();
    rt.run(async move {
        match debug {
            #[cfg(feature = "debug-http")]
            Some(debug) => {
                let listener = gorun::net::TcpListener::bind(debug.as_str()).await?;
                println!(
                    "gorun: debug endpoints on http://{}/debug/gorun/",
                    listener.local_addr()?
                );
                let serve = gorun::debug::serve(listener);
                gorun::go(std::future::IntoFuture::into_future(serve));
            }
            #[cfg(not(feature = "debug-http"))]
            Some(_) => return Err("--debug needs the debug-http feature".into()),
            None => {}
        }
        let srv = server::Server::start(&addr).await?;
        println!(
            "gorun: serving on http://{} ({} Ps)",
            srv.addr,
            gorun::procs()
        );
        std::future::pending::<()>().await;
        Ok(())
    })
}

/// `--serve ADDR --tokio`: `GET /` (the `wrk` route) on tokio's multi-thread
/// runtime, the way tokio users run hyper. Other paths get a 404.
fn serve_tokio(addr: &str) -> Result<(), Error> {
    use hyper::body::{Bytes, Incoming};
    use hyper_util::rt::{TokioIo, TokioTimer};

    async fn hello(
        req: hyper::Request<Incoming>,
    ) -> Result<hyper::Response<http_body_util::Full<Bytes>>, std::convert::Infallible> {
        let (status, body) = match req.uri().path() {
            "/" => (StatusCode::OK, server::HELLO),
            _ => (StatusCode::NOT_FOUND, "not found\n"),
        };
        Ok(hyper::Response::builder()
            .status(status)
            .header("content-type", "text/plain; charset=utf-8")
            .body(http_body_util::Full::new(Bytes::from(body)))
            .expect("a valid response"))
    }

    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        println!("tokio: serving on http://{}", listener.local_addr()?);
        loop {
            let Ok((conn, _)) = listener.accept().await else {
                tokio::time::sleep(Duration::from_millis(5)).await;
                continue;
            };
            tokio::spawn(async move {
                let _ = conn.set_nodelay(true);
                let _ = hyper::server::conn::http1::Builder::new()
                    .timer(TokioTimer::new())
                    .header_read_timeout(Duration::from_secs(30))
                    .serve_connection(TokioIo::new(conn), hyper::service::service_fn(hello))
                    .await;
            });
        }
    })
}

fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let tokio = args.iter().any(|a| a == "--tokio");
    match args.iter().position(|a| a == "--serve") {
        Some(i) => {
            let addr = args
                .get(i + 1)
                .ok_or("--serve needs an address, e.g. 127.0.0.1:8080")?;
            let debug = match args.iter().position(|a| a == "--debug") {
                Some(j) => Some(
                    args.get(j + 1)
                        .ok_or("--debug needs an address, e.g. 127.0.0.1:6060")?,
                ),
                None => None,
            };
            if tokio {
                serve_tokio(addr)
            } else {
                serve_gorun(addr, debug)
            }
        }
        None => gorun::Runtime::builder().procs(2).build()?.run(self_test()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[gorun::test(procs = 2)]
    async fn every_route_answers() {
        self_test().await.unwrap();
    }

    #[gorun::test(procs = 2)]
    async fn json_joins_both_goroutines() {
        let srv = server::Server::start("127.0.0.1:0").await.unwrap();
        let (status, body) = client::get(srv.addr, "/json").await.unwrap();
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            &body[..],
            br#"{"users":["ada","grace","ken"],"orders":[{"id":1,"total":250},{"id":2,"total":500},{"id":3,"total":750}]}"#
        );
        srv.stop();
    }

    #[gorun::test(procs = 2)]
    async fn echo_returns_the_body_on_a_kept_alive_connection() {
        let srv = server::Server::start("127.0.0.1:0").await.unwrap();
        let mut conn = client::Conn::connect(srv.addr).await.unwrap();
        for i in 0..50 {
            let body = hyper::body::Bytes::from(vec![i as u8; i * 100]);
            let (status, back) = conn
                .request(hyper::Method::POST, "/echo", body.clone())
                .await
                .unwrap();
            assert_eq!((status, back), (StatusCode::OK, body));
        }
        assert_eq!(srv.requests(), 50);
        drop(conn);
        srv.stop();
    }
}
