//! Panics in tasks, in destructors and in wakers, and a runtime that goes on.
//!
//! On a two-worker runtime: tasks that panic (string and non-string payloads), on
//! both workers at once; tasks that panic while holding values (counted guards, an
//! `Arc`, the sender of a channel with values in its buffer); a task that panics
//! inside a `select!` whose receive case is parked on a channel; destructors that
//! panic when a task completes, is aborted, or is dropped at shutdown (gorun catches
//! those: `drop_future`/`drop_output` in the executor); wakers that panic when the
//! timer driver or a task's completion wakes them (reported in
//! `RuntimeMetrics::waker_panics`); and `Runtime::run` resuming its main task's panic.
//!
//! What must hold: every panic reaches its `JoinHandle` as `is_panic()` with its
//! message or payload (a panicking destructor of an aborted task too); the values a
//! panicking task held are freed as it completes, the rest of the guards of a future
//! whose destructor panicked included; a select that panicked leaves no waiter
//! behind on its channel; the runtime keeps running tasks afterwards and drops
//! cleanly with panicking destructors still in blocked tasks; every value is freed
//! exactly once; and memcheck sees no error and no definitely lost block.

use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::Arc;
use std::task::{Context, Wake, Waker};
use std::time::Duration;

use gorun::time::{after, sleep};
use gorun::{chan, go, select, yield_now, JoinError, Runtime, TrySendError, WaitReason};
use gorun_memcheck::{
    quiet_expected_panics, report, wait_for_waits, wait_until, ExpectedPayload, Guard, Tracker,
    EXPECTED, HOUR,
};

const MS: Duration = Duration::from_millis(1);

/// Panics when dropped (not during an unwind: it is only ever dropped normally).
struct PanicOnDrop(&'static str);

impl Drop for PanicOnDrop {
    fn drop(&mut self) {
        panic!("{} {EXPECTED}", self.0);
    }
}

/// A waker that panics when woken, after noting that it was (as
/// `tests/timer_semantics.rs` does).
#[derive(Default)]
struct PanicWaker(AtomicBool);

impl Wake for PanicWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.store(true, SeqCst);
        panic!("this waker panics {EXPECTED}");
    }
}

impl PanicWaker {
    /// Polls `fut` once with this waker (it must be pending), then waits for the wake.
    fn poll_until_woken<F: Future>(self: &Arc<Self>, fut: Pin<&mut F>) {
        let waker = Waker::from(self.clone());
        assert!(fut.poll(&mut Context::from_waker(&waker)).is_pending());
        wait_until("the panicking waker to be woken", || self.0.load(SeqCst));
    }
}

fn panic_message(e: &JoinError) -> &str {
    assert!(e.is_panic(), "expected a panic, got {e}");
    e.panic_message().unwrap_or("<no message>")
}

fn main() {
    quiet_expected_panics();
    let tracker = Tracker::new();
    let shared = Arc::new(vec![1u8; 128]);
    let rt = Runtime::builder()
        .procs(2)
        .on_blocking_poll(|_| {})
        .build()
        .expect("runtime");

    // 1. Panics with string and non-string payloads, each task holding values.
    let n = rt.block_on(async {
        let hs: Vec<_> = (0..100u64)
            .map(|i| {
                let (g, s) = (tracker.guard("panicker"), shared.clone());
                go(async move {
                    let _own = (g, s);
                    yield_now().await;
                    match i % 3 {
                        0 => panic!("task {i} panics {EXPECTED}"),
                        1 => std::panic::panic_any(ExpectedPayload(i)),
                        _ => i,
                    }
                })
            })
            .collect();
        let mut panicked = 0;
        for (i, h) in (0..).zip(hs) {
            match (i % 3, h.await) {
                (0, Err(e)) => {
                    assert_eq!(panic_message(&e), format!("task {i} panics {EXPECTED}"));
                    panicked += 1;
                }
                (1, Err(e)) => {
                    assert!(e.is_panic() && e.panic_message().is_none(), "{e}");
                    let p = e.into_panic();
                    assert_eq!(
                        p.downcast_ref::<ExpectedPayload>(),
                        Some(&ExpectedPayload(i))
                    );
                    panicked += 1;
                }
                (2, Ok(v)) => assert_eq!(v, i),
                (_, r) => panic!("task {i}: unexpected {:?}", r.map(|_| ())),
            }
        }
        panicked
    });
    assert_eq!(n, 67);
    tracker.assert_live(0, "the panicking tasks' values");

    // 2. Panics on both workers at once: 200 tasks released together by a close.
    let (start_tx, start_rx) = chan::<()>(0);
    let hs: Vec<_> = (0..200)
        .map(|i| {
            let (rx, g) = (start_rx.clone(), tracker.guard("concurrent panicker"));
            rt.spawn(async move {
                let _g = g;
                assert_eq!(rx.recv().await, None);
                // A little work, so the other worker steals some of the woken tasks.
                let t = std::time::Instant::now();
                while t.elapsed() < Duration::from_micros(200) {
                    std::hint::spin_loop();
                }
                if i % 2 == 0 {
                    panic!("concurrent panic {i} {EXPECTED}");
                }
                std::thread::current().id()
            })
        })
        .collect();
    drop(start_rx);
    wait_for_waits(rt.handle(), &[(WaitReason::ChanRecv, 200)]);
    start_tx.close();
    let (panicked, threads) = rt.block_on(async {
        let mut panicked = 0;
        let mut threads = std::collections::HashSet::new();
        for h in hs {
            match h.await {
                Ok(t) => {
                    threads.insert(t);
                }
                Err(e) => {
                    assert!(panic_message(&e).starts_with("concurrent panic"));
                    panicked += 1;
                }
            }
        }
        (panicked, threads.len())
    });
    assert_eq!(panicked, 100);
    tracker.assert_live(0, "the concurrent panickers' values");

    // 3. A panic while holding a sender of a buffered channel with values in it:
    //    the values stay receivable, then the channel reads as closed.
    let (tx, rx) = chan::<Guard>(4);
    let h = {
        let held = (0..3).map(|_| tracker.guard("held")).collect::<Vec<_>>();
        let parked = (0..3).map(|_| tracker.guard("parked")).collect::<Vec<_>>();
        rt.spawn(async move {
            let _held = held;
            for g in parked {
                tx.send(g).await.unwrap();
            }
            yield_now().await;
            panic!("panic with a sender {EXPECTED}");
        })
    };
    let e = rt.block_on(h).unwrap_err();
    assert_eq!(panic_message(&e), format!("panic with a sender {EXPECTED}"));
    tracker.assert_live(3, "the held values freed, the parked ones in the buffer");
    rt.block_on(async {
        for _ in 0..3 {
            let g = rx.recv().await.expect("a parked value");
            assert_eq!(g.tag(), "parked");
        }
        assert!(
            rx.recv().await.is_none(),
            "the dead task's sender closed the channel"
        );
    });
    tracker.assert_live(0, "after draining the channel");

    // 4. A panic inside a `select!` whose receive case is parked on a rendezvous
    //    channel: no waiter is left behind, so a later send finds no receiver.
    let (tx, rx) = chan::<Guard>(0);
    let rx2 = rx.clone();
    let g = tracker.guard("select panicker");
    let h = rt.spawn(async move {
        let _g = g;
        select! {
            recv(rx2) -> v => unreachable!("received {v:?}"),
            recv(after(HOUR)) -> v => unreachable!("after fired: {v:?}"),
            _ = async {
                yield_now().await; // pending once: the receive case parks
                sleep(MS).await;
                panic!("panic inside select {EXPECTED}");
            } => unreachable!(),
        }
    });
    let e = rt.block_on(h).unwrap_err();
    assert_eq!(panic_message(&e), format!("panic inside select {EXPECTED}"));
    match tx.try_send(tracker.guard("after the select")) {
        Err(TrySendError::Full(g)) => assert_eq!(g.tag(), "after the select"),
        other => panic!("a send found the dead select's receiver: {other:?}"),
    }
    drop((tx, rx));
    tracker.assert_live(0, "after the select panicked");

    // 5. Destructors that panic: when a task completes (the future's state, and the
    //    output of a detached task), when it is aborted while blocked. The guard
    //    declared before the panicking value must still be freed.
    let g = tracker.guard("beside a panicking drop");
    let h = rt.spawn(async move {
        let _g = g;
        let _p = PanicOnDrop("future state dropped at completion");
        7
    });
    let e = rt.block_on(h).unwrap_err();
    assert!(panic_message(&e).starts_with("future state dropped at completion"));

    let g = tracker.guard("output beside a panicking drop");
    drop(rt.spawn(async move { (g, PanicOnDrop("detached output")) }));

    let (tx, rx) = chan::<u8>(0);
    let g = tracker.guard("aborted beside a panicking drop");
    let h = rt.spawn(async move {
        let _g = g;
        let _p = PanicOnDrop("aborted task's future");
        rx.recv().await
    });
    wait_for_waits(rt.handle(), &[(WaitReason::ChanRecv, 1)]);
    h.abort();
    let e = rt.block_on(h).unwrap_err();
    assert!(
        panic_message(&e).starts_with("aborted task's future"),
        "an abort whose drop panicked reports the panic: {e}"
    );
    drop(tx);
    tracker.wait_live(0, "the guards beside panicking destructors");

    // 6. Wakers that panic when the runtime wakes them: by a task's completion and
    //    by the timer driver.
    let waker = Arc::new(PanicWaker::default());
    // (The sleep is made inside the task, so it binds to this runtime's driver.)
    let mut h = Box::pin(rt.spawn(async { sleep(5 * MS).await }));
    waker.poll_until_woken(h.as_mut());
    drop(h);
    let waker = Arc::new(PanicWaker::default());
    let handle = rt.handle().clone();
    std::thread::spawn(move || {
        let _enter = handle.enter(); // the sleep binds to the runtime's driver
        let mut s = Box::pin(sleep(5 * MS));
        waker.poll_until_woken(s.as_mut());
    })
    .join()
    .expect("the timer's waker thread");
    wait_until("both waker panics reported", || {
        rt.handle().metrics().waker_panics >= 2
    });

    // 7. `Runtime::run` resumes its main task's panic on the caller; the runtime
    //    goes on afterwards.
    let g = tracker.guard("run's main task");
    let r = catch_unwind(AssertUnwindSafe(|| {
        rt.run(async move {
            let _g = g;
            yield_now().await;
            panic!("main task panics {EXPECTED}");
        })
    }));
    let p = r.expect_err("run returned after its task panicked");
    let msg = p
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| p.downcast_ref::<&str>().copied());
    assert_eq!(msg, Some(format!("main task panics {EXPECTED}").as_str()));
    let sum = rt.run(async {
        let hs: Vec<_> = (0..50u64).map(|i| go(async move { i })).collect();
        let mut sum = 0;
        for h in hs {
            sum += h.await.unwrap();
        }
        sum
    });
    assert_eq!(sum, 1225, "the runtime runs tasks after all those panics");
    tracker.assert_live(0, "before the final drop");

    // 8. Dropped at shutdown: blocked tasks whose futures hold panicking destructors.
    for i in 0..20 {
        let (g, s) = (
            tracker.guard("shutdown beside a panicking drop"),
            shared.clone(),
        );
        rt.spawn(async move {
            let _own = (g, s);
            let _p = PanicOnDrop("dropped at shutdown");
            if i % 2 == 0 {
                sleep(HOUR).await;
            } else {
                let (_tx, rx) = chan::<u8>(0);
                rx.recv().await;
            }
        });
    }
    wait_for_waits(
        rt.handle(),
        &[(WaitReason::Sleep, 10), (WaitReason::ChanRecv, 10)],
    );
    let waker_panics = rt.handle().metrics().waker_panics;
    drop(rt);
    tracker.assert_all_dropped("after the runtime drop");
    assert_eq!(Arc::strong_count(&shared), 1, "a task's Arc clone leaked");
    report(
        "panics",
        format_args!(
            "{} values freed; {n}+{panicked}+3 task panics (100 of them on {threads} worker \
             threads at once), 3 panicking destructors + 20 at shutdown, {waker_panics} waker \
             panics, run's panic resumed",
            tracker.made()
        ),
    );
}
