//! Timers on the gorun runtime with a paused clock (`#[gorun::test(start_paused)]`):
//! deadline order for 10,000 timers, Go's Timer Stop/Reset rules, a slow ticker
//! receiver, `after_func` running as a task.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use gorun::time::{self, after_func, Instant, Ticker, Timer};

/// xorshift, deterministic.
fn rand(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

#[gorun::test(start_paused = true)]
async fn ten_thousand_timers_fire_in_deadline_order() {
    let start = Instant::now();
    let order = Arc::new(Mutex::new(Vec::with_capacity(10_000)));
    let mut seed = 0x2545_F491_4F6C_DD1D;
    let mut handles = Vec::new();
    for i in 0..10_000u64 {
        let ms = rand(&mut seed) % 100_000;
        let order = order.clone();
        handles.push(gorun::go(async move {
            time::sleep(Duration::from_millis(ms)).await;
            let at = start.elapsed();
            // Never early, and on the paused clock exactly on time.
            assert!(
                at >= Duration::from_millis(ms),
                "timer {i} fired at {at:?} < {ms} ms"
            );
            order.lock().unwrap().push((ms, i));
        }));
    }
    for h in handles {
        h.await.unwrap();
    }
    let order = order.lock().unwrap();
    assert_eq!(order.len(), 10_000);
    assert!(
        order.windows(2).all(|w| w[0].0 <= w[1].0),
        "timers fired out of deadline order"
    );
    // 100 s of virtual time passed; the test took milliseconds of real time.
    assert!(start.elapsed() >= Duration::from_millis(order.last().unwrap().0));
}

#[gorun::test(start_paused = true)]
async fn timer_stop_and_reset_follow_go_1_23() {
    // Stop before it fires: true, and nothing is ever received.
    let t = Timer::new(Duration::from_secs(1));
    assert!(t.stop());
    time::sleep(Duration::from_secs(2)).await;
    assert!(
        t.c().try_recv().is_err(),
        "a stopped timer delivered a value"
    );
    // Stop after it fired but before the value was read: false in Go < 1.23, but
    // Go 1.23 drains it: no stale value is left either way.
    let t = Timer::new(Duration::from_secs(1));
    time::sleep(Duration::from_secs(2)).await;
    t.stop();
    assert!(t.c().try_recv().is_err(), "stale value after stop");
    // Reset re-arms: exactly one value, at the new deadline.
    let start = Instant::now();
    let t = Timer::new(Duration::from_secs(10));
    t.reset(Duration::from_secs(3));
    let fired = t.c().recv().await.expect("timer channel closed");
    assert_eq!(fired.duration_since(start), Duration::from_secs(3));
    time::sleep(Duration::from_secs(20)).await;
    assert!(t.c().try_recv().is_err(), "reset timer fired twice");
}

#[gorun::test(start_paused = true)]
async fn slow_ticker_receiver_gets_dropped_ticks_not_a_backlog() {
    let ticker = Ticker::new(Duration::from_secs(1));
    // Sleep through 10 ticks: the channel holds one, the rest were dropped.
    time::sleep(Duration::from_millis(10_500)).await;
    assert!(ticker.c().try_recv().is_ok());
    assert!(
        ticker.c().try_recv().is_err(),
        "ticks piled up for a slow receiver"
    );
    // The schedule is kept: the next tick comes at 11 s.
    let start = Instant::now();
    ticker.c().recv().await.unwrap();
    assert_eq!(start.elapsed(), Duration::from_millis(500));
    ticker.stop();
    time::sleep(Duration::from_secs(5)).await;
    assert!(ticker.c().try_recv().is_err(), "a stopped ticker ticked");
}

#[gorun::test(start_paused = true)]
async fn after_func_runs_as_a_task_and_can_be_stopped() {
    let ran = Arc::new(AtomicUsize::new(0));
    let r = ran.clone();
    let f = after_func(Duration::from_secs(5), move || {
        r.fetch_add(1, Ordering::SeqCst);
    });
    let r = ran.clone();
    let stopped = after_func(Duration::from_secs(5), move || {
        r.fetch_add(100, Ordering::SeqCst);
    });
    assert!(stopped.stop());
    time::sleep(Duration::from_secs(6)).await;
    // The function ran once, as a task of this runtime; the stopped one never did.
    for _ in 0..10 {
        gorun::yield_now().await;
    }
    assert_eq!(ran.load(Ordering::SeqCst), 1);
    assert!(!f.stop(), "stop after it ran reports false");
}

/// A `block_on` whose future was woken during its last poll leaves the runtime
/// idle: the next `block_on`'s hour-long sleep is skipped by auto-advance at once,
/// on both runtime flavours.
#[test]
fn a_wake_in_a_finished_block_on_does_not_stop_auto_advance() {
    for current_thread in [false, true] {
        let (done_tx, done_rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let rt = if current_thread {
                gorun::Runtime::builder().current_thread()
            } else {
                gorun::Runtime::builder()
            }
            .start_paused(true)
            .build()
            .unwrap();
            rt.block_on(std::future::poll_fn(|cx| {
                cx.waker().wake_by_ref();
                std::task::Poll::Ready(())
            }));
            rt.block_on(async { time::sleep(Duration::from_secs(3600)).await });
            done_tx.send(()).unwrap();
        });
        assert!(
            done_rx.recv_timeout(Duration::from_secs(20)).is_ok(),
            "the paused clock did not advance (current_thread: {current_thread})"
        );
    }
}
