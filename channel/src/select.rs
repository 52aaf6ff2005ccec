//! Select machinery: cases on several channels share one selection flag (Go's
//! `selectDone`), and whichever peer completes one of them first wins it with a
//! single CAS.
//!
//! Protocol (crossbeam-channel's select, adapted to wakers; Go's `selectgo` locks
//! every channel instead, which this does only for the non-blocking select):
//! 1. *Try pass*, in uniformly random order (or declaration order when biased):
//!    each case tries to complete against its channel under that channel's lock.
//!    Nothing of this select is queued anywhere yet, so its flag is private and a
//!    case that can complete simply does. With `default` (and no future case) the
//!    pass is Go's instead: every channel is locked at once, in address order, so
//!    the choice (a ready case, or `default`) is made at one instant
//!    ([`try_all_locked`]); a case looking under its own lock in turn could take
//!    `default` while a value moved from a channel not yet looked at to one looked
//!    at already.
//! 2. With `default`, stop there. Otherwise *register pass*: each case, under its
//!    channel's lock, either parks a waiter tagged with (flag, token = index + 1);
//!    or, if it can complete against the buffer or the closed state, wins its own
//!    flag by CAS and completes (a failed CAS means a peer already won another
//!    case); or, if it could complete only against a parked peer, the select
//!    *aborts* (CAS of its flag to `SEL_ABORTED`, which makes every queued case
//!    stale), withdraws every case and goes back to 1. Claiming a peer and itself
//!    together would need two CASes that cannot be made atomic.
//! 3. Parked. A peer that pops one of the waiters CASes the flag 0 → token; the
//!    winner completes that waiter, every other waiter of the select is stale and
//!    skipped/unlinked by whoever meets it. On wake-up the select withdraws every
//!    case (taking each lock once, which also orders the winner's result) and
//!    reports the winner.
//!
//! Ground rules:
//! * The flag lives in the pinned select state; cases are withdrawn before it is
//!   freed (completion and `Drop` both withdraw), so a waiter's flag pointer is
//!   valid whenever the waiter is queued.
//! * A case not chosen has no effect: an unsent value stays in its case and is
//!   returned by [`SendCase::take_unsent`](crate::case::SendCase::take_unsent) or
//!   dropped with it; a value handed to a recv case whose select is dropped before
//!   returning it is re-delivered.

use std::cell::Cell;
use std::marker::PhantomPinned;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use crate::loom::{AtomicUsize, Ordering};
use crate::waiter::{SEL_ABORTED, SEL_WAITING};

/// What a case did in the register pass.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Register {
    /// Its waiter is queued (or the case is disabled).
    Parked,
    /// It won the flag and completed.
    Fired,
    /// Its CAS failed: a peer already won another case of this select.
    Lost,
    /// It could complete only together with a peer: abort and try again.
    Retry,
}

/// One case of a select: a channel operation (or a future) that can be tried,
/// parked under a shared flag, refreshed and withdrawn. Object safe, so a select
/// over heterogeneous cases works on `[Pin<&mut dyn SelectCase>]`.
pub trait SelectCase {
    /// Try pass: completes the operation now if it can. The select's flag is
    /// private at this point (nothing of it is queued).
    fn try_fire(self: Pin<&mut Self>, cx: &mut Context<'_>) -> bool;

    /// Register pass (see the module docs).
    ///
    /// # Safety
    /// `flag` points to the select's flag, which stays valid and pinned until
    /// [`unregister`](SelectCase::unregister) has been called on this case.
    unsafe fn register(
        self: Pin<&mut Self>,
        flag: *const AtomicUsize,
        token: usize,
        cx: &mut Context<'_>,
    ) -> Register;

    /// Updates the waker of a parked case. Returns `true` if the case turned out
    /// to be ready (a future case), which makes the select withdraw and retry.
    fn refresh(self: Pin<&mut Self>, waker: &Waker) -> bool;

    /// Withdraws a parked case. If a peer completed it, its result is kept for
    /// the output.
    fn unregister(self: Pin<&mut Self>);

    /// What the atomic non-blocking pass (a select with `default`) makes of this
    /// case: a channel to lock, a future (the pass is then not atomic), or nothing
    /// (a disabled case).
    fn kind(&self) -> CaseKind {
        CaseKind::Disabled
    }

    /// Atomic pass, before any lock is taken: a receive lets its channel's timer
    /// deliver what is due (the timer takes the channel's lock itself).
    fn before_lock(self: Pin<&mut Self>) {}

    /// Atomic pass: locks this case's channel and keeps the guard (released by
    /// [`unlock`](SelectCase::unlock) in the same poll); returns the locked state,
    /// type-erased, for the other cases on the same channel.
    fn lock(self: Pin<&mut Self>) -> *mut () {
        std::ptr::null_mut()
    }

    /// Atomic pass: completes the operation now if it can, against `state`, the
    /// locked state of this case's channel. Returns whether it fired, and a waker
    /// to wake once every lock is released.
    ///
    /// # Safety
    /// `state` came from [`lock`](SelectCase::lock) of a case of this select on
    /// the same channel (so of the same type), whose guard is still held.
    unsafe fn try_fire_locked(self: Pin<&mut Self>, _state: *mut ()) -> (bool, Option<Waker>) {
        (false, None)
    }

    /// Atomic pass: releases the guard [`lock`](SelectCase::lock) kept, if any.
    fn unlock(self: Pin<&mut Self>) {}
}

/// See [`SelectCase::kind`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CaseKind {
    /// Never fires (Go's nil channel, a false guard).
    Disabled,
    /// An operation on the channel at this address.
    Chan(usize),
    /// Any other future.
    Future,
}

/// Gives the result of a case that fired.
pub trait TakeOutput {
    /// The case's result type.
    type Output;
    /// Takes the result. Panics if the case did not fire.
    fn take_output(self: Pin<&mut Self>) -> Self::Output;
}

/// The cases of one select, by index: a slice of pinned `dyn` cases (what `select!`
/// and [`Select`](crate::Select) build), or the cases of a
/// [`DynSelect`](crate::DynSelect), which keeps them in a `Vec` and lends them out one
/// at a time, so a select over hundreds of cases builds no slice per poll.
pub trait CaseList {
    /// How many cases.
    fn len(&self) -> usize;
    /// Whether there are none.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Case `i`, pinned. The same case for the same `i` on every call, for the whole
    /// select.
    fn case(&mut self, i: usize) -> Pin<&mut dyn SelectCase>;
    /// What case `i` is (see [`SelectCase::kind`]).
    fn kind(&self, i: usize) -> CaseKind;
}

impl CaseList for [Pin<&mut dyn SelectCase>] {
    fn len(&self) -> usize {
        <[_]>::len(self)
    }
    fn case(&mut self, i: usize) -> Pin<&mut dyn SelectCase> {
        self[i].as_mut()
    }
    fn kind(&self, i: usize) -> CaseKind {
        self[i].kind()
    }
}

impl<const N: usize> CaseList for [Pin<&mut dyn SelectCase>; N] {
    fn len(&self) -> usize {
        N
    }
    fn case(&mut self, i: usize) -> Pin<&mut dyn SelectCase> {
        self[i].as_mut()
    }
    fn kind(&self, i: usize) -> CaseKind {
        self[i].kind()
    }
}

thread_local! {
    static RNG: Cell<u64> = const { Cell::new(0) };
}

/// A tiny per-thread xorshift64* generator for the case order.
fn rand_u64() -> u64 {
    RNG.with(|rng| {
        let mut x = rng.get();
        if x == 0 {
            // Seed from the thread-local's address and the clock.
            let t = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as u64);
            x = (rng as *const Cell<u64> as u64) ^ t ^ 0x9E37_79B9_7F4A_7C15;
            x |= 1;
        }
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        rng.set(x);
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    })
}

/// Uniform in `0..n` (for `n < 2^32`).
fn rand_below(n: usize) -> usize {
    ((rand_u64() >> 32) as usize * n) >> 32
}

/// Up to this many cases the random order is [`NarrowOrder`].
const NARROW: usize = 16;

/// A uniformly random permutation of `0..n` for `n <= 16`, generated lazily
/// (Fisher–Yates) entirely in registers: the permutation is 16 nibbles of one `u64`,
/// and the randomness is one 64-bit draw, consumed by successive multiply-shifts
/// (each step maps the fraction left onto `0..n - i` and keeps the low bits; the bias
/// is below `n! / 2^64`, under 2^-19 for 16 cases).
struct NarrowOrder {
    perm: u64,
    frac: u64,
    n: u32,
    i: u32,
}

impl NarrowOrder {
    #[inline]
    fn new(n: usize) -> Self {
        debug_assert!(n <= NARROW);
        NarrowOrder {
            perm: 0xFEDC_BA98_7654_3210,
            frac: rand_u64(),
            n: n as u32,
            i: 0,
        }
    }
}

impl Iterator for NarrowOrder {
    type Item = usize;

    #[inline]
    fn next(&mut self) -> Option<usize> {
        let i = self.i;
        if i >= self.n {
            return None;
        }
        self.i += 1;
        let m = u128::from(self.frac) * u128::from(self.n - i);
        self.frac = m as u64;
        let j = i + (m >> 64) as u32;
        // Swap nibbles i and j; nibble i is then the next case.
        let (si, sj) = (4 * i, 4 * j);
        let a = (self.perm >> si) & 0xF;
        let b = (self.perm >> sj) & 0xF;
        self.perm ^= ((a ^ b) << si) | ((a ^ b) << sj);
        Some(b as usize)
    }
}

/// A random permutation of `0..n` for any `n`, generated lazily (Fisher–Yates); no
/// allocation for up to 64 cases.
struct Order {
    small: [u8; 64],
    large: Vec<usize>,
    n: usize,
    i: usize,
}

impl Order {
    fn new(n: usize) -> Self {
        let mut o = Order {
            small: [0; 64],
            large: Vec::new(),
            n,
            i: 0,
        };
        if n <= 64 {
            for (k, s) in o.small.iter_mut().enumerate().take(n) {
                *s = k as u8;
            }
        } else {
            o.large = (0..n).collect();
        }
        o
    }
}

impl Iterator for Order {
    type Item = usize;

    fn next(&mut self) -> Option<usize> {
        let i = self.i;
        if i >= self.n {
            return None;
        }
        self.i += 1;
        let j = i + rand_below(self.n - i);
        if self.n <= 64 {
            self.small.swap(i, j);
            Some(self.small[i] as usize)
        } else {
            self.large.swap(i, j);
            Some(self.large[i])
        }
    }
}

/// After this many aborted register passes in one poll, yield to the executor.
const MAX_RETRIES: u32 = 16;

/// The state a select future keeps besides its cases: the flag and the mode.
/// Must stay pinned while any case is registered.
pub struct SelectState {
    flag: AtomicUsize,
    registered: bool,
    done: bool,
    biased: bool,
    default: bool,
    _pin: PhantomPinned,
}

impl std::fmt::Debug for SelectState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SelectState")
            .field("biased", &self.biased)
            .field("default", &self.default)
            .finish_non_exhaustive()
    }
}

impl SelectState {
    /// A fresh state. `biased`: try cases in declaration order; `default`: never
    /// park, resolve to `None` if no case is ready.
    pub fn new(biased: bool, default: bool) -> Self {
        SelectState {
            flag: AtomicUsize::new(SEL_WAITING),
            registered: false,
            done: false,
            biased,
            default,
            _pin: PhantomPinned,
        }
    }

    /// Polls the select over `cases`: `Ready(Some(i))` when case `i` fired (take
    /// its result with [`TakeOutput::take_output`]), `Ready(None)` when `default`
    /// fired. `cases` must be the same, in the same order, on every poll.
    pub fn poll<C: CaseList + ?Sized>(
        self: Pin<&mut Self>,
        cases: &mut C,
        cx: &mut Context<'_>,
    ) -> Poll<Option<usize>> {
        // SAFETY: only `flag` needs a stable address; nothing is moved out.
        let st = unsafe { self.get_unchecked_mut() };
        assert!(!st.done, "select polled after completion");
        let coop = std::task::ready!(gorun_coop::poll_proceed(cx));
        let out = st.poll_inner(cases, cx);
        if out.is_ready() {
            st.done = true;
            coop.made_progress();
        } else {
            // Outermost wins: the cases may have set their own reasons.
            gorun_coop::set_wait_reason(gorun_coop::WaitReason::Select);
        }
        out
    }

    fn poll_inner<C: CaseList + ?Sized>(
        &mut self,
        cases: &mut C,
        cx: &mut Context<'_>,
    ) -> Poll<Option<usize>> {
        if self.registered {
            if self.flag.load(Ordering::Acquire) == SEL_WAITING {
                let mut ready = false;
                for i in 0..cases.len() {
                    ready |= cases.case(i).refresh(cx.waker());
                }
                if !ready {
                    if self.flag.load(Ordering::Acquire) == SEL_WAITING {
                        return Poll::Pending;
                    }
                } else if self.abort() {
                    self.withdraw(cases);
                    self.flag.store(SEL_WAITING, Ordering::Release);
                }
            }
            if self.registered {
                return Poll::Ready(Some(self.finish(cases)));
            }
        }
        // loom models must be deterministic: no randomness there.
        let n = cases.len();
        if self.biased || cfg!(loom) {
            self.try_then_park(cases, cx, || 0..n)
        } else if n <= NARROW {
            self.try_then_park(cases, cx, || NarrowOrder::new(n))
        } else {
            self.try_then_park(cases, cx, || Order::new(n))
        }
    }

    /// The try pass, then (without `default`) the register pass, each in the order
    /// `order` makes; retried while registering meets a peer that vanishes.
    #[inline]
    fn try_then_park<C: CaseList + ?Sized, O: Iterator<Item = usize>>(
        &mut self,
        cases: &mut C,
        cx: &mut Context<'_>,
        order: impl Fn() -> O,
    ) -> Poll<Option<usize>> {
        let flag: *const AtomicUsize = &self.flag;
        if self.default && (0..cases.len()).all(|i| cases.kind(i) != CaseKind::Future) {
            return Poll::Ready(try_all_locked(cases, order()));
        }
        for _ in 0..MAX_RETRIES {
            for i in order() {
                if cases.case(i).try_fire(cx) {
                    return Poll::Ready(Some(i));
                }
            }
            if self.default {
                return Poll::Ready(None);
            }
            let mut retry = false;
            for i in order() {
                self.registered = true;
                // SAFETY: `flag` is in `self`, pinned; every exit below that
                // leaves cases registered keeps `registered` set, so `finish` or
                // `cancel` (from the owner's Drop) withdraws them before it goes.
                match unsafe { cases.case(i).register(flag, i + 1, cx) } {
                    Register::Parked => {}
                    Register::Fired => {
                        self.withdraw(cases);
                        return Poll::Ready(Some(i));
                    }
                    Register::Lost => return Poll::Ready(Some(self.finish(cases))),
                    Register::Retry => {
                        if !self.abort() {
                            return Poll::Ready(Some(self.finish(cases)));
                        }
                        self.withdraw(cases);
                        self.flag.store(SEL_WAITING, Ordering::Release);
                        retry = true;
                        break;
                    }
                }
            }
            if !retry {
                return Poll::Pending;
            }
        }
        // Peers kept appearing and vanishing: let others run, then try again.
        cx.waker().wake_by_ref();
        Poll::Pending
    }

    /// Makes every queued case stale; `false` if a peer won first.
    fn abort(&self) -> bool {
        self.flag
            .compare_exchange(
                SEL_WAITING,
                SEL_ABORTED,
                Ordering::AcqRel,
                Ordering::Acquire,
            )
            .is_ok()
    }

    /// A peer won: withdraw everything and report its case.
    fn finish<C: CaseList + ?Sized>(&mut self, cases: &mut C) -> usize {
        let won = self.flag.load(Ordering::Acquire);
        debug_assert!(won != SEL_WAITING && won != SEL_ABORTED);
        self.withdraw(cases);
        won - 1
    }

    fn withdraw<C: CaseList + ?Sized>(&mut self, cases: &mut C) {
        if self.registered {
            for i in 0..cases.len() {
                cases.case(i).unregister();
            }
            self.registered = false;
        }
    }

    /// Withdraws every case of a select dropped before it resolved. A case a peer
    /// completed meanwhile keeps its result; its own `Drop` passes a received
    /// value on.
    pub fn cancel<C: CaseList + ?Sized>(self: Pin<&mut Self>, cases: &mut C) {
        // SAFETY: nothing is moved out.
        let st = unsafe { self.get_unchecked_mut() };
        if st.registered {
            // Stop peers from winning while we withdraw (failure: one already won).
            let _ = st.abort();
            st.withdraw(cases);
        }
    }
}

/// A `select!` with no case left enabled and neither `default` nor `else`:
/// pending forever, shown in task dumps as `select (no cases)` (Go's `select {}`).
#[derive(Debug, Default)]
pub struct NoCases;

impl std::future::Future for NoCases {
    type Output = std::convert::Infallible;

    fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Self::Output> {
        gorun_coop::set_wait_reason(gorun_coop::WaitReason::SelectNoCases);
        Poll::Pending
    }
}

/// Channel cases of one select, at most this many, are locked with no allocation.
const LOCK_INLINE: usize = 16;

/// Go's non-blocking `selectgo`: locks every channel of the select at once, in
/// address order (`sellock`), so the choice is made at one instant, then fires the
/// first ready case in `order`; `None` if none is ready (the `default`). Without
/// this, each case looked under its own lock in turn, and `default` could win
/// although at every instant one of the channels was ready (a value moving from
/// one to the other between the looks). The cases hold no future (those make the
/// select best-effort, see `FutureCase`).
fn try_all_locked<C: CaseList + ?Sized>(
    cases: &mut C,
    order: impl Iterator<Item = usize>,
) -> Option<usize> {
    for i in 0..cases.len() {
        cases.case(i).before_lock();
    }
    // (channel address, case) in lock order; each channel is locked once.
    let mut inline = [(0usize, 0usize); LOCK_INLINE];
    let mut heap = Vec::new();
    let keys: &mut [(usize, usize)] = {
        let n_cases = cases.len();
        let chans = (0..n_cases).filter_map(|i| match cases.kind(i) {
            CaseKind::Chan(addr) => Some((addr, i)),
            _ => None,
        });
        if n_cases <= LOCK_INLINE {
            let mut n = 0;
            for k in chans {
                inline[n] = k;
                n += 1;
            }
            &mut inline[..n]
        } else {
            heap.extend(chans);
            &mut heap[..]
        }
    };
    keys.sort_unstable();
    // The locked state of each case's channel, by case index (null: none).
    let mut states_inline = [std::ptr::null_mut::<()>(); LOCK_INLINE];
    let mut states_heap = Vec::new();
    let states: &mut [*mut ()] = if cases.len() <= LOCK_INLINE {
        &mut states_inline[..cases.len()]
    } else {
        states_heap.resize(cases.len(), std::ptr::null_mut());
        &mut states_heap[..]
    };
    let mut prev: Option<(usize, *mut ())> = None;
    for &(addr, i) in keys.iter() {
        let state = match prev {
            Some((a, s)) if a == addr => s,
            _ => cases.case(i).lock(),
        };
        states[i] = state;
        prev = Some((addr, state));
    }
    let mut fired = None;
    for i in order {
        if states[i].is_null() {
            continue; // disabled
        }
        // SAFETY: `states[i]` is the state of case i's channel, locked above by a
        // case of this select on that channel, and still held.
        let (ok, waker) = unsafe { cases.case(i).try_fire_locked(states[i]) };
        if ok {
            fired = Some((i, waker));
            break;
        }
    }
    for &(_, i) in keys.iter().rev() {
        cases.case(i).unlock();
    }
    fired.map(|(i, waker)| {
        if let Some(w) = waker {
            w.wake();
        }
        i
    })
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn narrow_order_is_a_permutation_for_every_size() {
        for n in 0..=NARROW {
            for _ in 0..200 {
                let mut seen: Vec<usize> = NarrowOrder::new(n).collect();
                assert_eq!(seen.len(), n);
                seen.sort_unstable();
                assert_eq!(seen, (0..n).collect::<Vec<_>>(), "n = {n}");
            }
        }
    }

    /// All 6 orders of 3 cases, and all 24 of 4, come up equally often (chi-square
    /// at p = 10^-6, so a fair generator fails once in a million runs: 35.9 for 5
    /// degrees of freedom, 70.5 for 23; a generator that never produces half of the
    /// orders scores about 12,000 for 3 cases).
    #[test]
    fn narrow_order_is_uniform_over_permutations() {
        for (n, limit) in [(3usize, 35.9), (4, 70.5)] {
            let perms: usize = (1..=n).product();
            let draws = 2000 * perms;
            let mut counts = std::collections::HashMap::new();
            for _ in 0..draws {
                let p: Vec<usize> = NarrowOrder::new(n).collect();
                *counts.entry(p).or_insert(0usize) += 1;
            }
            assert_eq!(counts.len(), perms, "every order of {n} appears");
            let expected = (draws / perms) as f64;
            let chi2: f64 = counts
                .values()
                .map(|&c| (c as f64 - expected).powi(2) / expected)
                .sum();
            assert!(chi2 < limit, "n = {n}: chi-square {chi2} over {limit}");
        }
    }
}
