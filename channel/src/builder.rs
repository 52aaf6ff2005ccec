//! The public select builder, [`Select`], and the low-level array form the
//! `select!` macro expands to ([`crate::__private::SelectArray`]).
//!
//! Both keep every case inline in the (pinned) select future: a select with up to
//! 64 cases allocates nothing; beyond 64 the random order needs one `Vec`.

use std::convert::Infallible;
use std::fmt;
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use crate::case::{FutureCase, RecvCase, SendCase};
use crate::handle::{Receiver, Sender};
use crate::select::{SelectCase, SelectState, TakeOutput};

/// Which case of a [`Select`] fired, with its result: `Case0` for the first case
/// added, and so on (recv cases give `Option<T>`, send cases
/// `Result<(), SendError<T>>`, future cases the future's output). The unused
/// type parameters are [`Infallible`], so a `match` needs arms only for the
/// cases that exist.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Selected<
    A,
    B = Infallible,
    C = Infallible,
    D = Infallible,
    E = Infallible,
    F = Infallible,
    G = Infallible,
    H = Infallible,
> {
    Case0(A),
    Case1(B),
    Case2(C),
    Case3(D),
    Case4(E),
    Case5(F),
    Case6(G),
    Case7(H),
}

impl<A, B, C, D, E, F, G, H> Selected<A, B, C, D, E, F, G, H> {
    /// The index of the case that fired.
    pub fn index(&self) -> usize {
        match self {
            Selected::Case0(_) => 0,
            Selected::Case1(_) => 1,
            Selected::Case2(_) => 2,
            Selected::Case3(_) => 3,
            Selected::Case4(_) => 4,
            Selected::Case5(_) => 5,
            Selected::Case6(_) => 6,
            Selected::Case7(_) => 7,
        }
    }
}

/// A list of cases held by a [`Select`] (tuples of up to 8 cases).
pub trait Cases {
    /// The [`Selected`] type for this list.
    type Output;
    /// Runs `f` over the cases as a `dyn` slice.
    fn with_dyn<R>(self: Pin<&mut Self>, f: impl FnOnce(&mut [Pin<&mut dyn SelectCase>]) -> R)
        -> R;
    /// The output of case `i`, which fired.
    fn output(self: Pin<&mut Self>, i: usize) -> Self::Output;
}

/// Go's `select` statement as a builder: add cases with [`recv`](Select::recv),
/// [`send`](Select::send) and [`future`](Select::future) (up to 8), then `.await`
/// it; exactly one case fires, chosen uniformly at random among the ready ones
/// (or the first ready one after [`biased`](Select::biased)). A send case that did
/// not fire delivers nothing; its value is dropped with the select (`select!`'s
/// `unsent` clause and [`DynSelect::take_unsent`](crate::DynSelect::take_unsent)
/// give unsent values back).
///
/// ```
/// use gorun_channel::{chan, Select, Selected};
/// # futures::executor::block_on(async {
/// let (tx1, rx1) = chan::<i32>(1);
/// let (tx2, rx2) = chan::<String>(0);
/// tx1.send(7).await.unwrap();
/// match Select::new().recv(&rx1).send(&tx2, "hi".to_string()).await {
///     Selected::Case0(v) => assert_eq!(v, Some(7)),
///     Selected::Case1(res) => panic!("nobody receives on rx2: {res:?}"),
/// }
/// // With a default, nothing blocks:
/// assert!(Select::new().recv(&rx1).default().await.is_none());
/// # drop(rx2);
/// # });
/// ```
#[must_use = "a select does nothing unless awaited"]
pub struct Select<C> {
    cases: C,
    biased: bool,
}

impl Select<()> {
    /// An empty select (awaiting it with no cases never resolves, like Go's
    /// `select {}`).
    pub fn new() -> Self {
        Select {
            cases: (),
            biased: false,
        }
    }
}

impl Default for Select<()> {
    fn default() -> Self {
        Self::new()
    }
}

impl<C> fmt::Debug for Select<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Select")
            .field("biased", &self.biased)
            .finish_non_exhaustive()
    }
}

impl<C: Cases> Select<C> {
    /// Try cases in the order they were added instead of at random.
    pub fn biased(mut self) -> Self {
        self.biased = true;
        self
    }

    /// Go's `default:` clause: resolves at once, to `None` if no case is ready.
    pub fn default(self) -> SelectFuture<C> {
        SelectFuture::new(self.cases, self.biased, true)
    }

    /// Like [`default`](Select::default), without a future: polls every case
    /// once, on the current thread.
    pub fn try_select(self) -> Option<C::Output> {
        let fut = std::pin::pin!(self.default());
        match fut.poll(&mut Context::from_waker(Waker::noop())) {
            Poll::Ready(out) => out,
            Poll::Pending => None,
        }
    }
}

impl<C: Cases> IntoFuture for Select<C> {
    type Output = C::Output;
    type IntoFuture = Blocking<C>;

    fn into_future(self) -> Blocking<C> {
        Blocking(SelectFuture::new(self.cases, self.biased, false))
    }
}

/// The future of a [`Select`] with a default: resolves to `Option<Selected>`.
#[must_use = "futures do nothing unless polled"]
pub struct SelectFuture<C: Cases> {
    cases: C,
    state: SelectState,
}

impl<C: Cases> SelectFuture<C> {
    fn new(cases: C, biased: bool, default: bool) -> Self {
        SelectFuture {
            cases,
            state: SelectState::new(biased, default),
        }
    }

    fn project(self: Pin<&mut Self>) -> (Pin<&mut C>, Pin<&mut SelectState>) {
        // SAFETY: structural pinning of both fields; neither is moved out.
        unsafe {
            let this = self.get_unchecked_mut();
            (
                Pin::new_unchecked(&mut this.cases),
                Pin::new_unchecked(&mut this.state),
            )
        }
    }
}

impl<C: Cases> Future for SelectFuture<C> {
    type Output = Option<C::Output>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let (mut cases, state) = self.project();
        let fired = std::task::ready!(cases.as_mut().with_dyn(|c| state.poll(c, cx)));
        Poll::Ready(fired.map(|i| cases.output(i)))
    }
}

impl<C: Cases> Drop for SelectFuture<C> {
    fn drop(&mut self) {
        // SAFETY: we are being dropped: `self` stays put until the end.
        let (cases, state) = unsafe { Pin::new_unchecked(self) }.project();
        cases.with_dyn(|c| state.cancel(c));
    }
}

impl<C: Cases> fmt::Debug for SelectFuture<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SelectFuture").finish_non_exhaustive()
    }
}

/// The future of a [`Select`] without a default: resolves to the `Selected` case.
#[must_use = "futures do nothing unless polled"]
#[derive(Debug)]
pub struct Blocking<C: Cases>(SelectFuture<C>);

impl<C: Cases> Future for Blocking<C> {
    type Output = C::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<C::Output> {
        // SAFETY: structural pinning of the only field.
        let inner = unsafe { self.map_unchecked_mut(|s| &mut s.0) };
        inner
            .poll(cx)
            .map(|o| o.expect("a select without default always fires a case"))
    }
}

impl Cases for () {
    type Output = Infallible;
    fn with_dyn<R>(
        self: Pin<&mut Self>,
        f: impl FnOnce(&mut [Pin<&mut dyn SelectCase>]) -> R,
    ) -> R {
        f(&mut [])
    }
    fn output(self: Pin<&mut Self>, _: usize) -> Infallible {
        unreachable!("an empty select never fires")
    }
}

macro_rules! cases_impl {
    ($n:literal; $($C:ident $idx:tt $V:ident),+) => {
        impl<$($C: SelectCase + TakeOutput),+> Cases for ($($C,)+) {
            type Output = Selected<$($C::Output),+>;
            fn with_dyn<R>(
                self: Pin<&mut Self>,
                f: impl FnOnce(&mut [Pin<&mut dyn SelectCase>]) -> R,
            ) -> R {
                // SAFETY: structural pinning: the tuple's fields are never moved.
                let this = unsafe { self.get_unchecked_mut() };
                let mut arr: [Pin<&mut dyn SelectCase>; $n] =
                    // SAFETY: as above, for each field.
                    unsafe { [$(Pin::new_unchecked(&mut this.$idx as &mut dyn SelectCase)),+] };
                f(&mut arr)
            }
            fn output(self: Pin<&mut Self>, i: usize) -> Self::Output {
                // SAFETY: structural pinning, as above.
                let this = unsafe { self.get_unchecked_mut() };
                match i {
                    $($idx => {
                        // SAFETY: as above.
                        let case = unsafe { Pin::new_unchecked(&mut this.$idx) };
                        Selected::$V(case.take_output())
                    })+
                    _ => unreachable!("case index out of range"),
                }
            }
        }
    };
}

cases_impl!(1; C0 0 Case0);
cases_impl!(2; C0 0 Case0, C1 1 Case1);
cases_impl!(3; C0 0 Case0, C1 1 Case1, C2 2 Case2);
cases_impl!(4; C0 0 Case0, C1 1 Case1, C2 2 Case2, C3 3 Case3);
cases_impl!(5; C0 0 Case0, C1 1 Case1, C2 2 Case2, C3 3 Case3, C4 4 Case4);
cases_impl!(6; C0 0 Case0, C1 1 Case1, C2 2 Case2, C3 3 Case3, C4 4 Case4, C5 5 Case5);
cases_impl!(7; C0 0 Case0, C1 1 Case1, C2 2 Case2, C3 3 Case3, C4 4 Case4, C5 5 Case5, C6 6 Case6);
cases_impl!(8; C0 0 Case0, C1 1 Case1, C2 2 Case2, C3 3 Case3, C4 4 Case4, C5 5 Case5, C6 6 Case6, C7 7 Case7);

macro_rules! push_impl {
    ($($C:ident $idx:tt),*) => {
        impl<$($C),*> Select<($($C,)*)> {
            fn push<N>(self, case: N) -> Select<($($C,)* N,)> {
                Select { cases: ($(self.cases.$idx,)* case,), biased: self.biased }
            }

            /// Adds a receive from `rx`; its result is `Option<T>` (`None`: closed
            /// and drained).
            pub fn recv<'r, T>(self, rx: &'r Receiver<T>) -> Select<($($C,)* RecvCase<'r, T>,)> {
                self.push(RecvCase::new(Some(rx)))
            }

            /// Adds a receive that is disabled when `rx` is `None` (Go's nil channel).
            pub fn recv_opt<'r, T>(self, rx: Option<&'r Receiver<T>>) -> Select<($($C,)* RecvCase<'r, T>,)> {
                self.push(RecvCase::new(rx))
            }

            /// Adds a send of `value` on `tx`; its result is
            /// `Result<(), SendError<T>>`. If another case fires, nothing is sent.
            pub fn send<'s, T>(self, tx: &'s Sender<T>, value: T) -> Select<($($C,)* SendCase<'s, T>,)> {
                self.push(SendCase::new(Some(tx), value))
            }

            /// Adds a send that is disabled when `tx` is `None` (Go's nil channel).
            pub fn send_opt<'s, T>(self, tx: Option<&'s Sender<T>>, value: T) -> Select<($($C,)* SendCase<'s, T>,)> {
                self.push(SendCase::new(tx, value))
            }

            /// Adds any future (a timer, say). Not atomic: if it completes in the
            /// same poll in which another case is chosen, its output is dropped.
            pub fn future<Fut: Future>(self, fut: Fut) -> Select<($($C,)* FutureCase<Fut>,)> {
                self.push(FutureCase::new(Some(fut)))
            }
        }
    };
}

push_impl!();
push_impl!(C0 0);
push_impl!(C0 0, C1 1);
push_impl!(C0 0, C1 1, C2 2);
push_impl!(C0 0, C1 1, C2 2, C3 3);
push_impl!(C0 0, C1 1, C2 2, C3 3, C4 4);
push_impl!(C0 0, C1 1, C2 2, C3 3, C4 4, C5 5);
push_impl!(C0 0, C1 1, C2 2, C3 3, C4 4, C5 5, C6 6);

/// The select over a caller-provided array of pinned cases: what `select!`
/// expands to. Resolves to `Some(index)` of the fired case (take its result with
/// [`TakeOutput::take_output`]) or `None` when `default` fired.
#[must_use = "futures do nothing unless polled"]
pub struct SelectArray<'a, const N: usize> {
    cases: [Pin<&'a mut dyn SelectCase>; N],
    state: SelectState,
}

impl<'a, const N: usize> SelectArray<'a, N> {
    /// A select over `cases`; see [`SelectState::new`] for the flags.
    pub fn new(cases: [Pin<&'a mut dyn SelectCase>; N], biased: bool, default: bool) -> Self {
        SelectArray {
            cases,
            state: SelectState::new(biased, default),
        }
    }

    fn project(
        self: Pin<&mut Self>,
    ) -> (&mut [Pin<&'a mut dyn SelectCase>; N], Pin<&mut SelectState>) {
        // SAFETY: `state` is structurally pinned; `cases` holds `Pin`s (Unpin).
        unsafe {
            let this = self.get_unchecked_mut();
            (&mut this.cases, Pin::new_unchecked(&mut this.state))
        }
    }
}

impl<const N: usize> Future for SelectArray<'_, N> {
    type Output = Option<usize>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<usize>> {
        let (cases, state) = self.project();
        state.poll(cases, cx)
    }
}

impl<const N: usize> Drop for SelectArray<'_, N> {
    fn drop(&mut self) {
        // SAFETY: we are being dropped: `self` stays put until the end.
        let (cases, state) = unsafe { Pin::new_unchecked(self) }.project();
        state.cancel(cases);
    }
}

impl<const N: usize> fmt::Debug for SelectArray<'_, N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SelectArray").field("cases", &N).finish()
    }
}
