//! Go's channel timers: `after`, `Timer` stop/reset under Go 1.23 semantics (cases
//! after Go's `time/sleep_test.go` and `tick_test.go`), `Ticker` with a slow
//! receiver, `after_func`.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::run_paused;
use gorun_channel::TryRecvError;
use gorun_timer::{after, after_func, sleep, tick, Driver, Instant, Ticker, Timer};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[test]
fn after_yields_the_deadline_once() {
    run_paused(|_| async {
        let start = Instant::now();
        let rx = after(ms(50));
        assert_eq!(rx.recv().await, Some(start + ms(50)));
        assert_eq!(Instant::now(), start + ms(50));
        assert_eq!(rx.recv().await, None, "closed after its one value");
    });
}

#[test]
fn stop_before_fire() {
    run_paused(|_| async {
        let t = Timer::new(ms(10));
        assert!(t.stop());
        assert!(!t.stop(), "second stop");
        sleep(ms(20)).await;
        assert_eq!(t.c().try_recv(), Err(TryRecvError::Empty));
    });
}

#[test]
fn stop_after_fire_unreceived_drains_and_reports_true() {
    // Go 1.23: "if the program has not received from t.C already and the timer is
    // running, Stop is guaranteed to return true", and no stale value remains.
    run_paused(|_| async {
        let t = Timer::new(ms(10));
        sleep(ms(20)).await;
        assert!(t.stop());
        assert_eq!(t.c().try_recv(), Err(TryRecvError::Empty));
    });
}

#[test]
fn stop_after_receive_reports_false() {
    run_paused(|_| async {
        let t = Timer::new(ms(10));
        t.c().recv().await.unwrap();
        assert!(!t.stop());
    });
}

#[test]
fn reset_active_timer_moves_it() {
    run_paused(|_| async {
        let start = Instant::now();
        let t = Timer::new(ms(10));
        assert!(t.reset(ms(30)));
        assert_eq!(t.c().recv().await, Some(start + ms(30)));
        assert_eq!(start.elapsed(), ms(30));
    });
}

#[test]
fn reset_after_fire_discards_the_stale_value() {
    run_paused(|_| async {
        let t = Timer::new(ms(10));
        sleep(ms(15)).await; // fired, value buffered, not received
        let r = Instant::now();
        assert!(t.reset(ms(10)), "unreceived value counts as active");
        assert_eq!(t.c().try_recv(), Err(TryRecvError::Empty), "stale value");
        assert_eq!(t.c().recv().await, Some(r + ms(10)));
    });
}

#[test]
fn reset_stopped_or_received_timer_reports_false_and_fires_again() {
    run_paused(|_| async {
        let t = Timer::new(ms(10));
        t.c().recv().await.unwrap();
        let r = Instant::now();
        assert!(!t.reset(ms(5)));
        assert_eq!(t.c().recv().await, Some(r + ms(5)));
        assert!(!t.stop(), "its value was received");
        assert!(!t.reset(ms(5)));
        assert!(t.c().recv().await.is_some());
    });
}

#[test]
fn zero_duration_timer_fires_immediately() {
    run_paused(|_| async {
        let t = Timer::new(Duration::ZERO);
        assert!(t.c().try_recv().is_ok());
        let never = Timer::new(Duration::MAX);
        sleep(Duration::from_secs(86400 * 365)).await;
        assert_eq!(never.c().try_recv(), Err(TryRecvError::Empty));
        assert!(never.stop());
    });
}

#[test]
fn dropped_timer_is_stopped() {
    run_paused(|_| async {
        let t = Timer::new(ms(10));
        let rx = t.c().clone();
        drop(t);
        sleep(ms(20)).await;
        // No value; and the timer's sender is gone with it.
        assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
    });
}

#[test]
fn ticker_drops_ticks_for_a_slow_receiver() {
    run_paused(|_| async {
        let start = Instant::now();
        let ticker = Ticker::new(ms(10));
        sleep(ms(55)).await; // ticks at 10..50 happen; only the first is buffered
        assert_eq!(ticker.c().recv().await, Some(start + ms(10)));
        // The schedule is kept: the next tick is at 60, not 65.
        assert_eq!(ticker.c().recv().await, Some(start + ms(60)));
        assert_eq!(start.elapsed(), ms(60));
        assert_eq!(ticker.c().recv().await, Some(start + ms(70)));
    });
}

#[test]
fn ticker_stop_and_reset() {
    run_paused(|_| async {
        let start = Instant::now();
        let ticker = Ticker::new(ms(10));
        sleep(ms(15)).await;
        ticker.stop();
        assert_eq!(
            ticker.c().try_recv(),
            Err(TryRecvError::Empty),
            "stale tick"
        );
        sleep(ms(100)).await;
        assert_eq!(ticker.c().try_recv(), Err(TryRecvError::Empty), "stopped");
        ticker.reset(ms(7));
        assert_eq!(ticker.c().recv().await, Some(start + ms(122)));
        assert_eq!(ticker.c().recv().await, Some(start + ms(129)));
    });
}

#[test]
fn tick_stops_when_its_receiver_is_dropped() {
    run_paused(|_| async {
        let rx = tick(ms(5));
        assert!(rx.recv().await.is_some());
        drop(rx);
        // The ticker notices on its next fire and stops re-arming: a paused driver
        // with nothing armed says so.
        sleep(ms(6)).await;
        sleep(ms(6)).await;
        let driver = Driver::try_current().unwrap();
        assert!(!driver.advance_to_next(), "the tick is no longer armed");
    });
}

#[test]
fn after_func_runs_and_can_be_stopped() {
    let driver = Driver::new(Arc::new(|| {}));
    driver.pause();
    let _g = driver.enter();
    let n = Arc::new(AtomicUsize::new(0));
    let n2 = n.clone();
    let h = after_func(ms(10), move || {
        n2.fetch_add(1, Ordering::SeqCst);
    });
    driver.advance(ms(9));
    assert_eq!(n.load(Ordering::SeqCst), 0);
    driver.advance(ms(1));
    assert_eq!(n.load(Ordering::SeqCst), 1);
    assert!(!h.stop(), "already ran");
    assert!(!h.reset(ms(5)), "reset after run schedules it again");
    assert!(h.reset(ms(5)), "pending: rescheduled");
    assert!(h.stop());
    driver.advance(ms(100));
    assert_eq!(n.load(Ordering::SeqCst), 1);
}

#[test]
fn after_func_uses_the_spawner() {
    let driver = Driver::new(Arc::new(|| {}));
    driver.pause();
    let spawned = Arc::new(AtomicUsize::new(0));
    let s = spawned.clone();
    let site = Arc::new(std::sync::Mutex::new(None));
    let seen = site.clone();
    driver.set_spawner(Arc::new(move |fut, at| {
        *seen.lock().unwrap() = Some((at.file(), at.line()));
        s.fetch_add(1, Ordering::SeqCst);
        futures::executor::block_on(fut);
    }));
    let _g = driver.enter();
    let ran = Arc::new(AtomicUsize::new(0));
    let r = ran.clone();
    let line = line!() + 1;
    let _h = after_func(ms(1), move || {
        r.fetch_add(1, Ordering::SeqCst);
    });
    assert!(driver.advance_to_next());
    let caller = *site.lock().unwrap();
    assert_eq!(
        caller,
        Some((file!(), line)),
        "spawned as at after_func's caller"
    );
    assert_eq!(
        (spawned.load(Ordering::SeqCst), ran.load(Ordering::SeqCst)),
        (1, 1)
    );
}

/// Go's TestReset-style stress on the real clock: after `reset` or `stop` returns,
/// nothing armed before it can be received.
#[test]
fn no_stale_value_under_racing_fires() {
    let driver = Driver::new_threaded();
    let _g = driver.enter();
    let mut rng: u64 = 12345;
    for _ in 0..300 {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let t = Timer::new(Duration::from_micros(rng % 2000));
        std::thread::sleep(Duration::from_micros((rng >> 20) % 2000));
        if rng & 1 == 0 {
            t.reset(Duration::from_secs(60));
            assert_eq!(
                t.c().try_recv(),
                Err(TryRecvError::Empty),
                "stale after reset"
            );
            assert!(t.stop());
        } else {
            t.stop();
            std::thread::sleep(ms(3));
            assert_eq!(
                t.c().try_recv(),
                Err(TryRecvError::Empty),
                "value after stop"
            );
        }
    }
    driver.shutdown();
}
