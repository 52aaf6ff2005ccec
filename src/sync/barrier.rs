//! Barrier: `n` tasks wait until all `n` have arrived, then all go on together, and the
//! barrier is ready for the next round (tokio's `sync::Barrier`, `std::sync::Barrier`;
//! in Go, a `WaitGroup` per round or `x/sync`'s cyclic barrier idiom).
//!
//! Invariants, all under `state`'s lock:
//! 1. `arrived < n` between calls: the `n`-th arrival does not park; it releases the
//!    round (notifies every parked waiter), resets `arrived` to 0, bumps `generation`,
//!    and is the round's leader. So every round has exactly one leader.
//! 2. Every parked waiter of the current round is waiting in `waiters`, and counted
//!    in `arrived`. A released waiter is notified (no longer counted: its round is
//!    over), and its waker woken after unlocking.
//! 3. A wait future dropped while waiting takes its arrival back (`arrived -= 1`), so
//!    a cancelled wait neither releases a round early nor is lost; dropped once
//!    released, it has nothing to undo. (tokio's `wait` is not cancel-safe; this one is.)

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Mutex, MutexGuard};
use std::task::{Context, Poll};

use gorun_coop::WaitReason;

use super::waker_set::{WakeList, WakerSet};

/// Lets `n` tasks wait for each other, round after round.
///
/// ```
/// # gorun::Runtime::builder().procs(2).build().unwrap().run(async {
/// use std::sync::Arc;
/// use gorun::sync::Barrier;
///
/// let barrier = Arc::new(Barrier::new(4));
/// let handles: Vec<_> = (0..4)
///     .map(|_| {
///         let b = barrier.clone();
///         gorun::go(async move { b.wait().await.is_leader() })
///     })
///     .collect();
/// let mut leaders = 0;
/// for h in handles {
///     leaders += h.await.unwrap() as usize;
/// }
/// assert_eq!(leaders, 1); // exactly one task of the round is told it led
/// # });
/// ```
pub struct Barrier {
    n: usize,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    arrived: usize,
    generation: u64,
    waiters: WakerSet,
}

impl Barrier {
    /// A barrier for rounds of `n` tasks. `n == 0` behaves as 1 (every `wait` returns
    /// at once, as the leader), as in tokio and std.
    pub fn new(n: usize) -> Barrier {
        Barrier {
            n: n.max(1),
            state: Mutex::new(State {
                arrived: 0,
                generation: 0,
                waiters: WakerSet::new(),
            }),
        }
    }

    /// Arrives at the barrier and waits until `n` tasks have arrived in this round.
    /// The last to arrive gets [`is_leader`](BarrierWaitResult::is_leader) `true`.
    ///
    /// Cancel-safe: dropping the future before the round completes takes its
    /// arrival back, so the round still waits for `n` live waiters.
    pub fn wait(&self) -> BarrierWait<'_> {
        BarrierWait {
            barrier: self,
            key: None,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // No user code runs under this lock, so poisoning cannot leave it broken.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl fmt::Debug for Barrier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = self.lock();
        f.debug_struct("Barrier")
            .field("n", &self.n)
            .field("arrived", &st.arrived)
            .field("generation", &st.generation)
            .finish()
    }
}

/// What [`Barrier::wait`] returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BarrierWaitResult(bool);

impl BarrierWaitResult {
    /// Whether this task was the round's leader (the last to arrive); exactly one
    /// task per round is.
    pub fn is_leader(&self) -> bool {
        self.0
    }
}

/// The future of [`Barrier::wait`].
#[must_use = "futures do nothing unless awaited"]
#[derive(Debug)]
pub struct BarrierWait<'a> {
    barrier: &'a Barrier,
    /// Its entry in `waiters` once it has arrived (invariant 2).
    key: Option<usize>,
}

impl Future for BarrierWait<'_> {
    type Output = BarrierWaitResult;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<BarrierWaitResult> {
        let this = self.get_mut();
        let coop = std::task::ready!(gorun_coop::poll_proceed(cx));
        let barrier = this.barrier;
        let mut st = barrier.lock();
        if let Some(key) = this.key {
            if st.waiters.is_notified(key) {
                let _ = st.waiters.remove(key); // notified: no waker left
                this.key = None;
                coop.made_progress();
                return Poll::Ready(BarrierWaitResult(false));
            }
        } else {
            st.arrived += 1;
            if st.arrived == barrier.n {
                st.arrived = 0;
                st.generation += 1;
                let mut wakers = WakeList::new();
                st.waiters.notify_all(&mut wakers);
                drop(st);
                wakers.wake();
                coop.made_progress();
                return Poll::Ready(BarrierWaitResult(true));
            }
        }
        let old = st.waiters.register(&mut this.key, cx.waker());
        drop(st);
        drop(old);
        gorun_coop::set_wait_reason(WaitReason::WaitGroup);
        Poll::Pending
    }
}

impl Drop for BarrierWait<'_> {
    fn drop(&mut self) {
        let Some(key) = self.key.take() else { return };
        let mut st = self.barrier.lock();
        let old = st.waiters.remove(key);
        if old.is_some() {
            st.arrived -= 1; // still waiting: take the arrival back (invariant 3)
        }
        drop(st);
        drop(old);
    }
}
