//! Where events wait until the trace stops: one buffer per thread that recorded
//! any, registered with the trace session so `stop` can collect them all, parked
//! threads' included.
//!
//! # Invariants
//! - A thread appends only to its own buffer. The buffer's lock is taken by its
//!   owner for each event and by `stop` once, to take the events: it is all but
//!   uncontended, so an event costs an uncontended spin-lock round trip.
//! - A thread's buffer belongs to one session (`gen`). A thread that finds the
//!   session changed registers a new buffer, and only while a session runs, so a
//!   buffer the stopped session took is never filled again, and nothing is kept
//!   for a thread after its last session.
//! - Each buffer holds at most [`MAX_EVENTS`]; later events are counted as
//!   dropped, never grown without bound.
//! - Events are kept in fixed chunks, so a push never moves the events before it
//!   (a growing `Vec` copied the whole buffer at each doubling: a fifth of a
//!   traced worker's time).

use std::cell::{Cell, RefCell};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, MutexGuard};

use gorun_spinlock::SpinLock;

use super::Event;

/// Events one thread keeps per session (32 bytes each: 128 MiB).
pub(crate) const MAX_EVENTS: usize = 4 << 20;

/// Events per chunk (64 KiB).
const CHUNK: usize = 2048;

/// One thread's events, in the order recorded, in chunks of [`CHUNK`].
#[derive(Default)]
pub(crate) struct Events {
    chunks: Vec<Vec<Event>>,
    len: usize,
}

impl Events {
    fn push(&mut self, event: Event) {
        match self.chunks.last_mut() {
            Some(chunk) if chunk.len() < CHUNK => chunk.push(event),
            _ => {
                let mut chunk = Vec::with_capacity(CHUNK);
                chunk.push(event);
                self.chunks.push(chunk);
            }
        }
        self.len += 1;
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Event `i` in recording order.
    pub(crate) fn get(&self, i: usize) -> &Event {
        &self.chunks[i / CHUNK][i % CHUNK]
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &Event> {
        self.chunks.iter().flatten()
    }
}

/// One thread's events in one session.
pub(crate) struct ThreadBuf {
    /// The lane in the trace: 1, 2, … in the order threads first recorded.
    pub(crate) tid: u64,
    /// The thread's name (`gorun-worker-0`, …), or its id.
    pub(crate) name: String,
    pub(crate) events: SpinLock<Events>,
    pub(crate) dropped: AtomicU64,
}

/// The session's bookkeeping, under one lock (taken by `start`, `stop` and a
/// thread's first event in a session).
pub(crate) struct Registry {
    /// Bumped by every start and stop; a thread's buffer is current while its
    /// recorded generation equals it.
    pub(crate) gen: u64,
    /// A session runs.
    pub(crate) running: bool,
    pub(crate) bufs: Vec<Arc<ThreadBuf>>,
}

static REGISTRY: Mutex<Registry> = Mutex::new(Registry {
    gen: 0,
    running: false,
    bufs: Vec::new(),
});

/// `Registry::gen`, readable without the lock (a thread's check per event).
static GEN: AtomicU64 = AtomicU64::new(0);

pub(crate) fn registry() -> MutexGuard<'static, Registry> {
    REGISTRY.lock().unwrap_or_else(|e| e.into_inner())
}

impl Registry {
    /// Moves to a new session generation (start and stop): every thread's buffer
    /// goes stale.
    pub(crate) fn next_gen(&mut self) {
        self.gen += 1;
        GEN.store(self.gen, Relaxed);
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
        let mut events = buf.events.lock();
        if events.len() < MAX_EVENTS {
            events.push(event);
        } else {
            drop(events);
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
        events: SpinLock::new(Events::default()),
        dropped: AtomicU64::new(0),
    });
    reg.bufs.push(buf.clone());
    Some(buf)
}
