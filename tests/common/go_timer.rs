//! What the ports of Go's timer tests share: running a test body as a task (Go's
//! test goroutine) with a hang turned into a failure, checking a panic's message,
//! and Go's `*Timer` in its three shapes.
#![allow(dead_code)] // each test binary uses a subset

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::mpsc::RecvTimeoutError;
use std::time::Duration;

use gorun::time::{after_func, AfterFunc, Instant, Ticker, Timer};
use gorun::{chan, Receiver};

/// Runs `f()` as a task (Go's test goroutine) on a new runtime with `procs` Ps, from
/// a thread of its own: a test that hangs (in the task or in dropping the runtime)
/// fails after 120 s instead.
pub fn run<F: Future<Output = ()> + Send + 'static>(
    procs: usize,
    f: impl FnOnce() -> F + Send + 'static,
) {
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let name = std::thread::current().name().unwrap_or("test").to_string();
    let h = std::thread::Builder::new()
        .name(name.clone())
        .spawn(move || {
            let _done = tx; // dropped last, also when unwinding
            let rt = gorun::Runtime::builder().procs(procs).thread_name(name);
            let rt = rt.build().unwrap();
            rt.run(f());
        });
    let r = rx.recv_timeout(Duration::from_secs(120)); // disconnected when it ends
    assert!(
        r != Err(RecvTimeoutError::Timeout),
        "the test hung for 120 s"
    );
    if let Err(panic) = h.unwrap().join() {
        std::panic::resume_unwind(panic);
    }
}

pub fn expect_panic(want: &str, f: impl FnOnce()) {
    let err = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).expect_err("no panic");
    let msg = (err.downcast_ref::<&str>().map(|s| s.to_string()))
        .or_else(|| err.downcast_ref::<String>().cloned())
        .unwrap_or_default();
    assert!(
        msg.contains(want),
        "panic {msg:?} does not mention {want:?}"
    );
}

/// Go's `*Timer` as the tests use it: a channel timer, `newTimerFunc` (an AfterFunc
/// sending `now` on its own channel), or TestChan's `tickerTimer` (Stop and Reset
/// report whether the ticker was running).
pub enum AnyTimer {
    Chan(Timer),
    Func(AfterFunc, Receiver<Instant>),
    Ticker(Ticker, AtomicBool),
}

pub fn new_timer_func(d: Duration) -> AnyTimer {
    let (tx, c) = chan(1);
    let f = after_func(d, move || {
        let _ = tx.try_send(Instant::now());
    });
    AnyTimer::Func(f, c)
}

impl AnyTimer {
    pub fn stop(&self) -> bool {
        match self {
            AnyTimer::Chan(t) => t.stop(),
            AnyTimer::Func(f, _) => f.stop(),
            AnyTimer::Ticker(t, stopped) => {
                t.stop();
                !stopped.swap(true, SeqCst)
            }
        }
    }

    pub fn reset(&self, d: Duration) -> bool {
        match self {
            AnyTimer::Chan(t) => t.reset(d),
            AnyTimer::Func(f, _) => f.reset(d),
            AnyTimer::Ticker(t, stopped) => {
                t.reset(d);
                !stopped.swap(false, SeqCst)
            }
        }
    }

    pub fn c(&self) -> Receiver<Instant> {
        match self {
            AnyTimer::Chan(t) => t.c().clone(),
            AnyTimer::Func(_, c) => c.clone(),
            AnyTimer::Ticker(t, _) => t.c().clone(),
        }
    }
}
