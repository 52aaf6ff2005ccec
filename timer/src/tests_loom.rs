//! loom models of the entry state machine: `process` firing an entry on one thread
//! while its owner drops (cancels) or resets it on another, also across shards; two
//! workers' `try_process` finding the same entry due; and
//! of the hand-off between a thread going to sleep for every shard's timers and a
//! worker arming one meanwhile. Run with
//! `RUSTFLAGS="--cfg loom" cargo test -p gorun-timer --release --lib tests_loom`.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Poll, Wake, Waker};
use std::time::Duration;

use loom::sync::atomic::{AtomicUsize, Ordering};

use crate::entry::{Entry, FIRED, REGISTERED, UNREGISTERED};
use crate::handle::Owner;
use crate::Driver;

struct Count(AtomicUsize);
impl Wake for Count {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// A paused driver with `shards` shards and one entry armed 5 ms from now in its
/// last shard, and a thread that will fire it.
fn setup_sharded(shards: usize) -> (Driver, Pin<Box<Entry>>, Arc<Count>) {
    let driver = Driver::with_shards(shards, Arc::new(|| {}));
    driver.pause();
    let count = Arc::new(Count(AtomicUsize::new(0)));
    let waker = Waker::from(count.clone());
    let entry = Box::pin(Entry::new());
    // No driver is entered on loom's threads: the entry arms into the shard it
    // records.
    entry.set_shard(shards - 1);
    let deadline = driver.inner.clock.now_ns() + 5_000_000;
    assert_eq!(
        driver.poll_entry(entry.as_ref(), deadline, &waker),
        Poll::Pending
    );
    (driver, entry, count)
}

fn setup() -> (Driver, Pin<Box<Entry>>, Arc<Count>) {
    setup_sharded(1)
}

#[test]
fn process_races_drop() {
    loom::model(|| {
        let (driver, entry, count) = setup();
        let d2 = driver.clone();
        let t = loom::thread::spawn(move || d2.advance(Duration::from_millis(10)));
        let cancelled = driver.cancel(entry.as_ref());
        drop(entry); // Entry::drop touches the waker cell: loom checks causality.
        let fired = t.join().unwrap();
        // Exactly one of the two won, and the waker ran iff it fired.
        assert_eq!(cancelled as usize + fired, 1);
        assert_eq!(count.0.load(Ordering::SeqCst), fired);
    });
}

#[test]
fn process_races_reset() {
    loom::model(|| {
        let (driver, entry, count) = setup();
        let d2 = driver.clone();
        let t = loom::thread::spawn(move || d2.advance(Duration::from_millis(10)));
        let later = driver.inner.clock.now_ns() + 1_000_000_000;
        let (was_armed, due) = driver.reset_entry(entry.as_ref(), later, None);
        assert!(due.is_none());
        let fired = t.join().unwrap();
        let state = entry.state();
        if was_armed {
            // Moved before it fired: still armed, with its waker, not woken.
            assert_eq!(state, REGISTERED);
            assert_eq!(count.0.load(Ordering::SeqCst), 0);
            assert!(driver.cancel(entry.as_ref()));
        } else {
            // Fired first: woken once; the reset found no waker, so it waits for a poll.
            assert_eq!(fired, 1);
            assert_eq!(state, UNREGISTERED);
            assert_eq!(count.0.load(Ordering::SeqCst), 1);
        }
        assert_ne!(entry.state(), FIRED);
    });
}

#[test]
fn process_races_poll() {
    loom::model(|| {
        let (driver, entry, count) = setup();
        let d2 = driver.clone();
        let t = loom::thread::spawn(move || d2.advance(Duration::from_millis(10)));
        let waker = Waker::from(count.clone());
        let deadline = 5; // any deadline: the entry is armed already
        let r = driver.poll_entry(entry.as_ref(), deadline, &waker);
        t.join().unwrap();
        // Either it saw the fire, or its (same-task) waker was kept and then woken.
        if r.is_pending() {
            assert_eq!(count.0.load(Ordering::SeqCst), 1);
        }
        assert_eq!(entry.state(), FIRED);
    });
}

/// The entry lives in shard 1; the thread that fires it processes every shard (a
/// parked worker firing a busy one's timers) while its owner cancels it from a
/// thread of its own: exactly one of the two wins, and the waker runs iff it fired.
#[test]
fn cross_shard_fire_races_cancel() {
    loom::model(|| {
        let (driver, entry, count) = setup_sharded(2);
        let d2 = driver.clone();
        let t = loom::thread::spawn(move || {
            d2.pause_advance_for_loom(Duration::from_millis(10));
            d2.process()
        });
        let cancelled = driver.cancel(entry.as_ref());
        drop(entry);
        let fired = t.join().unwrap();
        assert_eq!(cancelled as usize + fired, 1);
        assert_eq!(count.0.load(Ordering::SeqCst), fired);
    });
}

/// Two workers between tasks (`try_process`, `process_shard`) find the same entry
/// due: one fires it and the other skips the shard or finds it fired, so the waker
/// runs exactly once, and the skip flag is clear afterwards (a later due entry is
/// fired by the next `try_process`).
#[test]
fn try_process_races_try_process() {
    loom::model(|| {
        let (driver, entry, count) = setup();
        driver.pause_advance_for_loom(Duration::from_millis(10));
        let d2 = driver.clone();
        let t = loom::thread::spawn(move || d2.try_process());
        let here = driver.process_shard(0);
        let there = t.join().unwrap();
        assert_eq!(here + there, 1);
        assert_eq!(count.0.load(Ordering::SeqCst), 1);
        assert_eq!(entry.state(), FIRED);
        // The flag did not stay set.
        let waker = Waker::from(count.clone());
        let again = Box::pin(Entry::new());
        let deadline = driver.inner.clock.now_ns() + 1_000_000;
        assert!(driver
            .poll_entry(again.as_ref(), deadline, &waker)
            .is_pending());
        driver.pause_advance_for_loom(Duration::from_millis(2));
        assert_eq!(driver.try_process(), 1);
        assert_eq!(count.0.load(Ordering::SeqCst), 2);
    });
}

/// The hand-off of a parked worker's timers: one thread publishes how long it will
/// sleep for every shard's timers while another arms a timer in its own shard. The
/// sleeper either sees the timer (its deadline is no later than the new one) or is
/// unparked: it never sleeps past a timer armed as it went to sleep.
#[test]
fn sleeper_sees_or_is_unparked() {
    loom::model(|| {
        let unparks = Arc::new(AtomicUsize::new(0));
        let u = unparks.clone();
        let driver = Driver::with_shards(
            2,
            Arc::new(move || {
                u.fetch_add(1, Ordering::SeqCst);
            }),
        );
        driver.pause();
        let deadline = driver.inner.clock.now_ns() + 5_000_000;
        let when = crate::clock::tick_of_ns(deadline);
        let d2 = driver.clone();
        // The sleep lasts from the publication until an unpark (or the deadline it
        // published); the model stops at the publication, which is all an arming
        // thread can race with.
        let sleeper = loom::thread::spawn(move || d2.publish_sleep());
        let count = Arc::new(Count(AtomicUsize::new(0)));
        let entry = Box::pin(Entry::new());
        entry.set_shard(1);
        let r = driver.poll_entry(entry.as_ref(), deadline, &Waker::from(count));
        assert!(r.is_pending());
        let until = sleeper.join().unwrap();
        driver.unparked();
        assert!(
            until <= when || unparks.load(Ordering::SeqCst) >= 1,
            "slept until {until} past the timer at {when} without an unpark"
        );
        assert!(driver.cancel(entry.as_ref()));
    });
}

/// A driver handle's count (`handle.rs`): the owner releases while another thread
/// clones and drops handles the owner made; the `Local` is freed once, after the
/// owner's last use of its cells, and frees its driver reference.
#[test]
fn handle_released_while_another_thread_counts() {
    loom::model(|| {
        let d = Driver::new(Arc::new(|| {}));
        let owner = Owner::new(d.clone(), 0);
        let h1 = owner.handle().clone();
        let h2 = owner.handle().clone();
        let t = loom::thread::spawn(move || {
            let h3 = h1.clone();
            drop(h1);
            assert_eq!(h3.shard(), 0);
            drop(h3);
        });
        drop(owner);
        drop(h2);
        t.join().unwrap();
        assert_eq!(Arc::strong_count(&d.inner), 1, "the Local was not freed");
    });
}
