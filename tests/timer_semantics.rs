//! The timer semantics of the timer-driver issue, one test per point:
//!
//! 1. `after(d)` and `tick(d)` are freed as soon as nothing can receive from them.
//! 2. Churn from many `select!` + `after` loops does not grow memory without bound.
//! 3. A user waker that panics does not take the timer driver or the runtime down.
//! 4. `Duration::MAX` never elapses: `after`, `tick`, `interval`.
//! 5. A zero duration is due at once: the value can be received straight away.
//! 6. `timeout` charges the cooperative budget, so a loop over it lets others run.
//! 7. The paused clock: one worker by default, and no jump over ready I/O.
//!
//! Each asserts behaviour with generous bounds, not speed.

#[path = "common/alloc_track.rs"]
mod alloc_track;

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::Arc;
use std::task::{Context, Wake, Waker};
use std::time::Duration;

use futures::io::{AsyncReadExt, AsyncWriteExt};
use gorun::net::{TcpListener, TcpStream};
use gorun::time::{after, interval, sleep, tick, timeout, MissedTickBehavior, Timer};
use gorun::{chan, go, select, Builder, Runtime};

use alloc_track::{Tagging, Track};

#[global_allocator]
static GLOBAL: Tagging = Tagging;

const MS: Duration = Duration::from_millis(1);
const HOUR: Duration = Duration::from_secs(3600);

/// Point 1: 10,000 `after(1 h)` that lose a `select!`, and 10,000 dropped `tick(1 h)`,
/// leave far fewer than 10,000 allocations alive (Go 1.23's TestTimerGC).
#[test]
fn p1_unreferenced_after_and_tick_are_freed() {
    const N: isize = 10_000;
    run(procs(2), || async {
        let (tx, rx) = chan::<isize>(1);
        tx.try_send(-1).unwrap();
        rx.recv().await; // first-use allocations are not counted
        let track = Track::start();
        for i in 0..N {
            tx.try_send(i).unwrap();
            select! {
                recv(rx) -> v => assert_eq!(v, Some(i)),
                recv(after(HOUR)) -> _ => unreachable!(),
            }
        }
        let after_live = track.settle(N / 4);
        let track = Track::start();
        for _ in 0..N {
            drop(tick(HOUR));
        }
        let tick_live = track.settle(N / 4);
        assert!(
            after_live < N / 4 && tick_live < N / 4,
            "live allocations after {N} rounds: after {after_live}, tick {tick_live}"
        );
    });
}

/// Point 2: on procs(4) (more workers than cores on a 2-core machine), four tasks loop
/// over `select!` between a busy channel and `after(30 s)`, and one sleeps 1 ms in a
/// loop. Over 3 s the process grows by less than 200 MB (the test stops at that mark),
/// and the sleeper completes at least 150 sleeps.
#[test]
fn p2_select_after_churn_keeps_memory_bounded() {
    const LIMIT: usize = 200 << 20;
    let rt = procs(4).build().unwrap();
    let base = rss_bytes();
    let stop = Arc::new(AtomicBool::new(false));
    let sleeps = Arc::new(AtomicUsize::new(0));
    for _ in 0..4 {
        let (tx, rx) = chan::<u64>(64);
        let s = stop.clone();
        rt.spawn(async move {
            let mut i = 0;
            while !s.load(SeqCst) && tx.send(i).await.is_ok() {
                i += 1;
            }
        });
        let s = stop.clone();
        rt.spawn(async move {
            while !s.load(SeqCst) {
                select! {
                    recv(rx) -> v => if v.is_none() { break },
                    recv(after(Duration::from_secs(30))) -> _ => {}
                }
            }
        });
    }
    let (s, n) = (stop.clone(), sleeps.clone());
    rt.spawn(async move {
        while !s.load(SeqCst) {
            sleep(MS).await;
            n.fetch_add(1, SeqCst);
        }
    });
    let start = std::time::Instant::now();
    let mut growth = 0;
    while start.elapsed() < Duration::from_secs(3) && growth < LIMIT {
        std::thread::sleep(50 * MS);
        growth = growth.max(rss_bytes().saturating_sub(base));
    }
    stop.store(true, SeqCst);
    let (secs, sleeps) = (start.elapsed().as_secs_f64(), sleeps.load(SeqCst));
    drop_within(rt, "after the churn");
    assert!(
        growth < LIMIT,
        "RSS grew by {} MB in {secs:.1} s (the sleeper completed {sleeps} sleeps)",
        growth >> 20
    );
    assert!(sleeps >= 150, "only {sleeps} sleeps of 1 ms in {secs:.1} s");
}

/// Point 3: a waker that panics when the timer driver wakes it: the runtime's other
/// sleeps still complete, and dropping the runtime returns.
#[test]
fn p3_panicking_waker_woken_by_the_timer_driver() {
    let rt = procs(2).build().unwrap();
    let handle = rt.handle().clone();
    let waker = Arc::new(PanicWaker::default());
    let w = waker.clone();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _enter = handle.enter(); // the sleep binds to the runtime's driver
        let mut s = Box::pin(sleep(5 * MS));
        let fired = w.poll_until_woken(s.as_mut());
        drop(s);
        let _ = tx.send(fired);
    });
    match rx.recv_timeout(Duration::from_secs(10)) {
        Ok(true) => {}
        Ok(false) => panic!("the driver never woke the sleep's waker"),
        Err(_) => panic!("dropping the fired sleep hung: the driver stayed locked"),
    }
    runtime_survives(rt);
}

/// Point 3: the same for a waker woken by a task's completion (a `JoinHandle` polled by
/// hand).
#[test]
fn p3_panicking_waker_woken_by_a_task_completion() {
    let rt = procs(2).build().unwrap();
    let waker = Arc::new(PanicWaker::default());
    let mut h = Box::pin(rt.spawn(sleep(5 * MS)));
    assert!(
        waker.poll_until_woken(h.as_mut()),
        "the task never woke its JoinHandle"
    );
    drop(h);
    runtime_survives(rt);
}

/// Point 3: the same for a waker woken by the reactor (a socket read polled by
/// hand, readied by the peer's write): the runtime's timers and sockets go on.
#[test]
fn p3_panicking_waker_woken_by_the_reactor() {
    let rt = procs(2).build().unwrap();
    let (client, mut server) = rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let client = TcpStream::connect(addr).await.unwrap();
        let (server, _) = listener.accept().await.unwrap();
        (client, server)
    });
    let waker = Arc::new(PanicWaker::default());
    let poller = std::thread::spawn(move || {
        let mut client = client;
        let woken = waker.poll_until_woken(Pin::new(&mut client.read(&mut [0u8; 8])));
        (woken, client)
    });
    std::thread::sleep(20 * MS); // the read is parked on the reactor
    rt.block_on(server.write_all(b"ping")).unwrap();
    let (woken, mut client) = poller.join().unwrap();
    assert!(woken, "the reactor never woke the read's waker");
    // The reactor still serves the socket.
    let mut buf = [0u8; 8];
    let n = rt.block_on(client.read(&mut buf)).unwrap();
    assert_eq!(&buf[..n], b"ping");
    runtime_survives(rt);
}

/// Point 4: `after(Duration::MAX)`, `tick(Duration::MAX)` and `interval(Duration::MAX)`
/// never fire, on the real clock.
#[test]
fn p4_max_duration_never_fires() {
    run(procs(2), never_fires);
}

/// Point 4: the same on a paused clock.
#[test]
fn p4_max_duration_never_fires_paused() {
    run(paused(), never_fires);
}

/// Point 5: right after `Timer::new(ZERO)`, `after(ZERO)` or `reset(ZERO)`, the value
/// is in the channel (Go 1.23: a receive from an expired timer's channel gets its value
/// at once), on a plain thread, a runtime and a paused runtime.
#[test]
fn p5_zero_duration_is_due_at_once() {
    zero_is_due("plain thread");
    run(procs(2), || async { zero_is_due("runtime") });
    run(paused(), || async {
        zero_is_due("paused runtime");
        let t = Timer::new(Duration::ZERO);
        select! {
            recv(t.c()) -> v => assert!(v.is_some()),
            default => panic!("select! with default missed an expired Timer::new(ZERO)"),
        }
    });
}

/// Point 6: on one worker, a loop over `timeout(ZERO, rx.recv())` (never ready, so
/// every round elapses at once) lets another task run.
#[test]
fn p6_timeout_charges_the_coop_budget() {
    run(procs(1), || async {
        let seen = go(async {
            let flag = Arc::new(AtomicBool::new(false));
            let f = flag.clone();
            go(async move { f.store(true, SeqCst) });
            let (_tx, rx) = chan::<()>(1);
            for _ in 0..5_000_000 {
                if flag.load(SeqCst) {
                    return true;
                }
                assert!(timeout(Duration::ZERO, rx.recv()).await.is_err());
            }
            false
        })
        .await
        .unwrap();
        assert!(
            seen,
            "5,000,000 elapsed timeouts never yielded to the other task"
        );
    });
}

/// Point 7a: `start_paused(true)` without `procs` builds one worker (tokio allows the
/// paused clock only on its current-thread runtime); `procs(n)` still wins.
#[test]
fn p7_start_paused_implies_one_worker() {
    let rt = Runtime::builder().start_paused(true).build().unwrap();
    if std::env::var_os("GOMAXPROCS").is_none() {
        assert_eq!(rt.procs(), 1, "start_paused(true) without procs");
    }
    let rt = Runtime::builder()
        .start_paused(true)
        .procs(3)
        .build()
        .unwrap();
    assert_eq!(rt.procs(), 3, "start_paused(true).procs(3)");
}

/// Point 7b: on a paused clock, 1,000 TCP round trips over loopback, each under
/// `timeout(1 s)`: none times out (the clock must not jump while I/O is ready).
#[test]
fn p7_paused_clock_does_not_jump_over_ready_io() {
    run(paused(), || async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        go(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 64];
            while let Ok(n @ 1..) = s.read(&mut buf).await {
                s.write_all(&buf[..n]).await.unwrap();
            }
        });
        let mut c = TcpStream::connect(addr).await.unwrap();
        c.set_nodelay(true).unwrap();
        for i in 0..1000u64 {
            let msg = i.to_le_bytes();
            let mut got = [0u8; 8];
            let round_trip = async {
                c.write_all(&msg).await?;
                c.read_exact(&mut got).await
            };
            let r = timeout(Duration::from_secs(1), round_trip).await;
            assert!(
                r.is_ok(),
                "round trip {i} of 1000 timed out on the paused clock"
            );
            r.unwrap().unwrap();
            assert_eq!(got, msg);
        }
    });
}

// ---- helpers ----

fn procs(n: usize) -> Builder {
    Runtime::builder().procs(n)
}

fn paused() -> Builder {
    Runtime::builder().procs(1).start_paused(true)
}

/// Runs `f()` on a runtime built by `b`, on a thread of its own: a test that hangs
/// (in the future or in dropping the runtime) fails after 60 s instead.
fn run<F: Future<Output = ()>>(b: Builder, f: impl FnOnce() -> F + Send + 'static) {
    let (tx, rx) = mpsc::channel::<()>();
    let name = std::thread::current().name().unwrap_or("test").to_string();
    let h = std::thread::Builder::new().name(name).spawn(move || {
        let _done = tx; // dropped last, also when unwinding
        let rt = b.build().unwrap();
        rt.block_on(f());
    });
    let r = rx.recv_timeout(Duration::from_secs(60)); // disconnected when it ends
    assert!(
        r != Err(RecvTimeoutError::Timeout),
        "the test hung for 60 s"
    );
    if let Err(panic) = h.unwrap().join() {
        std::panic::resume_unwind(panic);
    }
}

/// Drops `rt` on another thread, failing if that takes over 10 s.
fn drop_within(rt: Runtime, when: &str) {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        drop(rt);
        let _ = tx.send(());
    });
    let r = rx.recv_timeout(Duration::from_secs(10));
    assert!(r.is_ok(), "dropping the runtime {when} hung");
}

/// The process's resident set size, from /proc.
fn rss_bytes() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    let kb: usize = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kb << 10
}

async fn never_fires() {
    select! {
        recv(after(Duration::MAX)) -> v => panic!("after(Duration::MAX) fired: {v:?}"),
        recv(after(20 * MS)) -> _ => {}
    }
    select! {
        recv(tick(Duration::MAX)) -> v => panic!("tick(Duration::MAX) ticked: {v:?}"),
        recv(after(20 * MS)) -> _ => {}
    }
    use MissedTickBehavior::*;
    for (behavior, late) in [(Burst, false), (Burst, true), (Delay, true), (Skip, true)] {
        let mut iv = interval(Duration::MAX);
        iv.set_missed_tick_behavior(behavior);
        if late {
            sleep(10 * MS).await; // the first tick is now more than 5 ms late
        }
        let first = timeout(Duration::from_secs(1), iv.tick()).await;
        assert!(first.is_ok(), "interval(MAX) {behavior:?}: no first tick");
        let second = timeout(50 * MS, iv.tick()).await;
        assert!(second.is_err(), "interval(MAX) {behavior:?} ticked twice");
    }
}

fn zero_is_due(ctx: &str) {
    for _ in 0..100 {
        let t = Timer::new(Duration::ZERO);
        assert!(
            t.c().try_recv().is_ok(),
            "{ctx}: Timer::new(ZERO) is not due"
        );
        assert!(
            after(Duration::ZERO).try_recv().is_ok(),
            "{ctx}: after(ZERO) is not due"
        );
        let t = Timer::new(HOUR);
        t.reset(Duration::ZERO);
        assert!(t.c().try_recv().is_ok(), "{ctx}: reset(ZERO) is not due");
    }
}

/// A waker that panics when woken, after noting that it was.
#[derive(Default)]
struct PanicWaker(AtomicBool);

impl Wake for PanicWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.store(true, SeqCst);
        panic!("this waker panics (the test expects it)");
    }
}

impl PanicWaker {
    /// Polls `fut` once with this waker, then waits up to 5 s for the wake.
    fn poll_until_woken<F: Future>(self: &Arc<Self>, fut: Pin<&mut F>) -> bool {
        let waker = Waker::from(self.clone());
        assert!(fut.poll(&mut Context::from_waker(&waker)).is_pending());
        let start = std::time::Instant::now();
        while !self.0.load(SeqCst) && start.elapsed() < Duration::from_secs(5) {
            std::thread::sleep(MS);
        }
        self.0.load(SeqCst)
    }
}

/// After a waker panicked on `rt`: it was counted, its timers still fire (four
/// tasks sleeping 20 ms finish within 5 s each), and dropping it returns within 10 s.
fn runtime_survives(rt: Runtime) {
    // The waker noted its wake just before it panicked: the report may lag a little.
    let start = std::time::Instant::now();
    while rt.handle().metrics().waker_panics == 0 && start.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(MS);
    }
    assert!(
        rt.handle().metrics().waker_panics >= 1,
        "the waker's panic was not reported"
    );
    let (tx, rx) = mpsc::channel();
    for _ in 0..4 {
        let tx = tx.clone();
        rt.spawn(async move {
            sleep(20 * MS).await;
            let _ = tx.send(());
        });
    }
    for i in 0..4 {
        let r = rx.recv_timeout(Duration::from_secs(5));
        assert!(
            r.is_ok(),
            "sleep {i} of 4 never completed after a waker panicked"
        );
    }
    drop_within(rt, "after a waker panicked");
}
