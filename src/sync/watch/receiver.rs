//! A watch channel's receiving half and its `changed` future (see the invariants in
//! `watch.rs`).

use std::fmt;
use std::future::Future;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::atomic::Ordering::*;
use std::sync::Arc;
use std::task::{Context, Poll};

use gorun_coop::WaitReason;

use super::error::RecvError;
use super::{Ref, Shared, CLOSED, FLAGS, PARKED, STEP};
use crate::sync::waker_set::WakeList;

/// A receiving half of a [`channel`](super::channel); cloneable (a clone starts with
/// this one's idea of what it has seen).
pub struct Receiver<T> {
    pub(super) shared: Arc<Shared<T>>,
    /// The version this receiver has seen (invariant 2).
    pub(super) version: usize,
    /// Its entry in `waiters.rx`, once it has parked (invariant 3); kept from one
    /// `changed` to the next, freed on drop.
    pub(super) key: Option<usize>,
}

impl<T> Receiver<T> {
    /// The latest value, without marking it seen.
    ///
    /// ```
    /// use gorun::sync::watch;
    ///
    /// let (tx, rx) = watch::channel(1);
    /// tx.send(2).unwrap();
    /// let r = rx.borrow();
    /// assert_eq!((*r, r.has_changed()), (2, true));
    /// ```
    pub fn borrow(&self) -> Ref<'_, T> {
        let inner = self.shared.read();
        let has_changed = self.shared.version() != self.version;
        Ref { inner, has_changed }
    }

    /// The latest value, marked seen: `changed` waits for the next change after it.
    pub fn borrow_and_update(&mut self) -> Ref<'_, T> {
        let inner = self.shared.read();
        let version = self.shared.version();
        let has_changed = version != self.version;
        self.version = version;
        Ref { inner, has_changed }
    }

    /// Whether there is a value this receiver has not seen. `Err` once every sender
    /// is gone (as tokio's, even if the last value is unseen).
    ///
    /// ```
    /// use gorun::sync::watch;
    ///
    /// let (tx, mut rx) = watch::channel(0);
    /// assert_eq!(rx.has_changed(), Ok(false));
    /// tx.send_modify(|v| *v += 1);
    /// assert_eq!(rx.has_changed(), Ok(true));
    /// rx.mark_unchanged();
    /// assert_eq!(rx.has_changed(), Ok(false));
    /// drop(tx);
    /// assert!(rx.has_changed().is_err());
    /// ```
    pub fn has_changed(&self) -> Result<bool, RecvError> {
        let state = self.shared.state.load(Acquire);
        if state & CLOSED != 0 {
            return Err(RecvError(()));
        }
        Ok(state & !FLAGS != self.version)
    }

    /// Whether every sender is gone.
    pub fn is_closed(&self) -> bool {
        self.shared.state.load(Acquire) & CLOSED != 0
    }

    /// Marks the value unseen: the next `changed` returns at once.
    pub fn mark_changed(&mut self) {
        self.version = self.version.wrapping_sub(STEP);
    }

    /// Marks the current value seen.
    pub fn mark_unchanged(&mut self) {
        self.version = self.shared.version();
    }

    /// Waits for a value this receiver has not seen, and marks it seen. Returns at
    /// once if there is one already; `Err` once every sender is gone and the last
    /// value was seen.
    ///
    /// Cancel-safe: a dropped `changed` future marks nothing seen.
    pub fn changed(&mut self) -> Changed<'_, T> {
        Changed {
            shared: &self.shared,
            version: &mut self.version,
            key: &mut self.key,
            armed: false,
        }
    }

    /// Waits until `f` holds for the value, and returns it (marked seen). `f` sees the
    /// current value first, then each new value the receiver gets to see; `Err` once
    /// every sender is gone and `f` rejected the last value. Cancel-safe.
    ///
    /// ```
    /// # gorun::Runtime::builder().procs(2).build().unwrap().run(async {
    /// use gorun::sync::watch;
    ///
    /// let (tx, mut rx) = watch::channel(0);
    /// gorun::go(async move {
    ///     for i in 1..=10 {
    ///         tx.send(i).unwrap();
    ///         gorun::yield_now().await;
    ///     }
    /// });
    /// assert!(*rx.wait_for(|v| *v >= 5).await.unwrap() >= 5);
    /// # });
    /// ```
    pub async fn wait_for(
        &mut self,
        mut f: impl FnMut(&T) -> bool,
    ) -> Result<Ref<'_, T>, RecvError> {
        let mut closed = false;
        loop {
            {
                let inner = self.shared.read();
                let version = self.shared.version();
                let has_changed = version != self.version;
                self.version = version;
                if !closed || has_changed {
                    match catch_unwind(AssertUnwindSafe(|| f(&inner))) {
                        Ok(true) => return Ok(Ref { inner, has_changed }),
                        Ok(false) => {}
                        Err(panic) => {
                            drop(inner);
                            resume_unwind(panic);
                        }
                    }
                }
            }
            if closed {
                return Err(RecvError(()));
            }
            let changed = Changed {
                shared: &self.shared,
                version: &mut self.version,
                key: &mut self.key,
                armed: false,
            };
            closed = changed.await.is_err();
        }
    }

    /// Whether both receivers belong to the same channel.
    pub fn same_channel(&self, other: &Receiver<T>) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }
}

impl<T> Clone for Receiver<T> {
    fn clone(&self) -> Receiver<T> {
        self.shared.new_receiver(self.version)
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        if let Some(k) = self.key.take() {
            let old = self.shared.waiters().rx.remove(k);
            drop(old);
        }
        if self.shared.rx_count.fetch_sub(1, AcqRel) == 1 {
            let mut wakers = WakeList::new();
            self.shared.waiters().tx.notify_all(&mut wakers);
            wakers.wake();
        }
    }
}

impl<T: fmt::Debug> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("watch::Receiver")
            .field("value", &*self.shared.read())
            .field("seen_version", &self.version)
            .finish()
    }
}

/// The future of [`Receiver::changed`].
#[must_use = "futures do nothing unless awaited"]
pub struct Changed<'a, T> {
    shared: &'a Shared<T>,
    version: &'a mut usize,
    /// The receiver's entry in `waiters.rx`.
    key: &'a mut Option<usize>,
    /// It parked in that entry (to disarm if dropped).
    armed: bool,
}

impl<T> Future for Changed<'_, T> {
    type Output = Result<(), RecvError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let coop = std::task::ready!(gorun_coop::poll_proceed(cx));
        // The entry stays with the receiver when this returns: notified (no waker)
        // when a send woke us, at worst one spurious wake-up later if polled early.
        if let Some(r) = this.shared.maybe_changed(this.version) {
            this.armed = false;
            coop.made_progress();
            return Poll::Ready(r);
        }
        let mut w = this.shared.waiters();
        let old = w.rx.register(this.key, cx.waker());
        // Publish PARKED and look again in one step: a send either came first (we see
        // its version here) or sees PARKED and wakes us (invariant 3).
        let state = this.shared.state.fetch_or(PARKED, AcqRel);
        if let Some(r) = this.shared.changed_in(state, this.version) {
            let armed = this.key.and_then(|k| w.rx.disarm(k));
            drop(w);
            drop((old, armed));
            this.armed = false;
            coop.made_progress();
            return Poll::Ready(r);
        }
        drop(w);
        drop(old);
        this.armed = true;
        gorun_coop::set_wait_reason(WaitReason::ChanRecv);
        Poll::Pending
    }
}

impl<T> Drop for Changed<'_, T> {
    fn drop(&mut self) {
        if let (true, Some(k)) = (self.armed, *self.key) {
            let old = self.shared.waiters().rx.disarm(k);
            drop(old);
        }
    }
}

impl<T> fmt::Debug for Changed<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("watch::Changed")
            .field("parked", &self.armed)
            .finish_non_exhaustive()
    }
}
