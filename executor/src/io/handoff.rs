//! Who collects a worker's readiness when that worker does not.
//!
//! Every worker polls its own reactor between tasks. The root poll (`root.rs`)
//! reports a reactor that has events queued, to the driver holder; a busy worker
//! that takes the driver between tasks looks at every reactor's count of turns.
//! Either way, a reactor that its running worker may still turn itself is
//! [deferred](Deferred::defer) with that count, read after the report: a turn begun
//! later returns the events (`reactor.rs`). Once the grace has passed, a report
//! whose count has not moved is settled by turning that reactor ourselves: its
//! owner is stuck in a long poll, or sleeps, and the tasks its events wake run here
//! instead (Go's idle Ps poll the shared netpoller; tokio's one driver serves every
//! worker). A reactor whose turn is in progress keeps its report: that turn returns
//! the events, or already has, and the count moves with the next turn.
//!
//! The grace keeps a socket's wake-ups on its own worker while that worker polls
//! often (thread-per-core's locality) and bounds how long one stuck worker delays
//! its sockets (where thread-per-core has no answer).
//!
//! The loom models below check the hand-off with the real type.

/// How long a report about another worker's reactor waits for that worker's own
/// turn before another worker takes the events, in nanoseconds. Above a busy
/// worker's usual polling period (it turns its reactor whenever its queue runs dry,
/// and at maintenance every 61 tasks), so a worker keeps its own sockets while it
/// keeps polling. 100 µs measured no better under CPU burns (benches/LOG.md).
pub(crate) const GRACE_NS: u64 = 500_000;

#[derive(Clone, Copy, Debug)]
struct Report {
    reactor: usize,
    /// The reactor's turns begun when the report was taken.
    turns: u64,
    /// When the report was taken (ns on the caller's clock).
    at_ns: u64,
}

/// Root reports about other workers' reactors, waiting out their grace.
#[derive(Default)]
pub(crate) struct Deferred {
    reports: Vec<Report>,
}

impl Deferred {
    /// Defers a report about `reactor`, whose turn count (read after the report was
    /// taken) is `turns`, taken at `now_ns`. An older report about it with the same
    /// count stands (its grace runs out first); one with an older count is replaced:
    /// the turn that moved the count settles the old report, not this one, whose
    /// events may have come after that turn.
    pub(crate) fn defer(&mut self, reactor: usize, turns: u64, now_ns: u64) {
        let report = Report {
            reactor,
            turns,
            at_ns: now_ns,
        };
        match self.reports.iter_mut().find(|r| r.reactor == reactor) {
            Some(old) if old.turns == turns => {}
            Some(old) => *old = report,
            None => self.reports.push(report),
        }
    }

    /// Settles what can be: a report whose reactor has begun a turn since is done;
    /// one whose grace has passed by `now_ns` is handed to `turn_now`, which turns
    /// that reactor unless a turn is in progress (`false`: the report stays).
    /// Returns how many registrations the turns readied.
    pub(crate) fn settle(
        &mut self,
        now_ns: u64,
        turns_of: impl Fn(usize) -> u64,
        mut turn_now: impl FnMut(usize) -> Option<usize>,
    ) -> usize {
        let mut readied = 0;
        self.reports.retain(|r| {
            if turns_of(r.reactor) != r.turns {
                return false;
            }
            if now_ns.saturating_sub(r.at_ns) < GRACE_NS {
                return true;
            }
            match turn_now(r.reactor) {
                Some(n) => {
                    readied += n;
                    false
                }
                None => true,
            }
        });
        readied
    }

    /// How long until the earliest grace runs out (zero if one has), if any report
    /// is deferred.
    pub(crate) fn next_due_in(&self, now_ns: u64) -> Option<u64> {
        self.reports
            .iter()
            .map(|r| (r.at_ns + GRACE_NS).saturating_sub(now_ns))
            .min()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.reports.is_empty()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::cell::Cell;

    #[test]
    fn a_report_waits_for_the_grace_then_turns_once() {
        let mut d = Deferred::default();
        d.defer(1, 7, 1_000);
        d.defer(1, 7, 2_000); // same count: the older report stands
        let turned = Cell::new(0);
        let turn = |r: usize| {
            assert_eq!(r, 1);
            turned.set(turned.get() + 1);
            Some(3)
        };
        assert_eq!(d.settle(1_000 + GRACE_NS - 1, |_| 7, turn), 0);
        assert_eq!(turned.get(), 0);
        assert_eq!(d.next_due_in(1_000 + GRACE_NS - 1), Some(1));
        assert_eq!(d.settle(1_000 + GRACE_NS, |_| 7, turn), 3);
        assert_eq!(turned.get(), 1);
        assert!(d.is_empty());
    }

    #[test]
    fn a_report_after_a_turn_is_not_settled_by_that_turn() {
        // The owner turned (4 -> 5) after the first report; a second report comes
        // after that turn, then the owner sleeps: the second report must be taken.
        let mut d = Deferred::default();
        d.defer(0, 4, 0);
        d.defer(0, 5, 10);
        let turned = Cell::new(false);
        d.settle(
            10 + GRACE_NS,
            |_| 5,
            |_| {
                turned.set(true);
                Some(1)
            },
        );
        assert!(turned.get(), "the second report was dropped with the first");
        assert!(d.is_empty());
    }

    #[test]
    fn an_owner_turn_settles_a_report_without_stealing() {
        let mut d = Deferred::default();
        d.defer(0, 4, 0);
        d.settle(
            GRACE_NS * 10,
            |_| 5,
            |_| panic!("stole from a reactor that turned"),
        );
        assert!(d.is_empty());
    }

    #[test]
    fn a_turn_in_progress_keeps_the_report() {
        let mut d = Deferred::default();
        d.defer(2, 0, 0);
        assert_eq!(d.settle(GRACE_NS, |_| 0, |_| None), 0);
        assert!(!d.is_empty());
        assert_eq!(d.settle(GRACE_NS, |_| 0, |_| Some(1)), 1);
        assert!(d.is_empty());
    }
}

#[cfg(all(test, loom))]
mod loom_models {
    use super::*;
    use crate::loom::{AtomicU64, Mutex, Ordering::SeqCst};
    use loom::sync::Arc;
    use loom::thread;

    /// A reactor reduced to what the hand-off sees: its turn lock, its count of
    /// turns begun, and the epoll ready list, which the kernel guards with a lock of
    /// its own (`ep->lock`): an event is queued under it, and a turn takes what is
    /// queued under it.
    struct FakeReactor {
        lock: Mutex<()>,
        turns: AtomicU64,
        ready_list: Mutex<u64>,
        taken: AtomicU64,
    }

    impl FakeReactor {
        fn new() -> FakeReactor {
            FakeReactor {
                lock: Mutex::new(()),
                turns: AtomicU64::new(0),
                ready_list: Mutex::new(0),
                taken: AtomicU64::new(0),
            }
        }

        /// `ep_poll_callback`: queues an event and signals the root's wait queue
        /// with the ready list still locked.
        fn signal(&self, root_report: &AtomicU64) {
            let mut list = self.ready_list.lock().unwrap();
            *list += 1;
            root_report.fetch_add(1, SeqCst);
            drop(list);
        }

        fn turn_locked(&self) {
            self.turns.fetch_add(1, SeqCst);
            let events = std::mem::take(&mut *self.ready_list.lock().unwrap());
            self.taken.fetch_add(events, SeqCst);
        }

        fn turn(&self) {
            let _g = self.lock.lock().unwrap();
            self.turn_locked();
        }

        fn try_turn(&self) -> Option<usize> {
            let _g = self.lock.try_lock().ok()?;
            self.turn_locked();
            Some(1)
        }

        /// The driver holder at `now`: takes the root's report, if one came, and
        /// defers it with the turn count read after it.
        fn holder_takes(&self, root_report: &AtomicU64, deferred: &mut Deferred, now: u64) {
            if root_report.swap(0, SeqCst) > 0 {
                deferred.defer(0, self.turns.load(SeqCst), now);
            }
        }

        /// The driver holder at `now`: settles what it deferred.
        fn holder_settles(&self, deferred: &mut Deferred, now: u64) {
            deferred.settle(now, |_| self.turns.load(SeqCst), |_| self.try_turn());
        }
    }

    /// A socket event lands on a busy worker's reactor while that worker may or may
    /// not turn it; the driver holder takes the root's report and settles it. Once
    /// the holder has settled everything it deferred, the event was taken exactly
    /// once: by the owner's turn, or by the holder.
    #[test]
    fn a_deferred_report_is_never_lost() {
        loom::model(|| {
            let r = Arc::new(FakeReactor::new());
            // The root's edge-triggered report: a count of signals not yet taken.
            let root_report = Arc::new(AtomicU64::new(0));

            let owner = {
                let r = r.clone();
                thread::spawn(move || r.turn())
            };
            let source = {
                let (r, root_report) = (r.clone(), root_report.clone());
                thread::spawn(move || r.signal(&root_report))
            };
            // The holder: takes the report if it has come, settles once past the
            // grace (racing the owner), then, both others done, until settled.
            let mut deferred = Deferred::default();
            r.holder_takes(&root_report, &mut deferred, 0);
            r.holder_settles(&mut deferred, GRACE_NS);
            owner.join().unwrap();
            source.join().unwrap();
            r.holder_takes(&root_report, &mut deferred, GRACE_NS);
            while !deferred.is_empty() {
                r.holder_settles(&mut deferred, GRACE_NS * 2);
            }
            assert_eq!(*r.ready_list.lock().unwrap(), 0, "an event was left queued");
            assert_eq!(r.taken.load(SeqCst), 1);
        });
    }

    /// Two events, each signalled to the root, around one owner turn; the holder
    /// takes reports and settles as they come. An event after the owner's turn is
    /// not settled by that turn (the second report replaces the first's count).
    #[test]
    fn a_report_after_the_owners_turn_is_taken() {
        loom::model(|| {
            let r = Arc::new(FakeReactor::new());
            let root_report = Arc::new(AtomicU64::new(0));
            let owner = {
                let r = r.clone();
                thread::spawn(move || r.turn())
            };
            let source = {
                let (r, root_report) = (r.clone(), root_report.clone());
                thread::spawn(move || {
                    r.signal(&root_report);
                    r.signal(&root_report);
                })
            };
            let mut deferred = Deferred::default();
            for now in [0, GRACE_NS / 2] {
                r.holder_takes(&root_report, &mut deferred, now);
                r.holder_settles(&mut deferred, now);
            }
            owner.join().unwrap();
            source.join().unwrap();
            let mut now = GRACE_NS;
            loop {
                r.holder_takes(&root_report, &mut deferred, now);
                if deferred.is_empty() {
                    break;
                }
                now += GRACE_NS;
                r.holder_settles(&mut deferred, now);
            }
            assert_eq!(*r.ready_list.lock().unwrap(), 0, "an event was left queued");
            assert_eq!(r.taken.load(SeqCst), 2);
        });
    }
}
