//! A select over a set of operations built at run time: Go's `reflect.Select`,
//! crossbeam's `Select`, tokio users' `StreamMap`. [`DynSelect`] holds any number of
//! receives and sends of one value type; [`select`](DynSelect::select) fires exactly
//! one of them, with the same protocol (and guarantees) as `select!`.
//!
//! The cases live in a `Vec` the set owns, whose heap buffer does not move while a
//! select borrows the set (nothing can be added then), so their waiters stay put;
//! the select withdraws them before the borrow ends, also when it is dropped
//! half-way. A set can be selected on again and again: a receive case fires as
//! often as values come, a send case once (then it is spent, as if disabled).

use std::fmt;
use std::future::Future;
use std::marker::PhantomPinned;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use crate::case::{RecvCase, SendCase};
use crate::error::SendError;
use crate::handle::{Receiver, Sender};
use crate::select::{CaseKind, CaseList, SelectCase, SelectState, TakeOutput};

/// What the case that fired did: a receive's value (`None`: closed and drained), or
/// a send's result.
#[derive(Debug, PartialEq, Eq)]
pub enum DynOutcome<T> {
    /// A receive case fired.
    Recv(Option<T>),
    /// A send case fired.
    Send(Result<(), SendError<T>>),
}

enum DynCase<'a, T> {
    Recv(RecvCase<'a, T>),
    /// A send case; disabled once it fired or gave its value back.
    Send(SendCase<'a, T>),
}

impl<'a, T> DynCase<'a, T> {
    fn pin(&mut self) -> Pin<&mut dyn SelectCase> {
        // SAFETY: the case lives in the set's `Vec`, whose buffer does not move while
        // a select borrows the set, and is never moved out of it (see the module
        // docs); between selects no waiter of it is queued.
        unsafe {
            match self {
                DynCase::Recv(c) => Pin::new_unchecked(c as &mut dyn SelectCase),
                DynCase::Send(c) => Pin::new_unchecked(c as &mut dyn SelectCase),
            }
        }
    }
}

/// A select over operations added at run time, any number of them, all on values of
/// one type `T` (Go's `reflect.Select`). Exactly one case fires per
/// [`select`](DynSelect::select), chosen uniformly at random among the ready ones
/// (or the first ready one, [`biased`](DynSelect::biased)); a send case that does not
/// fire keeps its value, which [`take_unsent`](DynSelect::take_unsent) gives back.
///
/// ```
/// # futures::executor::block_on(async {
/// use gorun_channel::{chan, DynOutcome, DynSelect};
///
/// let chans: Vec<_> = (0..100).map(|_| chan::<usize>(1)).collect();
/// chans[42].0.try_send(7).unwrap();
/// let mut set = DynSelect::new();
/// for (_, rx) in &chans {
///     set.recv(rx);
/// }
/// assert_eq!(set.select().await, (42, DynOutcome::Recv(Some(7))));
/// assert_eq!(set.try_select(), None); // nothing else is ready
/// # });
/// ```
pub struct DynSelect<'a, T> {
    cases: Vec<DynCase<'a, T>>,
    biased: bool,
}

impl<T> Default for DynSelect<'_, T> {
    fn default() -> Self {
        DynSelect::new()
    }
}

impl<T> fmt::Debug for DynSelect<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DynSelect")
            .field("cases", &self.cases.len())
            .field("biased", &self.biased)
            .finish()
    }
}

impl<'a, T> DynSelect<'a, T> {
    /// An empty set (selecting on it never resolves, like Go's `select {}`).
    pub fn new() -> Self {
        DynSelect {
            cases: Vec::new(),
            biased: false,
        }
    }

    /// Try the cases in the order they were added instead of at random.
    pub fn biased(&mut self) -> &mut Self {
        self.biased = true;
        self
    }

    /// Adds a receive from `rx`; returns its index.
    pub fn recv(&mut self, rx: &'a Receiver<T>) -> usize {
        self.cases.push(DynCase::Recv(RecvCase::new(Some(rx))));
        self.cases.len() - 1
    }

    /// Adds a send of `value` on `tx`; returns its index. It fires at most once.
    pub fn send(&mut self, tx: &'a Sender<T>, value: T) -> usize {
        self.cases
            .push(DynCase::Send(SendCase::new(Some(tx), value)));
        self.cases.len() - 1
    }

    /// The number of cases.
    pub fn len(&self) -> usize {
        self.cases.len()
    }

    /// Whether there are no cases.
    pub fn is_empty(&self) -> bool {
        self.cases.is_empty()
    }

    /// Disables case `i` (Go's nil channel in `reflect.Select`): it never fires
    /// again; indices do not change. For a send case that has not fired, returns its
    /// value. A receive loop disables a channel once it reports closed.
    pub fn disable(&mut self, i: usize) -> Option<T> {
        match self.cases.get_mut(i)? {
            DynCase::Recv(c) => {
                // SAFETY: no select borrows the set (we have `&mut self`), so no
                // waiter of the case is queued; it is not moved.
                unsafe { Pin::new_unchecked(c) }.disable();
                None
            }
            DynCase::Send(_) => self.take_unsent(i),
        }
    }

    /// The value of send case `i` if it has not fired (`None` for a receive case, or
    /// a send that fired). The case is spent afterwards.
    pub fn take_unsent(&mut self, i: usize) -> Option<T> {
        match self.cases.get_mut(i)? {
            DynCase::Send(c) => {
                // SAFETY: no select borrows the set (we have `&mut self`), so no
                // waiter of the case is queued; it is not moved.
                let mut c = unsafe { Pin::new_unchecked(c) };
                let v = c.as_mut().take_unsent();
                c.disable();
                v
            }
            DynCase::Recv(_) => None,
        }
    }

    /// Waits until one case fires; returns its index and what it did.
    pub fn select(&mut self) -> DynSelectFuture<'_, 'a, T> {
        let biased = self.biased;
        DynSelectFuture {
            set: self,
            state: SelectState::new(biased, false),
            _pin: PhantomPinned,
        }
    }

    /// Fires a case that is ready now, if any (Go's `select` with `default`): one
    /// instant's choice over every channel of the set, locked together.
    pub fn try_select(&mut self) -> Option<(usize, DynOutcome<T>)> {
        let biased = self.biased;
        let mut state = std::pin::pin!(SelectState::new(biased, true));
        let mut list = Cases(&mut self.cases);
        let mut cx = Context::from_waker(Waker::noop());
        match state.as_mut().poll(&mut list, &mut cx) {
            Poll::Ready(Some(i)) => Some((i, take_output(&mut self.cases, i))),
            Poll::Ready(None) | Poll::Pending => None,
        }
    }
}

/// The set's cases as a [`CaseList`].
struct Cases<'s, 'a, T>(&'s mut Vec<DynCase<'a, T>>);

impl<T> CaseList for Cases<'_, '_, T> {
    fn len(&self) -> usize {
        self.0.len()
    }

    fn case(&mut self, i: usize) -> Pin<&mut dyn SelectCase> {
        self.0[i].pin()
    }

    fn kind(&self, i: usize) -> CaseKind {
        match &self.0[i] {
            DynCase::Recv(c) => c.kind(),
            DynCase::Send(c) => c.kind(),
        }
    }
}

/// Takes the output of case `i`, which fired; a send case is spent.
fn take_output<T>(cases: &mut [DynCase<'_, T>], i: usize) -> DynOutcome<T> {
    match &mut cases[i] {
        // SAFETY: the select that fired it is over; the case is not moved.
        DynCase::Recv(c) => DynOutcome::Recv(unsafe { Pin::new_unchecked(c) }.take_output()),
        DynCase::Send(c) => {
            // SAFETY: as above.
            let mut c = unsafe { Pin::new_unchecked(c) };
            let out = c.as_mut().take_output();
            c.disable();
            DynOutcome::Send(out)
        }
    }
}

/// The future of [`DynSelect::select`].
#[must_use = "futures do nothing unless polled"]
pub struct DynSelectFuture<'s, 'a, T> {
    set: &'s mut DynSelect<'a, T>,
    state: SelectState,
    _pin: PhantomPinned,
}

impl<'s, 'a, T> DynSelectFuture<'s, 'a, T> {
    fn project(self: Pin<&mut Self>) -> (Cases<'_, 'a, T>, Pin<&mut SelectState>) {
        // SAFETY: `state` is structurally pinned (queued waiters point at its flag),
        // and `Drop` withdraws every case before it goes; the rest is not pinned.
        unsafe {
            let this = self.get_unchecked_mut();
            (
                Cases(&mut this.set.cases),
                Pin::new_unchecked(&mut this.state),
            )
        }
    }
}

impl<T> Future for DynSelectFuture<'_, '_, T> {
    type Output = (usize, DynOutcome<T>);

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let (mut list, state) = self.project();
        // With no enabled case left, this stays pending forever (Go's `select {}`).
        let Some(i) = std::task::ready!(state.poll(&mut list, cx)) else {
            unreachable!("a select without default fires a case")
        };
        Poll::Ready((i, take_output(list.0, i)))
    }
}

impl<T> Drop for DynSelectFuture<'_, '_, T> {
    fn drop(&mut self) {
        // SAFETY: we are being dropped: `self` stays put until the end.
        let (mut list, state) = unsafe { Pin::new_unchecked(self) }.project();
        state.cancel(&mut list);
    }
}

impl<T> fmt::Debug for DynSelectFuture<'_, '_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DynSelectFuture")
            .field("cases", &self.set.cases.len())
            .finish_non_exhaustive()
    }
}

/// Receives from whichever of `receivers` has a value first (Go's `reflect.Select`
/// over receive cases): the index and the value (`None`: that channel is closed and
/// drained). Allocates its case list; for a receive loop, keep a [`DynSelect`].
///
/// ```
/// # futures::executor::block_on(async {
/// let (txs, rxs): (Vec<_>, Vec<_>) = (0..3).map(|_| gorun_channel::chan::<&str>(1)).unzip();
/// txs[2].try_send("c").unwrap();
/// assert_eq!(gorun_channel::recv_any(&rxs).await, (2, Some("c")));
/// # });
/// ```
pub async fn recv_any<T>(receivers: &[Receiver<T>]) -> (usize, Option<T>) {
    let mut set = DynSelect::new();
    for rx in receivers {
        set.recv(rx);
    }
    match set.select().await {
        (i, DynOutcome::Recv(v)) => (i, v),
        (_, DynOutcome::Send(_)) => unreachable!("only receive cases"),
    }
}
