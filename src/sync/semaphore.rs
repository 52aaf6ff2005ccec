//! A fair, async counting semaphore: the core that `Mutex` and `RwLock` are built on.
//!
//! Invariants (tokio's batch semaphore, with an atomic fast path for release too):
//! 1. `state = permits << SHIFT | CLOSED | WAITERS`. `WAITERS` is set iff the wait
//!    queue is non-empty, and it only changes under the queue lock.
//! 2. While `WAITERS` is clear, acquire and release are one CAS on `state` and never
//!    lock. While it is set, both go through the lock (no barging past a waiter: FIFO),
//!    so under the lock the permit count is stable except for those lock holders.
//! 3. After every change made under the lock, [`Semaphore::grant_locked`] hands
//!    permits to the queue front while they suffice; so under the lock, with waiters,
//!    `permits < front_need`.
//! 4. A waiting future owns its queue slot. If it is dropped after being granted, it
//!    gives its permits back through `grant_locked` (they pass to the next waiter);
//!    if dropped while queued, it unlinks and re-runs `grant_locked` (a big request
//!    at the front may have been blocking smaller ones).
//! 5. `CLOSED` is set once, by [`Semaphore::close`] under the queue lock, and never
//!    cleared. `close` empties the queue in the same critical section (each waiter is
//!    granted 0 and woken), and nobody queues once it is set (queuing happens under
//!    the lock, after checking it), so a closed semaphore has `WAITERS` clear forever.
//!    Every acquire checks `CLOSED` before taking permits (the fast path in the same
//!    CAS, the slow path under the lock), so once `close` has returned no acquire
//!    completes with `Ok` — not even one whose permits were granted before the close
//!    but not yet seen: it gives them back and fails (tokio's rule). The permit count
//!    goes on counting: permits held at the close are released as usual, and
//!    `add_permits` still adds (both on the lock-free path, `WAITERS` being clear).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use super::loom::{AtomicUsize, Mutex, MutexGuard, Ordering::*};
use std::task::{Context, Poll, Waker};

use super::grant_queue::{GrantQueue, SlotState};

mod error;

pub use error::{AcquireError, TryAcquireError};

/// Set iff the wait queue is non-empty (invariant 1). Never set together with
/// `CLOSED` once `close` has returned.
const WAITERS: usize = 1;
/// Set once by [`Semaphore::close`], under the queue lock; never cleared (invariant 5).
const CLOSED: usize = 2;
/// The permit count sits above the two flag bits.
const SHIFT: u32 = 2;

/// An async counting semaphore (Go's `golang.org/x/sync/semaphore.Weighted`, tokio's
/// `Semaphore`).
///
/// Waiters are served in FIFO order, a big request included: while one is waiting,
/// later acquirers queue behind it, so nobody starves. Every waiting operation is
/// cancel-safe: dropping a pending [`acquire`](Semaphore::acquire) future loses no
/// permits, and if permits had already been handed to it they pass to the next waiter.
///
/// A semaphore can be [closed](Semaphore::close): waiters and later acquires fail
/// with [`AcquireError`], while permits already held stay valid (as in tokio).
///
/// ```
/// # gorun::Runtime::builder().procs(2).build().unwrap().run(async {
/// use std::sync::Arc;
/// use gorun::sync::Semaphore;
///
/// let sem = Arc::new(Semaphore::new(2));
/// let mut handles = vec![];
/// for _ in 0..8 {
///     let permit = sem.clone().acquire_owned().await.unwrap(); // at most 2 jobs at once
///     handles.push(gorun::go(async move {
///         // ... work ...
///         drop(permit);
///     }));
/// }
/// for h in handles {
///     h.await.unwrap();
/// }
/// assert_eq!(sem.available_permits(), 2);
/// # });
/// ```
pub struct Semaphore {
    state: AtomicUsize,
    waiters: Mutex<GrantQueue>,
}

impl Semaphore {
    /// The most permits a semaphore can hold.
    pub const MAX_PERMITS: usize = usize::MAX >> 3;

    const_fn_unless_loom! {
        /// A semaphore with `permits` permits.
        ///
        /// # Panics
        /// If `permits` exceeds [`MAX_PERMITS`](Self::MAX_PERMITS).
        pub fn new(permits: usize) -> Semaphore {
            assert!(permits <= Self::MAX_PERMITS, "too many permits");
            Semaphore {
                state: AtomicUsize::new(permits << SHIFT),
                waiters: Mutex::new(GrantQueue::new()),
            }
        }
    }

    /// Permits available now (some may be reserved for the first waiter). Still
    /// counts after [`close`](Self::close): released and added permits show here.
    pub fn available_permits(&self) -> usize {
        self.state.load(Acquire) >> SHIFT
    }

    /// Adds `n` permits, waking waiters they satisfy. After [`close`](Self::close)
    /// the permits are still added (nobody can take them).
    ///
    /// # Panics
    /// If the total would exceed [`MAX_PERMITS`](Self::MAX_PERMITS).
    pub fn add_permits(&self, n: usize) {
        self.release(n);
    }

    /// Closes the semaphore: every pending acquire fails with [`AcquireError`] (its
    /// task is woken), and so does every later acquire; `try_acquire*` return
    /// [`TryAcquireError::Closed`]. Permits already held stay valid and are given
    /// back as usual when dropped. Closing twice does nothing more.
    ///
    /// Once `close` returns, no acquire completes with `Ok`, not even one whose
    /// permits had been handed to it before: they go back to the semaphore.
    ///
    /// ```
    /// # gorun::Runtime::builder().procs(2).build().unwrap().run(async {
    /// use std::sync::Arc;
    /// use gorun::sync::{Semaphore, TryAcquireError};
    ///
    /// let sem = Arc::new(Semaphore::new(1));
    /// let held = sem.try_acquire().unwrap();
    /// let waiter = gorun::go({
    ///     let sem = sem.clone();
    ///     async move { sem.acquire().await.map(drop) }
    /// });
    /// gorun::time::sleep(std::time::Duration::from_millis(10)).await; // let it queue
    /// sem.close();
    /// assert!(waiter.await.unwrap().is_err()); // the waiter is woken with an error
    /// assert_eq!(sem.try_acquire().unwrap_err(), TryAcquireError::Closed);
    /// drop(held); // still valid; its permit goes back
    /// assert_eq!(sem.available_permits(), 1);
    /// # });
    /// ```
    pub fn close(&self) {
        let mut q = self.lock();
        if self.state.fetch_or(CLOSED, AcqRel) & CLOSED != 0 {
            return;
        }
        let mut wakers = WakeList::new();
        while q.front_need().is_some() {
            if let Some(w) = q.grant_front(0) {
                wakers.push(w);
            }
        }
        self.state.fetch_and(!WAITERS, Release);
        drop(q);
        wakers.wake();
    }

    /// Whether [`close`](Self::close) has been called.
    pub fn is_closed(&self) -> bool {
        self.state.load(Acquire) & CLOSED != 0
    }

    /// Takes one permit if available now and nobody is waiting.
    ///
    /// # Errors
    /// [`TryAcquireError::Closed`] if the semaphore is closed (checked first),
    /// otherwise [`TryAcquireError::NoPermits`] if it cannot take one now.
    pub fn try_acquire(&self) -> Result<SemaphorePermit<'_>, TryAcquireError> {
        self.try_acquire_many(1)
    }

    /// Takes `n` permits if available now and nobody is waiting.
    ///
    /// # Errors
    /// As [`try_acquire`](Self::try_acquire).
    pub fn try_acquire_many(&self, n: u32) -> Result<SemaphorePermit<'_>, TryAcquireError> {
        self.try_take(n as usize)?;
        Ok(SemaphorePermit {
            sem: self,
            permits: n,
        })
    }

    /// [`try_acquire`](Self::try_acquire) with a permit that owns the `Arc`.
    ///
    /// # Errors
    /// As [`try_acquire`](Self::try_acquire).
    pub fn try_acquire_owned(self: Arc<Self>) -> Result<OwnedSemaphorePermit, TryAcquireError> {
        self.try_acquire_many_owned(1)
    }

    /// [`try_acquire_many`](Self::try_acquire_many) with a permit that owns the `Arc`.
    ///
    /// # Errors
    /// As [`try_acquire`](Self::try_acquire).
    pub fn try_acquire_many_owned(
        self: Arc<Self>,
        n: u32,
    ) -> Result<OwnedSemaphorePermit, TryAcquireError> {
        self.try_take(n as usize)?;
        Ok(OwnedSemaphorePermit {
            sem: self,
            permits: n,
        })
    }

    /// Waits for one permit. Cancel-safe; FIFO. Resolves to [`AcquireError`] if the
    /// semaphore is or gets [closed](Self::close).
    pub fn acquire(&self) -> Acquire<'_> {
        self.acquire_many(1)
    }

    /// Waits for `n` permits, all at once. Cancel-safe; FIFO. Resolves to
    /// [`AcquireError`] if the semaphore is or gets [closed](Self::close).
    ///
    /// Waiting for more permits than the semaphore will ever hold waits forever (as
    /// in Go's `Weighted.Acquire`), or until the semaphore is closed.
    pub fn acquire_many(&self, n: u32) -> Acquire<'_> {
        Acquire {
            sem: self,
            wait: Waiting::new(n),
        }
    }

    /// [`acquire`](Self::acquire) with a permit that owns the `Arc`, for moving
    /// into a task.
    pub fn acquire_owned(self: Arc<Self>) -> AcquireOwned {
        self.acquire_many_owned(1)
    }

    /// [`acquire_many`](Self::acquire_many) with a permit that owns the `Arc`.
    pub fn acquire_many_owned(self: Arc<Self>, n: u32) -> AcquireOwned {
        AcquireOwned {
            sem: self,
            wait: Waiting::new(n),
        }
    }

    /// The lock-free fast path; refuses while closed, and while anyone waits (FIFO).
    #[inline]
    fn try_take(&self, n: usize) -> Result<(), TryAcquireError> {
        let mut s = self.state.load(Relaxed);
        loop {
            if s & CLOSED != 0 {
                return Err(TryAcquireError::Closed);
            }
            if s & WAITERS != 0 || (s >> SHIFT) < n {
                return Err(TryAcquireError::NoPermits);
            }
            match self
                .state
                .compare_exchange_weak(s, s - (n << SHIFT), Acquire, Relaxed)
            {
                Ok(_) => return Ok(()),
                Err(actual) => s = actual,
            }
        }
    }

    /// Gives `n` permits back (also after a close: see invariant 5).
    #[inline]
    pub(crate) fn release(&self, n: usize) {
        if n == 0 {
            return;
        }
        assert!(n <= Self::MAX_PERMITS, "too many permits");
        let mut s = self.state.load(Relaxed);
        while s & WAITERS == 0 {
            assert!((s >> SHIFT) + n <= Self::MAX_PERMITS, "too many permits");
            match self
                .state
                .compare_exchange_weak(s, s + (n << SHIFT), Release, Relaxed)
            {
                Ok(_) => return,
                Err(actual) => s = actual,
            }
        }
        let mut q = self.lock();
        let prev = self.state.fetch_add(n << SHIFT, Release);
        assert!((prev >> SHIFT) + n <= Self::MAX_PERMITS, "too many permits");
        let wakers = self.grant_locked(&mut q);
        drop(q);
        wakers.wake();
    }

    fn lock(&self) -> MutexGuard<'_, GrantQueue> {
        // No user code runs under this lock, so poisoning cannot leave it broken.
        self.waiters.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Hands permits to the queue front while they suffice; clears `WAITERS` when
    /// the queue empties. Returns the wakers to wake after unlocking.
    fn grant_locked(&self, q: &mut GrantQueue) -> WakeList {
        let mut wakers = WakeList::new();
        loop {
            let Some(need) = q.front_need() else {
                self.state.fetch_and(!WAITERS, Release);
                return wakers;
            };
            if (self.state.load(Acquire) >> SHIFT) < need {
                return wakers;
            }
            self.state.fetch_sub(need << SHIFT, AcqRel);
            if let Some(w) = q.grant_front(need) {
                wakers.push(w);
            }
        }
    }

    /// Frees a waiter's slot under the lock; if it had been granted permits, they go
    /// back (to the next waiters, or to the count). Returns the wakers to wake.
    fn unqueue_locked(&self, q: &mut GrantQueue, key: usize) -> WakeList {
        if let SlotState::Granted(n) = q.remove(key) {
            self.state.fetch_add(n << SHIFT, Release);
        }
        self.grant_locked(q)
    }

    fn poll_wait(&self, w: &mut Waiting, cx: &mut Context<'_>) -> Poll<Result<(), AcquireError>> {
        if let Some(key) = w.key {
            let mut q = self.lock();
            return match q.state(key) {
                SlotState::Granted(_) => {
                    w.key = None;
                    if self.state.load(Acquire) & CLOSED != 0 {
                        // Invariant 5: closed (maybe after the grant); give it back.
                        let wakers = self.unqueue_locked(&mut q, key);
                        drop(q);
                        wakers.wake();
                        return Poll::Ready(Err(AcquireError::new()));
                    }
                    q.remove(key);
                    w.need = 0;
                    Poll::Ready(Ok(()))
                }
                _ => {
                    q.set_waker(key, cx.waker());
                    gorun_coop::set_wait_reason(gorun_coop::WaitReason::Semaphore);
                    Poll::Pending
                }
            };
        }
        if w.need == 0 {
            // Nothing to take; a closed semaphore still refuses (as tokio's).
            return Poll::Ready(if self.is_closed() {
                Err(AcquireError::new())
            } else {
                Ok(())
            });
        }
        let coop = std::task::ready!(gorun_coop::poll_proceed(cx));
        match self.try_take(w.need) {
            Ok(()) => {
                coop.made_progress();
                w.need = 0;
                return Poll::Ready(Ok(()));
            }
            Err(TryAcquireError::Closed) => {
                coop.made_progress();
                return Poll::Ready(Err(AcquireError::new()));
            }
            Err(TryAcquireError::NoPermits) => {}
        }
        let mut q = self.lock();
        // Under the lock `CLOSED` cannot change, and `WAITERS` only by us.
        let mut s = self.state.load(Acquire);
        loop {
            if s & CLOSED != 0 {
                coop.made_progress();
                return Poll::Ready(Err(AcquireError::new()));
            }
            if s & WAITERS != 0 {
                break;
            }
            if (s >> SHIFT) >= w.need {
                match self
                    .state
                    .compare_exchange(s, s - (w.need << SHIFT), Acquire, Acquire)
                {
                    Ok(_) => {
                        coop.made_progress();
                        w.need = 0;
                        return Poll::Ready(Ok(()));
                    }
                    Err(actual) => s = actual,
                }
            } else {
                match self.state.compare_exchange(s, s | WAITERS, AcqRel, Acquire) {
                    Ok(_) => break,
                    Err(actual) => s = actual,
                }
            }
        }
        w.key = Some(q.push_back(w.need, cx.waker().clone()));
        gorun_coop::set_wait_reason(gorun_coop::WaitReason::Semaphore);
        Poll::Pending
    }

    /// A waiting future is dropped: give back whatever it was handed.
    fn cancel_wait(&self, key: usize) {
        let mut q = self.lock();
        let wakers = self.unqueue_locked(&mut q, key);
        drop(q);
        wakers.wake();
    }
}

impl fmt::Debug for Semaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.state.load(Relaxed);
        f.debug_struct("Semaphore")
            .field("permits", &(s >> SHIFT))
            .field("waiters", &(s & WAITERS != 0))
            .field("closed", &(s & CLOSED != 0))
            .finish()
    }
}

/// A few wakers collected under the lock, woken after it. Inline up to 8 (a release
/// usually wakes one).
struct WakeList {
    inline: [Option<Waker>; 8],
    len: usize,
    spill: Vec<Waker>,
}

impl WakeList {
    fn new() -> WakeList {
        WakeList {
            inline: Default::default(),
            len: 0,
            spill: Vec::new(),
        }
    }
    fn push(&mut self, w: Waker) {
        if self.len < self.inline.len() {
            self.inline[self.len] = Some(w);
            self.len += 1;
        } else {
            self.spill.push(w);
        }
    }
    fn wake(self) {
        for w in self.inline.into_iter().take(self.len).flatten() {
            w.wake();
        }
        super::grant_queue::wake_all(self.spill);
    }
}

/// The state of one pending acquire: how many permits, and its queue slot if parked.
#[derive(Debug)]
struct Waiting {
    need: usize,
    key: Option<usize>,
}

impl Waiting {
    fn new(n: u32) -> Waiting {
        Waiting {
            need: n as usize,
            key: None,
        }
    }
}

/// The future of [`Semaphore::acquire`] and [`Semaphore::acquire_many`].
#[must_use = "futures do nothing unless awaited"]
#[derive(Debug)]
pub struct Acquire<'a> {
    sem: &'a Semaphore,
    wait: Waiting,
}

impl<'a> Future for Acquire<'a> {
    type Output = Result<SemaphorePermit<'a>, AcquireError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let n = this.wait.need;
        std::task::ready!(this.sem.poll_wait(&mut this.wait, cx))?;
        Poll::Ready(Ok(SemaphorePermit {
            sem: this.sem,
            permits: n as u32,
        }))
    }
}

impl Drop for Acquire<'_> {
    fn drop(&mut self) {
        if let Some(key) = self.wait.key.take() {
            self.sem.cancel_wait(key);
        }
    }
}

/// The future of [`Semaphore::acquire_owned`] and [`Semaphore::acquire_many_owned`].
#[must_use = "futures do nothing unless awaited"]
#[derive(Debug)]
pub struct AcquireOwned {
    sem: Arc<Semaphore>,
    wait: Waiting,
}

impl Future for AcquireOwned {
    type Output = Result<OwnedSemaphorePermit, AcquireError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let n = this.wait.need;
        std::task::ready!(this.sem.poll_wait(&mut this.wait, cx))?;
        Poll::Ready(Ok(OwnedSemaphorePermit {
            sem: this.sem.clone(),
            permits: n as u32,
        }))
    }
}

impl Drop for AcquireOwned {
    fn drop(&mut self) {
        if let Some(key) = self.wait.key.take() {
            self.sem.cancel_wait(key);
        }
    }
}

/// Permits borrowed from a [`Semaphore`]; dropping it gives them back (also after
/// the semaphore is [closed](Semaphore::close)).
#[must_use = "dropping the permit releases it at once"]
#[derive(Debug)]
pub struct SemaphorePermit<'a> {
    sem: &'a Semaphore,
    permits: u32,
}

impl SemaphorePermit<'_> {
    /// How many permits this holds.
    pub fn num_permits(&self) -> usize {
        self.permits as usize
    }

    /// Keeps the permits: they are not given back (the semaphore shrinks).
    pub fn forget(mut self) {
        self.permits = 0;
    }
}

impl Drop for SemaphorePermit<'_> {
    fn drop(&mut self) {
        self.sem.release(self.permits as usize);
    }
}

/// Permits from an `Arc<Semaphore>`, movable into a task; dropping it gives them back
/// (also after the semaphore is [closed](Semaphore::close)).
#[must_use = "dropping the permit releases it at once"]
#[derive(Debug)]
pub struct OwnedSemaphorePermit {
    sem: Arc<Semaphore>,
    permits: u32,
}

impl OwnedSemaphorePermit {
    /// How many permits this holds.
    pub fn num_permits(&self) -> usize {
        self.permits as usize
    }

    /// The semaphore these permits came from.
    pub fn semaphore(&self) -> &Arc<Semaphore> {
        &self.sem
    }

    /// Keeps the permits: they are not given back (the semaphore shrinks).
    pub fn forget(mut self) {
        self.permits = 0;
    }
}

impl Drop for OwnedSemaphorePermit {
    fn drop(&mut self) {
        self.sem.release(self.permits as usize);
    }
}
