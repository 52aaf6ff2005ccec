//! hyper 1.x on gorun (feature `hyper`): HTTP servers and clients with no tokio
//! runtime in the process.
//!
//! hyper is runtime-agnostic: it asks for an executor (to spawn background tasks:
//! HTTP/2 streams, client connection drivers), a timer (header-read timeouts,
//! keep-alive pings) and I/O. gorun supplies all three:
//!
//! | hyper needs | gorun gives |
//! |---|---|
//! | `hyper::rt::Executor<F>` | [`GoExecutor`]: `execute(fut)` is [`go`](crate::go)`(fut)` |
//! | `hyper::rt::Timer` (+ `rt::Sleep`) | [`GoTimer`], whose sleeps are [`GoSleep`]: gorun's timer wheel, reset in place, paused clock honoured |
//! | `hyper::rt::Read` + `rt::Write` | [`net::TcpStream`](crate::net::TcpStream) and [`net::UnixStream`](crate::net::UnixStream) implement them directly (the owned halves one each): no wrapper like hyper-util's `TokioIo` |
//!
//! Go's `http.Server` runs a goroutine per connection; so does this: accept, then
//! [`go`](crate::go) a task that serves the connection. Add hyper to your own
//! `Cargo.toml` with the protocol features you use (`server`, `client`, `http1`,
//! `http2`); gorun's `hyper` feature only needs its traits.
//!
//! ```
//! use std::convert::Infallible;
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
//!     // The server: a goroutine per connection.
//!     let listener = TcpListener::bind("127.0.0.1:0").await?;
//!     let addr = listener.local_addr()?;
//!     gorun::go(async move {
//!         while let Ok((conn, _)) = listener.accept().await {
//!             gorun::go(async move {
//!                 let _ = hyper::server::conn::http1::Builder::new()
//!                     .timer(gorun::hyper::GoTimer)
//!                     .serve_connection(conn, hyper::service::service_fn(hello))
//!                     .await;
//!             });
//!         }
//!     });
//!
//!     // The client: the connection's driver is a goroutine too.
//!     let stream = TcpStream::connect(addr).await?;
//!     let (mut sender, conn) = hyper::client::conn::http1::handshake(stream).await?;
//!     gorun::go(conn);
//!     let req = Request::get("/").header("host", "localhost").body(Full::<Bytes>::default())?;
//!     let res = sender.send_request(req).await?;
//!     assert_eq!(res.status(), 200);
//!     assert_eq!(res.into_body().collect().await?.to_bytes(), "hello");
//!     Ok(())
//! }
//! ```
//!
//! HTTP/2 needs the executor: `hyper::server::conn::http2::Builder::new(GoExecutor)`
//! and `hyper::client::conn::http2::handshake(GoExecutor, stream)`.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use crate::time::{Instant, Sleep};

/// hyper's executor on gorun: [`execute`](hyper::rt::Executor::execute) starts the
/// future as a goroutine on the current runtime (the global one outside any), as
/// [`go`](crate::go) does, and detaches it.
///
/// ```
/// use hyper::rt::Executor;
///
/// # gorun::Runtime::builder().procs(1).build().unwrap().block_on(async {
/// let (tx, rx) = gorun::chan(1);
/// gorun::hyper::GoExecutor.execute(async move { tx.send(7).await.unwrap() });
/// assert_eq!(rx.recv().await, Some(7));
/// # });
/// ```
#[derive(Debug, Default, Clone, Copy)]
pub struct GoExecutor;

impl<F> hyper::rt::Executor<F> for GoExecutor
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    #[track_caller]
    fn execute(&self, fut: F) {
        drop(crate::go(fut));
    }
}

/// hyper's timer on gorun: sleeps are [`GoSleep`]s on gorun's timing wheel,
/// [`reset`](hyper::rt::Timer::reset) moves a `GoSleep` in place (no new
/// allocation), and [`now`](hyper::rt::Timer::now) reads gorun's clock, so hyper's
/// timeouts follow [`time::pause`](crate::time::pause)/[`advance`](crate::time::advance)
/// in tests.
///
/// ```
/// use std::time::Duration;
/// use hyper::rt::Timer;
///
/// # gorun::Runtime::builder().procs(1).build().unwrap().block_on(async {
/// let timer = gorun::hyper::GoTimer;
/// let start = timer.now();
/// let mut sleep = timer.sleep(Duration::from_secs(3600));
/// timer.reset(&mut sleep, timer.now() + Duration::from_millis(5));
/// sleep.await;
/// assert!(start.elapsed() >= Duration::from_millis(5));
/// # });
/// ```
#[derive(Debug, Default, Clone, Copy)]
pub struct GoTimer;

impl hyper::rt::Timer for GoTimer {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn hyper::rt::Sleep>> {
        Box::pin(GoSleep {
            inner: crate::time::sleep(duration),
        })
    }

    fn sleep_until(&self, deadline: std::time::Instant) -> Pin<Box<dyn hyper::rt::Sleep>> {
        Box::pin(GoSleep {
            inner: crate::time::sleep_until(Instant::from_std(deadline)),
        })
    }

    fn now(&self) -> std::time::Instant {
        Instant::now().into_std()
    }

    fn reset(&self, sleep: &mut Pin<Box<dyn hyper::rt::Sleep>>, new_deadline: std::time::Instant) {
        match sleep.as_mut().downcast_mut_pin::<GoSleep>() {
            Some(s) => s.reset(new_deadline),
            None => *sleep = self.sleep_until(new_deadline),
        }
    }
}

pin_project_lite::pin_project! {
    /// A gorun [`Sleep`] as a `hyper::rt::Sleep`, from [`GoTimer`].
    #[derive(Debug)]
    #[must_use = "futures do nothing unless you `.await` or poll them"]
    pub struct GoSleep {
        #[pin]
        inner: Sleep,
    }
}

impl GoSleep {
    /// Moves the deadline, re-arming the sleep even if it had completed.
    pub fn reset(self: Pin<&mut Self>, deadline: std::time::Instant) {
        self.project().inner.reset(Instant::from_std(deadline));
    }

    /// The deadline.
    pub fn deadline(&self) -> std::time::Instant {
        self.inner.deadline().into_std()
    }
}

impl Future for GoSleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.project().inner.poll(cx)
    }
}

impl hyper::rt::Sleep for GoSleep {}
