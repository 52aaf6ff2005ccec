//! `gorun::http::serve` (feature `http`), with no tokio runtime: HTTP/1.1 and
//! HTTP/2 (prior knowledge) served from one listener, 200 checked requests over 20
//! keep-alive connections and 200 streams over 4 HTTP/2 connections, graceful
//! shutdown (an in-flight request finishes, the listener is closed, idle
//! connections are closed, `serve` returns), the shutdown deadline aborting a
//! handler that never finishes, a panicking handler costing only its connection,
//! `TimeoutLayer`, and an accept loop that waits out `EMFILE` (in a child process
//! whose file limit is used up). Each test runs under `#[gorun::test]`, so a task
//! the server leaves behind fails it; every wait is bounded.

use std::convert::Infallible;
use std::future::{Future, IntoFuture};
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response, StatusCode};

use gorun::http::{serve, serve_with_make, service_fn, IncomingStream};
use gorun::hyper::GoExecutor;
use gorun::net::{TcpListener, TcpStream};
use gorun::sync::oneshot;
use gorun::time::{timeout, Instant};

/// The bound on any single wait in these tests.
const LIMIT: Duration = Duration::from_secs(20);

type Body = Full<Bytes>;
type Res = Result<Response<Body>, Infallible>;
type BoxFut = Pin<Box<dyn Future<Output = Res> + Send>>;

/// A request handler for `start`.
trait Handler: FnMut(Request<Incoming>) -> BoxFut + Clone + Send + 'static {}
impl<F: FnMut(Request<Incoming>) -> BoxFut + Clone + Send + 'static> Handler for F {}

fn text(s: impl Into<Bytes>) -> Res {
    Ok(Response::new(Full::new(s.into())))
}

fn get(path: &str) -> Request<Body> {
    Request::get(path)
        .header("host", "localhost")
        .body(Body::default())
        .unwrap()
}

/// A running server: its address, its shutdown trigger and its task.
struct Server {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: gorun::JoinHandle<io::Result<()>>,
}

impl Server {
    /// Signals graceful shutdown (once).
    fn shutdown(&mut self) {
        self.stop.take().expect("shut down twice").send(()).unwrap();
    }

    /// Waits (bounded) for `serve` to return, and checks it returned `Ok`.
    async fn join(self) {
        timeout(LIMIT, self.task)
            .await
            .expect("serve did not return")
            .expect("serve task panicked")
            .expect("serve failed");
    }
}

/// Serves `service_fn(handler)` with graceful shutdown on a oneshot, and an
/// optional deadline.
async fn start(handler: impl Handler, deadline: Option<Duration>) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let mut server = serve(listener, service_fn(handler)).with_graceful_shutdown(async move {
        let _ = stopped.await;
    });
    if let Some(d) = deadline {
        server = server.shutdown_timeout(d);
    }
    assert_eq!(server.local_addr().unwrap(), addr);
    let task = gorun::go(server.into_future());
    Server {
        addr,
        stop: Some(stop),
        task,
    }
}

type H1 = hyper::client::conn::http1::SendRequest<Body>;
type H2 = hyper::client::conn::http2::SendRequest<Body>;

/// An HTTP/1.1 client connection; its driver's handle ends when the connection does.
async fn connect_h1(addr: SocketAddr) -> (H1, gorun::JoinHandle<()>) {
    let stream = TcpStream::connect(addr).await.expect("connect");
    let (sender, conn) = hyper::client::conn::http1::handshake(stream).await.unwrap();
    (sender, gorun::go(async move { drop(conn.await) }))
}

/// An HTTP/2 client connection with prior knowledge (no upgrade).
async fn connect_h2(addr: SocketAddr) -> (H2, gorun::JoinHandle<()>) {
    let stream = TcpStream::connect(addr).await.expect("connect");
    let (sender, conn) = hyper::client::conn::http2::handshake(GoExecutor, stream)
        .await
        .unwrap();
    (sender, gorun::go(async move { drop(conn.await) }))
}

/// Status and body of a response.
async fn read(res: Response<Incoming>) -> (StatusCode, Bytes) {
    let status = res.status();
    (status, res.into_body().collect().await.unwrap().to_bytes())
}

/// Polls (bounded) until a connection attempt to `addr` is refused.
async fn until_refused(addr: SocketAddr) {
    let deadline = Instant::now() + LIMIT;
    loop {
        match TcpStream::connect(addr).await {
            Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => return,
            // Queued by the kernel just before the listener closed.
            Ok(conn) => drop(conn),
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset => {}
            Err(e) => panic!("{e}"),
        }
        assert!(Instant::now() < deadline, "the listener is still open");
        gorun::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Answers with the request's HTTP version and path.
fn version_and_path() -> impl Handler {
    |req: Request<Incoming>| -> BoxFut {
        Box::pin(async move { text(format!("{:?} {}", req.version(), req.uri().path())) })
    }
}

#[gorun::test(procs = 2)]
async fn http1_and_http2_on_one_listener() {
    let mut server = start(version_and_path(), None).await;

    let (mut h1, h1_driver) = connect_h1(server.addr).await;
    let res = timeout(LIMIT, h1.send_request(get("/one"))).await.unwrap();
    assert_eq!(
        read(res.unwrap()).await,
        (StatusCode::OK, Bytes::from("HTTP/1.1 /one"))
    );

    let (mut h2, h2_driver) = connect_h2(server.addr).await;
    let res = timeout(LIMIT, h2.send_request(get("/two"))).await.unwrap();
    assert_eq!(
        read(res.unwrap()).await,
        (StatusCode::OK, Bytes::from("HTTP/2.0 /two"))
    );

    // Both connections idle: shutdown closes them and `serve` returns.
    server.shutdown();
    server.join().await;
    timeout(LIMIT, h1_driver).await.unwrap().unwrap();
    timeout(LIMIT, h2_driver).await.unwrap().unwrap();
}

#[gorun::test(procs = 4)]
async fn keep_alive_connections_serve_every_request() {
    const CONNS: usize = 20;
    const PER_CONN: usize = 10;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let peers = Arc::new(Mutex::new(Vec::new()));
    let made = peers.clone();
    let (stop, stopped) = oneshot::channel::<()>();
    // A service per connection that knows its peer: `serve_with_make`.
    let server = serve_with_make(listener, move |conn: &IncomingStream<'_>| {
        let peer = conn.remote_addr();
        assert_eq!(conn.io().peer_addr().unwrap(), peer);
        made.lock().unwrap().push(peer);
        service_fn(move |req: Request<Incoming>| async move {
            text(format!("{peer} {}", req.uri().path()))
        })
    })
    .with_graceful_shutdown(async move {
        let _ = stopped.await;
    });
    let server = gorun::go(server.into_future());

    let clients: Vec<_> = (0..CONNS)
        .map(|c| {
            gorun::go(async move {
                let stream = TcpStream::connect(addr).await.unwrap();
                let me = stream.local_addr().unwrap();
                let (mut h1, conn) = hyper::client::conn::http1::handshake::<_, Body>(stream)
                    .await
                    .unwrap();
                let driver = gorun::go(conn);
                for r in 0..PER_CONN {
                    h1.ready().await.unwrap();
                    let path = format!("/c{c}/r{r}");
                    let res = h1.send_request(get(&path)).await.unwrap();
                    let (status, body) = read(res).await;
                    assert_eq!(status, StatusCode::OK);
                    assert_eq!(body, format!("{me} {path}"));
                }
                drop(h1);
                driver.await.unwrap().unwrap();
                PER_CONN
            })
        })
        .collect();
    let mut answered = 0;
    for c in clients {
        answered += timeout(LIMIT, c).await.unwrap().unwrap();
    }
    assert_eq!(answered, CONNS * PER_CONN);
    // Keep-alive: one service made per connection, not per request.
    assert_eq!(peers.lock().unwrap().len(), CONNS);

    // The same load as HTTP/2 streams: 4 connections, 50 streams each at once.
    let mut h2s = Vec::new();
    for _ in 0..4 {
        h2s.push(connect_h2(addr).await);
    }
    let mut streams = Vec::new();
    for (i, (h2, _)) in h2s.iter().enumerate() {
        for s in 0..50 {
            let mut h2 = h2.clone();
            streams.push(gorun::go(async move {
                let path = format!("/h2/{i}/{s}");
                let (status, body) = read(h2.send_request(get(&path)).await.unwrap()).await;
                assert_eq!(status, StatusCode::OK);
                assert!(body.ends_with(path.as_bytes()), "{body:?}");
            }));
        }
    }
    assert_eq!(streams.len(), 200);
    for s in streams {
        timeout(LIMIT, s).await.unwrap().unwrap();
    }
    assert_eq!(peers.lock().unwrap().len(), CONNS + 4);

    stop.send(()).unwrap();
    timeout(LIMIT, server).await.unwrap().unwrap().unwrap();
    for (h2, driver) in h2s {
        drop(h2);
        timeout(LIMIT, driver).await.unwrap().unwrap();
    }
}

/// `/slow` reports that it started, sleeps 200 ms and answers "slow done"; any
/// other path answers "fast".
fn slow_service(started: gorun::Sender<()>) -> impl Handler {
    move |req: Request<Incoming>| -> BoxFut {
        let started = started.clone();
        Box::pin(async move {
            if req.uri().path() == "/slow" {
                started.send(()).await.unwrap();
                gorun::time::sleep(Duration::from_millis(200)).await;
                return text("slow done");
            }
            text("fast")
        })
    }
}

async fn graceful_shutdown_finishes_in_flight(h2: bool) {
    let (started_tx, started) = gorun::chan(1);
    let mut server = start(slow_service(started_tx), None).await;
    let addr = server.addr;

    // An idle keep-alive connection, which shutdown closes at once.
    let (mut idle, idle_driver) = connect_h1(addr).await;
    let (_, body) = read(idle.send_request(get("/")).await.unwrap()).await;
    assert_eq!(body, "fast");

    let slow = gorun::go(async move {
        let res = if h2 {
            let (mut c, driver) = connect_h2(addr).await;
            let res = c.send_request(get("/slow")).await;
            (res, driver)
        } else {
            let (mut c, driver) = connect_h1(addr).await;
            let res = c.send_request(get("/slow")).await;
            (res, driver)
        };
        let (res, driver) = res;
        let res = res.expect("the in-flight request failed");
        let close = res.headers().get("connection").cloned();
        let out = read(res).await;
        driver.await.unwrap(); // the server closes the connection afterwards
        (out, close)
    });
    timeout(LIMIT, started.recv()).await.unwrap().unwrap();
    server.shutdown();

    // New connections are refused while the slow request is still running
    // (it has 200 ms to go; the listener closes at once).
    until_refused(addr).await;
    timeout(LIMIT, idle_driver).await.unwrap().unwrap();

    let ((status, body), close) = timeout(LIMIT, slow).await.unwrap().unwrap();
    assert_eq!((status, &body[..]), (StatusCode::OK, &b"slow done"[..]));
    if !h2 {
        // HTTP/1: the response tells the client the connection ends.
        assert_eq!(close.unwrap(), "close");
    }
    server.join().await;
}

#[gorun::test(procs = 2)]
async fn graceful_shutdown_finishes_in_flight_http1() {
    graceful_shutdown_finishes_in_flight(false).await;
}

#[gorun::test(procs = 2)]
async fn graceful_shutdown_finishes_in_flight_http2() {
    graceful_shutdown_finishes_in_flight(true).await;
}

/// Sets its flag when dropped: shows that a handler's future was dropped.
struct DropFlag(Arc<AtomicBool>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

async fn deadline_aborts_stuck_handler(h2: bool) {
    const DEADLINE: Duration = Duration::from_millis(300);
    let dropped = Arc::new(AtomicBool::new(false));
    let (started_tx, started) = gorun::chan::<()>(1);
    let flag = dropped.clone();
    let handler = move |_: Request<Incoming>| -> BoxFut {
        let (flag, started) = (flag.clone(), started_tx.clone());
        Box::pin(async move {
            let _guard = DropFlag(flag);
            started.send(()).await.unwrap();
            std::future::pending::<Res>().await
        })
    };
    let mut server = start(handler, Some(DEADLINE)).await;
    let addr = server.addr;
    let stuck = gorun::go(async move {
        if h2 {
            let (mut c, driver) = connect_h2(addr).await;
            let res = c.send_request(get("/")).await.map(drop);
            (res, driver)
        } else {
            let (mut c, driver) = connect_h1(addr).await;
            let res = c.send_request(get("/")).await.map(drop);
            (res, driver)
        }
    });
    timeout(LIMIT, started.recv()).await.unwrap().unwrap();
    let signalled = Instant::now();
    server.shutdown();
    server.join().await;
    let took = signalled.elapsed();
    assert!(
        took >= DEADLINE,
        "serve returned before the deadline: {took:?}"
    );
    assert!(took < DEADLINE + Duration::from_secs(2), "{took:?}");

    // The client sees its request fail, and the handler was dropped.
    let (res, driver) = timeout(LIMIT, stuck).await.unwrap().unwrap();
    assert!(res.is_err(), "a never-finishing request got a response");
    timeout(LIMIT, driver).await.unwrap().unwrap();
    let deadline = Instant::now() + LIMIT;
    while !dropped.load(Ordering::SeqCst) {
        assert!(
            Instant::now() < deadline,
            "the stuck handler was never dropped"
        );
        gorun::time::sleep(Duration::from_millis(2)).await;
    }
}

#[gorun::test(procs = 2)]
async fn shutdown_deadline_aborts_stuck_handler_http1() {
    deadline_aborts_stuck_handler(false).await;
}

#[gorun::test(procs = 2)]
async fn shutdown_deadline_aborts_stuck_handler_http2() {
    deadline_aborts_stuck_handler(true).await;
}

#[gorun::test(procs = 2)]
async fn handler_panic_costs_only_its_connection() {
    let served = Arc::new(AtomicUsize::new(0));
    let count = served.clone();
    let handler = move |req: Request<Incoming>| -> BoxFut {
        let count = count.clone();
        Box::pin(async move {
            if req.uri().path() == "/panic" {
                panic!("handler panic (expected by the test)");
            }
            count.fetch_add(1, Ordering::SeqCst);
            text("ok")
        })
    };
    let mut server = start(handler, None).await;

    // HTTP/1: the connection serving the panicking handler is dropped...
    let (mut c, driver) = connect_h1(server.addr).await;
    let res = timeout(LIMIT, c.send_request(get("/panic"))).await.unwrap();
    assert!(res.is_err(), "a panicking handler produced a response");
    timeout(LIMIT, driver).await.unwrap().unwrap();
    // ... and the server goes on.
    let (mut c, _driver) = connect_h1(server.addr).await;
    let (status, body) = read(c.send_request(get("/")).await.unwrap()).await;
    assert_eq!((status, &body[..]), (StatusCode::OK, &b"ok"[..]));

    // HTTP/2: the stream is reset; the connection and the server go on.
    let (mut h2, _h2_driver) = connect_h2(server.addr).await;
    let res = timeout(LIMIT, h2.send_request(get("/panic")))
        .await
        .unwrap();
    assert!(res.is_err(), "a panicking handler produced a response");
    timeout(LIMIT, h2.ready()).await.unwrap().unwrap();
    let (status, _) = read(h2.send_request(get("/")).await.unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    let (mut c, _driver) = connect_h1(server.addr).await;
    let (status, _) = read(c.send_request(get("/")).await.unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    assert!(served.load(Ordering::SeqCst) >= 2);

    drop((c, h2));
    server.shutdown();
    server.join().await;
}

#[gorun::test(procs = 2)]
async fn timeout_layer_answers_408() {
    use axum::{extract::Path, routing::get as route_get, Router};
    let app: Router = Router::new()
        .route(
            "/sleep/{ms}",
            route_get(|Path(ms): Path<u64>| async move {
                gorun::time::sleep(Duration::from_millis(ms)).await;
                "woke"
            }),
        )
        .layer(gorun::http::TimeoutLayer::new(Duration::from_millis(100)));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let server = gorun::go(
        serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stopped.await;
            })
            .into_future(),
    );
    let (mut c, _driver) = connect_h1(addr).await;
    let (status, body) = read(c.send_request(get("/sleep/1")).await.unwrap()).await;
    assert_eq!((status, &body[..]), (StatusCode::OK, &b"woke"[..]));
    let start = Instant::now();
    let (status, body) = read(c.send_request(get("/sleep/60000")).await.unwrap()).await;
    assert_eq!(status, StatusCode::REQUEST_TIMEOUT);
    assert!(body.is_empty());
    assert!(start.elapsed() < Duration::from_secs(10));
    drop(c);
    stop.send(()).unwrap();
    timeout(LIMIT, server).await.unwrap().unwrap().unwrap();
}

/// The child half of `accept_waits_out_emfile` (does nothing unless run by it).
#[test]
fn emfile_child() {
    if std::env::var_os("GORUN_HTTP_EMFILE_CHILD").is_none() {
        return;
    }
    emfile::child();
}

#[test]
fn accept_waits_out_emfile() {
    emfile::parent();
}

/// A server whose process has no file descriptor left: `accept` fails with
/// `EMFILE` while a client waits. The accept loop must neither die nor spin, and
/// must serve the client once descriptors are free again. The server runs in a
/// child process (this test binary, running `emfile_child`) so the file limit
/// does not touch the other tests.
mod emfile {
    use std::io::{BufRead, BufReader, Write};
    use std::os::fd::OwnedFd;
    use std::process::{Command, Stdio};

    use super::*;

    /// How long the child keeps every descriptor in use once the client is queued.
    const STARVED: Duration = Duration::from_millis(400);

    fn cpu_time() -> Duration {
        // SAFETY: getrusage writes into the struct we pass and nothing else.
        let usage = unsafe {
            let mut u: libc::rusage = std::mem::zeroed();
            assert_eq!(libc::getrusage(libc::RUSAGE_SELF, &mut u), 0);
            u
        };
        let tv = |t: libc::timeval| {
            Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
        };
        tv(usage.ru_utime) + tv(usage.ru_stime)
    }

    pub(super) fn child() {
        let rt = gorun::Runtime::builder().procs(2).build().unwrap();
        rt.block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let server = gorun::go(serve(listener, service_fn(version_and_path())).into_future());
            // Use up every descriptor below a small limit.
            let limit = libc::rlimit {
                rlim_cur: 256,
                rlim_max: 256,
            };
            // SAFETY: setrlimit reads the struct we pass.
            assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) }, 0);
            let mut fillers: Vec<OwnedFd> = Vec::new();
            let stdin = std::io::stdin();
            loop {
                match std::os::fd::AsFd::as_fd(&stdin).try_clone_to_owned() {
                    Ok(fd) => fillers.push(fd),
                    Err(e) => {
                        assert_eq!(e.raw_os_error(), Some(libc::EMFILE), "{e}");
                        break;
                    }
                }
            }
            println!("\naddr={addr}");
            std::io::stdout().flush().unwrap();
            // The parent says when its connection is queued.
            let line = gorun::spawn_blocking(|| {
                let mut line = String::new();
                std::io::stdin().lock().read_line(&mut line).unwrap();
                line
            })
            .await
            .unwrap();
            assert_eq!(line.trim(), "connected");
            let cpu = cpu_time();
            gorun::time::sleep(STARVED).await; // a measuring window, not a sync
            let burnt = cpu_time() - cpu;
            assert!(!server.is_finished(), "serve gave up on EMFILE");
            // A spinning accept loop would burn about STARVED of CPU.
            assert!(
                burnt < STARVED / 4,
                "the accept loop spun: {burnt:?} of CPU"
            );
            drop(fillers);
            // The parent is served now; it closes our stdin when done.
            let _ = gorun::spawn_blocking(|| {
                let mut rest = String::new();
                let _ = std::io::stdin().lock().read_line(&mut rest);
            })
            .await;
            server.abort();
        });
    }

    pub(super) fn parent() {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "emfile_child", "--nocapture", "--test-threads=1"])
            .env("GORUN_HTTP_EMFILE_CHILD", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        // The test harness prints its own lines too.
        let addr: SocketAddr = loop {
            let line = lines.next().expect("the child printed no address").unwrap();
            if let Some(addr) = line.strip_prefix("addr=") {
                break addr.parse().unwrap();
            }
        };
        let rt = gorun::Runtime::builder().procs(1).build().unwrap();
        let body = rt.block_on(async {
            let stream = TcpStream::connect(addr).await.unwrap();
            // The kernel completed the handshake; the child's accept fails with
            // EMFILE until it frees descriptors.
            writeln!(stdin, "connected").unwrap();
            let (mut h1, conn) = hyper::client::conn::http1::handshake::<_, Body>(stream)
                .await
                .unwrap();
            gorun::go(conn);
            let res = timeout(LIMIT, h1.send_request(get("/after-emfile")))
                .await
                .expect("never served after EMFILE")
                .unwrap();
            read(res).await
        });
        assert_eq!(
            body,
            (StatusCode::OK, Bytes::from("HTTP/1.1 /after-emfile"))
        );
        drop(stdin);
        let status = child.wait().unwrap();
        assert!(status.success(), "the child failed: {status}");
    }
}
