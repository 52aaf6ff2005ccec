//! Unit tests of the driver on a hand-driven paused clock.

use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use futures::task::ArcWake;

use crate::*;

struct Count(AtomicUsize);
impl ArcWake for Count {
    fn wake_by_ref(arc_self: &Arc<Self>) {
        arc_self.0.fetch_add(1, Ordering::SeqCst);
    }
}

fn counting() -> (Arc<Count>, Waker) {
    let c = Arc::new(Count(AtomicUsize::new(0)));
    (c.clone(), futures::task::waker(c))
}

fn paused_driver() -> (Driver, Arc<AtomicUsize>) {
    let unparks = Arc::new(AtomicUsize::new(0));
    let u = unparks.clone();
    let d = Driver::new(Arc::new(move || {
        u.fetch_add(1, Ordering::SeqCst);
    }));
    d.pause();
    (d, unparks)
}

#[test]
fn sleep_fires_at_deadline_not_before() {
    let (d, unparks) = paused_driver();
    let _g = d.enter();
    let (count, waker) = counting();
    let mut cx = Context::from_waker(&waker);
    let mut s = pin!(sleep(Duration::from_millis(10)));
    assert!(s.as_mut().poll(&mut cx).is_pending());
    assert_eq!(
        unparks.load(Ordering::SeqCst),
        0,
        "nobody sleeps: no unpark"
    );
    assert_eq!(d.park_timeout(), None, "paused: waiting does not help");
    // A thread sleeps (until the paused clock moves): a timer due before the 10 ms
    // one unparks it, a later one does not.
    let mut later = Box::pin(sleep(Duration::from_millis(30)));
    assert!(later.as_mut().poll(&mut cx).is_pending());
    assert_eq!(
        unparks.load(Ordering::SeqCst),
        0,
        "not earlier than the others"
    );
    let mut sooner = Box::pin(sleep(Duration::from_millis(5)));
    assert!(sooner.as_mut().poll(&mut cx).is_pending());
    assert_eq!(
        unparks.load(Ordering::SeqCst),
        1,
        "an earlier timer unparks"
    );
    d.unparked();
    drop((later, sooner));
    assert_eq!(d.advance(Duration::from_millis(9)), 0);
    assert!(s.as_mut().poll(&mut cx).is_pending());
    assert_eq!(d.advance(Duration::from_millis(1)), 1);
    assert_eq!(count.0.load(Ordering::SeqCst), 1);
    assert!(s.as_mut().poll(&mut cx).is_ready());
    assert!(s.is_elapsed());
}

#[test]
fn dropped_sleep_never_fires_and_unlinks() {
    let (d, _) = paused_driver();
    let _g = d.enter();
    let (count, waker) = counting();
    let mut cx = Context::from_waker(&waker);
    {
        let mut s = Box::pin(sleep(Duration::from_millis(5)));
        assert!(s.as_mut().poll(&mut cx).is_pending());
    }
    assert!(!d.advance_to_next(), "nothing armed after the drop");
    assert_eq!(d.advance(Duration::from_secs(1)), 0);
    assert_eq!(count.0.load(Ordering::SeqCst), 0);
}

#[test]
fn zero_past_and_max() {
    let (d, _) = paused_driver();
    let _g = d.enter();
    let mut cx = Context::from_waker(Waker::noop());
    assert!(pin!(sleep(Duration::ZERO)).poll(&mut cx).is_ready());
    let past = Instant::now() - Duration::from_millis(3);
    assert!(pin!(sleep_until(past)).poll(&mut cx).is_ready());
    let start = Instant::now();
    let ten = sleep(Duration::from_millis(10));
    assert_eq!(ten.deadline(), start + Duration::from_millis(10));
    let mut never = pin!(sleep(Duration::MAX));
    assert_eq!(
        never.deadline(),
        start + Duration::from_secs(86400 * 365 * 30)
    );
    assert!(never.as_mut().poll(&mut cx).is_pending());
    assert!(!d.advance_to_next(), "MAX is not armed");
    d.advance(Duration::from_secs(86400 * 365 * 100));
    assert!(never.as_mut().poll(&mut cx).is_pending());
    // Reset to a deadline too far to represent: it stays "never", and a reset back
    // to a near one arms it again.
    let now = Instant::now();
    never
        .as_mut()
        .reset(now + Duration::from_secs(86400 * 365 * 400));
    assert!(never.as_mut().poll(&mut cx).is_pending());
    assert!(!d.advance_to_next(), "400 years is not armed");
    never.as_mut().reset(now + Duration::from_millis(5));
    assert_eq!(never.deadline(), now + Duration::from_millis(5));
    assert!(never.as_mut().poll(&mut cx).is_pending());
    assert!(d.advance_to_next());
    assert!(never.as_mut().poll(&mut cx).is_ready());
}

#[test]
fn advance_to_next_jumps_exactly() {
    let (d, _) = paused_driver();
    let _g = d.enter();
    let mut cx = Context::from_waker(Waker::noop());
    let start = Instant::now();
    let mut s = pin!(sleep(Duration::from_secs(3600)));
    assert!(s.as_mut().poll(&mut cx).is_pending());
    assert!(d.advance_to_next());
    assert!(s.as_mut().poll(&mut cx).is_ready());
    assert_eq!(start.elapsed(), Duration::from_secs(3600));
}

#[test]
fn next_timeout_on_running_clock() {
    let d = Driver::new(Arc::new(|| {}));
    let _g = d.enter();
    assert_eq!(d.next_timeout(), None);
    let mut cx = Context::from_waker(Waker::noop());
    let mut s = pin!(sleep(Duration::from_millis(50)));
    assert!(s.as_mut().poll(&mut cx).is_pending());
    let t = d.next_timeout().unwrap();
    assert!(
        t <= Duration::from_millis(51) && t >= Duration::from_millis(45),
        "{t:?}"
    );
    assert_eq!(d.process(), 0);
}

#[test]
fn reset_moves_registered_sleep() {
    let (d, _) = paused_driver();
    let _g = d.enter();
    let (count, waker) = counting();
    let mut cx = Context::from_waker(&waker);
    let mut s = pin!(sleep(Duration::from_millis(100)));
    assert!(s.as_mut().poll(&mut cx).is_pending());
    s.as_mut().reset(Instant::now() + Duration::from_millis(10));
    assert_eq!(d.advance(Duration::from_millis(10)), 1);
    assert_eq!(count.0.load(Ordering::SeqCst), 1);
    assert!(s.as_mut().poll(&mut cx).is_ready());
    // Reset after completion re-arms it.
    s.as_mut().reset(Instant::now() + Duration::from_millis(10));
    assert!(s.as_mut().poll(&mut cx).is_pending());
    assert_eq!(d.advance(Duration::from_millis(100)), 1);
    assert!(s.as_mut().poll(&mut cx).is_ready());
    // Reset into the past with a waiting task wakes it at once.
    s.as_mut().reset(Instant::now() + Duration::from_millis(10));
    assert!(s.as_mut().poll(&mut cx).is_pending());
    s.as_mut().reset(Instant::now());
    assert_eq!(count.0.load(Ordering::SeqCst), 3);
    assert!(s.as_mut().poll(&mut cx).is_ready());
}

#[test]
fn shutdown_wakes_and_never_completes() {
    let (d, _) = paused_driver();
    let _g = d.enter();
    let (count, waker) = counting();
    let mut cx = Context::from_waker(&waker);
    let mut s = pin!(sleep(Duration::from_millis(100)));
    assert!(s.as_mut().poll(&mut cx).is_pending());
    d.shutdown();
    assert_eq!(count.0.load(Ordering::SeqCst), 1);
    assert!(s.as_mut().poll(&mut cx).is_pending());
    let mut late = pin!(sleep(Duration::from_millis(1)));
    assert!(late.as_mut().poll(&mut cx).is_pending());
    d.advance(Duration::from_secs(1));
    assert!(late.as_mut().poll(&mut cx).is_pending());
}

#[test]
fn many_sleeps_fire_in_batches() {
    let (d, _) = paused_driver();
    let _g = d.enter();
    let (count, waker) = counting();
    let mut cx = Context::from_waker(&waker);
    let mut sleeps: Vec<_> = (0..1000u64)
        .map(|i| Box::pin(sleep(Duration::from_millis(1 + i % 7))))
        .collect();
    for s in &mut sleeps {
        assert!(s.as_mut().poll(&mut cx).is_pending());
    }
    assert_eq!(d.advance(Duration::from_millis(7)), 1000);
    assert_eq!(count.0.load(Ordering::SeqCst), 1000);
    assert!(sleeps
        .iter_mut()
        .all(|s| s.as_mut().poll(&mut cx) == Poll::Ready(())));
    assert_eq!(d.inner.earliest(), u64::MAX);
}

#[test]
fn sleep_is_small() {
    assert!(
        std::mem::size_of::<Sleep>() <= 64,
        "{}",
        std::mem::size_of::<Sleep>()
    );
}

/// A waker whose first wake reports itself and then blocks until released.
struct Gate {
    woke: AtomicUsize,
    entered: std::sync::Mutex<std::sync::mpsc::Sender<()>>,
    release: std::sync::Mutex<std::sync::mpsc::Receiver<()>>,
}
impl ArcWake for Gate {
    fn wake_by_ref(arc_self: &Arc<Self>) {
        if arc_self.woke.fetch_add(1, Ordering::SeqCst) == 0 {
            arc_self.entered.lock().unwrap().send(()).unwrap();
            arc_self.release.lock().unwrap().recv().unwrap();
        }
    }
}

#[test]
fn try_process_leaves_a_shard_to_the_thread_firing_it() {
    let (d, _) = paused_driver();
    let _g = d.enter();
    let (entered_tx, entered) = std::sync::mpsc::channel();
    let (release, release_rx) = std::sync::mpsc::channel();
    let gate = Arc::new(Gate {
        woke: AtomicUsize::new(0),
        entered: std::sync::Mutex::new(entered_tx),
        release: std::sync::Mutex::new(release_rx),
    });
    let waker = futures::task::waker(gate.clone());
    let mut cx = Context::from_waker(&waker);
    // More than one wake batch, so the first firer lets go of the lock while it
    // wakes the first batch and the rest is still linked.
    let n = 3 * crate::driver::WAKE_BATCH as u64;
    let mut sleeps: Vec<_> = (0..n)
        .map(|_| Box::pin(sleep(Duration::from_millis(1))))
        .collect();
    for s in &mut sleeps {
        assert!(s.as_mut().poll(&mut cx).is_pending());
    }
    d.inner.clock.advance(Duration::from_millis(1));
    // Lets the firer go however this test ends, so a failed assertion fails rather
    // than waits for it.
    struct Release(std::sync::mpsc::Sender<()>);
    impl Drop for Release {
        fn drop(&mut self) {
            let _ = self.0.send(());
        }
    }
    std::thread::scope(|s| {
        let firer = s.spawn(|| d.process_shard(0));
        let release = Release(release);
        entered.recv().unwrap(); // the firer is inside its first batch's wakes
        let second = d.process_shard(0);
        let tried = d.try_process();
        // `process` does not skip: it fires the batches still linked.
        let rest = d.process();
        drop(release);
        assert_eq!(second, 0, "a second firer skips the shard");
        assert_eq!(tried, 0, "so does try_process");
        assert_eq!(rest as u64, n - crate::driver::WAKE_BATCH as u64);
        assert_eq!(firer.join().unwrap(), crate::driver::WAKE_BATCH);
    });
    assert_eq!(gate.woke.load(Ordering::SeqCst) as u64, n);
    assert!(sleeps
        .iter_mut()
        .all(|s| s.as_mut().poll(&mut cx) == Poll::Ready(())));
}
