//! The root poll: the one wait that watches every worker's reactor at once.
//!
//! Each worker's reactor is an epoll instance, and an epoll instance is itself
//! pollable: it reads as ready while events are queued in it. The root poll holds
//! every worker's epoll descriptor (edge-triggered: one report per event queued), the
//! deadline timer and a waker. The worker that holds the driver sleeps here with the
//! next timer's timeout (Go's one M in `netpoll(delay)`), so a socket whose worker is
//! busy, or sleeping elsewhere, is still noticed; `driver.rs` decides what happens to
//! each report (`handoff.rs`).
//!
//! # Invariants
//! - Only the driver holder turns the root (the driver's lock guarantees it; the
//!   mutex is never contended and only makes that visible to the compiler).
//! - [`Root::wake`] leaves an event pending until the next turn, so a wake sent before
//!   the holder blocks makes that turn return at once.

use std::io;
use std::sync::Mutex;
use std::time::Duration;

use mio::{Events, Interest, Poll, Token};

use super::deadline::{Deadline, DEADLINE_TOKEN};
use super::Reactor;

const WAKE_TOKEN: Token = Token(usize::MAX);

struct Turn {
    poll: Poll,
    events: Events,
    /// Ends a wait for a timer to the nanosecond (`deadline.rs`); `None` where the
    /// platform has none.
    deadline: Option<Deadline>,
}

pub(crate) struct Root {
    turn: Mutex<Turn>,
    waker: mio::Waker,
}

impl Root {
    /// A root watching `reactors`; a report names a reactor by its index there.
    pub(crate) fn new(reactors: &[std::sync::Arc<Reactor>]) -> io::Result<Root> {
        let poll = Poll::new()?;
        let waker = mio::Waker::new(poll.registry(), WAKE_TOKEN)?;
        let deadline = Deadline::new(poll.registry());
        for (i, r) in reactors.iter().enumerate() {
            poll.registry().register(
                &mut mio::unix::SourceFd(&r.raw_fd()),
                Token(i),
                Interest::READABLE,
            )?;
        }
        Ok(Root {
            turn: Mutex::new(Turn {
                poll,
                events: Events::with_capacity(reactors.len().max(1) + 2),
                deadline,
            }),
            waker,
        })
    }

    /// Interrupts the holder's wait (or makes its next one return at once).
    pub(crate) fn wake(&self) {
        // Failure means the eventfd counter is saturated: a wake is pending anyway.
        let _ = self.waker.wake();
    }

    /// Waits for `timeout` at most (`None`: until a report or a wake) and pushes onto
    /// `ready` the index of each reactor that had events queued.
    pub(crate) fn turn(&self, timeout: Option<Duration>, ready: &mut Vec<usize>) {
        let mut guard = self.turn.lock().unwrap_or_else(|e| e.into_inner());
        let Turn {
            poll,
            events,
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
                return;
            }
        }
        for ev in events.iter() {
            match ev.token() {
                WAKE_TOKEN => {}
                DEADLINE_TOKEN => {
                    if let Some(d) = deadline.as_ref() {
                        d.clear();
                    }
                }
                Token(i) => ready.push(i),
            }
        }
    }
}
