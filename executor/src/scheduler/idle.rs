//! Who searches for work and who sleeps: Go's spinning-M rule (`runtime/proc.go`,
//! "Worker thread parking/unparking"), in tokio's packing.
//!
//! # Invariants
//! - `state` packs the number of searching workers (low 16 bits) and of unparked
//!   workers (the rest). A worker in `sleepers` is not counted as unparked.
//! - At most half the workers search at once (`transition_worker_to_searching`).
//! - New work wakes a sleeper only when nobody is searching: a searcher will find it
//!   (at its next look, after a nap at most: `worker.rs`).
//!   The last searcher to stop searching (by finding work, or by parking) re-checks
//!   for pending work and wakes another worker, so no work is stranded.
//! - All updates to `state` are `SeqCst`, and so is the fence a notifier runs after
//!   publishing work: the notifier's "push; fence; load state" and the parker's
//!   "update state; check queues" cannot both miss each other.

use crate::loom::{fence, AtomicUsize, Mutex, MutexGuard, Ordering::SeqCst};

const SEARCH_MASK: usize = (1 << 16) - 1;
const UNPARK_ONE: usize = 1 << 16;

pub(crate) struct Idle {
    state: AtomicUsize,
    sleepers: Mutex<Vec<usize>>,
    num_workers: usize,
    /// Times a worker went to sleep (a metric).
    parks: AtomicUsize,
}

fn searching(s: usize) -> usize {
    s & SEARCH_MASK
}

fn unparked(s: usize) -> usize {
    s >> 16
}

impl Idle {
    pub(crate) fn new(num_workers: usize) -> Idle {
        Idle {
            state: AtomicUsize::new(num_workers * UNPARK_ONE),
            sleepers: Mutex::new(Vec::with_capacity(num_workers)),
            num_workers,
            parks: AtomicUsize::new(0),
        }
    }

    fn sleepers(&self) -> MutexGuard<'_, Vec<usize>> {
        self.sleepers.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn should_notify(&self) -> bool {
        let s = self.state.load(SeqCst);
        searching(s) == 0 && unparked(s) < self.num_workers
    }

    /// Picks a sleeper to wake, counting it as unparked and searching; `None` if a
    /// worker is already searching or none sleeps.
    pub(crate) fn worker_to_notify(&self) -> Option<usize> {
        fence(SeqCst);
        if !self.should_notify() {
            return None;
        }
        let mut sleepers = self.sleepers();
        if !self.should_notify() {
            return None;
        }
        let worker = sleepers.pop()?;
        self.state.fetch_add(1 | UNPARK_ONE, SeqCst);
        Some(worker)
    }

    /// Records that `worker` goes to sleep. Returns `true` if it was the last
    /// searcher, which must then re-check for pending work.
    pub(crate) fn transition_worker_to_parked(&self, worker: usize, is_searching: bool) -> bool {
        let mut sleepers = self.sleepers();
        let prev = self
            .state
            .fetch_sub(UNPARK_ONE + usize::from(is_searching), SeqCst);
        sleepers.push(worker);
        self.parks
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        is_searching && searching(prev) == 1
    }

    /// A worker out of local work asks to search others' queues.
    pub(crate) fn transition_worker_to_searching(&self) -> bool {
        let s = self.state.load(SeqCst);
        if 2 * searching(s) >= self.num_workers {
            return false;
        }
        self.state.fetch_add(1, SeqCst);
        true
    }

    /// A searcher found work. Returns `true` if it was the last searcher: it must then
    /// wake another worker so the remaining work is looked for.
    pub(crate) fn transition_worker_from_searching(&self) -> bool {
        searching(self.state.fetch_sub(1, SeqCst)) == 1
    }

    /// Takes `worker` off the sleepers list if it is there (it woke for its own
    /// reasons and found work, or the runtime shuts down).
    pub(crate) fn unpark_worker_by_id(&self, worker: usize) -> bool {
        let mut sleepers = self.sleepers();
        match sleepers.iter().position(|&w| w == worker) {
            Some(i) => {
                sleepers.swap_remove(i);
                self.state.fetch_add(UNPARK_ONE, SeqCst);
                true
            }
            None => false,
        }
    }

    pub(crate) fn is_parked(&self, worker: usize) -> bool {
        self.sleepers().contains(&worker)
    }

    /// Whether some worker runs tasks: is neither asleep nor searching.
    pub(crate) fn any_running(&self) -> bool {
        let s = self.state.load(SeqCst);
        unparked(s) > searching(s)
    }

    /// Whether every worker sleeps (used for the paused clock's auto-advance).
    pub(crate) fn all_parked(&self) -> bool {
        unparked(self.state.load(SeqCst)) == 0
    }

    #[cfg(all(test, not(loom)))]
    pub(crate) fn num_searching(&self) -> usize {
        searching(self.state.load(SeqCst))
    }

    pub(crate) fn parks(&self) -> usize {
        self.parks.load(crate::loom::Ordering::Relaxed)
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn at_most_half_search() {
        let idle = Idle::new(4);
        assert!(idle.transition_worker_to_searching());
        assert!(idle.transition_worker_to_searching());
        assert!(!idle.transition_worker_to_searching());
        assert!(!idle.transition_worker_from_searching());
        assert!(idle.transition_worker_from_searching());
    }

    #[test]
    fn notify_only_when_nobody_searches() {
        let idle = Idle::new(2);
        assert_eq!(idle.worker_to_notify(), None, "nobody sleeps");
        assert!(!idle.transition_worker_to_parked(1, false));
        assert!(idle.transition_worker_to_searching());
        assert_eq!(idle.worker_to_notify(), None, "worker 0 searches");
        assert!(idle.transition_worker_from_searching());
        assert_eq!(idle.worker_to_notify(), Some(1));
        assert_eq!(idle.num_searching(), 1, "the woken worker searches");
        assert!(!idle.is_parked(1));
    }

    #[test]
    fn running_means_unparked_and_not_searching() {
        let idle = Idle::new(2);
        assert!(idle.any_running());
        assert!(!idle.transition_worker_to_parked(1, false));
        assert!(idle.any_running(), "worker 0 runs");
        assert!(idle.transition_worker_to_searching());
        assert!(!idle.any_running(), "worker 0 searches");
        assert!(idle.transition_worker_from_searching());
        assert!(idle.any_running());
    }

    #[test]
    fn last_searcher_parking_reports_it() {
        let idle = Idle::new(2);
        assert!(idle.transition_worker_to_searching());
        assert!(idle.transition_worker_to_parked(0, true));
        assert!(!idle.transition_worker_to_parked(1, false));
        assert!(idle.all_parked());
        assert!(idle.unpark_worker_by_id(1));
        assert!(!idle.unpark_worker_by_id(1));
        assert!(!idle.all_parked());
    }
}

/// Loom model of Go's "no lost wake-up" rule between a worker going to sleep and a
/// thread publishing work. Run with
/// `RUSTFLAGS="--cfg loom" cargo test -p gorun-executor --release --lib loom`.
#[cfg(all(test, loom))]
mod loom_models {
    use super::*;
    use loom::sync::atomic::AtomicBool;
    use loom::sync::Arc;

    /// One worker searches, finds nothing and parks, while another thread publishes
    /// work and notifies. Whatever the interleaving, the work is not stranded: the
    /// worker either saw it or was taken off the sleepers list to go and get it.
    #[test]
    fn parking_worker_and_notifier_do_not_both_miss() {
        loom::model(|| {
            let idle = Arc::new(Idle::new(1));
            let work = Arc::new(AtomicBool::new(false));
            let (i2, w2) = (idle.clone(), work.clone());
            let pusher = loom::thread::spawn(move || {
                w2.store(true, SeqCst);
                i2.worker_to_notify()
            });
            // The worker's side of `park`.
            let mut saw_work = false;
            if idle.transition_worker_to_searching() {
                saw_work = work.load(SeqCst);
                if !saw_work && idle.transition_worker_to_parked(0, true) {
                    // Last searcher re-checks (notify_if_work_pending).
                    fence(SeqCst);
                    if work.load(SeqCst) {
                        if let Some(w) = idle.worker_to_notify() {
                            assert_eq!(w, 0);
                        }
                    }
                }
            }
            let notified = pusher.join().unwrap();
            let parked = idle.is_parked(0);
            assert!(
                saw_work || !parked || notified.is_some(),
                "work published but the only worker sleeps un-notified"
            );
        });
    }

    /// The owner's queue as crossbeam's deque keeps it: `back - front` tasks, the
    /// owner pushes at `back`, thieves take from `front`.
    struct Queue {
        front: loom::sync::atomic::AtomicUsize,
        back: loom::sync::atomic::AtomicUsize,
    }

    impl Queue {
        fn is_empty(&self) -> bool {
            let f = self.front.load(SeqCst);
            fence(SeqCst);
            self.back.load(SeqCst) <= f
        }
    }

    /// Worker 1 steals the last task of worker 0's queue, finds it empty and parks
    /// (re-checking as the last searcher), while worker 0 pushes one more task under
    /// the rule `rule_notify`. Returns whether the pushed task ends up queued behind
    /// a sleeping worker 1.
    fn strands(rule_notify: fn(&Idle, &Queue, push: &dyn Fn())) -> bool {
        let idle = Arc::new(Idle::new(2));
        let q = Arc::new(Queue {
            front: loom::sync::atomic::AtomicUsize::new(0),
            back: loom::sync::atomic::AtomicUsize::new(1),
        });
        let (i2, q2) = (idle.clone(), q.clone());
        let thief = loom::thread::spawn(move || {
            assert!(i2.transition_worker_to_searching());
            loop {
                let f = q2.front.load(SeqCst);
                if q2.back.load(SeqCst) <= f {
                    break;
                }
                let _ = q2.front.compare_exchange(f, f + 1, SeqCst, SeqCst);
            }
            // The last searcher parks and re-checks (`notify_if_work_pending`).
            if i2.transition_worker_to_parked(1, true) {
                fence(SeqCst);
                if !q2.is_empty() {
                    i2.worker_to_notify();
                }
            }
        });
        rule_notify(&idle, &q, &|| {
            let b = q.back.load(SeqCst);
            q.back.store(b + 1, std::sync::atomic::Ordering::Release);
        });
        thief.join().unwrap();
        !q.is_empty() && idle.is_parked(1)
    }

    /// `schedule_local`'s rule: every push is followed by `notify_parked`.
    #[test]
    fn push_after_the_queue_was_drained_wakes_the_thief() {
        loom::model(|| {
            assert!(!strands(|idle, _, push| {
                push();
                idle.worker_to_notify();
            }));
        });
    }

    /// The rule it replaced: notify only if the queue was empty before the push. A
    /// thief that empties the queue between that check and the push sleeps through
    /// every later push (seen with 1,000,000 spawns from one poll: the other worker
    /// asleep while 700,000 tasks waited).
    #[test]
    #[should_panic(expected = "stranded")]
    fn notifying_only_into_an_empty_queue_loses_the_wake() {
        loom::model(|| {
            let stranded = strands(|idle, q, push| {
                let was_empty = q.is_empty();
                push();
                if was_empty {
                    idle.worker_to_notify();
                }
            });
            assert!(!stranded, "stranded");
        });
    }
}
