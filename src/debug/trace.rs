//! `/trace`: records an execution trace for a while, into memory, and answers it.
//!
//! Invariants:
//! 1. The buffer of a trace this module started has two owners while the trace
//!    is recorded or being written: its [`Recording`] and the trace session's
//!    writer. A strong count of 1 means that the trace was stopped (by us or by
//!    someone calling [`trace::stop`]) and its JSON is complete in the buffer.
//! 2. A `Recording` stops its trace when dropped, wherever it is dropped: in the
//!    blocking closure that [`finish`](Recording::finish)es it, in the one
//!    [`StopOnDrop`] hands it to when the request's future is dropped (the client
//!    went away), or with either closure if the pool cancels it at shutdown. So a
//!    trace started here is never left running.
//! 3. `trace::stop` runs on the blocking pool, never on a worker (it writes the
//!    whole trace), except when the pool refuses the closure (shutdown).

use std::io;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{HeaderValue, CONTENT_DISPOSITION};
use hyper::{Response, StatusCode};

use super::{respond, text};
use crate::trace::{self, TraceError};
use crate::Handle;

/// The longest trace a request may ask for, in seconds (Go's pprof has no bound;
/// the trace is held in memory here).
const MAX_SECONDS: f64 = 60.0;

/// The trace's length from `?seconds=N`: 1 s when absent; else a number in
/// (0, 60], fractions allowed. `Err` is the 400's message.
pub(super) fn parse_seconds(value: Option<&str>) -> Result<Duration, String> {
    let Some(value) = value else {
        return Ok(Duration::from_secs(1));
    };
    match value.parse::<f64>() {
        // NaN fails both comparisons.
        Ok(s) if s > 0.0 && s <= MAX_SECONDS => Ok(Duration::from_secs_f64(s)),
        _ => Err(format!(
            "seconds must be a number greater than 0 and at most {MAX_SECONDS}, not {value:?}\n"
        )),
    }
}

/// Records a trace of `duration` and answers it as a JSON attachment; 409 if a
/// trace runs already.
pub(super) async fn record(handle: Handle, duration: Duration) -> Response<Full<Bytes>> {
    let out = Arc::new(Mutex::new(Vec::new()));
    if let Err(e) = trace::start(Writer(out.clone())) {
        let status = match e {
            TraceError::AlreadyRunning => StatusCode::CONFLICT,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        return text(status, format!("{e}\n"));
    }
    let mut guard = StopOnDrop {
        handle: handle.clone(),
        recording: Some(Recording { out }),
    };
    crate::time::sleep(duration).await;
    let recording = guard.recording.take().expect("taken once");
    // Dropping this request's future from here on leaves the closure to finish.
    let finished = handle.spawn_blocking(move || recording.finish()).await;
    match finished {
        Ok(json) => {
            let mut res = respond(StatusCode::OK, "application/json", json);
            res.headers_mut().insert(
                CONTENT_DISPOSITION,
                HeaderValue::from_static("attachment; filename=\"gorun-trace.json\""),
            );
            res
        }
        Err(e) => text(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("stopping the trace failed: {e}\n"),
        ),
    }
}

/// The trace session's writer: appends to the buffer a [`Recording`] owns.
struct Writer(Arc<Mutex<Vec<u8>>>);

impl io::Write for Writer {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        lock(&self.0).extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn lock(out: &Mutex<Vec<u8>>) -> MutexGuard<'_, Vec<u8>> {
    out.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A trace this module started, and the buffer it is written to. Stops the trace
/// when dropped (invariant 2), on the dropping thread.
struct Recording {
    out: Arc<Mutex<Vec<u8>>>,
}

impl Recording {
    /// Stops the trace and returns its JSON.
    fn finish(self) -> Vec<u8> {
        stop_if_ours(&self.out);
        std::mem::take(&mut *lock(&self.out))
    }
}

impl Drop for Recording {
    fn drop(&mut self) {
        stop_if_ours(&self.out);
    }
}

/// Stops the trace writing into `out`, unless it has stopped already; returns
/// once its JSON is complete in `out`.
fn stop_if_ours(out: &Arc<Mutex<Vec<u8>>>) {
    // Invariant 1: only the session's writer holds another reference.
    if Arc::strong_count(out) == 1 {
        return;
    }
    // `trace::stop` stops whichever trace runs: `gorun::trace` has no way to name
    // ours. It is ours here, unless someone stopped it, and started another,
    // since the check above.
    match trace::stop() {
        // An `Io` error cannot come from `Writer`; the writer is dropped either way.
        Ok(_) | Err(TraceError::Io(_)) => {}
        // Someone else's `stop` took the session and is writing into `out`.
        Err(_) => {
            while Arc::strong_count(out) > 1 {
                std::thread::sleep(Duration::from_millis(1));
            }
        }
    }
}

/// Holds the [`Recording`] while the request sleeps. Dropped with the request's
/// future before the trace is finished (the client went away), it hands the
/// recording to the blocking pool, to stop the trace there.
struct StopOnDrop {
    handle: Handle,
    recording: Option<Recording>,
}

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        if let Some(recording) = self.recording.take() {
            // Run or cancelled, the closure drops the recording: the trace stops.
            drop(self.handle.spawn_blocking(move || drop(recording)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds() {
        assert_eq!(parse_seconds(None), Ok(Duration::from_secs(1)));
        assert_eq!(parse_seconds(Some("0.2")), Ok(Duration::from_millis(200)));
        assert_eq!(parse_seconds(Some("60")), Ok(Duration::from_secs(60)));
        for bad in ["", "abc", "0", "-1", "60.5", "61", "NaN", "inf", "1e9"] {
            let err = parse_seconds(Some(bad)).unwrap_err();
            assert!(err.contains("seconds must be"), "{bad}: {err}");
        }
    }
}
