//! hyper 1.x on gorun (feature `hyper`), with no tokio runtime: HTTP/1.1 servers
//! and clients on loopback exchanging 10,000 checked requests over keep-alive
//! connections, HTTP/2 multiplexing through `GoExecutor`, hyper over a Unix
//! socket, `GoTimer` driving hyper's header-read timeout, and errors (a closed
//! port, a timed-out request) that come back instead of hanging. Every wait is
//! bounded by a timeout.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures::io::{AsyncReadExt, AsyncWriteExt};
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response, StatusCode};

use gorun::hyper::{GoExecutor, GoTimer};
use gorun::net::{TcpListener, TcpStream, UnixListener, UnixStream};
use gorun::time::timeout;

const LIMIT: Duration = Duration::from_secs(60);

fn rt() -> gorun::Runtime {
    gorun::Runtime::builder().procs(4).build().unwrap()
}

type Body = Full<Bytes>;

/// Echoes the body with the request's path in a header; `/slow` sleeps 5 s first.
async fn echo(req: Request<Incoming>) -> Result<Response<Body>, Infallible> {
    let path = req.uri().path().to_string();
    if path == "/slow" {
        gorun::time::sleep(Duration::from_secs(5)).await;
    }
    let body = req.into_body().collect().await.map(|b| b.to_bytes());
    Ok(Response::builder()
        .status(StatusCode::OK)
        .header("x-path", path)
        .body(Full::new(body.unwrap_or_default()))
        .unwrap())
}

/// An HTTP/1.1 server: a goroutine per connection. Counts connections accepted.
async fn http1_server(header_timeout: Duration) -> (SocketAddr, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let conns = Arc::new(AtomicUsize::new(0));
    let count = conns.clone();
    gorun::go(async move {
        while let Ok((conn, _)) = listener.accept().await {
            count.fetch_add(1, Ordering::Relaxed);
            gorun::go(async move {
                let _ = hyper::server::conn::http1::Builder::new()
                    .timer(GoTimer)
                    .header_read_timeout(header_timeout)
                    .serve_connection(conn, hyper::service::service_fn(echo))
                    .await;
            });
        }
    });
    (addr, conns)
}

fn post(path: &str, body: Bytes) -> Request<Body> {
    Request::post(path)
        .header("host", "localhost")
        .body(Full::new(body))
        .unwrap()
}

/// An HTTP/1.1 client connection, its driver a goroutine.
async fn connect1(
    addr: SocketAddr,
) -> hyper::Result<hyper::client::conn::http1::SendRequest<Body>> {
    let stream = TcpStream::connect(addr).await.expect("connect");
    let (sender, conn) = hyper::client::conn::http1::handshake(stream).await?;
    gorun::go(conn);
    Ok(sender)
}

#[test]
fn ten_thousand_requests_over_keep_alive_connections() {
    const CLIENTS: usize = 8;
    const PER_CLIENT: usize = 1_250;
    rt().block_on(async {
        let (addr, conns) = http1_server(Duration::from_secs(30)).await;
        let clients: Vec<_> = (0..CLIENTS)
            .map(|c| {
                gorun::go(async move {
                    let mut sender = connect1(addr).await.unwrap();
                    for i in 0..PER_CLIENT {
                        // Bodies from 6 B to about 10 KB (larger ones take several reads).
                        let body = Bytes::from(format!("{c}:{i}:").repeat(1 + i % 4000 / 4));
                        sender.ready().await.unwrap();
                        let res = sender.send_request(post(&format!("/c{c}/r{i}"), body.clone()));
                        let res = res.await.unwrap();
                        assert_eq!(res.status(), StatusCode::OK);
                        assert_eq!(res.headers()["x-path"], format!("/c{c}/r{i}").as_str());
                        assert_eq!(res.into_body().collect().await.unwrap().to_bytes(), body);
                    }
                    PER_CLIENT
                })
            })
            .collect();
        let all = async {
            let mut n = 0;
            for h in clients {
                n += h.await.unwrap();
            }
            n
        };
        assert_eq!(timeout(LIMIT, all).await.expect("timed out"), 10_000);
        // Keep-alive: one connection per client, reused for every request.
        assert_eq!(conns.load(Ordering::Relaxed), CLIENTS);
    });
}

#[test]
fn a_request_to_a_closed_port_is_an_error() {
    rt().block_on(async {
        let addr = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let r = timeout(Duration::from_secs(5), TcpStream::connect(addr)).await;
        let err = r.expect("connect hung").expect_err("nothing listens there");
        assert_eq!(err.kind(), std::io::ErrorKind::ConnectionRefused);

        // And a server that closes the connection mid-request: an error, not a hang.
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        gorun::go(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut buf = [0; 16];
            let _ = s.read(&mut buf).await;
            // dropped: closed without answering
        });
        let mut sender = connect1(addr).await.unwrap();
        let r = timeout(
            Duration::from_secs(5),
            sender.send_request(post("/", Bytes::new())),
        )
        .await;
        assert!(r.expect("request hung").is_err());
    });
}

#[test]
fn a_slow_response_times_out_and_the_server_carries_on() {
    rt().block_on(async {
        let (addr, _) = http1_server(Duration::from_secs(30)).await;
        let mut slow = connect1(addr).await.unwrap();
        let r = timeout(
            Duration::from_millis(50),
            slow.send_request(post("/slow", Bytes::new())),
        );
        assert!(r.await.is_err(), "the 5 s route answered within 50 ms");
        drop(slow);
        let mut other = connect1(addr).await.unwrap();
        let res = timeout(LIMIT, other.send_request(post("/fast", Bytes::from("ok"))))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(res.into_body().collect().await.unwrap().to_bytes(), "ok");
    });
}

#[test]
fn go_timer_drives_the_header_read_timeout() {
    rt().block_on(async {
        let (addr, _) = http1_server(Duration::from_millis(100)).await;
        let mut raw = TcpStream::connect(addr).await.unwrap();
        raw.write_all(b"GET / HTTP/1.1\r\nhost: x\r\n")
            .await
            .unwrap(); // never finished
        let start = std::time::Instant::now();
        let mut rest = Vec::new();
        // The server answers 408 or just closes; either way the read ends.
        timeout(Duration::from_secs(10), raw.read_to_end(&mut rest))
            .await
            .expect("the header-read timeout never fired")
            .unwrap();
        let took = start.elapsed();
        assert!(took >= Duration::from_millis(90), "closed after {took:?}");
    });
}

#[test]
fn http2_multiplexes_on_go_executor() {
    rt().block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        gorun::go(async move {
            while let Ok((conn, _)) = listener.accept().await {
                gorun::go(async move {
                    let _ = hyper::server::conn::http2::Builder::new(GoExecutor)
                        .timer(GoTimer)
                        .serve_connection(conn, hyper::service::service_fn(echo))
                        .await;
                });
            }
        });
        let work = async {
            let stream = TcpStream::connect(addr).await.unwrap();
            let (sender, conn) = hyper::client::conn::http2::Builder::new(GoExecutor)
                .timer(GoTimer)
                .handshake(stream)
                .await
                .unwrap();
            gorun::go(conn);
            // 200 requests in flight at once on one connection.
            let hs: Vec<_> = (0..200)
                .map(|i| {
                    let mut sender = sender.clone();
                    gorun::go(async move {
                        let body = Bytes::from(format!("stream {i}"));
                        let req = Request::post(format!("http://localhost/s{i}"))
                            .body(Full::new(body.clone()))
                            .unwrap();
                        let res = sender.send_request(req).await.unwrap();
                        assert_eq!(res.version(), hyper::Version::HTTP_2);
                        assert_eq!(res.into_body().collect().await.unwrap().to_bytes(), body);
                    })
                })
                .collect();
            for h in hs {
                h.await.unwrap();
            }
        };
        timeout(LIMIT, work).await.expect("timed out");
    });
}

#[test]
fn http1_over_a_unix_socket() {
    let dir = std::env::temp_dir().join(format!("gorun-hyper-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("http.sock");
    let _ = std::fs::remove_file(&path);
    let p = path.clone();
    rt().block_on(async move {
        let listener = UnixListener::bind(&p).unwrap();
        gorun::go(async move {
            while let Ok((conn, _)) = listener.accept().await {
                gorun::go(async move {
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(conn, hyper::service::service_fn(echo))
                        .await;
                });
            }
        });
        let work = async {
            let stream = UnixStream::connect(&p).await.unwrap();
            let (mut sender, conn) = hyper::client::conn::http1::handshake(stream).await.unwrap();
            gorun::go(conn);
            for i in 0..100 {
                let body = Bytes::from(format!("unix {i}"));
                sender.ready().await.unwrap();
                let res = sender.send_request(post("/u", body.clone())).await.unwrap();
                assert_eq!(res.into_body().collect().await.unwrap().to_bytes(), body);
            }
        };
        timeout(LIMIT, work).await.expect("timed out");
    });
    let _ = std::fs::remove_dir_all(&dir);
}
