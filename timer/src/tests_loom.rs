//! loom models of the entry state machine: `process` firing an entry on one thread
//! while its owner drops (cancels) or resets it on another. Run with
//! `RUSTFLAGS="--cfg loom" cargo test -p gorun-timer --release --lib tests_loom`.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Poll, Wake, Waker};
use std::time::Duration;

use loom::sync::atomic::{AtomicUsize, Ordering};

use crate::entry::{Entry, FIRED, REGISTERED, UNREGISTERED};
use crate::Driver;

struct Count(AtomicUsize);
impl Wake for Count {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// A paused driver with one entry armed at tick 5, and a thread that will fire it.
fn setup() -> (Driver, Pin<Box<Entry>>, Arc<Count>) {
    let driver = Driver::new(Arc::new(|| {}));
    driver.pause();
    let count = Arc::new(Count(AtomicUsize::new(0)));
    let waker = Waker::from(count.clone());
    let entry = Box::pin(Entry::new());
    let when = driver.inner.clock.now_tick() + 5;
    assert_eq!(
        driver.poll_entry(entry.as_ref(), when, &waker),
        Poll::Pending
    );
    (driver, entry, count)
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
        let later = driver.inner.clock.now_tick() + 1_000;
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
        let when = 5; // any tick: the entry is armed already
        let r = driver.poll_entry(entry.as_ref(), when, &waker);
        t.join().unwrap();
        // Either it saw the fire, or its (same-task) waker was kept and then woken.
        if r.is_pending() {
            assert_eq!(count.0.load(Ordering::SeqCst), 1);
        }
        assert_eq!(entry.state(), FIRED);
    });
}
