//! Serving HTTP on gorun (feature `http`): an axum `Router`, or any tower or
//! hyper-style service, over HTTP/1.1 and HTTP/2, with no tokio runtime.
//!
//! Go's `http.Server` in one call. [`serve`]`(listener, service)` accepts on a gorun
//! [`TcpListener`], turns on `TCP_NODELAY`, and serves each connection in a task of
//! its own ([`go`](crate::go)), with hyper-util's automatic HTTP/1-or-HTTP/2
//! connection builder on [`GoExecutor`] and [`GoTimer`] (so hyper's header-read
//! timeout and HTTP/2 keep-alive run on gorun's timers, and hyper spawns each
//! HTTP/2 stream as a goroutine). HTTP/2 is spoken to clients that open with its
//! preface (prior knowledge, `h2c`); TLS is left to the caller.
//!
//! | Go / axum on tokio | gorun |
//! |---|---|
//! | `http.Serve(l, handler)`, `axum::serve(listener, router)` | [`serve`]`(listener, router).await` |
//! | `srv.Shutdown(ctx)`, `axum::serve(..).with_graceful_shutdown(signal)` | [`Serve::with_graceful_shutdown`]`(signal)`, bounded by [`Serve::shutdown_timeout`] |
//! | `r.RemoteAddr`, axum's `into_make_service_with_connect_info` | [`serve_with_make`]`(listener, \|conn: &IncomingStream<'_>\| ..)`: a service per connection, knowing its peer |
//! | `http.HandlerFunc`, `hyper::service::service_fn` | [`service_fn`]`(\|req\| async { .. })` (a tower service) |
//! | `http.TimeoutHandler`, tower-http's `TimeoutLayer` | [`TimeoutLayer`] (tower-http's runs on tokio's timer: it panics on gorun unless the `tokio-compat` feature runs a tokio runtime beside it) |
//!
//! What [`serve`] takes: a `tower_service::Service<Request<Incoming>, Response =
//! Response<B>>` that is `Clone + Send + 'static` with a `Send` future, an error
//! convertible into `Box<dyn Error + Send + Sync>` and a `Send` body `B`. An axum
//! `Router` (with its state supplied) is one; so is anything built with `tower`'s
//! `ServiceBuilder` over one, and [`service_fn`] of an async closure. Each
//! connection gets a clone of it; [`serve_with_make`] builds one per connection
//! instead.
//!
//! [`Serve`] is a builder that runs when awaited (`IntoFuture`); it resolves to
//! `Ok(())` after a graceful shutdown, and to `Err` only when the listener itself
//! fails (see [`Serve`] for which accept errors are retried, and how shutdown goes).
//!
//! ```
//! # use std::future::IntoFuture;
//! use std::convert::Infallible;
//! use std::time::Duration;
//! use http_body_util::{BodyExt, Full};
//! use hyper::body::{Bytes, Incoming};
//! use hyper::{Request, Response};
//! use gorun::net::{TcpListener, TcpStream};
//!
//! async fn hello(_: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
//!     Ok(Response::new(Full::new(Bytes::from("hello"))))
//! }
//!
//! #[gorun::main(procs = 2)]
//! async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
//!     let listener = TcpListener::bind("127.0.0.1:0").await?;
//!     let addr = listener.local_addr()?;
//!     let (stop, stopped) = gorun::sync::oneshot::channel::<()>();
//!     let server = gorun::go(
//!         gorun::http::serve(listener, gorun::http::service_fn(hello))
//!             .with_graceful_shutdown(async move { let _ = stopped.await; })
//!             .shutdown_timeout(Duration::from_secs(5))
//!             .into_future(),
//!     );
//!
//!     // A hyper client on gorun.
//!     let stream = TcpStream::connect(addr).await?;
//!     let (mut sender, conn) = hyper::client::conn::http1::handshake(stream).await?;
//!     gorun::go(conn);
//!     let req = Request::get("/").header("host", "localhost").body(Full::<Bytes>::default())?;
//!     let res = sender.send_request(req).await?;
//!     assert_eq!(res.status(), 200);
//!     assert_eq!(res.into_body().collect().await?.to_bytes(), "hello");
//!
//!     // Shut down: the idle keep-alive connection is closed, then `serve` returns.
//!     stop.send(()).unwrap();
//!     server.await??;
//!     Ok(())
//! }
//! ```
//!
//! An axum application is served the same way: `gorun::http::serve(listener,
//! router).await` (`examples/axum_server.rs`). axum needs none of its `tokio`,
//! `http1` or `http2` features for this: those only enable `axum::serve`.
//!
//! [`serve`]: crate::http::serve
//! [`serve_with_make`]: crate::http::serve_with_make
//! [`service_fn`]: crate::http::service_fn
//! [`Serve`]: crate::http::Serve
//! [`Serve::with_graceful_shutdown`]: crate::http::Serve::with_graceful_shutdown
//! [`Serve::shutdown_timeout`]: crate::http::Serve::shutdown_timeout
//! [`TimeoutLayer`]: crate::http::TimeoutLayer
//! [`TcpListener`]: crate::net::TcpListener
//! [`GoExecutor`]: crate::hyper::GoExecutor
//! [`GoTimer`]: crate::hyper::GoTimer

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::task::{Context, Poll};

use crate::net::{TcpListener, TcpStream};

mod conn;
mod serve;
mod timeout;

pub use serve::{Serve, ServeFuture};
pub use timeout::{Timeout, TimeoutFuture, TimeoutLayer};

#[doc(no_inline)]
pub use crate::hyper::{GoExecutor, GoTimer};
#[doc(no_inline)]
pub use hyper::body::Incoming;
#[doc(no_inline)]
pub use hyper::{Request, Response, StatusCode};

/// The boxed error type a service or body error is converted into.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Serves `service` on `listener`: each accepted connection gets a clone of it,
/// HTTP/1.1 or HTTP/2 (detected from the client's first bytes), in a task of its
/// own. Await the returned [`Serve`] to run the server (it runs until its listener
/// fails, or until the signal given to [`Serve::with_graceful_shutdown`]);
/// see the [module docs](self) for an example and what a service must be.
pub fn serve<S, B>(listener: TcpListener, service: S) -> Serve<Shared<S>>
where
    S: tower_service::Service<Request<Incoming>, Response = Response<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    Serve::new(listener, Shared(service))
}

/// Serves a service made for each connection by `make`, which sees the connection
/// first (its peer address, its socket). `make` runs in the accept loop, so it
/// should be quick. A closure `FnMut(&IncomingStream<'_>) -> S` is a
/// [`MakeService`].
///
/// Handing the peer address to axum handlers is one layer: an `Extension` (axum's
/// own `ConnectInfo` is an extension too, `Extension(ConnectInfo(addr))`, where
/// axum is built with its `tokio` feature, which gates that type):
///
/// ```
/// use std::net::SocketAddr;
/// use axum::{routing::get, Extension, Router};
/// use gorun::http::IncomingStream;
///
/// # #[gorun::main(procs = 1)]
/// # async fn main() -> std::io::Result<()> {
/// let app = Router::new().route(
///     "/",
///     get(|Extension(peer): Extension<SocketAddr>| async move { format!("hello {peer}") }),
/// );
/// let listener = gorun::net::TcpListener::bind("127.0.0.1:0").await?;
/// let server = gorun::http::serve_with_make(listener, move |conn: &IncomingStream<'_>| {
///     app.clone().layer(Extension(conn.remote_addr()))
/// });
/// # drop(server);
/// # Ok(())
/// # }
/// ```
pub fn serve_with_make<M, S, B>(listener: TcpListener, make: M) -> Serve<M>
where
    M: MakeService<Service = S>,
    S: tower_service::Service<Request<Incoming>, Response = Response<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    Serve::new(listener, make)
}

/// Makes the service that serves one connection: what [`serve_with_make`] takes.
/// Implemented for closures `FnMut(&IncomingStream<'_>) -> S` and for [`Shared`].
pub trait MakeService: Send + 'static {
    /// The service serving one connection (every request on it, every HTTP/2
    /// stream: it is cloned per request).
    type Service;

    /// Called in the accept loop once per accepted connection, before the
    /// connection's task starts.
    fn make_service(&mut self, conn: &IncomingStream<'_>) -> Self::Service;
}

impl<F, S> MakeService for F
where
    F: FnMut(&IncomingStream<'_>) -> S + Send + 'static,
{
    type Service = S;

    fn make_service(&mut self, conn: &IncomingStream<'_>) -> S {
        self(conn)
    }
}

/// The [`MakeService`] of [`serve()`]: a clone of one service per connection.
#[derive(Debug, Clone)]
pub struct Shared<S>(pub S);

impl<S: Clone + Send + 'static> MakeService for Shared<S> {
    type Service = S;

    fn make_service(&mut self, _: &IncomingStream<'_>) -> S {
        self.0.clone()
    }
}

/// A connection just accepted, as [`MakeService::make_service`] sees it.
#[derive(Debug)]
pub struct IncomingStream<'a> {
    pub(crate) io: &'a TcpStream,
    pub(crate) remote_addr: SocketAddr,
}

impl IncomingStream<'_> {
    /// The connection's socket (its local address, socket options).
    pub fn io(&self) -> &TcpStream {
        self.io
    }

    /// The peer's address.
    pub fn remote_addr(&self) -> SocketAddr {
        self.remote_addr
    }
}

/// A tower service from an async function or closure taking a request (the
/// shape of `hyper::service::service_fn`, and of `tower::service_fn`, which also
/// works): it is `Clone` when `f` is.
///
/// ```
/// use std::convert::Infallible;
/// use gorun::http::{service_fn, Incoming, Request, Response};
///
/// # #[gorun::main(procs = 1)]
/// # async fn main() -> std::io::Result<()> {
/// let svc = service_fn(|req: Request<Incoming>| async move {
///     Ok::<_, Infallible>(Response::new(format!("you asked for {}", req.uri().path())))
/// });
/// let listener = gorun::net::TcpListener::bind("127.0.0.1:0").await?;
/// let server = gorun::http::serve(listener, svc);
/// # drop(server);
/// # Ok(())
/// # }
/// ```
pub fn service_fn<F>(f: F) -> ServiceFn<F> {
    ServiceFn { f }
}

/// The service of [`service_fn`].
#[derive(Clone, Copy)]
pub struct ServiceFn<F> {
    f: F,
}

impl<F> std::fmt::Debug for ServiceFn<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceFn").finish_non_exhaustive()
    }
}

impl<F, Req, Fut, Res, E> tower_service::Service<Req> for ServiceFn<F>
where
    F: FnMut(Req) -> Fut,
    Fut: Future<Output = Result<Res, E>>,
{
    type Response = Res;
    type Error = E;
    type Future = Fut;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), E>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Req) -> Fut {
        (self.f)(req)
    }
}

// `Infallible` is the error of axum's services; make sure it fits `BoxError`.
const _: fn(Infallible) -> BoxError = |e| e.into();
