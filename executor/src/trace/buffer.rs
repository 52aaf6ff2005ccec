//! Where events wait until the trace stops: one buffer per thread that recorded
//! any, registered with the trace session so `stop` can collect them all, parked
//! threads' included.
//!
//! # Invariants
//! - A thread appends only to its own buffer's [`Log`], which has one writer and
//!   needs no lock (`log.rs`); `stop` reads what was published.
//! - A thread's buffer belongs to one session (`gen`). A thread that finds the
//!   session changed registers a new buffer, and only while a session runs, so a
//!   buffer the stopped session took is never filled again, and nothing is kept
//!   for a thread after its last session.
//! - Each buffer holds at most [`MAX_EVENTS`](super::log::MAX_EVENTS); later events
//!   are counted as dropped, never grown without bound.

use std::cell::{Cell, RefCell};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, MutexGuard};

use super::log::Log;
use super::Event;

/// One thread's events in one session.
pub(crate) struct ThreadBuf {
    /// The lane in the trace: 1, 2, … in the order threads first recorded.
    pub(crate) tid: u64,
    /// The thread's name (`gorun-worker-0`, …), or its id.
    pub(crate) name: String,
    /// Appended to by the registering thread only (it is in that thread's
    /// `LOCAL` alone; the registry only reads it).
    pub(crate) events: Log,
    pub(crate) dropped: AtomicU64,
}

/// The session's bookkeeping, under one lock (taken by `start`, `stop` and a
/// thread's first event in a session).
pub(crate) struct Registry {
    /// A session runs.
    pub(crate) running: bool,
    pub(crate) bufs: Vec<Arc<ThreadBuf>>,
}

static REGISTRY: Mutex<Registry> = Mutex::new(Registry {
    running: false,
    bufs: Vec::new(),
});

/// The session generation: bumped (under the registry's lock) by every start and
/// stop; a thread's buffer is current while its recorded generation equals it.
static GEN: AtomicU64 = AtomicU64::new(0);

pub(crate) fn registry() -> MutexGuard<'static, Registry> {
    REGISTRY.lock().unwrap_or_else(|e| e.into_inner())
}

impl Registry {
    /// Moves to a new session generation (start and stop): every thread's buffer
    /// goes stale.
    pub(crate) fn next_gen(&mut self) {
        GEN.fetch_add(1, Relaxed);
    }
}

struct Local {
    gen: Cell<u64>,
    buf: RefCell<Option<Arc<ThreadBuf>>>,
    /// The clock reading of this thread's last boundary: where its next poll
    /// begins (see `trace::poll_ended`).
    last: Cell<u64>,
}

thread_local! {
    static LOCAL: Local = const {
        Local { gen: Cell::new(0), buf: RefCell::new(None), last: Cell::new(0) }
    };
}

/// Appends `event` to this thread's buffer for the running session. Dropped if
/// no session runs any more (a racing `stop`), or while the thread exits.
pub(crate) fn push(event: Event) {
    let _ = LOCAL.try_with(|local| push_local(local, event));
}

/// Records a boundary at `t` on this thread (see `trace::poll_ended`).
pub(crate) fn set_last(t: u64) {
    let _ = LOCAL.try_with(|local| local.last.set(t));
}

/// Appends the event `make(last)` gives, where `last` is this thread's last
/// boundary, and makes its end the new boundary.
pub(crate) fn push_from_last(make: impl FnOnce(u64) -> Event) {
    let _ = LOCAL.try_with(|local| {
        let event = make(local.last.get());
        local.last.set(event.end);
        push_local(local, event);
    });
}

fn push_local(local: &Local, event: Event) {
    let gen = GEN.load(Relaxed);
    if local.gen.get() != gen {
        let fresh = register();
        local.gen.set(gen);
        *local.buf.borrow_mut() = fresh;
    }
    if let Some(buf) = &*local.buf.borrow() {
        // SAFETY: `buf` was registered by this thread and is in no other thread's
        // `LOCAL`, so this thread is its log's one writer.
        if !unsafe { buf.events.push(event) } {
            buf.dropped.fetch_add(1, Relaxed);
        }
    }
}

/// A new buffer for this thread in the running session, or `None` if none runs.
#[cold]
fn register() -> Option<Arc<ThreadBuf>> {
    let mut reg = registry();
    if !reg.running {
        return None;
    }
    let thread = std::thread::current();
    let name = match thread.name() {
        Some(n) => n.to_owned(),
        None => format!("{:?}", thread.id()),
    };
    let buf = Arc::new(ThreadBuf {
        tid: reg.bufs.len() as u64 + 1,
        name,
        events: Log::new(),
        dropped: AtomicU64::new(0),
    });
    reg.bufs.push(buf.clone());
    Some(buf)
}
