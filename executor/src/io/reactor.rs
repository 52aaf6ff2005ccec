//! The reactor: one `mio::Poll` per runtime, polled by the worker that holds the
//! driver (Go's netpoller: one M blocks in `netpoll(delay)` with the timer's timeout).
//!
//! # Invariants
//! - Only the driver holder calls [`Reactor::turn`] (the driver's lock guarantees it;
//!   the `poll` mutex is never contended and only makes that visible to the compiler).
//! - A token is a slab index with a generation: an event for a registration that was
//!   dropped (and whose slot was reused) since the poll returned is ignored.
//! - [`Reactor::wake`] writes to the mio `Waker`, whose event stays pending until the
//!   next poll: a wake sent before the driver holder blocks makes that poll return at
//!   once, so it is never lost.
//! - After [`Reactor::shutdown`] no registration is accepted and every live one
//!   answers with an error, so no task waits forever on a dead runtime.
//! - The process's signal pipe is registered at most once per reactor, under
//!   `SIGNAL_TOKEN`, and stays until the reactor drops; its events run
//!   `signal::dispatch` (drain the pipe, broadcast) instead of waking a registration.

use std::io;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::*};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mio::event::Source;
use mio::{Events, Interest, Poll, Registry, Token};

use super::deadline::{Deadline, DEADLINE_TOKEN};
use super::scheduled_io::{self, ScheduledIo};

const WAKE_TOKEN: Token = Token(usize::MAX);
/// Never a slab token: its index part is `INDEX_MASK - 1`, above where `register`
/// stops (so is `DEADLINE_TOKEN`'s, `INDEX_MASK - 2`).
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

/// What only the driver holder touches: the poll, its event buffer, and the
/// registrations an event batch readies (kept to reuse its allocation).
struct Turn {
    poll: Poll,
    events: Events,
    batch: Vec<(Arc<ScheduledIo>, usize)>,
    /// Ends a wait for a timer to the nanosecond (`deadline.rs`); `None` where the
    /// platform has none.
    deadline: Option<Deadline>,
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
    registry: Registry,
    waker: mio::Waker,
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
        let waker = mio::Waker::new(poll.registry(), WAKE_TOKEN)?;
        let deadline = Deadline::new(poll.registry());
        Ok(Reactor {
            poll: Mutex::new(Turn {
                poll,
                events: Events::with_capacity(EVENTS_CAPACITY),
                batch: Vec::with_capacity(EVENTS_CAPACITY),
                deadline,
            }),
            registry,
            waker,
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

    /// Interrupts the poll of the driver holder (or makes its next one return).
    pub(crate) fn wake(&self) {
        // Failure means the eventfd counter is saturated: a wake is pending anyway.
        let _ = self.waker.wake();
    }

    /// Polls for events for `timeout` at most (`None`: until one arrives or a wake)
    /// and dispatches them. Returns how many registrations got readiness.
    pub(crate) fn turn(&self, timeout: Option<Duration>) -> usize {
        let mut guard = self.poll.lock().unwrap_or_else(|e| e.into_inner());
        let Turn {
            poll,
            events,
            batch,
            deadline,
        } = &mut *guard;
        if let (Some(t), Some(d)) = (timeout, deadline.as_ref()) {
            // Ends the wait at `t` exactly; the poll's own timeout (rounded up to
            // whole milliseconds) stays as the backstop.
            d.arm(t);
        }
        if let Err(e) = poll.poll(events, timeout) {
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
                    WAKE_TOKEN => {}
                    SIGNAL_TOKEN => signal = true,
                    DEADLINE_TOKEN => {
                        if let Some(d) = deadline.as_ref() {
                            d.clear();
                        }
                    }
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
        let token = {
            let mut slab = self.slab();
            if self.shutdown.load(Acquire) {
                return Err(scheduled_io::gone());
            }
            let index = match slab.free.pop() {
                Some(i) => i,
                None => {
                    let i = slab.slots.len();
                    // The top three indices belong to `DEADLINE_TOKEN`, `SIGNAL_TOKEN`
                    // and `WAKE_TOKEN`.
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
            slot.io = Some(io.clone());
            token_of(index, slot.generation)
        };
        self.registered.fetch_add(1, Relaxed);
        if let Err(e) = self.registry.register(source, token, interest) {
            self.release(token);
            return Err(e);
        }
        Ok((token, io))
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
