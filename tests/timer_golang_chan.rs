//! Go 1.23's tests of timer channels and tickers (`TestChan`, `TestTimerGC`,
//! `TestTicker`, `TestTick`, `TestAfterTimes`, `TestTickTimes`, and the stress tests
//! of `src/time/tick_test.go` and `sleep_test.go`), rewritten in Rust on the gorun
//! runtime; `timer_golang.rs` has the rest, and says what is not ported and why.

#[path = "common/alloc_track.rs"]
mod alloc_track;
#[path = "common/go_timer.rs"]
mod go_timer;

use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::Arc;
use std::time::Duration;

use alloc_track::{Tagging, Track};
use go_timer::{expect_panic, run, AnyTimer};
use gorun::time::{after, sleep, tick, timeout, Instant, Ticker, Timer};
use gorun::{chan, go, select, JoinHandle, Receiver, Sender};

#[global_allocator]
static GLOBAL: Tagging = Tagging;

const MS: Duration = Duration::from_millis(1);
const NS: Duration = Duration::from_nanos(1);
const HOUR: Duration = Duration::from_secs(3600);

/// TestTickerStress (Go < 1.23: TestAfterStress) and TestTickerConcurrentStress: a
/// 1 ns ticker delivers 100 ticks, then 100 to each of ten goroutines.
#[test]
fn ticker_stress() {
    run(2, || async {
        let stop = Arc::new(AtomicBool::new(false));
        let s = stop.clone();
        let bg = go(async move {
            while !s.load(SeqCst) {
                sleep(NS).await; // Go runs the GC here too
            }
        });
        for receivers in [1, 10] {
            let ticker = Ticker::new(NS);
            let hs: Vec<_> = (0..receivers)
                .map(|_| {
                    let c = ticker.c().clone();
                    go(async move {
                        for _ in 0..100 {
                            c.recv().await.unwrap();
                        }
                    })
                })
                .collect();
            for h in hs {
                h.await.unwrap();
            }
            ticker.stop();
        }
        stop.store(true, SeqCst);
        bg.await.unwrap();
    });
}

/// TestTicker: 5 ticks, Reset to twice the period, 5 more take the expected time,
/// and a stopped ticker stays quiet. Retried at 1 s periods, as in Go.
#[test]
fn ticker() {
    run(2, || async {
        let mut errs = Vec::new();
        for (count, delta) in [(10u32, 20 * MS), (8, Duration::from_secs(1))] {
            let ticker = Ticker::new(delta);
            let t0 = Instant::now();
            for i in 0..count {
                if i == count / 2 {
                    ticker.reset(delta * 2);
                }
                ticker.c().recv().await.unwrap();
            }
            ticker.stop();
            let (dt, target) = (t0.elapsed(), delta * 3 * (count / 2));
            if dt < target * 7 / 10 || dt > target * 13 / 10 {
                errs.push(format!(
                    "{count} ticks of {delta:?} took {dt:?}, want {target:?}"
                ));
                continue;
            }
            sleep(2 * delta).await;
            if ticker.c().try_recv().is_ok() {
                errs.push("Ticker did not shut down".into());
                continue;
            }
            return;
        }
        panic!("saw {errs:?}");
    });
}

/// TestTick and TestNewTickerLtZeroDuration: a zero period panics (Go: `d <= 0`).
#[test]
fn tick_zero_period_panics() {
    expect_panic("non-positive interval", || drop(tick(Duration::ZERO)));
    expect_panic("non-positive interval", || {
        drop(Ticker::new(Duration::ZERO))
    });
}

/// TestTickerResetLtZeroDuration: Reset to a zero period panics.
#[test]
fn ticker_reset_zero_panics() {
    let ticker = Ticker::new(Duration::from_secs(1));
    expect_panic("non-positive interval", || ticker.reset(Duration::ZERO));
}

/// TestTimerGC on a plain thread (the global fallback driver): 10,000 timers created
/// and dropped leave far fewer than 10,000 allocations alive.
#[test]
fn timer_gc_plain_thread() {
    timer_gc();
}

/// TestTimerGC inside a gorun runtime's `block_on` (the runtime's driver).
#[test]
fn timer_gc_in_runtime() {
    let rt = gorun::Runtime::builder().procs(2).build().unwrap();
    rt.block_on(async { timer_gc() });
}

/// TestChan (asynctimerchan=0) for a Timer: Go 1.23's synchronous timer channels.
#[test]
fn chan_timer() {
    run(2, || async {
        let t = Timer::new(Duration::from_secs(10_000));
        timer_chan(&AnyTimer::Chan(t)).await;
    });
}

/// TestChan (asynctimerchan=0) for a Ticker.
#[test]
fn chan_ticker() {
    run(2, || async {
        let t = Ticker::new(Duration::from_secs(10_000));
        timer_chan(&AnyTimer::Ticker(t, AtomicBool::new(false))).await;
    });
}

/// TestAfterTimes and TestTickTimes: After(10 ms) or Tick(10 ms) read 500 ms later
/// reports when it was due, not when it was read.
#[test]
fn after_and_tick_times() {
    run(2, || async {
        for make in [after, tick] {
            let mut tries = 0;
            loop {
                let start = Instant::now();
                let c = make(10 * MS);
                sleep(500 * MS).await;
                let dt = c.recv().await.unwrap() - start;
                tries += 1;
                if dt < 400 * MS {
                    break;
                }
                assert!(
                    tries < 10,
                    "value {dt:?} after the start: the time it was read"
                );
            }
        }
    });
}

// ---- helpers ----

fn empty<T: std::fmt::Debug>(rx: &Receiver<T>, what: &str) {
    if let Ok(v) = rx.try_recv() {
        panic!("{what}: {v:?}");
    }
}

async fn got<T>(rx: &Receiver<T>, what: &str) {
    let r = timeout(Duration::from_secs(1), rx.recv()).await;
    assert!(matches!(r, Ok(Some(_))), "{what}");
}

/// A goroutine waiting for a value from `c` (sent on to `done`) or for `stop` to
/// close.
fn waiter(c: Receiver<Instant>, stop: &Receiver<()>, done: &Sender<()>) -> JoinHandle<()> {
    let (stop, done) = (stop.clone(), done.clone());
    go(async move {
        select! {
            recv(c) -> _ => done.send(()).await.unwrap(),
            recv(stop) -> _ => {}
        }
    })
}

async fn join(hs: impl IntoIterator<Item = JoinHandle<()>>) {
    for h in hs {
        let r = timeout(Duration::from_secs(1), h).await;
        r.expect("never got done").unwrap();
    }
}

/// TestChan's `testTimerChan` with `synctimerchan = true`.
async fn timer_chan(tim: &AnyTimer) {
    const SCHED: Duration = Duration::from_millis(10);
    let (c, long) = (tim.c(), Duration::from_secs(10_000));
    let is_ticker = matches!(tim, AnyTimer::Ticker(..));
    tim.stop();
    empty(&c, "extra tick after Stop");
    tim.reset(long);
    empty(&c, "extra tick after Reset");
    tim.reset(NS);
    sleep(SCHED).await;
    got(&c, "missing tick").await;
    sleep(SCHED).await; // a ticker ticks again here: Reset must drop that tick
    tim.reset(long);
    empty(&c, "stale tick after Reset");
    // Reset while a goroutine is blocked receiving.
    let (stop_tx, stop) = chan::<()>(0);
    let (done_tx, done) = chan(2);
    let w = waiter(c.clone(), &stop, &done_tx);
    sleep(SCHED).await;
    empty(&done, "early done");
    tim.reset(2 * long);
    sleep(SCHED).await;
    empty(&done, "early done");
    tim.reset(NS);
    got(&done, "never got done").await;
    join([w]).await;
    if is_ticker {
        got(&c, "missing tick").await;
    } else {
        empty(&c, "extra tick");
    }
    tim.stop();
    empty(&c, "extra tick after Stop");
    // Again with select and two goroutines waiting.
    tim.reset(long);
    let ws = [(); 2].map(|_| waiter(c.clone(), &stop, &done_tx));
    sleep(SCHED).await;
    empty(&done, "early done");
    tim.reset(SCHED / 2);
    sleep(SCHED).await;
    got(&done, "never got done").await;
    tim.stop();
    stop_tx.close();
    join(ws).await;
    if is_ticker {
        let _ = done.try_recv(); // a second tick may have reached the other waiter
        let _ = c.try_recv();
    }
    empty(&done, "extra done");
    // A stopped timer sends nothing to goroutines waiting for it.
    let (stop_tx, stop) = chan::<()>(0);
    let ws = [(); 2].map(|_| waiter(c.clone(), &stop, &done_tx));
    sleep(SCHED).await;
    stop_tx.close();
    join(ws).await;
    empty(&done, "unexpected data");
    // Stop and Reset block old values from being received (go.dev/issue/37196).
    tim.reset(NS);
    sleep(SCHED).await;
    assert!(
        tim.stop(),
        "Stop of a fired, unreceived timer = false, want true"
    );
    empty(&c, "tick after Stop");
    tim.reset(HOUR);
    empty(&c, "tick after Reset");
    assert!(tim.reset(NS), "Reset of a pending timer = false, want true");
    got(&c, "missing tick").await;
    sleep(SCHED).await;
    if is_ticker {
        got(&c, "missing tick").await;
        sleep(SCHED).await;
    } else {
        empty(&c, "extra tick");
    }
    assert_eq!(
        tim.reset(HOUR),
        is_ticker,
        "Reset after the value was received"
    );
    empty(&c, "tick after Reset");
}

/// TestTimerGC's six cases, counted on the calling thread (see [`Track`]).
fn timer_gc() {
    const N: isize = 10_000;
    let cases: [(&str, fn()); 6] = [
        ("After", || drop(after(HOUR))),
        ("Tick", || drop(tick(HOUR))),
        ("NewTimer", || drop(Timer::new(HOUR))),
        ("NewTicker", || drop(Ticker::new(HOUR))),
        ("NewTimerStop", || assert!(Timer::new(HOUR).stop())),
        ("NewTickerStop", || Ticker::new(HOUR).stop()),
    ];
    let mut failed = Vec::new();
    for (what, f) in cases {
        f(); // first-use allocations (thread locals, the global driver) are not counted
        let track = Track::start();
        for _ in 0..N {
            f();
        }
        let inuse = track.settle(N / 4);
        if inuse >= N / 4 {
            failed.push(format!(
                "{what} did not get freed: {inuse} allocations live"
            ));
        }
    }
    assert!(failed.is_empty(), "{failed:#?}");
}
