//! Wait reasons: what a parked task waits on, for task dumps (Go's
//! `goroutine 7 [chan receive]:`).
//!
//! # The rule
//! A resource calls [`set_wait_reason`] right before it returns `Poll::Pending`
//! having registered a waker. The executor clears the slot before each poll of a task
//! and, when the poll returns `Pending`, keeps what was set last ([`take_wait_reason`]).
//! So the **last reason set in a poll wins**, which makes the *outermost* combinator
//! win when combinators set theirs after polling their children: `select!` polls its
//! cases (which set `ChanRecv`, `Sleep`, ...) and then sets `Select`; `timeout(d, f)`
//! polls `f` and then sets `Timeout`. A future that sets nothing leaves
//! [`WaitReason::Other`].
//!
//! The slot is one thread-local byte: setting it is one store, and outside a gorun
//! executor nobody reads it.

use std::cell::Cell;
use std::fmt;

thread_local! {
    static WAIT: Cell<u8> = const { Cell::new(0) };
}

/// What a waiting task waits on, as shown in a task dump.
///
/// A resource calls [`set_wait_reason`] right before it returns `Poll::Pending`; the
/// executor keeps the reason set **last** in the task's poll. Combinators set theirs
/// after polling their children, so the outermost wins: a `select!` over channel
/// cases shows as [`Select`](WaitReason::Select), `timeout(d, rx.recv())` as
/// [`Timeout`](WaitReason::Timeout). A future that sets none shows as
/// [`Other`](WaitReason::Other).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
#[repr(u8)]
pub enum WaitReason {
    /// Nothing gorun knows of (a future of another library, `std::future::pending`).
    #[default]
    Other = 0,
    /// Receiving from a channel.
    ChanRecv,
    /// Sending on a channel.
    ChanSend,
    /// In a `select!` (on several channel cases or futures).
    Select,
    /// `time::sleep` / `sleep_until`, or a `Timer`.
    Sleep,
    /// `time::timeout` (its inner future and the deadline).
    Timeout,
    /// `Ticker::tick` / `Interval`.
    Ticker,
    /// Waiting for a socket to become readable.
    IoRead,
    /// Waiting for a socket to become writable.
    IoWrite,
    /// `TcpListener::accept` / `UnixListener::accept`.
    IoAccept,
    /// Awaiting another task's `JoinHandle`.
    Join,
    /// `sync::Mutex` or `RwLock`.
    Lock,
    /// `sync::Semaphore::acquire`.
    Semaphore,
    /// `sync::WaitGroup::wait`.
    WaitGroup,
    /// `sync::Notify`.
    Notify,
    /// `context::Context::done`.
    ContextDone,
    /// `errgroup::Group::wait`.
    ErrGroup,
    /// `sync::Once` / `OnceCell`: another task runs the initializer.
    Once,
    /// A `select!` with no case enabled (every guard false, every future arm
    /// spent) and neither `default` nor `else`: blocked forever, as Go's
    /// `select {}`.
    SelectNoCases,
}

const ALL: [WaitReason; 19] = [
    WaitReason::Other,
    WaitReason::ChanRecv,
    WaitReason::ChanSend,
    WaitReason::Select,
    WaitReason::Sleep,
    WaitReason::Timeout,
    WaitReason::Ticker,
    WaitReason::IoRead,
    WaitReason::IoWrite,
    WaitReason::IoAccept,
    WaitReason::Join,
    WaitReason::Lock,
    WaitReason::Semaphore,
    WaitReason::WaitGroup,
    WaitReason::Notify,
    WaitReason::ContextDone,
    WaitReason::ErrGroup,
    WaitReason::Once,
    WaitReason::SelectNoCases,
];

impl WaitReason {
    /// The reason stored as `byte` by [`as_u8`](WaitReason::as_u8); `Other` for an
    /// unknown byte.
    pub fn from_u8(byte: u8) -> WaitReason {
        ALL.get(byte as usize).copied().unwrap_or(WaitReason::Other)
    }

    /// The reason as one byte, for executors to store in a task.
    pub fn as_u8(self) -> u8 {
        self as u8
    }

    /// Go-style text: `"chan receive"`, `"select"`, `"sleep"`, `"IO wait (read)"`, ...
    pub fn as_str(self) -> &'static str {
        match self {
            WaitReason::Other => "waiting",
            WaitReason::ChanRecv => "chan receive",
            WaitReason::ChanSend => "chan send",
            WaitReason::Select => "select",
            WaitReason::Sleep => "sleep",
            WaitReason::Timeout => "timeout",
            WaitReason::Ticker => "ticker",
            WaitReason::IoRead => "IO wait (read)",
            WaitReason::IoWrite => "IO wait (write)",
            WaitReason::IoAccept => "IO wait (accept)",
            WaitReason::Join => "join",
            WaitReason::Lock => "sync.Mutex",
            WaitReason::Semaphore => "sync.Semaphore",
            WaitReason::WaitGroup => "sync.WaitGroup",
            WaitReason::Notify => "sync.Notify",
            WaitReason::ContextDone => "context done",
            WaitReason::ErrGroup => "errgroup wait",
            WaitReason::Once => "sync.Once",
            WaitReason::SelectNoCases => "select (no cases)",
        }
    }
}

impl fmt::Display for WaitReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Records what the current task is about to wait on. Call it right before returning
/// `Poll::Pending` (see the module docs for which call wins).
///
/// ```
/// use gorun_coop::{set_wait_reason, take_wait_reason, WaitReason};
/// set_wait_reason(WaitReason::ChanRecv);
/// set_wait_reason(WaitReason::Select); // the outer select! sets its reason last
/// assert_eq!(take_wait_reason(), WaitReason::Select);
/// assert_eq!(take_wait_reason(), WaitReason::Other);
/// ```
#[inline]
pub fn set_wait_reason(reason: WaitReason) {
    let _ = WAIT.try_with(|w| w.set(reason as u8));
}

/// Returns the reason set last on this thread and clears it. Executors call it
/// before a poll (to clear) and after a `Pending` poll (to keep the reason).
#[inline]
pub fn take_wait_reason() -> WaitReason {
    WaitReason::from_u8(WAIT.try_with(|w| w.replace(0)).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_round_trip() {
        for (i, r) in ALL.iter().enumerate() {
            assert_eq!(r.as_u8() as usize, i);
            assert_eq!(WaitReason::from_u8(r.as_u8()), *r);
        }
        assert_eq!(WaitReason::from_u8(200), WaitReason::Other);
    }
}
