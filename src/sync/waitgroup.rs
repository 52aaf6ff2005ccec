//! WaitGroup: Go's `sync.WaitGroup`, with `Done` as a guard's drop.
//!
//! Invariants:
//! 1. `count` is the sum of the live guards' `n`. A guard subtracts exactly its own
//!    `n`, once, on drop, so the count cannot go negative and `Done` cannot be
//!    forgotten or doubled (Go panics on both at run time; here they cannot compile).
//! 2. The guard that takes `count` to zero then locks `waiters` and wakes every
//!    queued waiter. A waiter checks `count` under that lock before queueing, so
//!    no wake-up is lost between its check and its queueing.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering::*};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};

use super::grant_queue::{GrantQueue, SlotState};

/// Waits for a collection of tasks to finish (Go's `sync.WaitGroup`).
///
/// [`add(n)`](WaitGroup::add) returns a [`WaitGuard`]; dropping it is Go's `Done()`
/// (for all `n`). Move one guard into each task: when the task ends, even by panic
/// or cancellation, its guard drops. [`wait`](WaitGroup::wait) completes when no
/// guard is left. `WaitGroup` is cheap to clone (the clones share one counter).
///
/// ```
/// # gorun::Runtime::builder().procs(2).build().unwrap().run(async {
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use std::sync::Arc;
/// use gorun::sync::WaitGroup;
///
/// let wg = WaitGroup::new();
/// let hits = Arc::new(AtomicUsize::new(0));
/// for _ in 0..10 {
///     let (done, hits) = (wg.add(1), hits.clone());
///     gorun::go(async move {
///         hits.fetch_add(1, Ordering::SeqCst);
///         drop(done); // wg.Done()
///     });
/// }
/// wg.wait().await;
/// assert_eq!(hits.load(Ordering::SeqCst), 10);
/// # });
/// ```
///
/// As in Go, [`add`](WaitGroup::add) must happen before the `wait` it should hold
/// up (add in the parent, before `go`, not inside the spawned task), and a wait
/// group may be reused once a `wait` has returned.
#[derive(Clone, Default)]
pub struct WaitGroup {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    count: AtomicUsize,
    waiters: Mutex<GrantQueue>,
}

impl WaitGroup {
    /// A wait group with a count of zero.
    pub fn new() -> WaitGroup {
        WaitGroup::default()
    }

    /// Adds `n` to the counter (Go's `wg.Add(n)`); the returned guard subtracts `n`
    /// when dropped (`wg.Done()` × n).
    pub fn add(&self, n: usize) -> WaitGuard {
        if n > 0 {
            self.inner.count.fetch_add(n, Relaxed);
        }
        WaitGuard {
            inner: self.inner.clone(),
            n,
        }
    }

    /// Spawns `fut` as a task counted by this group (Go 1.25's `wg.Go(f)`): `add(1)`
    /// before spawning, the guard dropped when the task ends.
    ///
    /// # Panics
    /// Outside a gorun runtime, like [`go`](crate::go).
    pub fn go<F>(&self, fut: F) -> crate::JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let guard = self.add(1);
        crate::go(async move {
            let _guard = guard;
            fut.await
        })
    }

    /// The current count (for diagnostics; it may change at once).
    pub fn count(&self) -> usize {
        self.inner.count.load(Acquire)
    }

    /// Waits until the count is zero (Go's `wg.Wait()`). Cancel-safe.
    pub fn wait(&self) -> Wait<'_> {
        Wait {
            wg: self,
            key: None,
            done: false,
        }
    }

    /// Waits until the count is zero, blocking this thread outside the runtime.
    ///
    /// # Panics
    /// Inside a task (on a runtime worker, or in `Runtime::block_on`): blocking there
    /// would stall the worker's other tasks, and deadlock if the awaited event needs
    /// them (see [`gorun_coop::block_on`]).
    #[track_caller]
    pub fn blocking_wait(&self) {
        gorun_coop::block_on(self.wait())
    }

    fn lock(&self) -> MutexGuard<'_, GrantQueue> {
        self.inner.lock()
    }
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, GrantQueue> {
        // No user code runs under this lock.
        self.waiters.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl fmt::Debug for WaitGroup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WaitGroup")
            .field("count", &self.count())
            .finish()
    }
}

/// Holds `n` of a [`WaitGroup`]'s count; dropping it is `Done()` × n.
#[must_use = "dropping the guard at once is wg.Done(): move it into the task"]
pub struct WaitGuard {
    inner: Arc<Inner>,
    n: usize,
}

impl WaitGuard {
    /// How much of the count this guard holds.
    pub fn count(&self) -> usize {
        self.n
    }

    /// Splits off a guard holding `k` of this guard's count (e.g. `add(n)` once,
    /// then hand one part to each of `n` tasks).
    ///
    /// # Panics
    /// If `k` exceeds [`count`](Self::count).
    pub fn split(&mut self, k: usize) -> WaitGuard {
        assert!(k <= self.n, "cannot split {k} off a guard of {}", self.n);
        self.n -= k;
        WaitGuard {
            inner: self.inner.clone(),
            n: k,
        }
    }

    /// Go's `wg.Done()`, spelled out: the same as dropping the guard.
    pub fn done(self) {}
}

impl Drop for WaitGuard {
    fn drop(&mut self) {
        if self.n == 0 || self.inner.count.fetch_sub(self.n, AcqRel) != self.n {
            return;
        }
        let mut q = self.inner.lock();
        let mut wakers = Vec::with_capacity(q.len());
        while let Some(w) = q.grant_front(0) {
            wakers.push(w);
        }
        drop(q);
        super::grant_queue::wake_all(wakers);
    }
}

impl fmt::Debug for WaitGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WaitGuard").field("n", &self.n).finish()
    }
}

/// The future of [`WaitGroup::wait`].
#[must_use = "futures do nothing unless awaited"]
#[derive(Debug)]
pub struct Wait<'a> {
    wg: &'a WaitGroup,
    key: Option<usize>,
    done: bool,
}

impl Future for Wait<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        if this.done {
            return Poll::Ready(());
        }
        if this.key.is_none() && this.wg.inner.count.load(Acquire) == 0 {
            this.done = true;
            return Poll::Ready(());
        }
        let mut q = this.wg.lock();
        match this.key {
            Some(key) => {
                if let SlotState::Granted(_) = q.state(key) {
                    q.remove(key);
                    this.key = None;
                    this.done = true;
                    return Poll::Ready(());
                }
                q.set_waker(key, cx.waker());
            }
            None => {
                if this.wg.inner.count.load(Acquire) == 0 {
                    this.done = true;
                    return Poll::Ready(());
                }
                this.key = Some(q.push_back(0, cx.waker().clone()));
            }
        }
        gorun_coop::set_wait_reason(gorun_coop::WaitReason::WaitGroup);
        Poll::Pending
    }
}

impl Drop for Wait<'_> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            self.wg.lock().remove(key);
        }
    }
}
