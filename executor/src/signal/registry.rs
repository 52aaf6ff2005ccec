//! The process-wide signal registry: one slot per signal number, one self-pipe, and
//! the dispatch that turns "the handler ran" into woken tasks (the self-pipe trick,
//! as in tokio's `signal/registry.rs` and Go's `os/signal`, whose runtime handler
//! only queues the signal for the `signal_recv` goroutine).
//!
//! # Invariants
//! - The handler installed with `signal-hook-registry` does only async-signal-safe
//!   work: an atomic store to the signal's `pending` flag, then a `write(2)` of one
//!   byte to the non-blocking pipe (a full pipe already holds a wake-up, so a failed
//!   write loses nothing). It never allocates, locks, or touches a waker.
//! - `pending` is set *before* the byte is written, and [`dispatch`] drains the pipe
//!   *before* it swaps `pending` off: a signal that races a dispatch either is seen
//!   by its swap or leaves a byte (a new readiness edge) for the next one.
//! - A signal's `version` only grows, and it grows before its waiters are taken
//!   (under the waiters lock): a listener that registers its waker under that lock
//!   and then re-reads `version` never misses a broadcast. Every listener compares
//!   against the version it last saw, so all are woken (broadcast) and a signal
//!   delivered while nobody is polling is still seen on the next poll.
//! - Every reactor that has a listener registers its own descriptor for the pipe's
//!   read end; whichever reactor sees the event first drains it and wakes listeners
//!   of every runtime (wakers are runtime-agnostic). So several runtimes in one
//!   process all work, and dropping one does not stop the others' signals.

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::*};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::task::Waker;

use libc::c_int;

/// Signals a process may not handle: the kernel refuses SIGKILL and SIGSTOP, and a
/// handler that returns from a synchronous fault (SIGSEGV, SIGBUS, SIGILL, SIGFPE)
/// re-runs the faulting instruction forever.
const FORBIDDEN: &[c_int] = &[
    libc::SIGKILL,
    libc::SIGSTOP,
    libc::SIGSEGV,
    libc::SIGBUS,
    libc::SIGILL,
    libc::SIGFPE,
];

/// One signal number's state.
pub(crate) struct Slot {
    /// Set by the handler; cleared by [`dispatch`], which then broadcasts.
    pending: AtomicBool,
    /// How many broadcasts this signal has had.
    version: AtomicU64,
    /// The listeners waiting for the next broadcast, by listener id. Taken (and
    /// woken) by each broadcast; a listener re-inserts itself when polled again.
    waiters: Mutex<HashMap<u64, Waker>>,
    /// Channel-shaped subscribers (`gorun::signal::notify`): called on each
    /// broadcast, outside the signal handler; dropped when they return `false`.
    subscribers: Mutex<Vec<Box<dyn FnMut() -> bool + Send>>>,
    /// The handler's installation, done once: `Err` keeps why it failed.
    installed: OnceLock<Result<(), String>>,
}

struct Globals {
    /// The pipe's write end, written by the handler.
    sender: UnixStream,
    /// The pipe's read end, drained by [`dispatch`]; each reactor polls a clone.
    receiver: UnixStream,
    slots: Box<[Slot]>,
    next_id: AtomicU64,
}

static GLOBALS: OnceLock<Result<Globals, (io::ErrorKind, String)>> = OnceLock::new();

fn globals() -> io::Result<&'static Globals> {
    GLOBALS
        .get_or_init(|| {
            let make = || -> io::Result<Globals> {
                let (sender, receiver) = UnixStream::pair()?;
                sender.set_nonblocking(true)?;
                receiver.set_nonblocking(true)?;
                let slots = (0..=max_signal())
                    .map(|_| Slot {
                        pending: AtomicBool::new(false),
                        version: AtomicU64::new(0),
                        waiters: Mutex::new(HashMap::new()),
                        subscribers: Mutex::new(Vec::new()),
                        installed: OnceLock::new(),
                    })
                    .collect();
                Ok(Globals {
                    sender,
                    receiver,
                    slots,
                    next_id: AtomicU64::new(0),
                })
            };
            make().map_err(|e| (e.kind(), e.to_string()))
        })
        .as_ref()
        .map_err(|(kind, msg)| io::Error::new(*kind, format!("gorun: signal pipe: {msg}")))
}

/// The largest signal number with a slot.
fn max_signal() -> c_int {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        libc::SIGRTMAX()
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    {
        33
    }
}

fn lock<T: ?Sized>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The signal's slot, with its handler installed (once per process).
pub(crate) fn slot(signum: c_int) -> io::Result<&'static Slot> {
    if FORBIDDEN.contains(&signum) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("gorun: signal {signum} cannot be handled (SIGKILL, SIGSTOP and the fault signals are refused)"),
        ));
    }
    let g = globals()?;
    let slot = usize::try_from(signum)
        .ok()
        .filter(|&i| i > 0)
        .and_then(|i| g.slots.get(i))
        .ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("gorun: {signum} is not a signal number"),
            )
        })?;
    let installed = slot.installed.get_or_init(|| {
        // SAFETY: the action runs inside a signal handler, so it must be
        // async-signal-safe: `OnceLock::get` is an atomic load (and `GLOBALS` is
        // initialised, we hold `g`), then an atomic store and one `write(2)` on a
        // non-blocking socket; it neither allocates, locks nor panics.
        // `signal-hook-registry` saves and restores `errno` around it.
        let r = unsafe {
            signal_hook_registry::register(signum, move || {
                if let Some(Ok(g)) = GLOBALS.get() {
                    if let Some(s) = g.slots.get(signum as usize) {
                        s.pending.store(true, SeqCst);
                    }
                    let _ = (&g.sender).write(&[1]);
                }
            })
        };
        r.map(|_| ()).map_err(|e| e.to_string())
    });
    match installed {
        Ok(()) => Ok(slot),
        Err(msg) => Err(io::Error::other(format!(
            "gorun: cannot install a handler for signal {signum}: {msg}"
        ))),
    }
}

/// A fresh listener id (the key of a listener's waker in [`Slot`]).
pub(crate) fn next_id() -> u64 {
    globals().map_or(0, |g| g.next_id.fetch_add(1, Relaxed))
}

/// Makes sure the current runtime's reactor (the global one outside any runtime)
/// polls the signal pipe, so someone dispatches while a listener waits.
pub(crate) fn ensure_driver() -> io::Result<()> {
    let g = globals()?;
    // Worker 0's reactor: any one serves, the root watches them all.
    let reactor = crate::runtime::with_current_or_global(|s| s.driver().reactors()[0].clone());
    reactor.register_signal_pipe(|| Ok(mio::net::UnixStream::from_std(g.receiver.try_clone()?)))
}

impl Slot {
    /// The broadcasts so far.
    pub(crate) fn version(&self) -> u64 {
        self.version.load(SeqCst)
    }

    /// Stores `waker` for listener `id` unless a broadcast after `seen` already
    /// happened; returns the current version (≠ `seen`: do not wait).
    pub(crate) fn register(&self, id: u64, seen: u64, waker: &Waker) -> u64 {
        let mut w = lock(&self.waiters);
        let now = self.version.load(SeqCst);
        if now == seen {
            match w.get_mut(&id) {
                Some(old) if old.will_wake(waker) => {}
                Some(old) => old.clone_from(waker),
                None => {
                    w.insert(id, waker.clone());
                }
            }
        }
        now
    }

    /// Forgets listener `id`'s waker (the listener is dropped).
    pub(crate) fn unregister(&self, id: u64) {
        lock(&self.waiters).remove(&id);
    }

    /// Adds a subscriber, called on every later broadcast until it returns `false`.
    pub(crate) fn subscribe(&self, f: Box<dyn FnMut() -> bool + Send>) {
        lock(&self.subscribers).push(f);
    }

    fn broadcast(&self) {
        let woken = {
            let mut w = lock(&self.waiters);
            self.version.fetch_add(1, SeqCst);
            std::mem::take(&mut *w)
        };
        // Wake outside the lock: a waker may run arbitrary code.
        for (_, w) in woken {
            w.wake();
        }
        lock(&self.subscribers).retain_mut(|f| f());
    }
}

/// Drains the signal pipe and broadcasts every signal that arrived; returns how
/// many did. Run by a reactor on the pipe's readiness, never in a signal handler.
pub(crate) fn dispatch() -> usize {
    let Ok(g) = globals() else { return 0 };
    let mut buf = [0u8; 128];
    loop {
        match (&g.receiver).read(&mut buf) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => break, // WouldBlock: drained.
        }
    }
    let mut n = 0;
    for slot in g.slots.iter() {
        if slot.pending.swap(false, SeqCst) {
            slot.broadcast();
            n += 1;
        }
    }
    n
}
