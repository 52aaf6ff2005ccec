//! The task state word: lifecycle bits and the reference count in one atomic.
//!
//! # Invariants
//!
//! 1. At most one thread holds the "run lock": the `RUNNING` bit. Only its holder may
//!    touch the task's stage (future or output) while the task is not `COMPLETE`.
//! 2. `NOTIFIED` set means exactly one `Notified` reference exists (in a run queue, or
//!    about to be pushed into one), or the task is running and will be re-queued by
//!    its poller. A second wake while `NOTIFIED` is set does nothing: a task is never
//!    queued twice.
//! 3. Once `COMPLETE` is set the stage holds the output, and it belongs to the
//!    `JoinHandle` if `JOIN_INTEREST` was still set at completion, else to the
//!    completing thread, which drops it at once.
//! 4. The join waker slot is owned by the `JoinHandle` while `JOIN_WAKER` is unset and
//!    by the task while it is set (until the task clears it after completion).
//! 5. The reference count counts: the owned-tasks list entry, each `Notified`, the
//!    running poller, the `JoinHandle`, and every `Waker`. The one that brings it to
//!    zero frees the cell.

use crate::loom::{AtomicUsize, Ordering::*};

/// The task is being polled, cancelled or completed by the holder of this bit.
const RUNNING: usize = 1 << 0;
/// The future has finished (or was cancelled) and the stage holds the output.
/// Never unset again. Excludes `RUNNING`.
const COMPLETE: usize = 1 << 1;
/// A `Notified` reference exists: the task is, or is about to be, in a run queue.
const NOTIFIED: usize = 1 << 2;
/// Abort was requested (by `JoinHandle::abort` or runtime shutdown). Never unset.
const CANCELLED: usize = 1 << 3;
/// The `JoinHandle` is still alive.
const JOIN_INTEREST: usize = 1 << 4;
/// The join waker slot holds a waker and belongs to the task side (invariant 4).
const JOIN_WAKER: usize = 1 << 5;

#[cfg(all(test, not(loom)))]
const STATE_MASK: usize = (1 << 6) - 1;
const REF_ONE: usize = 1 << 6;

/// A new task: referenced by the owned list, its first `Notified` and its
/// `JoinHandle` (3), notified, with join interest.
const INITIAL: usize = (REF_ONE * 3) | JOIN_INTEREST | NOTIFIED;

pub(crate) struct State {
    val: AtomicUsize,
}

/// A copy of the state word.
#[derive(Copy, Clone, PartialEq, Eq)]
pub(crate) struct Snapshot(usize);

impl Snapshot {
    pub(crate) fn is_running(self) -> bool {
        self.0 & RUNNING != 0
    }
    pub(crate) fn is_complete(self) -> bool {
        self.0 & COMPLETE != 0
    }
    pub(crate) fn is_notified(self) -> bool {
        self.0 & NOTIFIED != 0
    }
    pub(crate) fn is_cancelled(self) -> bool {
        self.0 & CANCELLED != 0
    }
    pub(crate) fn is_join_interested(self) -> bool {
        self.0 & JOIN_INTEREST != 0
    }
    pub(crate) fn is_join_waker_set(self) -> bool {
        self.0 & JOIN_WAKER != 0
    }
    pub(crate) fn ref_count(self) -> usize {
        self.0 / REF_ONE
    }
    fn is_idle(self) -> bool {
        self.0 & (RUNNING | COMPLETE) == 0
    }
}

impl std::fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Snapshot")
            .field("running", &self.is_running())
            .field("complete", &self.is_complete())
            .field("notified", &self.is_notified())
            .field("cancelled", &self.is_cancelled())
            .field("join_interest", &self.is_join_interested())
            .field("join_waker", &self.is_join_waker_set())
            .field("refs", &self.ref_count())
            .finish()
    }
}

/// What the popper of a `Notified` must do.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum TransitionToRunning {
    /// It holds the run lock: poll the future.
    Success,
    /// It holds the run lock, but the task was aborted: drop the future.
    Cancelled,
    /// Someone else runs it or it is complete; the `Notified` ref was dropped.
    Failed,
    /// As `Failed`, and that was the last reference: free the cell.
    Dealloc,
}

/// What the poller must do after a `Pending` poll.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum TransitionToIdle {
    /// The task is idle, waiting for a wake. The running ref was dropped.
    Ok,
    /// It was woken while running: the running ref becomes a `Notified`; re-queue it.
    OkNotified,
    /// As `Ok`, and that was the last reference (only possible if no waker was kept).
    OkDealloc,
    /// It was aborted while running: keep the run lock and cancel it.
    Cancelled,
}

/// What a waker must do.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum TransitionToNotified {
    /// Nothing (already notified, running, or complete).
    DoNothing,
    /// Push a `Notified` (a reference was made for it) into a run queue.
    Submit,
    /// The waker's reference was the last: free the cell.
    Dealloc,
}

impl State {
    pub(crate) fn new() -> State {
        State {
            val: AtomicUsize::new(INITIAL),
        }
    }

    pub(crate) fn load(&self) -> Snapshot {
        Snapshot(self.val.load(Acquire))
    }

    /// Runs `f` in a CAS loop; `f` returns what to report and the new value, or `None`
    /// to leave the word as it is.
    fn fetch_update_action<T>(&self, mut f: impl FnMut(Snapshot) -> (T, Option<Snapshot>)) -> T {
        let mut curr = self.load();
        loop {
            let (output, next) = f(curr);
            let Some(next) = next else { return output };
            match self
                .val
                .compare_exchange_weak(curr.0, next.0, AcqRel, Acquire)
            {
                Ok(_) => return output,
                Err(actual) => curr = Snapshot(actual),
            }
        }
    }

    fn fetch_update(
        &self,
        mut f: impl FnMut(Snapshot) -> Option<Snapshot>,
    ) -> Result<Snapshot, Snapshot> {
        let mut curr = self.load();
        loop {
            let Some(next) = f(curr) else {
                return Err(curr);
            };
            match self
                .val
                .compare_exchange_weak(curr.0, next.0, AcqRel, Acquire)
            {
                Ok(_) => return Ok(next),
                Err(actual) => curr = Snapshot(actual),
            }
        }
    }

    /// Called by whoever popped a `Notified`; consumes that reference.
    pub(crate) fn transition_to_running(&self) -> TransitionToRunning {
        self.fetch_update_action(|s| {
            debug_assert!(s.is_notified(), "{s:?}");
            if s.is_idle() {
                let next = Snapshot((s.0 | RUNNING) & !NOTIFIED);
                let action = if s.is_cancelled() {
                    TransitionToRunning::Cancelled
                } else {
                    TransitionToRunning::Success
                };
                (action, Some(next))
            } else {
                debug_assert!(s.ref_count() > 0);
                let next = Snapshot(s.0 - REF_ONE);
                let action = if next.ref_count() == 0 {
                    TransitionToRunning::Dealloc
                } else {
                    TransitionToRunning::Failed
                };
                (action, Some(next))
            }
        })
    }

    /// Called by the poller after `Pending`.
    pub(crate) fn transition_to_idle(&self) -> TransitionToIdle {
        self.fetch_update_action(|s| {
            debug_assert!(s.is_running(), "{s:?}");
            if s.is_cancelled() {
                return (TransitionToIdle::Cancelled, None);
            }
            let mut next = s.0 & !RUNNING;
            if s.is_notified() {
                // The running ref turns into the `Notified` ref: the count is unchanged.
                (TransitionToIdle::OkNotified, Some(Snapshot(next)))
            } else {
                next -= REF_ONE;
                let action = if Snapshot(next).ref_count() == 0 {
                    TransitionToIdle::OkDealloc
                } else {
                    TransitionToIdle::Ok
                };
                (action, Some(Snapshot(next)))
            }
        })
    }

    /// Sets `COMPLETE` and clears `RUNNING`; returns the new snapshot.
    pub(crate) fn transition_to_complete(&self) -> Snapshot {
        let prev = Snapshot(self.val.fetch_xor(RUNNING | COMPLETE, AcqRel));
        debug_assert!(prev.is_running() && !prev.is_complete(), "{prev:?}");
        Snapshot(prev.0 ^ (RUNNING | COMPLETE))
    }

    /// `wake(self)`: the waker's own reference is consumed.
    pub(crate) fn transition_to_notified_by_val(&self) -> TransitionToNotified {
        self.fetch_update_action(|s| {
            debug_assert!(s.ref_count() > 0);
            if s.is_running() {
                // The poller re-queues it; drop the waker's ref (the poller holds one).
                let next = Snapshot((s.0 | NOTIFIED) - REF_ONE);
                (TransitionToNotified::DoNothing, Some(next))
            } else if s.is_complete() || s.is_notified() {
                let next = Snapshot(s.0 - REF_ONE);
                if next.ref_count() == 0 {
                    (TransitionToNotified::Dealloc, Some(next))
                } else {
                    (TransitionToNotified::DoNothing, Some(next))
                }
            } else {
                // The waker's ref becomes the `Notified` ref.
                (TransitionToNotified::Submit, Some(Snapshot(s.0 | NOTIFIED)))
            }
        })
    }

    /// `wake_by_ref`: a reference is created only when a `Notified` must be made,
    /// in the same CAS that sets `NOTIFIED`.
    pub(crate) fn transition_to_notified_by_ref(&self) -> TransitionToNotified {
        self.fetch_update_action(|s| {
            if s.is_complete() || s.is_notified() {
                (TransitionToNotified::DoNothing, None)
            } else if s.is_running() {
                (
                    TransitionToNotified::DoNothing,
                    Some(Snapshot(s.0 | NOTIFIED)),
                )
            } else {
                (
                    TransitionToNotified::Submit,
                    Some(Snapshot((s.0 | NOTIFIED) + REF_ONE)),
                )
            }
        })
    }

    /// Abort: marks the task cancelled; returns `true` if the caller must submit a
    /// `Notified` (made here) so a worker cancels the idle task.
    pub(crate) fn transition_to_notified_and_cancel(&self) -> bool {
        self.fetch_update_action(|s| {
            if s.is_cancelled() || s.is_complete() {
                (false, None)
            } else if s.is_running() || s.is_notified() {
                // The poller or the queued `Notified` will see CANCELLED.
                (false, Some(Snapshot(s.0 | NOTIFIED | CANCELLED)))
            } else {
                (true, Some(Snapshot((s.0 | NOTIFIED | CANCELLED) + REF_ONE)))
            }
        })
    }

    /// Shutdown: marks the task cancelled and, if it is idle, takes the run lock so the
    /// caller cancels it now. Returns whether the caller holds the run lock.
    pub(crate) fn transition_to_shutdown(&self) -> bool {
        let mut took = false;
        let _ = self.fetch_update(|s| {
            took = s.is_idle();
            let mut next = s.0 | CANCELLED;
            if took {
                next |= RUNNING;
            }
            Some(Snapshot(next))
        });
        took
    }

    /// The `JoinHandle` publishes its waker. Fails (returning the snapshot) if the
    /// task completed meanwhile.
    pub(crate) fn set_join_waker(&self) -> Result<Snapshot, Snapshot> {
        self.fetch_update(|s| {
            debug_assert!(s.is_join_interested() && !s.is_join_waker_set());
            if s.is_complete() {
                None
            } else {
                Some(Snapshot(s.0 | JOIN_WAKER))
            }
        })
    }

    /// The `JoinHandle` takes the waker slot back to replace it. Fails if complete.
    pub(crate) fn unset_waker(&self) -> Result<Snapshot, Snapshot> {
        self.fetch_update(|s| {
            debug_assert!(s.is_join_interested() && s.is_join_waker_set());
            if s.is_complete() {
                None
            } else {
                Some(Snapshot(s.0 & !JOIN_WAKER))
            }
        })
    }

    /// After waking the join waker, the task gives the slot back.
    pub(crate) fn unset_waker_after_complete(&self) -> Snapshot {
        let prev = Snapshot(self.val.fetch_and(!JOIN_WAKER, AcqRel));
        debug_assert!(prev.is_complete() && prev.is_join_waker_set());
        Snapshot(prev.0 & !JOIN_WAKER)
    }

    /// The `JoinHandle` is dropped. Returns `(drop_output, drop_waker)`: what the
    /// handle now owns and must drop (invariants 3 and 4).
    pub(crate) fn transition_to_join_handle_dropped(&self) -> (bool, bool) {
        self.fetch_update_action(|s| {
            debug_assert!(s.is_join_interested());
            let mut next = s.0 & !JOIN_INTEREST;
            let drop_output = s.is_complete();
            if !drop_output {
                next &= !JOIN_WAKER;
            }
            let drop_waker = Snapshot(next).0 & JOIN_WAKER == 0;
            ((drop_output, drop_waker), Some(Snapshot(next)))
        })
    }

    pub(crate) fn ref_inc(&self) {
        let prev = self.val.fetch_add(REF_ONE, Relaxed);
        if prev > isize::MAX as usize {
            std::process::abort();
        }
    }

    /// Drops one reference; returns `true` if it was the last.
    pub(crate) fn ref_dec(&self) -> bool {
        self.ref_dec_many(1)
    }

    /// Drops `n` references; returns `true` if they were the last.
    pub(crate) fn ref_dec_many(&self, n: usize) -> bool {
        let prev = Snapshot(self.val.fetch_sub(n * REF_ONE, AcqRel));
        debug_assert!(prev.ref_count() >= n, "{prev:?} - {n}");
        prev.ref_count() == n
    }

    #[cfg(all(test, not(loom)))]
    pub(crate) fn raw(&self) -> usize {
        self.val.load(Relaxed) & STATE_MASK
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn lifecycle_poll_pending_wake_complete() {
        let s = State::new();
        assert_eq!(s.load().ref_count(), 3);
        assert_eq!(s.transition_to_running(), TransitionToRunning::Success);
        // A wake while running only marks it.
        assert_eq!(
            s.transition_to_notified_by_ref(),
            TransitionToNotified::DoNothing
        );
        assert_eq!(s.transition_to_idle(), TransitionToIdle::OkNotified);
        assert_eq!(s.load().ref_count(), 3);
        assert_eq!(s.transition_to_running(), TransitionToRunning::Success);
        assert_eq!(s.transition_to_idle(), TransitionToIdle::Ok);
        assert_eq!(s.load().ref_count(), 2);
        // Two wakes: only the first submits.
        assert_eq!(
            s.transition_to_notified_by_ref(),
            TransitionToNotified::Submit
        );
        assert_eq!(
            s.transition_to_notified_by_ref(),
            TransitionToNotified::DoNothing
        );
        assert_eq!(s.load().ref_count(), 3);
        assert_eq!(s.transition_to_running(), TransitionToRunning::Success);
        let snap = s.transition_to_complete();
        assert!(snap.is_complete() && !snap.is_running() && snap.is_join_interested());
        assert_eq!(s.transition_to_join_handle_dropped(), (true, true));
        // list ref + running ref + join handle ref
        assert!(!s.ref_dec_many(2));
        assert!(s.ref_dec());
    }

    #[test]
    fn abort_idle_task_submits_once() {
        let s = State::new();
        assert_eq!(s.transition_to_running(), TransitionToRunning::Success);
        assert_eq!(s.transition_to_idle(), TransitionToIdle::Ok);
        assert!(s.transition_to_notified_and_cancel());
        assert!(!s.transition_to_notified_and_cancel());
        assert_eq!(s.transition_to_running(), TransitionToRunning::Cancelled);
    }

    #[test]
    fn abort_running_task_is_seen_at_idle() {
        let s = State::new();
        assert_eq!(s.transition_to_running(), TransitionToRunning::Success);
        assert!(!s.transition_to_notified_and_cancel());
        assert_eq!(s.transition_to_idle(), TransitionToIdle::Cancelled);
        assert!(s.load().is_running());
    }

    #[test]
    fn wake_by_val_on_complete_drops_ref() {
        let s = State::new();
        assert_eq!(s.transition_to_running(), TransitionToRunning::Success);
        s.ref_inc(); // a waker
        s.transition_to_complete();
        assert_eq!(
            s.transition_to_notified_by_val(),
            TransitionToNotified::DoNothing
        );
        assert_eq!(s.load().ref_count(), 3);
        assert_eq!(s.raw() & NOTIFIED, 0);
    }

    #[test]
    fn join_waker_protocol() {
        let s = State::new();
        assert!(s.set_join_waker().is_ok());
        assert!(s.unset_waker().is_ok());
        assert!(s.set_join_waker().is_ok());
        assert_eq!(s.transition_to_running(), TransitionToRunning::Success);
        let snap = s.transition_to_complete();
        assert!(snap.is_join_waker_set());
        assert!(s.unset_waker().is_err());
        let snap = s.unset_waker_after_complete();
        assert!(!snap.is_join_waker_set());
        // Handle dropped after the task gave the slot back: the handle drops the waker.
        assert_eq!(s.transition_to_join_handle_dropped(), (true, true));
    }

    #[test]
    fn shutdown_takes_idle_task_only() {
        let s = State::new();
        assert_eq!(s.transition_to_running(), TransitionToRunning::Success);
        assert!(!s.transition_to_shutdown());
        assert_eq!(s.transition_to_idle(), TransitionToIdle::Cancelled);
        let s = State::new();
        assert!(s.transition_to_shutdown());
        // The queued Notified later finds it running and drops its ref.
        assert_eq!(s.transition_to_running(), TransitionToRunning::Failed);
    }
}

/// Loom models of the races the state word arbitrates. Run with
/// `RUSTFLAGS="--cfg loom" cargo test -p gorun-executor --release --lib loom`.
#[cfg(all(test, loom))]
mod loom_models {
    use super::*;
    use loom::sync::atomic::AtomicUsize as Counter;
    use loom::sync::Arc;
    use loom::thread;

    /// An idle task woken by two threads at once is queued exactly once.
    #[test]
    fn concurrent_wakes_queue_once() {
        loom::model(|| {
            let s = Arc::new(State::new());
            assert_eq!(s.transition_to_running(), TransitionToRunning::Success);
            assert_eq!(s.transition_to_idle(), TransitionToIdle::Ok);
            let submits = Arc::new(Counter::new(0));
            let ths: Vec<_> = (0..2)
                .map(|_| {
                    let (s, submits) = (s.clone(), submits.clone());
                    thread::spawn(move || {
                        if s.transition_to_notified_by_ref() == TransitionToNotified::Submit {
                            submits.fetch_add(1, SeqCst);
                        }
                    })
                })
                .collect();
            for t in ths {
                t.join().unwrap();
            }
            assert_eq!(submits.load(SeqCst), 1);
            // list + join handle + the one Notified
            assert_eq!(s.load().ref_count(), 3);
        });
    }

    /// A wake racing with the end of a poll: exactly one side re-queues the task,
    /// and no reference is lost or leaked.
    #[test]
    fn wake_during_poll_requeues_once() {
        loom::model(|| {
            let s = Arc::new(State::new());
            assert_eq!(s.transition_to_running(), TransitionToRunning::Success);
            s.ref_inc(); // the waker handed to another thread
            let s2 = s.clone();
            let waker = thread::spawn(move || s2.transition_to_notified_by_val());
            let idle = s.transition_to_idle();
            let woke = waker.join().unwrap();
            let requeued = usize::from(idle == TransitionToIdle::OkNotified)
                + usize::from(woke == TransitionToNotified::Submit);
            assert_eq!(requeued, 1, "{idle:?} {woke:?}");
            // list + join handle + the Notified that re-queues it
            assert_eq!(s.load().ref_count(), 3);
            assert!(s.load().is_notified());
        });
    }

    /// Completion racing with the JoinHandle's drop: the output is dropped exactly
    /// once, and the join waker exactly once.
    #[test]
    fn completion_vs_join_handle_drop() {
        loom::model(|| {
            let s = Arc::new(State::new());
            assert!(s.set_join_waker().is_ok()); // the handle registered a waker
            assert_eq!(s.transition_to_running(), TransitionToRunning::Success);
            let output_drops = Arc::new(Counter::new(0));
            let waker_drops = Arc::new(Counter::new(0));
            let (s2, od, wd) = (s.clone(), output_drops.clone(), waker_drops.clone());
            let completer = thread::spawn(move || {
                let snap = s2.transition_to_complete();
                if !snap.is_join_interested() {
                    od.fetch_add(1, SeqCst);
                } else if snap.is_join_waker_set() {
                    let snap = s2.unset_waker_after_complete();
                    if !snap.is_join_interested() {
                        wd.fetch_add(1, SeqCst);
                    }
                }
            });
            let (drop_output, drop_waker) = s.transition_to_join_handle_dropped();
            if drop_output {
                output_drops.fetch_add(1, SeqCst);
            }
            if drop_waker {
                waker_drops.fetch_add(1, SeqCst);
            }
            completer.join().unwrap();
            assert_eq!(output_drops.load(SeqCst), 1);
            assert_eq!(waker_drops.load(SeqCst), 1);
        });
    }

    /// Abort racing with a wake of an idle task: it is queued once and, when run,
    /// cancelled.
    #[test]
    fn abort_vs_wake() {
        loom::model(|| {
            let s = Arc::new(State::new());
            assert_eq!(s.transition_to_running(), TransitionToRunning::Success);
            assert_eq!(s.transition_to_idle(), TransitionToIdle::Ok);
            let s2 = s.clone();
            let aborter = thread::spawn(move || s2.transition_to_notified_and_cancel());
            let woke = s.transition_to_notified_by_ref() == TransitionToNotified::Submit;
            let aborted = aborter.join().unwrap();
            assert_eq!(usize::from(woke) + usize::from(aborted), 1);
            assert_eq!(s.transition_to_running(), TransitionToRunning::Cancelled);
        });
    }
}
