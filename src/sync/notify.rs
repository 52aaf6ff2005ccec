//! Notify: wake one waiter or all of them (tokio's `Notify`; Go's `sync.Cond`
//! `Signal`/`Broadcast` without the lock, or a `chan struct{}` used as a signal).
//!
//! Invariants, all under `state`'s lock:
//! 1. `permit` is set only while no waiter is queued (`notify_one` with nobody
//!    waiting stores it; the next `notified()` consumes it).
//! 2. `generation` counts `notify_waiters` calls. A `Notified` remembers the
//!    generation it was created in and completes once it changes, even if it had
//!    never been polled (so "create, check condition, await" loses no broadcast).
//! 3. A waiter granted by `notify_one` and dropped before seeing it passes the
//!    notification on (to the next waiter, or back into `permit`).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering::*};
use std::sync::{Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use super::grant_queue::{GrantQueue, SlotState};

const BY_ONE: usize = 1;
const BY_ALL: usize = 2;

/// Wakes tasks waiting on it: [`notify_one`](Notify::notify_one) wakes the oldest
/// waiter (or lets the next one through at once, if none waits);
/// [`notify_waiters`](Notify::notify_waiters) wakes every current waiter.
///
/// ```
/// # gorun::Runtime::builder().procs(2).build().unwrap().run(async {
/// use std::sync::Arc;
/// use gorun::sync::Notify;
///
/// let notify = Arc::new(Notify::new());
/// let n2 = notify.clone();
/// let h = gorun::go(async move {
///     n2.notified().await;
///     "woken"
/// });
/// notify.notify_one(); // stored as a permit if the task is not waiting yet
/// assert_eq!(h.await.unwrap(), "woken");
/// # });
/// ```
pub struct Notify {
    generation: AtomicUsize,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    permit: bool,
    queue: GrantQueue,
}

impl Notify {
    /// A `Notify` with no stored permit and no waiters.
    pub const fn new() -> Notify {
        Notify {
            generation: AtomicUsize::new(0),
            state: Mutex::new(State {
                permit: false,
                queue: GrantQueue::new(),
            }),
        }
    }

    /// A future that completes when this is notified. Cancel-safe: dropping it after
    /// a [`notify_one`](Self::notify_one) picked it passes that notification on.
    ///
    /// It counts as waiting for [`notify_waiters`](Self::notify_waiters) from the
    /// moment it is created; for [`notify_one`](Self::notify_one), from its first poll.
    pub fn notified(&self) -> Notified<'_> {
        Notified {
            notify: self,
            generation: self.generation.load(Acquire),
            key: None,
            done: false,
        }
    }

    /// Wakes the oldest waiter; if none waits, stores one permit so the next
    /// `notified().await` completes at once (permits do not accumulate).
    pub fn notify_one(&self) {
        let mut st = self.lock();
        let waker = Self::notify_one_locked(&mut st);
        drop(st);
        if let Some(w) = waker {
            w.wake();
        }
    }

    /// Wakes every task waiting now (and every `Notified` already created). Stores
    /// no permit.
    pub fn notify_waiters(&self) {
        let mut st = self.lock();
        self.generation.fetch_add(1, Release);
        let mut wakers = Vec::with_capacity(st.queue.len());
        while let Some(w) = st.queue.grant_front(BY_ALL) {
            wakers.push(w);
        }
        drop(st);
        super::grant_queue::wake_all(wakers);
    }

    fn notify_one_locked(st: &mut State) -> Option<Waker> {
        if st.queue.is_empty() {
            st.permit = true;
            None
        } else {
            st.queue.grant_front(BY_ONE)
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // No user code runs under this lock.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Default for Notify {
    fn default() -> Self {
        Notify::new()
    }
}

impl fmt::Debug for Notify {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = self.lock();
        f.debug_struct("Notify")
            .field("permit", &st.permit)
            .field("waiters", &st.queue.len())
            .finish()
    }
}

/// The future of [`Notify::notified`].
#[must_use = "futures do nothing unless awaited"]
#[derive(Debug)]
pub struct Notified<'a> {
    notify: &'a Notify,
    generation: usize,
    key: Option<usize>,
    done: bool,
}

impl Future for Notified<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        if this.done {
            return Poll::Ready(());
        }
        let mut st = this.notify.lock();
        if let Some(key) = this.key {
            if let SlotState::Granted(_) = st.queue.state(key) {
                st.queue.remove(key);
                this.key = None;
                this.done = true;
                return Poll::Ready(());
            }
            st.queue.set_waker(key, cx.waker());
            gorun_coop::set_wait_reason(gorun_coop::WaitReason::Notify);
            return Poll::Pending;
        }
        if this.notify.generation.load(Acquire) != this.generation {
            this.done = true;
            return Poll::Ready(());
        }
        if st.permit {
            st.permit = false;
            this.done = true;
            return Poll::Ready(());
        }
        this.key = Some(st.queue.push_back(0, cx.waker().clone()));
        gorun_coop::set_wait_reason(gorun_coop::WaitReason::Notify);
        Poll::Pending
    }
}

impl Drop for Notified<'_> {
    fn drop(&mut self) {
        let Some(key) = self.key.take() else { return };
        let mut st = self.notify.lock();
        if st.queue.remove(key) == SlotState::Granted(BY_ONE) {
            let waker = Notify::notify_one_locked(&mut st);
            drop(st);
            if let Some(w) = waker {
                w.wake();
            }
        }
    }
}
