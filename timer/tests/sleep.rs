//! Sleep, timeout and interval behaviour, on a paused clock and on the real one.

mod common;

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use common::run_paused;
use futures::task::LocalSpawnExt;
use gorun_timer::{interval, sleep, sleep_until, timeout, timeout_at, Instant, MissedTickBehavior};
use proptest::prelude::*;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[test]
fn ten_thousand_timers_fire_in_deadline_order() {
    // Deterministic pseudo-random deadlines (xorshift), 1 ms .. ~3 h.
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let deadlines: Vec<u64> = (0..10_000)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            1 + x % 10_000_000
        })
        .collect();
    let fired = run_paused(|sp| {
        let deadlines = deadlines.clone();
        async move {
            let start = Instant::now();
            let fired = Rc::new(RefCell::new(Vec::new()));
            let mut handles = Vec::new();
            for (i, &d) in deadlines.iter().enumerate() {
                let fired = fired.clone();
                handles.push(
                    sp.spawn_local_with_handle(async move {
                        sleep(ms(d)).await;
                        fired.borrow_mut().push((start.elapsed(), i));
                    })
                    .unwrap(),
                );
            }
            futures::future::join_all(handles).await;
            Rc::try_unwrap(fired).unwrap().into_inner()
        }
    });
    assert_eq!(fired.len(), 10_000);
    for (at, i) in &fired {
        assert_eq!(*at, ms(deadlines[*i]), "timer {i} woke at the wrong time");
    }
    assert!(fired.windows(2).all(|w| w[0].0 <= w[1].0), "out of order");
}

#[test]
fn hour_long_timeout_runs_instantly_on_paused_clock() {
    let wall = std::time::Instant::now();
    let r = run_paused(|_| async {
        let start = Instant::now();
        let r = timeout(Duration::from_secs(3600), std::future::pending::<()>()).await;
        (r, start.elapsed())
    });
    assert!(r.0.is_err());
    assert_eq!(r.1, Duration::from_secs(3600));
    assert!(wall.elapsed() < Duration::from_secs(1));
}

#[test]
fn timeout_on_ready_and_on_slow_futures() {
    run_paused(|_| async {
        assert_eq!(timeout(ms(0), async { 5 }).await, Ok(5));
        assert_eq!(timeout(ms(10), sleep(ms(5))).await, Ok(()));
        assert!(timeout(ms(5), sleep(ms(10))).await.is_err());
        let deadline = Instant::now() + ms(3);
        let err = timeout_at(deadline, std::future::pending::<()>())
            .await
            .unwrap_err();
        assert_eq!(err.to_string(), "deadline has elapsed");
        assert_eq!(Instant::now(), deadline);
    });
}

#[test]
fn zero_past_and_max_durations() {
    run_paused(|_| async {
        let t0 = Instant::now();
        sleep(Duration::ZERO).await;
        sleep_until(t0 - ms(100)).await;
        assert_eq!(Instant::now(), t0, "no time passes");
        // Duration::MAX never fires: only the timeout does.
        assert!(timeout(ms(7), sleep(Duration::MAX)).await.is_err());
        assert!(timeout(Duration::MAX, async { 1 }).await.is_ok());
        assert_eq!(t0.elapsed(), ms(7));
    });
}

#[test]
fn sub_millisecond_sleeps_never_fire_early() {
    run_paused(|_| async {
        let t0 = Instant::now();
        sleep(Duration::from_micros(1)).await;
        assert!(t0.elapsed() >= Duration::from_micros(1));
        let t1 = Instant::now();
        sleep(Duration::from_micros(1500)).await;
        assert!(t1.elapsed() >= Duration::from_micros(1500));
    });
}

#[test]
fn interval_missed_tick_policies() {
    // Period 10, first tick at 0; the task is busy from 10 until 35.
    for (behavior, due, seen) in [
        (
            MissedTickBehavior::Burst,
            [0, 10, 20, 30, 40],
            [0, 10, 35, 35, 40],
        ),
        (
            MissedTickBehavior::Delay,
            [0, 10, 20, 45, 55],
            [0, 10, 35, 45, 55],
        ),
        (
            MissedTickBehavior::Skip,
            [0, 10, 20, 40, 50],
            [0, 10, 35, 40, 50],
        ),
    ] {
        let got = run_paused(move |_| async move {
            let start = Instant::now();
            let mut iv = interval(ms(10));
            iv.set_missed_tick_behavior(behavior);
            let (mut due, mut seen) = (vec![], vec![]);
            for i in 0..5 {
                let at = iv.tick().await;
                due.push(at.duration_since(start).as_millis() as u64);
                seen.push(start.elapsed().as_millis() as u64);
                if i == 1 {
                    gorun_timer::advance(ms(25)).await; // busy until 35
                }
            }
            (due, seen)
        });
        assert_eq!(got.0, due, "{behavior:?}: returned deadlines");
        assert_eq!(got.1, seen, "{behavior:?}: when the ticks completed");
    }
}

#[test]
fn accuracy_on_the_real_clock() {
    let driver = gorun_timer::Driver::new_threaded();
    let _g = driver.enter();
    futures::executor::block_on(async {
        for _ in 0..5 {
            let t = std::time::Instant::now();
            sleep(ms(20)).await;
            let e = t.elapsed();
            assert!(e >= ms(20), "fired early: {e:?}");
            assert!(e < ms(20) + ms(30), "fired late: {e:?}");
        }
    });
    driver.shutdown();
}

#[test]
fn works_on_tokio_through_the_global_driver() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let start = std::time::Instant::now();
        let tasks: Vec<_> = (0..1000u64)
            .map(|i| tokio::spawn(async move { sleep(ms(5 + i % 10)).await }))
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        assert!(start.elapsed() >= ms(14));
        assert!(timeout(ms(5), std::future::pending::<()>()).await.is_err());
    });
}

#[test]
fn dropped_sleeps_never_fire() {
    run_paused(|sp| async move {
        let woke = Rc::new(RefCell::new(0));
        for _ in 0..100 {
            let woke = woke.clone();
            let h = sp
                .spawn_local_with_handle(async move {
                    sleep(ms(10)).await;
                    *woke.borrow_mut() += 1;
                })
                .unwrap();
            drop(h); // RemoteHandle drop cancels the task, dropping the armed sleep
        }
        sleep(ms(20)).await;
        assert_eq!(*woke.borrow(), 0);
    });
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]
    /// Random sleeps, some dropped before their deadline: exactly the kept ones wake,
    /// each at its deadline.
    #[test]
    fn random_sleeps_and_cancels(plan in proptest::collection::vec((1u64..5_000, any::<bool>()), 1..60)) {
        let out = run_paused(|sp| {
            let plan = plan.clone();
            async move {
                let start = Instant::now();
                let log = Rc::new(RefCell::new(Vec::new()));
                let mut keep = Vec::new();
                for (i, &(d, cancel)) in plan.iter().enumerate() {
                    let log = log.clone();
                    let h = sp.spawn_local_with_handle(async move {
                        sleep(ms(d)).await;
                        log.borrow_mut().push((i, start.elapsed()));
                    }).unwrap();
                    if cancel {
                        sp.spawn_local(async move {
                            sleep(ms(d / 2)).await;
                            drop(h);
                        }).unwrap();
                    } else {
                        keep.push(h);
                    }
                }
                futures::future::join_all(keep).await;
                sleep(ms(10_000)).await;
                Rc::try_unwrap(log).unwrap().into_inner()
            }
        });
        let mut expect: Vec<(usize, Duration)> = plan
            .iter()
            .enumerate()
            .filter(|(_, (d, c))| !*c || *d / 2 >= *d)
            .map(|(i, (d, _))| (i, ms(*d)))
            .collect();
        let mut got = out.clone();
        got.sort();
        expect.sort();
        prop_assert_eq!(got, expect);
    }
}
