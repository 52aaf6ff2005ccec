//! A request timeout on gorun's timers, shaped like tower-http's `TimeoutLayer`.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use hyper::{Response, StatusCode};

use crate::time::Sleep;

/// A tower layer answering a request whose handler has not responded within a
/// time limit with an empty response of a given status (`408 Request Timeout` by
/// default), and dropping the handler's future. The same behaviour as
/// tower-http's `TimeoutLayer`, whose timer is tokio's (on gorun it panics with
/// "there is no reactor running" unless the `tokio-compat` feature runs a tokio
/// runtime beside gorun), on gorun's timer wheel.
///
/// The time runs from the call to the service until its response (its headers):
/// a response body still streaming is not limited.
///
/// ```
/// use std::time::Duration;
/// use axum::{routing::get, Router};
/// use gorun::http::TimeoutLayer;
///
/// let app: Router = Router::new()
///     .route("/", get(|| async { "hi" }))
///     .layer(TimeoutLayer::new(Duration::from_secs(10)));
/// # drop(app);
/// ```
#[derive(Debug, Clone, Copy)]
pub struct TimeoutLayer {
    timeout: Duration,
    status: StatusCode,
}

impl TimeoutLayer {
    /// A layer timing out after `timeout` with `408 Request Timeout`.
    pub fn new(timeout: Duration) -> Self {
        TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, timeout)
    }

    /// A layer timing out after `timeout` with `status` (say `503` or `504`).
    pub fn with_status_code(status: StatusCode, timeout: Duration) -> Self {
        TimeoutLayer { timeout, status }
    }
}

impl<S> tower_layer::Layer<S> for TimeoutLayer {
    type Service = Timeout<S>;

    fn layer(&self, inner: S) -> Timeout<S> {
        Timeout {
            inner,
            timeout: self.timeout,
            status: self.status,
        }
    }
}

/// The service of [`TimeoutLayer`].
#[derive(Debug, Clone, Copy)]
pub struct Timeout<S> {
    inner: S,
    timeout: Duration,
    status: StatusCode,
}

impl<S, Req, B> tower_service::Service<Req> for Timeout<S>
where
    S: tower_service::Service<Req, Response = Response<B>>,
    B: Default,
{
    type Response = Response<B>;
    type Error = S::Error;
    type Future = TimeoutFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Req) -> Self::Future {
        TimeoutFuture {
            inner: self.inner.call(req),
            sleep: crate::time::sleep(self.timeout),
            status: self.status,
        }
    }
}

pin_project_lite::pin_project! {
    /// The future of [`Timeout`]: the inner response, or the timeout status.
    #[must_use = "futures do nothing unless you `.await` or poll them"]
    pub struct TimeoutFuture<F> {
        #[pin]
        inner: F,
        #[pin]
        sleep: Sleep,
        status: StatusCode,
    }
}

impl<F> fmt::Debug for TimeoutFuture<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TimeoutFuture")
            .field("sleep", &self.sleep)
            .finish_non_exhaustive()
    }
}

impl<F, B, E> Future for TimeoutFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
    B: Default,
{
    type Output = Result<Response<B>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if let Poll::Ready(out) = this.inner.poll(cx) {
            return Poll::Ready(out);
        }
        if this.sleep.poll(cx).is_ready() {
            let mut res = Response::new(B::default());
            *res.status_mut() = *this.status;
            return Poll::Ready(Ok(res));
        }
        Poll::Pending
    }
}
