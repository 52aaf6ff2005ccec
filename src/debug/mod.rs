//! Go's `net/http/pprof` for gorun (feature `debug-http`): the runtime's task dump,
//! its counters and an execution trace, over HTTP.
//!
//! [`service()`] is a tower service to mount in the application's router (an axum
//! `Router`'s `nest_service`), or to serve alone on a side port with [`serve`]:
//!
//! | endpoint | answers | Go |
//! |---|---|---|
//! | `GET /debug/gorun/` | the list of endpoints, as text | `/debug/pprof/` |
//! | `GET /debug/gorun/tasks` | every live task: spawn site, state, what it waits on, age ([`Handle::dump`]); `?format=json` for JSON | `/debug/pprof/goroutine?debug=2` |
//! | `GET /debug/gorun/metrics` | the runtime's counters ([`Handle::metrics`]) in the Prometheus text format 0.0.4 | `expvar`, Prometheus' Go collector |
//! | `GET /debug/gorun/trace?seconds=N` | an execution trace ([`trace`](crate::trace)) of the next N seconds (default 1, at most 60), Chrome trace-event JSON for [Perfetto](https://ui.perfetto.dev) | `/debug/pprof/trace?seconds=N` |
//!
//! The service matches the end of the path after an optional `/debug/gorun`, so it
//! answers both at `/debug/gorun/tasks` and at `/tasks`, where a router strips the
//! prefix it is mounted at. Other paths answer 404 with the list of endpoints;
//! methods other than `GET` answer 405. Request bodies are not read.
//!
//! The JSON of `/tasks?format=json`:
//! `{"tasks": [{"id": 140..., "location": "src/main.rs:12:5", "state": "waiting",
//! "wait": "chan receive", "age_ms": 5012, "blocked_worker": false}, ...],
//! "count": 1}`, where `state` is `running`, `runnable` or `waiting`, `wait` is
//! the [`WaitReason`](crate::WaitReason) of a waiting task (`null` otherwise) and
//! `blocked_worker` says whether the watchdog reported one of the task's polls.
//! Tasks are listed oldest first, in the text dump too.
//!
//! A trace is process-wide and one runs at a time: `/trace` answers 409 Conflict
//! while another runs (started by another request or by
//! [`trace::start`](crate::trace::start)). The trace stops when its time is up, or
//! when the client goes away first (the request's future is dropped), and is
//! never left running. The trace is held in memory, then written as JSON into a
//! buffer: every poll is an event (a task that spins on `yield_now` makes one per
//! yield), so keep traces of busy services short.
//!
//! The service must run on a gorun runtime (`/trace` sleeps on gorun's timer):
//! [`gorun::http::serve`](crate::http::serve) serves it, alone or inside a router.
//! Like Go's pprof, it has no access control: keep it off public listeners.
//!
//! # Serving on a side port
//!
//! Go's habit of `go http.ListenAndServe("localhost:6060", nil)`: the debug
//! endpoints on a port of their own, kept off the public listener.
//!
//! ```no_run
//! use std::future::IntoFuture;
//!
//! #[gorun::main]
//! async fn main() -> std::io::Result<()> {
//!     // On localhost only:
//!     //   curl localhost:6060/debug/gorun/tasks
//!     //   curl 'localhost:6060/debug/gorun/trace?seconds=5' -o trace.json
//!     let debug = gorun::net::TcpListener::bind("127.0.0.1:6060").await?;
//!     gorun::go(gorun::debug::serve(debug).into_future());
//!
//!     // The application, on its public port.
//! #   let app = gorun::http::service_fn(|_: gorun::http::Request<gorun::http::Incoming>| async {
//! #       Ok::<_, std::convert::Infallible>(gorun::http::Response::new(String::from("hello")))
//! #   });
//!     let listener = gorun::net::TcpListener::bind("0.0.0.0:8080").await?;
//!     gorun::http::serve(listener, app).await
//! }
//! ```
//!
//! # Mounted in an axum `Router`
//!
//! ```
//! use axum::{routing::get, Router};
//! # use http_body_util::{BodyExt, Full};
//! # use hyper::body::Bytes;
//!
//! #[gorun::main(procs = 2)]
//! async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
//!     let app = Router::new()
//!         .route("/", get(|| async { "hello" }))
//!         .nest_service("/debug/gorun", gorun::debug::service());
//!     let listener = gorun::net::TcpListener::bind("127.0.0.1:0").await?;
//!     let addr = listener.local_addr()?;
//!     let (stop, stopped) = gorun::sync::oneshot::channel::<()>();
//!     let server = gorun::go(std::future::IntoFuture::into_future(
//!         gorun::http::serve(listener, app)
//!             .with_graceful_shutdown(async move { let _ = stopped.await; }),
//!     ));
//!
//!     // GET /debug/gorun/metrics with a hyper client.
//!     let stream = gorun::net::TcpStream::connect(addr).await?;
//!     let (mut client, conn) = hyper::client::conn::http1::handshake(stream).await?;
//!     gorun::go(conn);
//!     let req = hyper::Request::get("/debug/gorun/metrics")
//!         .header("host", "localhost")
//!         .body(Full::<Bytes>::default())?;
//!     let res = client.send_request(req).await?;
//!     assert_eq!(res.status(), 200);
//!     let body = res.into_body().collect().await?.to_bytes();
//!     assert!(std::str::from_utf8(&body)?.contains("\ngorun_tasks "));
//!
//!     drop(client);
//!     stop.send(()).unwrap();
//!     server.await??;
//!     Ok(())
//! }
//! ```

use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{HeaderValue, ALLOW, CONTENT_TYPE, X_CONTENT_TYPE_OPTIONS};
use hyper::{Method, Request, Response, StatusCode};

use crate::http::{Serve, Shared};
use crate::net::TcpListener;
use crate::Handle;

mod metrics;
mod tasks;
mod trace;

pub use metrics::prometheus_text;

/// The prefix the endpoints live under, when the path still has it.
const PREFIX: &str = "/debug/gorun";

const TEXT: &str = "text/plain; charset=utf-8";

const INDEX: &str = "\
gorun debug endpoints (under /debug/gorun, or wherever this service is mounted):

  /              this list
  /tasks         every live task: spawn site, state, what it waits on, age
                 (?format=json for JSON)
  /metrics       the runtime's counters, Prometheus text format
  /trace         an execution trace of the next ?seconds=N seconds (default 1, at
                 most 60): Chrome trace-event JSON for https://ui.perfetto.dev
";

/// The debug endpoints of one runtime, as a tower service; see the
/// [module docs](self). Made by [`service()`] or [`service_for`]; cheap to clone.
///
/// It takes requests with any body (it reads none) and answers
/// `Response<Full<Bytes>>`; it never fails.
#[derive(Clone, Debug)]
pub struct DebugService {
    handle: Handle,
}

/// The debug endpoints of the runtime this is called on.
///
/// # Panics
/// Outside a gorun runtime (not in a task, not inside `block_on`, no
/// [`Handle::enter`] guard), as [`Handle::current`] does; [`service_for`] takes
/// the runtime instead.
#[track_caller]
pub fn service() -> DebugService {
    service_for(Handle::current())
}

/// The debug endpoints of the runtime `handle` refers to: its tasks and counters.
/// (A trace covers every gorun runtime in the process.)
pub fn service_for(handle: Handle) -> DebugService {
    DebugService { handle }
}

/// Serves only the debug endpoints on `listener`: [`gorun::http::serve`]
/// with [`service()`]. Await the result to run the server, or first give it a
/// shutdown signal with [`Serve::with_graceful_shutdown`].
///
/// # Panics
/// Outside a gorun runtime, as [`service()`] does.
///
/// [`gorun::http::serve`]: crate::http::serve()
#[track_caller]
pub fn serve(listener: TcpListener) -> Serve<Shared<DebugService>> {
    crate::http::serve(listener, service())
}

/// What a path names, once its prefix is off.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Endpoint {
    Index,
    Tasks,
    Metrics,
    Trace,
}

fn route(path: &str) -> Option<Endpoint> {
    let rest = match path.strip_prefix(PREFIX) {
        Some(rest) if rest.is_empty() || rest.starts_with('/') => rest,
        _ => path,
    };
    match rest {
        "" | "/" => Some(Endpoint::Index),
        "/tasks" => Some(Endpoint::Tasks),
        "/metrics" => Some(Endpoint::Metrics),
        "/trace" => Some(Endpoint::Trace),
        _ => None,
    }
}

/// The value of the first `name=value` pair in `query`, if any (these
/// endpoints' values need no percent-decoding).
fn param<'q>(query: Option<&'q str>, name: &str) -> Option<&'q str> {
    query?.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        (key == name).then_some(value)
    })
}

/// A response with `body`, its type, and `nosniff` (as Go's pprof sends).
fn respond(
    status: StatusCode,
    content_type: &'static str,
    body: impl Into<Bytes>,
) -> Response<Full<Bytes>> {
    let mut res = Response::new(Full::new(body.into()));
    *res.status_mut() = status;
    let headers = res.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    res
}

fn text(status: StatusCode, body: impl Into<Bytes>) -> Response<Full<Bytes>> {
    respond(status, TEXT, body)
}

impl DebugService {
    /// Answers everything but a trace at once; a trace becomes a future.
    fn answer(&self, method: &Method, path: &str, query: Option<&str>) -> Flavor {
        let Some(endpoint) = route(path) else {
            return ready(text(StatusCode::NOT_FOUND, INDEX));
        };
        if method != Method::GET {
            let mut res = text(
                StatusCode::METHOD_NOT_ALLOWED,
                "method not allowed: use GET\n",
            );
            res.headers_mut()
                .insert(ALLOW, HeaderValue::from_static("GET"));
            return ready(res);
        }
        match endpoint {
            Endpoint::Index => ready(text(StatusCode::OK, INDEX)),
            Endpoint::Tasks => ready(tasks::answer(&self.handle, param(query, "format"))),
            Endpoint::Metrics => ready(respond(
                StatusCode::OK,
                metrics::CONTENT_TYPE,
                prometheus_text(&self.handle.metrics()),
            )),
            Endpoint::Trace => match trace::parse_seconds(param(query, "seconds")) {
                Ok(duration) => {
                    Flavor::Trace(Box::pin(trace::record(self.handle.clone(), duration)))
                }
                Err(message) => ready(text(StatusCode::BAD_REQUEST, message)),
            },
        }
    }
}

fn ready(res: Response<Full<Bytes>>) -> Flavor {
    Flavor::Ready(Some(res))
}

impl<B> tower_service::Service<Request<B>> for DebugService {
    type Response = Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = ResponseFuture;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<B>) -> ResponseFuture {
        let uri = req.uri();
        ResponseFuture(self.answer(req.method(), uri.path(), uri.query()))
    }
}

/// The future of a [`DebugService`] response: ready at once, but for `/trace`,
/// which completes when the trace has been recorded. Dropping it during a trace
/// stops the trace.
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct ResponseFuture(Flavor);

enum Flavor {
    /// `None` once taken.
    Ready(Option<Response<Full<Bytes>>>),
    Trace(Pin<Box<dyn Future<Output = Response<Full<Bytes>>> + Send>>),
}

impl Future for ResponseFuture {
    type Output = Result<Response<Full<Bytes>>, Infallible>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match &mut self.0 {
            Flavor::Ready(res) => Poll::Ready(Ok(res.take().expect("polled after completion"))),
            Flavor::Trace(fut) => fut.as_mut().poll(cx).map(Ok),
        }
    }
}

impl fmt::Debug for ResponseFuture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_match_with_or_without_the_prefix() {
        for (path, want) in [
            ("/debug/gorun", Some(Endpoint::Index)),
            ("/debug/gorun/", Some(Endpoint::Index)),
            ("/", Some(Endpoint::Index)),
            ("/debug/gorun/tasks", Some(Endpoint::Tasks)),
            ("/tasks", Some(Endpoint::Tasks)),
            ("/debug/gorun/metrics", Some(Endpoint::Metrics)),
            ("/metrics", Some(Endpoint::Metrics)),
            ("/debug/gorun/trace", Some(Endpoint::Trace)),
            ("/trace", Some(Endpoint::Trace)),
            ("/debug/gorunx/tasks", None),
            ("/debug/gorun/tasks/", None),
            ("/debug/gorun/debug/gorun/tasks", None),
            ("/nope", None),
        ] {
            assert_eq!(route(path), want, "{path}");
        }
    }

    #[test]
    fn query_parameters() {
        assert_eq!(param(Some("seconds=2&format=json"), "format"), Some("json"));
        assert_eq!(param(Some("seconds=2&format=json"), "seconds"), Some("2"));
        assert_eq!(param(Some("seconds"), "seconds"), Some(""));
        assert_eq!(param(Some("secondsx=1"), "seconds"), None);
        assert_eq!(param(None, "seconds"), None);
    }
}
