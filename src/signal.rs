//! Signals: Go's `os/signal` (and tokio's `tokio::signal`) on gorun's reactor.
//!
//! | Go | gorun |
//! |----|-------|
//! | `signal.Notify(c, os.Interrupt)`; `<-c` | [`ctrl_c`]`().await`, or [`notify`]`(&[SignalKind::interrupt()])` → a [`Receiver`] |
//! | `signal.Notify(c, syscall.SIGTERM, syscall.SIGHUP)` | [`notify`]`(&[SignalKind::terminate(), SignalKind::hangup()])` |
//! | `case s := <-c:` in a `select` | `recv(rx) -> s` (a [`notify`] channel), or `_ = sig.recv() =>` (a [`Signal`]) in [`select!`](crate::select) |
//! | `signal.NotifyContext(ctx, os.Interrupt)` | `select!` on [`ctrl_c`] and the work, then `cancel.cancel()` (see `examples/graceful_shutdown.rs`) |
//! | `syscall.SIGTERM`, `syscall.Signal(n)` | [`SignalKind::terminate`], [`SignalKind::from_raw`]`(n)` |
//! | tokio: `signal::unix::signal(SignalKind::terminate())?.recv().await` | the same: [`unix::signal`], [`Signal::recv`] |
//!
//! How it works: the first listener of a signal installs a process-wide handler
//! (with `signal-hook-registry`, as tokio does) that only sets a flag and writes a
//! byte to a self-pipe. Every runtime with a listener polls that pipe in its mio
//! reactor; whichever sees it first wakes every listener of the signal, in any
//! runtime. Every [`Signal`] of a kind is woken by each delivery, and a delivery
//! that comes while nobody awaits is kept for the next `recv`. Once a handler is
//! installed the signal's default action (for `SIGINT` and `SIGTERM`: terminating
//! the process) no longer happens. `SIGKILL`, `SIGSTOP` and the fault signals
//! (`SIGSEGV`, `SIGBUS`, `SIGILL`, `SIGFPE`) cannot be handled: asking for them is
//! an [`io::Error`] of kind `InvalidInput`.
//!
//! ```no_run
//! use std::time::Duration;
//! use gorun::signal::{self, SignalKind};
//!
//! #[gorun::main]
//! async fn main() -> std::io::Result<()> {
//!     let mut term = signal::unix::signal(SignalKind::terminate())?;
//!     let interrupts = signal::notify(&[SignalKind::interrupt(), SignalKind::hangup()])?;
//!     loop {
//!         gorun::select! {
//!             _ = term.recv() => break,                    // a Signal, as a future case
//!             recv(interrupts) -> s => println!("got {s:?}"), // a notify channel
//!             recv(gorun::time::after(Duration::from_secs(1))) -> _ => println!("tick"),
//!         }
//!     }
//!     println!("terminated");
//!     Ok(())
//! }
//! ```

use std::io;

use crate::{chan, Receiver, TrySendError};

#[doc(inline)]
pub use gorun_executor::signal::ctrl_c;
#[doc(inline)]
pub use gorun_executor::signal::unix::{signal, Signal, SignalKind};

/// Unix signals, under tokio's path (`gorun::signal::unix::signal`).
pub mod unix {
    #[doc(inline)]
    pub use gorun_executor::signal::unix::{signal, Recv, Signal, SignalKind};
}

/// Go's `signal.Notify`: a channel that receives each delivery of any of `kinds`.
///
/// As in Go, deliveries are sent without blocking: the channel has room for one
/// pending signal per kind, and a delivery that finds it full is dropped (the
/// receiver has not caught up with the earlier ones yet). The channel never
/// closes; once every [`Receiver`] is dropped, the next delivery unsubscribes it.
///
/// ```
/// use gorun::signal::{self, SignalKind};
///
/// #[gorun::main]
/// async fn main() -> std::io::Result<()> {
///     let rx = signal::notify(&[SignalKind::user_defined2()])?;
///     // SAFETY: kill(2) with our own pid and a signal that now has a handler.
///     unsafe { libc::kill(libc::getpid(), libc::SIGUSR2) };
///     let got = gorun::time::timeout(std::time::Duration::from_secs(10), rx.recv()).await;
///     assert_eq!(got.unwrap(), Some(SignalKind::user_defined2()));
///     Ok(())
/// }
/// ```
pub fn notify(kinds: &[SignalKind]) -> io::Result<Receiver<SignalKind>> {
    // Check (and install) every kind before subscribing any, so an error leaves no
    // subscriber behind; the handlers installed stay, as installed handlers always do.
    for &kind in kinds {
        drop(signal(kind)?);
    }
    let (tx, rx) = chan(kinds.len().max(1));
    for &kind in kinds {
        let tx = tx.clone();
        gorun_executor::signal::__subscribe(
            kind,
            Box::new(move || !matches!(tx.try_send(kind), Err(TrySendError::Closed(_)))),
        )?;
    }
    Ok(rx)
}
