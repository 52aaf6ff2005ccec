//! Timers on the gorun runtime (through `gorun_timer`; `gorun::time` re-exports it):
//! accuracy, timeout, Go's channel timers and many concurrent sleeps.

use std::time::{Duration, Instant};

use gorun_timer::{after, sleep, timeout, Ticker, Timer};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn rt() -> gorun::Runtime {
    gorun::Runtime::builder().procs(2).build().unwrap()
}

#[test]
fn sleeps_are_accurate_and_never_early() {
    rt().block_on(async {
        for d in [1, 5, 20] {
            let t = Instant::now();
            sleep(ms(d)).await;
            let e = t.elapsed();
            assert!(e >= ms(d), "early: {e:?} < {d} ms");
            assert!(e < ms(d + 30), "late: {e:?} for {d} ms");
        }
    });
}

#[test]
fn many_goroutines_sleep_and_all_wake() {
    rt().block_on(async {
        let t = Instant::now();
        let hs: Vec<_> = (0..10_000u64)
            .map(|i| gorun::go(async move { sleep(ms(10 + i % 20)).await }))
            .collect();
        for h in hs {
            h.await.unwrap();
        }
        assert!(t.elapsed() >= ms(29));
    });
}

#[test]
fn timeout_never_ready_and_ready() {
    rt().block_on(async {
        assert!(timeout(ms(10), std::future::pending::<()>()).await.is_err());
        assert_eq!(timeout(ms(10), async { 3 }).await, Ok(3));
        assert_eq!(timeout(Duration::ZERO, async { 4 }).await, Ok(4));
    });
}

#[test]
fn channel_timers_on_the_runtime() {
    rt().block_on(async {
        let t0 = gorun_timer::Instant::now();
        let at = after(ms(5)).recv().await.unwrap();
        assert!(at >= t0 + ms(5));
        let timer = Timer::new(ms(5));
        assert!(timer.stop());
        assert!(!timer.reset(ms(1)));
        timer.c().recv().await.unwrap();
        let ticker = Ticker::new(ms(2));
        let a = ticker.c().recv().await.unwrap();
        let b = ticker.c().recv().await.unwrap();
        assert!(b >= a + ms(2));
        ticker.stop();
    });
}

/// A paused runtime jumps its clock to the next timer only when nothing runs: not
/// while the `block_on` future is busy spawning (which once let the clock run ahead
/// here), and then for it as well as for tasks.
#[test]
fn paused_clock_auto_advances_for_block_on_and_tasks() {
    let rt = gorun::Runtime::builder()
        .procs(2)
        .start_paused(true)
        .build()
        .unwrap();
    let wall = std::time::Instant::now();
    let virtual_elapsed = rt.block_on(async {
        let start = gorun::time::Instant::now();
        gorun::time::sleep(Duration::from_secs(3600)).await;
        let hs: Vec<_> = (1..=100u64)
            .map(|i| gorun::go(gorun::time::sleep(Duration::from_secs(i))))
            .collect();
        for h in hs {
            h.await.unwrap();
        }
        start.elapsed()
    });
    assert!(
        virtual_elapsed >= Duration::from_secs(3700),
        "{virtual_elapsed:?}"
    );
    assert!(
        virtual_elapsed < Duration::from_secs(3702),
        "{virtual_elapsed:?}"
    );
    assert!(
        wall.elapsed() < Duration::from_secs(5),
        "took {:?}",
        wall.elapsed()
    );
}
