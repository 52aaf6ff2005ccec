//! The I/O driver: a mio reactor per worker, a root poll that watches them all for
//! the worker that holds the driver (see `driver.rs`), and the readiness machinery
//! sockets are built on.
//!
//! - `reactor.rs`: a `mio::Poll`, its `Waker`, and the registration slab;
//! - `root.rs`: the poll over every reactor, where the driver holder sleeps;
//! - `handoff.rs`: who collects a worker's readiness when it does not;
//! - `deadline.rs`: a timerfd that ends a wait for a timer to the nanosecond;
//! - `scheduled_io.rs`: readiness per registration, with a tick so a stale readiness
//!   is never consumed and a wake never lost;
//! - `registration.rs`: what a socket holds; deregisters on drop;
//! - `async_fd.rs`: `AsyncFd`, any fd on the reactor (public as `crate::unix`).

mod async_fd;
mod deadline;
mod handoff;
mod reactor;
mod registration;
mod root;
mod scheduled_io;

pub use async_fd::{AsyncFd, AsyncFdReadyGuard, AsyncFdReadyMutGuard, Interest, TryIoError};
pub(crate) use handoff::Deferred;
pub(crate) use reactor::Reactor;
pub(crate) use registration::PollEvented;
pub(crate) use root::Root;
pub(crate) use scheduled_io::Direction;
