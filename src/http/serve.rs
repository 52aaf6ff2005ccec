//! The accept loop and graceful shutdown.
//!
//! Invariants:
//! 1. Every connection task holds a [`WaitGuard`](crate::sync::WaitGuard) on `live`
//!    from before it is spawned until it has dropped its connection (a panicking
//!    task drops it when the runtime drops the task), so `live.wait()` returning
//!    means no accepted connection is open.
//! 2. The listener is dropped (closed) before any connection is told to shut
//!    down: once a connection is told, no new one can arrive.
//! 3. `graceful` and `hard` are cancelled at most once each, in that order.

use std::fmt;
use std::future::{Future, IntoFuture, Pending};
use std::io;
use std::net::SocketAddr;
use std::pin::{pin, Pin};
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};
use std::time::Duration;

use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::server::conn::auto::Builder;

use super::{conn, BoxError, IncomingStream, MakeService};
use crate::context::{self, Context};
use crate::hyper::{GoExecutor, GoTimer};
use crate::net::{TcpListener, TcpStream};
use crate::sync::WaitGroup;

/// The first pause after an accept error that may clear up (too many open files,
/// out of buffers); it doubles up to [`MAX_BACKOFF`]. Go's `http.Server` uses the
/// same numbers.
const MIN_BACKOFF: Duration = Duration::from_millis(5);
const MAX_BACKOFF: Duration = Duration::from_secs(1);

/// A server on its way: made by [`serve`](super::serve()) or
/// [`serve_with_make`](super::serve_with_make), configured by the methods here,
/// run by `.await` (it is [`IntoFuture`]; [`into_future`](IntoFuture::into_future)
/// gives a `Send + 'static` [`ServeFuture`] to hand to [`go`](crate::go)).
///
/// # Accepting
/// Every accepted socket gets `TCP_NODELAY` and a task of its own. Accept errors
/// never stop the server unless the listener itself is unusable:
/// - errors of one incoming connection (`ECONNABORTED`, `ECONNRESET`, `EPROTO`,
///   `EPERM` from a firewall, and the other network errors Linux's `accept(2)`
///   passes on) are skipped at once;
/// - `EBADF`, `EINVAL`, `ENOTSOCK` and `EFAULT` (the listener is closed or not
///   listening) end the future with that error; connections already accepted are
///   left to finish in their tasks, as Go's `Serve` does;
/// - anything else (`EMFILE`, `ENFILE`, `ENOBUFS`, `ENOMEM`, ...) is waited out:
///   the loop sleeps 5 ms, doubling up to 1 s while the error lasts (Go's
///   `http.Server`), and still notices the shutdown signal while it sleeps.
///
/// # Graceful shutdown
/// Once the signal given to [`with_graceful_shutdown`](Self::with_graceful_shutdown)
/// completes:
/// 1. the listener is closed: connection attempts are refused from then on;
/// 2. every live connection is told to finish (hyper's `graceful_shutdown`): an
///    HTTP/1 connection finishes the request it is serving, answering it with
///    `connection: close`, and closes (an idle keep-alive connection closes at
///    once); an HTTP/2 connection sends `GOAWAY` and closes once the streams it
///    has already accepted are answered;
/// 3. the future waits for every connection to close, and resolves to `Ok(())`;
/// 4. with a [`shutdown_timeout`](Self::shutdown_timeout), connections still open
///    when it runs out (counted from the signal) are aborted: their tasks drop
///    them, cancelling whatever request handlers they were running (HTTP/2
///    handlers run in tasks hyper spawns per stream; dropping the connection
///    resets those streams, and hyper then drops their handlers), and the future
///    resolves to `Ok(())` once they are gone. A handler that blocks its thread
///    holds this up until it returns to the scheduler.
///
/// Without a signal the server runs until its listener fails. Dropping the future
/// stops accepting and leaves live connections running to their end, as axum's
/// `serve` does.
#[must_use = "a server does nothing unless `.await`ed"]
pub struct Serve<M, F = Pending<()>> {
    listener: TcpListener,
    make: M,
    signal: F,
    shutdown_timeout: Option<Duration>,
}

impl<M> Serve<M> {
    pub(super) fn new(listener: TcpListener, make: M) -> Serve<M> {
        Serve {
            listener,
            make,
            signal: std::future::pending(),
            shutdown_timeout: None,
        }
    }
}

impl<M, F> Serve<M, F> {
    /// Shuts the server down gracefully once `signal` completes (see
    /// [Graceful shutdown](Self#graceful-shutdown)): typically
    /// [`signal::ctrl_c`](crate::signal::ctrl_c), a oneshot receiver, or a
    /// [`Context`]'s [`done()`](crate::context::Context::done)
    /// (Go's `srv.Shutdown` when the context ends). Replaces an earlier signal.
    ///
    /// ```no_run
    /// # #[gorun::main]
    /// # async fn main() -> std::io::Result<()> {
    /// # let app = gorun::http::service_fn(|_: gorun::http::Request<gorun::http::Incoming>| async {
    /// #     Ok::<_, std::convert::Infallible>(gorun::http::Response::new(String::new()))
    /// # });
    /// let listener = gorun::net::TcpListener::bind("0.0.0.0:8080").await?;
    /// gorun::http::serve(listener, app)
    ///     .with_graceful_shutdown(async { let _ = gorun::signal::ctrl_c().await; })
    ///     .shutdown_timeout(std::time::Duration::from_secs(30))
    ///     .await
    /// # }
    /// ```
    ///
    /// With a [`Context`]: the server stops when it is
    /// cancelled, or when its deadline passes.
    ///
    /// ```
    /// use gorun::context::{self, Context};
    /// # #[gorun::main(procs = 1)]
    /// # async fn main() -> std::io::Result<()> {
    /// # let app = gorun::http::service_fn(|_: gorun::http::Request<gorun::http::Incoming>| async {
    /// #     Ok::<_, std::convert::Infallible>(gorun::http::Response::new(String::new()))
    /// # });
    /// let (ctx, cancel) = context::with_cancel(&Context::background());
    /// let listener = gorun::net::TcpListener::bind("127.0.0.1:0").await?;
    /// let server = gorun::go(std::future::IntoFuture::into_future(
    ///     gorun::http::serve(listener, app).with_graceful_shutdown(ctx.done()),
    /// ));
    /// cancel.cancel();
    /// server.await.unwrap()
    /// # }
    /// ```
    pub fn with_graceful_shutdown<F2>(self, signal: F2) -> Serve<M, F2>
    where
        F2: Future<Output = ()> + Send + 'static,
    {
        Serve {
            listener: self.listener,
            make: self.make,
            signal,
            shutdown_timeout: self.shutdown_timeout,
        }
    }

    /// After the shutdown signal, waits at most `timeout` for connections to
    /// finish, then aborts the rest (step 4 of
    /// [Graceful shutdown](Self#graceful-shutdown)). Without it the wait is
    /// unbounded, as with axum's `serve` and Go's `Shutdown` given a background
    /// context.
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.shutdown_timeout = Some(timeout);
        self
    }

    /// The address the listener is bound to.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }
}

impl<M, F> fmt::Debug for Serve<M, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Serve")
            .field("listener", &self.listener)
            .field("shutdown_timeout", &self.shutdown_timeout)
            .finish_non_exhaustive()
    }
}

impl<M, F, S, B> IntoFuture for Serve<M, F>
where
    M: MakeService<Service = S>,
    F: Future<Output = ()> + Send + 'static,
    S: tower_service::Service<Request<Incoming>, Response = Response<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    type Output = io::Result<()>;
    type IntoFuture = ServeFuture;

    fn into_future(self) -> ServeFuture {
        ServeFuture(Box::pin(self.run()))
    }
}

/// The future of an awaited [`Serve`]: `Ok(())` after a graceful shutdown, `Err`
/// if the listener failed.
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct ServeFuture(Pin<Box<dyn Future<Output = io::Result<()>> + Send>>);

impl Future for ServeFuture {
    type Output = io::Result<()>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<io::Result<()>> {
        self.0.as_mut().poll(cx)
    }
}

impl fmt::Debug for ServeFuture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServeFuture").finish_non_exhaustive()
    }
}

/// One turn of the accept loop.
enum Event {
    Accepted(io::Result<(TcpStream, SocketAddr)>),
    Shutdown,
}

/// What an accept error means for the loop.
#[derive(Debug, PartialEq, Eq)]
enum AcceptError {
    /// One incoming connection failed: accept the next.
    Connection,
    /// The listener is unusable: stop.
    Fatal,
    /// Probably resources running out: pause, then retry.
    Transient,
}

fn classify(e: &io::Error) -> AcceptError {
    match e.raw_os_error() {
        Some(
            libc::ECONNABORTED
            | libc::ECONNRESET
            | libc::ECONNREFUSED
            | libc::EINTR
            | libc::EAGAIN
            | libc::ETIMEDOUT
            | libc::EPERM
            // accept(2) on Linux: "treat [these] like EAGAIN by retrying".
            | libc::ENETDOWN
            | libc::EPROTO
            | libc::ENOPROTOOPT
            | libc::EHOSTDOWN
            | libc::EHOSTUNREACH
            | libc::EOPNOTSUPP
            | libc::ENETUNREACH,
        ) => AcceptError::Connection,
        #[cfg(target_os = "linux")]
        Some(libc::ENONET) => AcceptError::Connection,
        Some(libc::EBADF | libc::EINVAL | libc::ENOTSOCK | libc::EFAULT) => AcceptError::Fatal,
        _ => AcceptError::Transient,
    }
}

impl<M, F> Serve<M, F> {
    async fn run<S, B>(self) -> io::Result<()>
    where
        M: MakeService<Service = S>,
        F: Future<Output = ()> + Send + 'static,
        S: tower_service::Service<Request<Incoming>, Response = Response<B>>
            + Clone
            + Send
            + 'static,
        S::Future: Send + 'static,
        S::Error: Into<BoxError>,
        B: hyper::body::Body + Send + 'static,
        B::Data: Send,
        B::Error: Into<BoxError>,
    {
        let Serve {
            listener,
            mut make,
            signal,
            shutdown_timeout,
        } = self;
        let mut builder = Builder::new(GoExecutor);
        builder.http1().timer(GoTimer);
        builder.http2().timer(GoTimer).enable_connect_protocol();
        let builder = Arc::new(builder);
        let (graceful, begin_graceful) = context::with_cancel(&Context::background());
        let (hard, abort) = context::with_cancel(&Context::background());
        let live = WaitGroup::new();

        let mut signal = pin!(signal);
        let mut backoff: Option<Duration> = None;
        loop {
            let event = std::future::poll_fn(|cx| {
                // The signal first: a flood of connections must not delay shutdown.
                if signal.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(Event::Shutdown);
                }
                listener.poll_accept(cx).map(Event::Accepted)
            })
            .await;
            let (stream, remote_addr) = match event {
                Event::Shutdown => break,
                Event::Accepted(Ok(accepted)) => accepted,
                Event::Accepted(Err(e)) => match classify(&e) {
                    AcceptError::Connection => continue,
                    AcceptError::Fatal => return Err(e),
                    AcceptError::Transient => {
                        let pause = backoff.map_or(MIN_BACKOFF, |d| (d * 2).min(MAX_BACKOFF));
                        backoff = Some(pause);
                        let mut sleep = pin!(crate::time::sleep(pause));
                        let signalled = std::future::poll_fn(|cx| {
                            if signal.as_mut().poll(cx).is_ready() {
                                return Poll::Ready(true);
                            }
                            sleep.as_mut().poll(cx).map(|()| false)
                        })
                        .await;
                        if signalled {
                            break;
                        }
                        continue;
                    }
                },
            };
            backoff = None;
            // Latency over throughput for request/response traffic, as Go does.
            let _ = stream.set_nodelay(true);
            let service = make.make_service(&IncomingStream {
                io: &stream,
                remote_addr,
            });
            conn::spawn(
                builder.clone(),
                stream,
                service,
                graceful.done(),
                hard.done(),
                live.add(1),
            );
        }

        drop(listener); // invariant 2: refuse new connections before telling the live ones
        begin_graceful.cancel();
        match shutdown_timeout {
            None => live.wait().await,
            Some(timeout) => {
                if crate::time::timeout(timeout, live.wait()).await.is_err() {
                    abort.cancel();
                    live.wait().await;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_errors_are_classified() {
        let os = io::Error::from_raw_os_error;
        assert_eq!(classify(&os(libc::ECONNABORTED)), AcceptError::Connection);
        assert_eq!(classify(&os(libc::EPROTO)), AcceptError::Connection);
        assert_eq!(classify(&os(libc::EMFILE)), AcceptError::Transient);
        assert_eq!(classify(&os(libc::ENFILE)), AcceptError::Transient);
        assert_eq!(classify(&os(libc::ENOBUFS)), AcceptError::Transient);
        assert_eq!(classify(&os(libc::EBADF)), AcceptError::Fatal);
        assert_eq!(classify(&os(libc::EINVAL)), AcceptError::Fatal);
        let other = io::Error::other("not from the OS");
        assert_eq!(classify(&other), AcceptError::Transient);
    }
}
