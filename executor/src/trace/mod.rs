//! An execution trace, Go's `runtime/trace` for gorun: what every thread of every
//! gorun runtime in the process did over time, written in the Chrome trace-event
//! JSON format that [Perfetto](https://ui.perfetto.dev) and `chrome://tracing`
//! open (and `cargo run --example trace_view` draws as an SVG).
//!
//! ```
//! use gorun_executor::{go, trace, Runtime};
//!
//! let path = std::env::temp_dir().join("gorun-trace-doc.json");
//! let rt = Runtime::builder().procs(2).build().unwrap();
//! trace::start(std::fs::File::create(&path).unwrap()).unwrap();
//! rt.block_on(async {
//!     let h = go(async { 6 * 7 });
//!     assert_eq!(h.await.unwrap(), 42);
//! });
//! let summary = trace::stop().unwrap(); // writes the file
//! assert!(summary.events > 0);
//! // Open it in https://ui.perfetto.dev, or draw it:
//! // cargo run --example trace_view -- /tmp/gorun-trace-doc.json -o trace.svg
//! # std::fs::remove_file(&path).unwrap();
//! ```
//!
//! What is recorded, one lane per thread, named as the thread is
//! (`gorun-worker-0`, `gorun-worker-blocking-3` with the default
//! [`thread_name`](crate::Builder::thread_name)):
//! - **task polls** as begin/end slices named by the task's spawn site
//!   (`src/main.rs:12:5`, as in [`Handle::dump`](crate::Handle::dump), long-poll
//!   reports and leak reports), category `poll`; blocking-pool closures are tasks
//!   too, so they show on their pool thread's lane;
//! - **parks** of a worker, as `park` slices (category `park`): the time it slept
//!   or waited in the driver (one under way when the trace starts shows from the
//!   start; one still under way when it stops is not shown);
//! - instants (category `sched`): `steal` (the victim worker in `args.from`),
//!   `unpark` (the worker woken, `args.worker`), `spawn_blocking` (a closure handed
//!   to the pool), `block_in_place` (a worker's queue handed to a stand-in);
//! - instants for the driver: `timers` (category `timer`, how many fired in
//!   `args.n`) and `io` (category `io`, how many sockets got readiness).
//!
//! While no trace runs, each of these sites costs one relaxed load. While one runs,
//! events go to a log per thread (appended without a lock, one clock read per
//! poll; at most 4 Mi events a thread, later ones counted as dropped), and `stop`
//! writes them all. The trace is held in memory until then: keep traces of busy
//! services short (every poll is an event; benches/README.md has a measured size).
//! Timestamps come from the CPU's time-stamp counter where the kernel keeps time
//! with it.
//!
//! One trace runs at a time, process-wide.

mod buffer;
mod chrome;
mod clock;
mod log;

use std::fmt;
use std::io;
use std::panic::Location;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::Mutex;
use std::time::Duration;

pub(crate) use clock::now;

/// Set while a trace runs: the one load each event site pays when it does not.
static ON: AtomicBool = AtomicBool::new(false);

/// The clock reading at the start of the running (or last) trace.
static BEGAN: AtomicU64 = AtomicU64::new(0);

/// The running trace's writer and clock reading.
struct Session {
    out: Box<dyn io::Write + Send>,
    begin: clock::Calibration,
}

static SESSION: Mutex<Option<Session>> = Mutex::new(None);

/// Whether a trace is being recorded: the check in front of every event site.
#[inline]
pub(crate) fn on() -> bool {
    ON.load(Relaxed)
}

/// One recorded event: a span from `start` to `end` (clock ticks), or an instant
/// (`start == end`).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Event {
    start: u64,
    end: u64,
    what: What,
}

/// What an event was.
#[derive(Clone, Copy, Debug)]
pub(crate) enum What {
    /// A task's poll; the task's spawn site.
    Poll(&'static Location<'static>),
    /// A worker parked.
    Park,
    /// A worker stole tasks from worker `from`.
    Steal { from: u32 },
    /// A worker was woken.
    Unpark { worker: u32 },
    /// A closure was handed to the blocking pool.
    SpawnBlocking,
    /// A worker handed its queue to a stand-in (`block_in_place`).
    BlockInPlace,
    /// Timers fired.
    Timers { n: u32 },
    /// Sockets got readiness.
    Io { n: u32 },
}

/// Records the poll of a task spawned at `site` that ends now. It began at this
/// thread's last boundary: the end of its previous poll, or a later event that
/// is not part of a poll (a park, a steal, timers or I/O fired, a nap, a
/// blocking-pool thread taking a job). One clock read a poll instead of two (a
/// read costs as much as the rest of the event); the poll's start so includes
/// the scheduler's work since that boundary, typically well under a
/// microsecond.
#[inline(never)]
pub(crate) fn poll_ended(site: &'static Location<'static>) {
    let began = BEGAN.load(Relaxed);
    let end = now();
    buffer::push_from_last(|last| Event {
        start: last.max(began).min(end),
        end,
        what: What::Poll(site),
    });
}

/// If tracing, marks a boundary now on this thread: the next poll begins here
/// (after a nap or a spin, when a blocking-pool thread takes a job).
#[inline]
pub(crate) fn boundary() {
    if on() {
        mark_boundary();
    }
}

#[inline(never)]
fn mark_boundary() {
    buffer::set_last(now());
}

/// Records a span that ends now and began at `start` if that was a reading taken
/// while this trace ran, else when the trace began (a park under way when the
/// trace started shows from its start). Its end is a boundary.
#[inline(never)]
pub(crate) fn span_since(start: Option<u64>, what: What) {
    let began = BEGAN.load(Relaxed);
    let start = start.map_or(began, |s| s.max(began));
    let end = now();
    buffer::push_from_last(|_| Event { start, end, what });
}

/// If tracing, records an instant event now; steals, timer firings and I/O
/// readiness (which happen between polls) are boundaries, the others (wakes,
/// hand-offs, which happen inside polls) are not.
#[inline]
pub(crate) fn instant(what: What) {
    if on() {
        record_instant(what);
    }
}

#[inline(never)]
fn record_instant(what: What) {
    let t = now();
    let event = Event {
        start: t,
        end: t,
        what,
    };
    match what {
        What::Steal { .. } | What::Timers { .. } | What::Io { .. } => {
            buffer::push_from_last(|_| event)
        }
        _ => buffer::push(event),
    }
}

/// Records `n` things of `what(n)` now, if tracing and `n > 0`; returns `n`.
#[inline]
pub(crate) fn count(n: usize, what: impl FnOnce(u32) -> What) -> usize {
    if n > 0 && on() {
        record_instant(what(n.min(u32::MAX as usize) as u32));
    }
    n
}

/// Why [`start`] or [`stop`] failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum TraceError {
    /// [`start`] while a trace runs (one at a time, process-wide).
    AlreadyRunning,
    /// [`stop`] while no trace runs.
    NotRunning,
    /// Writing the trace failed; the events are lost.
    Io(io::Error),
}

impl fmt::Display for TraceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TraceError::AlreadyRunning => f.write_str("a gorun trace is already running"),
            TraceError::NotRunning => f.write_str("no gorun trace is running"),
            TraceError::Io(e) => write!(f, "writing the gorun trace failed: {e}"),
        }
    }
}

impl std::error::Error for TraceError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            TraceError::Io(e) => Some(e),
            _ => None,
        }
    }
}

/// What a finished trace held, from [`stop`].
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct TraceSummary {
    /// Events written (a poll or a park counts once, though written as a begin
    /// and an end).
    pub events: u64,
    /// Events not kept because a thread's buffer was full.
    pub dropped: u64,
    /// Threads that recorded events (lanes in the trace).
    pub threads: usize,
    /// From [`start`] to [`stop`].
    pub duration: Duration,
}

/// Starts recording a trace of every gorun runtime in the process; [`stop`]
/// writes it to `out` as Chrome trace-event JSON. Fails if a trace runs already.
pub fn start<W: io::Write + Send + 'static>(out: W) -> Result<(), TraceError> {
    let mut session = SESSION.lock().unwrap_or_else(|e| e.into_inner());
    if session.is_some() {
        return Err(TraceError::AlreadyRunning);
    }
    let begin = clock::Calibration::begin();
    BEGAN.store(begin.ticks(), Relaxed);
    {
        let mut reg = buffer::registry();
        reg.bufs.clear();
        reg.running = true;
        reg.next_gen();
    }
    *session = Some(Session {
        out: Box::new(out),
        begin,
    });
    ON.store(true, Relaxed);
    Ok(())
}

/// Stops the trace and writes it (see the [module docs](self)) to the writer
/// given to [`start`], then flushes that. This does the writing on the calling
/// thread: from a task, with a slow writer, call it through
/// [`spawn_blocking`](crate::spawn_blocking).
pub fn stop() -> Result<TraceSummary, TraceError> {
    let mut session = SESSION.lock().unwrap_or_else(|e| e.into_inner());
    let Some(Session { mut out, begin }) = session.take() else {
        return Err(TraceError::NotRunning);
    };
    ON.store(false, Relaxed);
    let end = clock::Calibration::read();
    let bufs = {
        let mut reg = buffer::registry();
        reg.running = false;
        reg.next_gen();
        std::mem::take(&mut reg.bufs)
    };
    let scale = begin.scale_to(end);
    let mut summary = TraceSummary {
        events: 0,
        dropped: 0,
        threads: bufs.len(),
        duration: end.elapsed_since(begin),
    };
    let lanes: Vec<chrome::Lane> = bufs
        .into_iter()
        .map(|buf| {
            let len = buf.events.published();
            summary.events += len as u64;
            summary.dropped += buf.dropped.load(Relaxed);
            chrome::Lane { buf, len }
        })
        .collect();
    drop(session);
    chrome::write(&mut out, lanes, scale, &summary)
        .and_then(|()| out.flush())
        .map_err(TraceError::Io)?;
    Ok(summary)
}

/// Whether a trace is being recorded now.
pub fn is_running() -> bool {
    on()
}
