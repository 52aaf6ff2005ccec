//! A reactor: one `mio::Poll` per worker. The worker registers the sockets it creates
//! or accepts here and polls it itself, never blocking: a sleeping worker waits in
//! the root poll or on its condvar (see `driver.rs` for who else turns a reactor,
//! and when).
//!
//! # Invariants
//! - One turn at a time: the `poll` mutex is held for the whole turn. A thread that
//!   finds it held ([`Reactor::try_turn_now`]) leaves the events to the turn in
//!   progress, or to a later one.
//! - `turns` counts turns begun, incremented under the `poll` lock before the poll:
//!   a turn begun after an event was queued returns that event (or a turn before it
//!   did), which `handoff.rs` relies on.
//! - A token is a slab index with a generation: an event for a registration that was
//!   dropped (and whose slot was reused) since the poll returned is ignored.
//! - After [`Reactor::shutdown`] no registration is accepted and every live one
//!   answers with an error, so no task waits forever on a dead runtime.
//! - The process's signal pipe is registered at most once per reactor, under
//!   `SIGNAL_TOKEN`, and stays until the reactor drops; its events run
//!   `signal::dispatch` (drain the pipe, broadcast) instead of waking a registration.

use std::io;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::*};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mio::event::Source;
use mio::{Events, Interest, Poll, Registry, Token};

use super::scheduled_io::{self, ScheduledIo};

/// Never a slab token: its index part is `INDEX_MASK - 1`, above where `register`
/// stops.
const SIGNAL_TOKEN: Token = Token(usize::MAX - 1);
const INDEX_BITS: u32 = usize::BITS / 2;
const INDEX_MASK: usize = (1 << INDEX_BITS) - 1;
const EVENTS_CAPACITY: usize = 1024;

struct Slot {
    generation: usize,
    io: Option<Arc<ScheduledIo>>,
}

#[derive(Default)]
struct Slab {
    slots: Vec<Slot>,
    free: Vec<usize>,
}

/// The token of slot `index` at `generation` (the generation's low bits above the
/// index).
fn token_of(index: usize, generation: usize) -> Token {
    Token(((generation & (usize::MAX >> INDEX_BITS)) << INDEX_BITS) | index)
}

impl Slab {
    /// The registration `token` names, unless its slot was freed (and perhaps
    /// reused) since the token was handed out.
    fn lookup(&self, token: Token) -> Option<&Arc<ScheduledIo>> {
        let index = token.0 & INDEX_MASK;
        let slot = self.slots.get(index)?;
        if token_of(index, slot.generation) != token {
            return None;
        }
        slot.io.as_ref()
    }
}

/// What only the thread turning the reactor touches: the poll, its event buffer, and
/// the registrations an event batch readies (kept to reuse its allocation).
struct Turn {
    poll: Poll,
    events: Events,
    batch: Vec<(Arc<ScheduledIo>, usize)>,
}

/// The readiness bits of a mio event.
fn readiness(ev: &mio::event::Event) -> usize {
    let mut ready = 0;
    if ev.is_readable() {
        ready |= scheduled_io::READABLE;
    }
    if ev.is_writable() {
        ready |= scheduled_io::WRITABLE;
    }
    if ev.is_read_closed() {
        ready |= scheduled_io::READ_CLOSED;
    }
    if ev.is_write_closed() {
        ready |= scheduled_io::WRITE_CLOSED;
    }
    if ev.is_error() {
        ready |= scheduled_io::ERROR;
    }
    ready
}

pub(crate) struct Reactor {
    poll: Mutex<Turn>,
    /// Turns begun (see the invariants).
    turns: AtomicU64,
    /// The epoll descriptor, for the root poll's watch (`root.rs`).
    fd: std::os::fd::RawFd,
    registry: Registry,
    slab: Mutex<Slab>,
    /// Live registrations; busy workers skip the non-blocking poll when zero.
    registered: AtomicUsize,
    shutdown: AtomicBool,
    /// This reactor's copy of the signal pipe's read end, once a signal is used.
    signal_pipe: Mutex<Option<mio::net::UnixStream>>,
    has_signal_pipe: AtomicBool,
    /// Receives the panic of a waker an event woke (`set_panic_handler`).
    on_panic: std::sync::OnceLock<gorun_timer::PanicHandler>,
}

impl Reactor {
    pub(crate) fn new() -> io::Result<Reactor> {
        let poll = Poll::new()?;
        let registry = poll.registry().try_clone()?;
        let fd = std::os::fd::AsRawFd::as_raw_fd(&poll);
        Ok(Reactor {
            poll: Mutex::new(Turn {
                poll,
                events: Events::with_capacity(EVENTS_CAPACITY),
                batch: Vec::with_capacity(EVENTS_CAPACITY),
            }),
            turns: AtomicU64::new(0),
            fd,
            registry,
            slab: Mutex::new(Slab::default()),
            registered: AtomicUsize::new(0),
            shutdown: AtomicBool::new(false),
            signal_pipe: Mutex::new(None),
            has_signal_pipe: AtomicBool::new(false),
            on_panic: std::sync::OnceLock::new(),
        })
    }

    fn slab(&self) -> std::sync::MutexGuard<'_, Slab> {
        self.slab.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn has_registrations(&self) -> bool {
        self.registered.load(Relaxed) > 0
    }

    /// The epoll descriptor (to watch this reactor from the root poll).
    pub(crate) fn raw_fd(&self) -> std::os::fd::RawFd {
        self.fd
    }

    /// Turns begun so far.
    pub(crate) fn turns(&self) -> u64 {
        self.turns.load(SeqCst)
    }

    /// Collects and dispatches the events ready now, unless a turn is in progress
    /// (`None`): that turn returns them, or they were already taken.
    pub(crate) fn try_turn_now(&self) -> Option<usize> {
        let guard = match self.poll.try_lock() {
            Ok(g) => g,
            Err(std::sync::TryLockError::Poisoned(e)) => e.into_inner(),
            Err(std::sync::TryLockError::WouldBlock) => return None,
        };
        Some(self.turn_locked(guard))
    }

    fn turn_locked(&self, mut guard: std::sync::MutexGuard<'_, Turn>) -> usize {
        self.turns.fetch_add(1, SeqCst);
        let Turn {
            poll,
            events,
            batch,
        } = &mut *guard;
        if let Err(e) = poll.poll(events, Some(Duration::ZERO)) {
            if e.kind() != io::ErrorKind::Interrupted {
                // Nothing sensible to do but report nothing; the next turn retries.
                return 0;
            }
        }
        let mut n = 0;
        let mut signal = false;
        {
            // One slab lock for the whole batch; the wakes run after it is released.
            let slab = self.slab();
            for ev in events.iter() {
                match ev.token() {
                    SIGNAL_TOKEN => signal = true,
                    token => {
                        if let Some(io) = slab.lookup(token) {
                            batch.push((io.clone(), readiness(ev)));
                        }
                    }
                }
            }
        }
        if signal {
            n += crate::signal::dispatch();
        }
        for (io, ready) in batch.drain(..) {
            io.set_readiness(ready, &|p| self.report(p));
            n += 1;
        }
        n
    }

    /// Registers `source` for `interest`; the token and readiness cell to use.
    pub(crate) fn register(
        &self,
        source: &mut impl Source,
        interest: Interest,
    ) -> io::Result<(Token, Arc<ScheduledIo>)> {
        let io = Arc::new(ScheduledIo::new());
        let token = self.register_cell(source, interest, io.clone())?;
        Ok((token, io))
    }

    /// Registers `source` for `interest` with an existing readiness cell (a socket
    /// moving here from another reactor keeps its cell); the token to use.
    pub(crate) fn register_cell(
        &self,
        source: &mut impl Source,
        interest: Interest,
        io: Arc<ScheduledIo>,
    ) -> io::Result<Token> {
        let token = {
            let mut slab = self.slab();
            if self.shutdown.load(Acquire) {
                return Err(scheduled_io::gone());
            }
            let index = match slab.free.pop() {
                Some(i) => i,
                None => {
                    let i = slab.slots.len();
                    // The top indices are reserved (`SIGNAL_TOKEN`'s among them).
                    if i >= INDEX_MASK - 2 {
                        return Err(io::Error::other("gorun: too many registered sockets"));
                    }
                    slab.slots.push(Slot {
                        generation: 0,
                        io: None,
                    });
                    i
                }
            };
            let slot = &mut slab.slots[index];
            slot.io = Some(io);
            token_of(index, slot.generation)
        };
        self.registered.fetch_add(1, Relaxed);
        if let Err(e) = self.registry.register(source, token, interest) {
            self.release(token);
            return Err(e);
        }
        Ok(token)
    }

    /// Adds the process's signal pipe to the poll set, once: `open` gives this
    /// reactor its own descriptor for the pipe's read end.
    pub(crate) fn register_signal_pipe(
        &self,
        open: impl FnOnce() -> io::Result<mio::net::UnixStream>,
    ) -> io::Result<()> {
        if self.has_signal_pipe.load(Acquire) {
            return Ok(());
        }
        let mut slot = self.signal_pipe.lock().unwrap_or_else(|e| e.into_inner());
        if slot.is_some() {
            return Ok(());
        }
        if self.shutdown.load(Acquire) {
            return Err(scheduled_io::gone());
        }
        let mut pipe = open()?;
        self.registry
            .register(&mut pipe, SIGNAL_TOKEN, Interest::READABLE)?;
        *slot = Some(pipe);
        // Counted as a registration, so busy workers poll for signals too.
        self.registered.fetch_add(1, Relaxed);
        self.has_signal_pipe.store(true, Release);
        Ok(())
    }

    /// Removes `source` from the poll set. Errors are ignored: the fd is about to
    /// be closed, which removes it anyway.
    pub(crate) fn deregister(&self, source: &mut impl Source) {
        let _ = self.registry.deregister(source);
    }

    /// Frees `token`'s slot (dropping its wakers); later events for it are ignored.
    pub(crate) fn release(&self, token: Token) {
        let io = {
            let mut slab = self.slab();
            let index = token.0 & INDEX_MASK;
            let slot = &mut slab.slots[index];
            slot.generation = slot.generation.wrapping_add(1);
            let io = slot.io.take();
            slab.free.push(index);
            io
        };
        self.registered.fetch_sub(1, Relaxed);
        drop(io);
    }

    /// Fails every registration, present and future, and wakes their tasks.
    pub(crate) fn shutdown(&self) {
        let live: Vec<_> = {
            let slab = self.slab();
            self.shutdown.store(true, Release);
            slab.slots.iter().filter_map(|s| s.io.clone()).collect()
        };
        for io in live {
            io.shutdown(&|p| self.report(p));
        }
    }

    /// Installs what a panicking waker's payload goes to (the runtime's report).
    pub(crate) fn set_panic_handler(&self, handler: gorun_timer::PanicHandler) {
        let _ = self.on_panic.set(handler);
    }

    fn report(&self, payload: Box<dyn std::any::Any + Send>) {
        if let Some(h) = self.on_panic.get() {
            h(payload);
        }
    }
}
