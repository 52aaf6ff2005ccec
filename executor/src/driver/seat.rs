//! The driver's seat: which worker holds the driver, and which one sleeps in its
//! root poll, with the hand-off that keeps a wake from missing that sleeper.
//!
//! # Invariants
//! - At most one worker holds the seat ([`Seat::try_take`]); the [`Held`] guard gives
//!   it back on drop, even when a panic unwinds out of a driver turn.
//! - A worker that will sleep in the root first [`sits`](Seat::sit) (stores its index
//!   as `owner`) and then checks its parker; a notifier marks the parker `NOTIFIED`
//!   and then reads `owner` ([`Seat::wake_worker`]). Each side puts a `SeqCst` fence
//!   between its write and its read, so at least one side sees the other: the
//!   sleeper skips its sleep, or the notifier wakes the root. (`SeqCst` accesses
//!   alone would do on hardware, but loom models them as acquire/release only and
//!   finds the missed hand-off; the fences cost little on paths that park or wake a
//!   thread anyway.) A root wake stays pending until the next poll, so one that lands
//!   before the sleeper polls is not lost.
//! - `owner` is set before the sleeper computes its timeout and cleared after it
//!   woke, so a timer armed earlier meanwhile finds it ([`Seat::wake_owner`]).

use crate::loom::{fence, AtomicBool, AtomicUsize, Ordering::*};
use crate::park::Parker;

const NO_OWNER: usize = usize::MAX;

pub(crate) struct Seat {
    locked: AtomicBool,
    owner: AtomicUsize,
}

impl Seat {
    pub(crate) fn new() -> Seat {
        Seat {
            locked: AtomicBool::new(false),
            owner: AtomicUsize::new(NO_OWNER),
        }
    }

    /// Takes the seat if it is free; the guard gives it back.
    pub(crate) fn try_take(&self) -> Option<Held<'_>> {
        let free = !self.locked.load(Relaxed)
            && self
                .locked
                .compare_exchange(false, true, Acquire, Relaxed)
                .is_ok();
        // Built only when taken: a `Held` dropped unused would release the seat
        // another worker holds (so no eager `then_some`).
        if free {
            Some(Held(&self.locked))
        } else {
            None
        }
    }

    /// The holder, worker `index`, is about to sleep in the root: publishes it, then
    /// consumes a pending unpark. Returns `true` if one was pending (do not sleep).
    pub(crate) fn sit(&self, _held: &Held<'_>, index: usize, parker: &Parker) -> bool {
        self.owner.store(index, SeqCst);
        fence(SeqCst);
        parker.take_notified()
    }

    /// The sleeper woke: nobody sleeps in the root any more.
    pub(crate) fn stand(&self, _held: &Held<'_>) {
        self.owner.store(NO_OWNER, SeqCst);
    }

    /// Calls `wake_root` if a worker sleeps (or is about to sleep) in the root.
    pub(crate) fn wake_owner(&self, wake_root: impl FnOnce()) {
        // Orders the caller's publication (an armed timer) before the read.
        fence(SeqCst);
        if self.owner.load(SeqCst) != NO_OWNER {
            wake_root();
        }
    }

    /// Calls `wake_root` if worker `index` sleeps in the root; the caller has just
    /// unparked that worker's parker.
    pub(crate) fn wake_worker(&self, index: usize, wake_root: impl FnOnce()) {
        // Orders the caller's unpark before the read.
        fence(SeqCst);
        if self.owner.load(SeqCst) == index {
            wake_root();
        }
    }
}

/// The seat held by one worker; released on drop, even by a panic.
pub(crate) struct Held<'a>(&'a AtomicBool);

impl Drop for Held<'_> {
    fn drop(&mut self) {
        self.0.store(false, Release);
    }
}

/// `RUSTFLAGS="--cfg loom" cargo test -p gorun-executor --release --lib loom`.
#[cfg(all(test, loom))]
mod loom_models {
    use loom::sync::{Arc, Condvar, Mutex};

    use super::Seat;
    use crate::park::Parker;

    /// The root poll's stand-in: a wake is an event that stays pending until the
    /// next poll takes it.
    #[derive(Default)]
    struct Root {
        pending: Mutex<bool>,
        cvar: Condvar,
    }

    impl Root {
        fn wake(&self) {
            *self.pending.lock().unwrap() = true;
            self.cvar.notify_one();
        }

        fn sleep(&self) {
            let mut p = self.pending.lock().unwrap();
            while !*p {
                p = self.cvar.wait(p).unwrap();
            }
            *p = false;
        }
    }

    /// `notify_parked` picks worker 0 while it goes to sleep in the driver: the worker
    /// skips the sleep or the notifier wakes the root (a missed hand-off deadlocks
    /// the model), and the unpark is used up either way.
    #[test]
    fn loom_seat_notify_reaches_the_worker_in_the_driver() {
        loom::model(|| {
            let seat = Arc::new(Seat::new());
            let root = Arc::new(Root::default());
            let parker = Arc::new(Parker::new());
            let notifier = {
                let (seat, root, parker) = (seat.clone(), root.clone(), parker.clone());
                loom::thread::spawn(move || {
                    parker.unpark();
                    seat.wake_worker(0, || root.wake());
                })
            };
            let held = seat.try_take().expect("the seat is free");
            assert!(seat.try_take().is_none(), "the seat is held");
            assert!(seat.try_take().is_none(), "a failed take released the seat");
            if !seat.sit(&held, 0, &parker) {
                root.sleep();
            }
            seat.stand(&held);
            // A notify that also woke the root left its token (the driver drops it).
            parker.take_notified();
            drop(held);
            notifier.join().unwrap();
            assert!(!parker.take_notified());
            assert!(seat.try_take().is_some(), "the guard gave the seat back");
        });
    }

    /// A timer armed earlier than the sleeper's timeout wakes it through the seat:
    /// the sleeper publishes itself before reading the deadline, the arming side
    /// publishes the deadline before looking for a sleeper.
    #[test]
    fn loom_seat_earlier_timer_reaches_the_sleeper() {
        use crate::loom::{AtomicBool, Ordering::SeqCst};
        loom::model(|| {
            let seat = Arc::new(Seat::new());
            let root = Arc::new(Root::default());
            let armed = Arc::new(AtomicBool::new(false));
            let timer = {
                let (seat, root, armed) = (seat.clone(), root.clone(), armed.clone());
                loom::thread::spawn(move || {
                    armed.store(true, SeqCst);
                    seat.wake_owner(|| root.wake());
                })
            };
            let parker = Parker::new();
            let held = seat.try_take().expect("the seat is free");
            let notified = seat.sit(&held, 0, &parker);
            // The timeout computed now: none if no timer is armed yet.
            if !notified && !armed.load(SeqCst) {
                root.sleep();
            }
            seat.stand(&held);
            drop(held);
            timer.join().unwrap();
        });
    }
}
