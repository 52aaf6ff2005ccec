//! Go 1.23's timer tests (`src/time/sleep_test.go`, `src/time/tick_test.go`),
//! rewritten in Rust on the gorun runtime: here the sleeps, `After`, `AfterFunc`,
//! `Stop`/`Reset` and zero timers; `timer_golang_chan.rs` has the timer channels
//! and tickers. Each test names the Go test it mirrors.
//!
//! Translation: a goroutine is `gorun::go`, `time.Sleep` in it is `sleep(..).await`;
//! Go's `newTimerFunc` (a Timer built on AfterFunc) is `new_timer_func`; gorun's
//! wheel ticks every 125 µs, so Go's 1 ns periods fire on the next tick. Go's
//! lower bounds on durations are kept; its upper bounds become liveness bounds.
//!
//! Not ported:
//! - `TestIssue5745`, `TestZeroTimerResetPanics`, `TestZeroTimerStopPanics`: nil or
//!   uninitialized `Timer` values do not exist in Rust.
//! - `TestTickerStopWithDirectInitialization`, `TestManualTicker`: `Ticker`'s fields
//!   are private, so `Ticker{C: c}` cannot be written.
//! - `TestOverflowPeriodRuntimeTimer`, `TestLongAdjustTimers`: Go runtime internals
//!   (timer heap overflow and heap adjustment cost).
//! - `TestTeardown`: a subset of `TestTicker` (create, receive, stop).
//! - `TestChan` with `asynctimerchan=1/2`: Go's pre-1.23 timer channels; gorun has
//!   only the 1.23 semantics (`asynctimerchan=0`, ported).
//! - Negative durations (`TestOverflowSleep`'s second half, `TestTick`,
//!   `TestNewTickerLtZeroDuration`): `Duration` cannot be negative; the zero period,
//!   which gorun rejects as Go rejects `d <= 0`, is checked instead.
//! - Benchmarks (see `benches/timer.rs`).

#[path = "common/go_timer.rs"]
mod go_timer;

use std::sync::atomic::{AtomicBool, AtomicIsize, AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::time::Duration;

use go_timer::{new_timer_func, run, AnyTimer};
use gorun::time::{after, after_func, sleep, timeout, Instant, Timer};
use gorun::{chan, go, select, Receiver, Sender};

const MS: Duration = Duration::from_millis(1);
const HOUR: Duration = Duration::from_secs(3600);

/// TestSleep: a sleep is never short, even while another goroutine wakes up.
#[test]
fn sleep_is_not_short() {
    run(2, || async {
        go(sleep(50 * MS)); // Go interrupts the sleeping thread at this point
        let start = Instant::now();
        sleep(100 * MS).await;
        assert!(start.elapsed() >= 100 * MS, "slept {:?}", start.elapsed());
    });
}

/// TestAfterFunc: AfterFunc(0, f) where f re-arms itself ten times.
#[test]
fn after_func_chain() {
    fn step(left: Arc<AtomicIsize>, done: Sender<bool>) {
        after_func(Duration::ZERO, move || {
            if left.fetch_sub(1, SeqCst) > 0 {
                step(left.clone(), done.clone());
                go(sleep(Duration::from_secs(1))); // Go's f sleeps 1 s
            } else {
                let _ = done.try_send(true);
            }
        });
    }
    run(2, || async {
        let (tx, rx) = chan(1);
        step(Arc::new(AtomicIsize::new(10)), tx);
        let r = timeout(Duration::from_secs(10), rx.recv()).await;
        assert_eq!(r, Ok(Some(true)), "the AfterFunc chain never finished");
    });
}

/// TestAfterFuncStarvation: with its one P kept busy by two goroutines ping-ponging
/// on a channel, an AfterFunc(1 µs) still runs and stops them.
#[test]
fn after_func_starvation() {
    let stop = Arc::new(AtomicBool::new(false));
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    let s = stop.clone();
    std::thread::spawn(move || {
        let rt = gorun::Runtime::builder().procs(1).build().unwrap();
        rt.block_on(async move {
            let (tx, rx) = chan(1);
            let st = s.clone();
            let a = go(async move {
                while !st.load(SeqCst) {
                    tx.send(true).await.unwrap();
                }
            });
            let b = go(async move { while rx.recv().await.is_some() {} });
            let _f = after_func(Duration::from_micros(1), move || s.store(true, SeqCst));
            a.await.unwrap();
            b.await.unwrap();
        });
        let _ = done_tx.send(());
    });
    let r = done_rx.recv_timeout(Duration::from_secs(20));
    stop.store(true, SeqCst); // lets the goroutines end if the AfterFunc never ran
    assert!(
        r.is_ok(),
        "AfterFunc starved by two runnable goroutines on one P"
    );
}

/// TestAfter: After(100 ms) neither returns nor reports a time before 100 ms.
#[test]
fn after_is_not_early() {
    run(2, || async {
        let start = Instant::now();
        let end = after(100 * MS).recv().await.unwrap();
        assert!(
            start.elapsed() >= 100 * MS,
            "returned after {:?}",
            start.elapsed()
        );
        assert!(end >= start + 100 * MS, "reported {:?}", end - start);
    });
}

/// TestAfterTick: ten After(100 ms) in a row take at least 0.9 s (Go's upper bound
/// of 3 s is 10 s here).
#[test]
fn after_tick() {
    run(2, || async {
        let t0 = Instant::now();
        for _ in 0..10 {
            after(100 * MS).recv().await.unwrap();
        }
        let d = t0.elapsed();
        assert!(
            d >= 900 * MS && d <= 10_000 * MS,
            "10 ticks of 100 ms took {d:?}"
        );
    });
}

/// TestAfterStop (impl=chan and impl=func): stopped timers never deliver, and a
/// second Stop reports false. Five tries, as in Go.
#[test]
fn after_stop() {
    run(2, || async {
        for new_timer in [|d| AnyTimer::Chan(Timer::new(d)), new_timer_func] {
            let mut errs = Vec::new();
            while errs.len() < 5 {
                let _ = after_func(100 * MS, || {});
                let t0 = new_timer(50 * MS);
                let (c1_tx, c1) = chan(1);
                let t1 = after_func(150 * MS, move || {
                    let _ = c1_tx.try_send(true);
                });
                let c2 = after(200 * MS);
                let (s0, s1) = (t0.stop(), t1.stop());
                c2.recv().await.unwrap();
                match () {
                    _ if !s0 || !s1 => errs.push("failed to stop an event"),
                    _ if t0.c().try_recv().is_ok() => errs.push("event 0 was not stopped"),
                    _ if c1.try_recv().is_ok() => errs.push("event 1 was not stopped"),
                    _ if t1.stop() => errs.push("Stop returned true twice"),
                    _ => break,
                }
            }
            assert!(errs.len() < 5, "saw {errs:?}");
        }
    });
}

/// TestAfterQueuing (impl=chan and impl=func): timers fire in deadline order and on
/// time, whatever order they were created in.
#[test]
fn after_queuing() {
    run(2, || async {
        for after_fn in [after as fn(Duration) -> Receiver<Instant>, |d| {
            new_timer_func(d).c()
        }] {
            let mut errs = Vec::new();
            for i in 0..5 {
                match after_queuing_once((20 + i * 50) * MS, after_fn).await {
                    Ok(()) => break,
                    Err(e) => errs.push(e),
                }
            }
            assert!(errs.len() < 5, "{errs:#?}");
        }
    });
}

async fn after_queuing_once(
    delta: Duration,
    after: fn(Duration) -> Receiver<Instant>,
) -> Result<(), String> {
    const SLOTS: [u32; 13] = [5, 3, 6, 6, 6, 1, 1, 2, 7, 9, 4, 8, 0];
    let (tx, rx) = chan(SLOTS.len());
    let t0 = Instant::now();
    for slot in SLOTS {
        let (c, tx) = (after(delta * slot), tx.clone());
        go(async move { tx.send((slot, c.recv().await.unwrap())).await.unwrap() });
    }
    let mut got = Vec::new();
    for _ in SLOTS {
        got.push(rx.recv().await.unwrap());
    }
    if got.windows(2).any(|w| w[1].0 < w[0].0) {
        return Err(format!("After calls returned out of order: {got:?}"));
    }
    for (slot, t) in got {
        let (dt, target) = (t - t0, delta * slot);
        if dt < target.saturating_sub(delta / 2) || dt > target + delta * 10 {
            return Err(format!("After({target:?}) arrived at {dt:?}"));
        }
    }
    Ok(())
}

/// TestTimerStopStress, at a quarter of Go's times: 100 AfterFuncs stopped halfway
/// to their deadline never run.
#[test]
fn timer_stop_stress() {
    run(2, || async {
        let fired = Arc::new(AtomicUsize::new(0));
        for _ in 0..100 {
            let fired = fired.clone();
            go(async move {
                let t = after_func(500 * MS, move || {
                    fired.fetch_add(1, SeqCst);
                });
                sleep(250 * MS).await;
                t.stop();
            });
        }
        sleep(750 * MS).await;
        assert_eq!(fired.load(SeqCst), 0, "timers were not stopped");
    });
}

/// TestSleepZeroDeadlock: Sleep(0) in a loop beside a busy goroutine, on four Ps.
#[test]
fn sleep_zero_deadlock() {
    run(4, || async {
        let (tx, rx) = chan(0);
        go(async move {
            for _ in 0..100 {
                drop(std::hint::black_box(vec![0u8; 1 << 16])); // Go runs the GC here
                gorun::yield_now().await;
            }
            tx.send(true).await.unwrap();
        });
        for _ in 0..100 {
            sleep(Duration::ZERO).await;
            let (t, r) = chan(1);
            t.send(true).await.unwrap();
            r.recv().await.unwrap();
        }
        rx.recv().await.unwrap();
    });
}

/// TestReset: Reset of an unfired timer reports true and moves its deadline; Reset
/// of a fired and received one reports false. The unit doubles until it passes.
#[test]
fn reset() {
    run(2, || async {
        let mut d = MS;
        loop {
            let t0 = Timer::new(2 * d);
            sleep(d).await;
            let pending = t0.reset(3 * d);
            sleep(2 * d).await;
            let early = t0.c().try_recv().is_ok();
            sleep(2 * d).await;
            let fired = t0.c().try_recv().is_ok();
            let err = match () {
                _ if !pending => "resetting unfired timer returned false",
                _ if early => "timer fired early",
                _ if !fired => "reset timer did not fire",
                _ if t0.reset(50 * MS) => "resetting expired timer returned true",
                _ => break,
            };
            d *= 2;
            assert!(d <= Duration::from_secs(10), "{err}");
        }
    });
}

/// TestOverflowSleep: `Duration::MAX` never elapses, and does not disturb the
/// other timers.
#[test]
fn overflow_sleep() {
    run(2, || async {
        let returned = Arc::new(AtomicBool::new(false));
        let r = returned.clone();
        go(async move {
            sleep(Duration::MAX).await;
            r.store(true, SeqCst);
        });
        select! {
            recv(after(Duration::MAX)) -> v => panic!("big timeout fired: {v:?}"),
            recv(after(25 * MS)) -> _ => {}
        }
        assert!(!returned.load(SeqCst), "big sleep returned");
    });
}

/// TestZeroTimer, impl=chan: a million `Timer::new(0)`, each delivering within 2 s.
#[test]
fn zero_timer_chan() {
    zero_timer(|t| *t = Some(AnyTimer::Chan(Timer::new(Duration::ZERO))));
}

/// TestZeroTimer, impl=func: the same through AfterFunc.
#[test]
fn zero_timer_func() {
    zero_timer(|t| *t = Some(new_timer_func(Duration::ZERO)));
}

/// TestZeroTimer, impl=cache: one AfterFunc timer Reset to zero a million times.
#[test]
fn zero_timer_cache() {
    zero_timer(|t| {
        t.get_or_insert_with(|| new_timer_func(HOUR))
            .reset(Duration::ZERO);
    });
}

/// TestTimerModifiedEarlier: moving a timer earlier ten times in a row never loses
/// it.
#[test]
fn timer_modified_earlier() {
    run(2, || async {
        for _ in 0..1000 {
            let timer = new_timer_func(HOUR);
            for _ in 0..10 {
                if !timer.stop() {
                    timer.c().recv().await.unwrap();
                }
                timer.reset(Duration::ZERO); // Go resets to a time in the past
            }
            let deadline = Timer::new(Duration::from_secs(10));
            let now = Instant::now();
            select! {
                recv(timer.c()) -> _ => assert!(now.elapsed() <= Duration::from_secs(8)),
                recv(deadline.c()) -> _ => panic!("deadline expired"),
            }
        }
    });
}

/// TestAdjustTimers: 100 AfterFunc timers driven in random order through fire,
/// receive, long resets, stops and a zero reset; none is lost (Go's 750 ms bound on
/// the last receive is 5 s here).
#[test]
fn adjust_timers() {
    run(2, || async {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
        let mut seed = now.unwrap().as_nanos() as u64 | 1;
        let mut timers: Vec<_> = (0..100).map(|_| new_timer_func(HOUR)).collect();
        let mut states = [0u32; 100];
        let mut indices: Vec<usize> = (0..100).collect();
        while !indices.is_empty() {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let ii = (seed % indices.len() as u64) as usize;
            let (i, state) = (indices[ii], states[indices[ii]]);
            states[i] += 1;
            let timer = &timers[i];
            match state {
                0 => {
                    timer.stop(); // the placeholder; Go starts from nil
                    timers[i] = new_timer_func(Duration::ZERO);
                }
                1 | 9 => {
                    let r = timeout(Duration::from_secs(5), timer.c().recv()).await;
                    assert!(r.is_ok(), "timer {i} state {state} took over 5 s");
                }
                2 | 4 | 6 => {
                    let d = Duration::from_secs(60 * (state as u64 / 2));
                    assert!(!timer.reset(d), "timer {i} shouldn't be active ({state})");
                }
                3 | 5 | 7 if !timer.stop() => {
                    timer.c().recv().await;
                }
                3 | 5 | 7 => {}
                8 => assert!(!timer.reset(Duration::ZERO), "timer.Reset returned true"),
                _ => {
                    indices.swap_remove(ii);
                }
            }
        }
    });
}

// ---- helpers ----

/// TestZeroTimer's body. Go checks each round (under 2 s) and takes about a second
/// in all; a total bound of 60 s keeps a regression from running for many minutes.
fn zero_timer(new_timer: fn(&mut Option<AnyTimer>)) {
    run(2, move || async move {
        let (begin, mut timer) = (std::time::Instant::now(), None);
        for i in 0..1_000_000 {
            let s = Instant::now();
            new_timer(&mut timer);
            timer.as_ref().unwrap().c().recv().await.unwrap();
            assert!(
                s.elapsed() <= Duration::from_secs(2),
                "round {i}: {:?}",
                s.elapsed()
            );
            let total = begin.elapsed();
            assert!(
                total < Duration::from_secs(60),
                "only {i} rounds in {total:?}"
            );
        }
    });
}
