//! One connection's task: serve until the connection ends, or until told to
//! finish gracefully, then until it ends or is aborted.

use std::future::Future;
use std::pin::{pin, Pin};
use std::sync::Arc;
use std::task::Poll;

use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::server::conn::auto::Builder;
use hyper_util::service::TowerToHyperService;

use super::BoxError;
use crate::context::Done;
use crate::hyper::GoExecutor;
use crate::net::TcpStream;
use crate::sync::WaitGuard;

/// Spawns the task serving `stream` with `service`. `graceful` completing starts
/// hyper's graceful shutdown of the connection; `hard` completing drops it.
/// `guard` is released when the task ends (or is dropped after a panic).
pub(super) fn spawn<S, B>(
    builder: Arc<Builder<GoExecutor>>,
    stream: TcpStream,
    service: S,
    mut graceful: Done,
    mut hard: Done,
    guard: WaitGuard,
) where
    S: tower_service::Service<Request<Incoming>, Response = Response<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    drop(crate::go(async move {
        let _guard = guard;
        let mut conn =
            pin!(builder.serve_connection_with_upgrades(stream, TowerToHyperService::new(service)));
        // Errors of one connection (a client gone mid-request, a malformed
        // request, a header-read timeout) end that connection only.
        if until(conn.as_mut(), &mut graceful).await.is_some() {
            return;
        }
        conn.as_mut().graceful_shutdown();
        let _ = until(conn.as_mut(), &mut hard).await;
    }));
}

/// Polls `fut` until it completes (`Some`) or `stop` does (`None`), `fut` first so
/// that a connection whose request has already arrived reads it before it is told
/// to shut down.
async fn until<F: Future>(mut fut: Pin<&mut F>, stop: &mut Done) -> Option<F::Output> {
    std::future::poll_fn(|cx| {
        if let Poll::Ready(out) = fut.as_mut().poll(cx) {
            return Poll::Ready(Some(out));
        }
        Pin::new(&mut *stop).poll(cx).map(|()| None)
    })
    .await
}
