//! Go channels for async Rust: gorun's `hchan`.
//!
//! [`chan()`] makes a channel of any capacity (0 = rendezvous) with cloneable
//! [`Sender`]s and [`Receiver`]s (MPMC). It works on any executor through the
//! standard `Waker` (gorun, tokio, `futures::executor`, plain threads via the
//! `blocking_*` calls) and, on gorun, charges the cooperative budget.
//!
//! ```
//! # futures::executor::block_on(async {
//! let (tx, rx) = gorun_channel::chan::<u32>(0);
//! let producer = async move {
//!     for i in 0..3 { tx.send(i).await.unwrap(); }
//!     // `tx` dropped here: the last sender closes the channel.
//! };
//! let consumer = async {
//!     let mut got = vec![];
//!     while let Some(v) = rx.recv().await { got.push(v); }
//!     got
//! };
//! let ((), got) = futures::join!(producer, consumer);
//! assert_eq!(got, [0, 1, 2]);
//! # });
//! ```
//!
//! # Guarantees
//! * **No loss, no duplication under cancellation.** Dropping a send or recv
//!   future at any await point withdraws it. A value a sender already handed to a
//!   receive future that is dropped before returning it is re-delivered: to the
//!   next waiting receiver, or to the *front* of the channel, so the next receive
//!   gets it first. This holds for rendezvous channels too: a rendezvous send
//!   completes when the value is in a receiver's hands, and if that receiver is
//!   cancelled the value stays in the channel (which can then briefly hold more
//!   than `cap` values — `len()` shows it) instead of being lost.
//! * **No leaked senders.** When the last `Receiver` is dropped, parked and future
//!   sends fail with [`SendError`] carrying the value back.
//! * **Select commits one case.** [`Select`] (and the `select!` macro built on
//!   [`__private`]) fires exactly one case; a send case not chosen sends nothing.
//! * **No allocation per operation**: a parked operation's waiter lives in its
//!   pinned future; the ring buffer grows on demand up to the capacity (doubling)
//!   and then stays.
//!
//! Unlike Go, sending on (or closing) a closed channel does not panic: `send`
//! returns the value in an error and `close` reports whether it closed.
//!
//! # Design
//! One lock guards a ring buffer and two intrusive FIFO wait queues, exactly as
//! Go's `runtime/chan.go`; its waiters spin as Go's runtime lock does, in spaced
//! rounds, then nap (`gorun_spinlock::SpinLock::spaced`); see the invariants in
//! `chan.rs`, the waiter ground rules in `waiter.rs` and the select protocol in
//! `select.rs`.
#![warn(missing_docs)]

mod builder;
mod case;
mod chan;
mod dynamic;
mod error;
mod future;
mod handle;
mod loom;
mod op;
#[cfg(not(loom))]
mod plain_thread;
mod select;
mod stream;
mod timer_hook;
mod waiter;

pub use builder::{Blocking, Cases, Select, SelectFuture, Selected};
pub use dynamic::{recv_any, DynOutcome, DynSelect, DynSelectFuture};
pub use error::{RecvTimeoutError, SendError, SendTimeoutError, TryRecvError, TrySendError};
pub use future::{RecvFuture, SendFuture};
pub use handle::{chan, Receiver, Sender};
#[cfg(not(loom))]
pub use plain_thread::Iter;

/// Internals for the `select!` macro. Not a stable API.
///
/// `select!` expands to: one pinned case per arm (`RecvCase::new`,
/// `SendCase::new`, `FutureCase::new`; `None` for a disabled arm), a pinned
/// `SelectState` polled over a slice of those cases rebuilt on each poll (so the
/// select future is `Send` when its cases are; `SelectArray` holds the `dyn` slice
/// across awaits and is not), and a `match` on the fired index that takes the
/// case's result with `TakeOutput::take_output`.
#[doc(hidden)]
pub mod __private {
    pub use crate::builder::SelectArray;
    pub use crate::case::{FutureCase, RecvCase, SendCase};
    pub use crate::select::{
        CaseKind, CaseList, NoCases, Register, SelectCase, SelectState, TakeOutput,
    };
    pub use crate::timer_hook::TimerHook;
    #[cfg(not(loom))]
    pub use crate::timer_hook::{timer_chan, TimerSender};
}
