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
