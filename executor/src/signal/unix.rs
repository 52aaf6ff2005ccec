//! Unix signals: [`SignalKind`], [`signal`] and the [`Signal`] listener (tokio's
//! `tokio::signal::unix` shape).

use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::Stream;
use libc::c_int;

use super::registry::{self, Slot};

/// A Unix signal number, with constructors for the common ones.
///
/// ```
/// use gorun_executor::signal::unix::SignalKind;
///
/// assert_eq!(SignalKind::terminate().as_raw_value(), libc::SIGTERM);
/// assert_eq!(SignalKind::from_raw(libc::SIGUSR1), SignalKind::user_defined1());
/// assert_eq!(format!("{:?}", SignalKind::interrupt()), "SIGINT");
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SignalKind(c_int);

impl SignalKind {
    /// Any signal, by number (e.g. `libc::SIGRTMIN() + 1`). Whether it can be
    /// handled is checked by [`signal`].
    pub const fn from_raw(signum: c_int) -> SignalKind {
        SignalKind(signum)
    }

    /// The signal number.
    pub const fn as_raw_value(&self) -> c_int {
        self.0
    }

    /// `SIGINT`: Ctrl+C in a terminal (Go's `os.Interrupt`).
    pub const fn interrupt() -> SignalKind {
        SignalKind(libc::SIGINT)
    }

    /// `SIGTERM`: the polite "please stop" of `kill`, systemd and Kubernetes.
    pub const fn terminate() -> SignalKind {
        SignalKind(libc::SIGTERM)
    }

    /// `SIGHUP`: the terminal went away; daemons often reload their config on it.
    pub const fn hangup() -> SignalKind {
        SignalKind(libc::SIGHUP)
    }

    /// `SIGQUIT`: Ctrl+\ in a terminal.
    pub const fn quit() -> SignalKind {
        SignalKind(libc::SIGQUIT)
    }

    /// `SIGUSR1`.
    pub const fn user_defined1() -> SignalKind {
        SignalKind(libc::SIGUSR1)
    }

    /// `SIGUSR2`.
    pub const fn user_defined2() -> SignalKind {
        SignalKind(libc::SIGUSR2)
    }

    /// `SIGCHLD`: a child process changed state.
    pub const fn child() -> SignalKind {
        SignalKind(libc::SIGCHLD)
    }

    /// `SIGPIPE`: a write to a pipe or socket with no reader.
    pub const fn pipe() -> SignalKind {
        SignalKind(libc::SIGPIPE)
    }

    /// `SIGALRM`: a timer set with `alarm(2)` expired.
    pub const fn alarm() -> SignalKind {
        SignalKind(libc::SIGALRM)
    }

    /// `SIGWINCH`: the terminal window changed size.
    pub const fn window_change() -> SignalKind {
        SignalKind(libc::SIGWINCH)
    }

    fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            libc::SIGINT => "SIGINT",
            libc::SIGTERM => "SIGTERM",
            libc::SIGHUP => "SIGHUP",
            libc::SIGQUIT => "SIGQUIT",
            libc::SIGUSR1 => "SIGUSR1",
            libc::SIGUSR2 => "SIGUSR2",
            libc::SIGCHLD => "SIGCHLD",
            libc::SIGPIPE => "SIGPIPE",
            libc::SIGALRM => "SIGALRM",
            libc::SIGWINCH => "SIGWINCH",
            libc::SIGKILL => "SIGKILL",
            libc::SIGSTOP => "SIGSTOP",
            libc::SIGSEGV => "SIGSEGV",
            libc::SIGBUS => "SIGBUS",
            libc::SIGILL => "SIGILL",
            libc::SIGFPE => "SIGFPE",
            _ => return None,
        })
    }
}

impl From<c_int> for SignalKind {
    fn from(signum: c_int) -> SignalKind {
        SignalKind(signum)
    }
}

impl From<SignalKind> for c_int {
    fn from(kind: SignalKind) -> c_int {
        kind.0
    }
}

impl fmt::Debug for SignalKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => f.write_str(name),
            None => write!(f, "signal {}", self.0),
        }
    }
}

impl fmt::Display for SignalKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// Starts listening for `kind`: installs the process-wide handler on first use
/// (from then on the signal's default action, such as terminating the process, no
/// longer happens) and returns a [`Signal`] that sees every delivery from now on.
///
/// Fails with [`io::ErrorKind::InvalidInput`] for a signal that cannot be handled
/// (`SIGKILL`, `SIGSTOP`, `SIGSEGV`, `SIGBUS`, `SIGILL`, `SIGFPE`) or is not a
/// signal number.
///
/// ```
/// use gorun_executor::signal::unix::{signal, SignalKind};
///
/// let rt = gorun_executor::Runtime::builder().procs(1).build().unwrap();
/// rt.block_on(async {
///     let mut usr1 = signal(SignalKind::user_defined1())?;
///     // SAFETY: kill(2) with our own pid and a signal we handle.
///     unsafe { libc::kill(libc::getpid(), libc::SIGUSR1) };
///     assert_eq!(usr1.recv().await, Some(())); // sent before we waited: not lost
///     assert!(signal(SignalKind::from_raw(libc::SIGKILL)).is_err());
///     std::io::Result::Ok(())
/// })
/// .unwrap();
/// ```
pub fn signal(kind: SignalKind) -> io::Result<Signal> {
    let slot = registry::slot(kind.0)?;
    registry::ensure_driver()?;
    Ok(Signal {
        kind,
        slot,
        id: registry::next_id(),
        seen: slot.version(),
    })
}

/// A listener for one signal, made by [`signal`].
///
/// Every `Signal` of a kind is woken by each delivery (a broadcast). Deliveries
/// that arrive while nobody awaits are remembered: the next [`recv`](Self::recv)
/// returns at once. Several deliveries before one `recv` coalesce into one, as the
/// kernel itself coalesces a pending signal. Also a [`Stream`] of `()`.
pub struct Signal {
    kind: SignalKind,
    slot: &'static Slot,
    id: u64,
    /// The slot's version this listener has reported.
    seen: u64,
}

impl Signal {
    /// The signal this listens for.
    pub fn kind(&self) -> SignalKind {
        self.kind
    }

    /// Waits for the next delivery of the signal (or returns at once if one came
    /// since the last `recv`). Cancel-safe: dropping the future loses nothing.
    ///
    /// Always `Some(())`; the `Option` is tokio's shape, where `None` means no
    /// more deliveries can come.
    pub fn recv(&mut self) -> Recv<'_> {
        Recv { signal: self }
    }

    /// Polls for the next delivery; see [`recv`](Self::recv).
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<()>> {
        // The reactor of the runtime polling us must watch the pipe (a `Signal`
        // may be created in one runtime and awaited in another). If it cannot (the
        // runtime is shutting down), the pipe is still drained below.
        let _ = registry::ensure_driver();
        let now = self.slot.version();
        if now != self.seen {
            self.seen = now;
            return Poll::Ready(Some(()));
        }
        let now = self.slot.register(self.id, self.seen, cx.waker());
        if now != self.seen {
            self.seen = now;
            return Poll::Ready(Some(()));
        }
        // A signal the reactor has not dispatched yet (a busy runtime): take it now.
        if registry::dispatch() > 0 && self.slot.version() != self.seen {
            self.seen = self.slot.version();
            return Poll::Ready(Some(()));
        }
        Poll::Pending
    }
}

impl Drop for Signal {
    fn drop(&mut self) {
        self.slot.unregister(self.id);
    }
}

impl fmt::Debug for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signal").field("kind", &self.kind).finish()
    }
}

impl Stream for Signal {
    type Item = ();

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<()>> {
        self.get_mut().poll_recv(cx)
    }
}

/// The future of [`Signal::recv`].
#[must_use = "futures do nothing unless polled"]
#[derive(Debug)]
pub struct Recv<'a> {
    signal: &'a mut Signal,
}

impl Future for Recv<'_> {
    type Output = Option<()>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<()>> {
        self.signal.poll_recv(cx)
    }
}
