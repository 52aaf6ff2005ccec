//! An axum application on gorun, with no tokio runtime: `gorun::http::serve`
//! instead of `axum::serve` (axum is built without its `tokio` feature).
//!
//! Routes: `GET /` (text), `GET /users/{id}` (JSON via serde, 404 as JSON),
//! `POST /echo` (a JSON echo), `GET /hits` (the request counter kept in shared
//! state, `State<Arc<AppState>>`), `GET /slow/{ms}` (sleeps on gorun's timer) and
//! `GET /panic`. Layers: `gorun::http::TimeoutLayer` (408 for a handler slower
//! than the limit; tower-http's `TimeoutLayer` uses tokio's timer and panics
//! without a tokio runtime, which gorun's `tokio-compat` feature would start), tower-http's `CatchPanicLayer` (a panicking handler
//! answers 500) and `SetResponseHeaderLayer` (`server: gorun`), and a counting
//! middleware.
//!
//! - `cargo run --example axum_server --features http` serves on 127.0.0.1:3000
//!   (or `$AXUM_SERVER_ADDR`) until Ctrl+C, then shuts down gracefully: no new
//!   connections, in-flight requests finish, at most 30 s.
//! - `AXUM_SERVER_SELFTEST=1 cargo run --example axum_server --features http`
//!   serves on a free port, exercises every route with a hyper client on gorun
//!   over HTTP/1.1 and HTTP/2, then shuts down with a slow request in flight and
//!   checks that it completes and that new connections are refused.
//! - `cargo test --example axum_server --features http` runs the same self-test.
//! - `... -- --bare` serves `GET /` and `GET /json` alone (no layers); `... -- --tokio` serves
//!   them on tokio instead, the way `axum::serve` does, to compare with `wrk`
//!   (`APP=axum benches/http_wrk.sh`).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use serde::{Deserialize, Serialize};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::set_header::SetResponseHeaderLayer;

use gorun::net::{TcpListener, TcpStream};

type Error = Box<dyn std::error::Error + Send + Sync>;

/// What the handlers share.
struct AppState {
    /// Requests seen, counted by the middleware.
    hits: AtomicU64,
    /// `/slow/{ms}` sends `ms` here when it starts (if there is room): the
    /// self-test waits for its slow request to be in flight.
    slow_started: (gorun::Sender<u64>, gorun::Receiver<u64>),
}

impl AppState {
    fn new() -> Arc<AppState> {
        Arc::new(AppState {
            hits: AtomicU64::new(0),
            slow_started: gorun::chan(16),
        })
    }
}

#[derive(Debug, Serialize, Deserialize, PartialEq)]
struct User {
    id: u64,
    name: String,
}

const USERS: [&str; 3] = ["ada", "grace", "ken"];

async fn hello() -> &'static str {
    "Hello from axum on gorun!\n"
}

async fn user(Path(id): Path<u64>) -> Response {
    match id.checked_sub(1).and_then(|i| USERS.get(i as usize)) {
        Some(name) => Json(User {
            id,
            name: name.to_string(),
        })
        .into_response(),
        None => (
            StatusCode::NOT_FOUND,
            Json(serde_json::json!({ "error": format!("no user {id}") })),
        )
            .into_response(),
    }
}

async fn echo(Json(value): Json<serde_json::Value>) -> Json<serde_json::Value> {
    Json(value)
}

async fn hits(State(state): State<Arc<AppState>>) -> Json<serde_json::Value> {
    Json(serde_json::json!({ "hits": state.hits.load(Ordering::SeqCst) }))
}

async fn slow(State(state): State<Arc<AppState>>, Path(ms): Path<u64>) -> String {
    let _ = state.slow_started.0.try_send(ms);
    gorun::time::sleep(Duration::from_millis(ms)).await;
    format!("slept {ms} ms")
}

async fn panics() -> &'static str {
    panic!("a handler panicked (on purpose: CatchPanicLayer answers 500)")
}

async fn count(State(state): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    state.hits.fetch_add(1, Ordering::SeqCst);
    next.run(req).await
}

/// The application; handlers slower than `timeout` get a 408.
fn app(state: Arc<AppState>, timeout: Duration) -> Router {
    Router::new()
        .route("/", get(hello))
        .route("/users/{id}", get(user))
        .route("/echo", post(echo))
        .route("/hits", get(hits))
        .route("/slow/{ms}", get(slow))
        .route("/panic", get(panics))
        .layer(middleware::from_fn_with_state(state.clone(), count))
        .layer(gorun::http::TimeoutLayer::new(timeout))
        .layer(CatchPanicLayer::new())
        .layer(SetResponseHeaderLayer::overriding(
            header::SERVER,
            HeaderValue::from_static("gorun"),
        ))
        .with_state(state)
}

/// `GET /` and `GET /json` alone, no layers: what `--bare` and `--tokio` serve, to
/// compare the serving machinery under `wrk` (`APP=axum benches/http_wrk.sh`).
fn bare_app() -> Router {
    Router::new().route("/", get(hello)).route(
        "/json",
        get(|| async { Json(serde_json::json!({ "message": "Hello, World!" })) }),
    )
}

/// `--tokio`: [`bare_app`] on tokio's multi-thread runtime, served the way
/// `axum::serve` serves it (hyper-util's automatic HTTP/1-HTTP/2 builder over
/// `TokioIo`, a task per connection), until killed.
fn serve_tokio(addr: &str) -> Result<(), Error> {
    use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
    use hyper_util::server::conn::auto::Builder;
    use hyper_util::service::TowerToHyperService;

    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        println!("tokio: serving on http://{}", listener.local_addr()?);
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            stream.set_nodelay(true)?;
            let service = TowerToHyperService::new(bare_app());
            tokio::spawn(async move {
                let mut builder = Builder::new(TokioExecutor::new());
                builder.http1().timer(TokioTimer::new());
                let io = TokioIo::new(stream);
                let _ = builder.serve_connection_with_upgrades(io, service).await;
            });
        }
    })
}

#[gorun::main]
async fn main() -> Result<(), Error> {
    if std::env::var_os("AXUM_SERVER_SELFTEST").is_some() {
        return self_test().await;
    }
    let addr = std::env::var("AXUM_SERVER_ADDR").unwrap_or_else(|_| "127.0.0.1:3000".into());
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--tokio") {
        // On a thread of the blocking pool: tokio's `block_on` must not run on a worker.
        return gorun::spawn_blocking(move || serve_tokio(&addr)).await?;
    }
    let listener = TcpListener::bind(&addr).await?;
    println!(
        "serving on http://{} (Ctrl+C stops)",
        listener.local_addr()?
    );
    let app = match args.iter().any(|a| a == "--bare") {
        true => bare_app(),
        false => app(AppState::new(), Duration::from_secs(10)),
    };
    gorun::http::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = gorun::signal::ctrl_c().await;
            println!("shutting down: finishing in-flight requests");
        })
        .shutdown_timeout(Duration::from_secs(30))
        .await?;
    println!("stopped");
    Ok(())
}

/// A response's parts the self-test checks.
struct Reply {
    status: StatusCode,
    server: Option<HeaderValue>,
    body: Bytes,
}

impl Reply {
    fn json<T: serde::de::DeserializeOwned>(&self) -> T {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }
}

/// One HTTP/1.1 keep-alive connection, its driver a goroutine.
struct Client {
    sender: hyper::client::conn::http1::SendRequest<Full<Bytes>>,
}

impl Client {
    async fn connect(addr: SocketAddr) -> Result<Client, Error> {
        let stream = TcpStream::connect(addr).await?;
        let (sender, conn) = hyper::client::conn::http1::handshake(stream).await?;
        gorun::go(async move { drop(conn.await) });
        Ok(Client { sender })
    }

    async fn send(&mut self, req: hyper::Request<Full<Bytes>>) -> Result<Reply, Error> {
        self.sender.ready().await?;
        let res = self.sender.send_request(req).await?;
        reply(res).await
    }

    async fn get(&mut self, path: &str) -> Result<Reply, Error> {
        self.send(request("GET", path, None, "")).await
    }

    async fn post(&mut self, path: &str, content_type: &str, body: &str) -> Result<Reply, Error> {
        let req = request("POST", path, Some(content_type), body);
        self.send(req).await
    }
}

fn request(
    method: &str,
    path: &str,
    content_type: Option<&str>,
    body: &str,
) -> hyper::Request<Full<Bytes>> {
    let mut req = hyper::Request::builder()
        .method(method)
        .uri(path)
        .header(header::HOST, "localhost");
    if let Some(ct) = content_type {
        req = req.header(header::CONTENT_TYPE, ct);
    }
    req.body(Full::new(Bytes::from(body.to_string())))
        .expect("a valid request")
}

async fn reply(res: hyper::Response<hyper::body::Incoming>) -> Result<Reply, Error> {
    let status = res.status();
    let server = res.headers().get(header::SERVER).cloned();
    let body = res.into_body().collect().await?.to_bytes();
    Ok(Reply {
        status,
        server,
        body,
    })
}

/// Serves on a free port, checks every route, then shuts down gracefully with a
/// request in flight.
async fn self_test() -> Result<(), Error> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let state = AppState::new();
    let (stop, stopped) = gorun::sync::oneshot::channel::<()>();
    let server = gorun::go(std::future::IntoFuture::into_future(
        gorun::http::serve(listener, app(state.clone(), Duration::from_millis(300)))
            .with_graceful_shutdown(async move {
                let _ = stopped.await;
            })
            .shutdown_timeout(Duration::from_secs(10)),
    ));
    println!("serving on http://{addr}");
    let mut c = Client::connect(addr).await?;

    let r = c.get("/").await?;
    println!("GET /            -> {} {:?}", r.status, r.body);
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body, "Hello from axum on gorun!\n");
    assert_eq!(r.server.as_ref().unwrap(), "gorun");

    let r = c.get("/users/2").await?;
    println!("GET /users/2     -> {} {:?}", r.status, r.body);
    assert_eq!(r.status, StatusCode::OK);
    let grace = User {
        id: 2,
        name: "grace".into(),
    };
    assert_eq!(r.json::<User>(), grace);

    let r = c.get("/users/9").await?;
    println!("GET /users/9     -> {} {:?}", r.status, r.body);
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(
        r.json::<serde_json::Value>(),
        serde_json::json!({ "error": "no user 9" })
    );

    let sent = r#"{"msg":"hi","n":[1,2,3],"nested":{"ok":true}}"#;
    let r = c.post("/echo", "application/json", sent).await?;
    println!("POST /echo       -> {} {:?}", r.status, r.body);
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        r.json::<serde_json::Value>(),
        serde_json::from_str::<serde_json::Value>(sent)?
    );
    let r = c.post("/echo", "application/json", "{not json").await?;
    println!("POST /echo (bad) -> {}", r.status);
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = c.post("/echo", "text/plain", sent).await?;
    assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);

    let r = c.get("/slow/5").await?;
    assert_eq!(
        (r.status, &r.body[..]),
        (StatusCode::OK, &b"slept 5 ms"[..])
    );
    let r = c.get("/slow/60000").await?;
    println!("GET /slow/60000  -> {} (TimeoutLayer, 300 ms)", r.status);
    assert_eq!(r.status, StatusCode::REQUEST_TIMEOUT);

    println!("GET /panic: the panic message printed next is expected");
    let r = c.get("/panic").await?;
    println!("GET /panic       -> {} (CatchPanicLayer)", r.status);
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);

    let r = c.get("/nope").await?;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    // HTTP/2 with prior knowledge, on the same listener.
    let stream = TcpStream::connect(addr).await?;
    let (mut h2, conn) =
        hyper::client::conn::http2::handshake(gorun::hyper::GoExecutor, stream).await?;
    let h2_driver = gorun::go(async move { drop(conn.await) });
    let res = h2
        .send_request(request("GET", "/users/1", None, ""))
        .await?;
    assert_eq!(res.version(), hyper::Version::HTTP_2);
    let r = reply(res).await?;
    println!("GET /users/1 h2  -> {} {:?}", r.status, r.body);
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json::<User>().name, "ada");
    drop(h2);
    h2_driver.await?;

    let r = c.get("/hits").await?;
    println!("GET /hits        -> {} {:?}", r.status, r.body);
    // Every request so far, this one included (the middleware counts first).
    assert_eq!(r.json::<serde_json::Value>()["hits"], 12);

    // Graceful shutdown with a request in flight.
    let slow = gorun::go(async move {
        let mut c = Client::connect(addr).await?;
        c.get("/slow/250").await
    });
    let in_flight = async { while state.slow_started.1.recv().await != Some(250) {} };
    gorun::time::timeout(Duration::from_secs(10), in_flight).await?;
    stop.send(()).expect("the server is running");
    println!("shutdown signalled with GET /slow/250 in flight");
    let refused = refused(addr).await;
    println!("new connection   -> {refused}");
    let r = slow.await??;
    println!("GET /slow/250    -> {} {:?}", r.status, r.body);
    assert_eq!(
        (r.status, &r.body[..]),
        (StatusCode::OK, &b"slept 250 ms"[..])
    );
    gorun::time::timeout(Duration::from_secs(10), server).await???;
    println!("server stopped");
    Ok(())
}

/// Polls (for at most 10 s) until a connection attempt is refused, and says how.
async fn refused(addr: SocketAddr) -> std::io::Error {
    let deadline = gorun::time::Instant::now() + Duration::from_secs(10);
    loop {
        match TcpStream::connect(addr).await {
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => return e,
            // Accepted, or reset: the attempt raced the listener's close.
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
            Err(e) => panic!("connect: {e}"),
        }
        assert!(
            gorun::time::Instant::now() < deadline,
            "the listener is still open"
        );
        gorun::time::sleep(Duration::from_millis(5)).await;
    }
}

#[cfg(test)]
mod tests {
    #[gorun::test]
    async fn self_test() {
        super::self_test().await.unwrap();
    }
}
